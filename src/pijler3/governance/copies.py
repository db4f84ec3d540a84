"""Retention of the senders' copies (protocol art. 3 and 6): AgII's and VDAB's purge.

AgII and VDAB keep what they sealed and received: the packages in ``WS/outbox`` and
``WS/inbox`` (age-encrypted, but personal data all the same) and, at AgII, the
quarantine files (``WS/quarantine/<delivery>.csv``, row numbers and reasons). They are
kept no longer than the protocol's retention: :func:`purge` removes every file of a
delivery whose retention has ended, and writes a signed destruction record listing
what it removed, as ABB's purge does (:mod:`pijler3.governance.retention`).

The expiry, computed as at ABB. ABB's delivery expires ``retention_years`` after the day
the publish package was made (or after its receipt, if earlier). At a sender the clock
starts at the first day the workspace handled the delivery: the earliest creation day
of the delivery's packages held here, or the day of the first audit record naming the
delivery, whichever is earlier (a quarantine file has no manifest; the log dates it).
That day is never after the publish package was made, so a sender's copies are gone at
the latest on the day ABB's delivery expires. The boundary is ABB's: a copy is kept
through the day before ``expires_at`` and removed on ``expires_at`` itself.

Earlier removal on the receivers' receipts. Each researcher's ingest gives a signed
receipt that AgII records (:mod:`pijler3.governance.receipts`). Once AgII has recorded
the receipt of every researcher the protocol names for one published payload of a
delivery, the chain has carried that delivery to its end: AgII's packages of it (the
export package sent to VDAB, a copy of VDAB's link package, and every publish package
of that payload) have served their purpose and go at the next purge. A publish package
with another payload (a later correction not yet received) stays, and so does the
quarantine file, AgII's own working file, until the expiry. VDAB records no receipts:
its copies go at the expiry.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pijler3.contract.dates import add_years
from pijler3.contract.errors import GovernanceError, PackageError
from pijler3.contract.protocol import Protocol
from pijler3.exchange import audit, documents, package
from pijler3.exchange.workspace import Workspace
from pijler3.governance import letters, receipts
from pijler3.governance.retention import destruction_dir, is_expired, write_record

COPIES_FORMAT = "pijler3-destruction-copies/1"
RULE = (
    "A sender's copies of a delivery are kept through the day before expires_at and removed"
    " on expires_at (expires_at = the first day this workspace handled the delivery +"
    " retention_years; protocol art. 3 and 6); AgII's packages of a delivery go earlier,"
    " once the receipt of every researcher is recorded."
)
_DELIVERY_ID = re.compile(r"\d{8}-[0-9a-f]{8}")
_ROLES = ("agii", "vdab")


@dataclass(frozen=True)
class HeldCopy:
    """The files of one delivery a sender holds, and when they expire."""

    delivery_id: str
    peildatum: str | None
    first_handled: dt.date
    expires_at: dt.date
    files: tuple[str, ...]  # paths relative to the workspace, sorted
    # The files that may go before the expiry because every receiver's receipt is
    # recorded (AgII only), and the day the last of those receipts was recorded.
    received: tuple[str, ...] = ()
    received_on: dt.date | None = None
    reason: str = "expired"  # in a plan: "expired", or "received" (only ``files`` go)


@dataclass(frozen=True)
class CopiesResult:
    today: dt.date
    dry_run: bool
    deliveries: tuple[HeldCopy, ...]
    record: Path | None
    letter: Path | None

    @property
    def files(self) -> int:
        return sum(len(c.files) for c in self.deliveries)


def _first_audit_days(ws: Workspace) -> dict[str, dt.date]:
    """delivery id -> the day of the first audit record naming it."""
    out: dict[str, dt.date] = {}
    for r in audit.events(ws.audit_path):
        d = r.get("details", {})
        did = d.get("delivery_id") if isinstance(d, dict) else None
        if isinstance(did, str) and did not in out:
            out[did] = dt.datetime.fromisoformat(str(r["at"])).date()
    return out


def received_payloads(ws: Workspace, protocol: Protocol) -> dict[tuple[str, str], dt.date]:
    """(delivery id, publish payload SHA-256) -> the day AgII recorded the last of the
    receipts of every researcher the protocol names; only complete sets are returned.

    Read from the receipts the audit log says AgII recorded, each checked again against
    the researchers' keys: a receipt file added by hand, or changed, counts for nothing.
    """
    keys = {r.signing_key for r in protocol.recipients}
    if ws.role != "agii" or not keys:
        return {}
    seen: dict[tuple[str, str], dict[str, dt.date]] = {}
    for r in audit.events(ws.audit_path):
        d = r.get("details", {})
        if r.get("event") != receipts.RECORDED or d.get("kind") != "receipt":
            continue
        path = receipts.receipts_dir(ws) / str(d.get("file"))
        try:
            doc = documents.read_document(path)
            body = documents.verify_document(
                doc, sorted(keys), str(path), fmt=receipts.RECEIPT_FORMAT
            )
        except GovernanceError:
            continue
        at = dt.datetime.fromisoformat(str(r["at"])).date()
        got = seen.setdefault((str(body["delivery_id"]), str(body["payload_sha256"])), {})
        got.setdefault(doc["signature"]["key"], at)
    return {k: max(v.values()) for k, v in seen.items() if keys <= set(v)}


@dataclass
class _Scan:
    files: dict[str, list[Path]] = dataclasses.field(default_factory=dict)
    made: dict[str, dt.date] = dataclasses.field(default_factory=dict)
    peildatum: dict[str, str] = dataclasses.field(default_factory=dict)
    # delivery -> (publish package, its payload's SHA-256)
    publish: dict[str, list[tuple[Path, str]]] = dataclasses.field(default_factory=dict)


def _scan_packages(ws: Workspace, protocol: Protocol) -> _Scan:
    """The packages in the outbox and inbox, by delivery, with their creation days."""
    scan = _Scan()
    for folder in (ws.outbox, ws.inbox):
        for path in sorted(folder.glob(f"*{package.SUFFIX}")) if folder.exists() else []:
            try:
                m = package.read_manifest(path, limits=protocol.limits)
            except PackageError:
                continue  # not a package of ours: nothing of a delivery can be read in it
            scan.files.setdefault(m.delivery_id, []).append(path)
            day = m.created.date()
            scan.made[m.delivery_id] = min(scan.made.get(m.delivery_id, day), day)
            scan.peildatum[m.delivery_id] = m.peildatum.isoformat()
            if m.step == "publish":
                scan.publish.setdefault(m.delivery_id, []).append((path, m.payload_sha256))
    return scan


def held_copies(ws: Workspace, protocol: Protocol) -> list[HeldCopy]:
    """Every delivery of which ``ws`` holds a package or a quarantine file."""
    scan = _scan_packages(ws, protocol)
    files, made, peildatum, publish = scan.files, scan.made, scan.peildatum, scan.publish
    receipted = received_payloads(ws, protocol)
    if ws.quarantine.exists():
        for path in sorted(ws.quarantine.glob("*.csv")):
            if _DELIVERY_ID.fullmatch(path.stem):
                files.setdefault(path.stem, []).append(path)
    logged = _first_audit_days(ws)
    out = []
    for did, paths in sorted(files.items()):
        days = [d for d in (made.get(did), logged.get(did)) if d is not None]
        if not days:
            # A quarantine file whose delivery neither a package nor the log dates: it
            # cannot be older than the log itself, whose first record dates it.
            first = audit.events(ws.audit_path)
            days = [dt.datetime.fromisoformat(str(first[0]["at"])).date()] if first else []
        if not days:
            continue
        start = min(days)
        received, received_on = _received(ws, did, paths, publish.get(did, []), receipted)
        out.append(
            HeldCopy(
                delivery_id=did,
                peildatum=peildatum.get(did),
                first_handled=start,
                expires_at=add_years(start, protocol.retention_years),
                files=_rel(ws, paths),
                received=received,
                received_on=received_on,
            )
        )
    return out


def _rel(ws: Workspace, paths: Sequence[Path]) -> tuple[str, ...]:
    return tuple(sorted(str(p.relative_to(ws.root)) for p in paths))


def _received(
    ws: Workspace,
    delivery_id: str,
    paths: Sequence[Path],
    published: Sequence[tuple[Path, str]],
    receipted: dict[tuple[str, str], dt.date],
) -> tuple[tuple[str, ...], dt.date | None]:
    """The packages of a delivery that every receiver's receipt lets go, and since when."""
    days = [day for (did, _), day in receipted.items() if did == delivery_id]
    if not days:
        return (), None
    # A publish package of a payload nobody has received yet (a correction) stays.
    pending = {p for p, payload in published if (delivery_id, payload) not in receipted}
    gone = [p for p in paths if p.suffix == package.SUFFIX and p not in pending]
    return _rel(ws, gone), min(days)


def _due(held: Iterable[HeldCopy], today: dt.date) -> list[HeldCopy]:
    """What goes today: every file of an expired delivery; of a delivery whose receipts
    are all recorded, the packages they let go."""
    out = []
    for c in held:
        if is_expired(c.expires_at, today):
            out.append(dataclasses.replace(c, reason="expired"))
        elif c.received:
            out.append(dataclasses.replace(c, files=c.received, reason="received"))
    return out


def _copy_dict(c: HeldCopy) -> dict[str, Any]:
    return {
        "delivery_id": c.delivery_id,
        "peildatum": c.peildatum,
        "first_handled": c.first_handled.isoformat(),
        "expires_at": c.expires_at.isoformat(),
        "reason": c.reason,
        "received_on": c.received_on.isoformat() if c.received_on else None,
        "files": list(c.files),
    }


def _from_dict(d: dict[str, Any]) -> HeldCopy:
    return HeldCopy(
        delivery_id=str(d["delivery_id"]),
        peildatum=d.get("peildatum"),
        first_handled=dt.date.fromisoformat(d["first_handled"]),
        expires_at=dt.date.fromisoformat(d["expires_at"]),
        files=tuple(d["files"]),
        received_on=dt.date.fromisoformat(d["received_on"]) if d.get("received_on") else None,
        reason=str(d.get("reason", "expired")),
    )


def purge(ws: Workspace, *, now: dt.datetime, dry_run: bool = False) -> CopiesResult:
    """AgII or VDAB: remove every copy of a delivery whose retention has ended.

    An interrupted purge is finished by the next one: the signed plan
    (``destruction/pending.json``) is written before the first file goes, and the record
    names every file of the plan.
    """
    if ws.role not in _ROLES:
        raise GovernanceError(
            f"{ws.root}: the senders' copies are purged in AgII's or VDAB's workspace."
        )
    protocol = ws.protocol()
    today = now.date()
    pending = destruction_dir(ws) / "pending.json"
    resumed: list[HeldCopy] = []
    if pending.exists():
        body = documents.verify_document(
            documents.read_document(pending),
            [ws.public().signing_key],
            str(pending),
            fmt=COPIES_FORMAT,
        )
        resumed = [_from_dict(d) for d in body["deliveries"]]
    held = {c.delivery_id: c for c in held_copies(ws, protocol)}
    # A resumed plan also takes a file of its deliveries that arrived after it was made.
    resumed = [
        dataclasses.replace(c, files=tuple(sorted({*c.files, *held[c.delivery_id].files})))
        if c.delivery_id in held
        else c
        for c in resumed
    ]
    already = {c.delivery_id for c in resumed}
    plan = resumed + [c for c in _due(held.values(), today) if c.delivery_id not in already]
    if dry_run:
        return CopiesResult(today, True, tuple(plan), None, None)
    if not plan:
        ws.audit().append("retention.checked", {"today": today.isoformat(), "expired": 0}, now=now)
        return CopiesResult(today, False, (), None, None)
    body = _record_body(ws, protocol, plan, now)
    destruction_dir(ws).mkdir(mode=0o700, exist_ok=True)
    documents.write_document(pending, documents.sign_document(body, ws.signing_key()))
    for c in plan:
        for rel in c.files:
            (ws.root / rel).unlink(missing_ok=True)
    record, letter, doc = write_record(
        ws, body, today, lambda signature: destruction_letter(body, protocol, signature)
    )
    pending.unlink()
    ws.audit().append(
        "retention.copies_purged",
        {
            "today": today.isoformat(),
            "deliveries": [c.delivery_id for c in plan],
            "files_removed": sum(len(c.files) for c in plan),
            "record": record.name,
            "record_sha256": documents.document_sha256(doc),
        },
        now=now,
    )
    return CopiesResult(today, False, tuple(plan), record, letter)


def _record_body(
    ws: Workspace, protocol: Protocol, plan: Sequence[HeldCopy], now: dt.datetime
) -> dict[str, Any]:
    return {
        "format": COPIES_FORMAT,
        "protocol_id": protocol.id,
        "protocol_version": protocol.version,
        "articles": "art. 3 and 6",
        "retention_years": protocol.retention_years,
        "rule": RULE,
        "performed_at": documents.iso_utc(now),
        "purge_date": now.date().isoformat(),
        "performed_by": {
            "role": ws.role,
            "party": protocol.parties[ws.role].short,
            "signing_key": ws.public().signing_key,
        },
        "deliveries": [_copy_dict(c) for c in plan],
        "files_removed": sum(len(c.files) for c in plan),
        "method": "age-encrypted package files and quarantine files unlinked",
    }


def destruction_letter(body: dict[str, Any], protocol: Protocol, signature: str) -> str:
    """The Dutch text of a sender's destruction record, for AgII's DPO
    (``letters/destruction-copies``)."""
    return letters.render(
        letters.DESTRUCTION_COPIES,
        protocol=protocol,
        agii=protocol.parties["agii"],
        by=body["performed_by"],
        body=body,
        signature=signature,
    )


def verify_record(path: Path, protocol: Protocol) -> dict[str, Any]:
    """Check a sender's destruction record against AgII's and VDAB's keys."""
    keys = [k for k in (protocol.parties[r].signing_key for r in _ROLES) if k]
    doc = documents.read_document(path)
    return documents.verify_document(doc, keys, str(path), fmt=COPIES_FORMAT)
