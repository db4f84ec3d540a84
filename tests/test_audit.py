"""The hash-chained audit log: tamper evidence, checkpoints, crash safety."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pijler3.contract.errors import UserError
from pijler3.exchange import _crypto, audit

T0 = dt.datetime(2025, 1, 31, 9, 0, tzinfo=dt.UTC)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def build(path: Path, n: int = 10, key: bytes | None = None) -> audit.AuditLog:
    log = audit.AuditLog(path, actor="agii", signing_key=key)
    for i in range(n):
        log.append("export.done", {"rows": 100 + i, "file": f"kbi-{i}.csv"}, now=at(i))
    return log


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def fails_at(path: Path, line: int | None, **kw: Any) -> audit.AuditError:
    with pytest.raises(audit.AuditError) as info:
        audit.verify(path, **kw)
    assert line == info.value.line, str(info.value)
    if line is not None:
        assert f"line {line}:" in str(info.value)
    return info.value


# -- the record format ------------------------------------------------------------------


def test_records_chain_from_genesis_and_verify(tmp_path: Path) -> None:
    """Records are numbered from 1, chain by hash from 64 zeros and verify."""
    path = tmp_path / "audit.jsonl"
    build(path, 3)
    rs = records(path)
    assert [r["seq"] for r in rs] == [1, 2, 3]
    assert rs[0]["prev"] == "0" * 64
    assert [r["prev"] for r in rs[1:]] == [r["hash"] for r in rs[:-1]]
    assert rs[0]["v"] == "pijler3-audit/1"
    assert rs[0]["at"] == "2025-01-31T09:00:00+00:00"
    body = {k: v for k, v in rs[2].items() if k != "hash"}
    expected = _crypto.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
    assert rs[2]["hash"] == expected
    result = audit.verify(path)
    assert result == audit.VerifyResult(size=3, head=rs[2]["hash"], torn_tail=False)


def test_append_returns_the_record_written(tmp_path: Path) -> None:
    """append returns the record exactly as it is stored."""
    log = audit.AuditLog(tmp_path / "a.jsonl", actor="vdab", signing_key=None)
    record = log.append("link.done", {"linked": 5}, now=at(1))
    assert records(tmp_path / "a.jsonl") == [record.to_dict()]


def test_details_refuse_an_insz_and_non_json_values(tmp_path: Path) -> None:
    """A value shaped like an INSZ, or a non-JSON value, never reaches the log."""
    log = audit.AuditLog(tmp_path / "a.jsonl", actor="agii", signing_key=None)
    for bad in ("85073003328", "85.07.30-033.28", ["x", {"nested": "850730 033 28"}]):
        with pytest.raises(ValueError):
            log.append("x", {"value": bad}, now=at(0))
    with pytest.raises(TypeError):
        log.append("x", {"value": object()}, now=at(0))
    with pytest.raises(ValueError):
        log.append("x", {}, now=dt.datetime(2025, 1, 1))  # naive time
    assert not (tmp_path / "a.jsonl").exists()
    log.append("x", {"sha256": "1234567890123" + "a" * 51, "count": 85073003328}, now=at(0))


# -- tamper evidence --------------------------------------------------------------------


def test_edited_record_is_named(tmp_path: Path) -> None:
    """Changing a value in record 5 is reported at line 5."""
    path = tmp_path / "audit.jsonl"
    build(path)
    ls = lines(path)
    ls[4] = ls[4].replace(b'"rows":104', b'"rows":105')
    path.write_bytes(b"".join(ls))
    assert "edited" in fails_at(path, 5).problem


def test_reformatted_record_is_named(tmp_path: Path) -> None:
    """Even a change that keeps the JSON's meaning (a space) is an edit."""
    path = tmp_path / "audit.jsonl"
    build(path)
    ls = lines(path)
    ls[2] = ls[2].replace(b'"seq":3', b'"seq": 3')
    path.write_bytes(b"".join(ls))
    fails_at(path, 3)


def test_deleted_record_is_named(tmp_path: Path) -> None:
    """Deleting record 5 is reported at line 5, where record 6 now stands."""
    path = tmp_path / "audit.jsonl"
    build(path)
    ls = lines(path)
    del ls[4]
    path.write_bytes(b"".join(ls))
    assert "deleted" in fails_at(path, 5).problem


def test_reordered_records_are_named(tmp_path: Path) -> None:
    """Swapping records 4 and 5 is reported at line 4."""
    path = tmp_path / "audit.jsonl"
    build(path)
    ls = lines(path)
    ls[3], ls[4] = ls[4], ls[3]
    path.write_bytes(b"".join(ls))
    fails_at(path, 4)


def _forged(prev: dict[str, Any], seq: int, event: str) -> bytes:
    body = {
        "v": audit.VERSION,
        "seq": seq,
        "at": prev["at"],
        "event": event,
        "actor": "agii",
        "details": {},
        "prev": prev["hash"],
    }
    return audit.canonical({**body, "hash": _crypto.sha256(audit.canonical(body))}) + b"\n"


def test_inserted_record_is_named(tmp_path: Path) -> None:
    """A well-formed record inserted after record 4 breaks the chain at line 6."""
    path = tmp_path / "audit.jsonl"
    build(path)
    ls = lines(path)
    ls.insert(4, _forged(records(path)[3], 5, "purge.done"))
    path.write_bytes(b"".join(ls))
    fails_at(path, 6)


def test_replaced_record_is_named(tmp_path: Path) -> None:
    """A record replaced by a well-formed one with the right number breaks at the next."""
    path = tmp_path / "audit.jsonl"
    build(path)
    ls = lines(path)
    ls[4] = _forged(records(path)[3], 5, "purge.done")
    path.write_bytes(b"".join(ls))
    assert "chain" in fails_at(path, 6).problem


def test_unknown_version_and_garbage_are_named(tmp_path: Path) -> None:
    """A record of another format version, or a line that is not JSON, is named."""
    path = tmp_path / "audit.jsonl"
    build(path, 3)
    ls = lines(path)
    path.write_bytes(b"".join([*ls[:2], ls[2].replace(b"pijler3-audit/1", b"pijler3-audit/2")]))
    assert "version" in fails_at(path, 3).problem
    path.write_bytes(b"".join([ls[0], b"garbage\n", ls[2]]))
    fails_at(path, 2)
    path.write_bytes(b"".join([ls[0], b"\n", *ls[1:]]))
    fails_at(path, 2)


def test_missing_log_is_an_audit_error(tmp_path: Path) -> None:
    """Verifying a log that is not there is a user error, not a traceback."""
    error = fails_at(tmp_path / "nope.jsonl", None)
    assert isinstance(error, UserError)


# -- checkpoints ------------------------------------------------------------------------


def test_rewritten_history_passes_alone_but_fails_the_checkpoint(tmp_path: Path) -> None:
    """Recomputing every hash from record 5 on hides an edit from the chain; the
    checkpoint another party holds exposes it."""
    key, public = _crypto.new_signing_key()
    path = tmp_path / "audit.jsonl"
    log = build(path, 10, key)
    checkpoint = log.checkpoint(now=at(30))
    rs = records(path)
    rewritten = rs[:4]
    for r in rs[4:]:
        body = {k: v for k, v in r.items() if k != "hash"}
        body["prev"] = rewritten[-1]["hash"]
        if r["seq"] == 5:
            body["details"] = {"rows": 1, "file": "other.csv"}
        rewritten.append({**body, "hash": _crypto.sha256(audit.canonical(body))})
    path.write_bytes(b"".join(audit.canonical(r) + b"\n" for r in rewritten))
    assert audit.verify(path).size == 10  # the chain alone cannot tell
    assert "rewritten" in fails_at(path, 10, public_key=public, checkpoint=checkpoint).problem


def test_cut_off_tail_fails_the_checkpoint(tmp_path: Path) -> None:
    """Removing the last three records verifies alone but not against a checkpoint."""
    key, public = _crypto.new_signing_key()
    path = tmp_path / "audit.jsonl"
    log = build(path, 10, key)
    checkpoint = log.checkpoint(now=at(30))
    path.write_bytes(b"".join(lines(path)[:7]))
    assert audit.verify(path).size == 7
    assert "cut off" in fails_at(path, 8, public_key=public, checkpoint=checkpoint).problem


def test_older_checkpoint_still_verifies_a_grown_log(tmp_path: Path) -> None:
    """A checkpoint of record 5 stays valid as the log grows."""
    key, public = _crypto.new_signing_key()
    path = tmp_path / "audit.jsonl"
    log = build(path, 5, key)
    checkpoint = log.checkpoint(now=at(30))
    assert checkpoint["size"] == 5
    assert checkpoint["head"] == records(path)[4]["hash"]
    log.append("publish.done", {"rows": 3}, now=at(31))
    result = audit.verify(path, public_key=public, checkpoint=checkpoint)
    assert (result.size, result.checkpoint_size) == (6, 5)


def test_checkpoint_signature_is_checked(tmp_path: Path) -> None:
    """A checkpoint whose fields were changed, or signed by another key, or unsigned
    where a signature is required, is refused."""
    key, public = _crypto.new_signing_key()
    _, stranger = _crypto.new_signing_key()
    path = tmp_path / "audit.jsonl"
    log = build(path, 6, key)
    checkpoint = log.checkpoint(now=at(30))
    audit.verify(path, public_key=public, checkpoint=checkpoint)
    fails_at(path, None, public_key=stranger, checkpoint=checkpoint)
    fails_at(path, None, public_key=public, checkpoint={**checkpoint, "size": 5})
    fails_at(path, None, checkpoint={**checkpoint, "size": 5})  # its own key, still no
    unsigned = audit.AuditLog(path, actor="agii", signing_key=None).checkpoint(now=at(31))
    assert unsigned["signature"] is None
    audit.verify(path, checkpoint=unsigned)
    fails_at(path, None, public_key=public, checkpoint=unsigned)


# -- torn appends and crash safety ------------------------------------------------------


@pytest.mark.parametrize("keep", [0.0, 0.25, 0.5, 0.99])
def test_torn_final_line_is_saved_then_cut_off(tmp_path: Path, keep: float) -> None:
    """A final line cut short (a power cut mid-append, simulated by truncating the
    file) is ignored by verify and reported as torn; the next append copies exactly the
    torn bytes to an owner-only side file, cuts them off, records the repair with the
    byte count and the side file's name, and the log verifies cleanly."""
    path = tmp_path / "audit.jsonl"
    log = build(path, 4)
    ls = lines(path)
    cut = int((len(ls[-1]) - 1) * keep)
    path.write_bytes(b"".join(ls[:-1]) + ls[-1][:cut])
    result = audit.verify(path)
    assert (result.size, result.torn_tail, result.torn_tail_complete) == (3, bool(cut), False)
    log.append("after.crash", {}, now=at(50))
    rs = records(path)
    expected_events = ["export.done"] * 3 + (["audit.repaired"] if cut else []) + ["after.crash"]
    assert [r["event"] for r in rs] == expected_events
    side = tmp_path / "audit.jsonl.torn-1"
    if cut:
        assert rs[3]["details"] == {
            "reason": "torn_append",
            "bytes": cut,
            "saved_to": "audit.jsonl.torn-1",
        }
        assert side.read_bytes() == ls[-1][:cut]
        assert side.stat().st_mode & 0o777 == 0o600
    else:
        assert not side.exists()
    assert audit.verify(path) == audit.VerifyResult(
        size=len(rs), head=rs[-1]["hash"], torn_tail=False
    )


def test_deleting_the_final_newline_does_not_delete_the_last_record(tmp_path: Path) -> None:
    """The review's scenario: removing only the final newline must not let the next
    append erase the last record (here a publish.sealed). verify reports a torn tail
    that is a complete record; append restores the newline, keeps the record, records
    that it did so, and the log verifies cleanly with every record counted."""
    path = tmp_path / "audit.jsonl"
    log = build(path, 3)
    sealed = log.append("publish.sealed", {"package": "kbi-2025.p3pkg", "rows": 568}, now=at(9))
    original = path.read_bytes()
    path.write_bytes(original[:-1])
    result = audit.verify(path)
    assert (result.size, result.torn_tail, result.torn_tail_complete) == (3, True, True)
    assert audit.events(path)[-1] == sealed.to_dict()  # readers still see the record
    log.append("after.tamper", {}, now=at(50))
    rs = records(path)
    assert path.read_bytes().startswith(original)  # every original byte is back
    assert [r["event"] for r in rs] == [
        *["export.done"] * 3,
        "publish.sealed",
        "audit.repaired",
        "after.tamper",
    ]
    assert rs[3] == sealed.to_dict()
    assert rs[4]["details"] == {"reason": "newline_restored", "seq": 4}
    assert not list(tmp_path.glob("audit.jsonl.torn-*"))
    assert audit.verify(path) == audit.VerifyResult(size=6, head=rs[-1]["hash"], torn_tail=False)


def test_complete_tail_still_satisfies_a_checkpoint_that_vouched_for_it(tmp_path: Path) -> None:
    """A checkpoint of 4 records still verifies when record 4 lost only its newline
    (the record is intact and will be kept), but not when record 4 is really torn."""
    key, public = _crypto.new_signing_key()
    path = tmp_path / "audit.jsonl"
    log = build(path, 4, key)
    checkpoint = log.checkpoint(now=at(30))
    original = path.read_bytes()
    path.write_bytes(original[:-1])
    result = audit.verify(path, public_key=public, checkpoint=checkpoint)
    assert (result.size, result.checkpoint_size, result.torn_tail_complete) == (3, 4, True)
    path.write_bytes(original[:-2])
    assert "cut off" in fails_at(path, 4, public_key=public, checkpoint=checkpoint).problem


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: {**r, "seq": 5}, id="wrong-seq"),
        pytest.param(lambda r: {**r, "prev": "1" * 64}, id="wrong-prev"),
        pytest.param(lambda r: {**r, "event": "other"}, id="hash-mismatch"),
    ],
)
def test_tail_without_newline_that_does_not_chain_is_cut_off(tmp_path: Path, change: Any) -> None:
    """A whole JSON record without newline that does not chain to the one before it
    (wrong seq, wrong prev, or a hash that does not match) is not restored: it is saved
    to a side file and cut off like any torn append."""
    path = tmp_path / "audit.jsonl"
    log = build(path, 4)
    ls = lines(path)
    bogus = audit.canonical(change(json.loads(ls[-1])))
    path.write_bytes(b"".join(ls[:-1]) + bogus)
    assert not audit.verify(path).torn_tail_complete
    log.append("after", {}, now=at(50))
    rs = records(path)
    assert [r["event"] for r in rs] == ["export.done"] * 3 + ["audit.repaired", "after"]
    assert rs[3]["details"]["reason"] == "torn_append"
    assert (tmp_path / "audit.jsonl.torn-1").read_bytes() == bogus
    audit.verify(path)


def test_reformatted_tail_without_newline_is_not_restored(tmp_path: Path) -> None:
    """A tail that holds the right record but not in canonical form is not a complete
    record: only the exact bytes an append writes are restored."""
    path = tmp_path / "audit.jsonl"
    log = build(path, 2)
    ls = lines(path)
    spaced = ls[-1][:-1].replace(b'"seq":2', b'"seq": 2')
    path.write_bytes(ls[0] + spaced)
    assert not audit.verify(path).torn_tail_complete
    log.append("after", {}, now=at(50))
    assert [r["event"] for r in records(path)] == ["export.done", "audit.repaired", "after"]
    assert (tmp_path / "audit.jsonl.torn-1").read_bytes() == spaced


def test_side_files_are_never_overwritten(tmp_path: Path) -> None:
    """A second torn tail goes to the next free side file; the first one stays."""
    path = tmp_path / "audit.jsonl"
    log = build(path, 2)
    with path.open("ab") as f:
        f.write(b'{"torn":1')
    log.append("a", {}, now=at(10))
    with path.open("ab") as f:
        f.write(b'{"torn":2')
    log.append("b", {}, now=at(11))
    assert (tmp_path / "audit.jsonl.torn-1").read_bytes() == b'{"torn":1'
    assert (tmp_path / "audit.jsonl.torn-2").read_bytes() == b'{"torn":2'
    saved = [r["details"]["saved_to"] for r in records(path) if r["event"] == "audit.repaired"]
    assert saved == ["audit.jsonl.torn-1", "audit.jsonl.torn-2"]
    audit.verify(path)


def test_torn_first_line_is_repaired(tmp_path: Path) -> None:
    """A log that holds only a torn first record is repaired to a valid log."""
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b'{"actor":"agii","at":"2025')
    assert audit.verify(path).torn_tail
    log = audit.AuditLog(path, actor="agii", signing_key=None)
    log.append("x", {}, now=at(0))
    assert [r["event"] for r in records(path)] == ["audit.repaired", "x"]
    assert records(path)[0]["prev"] == audit.GENESIS
    assert (tmp_path / "audit.jsonl.torn-1").read_bytes() == b'{"actor":"agii","at":"2025'
    audit.verify(path)


def test_complete_first_record_without_newline_is_kept(tmp_path: Path) -> None:
    """A log whose only content is record 1 without its newline keeps that record."""
    path = tmp_path / "audit.jsonl"
    log = build(path, 1)
    path.write_bytes(path.read_bytes()[:-1])
    result = audit.verify(path)
    assert (result.size, result.torn_tail, result.torn_tail_complete) == (0, True, True)
    log.append("x", {}, now=at(5))
    assert [r["event"] for r in records(path)] == ["export.done", "audit.repaired", "x"]
    assert audit.verify(path).size == 3


def test_append_refuses_to_continue_an_unreadable_log(tmp_path: Path) -> None:
    """If the last complete record is garbage, append stops instead of chaining to it."""
    path = tmp_path / "audit.jsonl"
    build(path, 2)
    with path.open("ab") as f:
        f.write(b"not json\n")
    with pytest.raises(audit.AuditError):
        audit.AuditLog(path, actor="agii", signing_key=None).append("x", {}, now=at(0))


CHILD = """
import datetime as dt, sys
from pijler3.exchange.audit import AuditLog
log = AuditLog(sys.argv[1], actor="agii", signing_key=None)
trial, count = int(sys.argv[2]), int(sys.argv[3])
now = dt.datetime(2025, 1, 31, tzinfo=dt.UTC)
print("ready", flush=True)
for i in range(count):
    log.append("test.append", {"trial": trial, "i": i, "pad": "x" * (i * 37 % 500)}, now=now)
"""


def _child(path: Path, trial: int, count: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(trial), str(count)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


def _check_prefixes(rs: list[dict[str, Any]], count: int | None = None) -> dict[int, int]:
    """Every trial's records are 0, 1, 2, … in order (a prefix of what it meant to
    write), trials follow each other, and the only other records are repairs."""
    seen: dict[int, int] = {}
    last_trial = -1
    for r in rs:
        if r["event"] == "audit.repaired":
            continue
        assert r["event"] == "test.append"
        trial, i = r["details"]["trial"], r["details"]["i"]
        assert trial >= last_trial
        last_trial = trial
        assert i == seen.get(trial, 0)
        seen[trial] = i + 1
    if count is not None:
        assert all(n <= count for n in seen.values())
    return seen


def test_kill_9_at_random_points_leaves_a_verifiable_prefix(tmp_path: Path) -> None:
    """60 times, a child process appending in a loop is SIGKILLed after a random
    (seeded) delay. After each kill the log verifies and holds, per child, a prefix of
    the records it meant to write. Every fifth trial also tears the final line by hand
    (what a power cut can do and a kill cannot), so that a later child must repair it
    before its first record; every tenth trial removes only the final newline, which
    the repair must restore without losing the record."""
    rng = random.Random(20250131)
    path = tmp_path / "audit.jsonl"
    tears = 0
    for trial in range(60):
        before = audit.verify(path) if path.exists() else None
        size_before = before.size if before else 0
        child = _child(path, trial, 10_000)
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.04))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        assert child.returncode == -signal.SIGKILL
        result = audit.verify(path) if path.exists() else None
        rs = complete_records(path)
        _check_prefixes(rs)
        at_repair = size_before + 1 if before and before.torn_tail_complete else size_before
        if before is not None and before.torn_tail and len(rs) > at_repair:
            # Whoever appended after a torn tail first repaired it and said so: a tail
            # that was a complete record is kept and followed by the repair record. (A
            # kill between restoring the tail's newline and the repair record leaves the
            # restored record alone, which is a verifiable prefix too: checked above.)
            assert rs[at_repair]["event"] == "audit.repaired"
            if before.torn_tail_complete:
                assert rs[at_repair]["details"]["seq"] == size_before + 1
        if result is not None and result.torn_tail:
            tears += 1
        elif trial % 5 == 4 and rs:
            _tear_final_line(path, rng, only_newline=trial % 10 == 9)
            tears += 1
    # A last writer that is not killed repairs whatever is torn; the log is clean.
    child = _child(path, 60, 3)
    assert child.wait() == 0
    assert child.stdout is not None
    child.stdout.close()
    result = audit.verify(path)
    assert not result.torn_tail
    rs = records(path)
    seen = _check_prefixes(rs)
    assert seen[60] == 3
    repairs = [r for r in rs if r["event"] == "audit.repaired"]
    # A kill between cutting off a torn tail and recording it loses that one record
    # (documented in audit.py), so there can be fewer repairs than tears, not more.
    assert 0 < len(repairs) <= tears
    reasons = {r["details"]["reason"] for r in repairs}
    assert reasons == {"torn_append", "newline_restored"}
    for r in repairs:
        if r["details"]["reason"] == "torn_append":
            side = tmp_path / r["details"]["saved_to"]
            assert side.stat().st_size == r["details"]["bytes"] > 0
    assert [r["seq"] for r in rs] == list(range(1, len(rs) + 1))


def _tear_final_line(path: Path, rng: random.Random, *, only_newline: bool) -> None:
    """Cut the log's final line short, as a power cut can; or remove only its newline."""
    data = path.read_bytes()
    last = data[:-1].rfind(b"\n") + 1
    # Keep 1 .. length - 2 bytes of the line (newline included): a cut that happens to
    # remove only the newline is the other case, and failed this check in one CI run.
    keep = rng.randrange(1, len(data) - last - 1)
    if only_newline:
        keep = len(data) - last - 1
    path.write_bytes(data[: last + keep])
    torn = audit.verify(path)
    assert torn.torn_tail and torn.torn_tail_complete == only_newline


def complete_records(path: Path) -> list[dict[str, Any]]:
    """The complete records of a log, ignoring a torn final line."""
    if not path.exists():
        return []
    data = path.read_bytes()
    return [json.loads(line) for line in data[: data.rfind(b"\n") + 1].splitlines()]


def test_concurrent_writers_do_not_interleave(tmp_path: Path) -> None:
    """Two processes appending at once produce one valid chain holding all records."""
    path = tmp_path / "audit.jsonl"
    children = [_child(path, trial, 150) for trial in (1, 2)]
    for child in children:
        assert child.wait() == 0
        assert child.stdout is not None
        child.stdout.close()
    result = audit.verify(path)
    assert result.size == 300
    rs = records(path)
    for trial in (1, 2):
        mine = [r["details"]["i"] for r in rs if r["details"]["trial"] == trial]
        assert mine == list(range(150))
