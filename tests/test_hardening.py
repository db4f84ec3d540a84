"""Issue 11, items 2, 4, 5, 6 and 7: each test plays one defect found by the review.

Item 2: a purge leaves no decryptable copy (staging, copies anywhere, temporary files).
Item 4: packages are read bounded and strictly (size, JSON depth, repeated keys), and a
rogue file in ``inbox/`` cannot block ``purge`` or ``risk``.
Item 5: ingest receipts and destruction records carry ABB's checkpoint, which AgII keeps.
Item 6: every refusal of a step is in the audit log with a reason code.
Item 7: the smaller ones (mixed encodings, long fields, duplicate persons, umask, time
going backwards, stray temporary files, a sparse 1 GiB package).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from test_retention import NOW0, World, deliver, make_world, monitoring_frame, pseudonyms

from pijler3.analysis import dataset
from pijler3.analysis.store import Store
from pijler3.contract import protocol as protocol_mod
from pijler3.contract.errors import ExtractError, PackageError, UserError
from pijler3.exchange import _crypto, audit, package, transfer, workspace
from pijler3.exchange.atomic import clean_stale, write_atomic
from pijler3.extracts import readers, synth
from pijler3.governance import receipts, retention
from pijler3.steps import export, ingest, link, publish

LATER = dt.datetime(2029, 3, 2, 9, 0, tzinfo=dt.UTC)  # after the NOW0 deliveries expire


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def _events(ws: workspace.Workspace) -> list[dict[str, Any]]:
    return audit.events(ws.audit_path)


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def _raw_package(out: Path, manifest: bytes, signing_key: bytes | None = None) -> Path:
    """A canonical archive around ``manifest`` (signed with ``signing_key`` if given)."""
    signature = _crypto.sign(signing_key, manifest) if signing_key else b"\0" * 64
    blob = package._pack(
        {package.MANIFEST: manifest, package.SIGNATURE: signature, package.PAYLOAD: b"x"}
    )
    out.write_bytes(blob)
    return out


def _seal(
    world: World,
    day: dt.date,
    pseudos: list[str],
    now: dt.datetime,
    *,
    step: str = "publish",
    frame: pl.DataFrame | None = None,
    **changes: Any,
) -> Path:
    """A package of ``step`` signed with its real sender's key, its manifest changed."""
    protocol = world.agii.protocol()
    sender = world.agii if step == "publish" else world.vdab
    frame = frame if frame is not None else monitoring_frame(protocol, day, pseudos)
    delivery_id = f"{day:%Y%m%d}-{hashlib.sha256(pseudos[0].encode()).hexdigest()[:8]}"
    m = transfer.manifest(
        protocol,
        step=step,
        peildatum=day,
        delivery_id=delivery_id,
        now=now,
        row_count=frame.height,
        schema_hash=dataset.schema_hash(dataset.monitoring_schema(protocol)),
        quality={},
        checkpoint=None,
        pseudonym_key_id="test-key",
    )
    out = world.root / f"{step}-{delivery_id}.p3pkg"
    package.seal(
        out,
        dataset.to_parquet(frame, "monitoring"),
        dataclasses.replace(m, **changes),
        signing_key=sender.signing_key(),
        recipients=transfer.recipients_for(protocol, step),
    )
    return out


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pijler3", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    return lines[0]


# -- item 4: bounded, strict reading ------------------------------------------------------


def test_a_deeply_nested_manifest_in_the_inbox_does_not_block_the_purge(world: World) -> None:
    """100,000 nested objects in an unsigned manifest used to end purge in RecursionError."""
    r = deliver(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    _raw_package(world.abb.inbox / "rogue.p3pkg", _nested(100_000))
    result = retention.purge(world.abb, now=LATER)
    assert [r.delivery_id] == [p.delivery_id for p in result.deliveries]
    assert not (world.abb.archive / f"{r.delivery_id}.p3pkg").exists()


def test_risk_on_a_deeply_nested_package_is_one_error_line_and_a_record(world: World) -> None:
    rogue = _raw_package(world.abb.inbox / "rogue.p3pkg", _nested(100_000))
    line = _one_error_line(_run("risk", rogue, "--ws", world.abb.root))
    assert "cannot be opened" in line
    last = _events(world.abb)[-1]
    assert last["event"] == package.REFUSED
    assert last["details"]["reason"] == package.R_MANIFEST


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        (_nested(100_000), package.R_JSON),
        (_nested(40), package.R_JSON),
        (b'{"format": "pijler3-package/1", "format": "pijler3-package/1"}', package.R_JSON),
    ],
    ids=["100000-deep", "40-deep", "repeated-key"],
)
def test_a_manifest_signed_by_agii_that_nests_too_deep_or_repeats_a_key_is_refused(
    world: World, manifest: bytes, reason: str
) -> None:
    """Signed by the real sender, so only the JSON checks stand between it and a crash."""
    faulty = _raw_package(world.root / "deep.p3pkg", manifest, world.agii.signing_key())
    with pytest.raises(PackageError):
        ingest.ingest(world.abb, faulty, now=NOW0)
    last = _events(world.abb)[-1]
    assert (last["event"], last["details"]["reason"]) == (package.REFUSED, reason)
    assert list(world.abb.archive.iterdir()) == []


def test_loads_strict_refuses_depth_and_repeats_but_not_brackets_in_strings() -> None:
    assert package.loads_strict(b'{"a": "[[[[{{{{\\"]]]"}', max_depth=1) == {"a": '[[[[{{{{"]]]'}
    with pytest.raises(ValueError, match="deeper"):
        package.loads_strict(b"[[[]]]", max_depth=2)
    with pytest.raises(ValueError, match="repeats"):
        package.loads_strict(b'{"a": 1, "b": {"c": 1, "c": 2}}')


def test_a_sparse_1_gib_package_is_refused_before_a_byte_is_copied(world: World) -> None:
    big = world.root / "big.p3pkg"
    with big.open("wb") as f:
        f.truncate((1 << 30) + 1)
    with pytest.raises(PackageError):
        ingest.ingest(world.abb, big, now=NOW0)
    last = _events(world.abb)[-1]
    assert (last["event"], last["details"]["reason"]) == (package.REFUSED, package.R_TOO_LARGE)
    assert not list(world.abb.inbox.glob(".staging-*"))


def test_the_package_size_bound_comes_from_the_protocol_file(world: World) -> None:
    """With ``package_mib = 1`` a 2 MiB file is refused as too large, unread."""
    text = world.abb.protocol_path.read_text("utf-8")
    text = text.replace("package_mib = 1024", "package_mib = 1")
    world.abb.protocol_path.write_text(text, "utf-8")
    assert world.abb.protocol().limits.package_bytes == 1 << 20
    two = world.root / "two.p3pkg"
    two.write_bytes(b"\0" * (2 << 20))
    with pytest.raises(PackageError):
        ingest.ingest(world.abb, two, now=NOW0)
    assert _events(world.abb)[-1]["details"]["reason"] == package.R_TOO_LARGE


def test_the_limits_table_refuses_unknown_keys_and_defaults_when_absent() -> None:
    text = protocol_mod.default_text()
    assert protocol_mod.loads(text).limits == protocol_mod.Limits()
    with pytest.raises(UserError, match=r"limits\.package_gib"):
        protocol_mod.loads(text.replace("package_mib = 1024", "package_gib = 1"))
    start = text.index("[limits]")
    without = text[:start] + text[text.index("[[fields]]", start) :]
    assert protocol_mod.loads(without).limits == protocol_mod.DEFAULT_LIMITS


# -- item 2: a purge leaves nothing -------------------------------------------------------


def test_ingest_cleans_staging_left_by_a_killed_ingest(world: World) -> None:
    left = world.abb.inbox / ".staging-deadbeef"
    left.mkdir()
    (left / "publish-x.p3pkg").write_bytes(b"a complete package, once")
    deliver(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    assert not left.exists()


def test_a_staging_folder_in_use_is_left_alone(world: World) -> None:
    with world.abb.staging() as folder:
        (folder / "x").write_bytes(b"in use")
        assert world.abb.clean_staging() == []
        assert folder.exists()
    assert not folder.exists()


def test_purge_removes_staging_copies_anywhere_and_temporary_files_and_lists_them(
    world: World,
) -> None:
    r = deliver(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    archived = world.abb.archive / f"{r.delivery_id}.p3pkg"
    staging = world.abb.inbox / ".staging-0badf00d"
    staging.mkdir()
    shutil.copy(archived, staging / "publish.p3pkg")
    elsewhere = world.abb.root / "kopie" / "mijn-kopie.p3pkg"
    elsewhere.parent.mkdir()
    shutil.copy(archived, elsewhere)
    stray = world.abb.archive / f".{r.delivery_id}.p3pkg.abc123.tmp"
    stray.write_bytes(archived.read_bytes()[:5000])

    result = retention.purge(world.abb, now=LATER)

    assert result.record is not None
    for gone in (archived, staging, elsewhere, stray):
        assert not gone.exists(), gone
    body = retention.verify_record(result.record, world.agii.protocol())
    assert set(body["files_removed"]) == {
        str(archived.relative_to(world.abb.root)),
        str(elsewhere.relative_to(world.abb.root)),
        f"inbox/publish-{r.delivery_id}.p3pkg",
    }
    assert set(body["leftovers"]) == {
        "inbox/.staging-0badf00d/publish.p3pkg",
        "inbox/.staging-0badf00d",
        str(stray.relative_to(world.abb.root)),
    }


def test_purge_with_nothing_expired_still_removes_staging(world: World) -> None:
    left = world.abb.inbox / ".staging-0000aaaa"
    left.mkdir()
    (left / "p.p3pkg").write_bytes(b"copy")
    retention.purge(world.abb, now=NOW0)
    assert not left.exists()
    assert _events(world.abb)[-1]["details"]["leftovers_removed"] == [
        "inbox/.staging-0000aaaa/p.p3pkg",
        "inbox/.staging-0000aaaa",
    ]


# -- item 5: ABB's log witnessed -----------------------------------------------------------


def test_an_ingest_receipt_recorded_by_agii_detects_a_cut_or_rewritten_log(world: World) -> None:
    r = deliver(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    assert r.receipt is not None
    kept = receipts.record(world.agii, r.receipt, now=NOW0).kept
    assert _events(world.agii)[-1]["event"] == receipts.RECORDED
    key = world.abb.public().signing_key
    checkpoint = audit.checkpoint_of(json.loads(kept.read_text()))
    audit.verify(world.abb.audit_path, public_key=key, checkpoint=checkpoint)

    log = world.abb.audit_path.read_bytes()
    lines = log.split(b"\n")[:-1]
    # Cut: the ingest record and what follows dropped.
    world.abb.audit_path.write_bytes(b"".join(x + b"\n" for x in lines[:-2]))
    with pytest.raises(audit.AuditError, match="cut off"):
        audit.verify(world.abb.audit_path, public_key=key, checkpoint=checkpoint)
    line = _one_error_line(_run("audit", "verify", "--ws", world.abb.root, "--checkpoint", kept))
    assert "cut off" in line
    # Rewritten: the same number of records, rechained after an edit.
    world.abb.audit_path.write_bytes(log)
    rewritten = tmp_log = world.abb.root / "rewritten.jsonl"
    fresh = audit.AuditLog(tmp_log, actor="abb", signing_key=world.abb.signing_key())
    for record in audit.events(world.abb.audit_path):
        fresh.append(record["event"], {**record["details"], "x": 1}, now=NOW0)
    shutil.copy(rewritten, world.abb.audit_path)
    with pytest.raises(audit.AuditError, match="rewritten"):
        audit.verify(world.abb.audit_path, public_key=key, checkpoint=checkpoint)


def test_a_receipt_whose_checkpoint_goes_backwards_is_refused(world: World) -> None:
    first = deliver(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    second = deliver(world, dt.date(2024, 5, 31), pseudonyms("b"), NOW0.replace(month=6))
    assert first.receipt is not None and second.receipt is not None
    receipts.record(world.agii, second.receipt, now=NOW0.replace(month=6))
    with pytest.raises(UserError, match="went backwards"):
        receipts.record(world.agii, first.receipt, now=NOW0.replace(month=6))


def test_a_receipt_signed_by_someone_else_is_refused(world: World) -> None:
    r = deliver(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    assert r.receipt is not None
    doc = json.loads(r.receipt.read_text())
    doc["body"]["rows"] = 5
    r.receipt.write_text(json.dumps(doc))
    with pytest.raises(UserError, match="does not verify"):
        receipts.record(world.agii, r.receipt, now=NOW0)


def test_the_destruction_record_carries_a_checkpoint_that_agii_records(world: World) -> None:
    deliver(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    result = retention.purge(world.abb, now=LATER)
    assert result.record is not None
    kept = receipts.record(world.agii, result.record, now=LATER)
    assert kept.kind == "destruction"
    checkpoint = audit.checkpoint_of(json.loads(result.record.read_text()))
    key = world.abb.public().signing_key
    audit.verify(world.abb.audit_path, public_key=key, checkpoint=checkpoint)
    # Dropping the purge's records (and the ingest's) is detected.
    lines = world.abb.audit_path.read_bytes().split(b"\n")[:-1]
    world.abb.audit_path.write_bytes(b"".join(x + b"\n" for x in lines[:2]))
    with pytest.raises(audit.AuditError, match="cut off"):
        audit.verify(world.abb.audit_path, public_key=key, checkpoint=checkpoint)


# -- item 6: every refusal recorded --------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"protocol_id": "another-protocol"}, "wrong_protocol"),
        ({"delivery_id": "../../outside"}, "delivery_id"),
        ({"row_count": 7}, "row_count"),
        ({"peildatum": dt.date(2019, 6, 30)}, "peildatum_out_of_term"),
    ],
)
def test_a_signed_manifest_that_does_not_fit_is_refused_on_record(
    world: World, changes: dict[str, Any], reason: str
) -> None:
    faulty = _seal(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0, **changes)
    with pytest.raises(UserError):
        ingest.ingest(world.abb, faulty, now=NOW0)
    last = _events(world.abb)[-1]
    assert (last["event"], last["details"]["reason"]) == ("ingest.refused", reason)
    assert last["details"]["file"] == faulty.name


def test_a_second_package_for_a_peildatum_held_is_refused_on_record(world: World) -> None:
    deliver(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    other = _seal(world, dt.date(2024, 2, 29), pseudonyms("b"), NOW0)
    with pytest.raises(UserError, match="held already"):
        ingest.ingest(world.abb, other, now=NOW0)
    assert _events(world.abb)[-1]["details"]["reason"] == "peildatum_held"


def test_duplicate_pseudonyms_are_refused_on_record_at_ingest_and_publish(world: World) -> None:
    twice = pseudonyms("a", 3) * 2
    faulty = _seal(world, dt.date(2024, 2, 29), twice, NOW0)
    with pytest.raises(UserError, match="repeats"):
        ingest.ingest(world.abb, faulty, now=NOW0)
    assert _events(world.abb)[-1]["details"]["reason"] == "duplicate_pseudonyms"
    linked = _seal(world, dt.date(2024, 2, 29), twice, NOW0, step="link")
    with pytest.raises(UserError, match="repeats"):
        publish.publish(world.agii, linked, now=NOW0)
    last = _events(world.agii)[-1]
    assert (last["event"], last["details"]["reason"]) == ("publish.refused", "duplicate_pseudonyms")
    assert list(world.agii.outbox.iterdir()) == []


def test_a_locked_store_is_refused_on_record(world: World) -> None:
    deliver(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ok', flush=True);"
            " time.sleep(120)",
            str(world.abb.store_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        june = NOW0.replace(month=6)
        other = _seal(world, dt.date(2024, 5, 31), pseudonyms("b"), june)
        with pytest.raises(UserError, match="cannot be opened"):
            ingest.ingest(world.abb, other, now=june)
    finally:
        holder.kill()
        holder.wait()
    assert _events(world.abb)[-1]["details"]["reason"] == "store_locked"


def test_a_step_outside_the_term_is_refused_on_record(world: World) -> None:
    faulty = _seal(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    with pytest.raises(UserError):
        ingest.ingest(world.abb, faulty, now=dt.datetime(2040, 1, 1, tzinfo=dt.UTC))
    last = _events(world.abb)[-1]
    assert (last["event"], last["details"]["reason"]) == ("ingest.refused", "protocol")


# -- item 7: the smaller ones -------------------------------------------------------------


@pytest.fixture(scope="module")
def kbi_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kbi")
    return synth.generate(out, persons=40, peildatum=dt.date(2026, 9, 30), seed=5).kbi


def test_duplicate_kbi_persons_are_refused_at_export_naming_the_rows(
    kbi_csv: Path, tmp_path: Path
) -> None:
    w = make_world(tmp_path / "w")
    frame = pl.read_csv(kbi_csv, separator=";", infer_schema=False)
    dup = pl.concat([frame, frame.slice(3, 1)])  # row 5 of the file appears again at the end
    bad = tmp_path / "kbi-dup.csv"
    dup.write_csv(bad, separator=";")
    insz = frame["INSZ"][3] if "INSZ" in frame.columns else None
    with pytest.raises(ExtractError) as caught:
        export.export(w.agii, bad, peildatum=dt.date(2026, 9, 30), now=NOW0)
    message = str(caught.value)
    assert f"rows 5, {dup.height + 1}" in message
    if insz:
        assert insz not in message
    assert list(w.agii.outbox.iterdir()) == []
    assert _events(w.agii)[-1]["details"]["reason"] == "duplicate_persons"


def test_a_utf8_file_with_one_cp1252_byte_is_refused_naming_line_and_byte(
    kbi_csv: Path, tmp_path: Path
) -> None:
    lines = kbi_csv.read_bytes().split(b"\n")
    lines[3] = lines[3] + b"Oekra\xc3\xafne"  # a real UTF-8 character on line 4 ...
    lines[6] = b"\xe9" + lines[6]  # ... and a Windows-1252 e-acute at the start of line 7
    bad = tmp_path / "mixed.csv"
    bad.write_bytes(b"\n".join(lines))
    extract = protocol_mod.load().extracts["kbi"]
    with pytest.raises(ExtractError, match=r"line 7 .*0xE9 at byte 1 of that line"):
        readers.read_extract(bad, extract)


def test_a_field_over_128_kib_is_named_as_too_long(kbi_csv: Path, tmp_path: Path) -> None:
    """It used to be reported as "a quote is probably not closed"."""
    with kbi_csv.open(newline="", encoding="utf-8") as f:
        records = list(csv.reader(f, delimiter=";"))
    records[4][-1] = "x" * (129 << 10)  # row 5 of the file
    bad = tmp_path / "long.csv"
    with bad.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, delimiter=";").writerows(records)
    extract = protocol_mod.load().extracts["kbi"]
    with pytest.raises(ExtractError, match="row 5 has a field longer than 128 KiB"):
        readers.read_extract(bad, extract)


def test_an_extract_over_the_size_bound_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    with big.open("wb") as f:
        f.truncate((512 << 20) + 1)
    with pytest.raises(ExtractError, match="larger than the 512 MiB"):
        readers.read_extract(big, protocol_mod.load().extracts["kbi"])


def test_init_under_umask_000_makes_no_world_writable_workspace(tmp_path: Path) -> None:
    code = (
        "import os, sys, datetime as dt; os.umask(0);"
        "from pathlib import Path; from pijler3.exchange import workspace;"
        "workspace.init('abb', Path(sys.argv[1]), name='A',"
        " now=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))"
    )
    root = tmp_path / "ws"
    subprocess.run([sys.executable, "-c", code, str(root)], check=True, timeout=120)
    writable = [
        str(p.relative_to(tmp_path))
        for p in [root, *root.rglob("*")]
        if p.stat().st_mode & 0o022 and not p.is_symlink()
    ]
    assert writable == []


def test_a_moment_before_the_last_record_is_refused(world: World) -> None:
    """A purge dated 2031 followed by an ingest dated 2027 used to be accepted."""
    retention.purge(world.abb, now=dt.datetime(2031, 1, 1, tzinfo=dt.UTC))
    faulty = _seal(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    with pytest.raises(audit.ClockError, match="earlier than the last record"):
        ingest.ingest(world.abb, faulty, now=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    with Store(world.abb.store_path, world.abb.protocol()) as store:
        assert store.deliveries() == []
    with pytest.raises(audit.ClockError):
        world.abb.audit().append("x", {}, now=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))


def test_a_stray_temporary_file_goes_with_the_next_write_but_a_live_one_stays(
    tmp_path: Path,
) -> None:
    stray = tmp_path / ".report.xlsx.k1ll3d.tmp"
    stray.write_bytes(b"half a report")
    live = tmp_path / ".report.xlsx.w0rk1n.tmp"
    live.write_bytes(b"being written")
    fd = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        write_atomic(tmp_path / "report.xlsx", b"the report")
        assert not stray.exists()
        assert live.exists()
    finally:
        os.close(fd)
    assert clean_stale(tmp_path) == [live]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xlsx"]


def test_a_deeply_nested_line_in_the_audit_log_is_named_not_a_traceback(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    audit.AuditLog(log, actor="abb", signing_key=None).append("x", {}, now=NOW0)
    with log.open("ab") as f:
        f.write(b"[" * 100_000 + b"]" * 100_000 + b"\n")
    with pytest.raises(audit.AuditError, match="line 2"):
        audit.verify(log)
    with pytest.raises(audit.AuditError, match="line 2"):
        audit.events(log)


def test_a_link_refused_for_a_broken_extract_is_on_record(kbi_csv: Path, tmp_path: Path) -> None:
    w = make_world(tmp_path / "w")
    at = dt.datetime(2026, 10, 7, tzinfo=dt.UTC)
    e = export.export(w.agii, kbi_csv, peildatum=dt.date(2026, 9, 30), now=at)
    broken = tmp_path / "werkzoekenden.csv"
    broken.write_bytes(b"\x00\x01 not a csv")
    with pytest.raises(ExtractError):
        link.link(w.vdab, e.package, broken, broken, now=at)
    last = _events(w.vdab)[-1]
    assert (last["event"], last["details"]) == (
        "link.refused",
        {"reason": "extract", "file": e.package.name},
    )
    assert list(w.vdab.outbox.iterdir()) == []


def test_receipt_record_on_the_command_line_keeps_each_receipt(world: World) -> None:
    first = deliver(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    second = deliver(world, dt.date(2024, 5, 31), pseudonyms("b"), NOW0.replace(month=6))
    assert first.receipt is not None and second.receipt is not None
    proc = _run(
        "receipt", "record", "--ws", world.agii.root, first.receipt, second.receipt,
        "--now", "2024-06-02",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    kept = sorted(receipts.receipts_dir(world.agii).iterdir())
    assert len(kept) == 2
    assert [
        r["details"]["size"] for r in _events(world.agii) if r["event"] == "receipt.recorded"
    ] == [
        json.loads(first.receipt.read_text())["body"]["checkpoint"]["size"],
        json.loads(second.receipt.read_text())["body"]["checkpoint"]["size"],
    ]
    line = _one_error_line(_run("receipt", "record", "--ws", world.abb.root, first.receipt))
    assert "agii" in line


def test_a_64_kib_header_cell_is_refused_at_once_and_not_quoted(
    kbi_csv: Path, tmp_path: Path
) -> None:
    """Found by the fuzz: the identifier patterns took 98 s over one such cell."""
    data = kbi_csv.read_bytes()
    bad = tmp_path / "long-header.csv"
    bad.write_bytes(data.replace(b"Scholingsniveau", b"Scholingsniveau" + b"x" * 65_000, 1))
    with pytest.raises(ExtractError) as caught:
        readers.read_extract(bad, protocol_mod.load().extracts["kbi"])
    assert "xxxxxxxxxx" not in str(caught.value)
