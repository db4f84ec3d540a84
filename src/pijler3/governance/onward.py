"""Onward disclosure of microdata (art. 4): one notification, one communication.

Microdata leave ABB's store only through :func:`share`, and only after (1) the
researcher signed a notification for AgII (:func:`notify`), (2) AgII verified it against
the protocol's named researchers and signed an acknowledgement (:func:`acknowledge`),
and (3) the researcher recorded that acknowledgement after checking AgII's signature
(:func:`record_ack`).

A notification names the whole communication: the recipient (organisation and age key),
the fields, the deliveries (by delivery id or peildatum), the purpose and, where the law
requires one, the protocol ABB closed with the recipient. AgII's acknowledgement signs
the notification's hash, so it covers exactly that. :func:`share` uses an acknowledged
notification once: a second share, another delivery, another key or another field needs
a new notification. Each share writes a signed share record for AgII (what left, to
whom, when, how many rows, which fields, under which notification), which AgII checks
and records in its audit log (:mod:`pijler3.governance.share_records`).

An acknowledgement confirms that AgII was notified beforehand, which is what art. 4
requires; it is not a permission that replaces a protocol ABB must close with the
recipient where the law requires one. Aggregated, disclosure-controlled tables (the
report) hold no microdata and may be shared freely: they do not pass through here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from pijler3.analysis import dataset
from pijler3.analysis.store import Delivery, Store
from pijler3.contract.errors import GovernanceError
from pijler3.contract.protocol import Protocol
from pijler3.exchange import _crypto, audit, package, transfer
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

# Version 2: the notification names the recipient's key, the deliveries and the protocol
# with the recipient; a version-1 notification (no deliveries, key optional) is refused.
NOTIFICATION_FORMAT = "pijler3-disclosure-notification/2"
ACK_FORMAT = "pijler3-disclosure-ack/2"
SHARE_RECORD_FORMAT = "pijler3-share-record/1"
SHARE_STEP = "share"
SHARED = "share.sealed"

_DELIVERY_ID = re.compile(r"\d{8}-[0-9a-f]{8}")


@dataclass(frozen=True)
class Notification:
    id: str
    created: str
    researcher: str
    recipient: str
    recipient_key: str
    purpose: str
    fields: tuple[str, ...]
    deliveries: tuple[str, ...]  # delivery ids and peildatums (YYYY-MM-DD), as notified
    recipient_protocol: str | None
    path: Path
    acknowledged: bool = False

    @classmethod
    def from_body(cls, body: Mapping[str, Any], path: Path, acknowledged: bool) -> Notification:
        return cls(
            id=str(body["id"]),
            created=str(body["created"]),
            researcher=str(body["researcher"]["name"]),
            recipient=str(body["recipient"]),
            recipient_key=str(body["recipient_key"]),
            purpose=str(body["purpose"]),
            fields=tuple(body["fields"]),
            deliveries=tuple(body["deliveries"]),
            recipient_protocol=body.get("recipient_protocol"),
            path=path,
            acknowledged=acknowledged,
        )


def disclosures_dir(ws: Workspace) -> Path:
    return ws.root / "disclosures"


def notification_path(ws: Workspace, nid: str) -> Path:
    return disclosures_dir(ws) / f"{nid}.notification.json"


def ack_path(ws: Workspace, nid: str) -> Path:
    return disclosures_dir(ws) / f"{nid}.ack.json"


def share_record_path(ws: Workspace, nid: str) -> Path:
    return disclosures_dir(ws) / f"{nid}.share.json"


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


def _check_key(recipient_key: str | None) -> str:
    if recipient_key is None or not recipient_key.strip():
        raise GovernanceError(
            "a notification names the recipient's age key (age1…), so that AgII knows"
            " exactly to whom the data would go (art. 4).",
            hint="Ask the recipient for its age public key.",
            param="recipient_key",
        )
    try:
        return _crypto.canonical_recipient(recipient_key.strip())
    except _crypto.CryptoError:
        raise GovernanceError(
            "the recipient key is not an age recipient (age1…).", param="recipient_key"
        ) from None


def _check_selectors(selectors: Sequence[str]) -> tuple[str, ...]:
    """Delivery ids and peildatums, normalised; refused when empty or malformed."""
    out: list[str] = []
    for raw in selectors:
        s = raw.strip()
        if _DELIVERY_ID.fullmatch(s):
            out.append(s)
            continue
        try:
            out.append(dt.date.fromisoformat(s).isoformat())
        except ValueError:
            raise GovernanceError(
                f"'{s}' is neither a delivery id (YYYYMMDD-hex) nor a peildatum (YYYY-MM-DD).",
                param="deliveries",
            ) from None
    if not out:
        raise GovernanceError(
            "name the deliveries to disclose, by delivery id or peildatum (art. 4).",
            param="deliveries",
        )
    if len(set(out)) != len(out):
        raise GovernanceError("a delivery is named twice.", param="deliveries")
    return tuple(out)


def _resolve(held: Sequence[Delivery], selectors: Sequence[str], today: dt.date) -> list[Delivery]:
    """The held, unexpired deliveries that ``selectors`` name, in store order."""
    chosen: list[Delivery] = []
    for s in selectors:
        found = [d for d in held if s in (d.delivery_id, d.peildatum.isoformat())]
        if not found:
            raise GovernanceError(
                f"no delivery {s} is held in this workspace.",
                hint="See 'pijler3 status' for the deliveries held.",
                param="deliveries",
            )
        for d in found:
            if d.expires_at <= today:
                raise GovernanceError(
                    f"delivery {d.delivery_id} expired on {d.expires_at:%d/%m/%Y}"
                    " and may not be shared (art. 3 and 6).",
                    hint="Run 'pijler3 purge' to destroy it.",
                )
            if d not in chosen:
                chosen.append(d)
    return [d for d in held if d in chosen]


def _held(ws: Workspace, protocol: Protocol) -> list[Delivery]:
    if not ws.store_path.exists():
        raise GovernanceError(f"{ws.root}: no delivery is held; ingest one first.")
    with Store(ws.store_path, protocol) as store:
        return store.deliveries()


def _researcher_keys(protocol: Protocol) -> list[str]:
    return [r.signing_key for r in protocol.recipients]


def notify(
    ws: Workspace,
    *,
    recipient: str,
    recipient_key: str | None,
    purpose: str,
    fields: Sequence[str],
    deliveries: Sequence[str],
    now: dt.datetime,
    recipient_protocol: str | None = None,
) -> Notification:
    """ABB: sign a notification to AgII of one intended onward communication (art. 4).

    ``deliveries`` are delivery ids or peildatums (YYYY-MM-DD) of deliveries held here;
    ``recipient_protocol`` names the protocol ABB closed with the recipient, where the
    law requires one (a reference, free text).
    """
    require_role(ws, "abb", "disclosure notify")
    protocol = ws.protocol()
    check_in_force(ws, protocol, now.date())
    if ws.public().signing_key not in _researcher_keys(protocol):
        raise GovernanceError(
            f"{ws.root}: this researcher's key is not registered in the protocol file (art. 4).",
            hint="Register it with 'pijler3 protocol add-keys' and install the protocol file.",
        )
    key = _check_key(recipient_key)
    selectors = _check_selectors(deliveries)
    # Every delivery named must be held and unexpired now: a notification of data that
    # cannot be shared would only be used up later by a refusal.
    _resolve(_held(ws, protocol), selectors, now.date())
    content: dict[str, Any] = {
        "format": NOTIFICATION_FORMAT,
        "protocol_id": protocol.id,
        "protocol_version": protocol.version,
        "created": iso_utc(now),
        "researcher": {"name": ws.name, "signing_key": ws.public().signing_key},
        "recipient": check_text(recipient, "recipient", "the recipient"),
        "recipient_key": key,
        "purpose": check_text(purpose, "purpose", "the purpose"),
        "fields": list(_check_fields(protocol, fields)),
        "deliveries": list(selectors),
        "recipient_protocol": (
            check_text(recipient_protocol, "recipient_protocol", "the protocol with the recipient")
            if recipient_protocol is not None
            else None
        ),
        "article": "art. 4",
        # Two notifications of the same share made in the same second are two
        # notifications, each good for one share: without it they had one id and file.
        "nonce": secrets.token_hex(8),
    }
    # The id is derived from the content, so that anyone can check it against the body.
    content["id"] = f"N-{now:%Y%m%d}-{hashlib.sha256(canonical(content)).hexdigest()[:8]}"
    doc = sign_document(content, ws.signing_key())
    path = notification_path(ws, content["id"])
    write_document(path, doc)
    ws.audit().append(
        "disclosure.notified",
        {
            "notification_id": content["id"],
            "fields": content["fields"],
            "deliveries": content["deliveries"],
            "recipient_key": _crypto.fingerprint(key),
            "document_sha256": document_sha256(doc),
        },
        now=now,
    )
    return Notification.from_body(content, path, acknowledged=False)


def acknowledge(ws: Workspace, notification: Path, *, now: dt.datetime) -> Path:
    """AgII: verify a researcher's notification and write a signed acknowledgement.

    The acknowledgement signs the notification's hash and repeats what it names, so it
    covers exactly that communication. Returns its path, to be sent back to the researcher.
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
    _check_key(body.get("recipient_key"))
    _check_selectors(body.get("deliveries") or [])
    nid = str(body["id"])
    write_document(notification_path(ws, nid), doc)
    ack_body = {
        "format": ACK_FORMAT,
        "protocol_id": protocol.id,
        "notification_id": nid,
        "notification_sha256": document_sha256(doc),
        "researcher": body["researcher"]["name"],
        "recipient": body["recipient"],
        "recipient_key": body["recipient_key"],
        "fields": body["fields"],
        "deliveries": body["deliveries"],
        "purpose": body["purpose"],
        "recipient_protocol": body.get("recipient_protocol"),
        "acknowledged_at": iso_utc(now),
        "acknowledged_by": protocol.parties["agii"].short,
        "uses": 1,
        "article": "art. 4",
    }
    ack = sign_document(ack_body, ws.signing_key())
    path = ack_path(ws, nid)
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
    held = load_notification(ws, nid)
    if body["notification_sha256"] != document_sha256(held):
        raise GovernanceError(
            f"{ack}: acknowledges another version of notification {nid} than the one held here."
        )
    write_document(ack_path(ws, nid), doc)
    ws.audit().append(
        "disclosure.ack_recorded",
        {"notification_id": nid, "ack_sha256": document_sha256(doc)},
        now=now,
    )
    return Notification.from_body(held["body"], notification_path(ws, nid), acknowledged=True)


def load_notification(ws: Workspace, nid: str) -> dict[str, Any]:
    """The signed notification ``nid`` held here, checked against this workspace's key."""
    path = notification_path(ws, nid)
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
        if body.get("format") != NOTIFICATION_FORMAT:
            continue  # an older notification: it can no longer be used for a share
        nid = str(body.get("id", path.name.split(".")[0]))
        out.append(Notification.from_body(body, path, ack_path(ws, nid).exists()))
    return out


@dataclass(frozen=True)
class ShareResult:
    package: Path
    record: Path  # the signed share record, for AgII
    delivery_ids: tuple[str, ...]
    rows: int
    fields: tuple[str, ...]
    recipient_fingerprint: str


def _already_shared(ws: Workspace, nid: str) -> bool:
    """Whether a share under ``nid`` was made: by its record, or by the audit log (a
    deleted record does not give the notification a second use)."""
    if share_record_path(ws, nid).exists():
        return True
    return any(
        r.get("event") == SHARED and r.get("details", {}).get("notification_id") == nid
        for r in audit.events(ws.audit_path)
    )


def _acknowledged(ws: Workspace, protocol: Protocol, nid: str) -> tuple[dict[str, Any], str]:
    """The notification's body and the sha256 of AgII's acknowledgement of it."""
    try:
        notified = load_notification(ws, nid)
    except GovernanceError as exc:
        raise GovernanceError(
            f"microdata may leave ABB only after a notification to AgII (art. 4): {exc.message}",
            hint=exc.hint,
        ) from None
    path = ack_path(ws, nid)
    if not path.exists():
        raise GovernanceError(
            f"notification {nid} has no recorded acknowledgement from AgII;"
            " microdata may leave ABB only after AgII was notified (art. 4).",
            hint="Send the notification to AgII and record its answer with"
            " 'pijler3 disclosure record-ack'.",
        )
    agii_key = protocol.parties["agii"].signing_key
    ack = verify_document(
        read_document(path), [agii_key] if agii_key else [], str(path), fmt=ACK_FORMAT
    )
    if ack["notification_sha256"] != document_sha256(notified):
        raise GovernanceError(f"{path}: acknowledges another version of the notification.")
    return notified["body"], document_sha256({"body": ack})


def share(
    ws: Workspace,
    *,
    notification_id: str,
    recipient_key: str,
    out: Path,
    now: dt.datetime,
    deliveries: Sequence[str] | None = None,
    fields: Sequence[str] | None = None,
) -> ShareResult:
    """ABB: the one communication an acknowledged notification covers (art. 4).

    Seals the notified fields of the notified deliveries for the notified key, in one
    package, and writes a signed share record for AgII. ``deliveries`` and ``fields``
    default to everything the notification names; naming anything it does not name is
    refused, and so is a second share under the same notification. Also refused unless
    AgII's signed acknowledgement is recorded, the protocol is in force, and every
    delivery is held and not expired.

    The package's manifest carries the delivery that expires first, so that ABB's purge
    removes the package with it; ``extra["deliveries"]`` lists them all.
    """
    require_role(ws, "abb", "share")
    protocol = ws.protocol()
    check_in_force(ws, protocol, now.date())
    body, ack_sha256 = _acknowledged(ws, protocol, notification_id)
    if _already_shared(ws, notification_id):
        raise GovernanceError(
            f"notification {notification_id} was used for a share already; one notification"
            " covers one communication (art. 4).",
            hint="Notify AgII again with 'pijler3 disclosure notify' for another share. A share"
            " that was interrupted before its package was written counts as used too: notify"
            " again for it.",
        )
    key = _check_key(recipient_key)
    if key != body["recipient_key"]:
        raise GovernanceError(
            f"the recipient key is not the key notified to AgII in {notification_id} (art. 4).",
            hint="Share only with the recipient that was notified, or notify again.",
            param="recipient_key",
        )
    notified_fields = _check_fields(protocol, body["fields"])
    chosen_fields = notified_fields
    if fields is not None:
        chosen_fields = _check_fields(protocol, fields)
        extra_fields = [f for f in chosen_fields if f not in notified_fields]
        if extra_fields:
            raise GovernanceError(
                f"field '{extra_fields[0]}' is not named in notification {notification_id}"
                " (art. 4).",
                hint="Notify AgII of every field that is to leave.",
                param="fields",
            )
    held = _held(ws, protocol)
    notified = _resolve(held, body["deliveries"], now.date())
    chosen = notified
    if deliveries is not None:
        chosen = _resolve(held, _check_selectors(deliveries), now.date())
        others = [d for d in chosen if d not in notified]
        if others:
            raise GovernanceError(
                f"delivery {others[0].delivery_id} is not named in notification"
                f" {notification_id} (art. 4).",
                hint="Notify AgII of every delivery that is to leave.",
                param="deliveries",
            )
    with Store(ws.store_path, protocol) as store:
        parts = [store.dataset(d.delivery_id).select(list(chosen_fields)) for d in chosen]
    frame = pl.concat(parts, how="vertical")
    first = min(chosen, key=lambda d: (d.expires_at, d.peildatum))
    fingerprint = _crypto.fingerprint(key)
    listed = [
        {"delivery_id": d.delivery_id, "peildatum": d.peildatum.isoformat(), "rows": p.height}
        for d, p in zip(chosen, parts, strict=True)
    ]
    log = ws.audit()
    manifest = transfer.manifest(
        protocol,
        step=SHARE_STEP,
        peildatum=first.peildatum,
        delivery_id=first.delivery_id,
        now=now,
        row_count=frame.height,
        schema_hash=dataset.schema_hash(frame.schema),
        quality={},
        checkpoint=log.checkpoint(now=now),
        pseudonym_key_id=(
            first.manifest.get("pseudonym_key_id") if "pseudoniem" in chosen_fields else None
        ),
        extra={
            "notification_id": notification_id,
            "ack_sha256": ack_sha256,
            "researcher": ws.name,
            "researcher_signing_key": ws.public().signing_key,
            "recipient": body["recipient"],
            "fields": list(chosen_fields),
            "deliveries": listed,
            "expires_at": first.expires_at.isoformat(),
        },
    )
    path = share_record_path(ws, notification_id)

    def record(sealed: package.Manifest) -> None:
        """The audit record, then the signed share record for AgII: both before the
        package is in place, so that a crash never leaves a share without its record. A
        crash may leave a record without its package; the notification then counts as
        used, which errs on the side of art. 4. The log comes first because it is what
        may refuse (a clock behind its last record), and it alone already uses the
        notification (:func:`_already_shared`)."""
        record_body = {
            "format": SHARE_RECORD_FORMAT,
            "protocol_id": protocol.id,
            "notification_id": notification_id,
            "notification_sha256": document_sha256(load_notification(ws, notification_id)),
            "ack_sha256": ack_sha256,
            "researcher": {"name": ws.name, "signing_key": ws.public().signing_key},
            "recipient": body["recipient"],
            "recipient_key": key,
            "recipient_fingerprint": fingerprint,
            "shared_at": iso_utc(now),
            "fields": list(chosen_fields),
            "deliveries": listed,
            "rows": frame.height,
            "package": out.name,
            "payload_sha256": sealed.payload_sha256,
            "article": "art. 4",
        }
        signed = sign_document(record_body, ws.signing_key())
        log.append(
            SHARED,
            {
                "notification_id": notification_id,
                "delivery_id": first.delivery_id,
                "deliveries": [d.delivery_id for d in chosen],
                "package": out.name,
                "payload_sha256": sealed.payload_sha256,
                "rows": frame.height,
                "fields": list(chosen_fields),
                "recipients": list(sealed.recipients),
                "share_record_sha256": document_sha256(signed),
            },
            now=now,
        )
        write_document(path, signed)

    package.seal(
        out,
        dataset.to_parquet(frame, SHARE_STEP),
        manifest,
        signing_key=ws.signing_key(),
        recipients=[key],
        record=record,
    )
    return ShareResult(
        out, path, tuple(d.delivery_id for d in chosen), frame.height, chosen_fields, fingerprint
    )
