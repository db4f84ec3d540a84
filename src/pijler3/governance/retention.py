"""Retention (protocol art. 3 and 6): what expires when, and the purge.

The boundary. Ingest gives each delivery ``expires_at = received + retention_years``
(:func:`pijler3.contract.dates.add_years`). A delivery is kept through the day before
``expires_at`` and is purged on ``expires_at`` itself: it is expired on day ``today``
when ``expires_at <= today``. So a delivery received on 31/01/2025 is held for exactly
five years (31/01/2025 up to and including 30/01/2030) and destroyed on 31/01/2030.

The purge removes an expired delivery from every place the workspace holds it:

- the analysis store, through :meth:`pijler3.analysis.store.Store.remove_deliveries`, which
  deletes the rows and then rebuilds the DuckDB file from what remains and swaps it in,
  because deleted rows stay in freed blocks of a DuckDB file until they are reused;
- the package archive (``WS/archive/<delivery_id>.p3pkg``) and any copy of the same
  delivery anywhere else in the workspace (``WS/inbox``, ``WS/outbox`` with the share
  packages made from it, or wherever a user put one);
- and, whatever expires, the leftovers of killed processes: ingest staging folders
  (``WS/inbox/.staging-*``, each a complete package the researcher's key decrypts) and
  the temporary files of interrupted atomic writes (``.*.tmp``). Their names are listed
  in the destruction record (``leftovers``), or in the audit log when nothing expired.

Files are unlinked, not overwritten first: on journaling and copy-on-write file systems
and on SSDs an overwrite in place does not reach the old blocks, so it would promise
what it cannot keep. What makes the archive safe to drop is that it only ever holds
age-encrypted packages whose plaintext exists nowhere else on disk once the store was
rebuilt; the researcher's age key is what protects any copy left in freed blocks or
backups.

Crash safety. Before anything is removed, the plan is written to
``WS/destruction/pending.json``; every removal is idempotent, and the next purge
finishes a pending plan first. The destruction record (JSON signed with the workspace
key, plus a Dutch text for AgII's DPO) is written only after every removal succeeded,
and the purge is recorded in the audit log.

A dry run reads only: it writes no record and no audit entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pijler3.analysis.store import Delivery, Store
from pijler3.contract.errors import PackageError, UserError
from pijler3.contract.protocol import Protocol as ProtocolFile
from pijler3.exchange import documents, package
from pijler3.exchange.atomic import clean_stale, write_atomic
from pijler3.exchange.workspace import STAGING_PREFIX, Workspace
from pijler3.governance import letters

DESTRUCTION_FORMAT = "pijler3-destruction/1"
RULE = (
    "A delivery is kept through the day before expires_at and purged on expires_at"
    " (expires_at = received + retention_years; protocol art. 3 and 6)."
)


class _Expiring(Protocol):
    @property
    def expires_at(self) -> dt.date: ...


E = TypeVar("E", bound=_Expiring)


def is_expired(expires_at: dt.date, today: dt.date) -> bool:
    """Whether a delivery expiring on ``expires_at`` must be gone on ``today``."""
    return expires_at <= today


def expired(deliveries: Iterable[E], today: dt.date) -> list[E]:
    """The deliveries that must be purged on ``today``, in the order given. Pure."""
    return [d for d in deliveries if is_expired(d.expires_at, today)]


@dataclass(frozen=True)
class Planned:
    delivery_id: str
    peildatum: str
    received_at: str
    expires_at: str
    rows: int
    package_sha256: str
    files: tuple[str, ...]  # paths relative to the workspace


@dataclass(frozen=True)
class PurgeResult:
    today: dt.date
    dry_run: bool
    deliveries: tuple[Planned, ...]
    record: Path | None  # the signed destruction record (JSON)
    letter: Path | None  # the Dutch text for AgII's DPO

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.deliveries)


def destruction_dir(ws: Workspace) -> Path:
    return ws.root / "destruction"


def _package_files(
    ws: Workspace, delivery_ids: set[str], protocol: ProtocolFile
) -> dict[str, list[Path]]:
    """Every package file in the workspace that belongs to one of ``delivery_ids``.

    The whole workspace is searched, not only the folders the software writes: a copy
    a user placed elsewhere in it decrypts just the same. A file that is not a readable
    package (damaged, too large, deeply nested) holds nothing of a delivery that can be
    read, and cannot stop the purge.
    """
    found: dict[str, list[Path]] = {d: [] for d in delivery_ids}
    for d in delivery_ids:
        archived = ws.archive / f"{d}{package.SUFFIX}"
        if archived.exists():
            found[d].append(archived)
    for path in sorted(ws.root.rglob(f"*{package.SUFFIX}")):
        if path.is_symlink() or not path.is_file() or path.parent == ws.archive:
            continue
        if any(part.startswith(STAGING_PREFIX) for part in path.relative_to(ws.root).parts):
            continue  # staging folders go whole, with the leftovers
        try:
            delivery = package.read_manifest(path, limits=protocol.limits).delivery_id
        except PackageError:
            continue
        if delivery in found and path not in found[delivery]:
            found[delivery].append(path)
    return found


def _leftovers(ws: Workspace) -> list[str]:
    """Remove what killed processes left behind; return the names (relative)."""
    removed = ws.clean_staging()
    for folder in (ws.inbox, ws.outbox, ws.archive, ws.store_path.parent, destruction_dir(ws)):
        removed += [str(p.relative_to(ws.root)) for p in clean_stale(folder)]
    return removed


def _plan(ws: Workspace, due: Sequence[Delivery], protocol: ProtocolFile) -> list[Planned]:
    files = _package_files(ws, {d.delivery_id for d in due}, protocol)
    return [
        Planned(
            delivery_id=d.delivery_id,
            peildatum=d.peildatum.isoformat(),
            received_at=d.received_at.isoformat(),
            expires_at=d.expires_at.isoformat(),
            rows=d.row_count,
            package_sha256=d.package_sha256,
            files=tuple(str(p.relative_to(ws.root)) for p in files[d.delivery_id]),
        )
        for d in due
    ]


def _planned_dict(p: Planned) -> dict[str, Any]:
    return {
        "delivery_id": p.delivery_id,
        "peildatum": p.peildatum,
        "received_at": p.received_at,
        "expires_at": p.expires_at,
        "rows": p.rows,
        "package_sha256": p.package_sha256,
        "files": list(p.files),
    }


def purge(ws: Workspace, *, now: dt.datetime, dry_run: bool = False) -> PurgeResult:
    """Remove every expired delivery from the workspace and record that it did."""
    if ws.role != "abb":
        raise UserError(f"{ws.root}: the purge runs in an ABB workspace (it holds the store).")
    protocol = ws.protocol()
    ws.audit().check_time(now)
    today = now.date()
    pending = destruction_dir(ws) / "pending.json"
    resumed: list[Planned] = []
    if pending.exists():
        body = documents.verify_document(
            documents.read_document(pending),
            [ws.public().signing_key],
            str(pending),
            fmt=DESTRUCTION_FORMAT,
        )
        resumed = [Planned(**{**p, "files": tuple(p["files"])}) for p in body["deliveries"]]
    due: list[Delivery] = []
    if ws.store_path.exists():
        with Store(ws.store_path, protocol) as store:
            due = expired(store.deliveries(), today)
    already = {p.delivery_id for p in resumed}
    plan = resumed + [p for p in _plan(ws, due, protocol) if p.delivery_id not in already]
    if dry_run:
        return PurgeResult(today, dry_run, tuple(plan), None, None)
    if not plan:
        leftovers = _leftovers(ws)
        ws.audit().append(
            "retention.checked",
            {"today": today.isoformat(), "expired": 0, "leftovers_removed": leftovers},
            now=now,
        )
        return PurgeResult(today, dry_run, tuple(plan), None, None)

    body = _record_body(ws, protocol, plan, now)
    destruction_dir(ws).mkdir(mode=0o700, exist_ok=True)
    documents.write_document(pending, documents.sign_document(body, ws.signing_key()))
    with Store(ws.store_path, protocol) as store:
        store.remove_deliveries([p.delivery_id for p in plan])
    removed: list[str] = []
    for p in plan:
        for rel in p.files:
            if (ws.root / rel).exists():
                removed.append(rel)
            (ws.root / rel).unlink(missing_ok=True)
        # A copy that arrived after the plan was made (a resumed plan) goes too.
        for extra in _package_files(ws, {p.delivery_id}, protocol)[p.delivery_id]:
            removed.append(str(extra.relative_to(ws.root)))
            extra.unlink(missing_ok=True)
    leftovers = _leftovers(ws)

    # What was removed, and how far this workspace's log reached when it was: the
    # checkpoint lets AgII, who holds this record, detect a log cut or rewritten later.
    body = {
        **body,
        "files_removed": sorted(set(removed)),
        "leftovers": leftovers,
        "checkpoint": ws.audit().checkpoint(now=now),
    }
    record, letter, doc = write_record(
        ws, body, today, lambda signature: destruction_letter(body, protocol, signature)
    )
    pending.unlink()
    ws.audit().append(
        "retention.purged",
        {
            "today": today.isoformat(),
            "deliveries": [p.delivery_id for p in plan],
            "rows": sum(p.rows for p in plan),
            "files_removed": len(set(removed)),
            "leftovers_removed": len(leftovers),
            "record": record.name,
            "record_sha256": documents.document_sha256(doc),
        },
        now=now,
    )
    return PurgeResult(today, False, tuple(plan), record, letter)


def write_record(
    ws: Workspace, body: dict[str, Any], today: dt.date, letter: Callable[[str], str]
) -> tuple[Path, Path, dict[str, Any]]:
    """Sign a destruction record and write it with its letter for the other party's DPO
    (``letter`` gets the signature's value); returns both paths and the signed record."""
    doc = documents.sign_document(body, ws.signing_key())
    stem = f"{today:%Y%m%d}-{documents.document_sha256(doc)[:8]}"
    record = destruction_dir(ws) / f"vernietiging-{stem}.json"
    letter_path = destruction_dir(ws) / f"vernietiging-{stem}.txt"
    documents.write_document(record, doc)
    write_atomic(letter_path, letter(doc["signature"]["value"]).encode())
    return record, letter_path, doc


def _record_body(
    ws: Workspace, protocol: ProtocolFile, plan: Sequence[Planned], now: dt.datetime
) -> dict[str, Any]:
    return {
        "format": DESTRUCTION_FORMAT,
        "protocol_id": protocol.id,
        "protocol_version": protocol.version,
        "articles": "art. 3 and 6",
        "retention_years": protocol.retention_years,
        "rule": RULE,
        "performed_at": now.astimezone(dt.UTC).isoformat(),
        "purge_date": now.date().isoformat(),
        "performed_by": {
            "role": ws.role,
            "name": ws.name,
            "signing_key": ws.public().signing_key,
        },
        "deliveries": [_planned_dict(p) for p in plan],
        "total_rows": sum(p.rows for p in plan),
        "method": (
            "rows deleted from the analysis store and the DuckDB file rebuilt and replaced;"
            " every age-encrypted package file of the deliveries in the workspace unlinked;"
            " staging folders and temporary files of interrupted runs removed"
        ),
    }


def destruction_letter(body: dict[str, Any], protocol: ProtocolFile, signature: str) -> str:
    """The Dutch text of a destruction record, for AgII's DPO (``letters/destruction``)."""
    return letters.render(
        letters.DESTRUCTION,
        protocol=protocol,
        agii=protocol.parties["agii"],
        abb=protocol.parties["abb"],
        by=body["performed_by"],
        body=body,
        signature=signature,
    )


def verify_record(path: Path, protocol: ProtocolFile) -> dict[str, Any]:
    """Check a destruction record against the protocol's researcher keys (for AgII)."""
    keys = [r.signing_key for r in protocol.recipients]
    doc = documents.read_document(path)
    return documents.verify_document(doc, keys, str(path), fmt=DESTRUCTION_FORMAT)
