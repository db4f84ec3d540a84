"""Retention (art. 3 and 6): the expiry boundary, and a purge that leaves nothing behind.

The helpers at the top build real workspaces (workspace.init) with a real delivery:
a monitoring-shaped Parquet sealed by AgII as the publish step and ingested by ABB.
Sealing directly as AgII skips the publish step's risk gate, which rightly refuses a
dataset of a handful of rows. The other governance tests import these helpers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from conftest import ChainRun

from pijler3.analysis import dataset
from pijler3.analysis.store import Store
from pijler3.contract import codes, dates
from pijler3.contract import protocol as protocol_mod
from pijler3.contract.errors import UserError
from pijler3.exchange import audit, documents, package, transfer, workspace
from pijler3.exchange.atomic import write_atomic
from pijler3.governance import copies, receipts, retention
from pijler3.steps import ingest

NOW0 = dt.datetime(2024, 3, 1, 10, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class World:
    root: Path
    agii: workspace.Workspace
    abb: workspace.Workspace  # researcher A
    abb2: workspace.Workspace  # researcher B
    vdab: workspace.Workspace


def make_world(root: Path) -> World:
    """AgII, VDAB and two ABB researchers sharing one protocol file with all their keys."""
    agii = workspace.init("agii", root / "agii", now=NOW0)
    vdab = workspace.init("vdab", root / "vdab", now=NOW0)
    abb = workspace.init("abb", root / "abb", name="Onderzoeker A", now=NOW0)
    abb2 = workspace.init("abb", root / "abb2", name="Onderzoeker B", now=NOW0)
    proto = root / "protocol.toml"
    write_atomic(proto, protocol_mod.default_text().encode())
    for ws in (agii, vdab, abb, abb2):
        workspace.register_keys(proto, ws.public())
    for ws in (agii, vdab, abb, abb2):
        write_atomic(ws.protocol_path, proto.read_bytes())
    return World(root, agii, abb, abb2, vdab)


def pseudonyms(tag: str, n: int = 6) -> list[str]:
    """Pseudonym-shaped values (32 hex digits, as 128-bit keyed pseudonyms are)."""
    return [hashlib.sha256(f"{tag}-{i}".encode()).hexdigest()[:32] for i in range(n)]


def monitoring_frame(
    protocol: protocol_mod.Protocol, peildatum: dt.date, pseudos: list[str]
) -> pl.DataFrame:
    n = len(pseudos)
    columns: dict[str, pl.Series] = {}
    for f in protocol.fields:
        if f.name == "pseudoniem":
            values: list[object] = list(pseudos)
        elif f.type == "date":
            values = [peildatum - dt.timedelta(days=30 + i) for i in range(n)]
        elif f.type == "bool":
            values = [i % 2 == 0 for i in range(n)]
        elif f.codelist is not None:
            # Real codes of the field's list: the receiving side checks them (DATA.md §3).
            allowed = codes.codelist(f.codelist).codes
            values = [allowed[i % len(allowed)] for i in range(n)]
        else:
            values = [f"waarde{i % 3}" for i in range(n)]
        columns[f.name] = pl.Series(f.name, values)
    frame = pl.DataFrame(columns).with_columns(pl.lit(peildatum).alias("peildatum"))
    return frame.select(protocol.field_names).cast(dict(dataset.monitoring_schema(protocol)))


def deliver(
    world: World,
    peildatum: dt.date,
    pseudos: list[str],
    now: dt.datetime,
    ws: workspace.Workspace | None = None,
) -> ingest.IngestResult:
    """AgII seals a delivery for the researchers; researcher A ingests it from the inbox."""
    target = ws or world.abb
    protocol = world.agii.protocol()
    frame = monitoring_frame(protocol, peildatum, pseudos)
    delivery_id = f"{peildatum:%Y%m%d}-{hashlib.sha256(pseudos[0].encode()).hexdigest()[:8]}"
    m = transfer.manifest(
        protocol,
        step="publish",
        peildatum=peildatum,
        delivery_id=delivery_id,
        now=now,
        row_count=frame.height,
        schema_hash=dataset.schema_hash(dataset.monitoring_schema(protocol)),
        quality={},
        checkpoint=None,
        pseudonym_key_id="test-key",
    )
    out = transfer.outbox_path(world.agii, "publish", peildatum, delivery_id)
    package.seal(
        out,
        dataset.to_parquet(frame, "monitoring"),
        m,
        signing_key=world.agii.signing_key(),
        recipients=transfer.recipients_for(protocol, "publish"),
    )
    inbox_copy = target.inbox / out.name
    shutil.copy(out, inbox_copy)
    return ingest.ingest(target, inbox_copy, now=now)


def scan(root: Path, values: list[str]) -> list[tuple[str, str]]:
    """(file, value) for every value whose bytes occur in any file under ``root``."""
    hits = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            hits += [(str(path.relative_to(root)), v) for v in values if v.encode() in data]
    return hits


# -- the pure rule ------------------------------------------------------------------------


@dataclass(frozen=True)
class _D:
    name: str
    expires_at: dt.date


def test_expired_keeps_a_delivery_the_day_before_and_purges_it_on_its_expiry_day() -> None:
    """The boundary: kept through X-1, purged on X (expires_at <= today)."""
    x = dt.date(2029, 3, 1)
    items = [_D("a", x), _D("b", x + dt.timedelta(days=1))]
    assert retention.expired(items, x - dt.timedelta(days=1)) == []
    assert [items[0]] == retention.expired(items, x)
    assert items == retention.expired(items, x + dt.timedelta(days=1))


def test_expiry_is_five_years_of_keeping_from_receipt() -> None:
    """Received 31/01/2025: expires (is purged on) 31/01/2030, held through 30/01/2030."""
    p = protocol_mod.load()
    expires = dates.add_years(dt.date(2025, 1, 31), p.retention_years)
    assert dt.date(2030, 1, 31) == expires
    assert not retention.is_expired(expires, dt.date(2030, 1, 30))
    assert retention.is_expired(expires, dt.date(2030, 1, 31))


# -- the purge ------------------------------------------------------------------------------


@pytest.fixture()
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def test_purge_on_the_day_before_expiry_removes_nothing_and_on_the_day_removes_it(
    world: World,
) -> None:
    """Day X-1 keeps the delivery; day X purges it from the store and the archive."""
    r = deliver(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    assert dt.date(2029, 3, 1) == r.expires_at
    before = NOW0.replace(year=2029, month=2, day=28)
    kept = retention.purge(world.abb, now=before)
    assert kept.deliveries == ()
    assert (world.abb.archive / f"{r.delivery_id}.p3pkg").exists()
    on = NOW0.replace(year=2029, month=3, day=1)
    gone = retention.purge(world.abb, now=on)
    assert [r.delivery_id] == [p.delivery_id for p in gone.deliveries]
    assert not (world.abb.archive / f"{r.delivery_id}.p3pkg").exists()
    with Store(world.abb.store_path, world.abb.protocol()) as store:
        assert store.deliveries() == []


def test_dry_run_lists_what_would_go_and_changes_nothing(world: World) -> None:
    """A dry run names the expired delivery but leaves store, files and audit log alone."""
    r = deliver(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    log_before = world.abb.audit_path.read_bytes()
    store_before = world.abb.store_path.read_bytes()
    plan = retention.purge(world.abb, now=NOW0.replace(year=2029, month=3, day=2), dry_run=True)
    assert [r.delivery_id] == [p.delivery_id for p in plan.deliveries]
    assert plan.rows == 6
    assert plan.record is None
    assert log_before == world.abb.audit_path.read_bytes()
    assert store_before == world.abb.store_path.read_bytes()
    assert (world.abb.archive / f"{r.delivery_id}.p3pkg").exists()


def test_purge_at_retention_plus_one_day_leaves_no_byte_of_the_delivery_anywhere(
    world: World,
) -> None:
    """After the purge: zero rows, zero package files, zero bytes of any pseudonym of the
    expired delivery in any file of the workspace (DuckDB file and .wal included), while
    the delivery still in retention is untouched and the audit log verifies."""
    old, new = pseudonyms("old"), pseudonyms("new")
    r_old = deliver(world, dt.date(2024, 2, 29), old, NOW0)
    r_new = deliver(world, dt.date(2025, 2, 28), new, NOW0.replace(year=2025))
    # The control: before the purge the pseudonyms are readable in the store file, so
    # the scan below can see them if they survive.
    with Store(world.abb.store_path, world.abb.protocol()) as store:
        store.con.execute("CHECKPOINT")
    assert {v for _, v in scan(world.abb.root, old)} == set(old)

    now = dt.datetime.combine(r_old.expires_at + dt.timedelta(days=1), dt.time(9), dt.UTC)
    result = retention.purge(world.abb, now=now)

    assert [r_old.delivery_id] == [p.delivery_id for p in result.deliveries]
    assert scan(world.abb.root, old) == []
    assert {v for _, v in scan(world.abb.root, new)} == set(new)
    with Store(world.abb.store_path, world.abb.protocol()) as store:
        assert [r_new.delivery_id] == [d.delivery_id for d in store.deliveries()]
        count = store.con.execute(
            "SELECT count(*) FROM monitoring WHERE delivery_id = ?", [r_old.delivery_id]
        ).fetchone()
        assert count is not None and count[0] == 0
    packages = [
        p
        for p in world.abb.root.rglob(f"*{package.SUFFIX}")
        if package.read_manifest(p).delivery_id == r_old.delivery_id
    ]
    assert packages == []
    assert (world.abb.archive / f"{r_new.delivery_id}.p3pkg").exists()
    audit.verify(world.abb.audit_path, public_key=world.abb.public().signing_key)


def test_destruction_record_is_signed_and_names_deliveries_rows_day_and_researcher(
    world: World,
) -> None:
    """The JSON record verifies against the protocol's researcher keys; the Dutch letter
    for AgII's DPO names delivery, peildatum and row count; the audit log records it."""
    r = deliver(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    now = dt.datetime(2029, 3, 1, 8, 0, tzinfo=dt.UTC)
    result = retention.purge(world.abb, now=now)
    assert result.record is not None and result.letter is not None
    body = retention.verify_record(result.record, world.agii.protocol())
    assert [r.delivery_id] == [d["delivery_id"] for d in body["deliveries"]]
    assert body["deliveries"][0]["peildatum"] == "2024-02-29"
    assert body["total_rows"] == 6
    assert body["purge_date"] == "2029-03-01"
    assert body["performed_by"]["name"] == "Onderzoeker A"
    letter = result.letter.read_text("utf-8")
    assert "Verklaring van vernietiging" in letter
    assert f"levering {r.delivery_id}: peildatum 29/02/2024" in letter
    assert "6 rijen" in letter
    last = json.loads(world.abb.audit_path.read_text().splitlines()[-1])
    assert last["event"] == "retention.purged"
    assert [r.delivery_id] == last["details"]["deliveries"]


def test_a_changed_destruction_record_does_not_verify(world: World) -> None:
    """Editing the row count in the signed record is detected."""
    deliver(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    result = retention.purge(world.abb, now=dt.datetime(2029, 3, 1, tzinfo=dt.UTC))
    assert result.record is not None
    doc = json.loads(result.record.read_text())
    doc["body"]["total_rows"] = 5
    result.record.write_text(json.dumps(doc))
    with pytest.raises(UserError, match="does not verify"):
        retention.verify_record(result.record, world.agii.protocol())


def test_an_interrupted_purge_is_finished_by_the_next_one(world: World) -> None:
    """A pending plan (written before any removal) is completed by the next purge, even
    when the store no longer lists the delivery."""
    r = deliver(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    now = dt.datetime(2029, 3, 1, tzinfo=dt.UTC)
    # Simulate a crash after the store was rebuilt but before the files were removed.
    plan = retention.purge(world.abb, now=now, dry_run=True)
    from pijler3.exchange import documents

    body = retention._record_body(world.abb, world.abb.protocol(), plan.deliveries, now)
    retention.destruction_dir(world.abb).mkdir()
    documents.write_document(
        retention.destruction_dir(world.abb) / "pending.json",
        documents.sign_document(body, world.abb.signing_key()),
    )
    with Store(world.abb.store_path, world.abb.protocol()) as store:
        store.remove_deliveries([r.delivery_id])
    result = retention.purge(world.abb, now=now)
    assert [r.delivery_id] == [p.delivery_id for p in result.deliveries]
    assert not (world.abb.archive / f"{r.delivery_id}.p3pkg").exists()
    assert not (retention.destruction_dir(world.abb) / "pending.json").exists()


def test_purge_is_refused_outside_an_abb_workspace(world: World) -> None:
    with pytest.raises(UserError, match="ABB workspace"):
        retention.purge(world.agii, now=NOW0)


# -- the senders' copies (AgII, VDAB) ---------------------------------------------------------


def _copy_of_chain(chain: ChainRun, root: Path) -> dict[str, workspace.Workspace]:
    """The chain's workspaces copied, so that purging them leaves the shared run intact."""
    shutil.copytree(chain.root, root)
    return {
        role: workspace.open_workspace(root / ws.root.relative_to(chain.root))
        for role, ws in chain.spaces.items()
    }


def _files_of(ws: workspace.Workspace, delivery_id: str) -> list[Path]:
    """Every package of ``delivery_id`` anywhere in the workspace, and its quarantine file."""
    found = [p for p in ws.root.rglob("*.csv") if p.stem == delivery_id]
    for path in ws.root.rglob(f"*{package.SUFFIX}"):
        if package.read_manifest(path).delivery_id == delivery_id:
            found.append(path)
    return found


def test_purge_at_agii_and_vdab_removes_every_copy_of_an_expired_delivery(
    chain: ChainRun, tmp_path: Path
) -> None:
    """After the real chain, AgII and VDAB hold packages (and AgII quarantine files) of
    both deliveries. Their copies expire no later than ABB's delivery does; on the day
    before the first expiry nothing goes, and after the last every package and
    quarantine file of each delivery is gone, with a signed destruction record listing
    exactly the files that were there, and the audit logs verify."""
    spaces = _copy_of_chain(chain, tmp_path / "copy")
    ids = [r.delivery_id for r in chain.ingested.values()]
    abb_expiry = {r.delivery_id: r.expires_at for r in chain.ingested.values()}
    for role in ("agii", "vdab"):
        ws = spaces[role]
        held = {c.delivery_id: c for c in copies.held_copies(ws, ws.protocol())}
        # Other tests may have run more deliveries through the shared chain: these two at least.
        assert set(ids) <= set(held)
        before = {d: sorted(str(p.relative_to(ws.root)) for p in _files_of(ws, d)) for d in ids}
        assert all(before.values())
        if role == "agii":
            assert all(any(f.startswith("quarantine/") for f in before[d]) for d in ids)
        for d in ids:
            assert held[d].expires_at <= abb_expiry[d]
        first = min(c.expires_at for c in held.values())
        day_before = dt.datetime.combine(first - dt.timedelta(days=1), dt.time(12), dt.UTC)
        assert copies.purge(ws, now=day_before).deliveries == ()
        assert all(_files_of(ws, d) for d in ids)
        last = max(c.expires_at for c in held.values())
        result = copies.purge(ws, now=dt.datetime.combine(last, dt.time(12), dt.UTC))
        assert result.record is not None and result.letter is not None
        for d in held:
            assert _files_of(ws, d) == [], (role, d)
        body = copies.verify_record(result.record, ws.protocol())
        listed = {c["delivery_id"]: sorted(c["files"]) for c in body["deliveries"]}
        assert {d: listed[d] for d in ids} == before
        audit.verify(ws.audit_path)
        events = [json.loads(x)["event"] for x in ws.audit_path.read_text().splitlines()]
        assert events[-1] == "retention.copies_purged"


def test_recorded_receipts_let_agiis_packages_go_before_the_expiry(
    chain: ChainRun, tmp_path: Path
) -> None:
    """The real chain, then AgII records the researchers' signed ingest receipts. With
    one researcher's receipts nothing goes; with both researchers', AgII's purge removes
    its packages of the received deliveries (quarantine files stay, VDAB's copies stay
    until the expiry). At the expiry the purges at AgII and VDAB leave no package or
    quarantine file of those deliveries, and every audit log verifies."""
    spaces = _copy_of_chain(chain, tmp_path / "copy")
    agii, vdab = spaces["agii"], spaces["vdab"]
    ids = [r.delivery_id for r in chain.ingested.values()]
    at = dt.datetime(2026, 10, 20, 9, tzinfo=dt.UTC)
    # In the order of the researcher's log (the size ends the name): AgII refuses a log
    # that goes backwards.
    by_researcher = {
        name: sorted(
            spaces[name].outbox.glob("receipt-*.json"), key=lambda p: int(p.stem.split("-")[-1])
        )
        for name in ("abb-1", "abb-2")
    }
    assert all(len(found) >= len(ids) for found in by_researcher.values())
    for path in by_researcher["abb-1"]:
        receipts.record(agii, path, now=at)
    assert copies.purge(agii, now=at).deliveries == ()
    for path in by_researcher["abb-2"]:
        receipts.record(agii, path, now=at)
    result = copies.purge(agii, now=at + dt.timedelta(hours=1))
    assert {c.delivery_id for c in result.deliveries} >= set(ids)
    assert {c.reason for c in result.deliveries} == {"received"}
    for d in ids:
        left = [str(p.relative_to(agii.root)) for p in _files_of(agii, d)]
        assert left == [f"quarantine/{d}.csv"], left
        assert _files_of(vdab, d)
    assert result.letter is not None and "ontvangst door alle onderzoekers" in (
        result.letter.read_text()
    )
    held = {c.delivery_id: c for c in copies.held_copies(agii, agii.protocol())}
    last = dt.datetime.combine(max(c.expires_at for c in held.values()), dt.time(12), dt.UTC)
    for ws in (agii, vdab):
        copies.purge(ws, now=last)
        assert all(_files_of(ws, d) == [] for d in ids), ws.role
        audit.verify(ws.audit_path)
    for name in ("abb-1", "abb-2"):
        audit.verify(spaces[name].audit_path)


def test_purge_of_copies_is_refused_at_abb_and_the_abb_purge_at_a_sender(world: World) -> None:
    """Each purge runs where its data are: the copies' purge in AgII's or VDAB's
    workspace, the store's purge in ABB's."""
    with pytest.raises(UserError, match="AgII's or VDAB's workspace"):
        copies.purge(world.abb, now=NOW0)
    with pytest.raises(UserError, match="ABB workspace"):
        retention.purge(world.agii, now=NOW0)


def test_an_interrupted_purge_of_copies_is_finished_by_the_next_one(world: World) -> None:
    """A purge that wrote its signed plan (destruction/pending.json) and was stopped
    before removing anything: the next purge, whatever its date, removes the planned
    files and a copy that arrived since, records them, and leaves no plan behind."""
    d = deliver(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    ws = world.agii
    protocol = ws.protocol()
    (planned,) = copies.held_copies(ws, protocol)
    due = dt.datetime(2029, 3, 1, 12, tzinfo=dt.UTC)
    pending = retention.destruction_dir(ws) / "pending.json"
    pending.parent.mkdir()
    body = copies._record_body(ws, protocol, [planned], due)
    documents.write_document(pending, documents.sign_document(body, ws.signing_key()))
    late = ws.inbox / "copy-arrived-later.p3pkg"
    shutil.copy(ws.root / planned.files[0], late)
    result = copies.purge(ws, now=NOW0 + dt.timedelta(days=1))
    assert [c.delivery_id for c in result.deliveries] == [d.delivery_id]
    assert not pending.exists() and not late.exists()
    assert not any((ws.root / f).exists() for f in planned.files)
    assert result.record is not None
    (listed,) = copies.verify_record(result.record, protocol)["deliveries"]
    assert str(late.relative_to(ws.root)) in listed["files"]
    audit.verify(ws.audit_path)
