"""Onward disclosure of microdata (art. 4).

Microdata leave ABB's store only through :func:`share`, and only after (1) the
researcher signed a notification for AgII (:func:`notify`), (2) AgII verified it against
the protocol's named researchers and signed an acknowledgement (:func:`acknowledge`),
and (3) the researcher recorded that acknowledgement after checking AgII's signature
(:func:`record_ack`). The share package holds only the notified fields and is encrypted
to the one recipient key given. An acknowledgement confirms that AgII was notified
beforehand, which is what art. 4 requires; it is not a permission that replaces a
protocol ABB must close with the recipient where the law requires one. Aggregated,
disclosure-controlled tables (the report) hold no microdata and may be shared freely:
they do not pass through here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pijler3.analysis import dataset
from pijler3.analysis.store import Store
from pijler3.contract.errors import GovernanceError
from pijler3.contract.protocol import Protocol
from pijler3.exchange import _crypto, package, transfer
from pijler3.exchange.audit import canonical
from pijler3.exchange.documents import (
    document_sha256,
    iso_utc,
    read_document,
    sign_document,
    verify_document,
    write_document,
)
from pijler3.exchange.workspace import Workspace
from pijler3.governance.common import check_text, require_role
from pijler3.governance.termination import check_in_force

NOTIFICATION_FORMAT = "pijler3-disclosure-notification/1"
ACK_FORMAT = "pijler3-disclosure-ack/1"
SHARE_STEP = "share"


@dataclass(frozen=True)
class Notification:
    id: str
    created: str
    researcher: str
    recipient: str
    recipient_key: str | None
    purpose: str
    fields: tuple[str, ...]
    path: Path
    acknowledged: bool = False

    @classmethod
    def from_body(cls, body: Mapping[str, Any], path: Path, acknowledged: bool) -> Notification:
        return cls(
            id=str(body["id"]),
            created=str(body["created"]),
            researcher=str(body["researcher"]["name"]),
            recipient=str(body["recipient"]),
            recipient_key=body.get("recipient_key"),
            purpose=str(body["purpose"]),
            fields=tuple(body["fields"]),
            path=path,
            acknowledged=acknowledged,
        )


def disclosures_dir(ws: Workspace) -> Path:
    return ws.root / "disclosures"


def _notification_path(ws: Workspace, nid: str) -> Path:
    return disclosures_dir(ws) / f"{nid}.notification.json"


def _ack_path(ws: Workspace, nid: str) -> Path:
    return disclosures_dir(ws) / f"{nid}.ack.json"


def _check_fields(protocol: Protocol, fields: Sequence[str]) -> tuple[str, ...]:
    if not fields:
        raise GovernanceError("name at least one field of the protocol (art. 3).", param="fields")
    unknown = [f for f in fields if f not in protocol.field_names]
    if unknown:
        raise GovernanceError(
            f"'{unknown[0]}' is not a field of the protocol (art. 3).",
            hint="Only the protocol's fields can be disclosed; see the published protocol.",
            param="fields",
        )
    if len(set(fields)) != len(fields):
        raise GovernanceError("a field is named twice.", param="fields")
    # Keep the protocol's column order, so that the same notification always gives the
    # same share schema.
    return tuple(f for f in protocol.field_names if f in fields)


def _researcher_keys(protocol: Protocol) -> list[str]:
    return [r.signing_key for r in protocol.recipients]


def notify(
    ws: Workspace,
    *,
    recipient: str,
    purpose: str,
    fields: Sequence[str],
    now: dt.datetime,
    recipient_key: str | None = None,
) -> Notification:
    """ABB: sign a notification to AgII of an intended onward disclosure (art. 4)."""
    require_role(ws, "abb", "disclosure notify")
    protocol = ws.protocol()
    check_in_force(ws, protocol, now.date())
    if ws.public().signing_key not in _researcher_keys(protocol):
        raise GovernanceError(
            f"{ws.root}: this researcher's key is not registered in the protocol file (art. 4).",
            hint="Register it with 'pijler3 protocol add-keys' and install the protocol file.",
        )
    if recipient_key is not None:
        try:
            recipient_key = _crypto.canonical_recipient(recipient_key)
        except _crypto.CryptoError:
            raise GovernanceError(
                "the recipient key is not an age recipient (age1…).", param="recipient_key"
            ) from None
    content: dict[str, Any] = {
        "format": NOTIFICATION_FORMAT,
        "protocol_id": protocol.id,
        "protocol_version": protocol.version,
        "created": iso_utc(now),
        "researcher": {"name": ws.name, "signing_key": ws.public().signing_key},
        "recipient": check_text(recipient, "recipient", "the recipient"),
        "recipient_key": recipient_key,
        "purpose": check_text(purpose, "purpose", "the purpose"),
        "fields": list(_check_fields(protocol, fields)),
        "article": "art. 4",
    }
    # The id is derived from the content, so that it is reproducible and unique.
    content["id"] = f"N-{now:%Y%m%d}-{hashlib.sha256(canonical(content)).hexdigest()[:8]}"
    doc = sign_document(content, ws.signing_key())
    path = _notification_path(ws, content["id"])
    write_document(path, doc)
    ws.audit().append(
        "disclosure.notified",
        {
            "notification_id": content["id"],
            "fields": content["fields"],
            "recipient_key": _crypto.fingerprint(recipient_key) if recipient_key else None,
            "document_sha256": document_sha256(doc),
        },
        now=now,
    )
    return Notification.from_body(content, path, acknowledged=False)


def acknowledge(ws: Workspace, notification: Path, *, now: dt.datetime) -> Path:
    """AgII: verify a researcher's notification and write a signed acknowledgement.

    Returns the path of the acknowledgement, to be sent back to the researcher.
    """
    require_role(ws, "agii", "disclosure acknowledge")
    protocol = ws.protocol()
    check_in_force(ws, protocol, now.date())
    doc = read_document(notification)
    body = verify_document(
        doc, _researcher_keys(protocol), str(notification), fmt=NOTIFICATION_FORMAT
    )
    if body.get("protocol_id") != protocol.id:
        raise GovernanceError(f"{notification}: made under another protocol.")
    _check_fields(protocol, body["fields"])
    nid = str(body["id"])
    write_document(_notification_path(ws, nid), doc)
    ack_body = {
        "format": ACK_FORMAT,
        "protocol_id": protocol.id,
        "notification_id": nid,
        "notification_sha256": document_sha256(doc),
        "researcher": body["researcher"]["name"],
        "recipient": body["recipient"],
        "recipient_key": body.get("recipient_key"),
        "fields": body["fields"],
        "purpose": body["purpose"],
        "acknowledged_at": iso_utc(now),
        "acknowledged_by": protocol.parties["agii"].short,
        "article": "art. 4",
    }
    ack = sign_document(ack_body, ws.signing_key())
    path = _ack_path(ws, nid)
    write_document(path, ack)
    ws.audit().append(
        "disclosure.acknowledged",
        {"notification_id": nid, "fields": body["fields"], "ack_sha256": document_sha256(ack)},
        now=now,
    )
    return path


def record_ack(ws: Workspace, ack: Path, *, now: dt.datetime) -> Notification:
    """ABB: record AgII's acknowledgement after checking AgII's signature on it."""
    require_role(ws, "abb", "disclosure record-ack")
    protocol = ws.protocol()
    agii_key = protocol.parties["agii"].signing_key
    doc = read_document(ack)
    body = verify_document(doc, [agii_key] if agii_key else [], str(ack), fmt=ACK_FORMAT)
    nid = str(body["notification_id"])
    held = _load_notification(ws, nid)
    if body["notification_sha256"] != document_sha256(held):
        raise GovernanceError(
            f"{ack}: acknowledges another version of notification {nid} than the one held here."
        )
    write_document(_ack_path(ws, nid), doc)
    ws.audit().append(
        "disclosure.ack_recorded",
        {"notification_id": nid, "ack_sha256": document_sha256(doc)},
        now=now,
    )
    return Notification.from_body(held["body"], _notification_path(ws, nid), acknowledged=True)


def _load_notification(ws: Workspace, nid: str) -> dict[str, Any]:
    path = _notification_path(ws, nid)
    if not path.exists():
        raise GovernanceError(
            f"no notification {nid} in {disclosures_dir(ws)}.",
            hint="Notify AgII first with 'pijler3 disclosure notify' (art. 4).",
        )
    doc = read_document(path)
    verify_document(doc, [ws.public().signing_key], str(path), fmt=NOTIFICATION_FORMAT)
    return doc


def notifications(ws: Workspace) -> list[Notification]:
    """The notifications held in a workspace, and whether each was acknowledged."""
    out = []
    folder = disclosures_dir(ws)
    for path in sorted(folder.glob("*.notification.json")) if folder.exists() else []:
        body = read_document(path).get("body", {})
        nid = str(body.get("id", path.name.split(".")[0]))
        out.append(Notification.from_body(body, path, _ack_path(ws, nid).exists()))
    return out


@dataclass(frozen=True)
class ShareResult:
    package: Path
    delivery_id: str
    rows: int
    fields: tuple[str, ...]
    recipient_fingerprint: str


def share(
    ws: Workspace,
    *,
    notification_id: str,
    recipient_key: str,
    out: Path,
    now: dt.datetime,
    delivery_id: str | None = None,
) -> ShareResult:
    """ABB: seal the notified fields of one delivery for one recipient key (art. 4).

    Refused unless the notification exists and AgII's signed acknowledgement of it is
    recorded, the protocol is in force, and the delivery is held and not expired.
    """
    require_role(ws, "abb", "share")
    protocol = ws.protocol()
    check_in_force(ws, protocol, now.date())
    try:
        notified = _load_notification(ws, notification_id)
    except GovernanceError as exc:
        raise GovernanceError(
            f"microdata may leave ABB only after a notification to AgII (art. 4): {exc.message}",
            hint=exc.hint,
        ) from None
    ack_path = _ack_path(ws, notification_id)
    if not ack_path.exists():
        raise GovernanceError(
            f"notification {notification_id} has no recorded acknowledgement from AgII;"
            " microdata may leave ABB only after AgII was notified (art. 4).",
            hint="Send the notification to AgII and record its answer with"
            " 'pijler3 disclosure record-ack'.",
        )
    agii_key = protocol.parties["agii"].signing_key
    ack = verify_document(
        read_document(ack_path), [agii_key] if agii_key else [], str(ack_path), fmt=ACK_FORMAT
    )
    if ack["notification_sha256"] != document_sha256(notified):
        raise GovernanceError(f"{ack_path}: acknowledges another version of the notification.")
    body = notified["body"]
    try:
        key = _crypto.canonical_recipient(recipient_key)
    except _crypto.CryptoError:
        raise GovernanceError(
            "the recipient key is not an age recipient (age1…).", param="recipient_key"
        ) from None
    if body.get("recipient_key") and key != body["recipient_key"]:
        raise GovernanceError(
            f"the recipient key is not the key notified to AgII in {notification_id} (art. 4).",
            hint="Share only with the recipient that was notified, or notify again.",
            param="recipient_key",
        )
    fields = _check_fields(protocol, body["fields"])
    if not ws.store_path.exists():
        raise GovernanceError(f"{ws.root}: no delivery is held; ingest one first.")
    with Store(ws.store_path, protocol) as store:
        held = store.deliveries()
        if delivery_id is None:
            if not held:
                raise GovernanceError(f"{ws.root}: no delivery is held; ingest one first.")
            chosen = held[-1]
        else:
            found = [d for d in held if d.delivery_id == delivery_id]
            if not found:
                raise GovernanceError(
                    f"delivery {delivery_id} is not held in this workspace.", param="delivery_id"
                )
            chosen = found[0]
        if chosen.expires_at <= now.date():
            raise GovernanceError(
                f"delivery {chosen.delivery_id} expired on {chosen.expires_at:%d/%m/%Y}"
                " and may not be shared (art. 3 and 6).",
                hint="Run 'pijler3 purge' to destroy it.",
            )
        frame = store.dataset(chosen.delivery_id).select(list(fields))
    log = ws.audit()
    manifest = transfer.manifest(
        protocol,
        step=SHARE_STEP,
        peildatum=chosen.peildatum,
        delivery_id=chosen.delivery_id,
        now=now,
        row_count=frame.height,
        schema_hash=dataset.schema_hash(frame.schema),
        quality={},
        checkpoint=log.checkpoint(now=now),
        pseudonym_key_id=(
            chosen.manifest.get("pseudonym_key_id") if "pseudoniem" in fields else None
        ),
        extra={
            "notification_id": notification_id,
            "ack_sha256": document_sha256({"body": ack}),
            "researcher": ws.name,
            "researcher_signing_key": ws.public().signing_key,
            "recipient": body["recipient"],
            "fields": list(fields),
            "expires_at": chosen.expires_at.isoformat(),
        },
    )
    sealed = package.seal(
        out,
        dataset.to_parquet(frame, SHARE_STEP),
        manifest,
        signing_key=ws.signing_key(),
        recipients=[key],
    )
    fingerprint = _crypto.fingerprint(key)
    log.append(
        "share.sealed",
        {
            "notification_id": notification_id,
            "delivery_id": chosen.delivery_id,
            "package": out.name,
            "payload_sha256": sealed.payload_sha256,
            "rows": frame.height,
            "fields": list(fields),
            "recipients": list(sealed.recipients),
        },
        now=now,
    )
    return ShareResult(out, chosen.delivery_id, frame.height, fields, fingerprint)
