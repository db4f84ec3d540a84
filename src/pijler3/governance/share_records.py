"""AgII's side of a share (art. 4): the share records, checked and recorded, and the
notifications, acknowledgements and shares side by side.

Each :func:`pijler3.governance.onward.share` writes a signed share record in the
researcher's workspace (``WS/disclosures/<notification>.share.json``). The researcher
sends it to AgII, whose :func:`record_share` checks it against the protocol's
researchers and against AgII's own acknowledgement of the notification, keeps a copy,
and records it in AgII's audit log with the record's SHA-256. From then on AgII's
hash-chained log holds one record per share: one removed from the middle breaks the
chain, and one removed from the end is detected by ``pijler3 audit verify --checkpoint``
with a checkpoint taken after it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pijler3.contract.errors import GovernanceError
from pijler3.exchange import audit, documents
from pijler3.exchange.workspace import Workspace
from pijler3.governance.common import require_role
from pijler3.governance.onward import (
    ACK_FORMAT,
    SHARE_RECORD_FORMAT,
    Notification,
    ack_path,
    notification_path,
    notifications,
    share_record_path,
)

RECORDED = "disclosure.share_recorded"


@dataclass(frozen=True)
class RecordedShare:
    notification_id: str
    researcher: str
    recipient: str
    recipient_fingerprint: str
    shared_at: str
    rows: int
    fields: tuple[str, ...]
    deliveries: tuple[str, ...]
    record_sha256: str
    kept: Path


def _recorded(ws: Workspace) -> dict[str, str]:
    """notification id -> the sha256 of the share record AgII recorded for it."""
    out: dict[str, str] = {}
    for r in audit.events(ws.audit_path):
        d = r.get("details", {})
        if r.get("event") == RECORDED:
            out[str(d.get("notification_id"))] = str(d.get("record_sha256"))
    return out


def record_share(ws: Workspace, record: Path, *, now: dt.datetime) -> RecordedShare:
    """AgII: check a researcher's share record and record it in the audit log.

    The record must be signed by a researcher of the protocol file and cite a
    notification AgII acknowledged, by the hash AgII acknowledged; what left (recipient
    key, fields, deliveries) must lie within what was notified. A second, different
    record for the same notification is refused: one notification covers one
    communication. The same record again changes nothing.
    """
    require_role(ws, "agii", "disclosure record-share")
    protocol = ws.protocol()
    doc = documents.read_document(record)
    keys = [r.signing_key for r in protocol.recipients]
    body = documents.verify_document(doc, keys, str(record), fmt=SHARE_RECORD_FORMAT)
    nid = str(body["notification_id"])
    ack_file = ack_path(ws, nid)
    if not ack_file.exists():
        raise GovernanceError(
            f"{record}: cites notification {nid}, which AgII never acknowledged (art. 4).",
            hint="Keep the record as evidence and ask the researcher about this share.",
        )
    agii_key = protocol.parties["agii"].signing_key
    ack = documents.verify_document(
        documents.read_document(ack_file), [agii_key] if agii_key else [], str(ack_file),
        fmt=ACK_FORMAT,
    )  # fmt: skip
    if body["notification_sha256"] != ack["notification_sha256"]:
        raise GovernanceError(f"{record}: cites another version of notification {nid}.")
    if (
        doc["signature"]["key"]
        != documents.read_document(notification_path(ws, nid))["signature"]["key"]
    ):
        raise GovernanceError(f"{record}: signed by another researcher than notification {nid}.")
    _check_within(record, body, ack)
    digest = documents.document_sha256(doc)
    earlier = _recorded(ws).get(nid)
    kept = share_record_path(ws, nid)
    if earlier is not None and earlier != digest:
        raise GovernanceError(
            f"{record}: a second share under notification {nid}; one notification covers one"
            " communication (art. 4).",
            hint="Keep the record as evidence and ask the researcher and ABB's DPO about it.",
        )
    if earlier is None:
        documents.write_document(kept, doc)
        ws.audit().append(
            RECORDED,
            {
                "notification_id": nid,
                "file": kept.name,
                "record_sha256": digest,
                "researcher_key": doc["signature"]["key"],
                "recipient_key": body["recipient_fingerprint"],
                "deliveries": [d["delivery_id"] for d in body["deliveries"]],
                "fields": body["fields"],
                "rows": body["rows"],
                "shared_at": body["shared_at"],
            },
            now=now,
        )
    return _from_body(body, digest, kept)


def _check_within(record: Path, body: dict[str, Any], ack: dict[str, Any]) -> None:
    """Refuse a record of a share beyond what AgII acknowledged."""
    if body["recipient_key"] != ack["recipient_key"]:
        raise GovernanceError(f"{record}: the data went to another key than notified (art. 4).")
    extra = [f for f in body["fields"] if f not in ack["fields"]]
    if extra:
        raise GovernanceError(f"{record}: field '{extra[0]}' was not notified (art. 4).")
    for d in body["deliveries"]:
        if d["delivery_id"] not in ack["deliveries"] and d["peildatum"] not in ack["deliveries"]:
            raise GovernanceError(
                f"{record}: delivery {d['delivery_id']} was not notified (art. 4)."
            )


def _from_body(body: dict[str, Any], digest: str, kept: Path) -> RecordedShare:
    return RecordedShare(
        notification_id=str(body["notification_id"]),
        researcher=str(body["researcher"]["name"]),
        recipient=str(body["recipient"]),
        recipient_fingerprint=str(body["recipient_fingerprint"]),
        shared_at=str(body["shared_at"]),
        rows=int(body["rows"]),
        fields=tuple(body["fields"]),
        deliveries=tuple(d["delivery_id"] for d in body["deliveries"]),
        record_sha256=digest,
        kept=kept,
    )


@dataclass(frozen=True)
class Disclosure:
    """One notification with its acknowledgement and its share, as held here."""

    notification: Notification
    acknowledged_at: str | None
    share: RecordedShare | None


def disclosures(ws: Workspace) -> list[Disclosure]:
    """Every notification held here, with its acknowledgement and the share made under it.

    At ABB these are the researcher's own; at AgII the notifications it acknowledged and
    the share records it recorded. Reading only; a file that does not parse is shown as
    missing, and the audit log is what ``pijler3 audit verify`` checks.
    """
    out: list[Disclosure] = []
    for n in notifications(ws):
        acknowledged_at = None
        if n.acknowledged:
            ack = documents.read_document(ack_path(ws, n.id)).get("body", {})
            acknowledged_at = ack.get("acknowledged_at")
        shared = None
        path = share_record_path(ws, n.id)
        if path.exists():
            doc = documents.read_document(path)
            if doc.get("body", {}).get("format") == SHARE_RECORD_FORMAT:
                shared = _from_body(doc["body"], documents.document_sha256(doc), path)
        out.append(Disclosure(n, acknowledged_at, shared))
    return out
