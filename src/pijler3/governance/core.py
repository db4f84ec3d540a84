"""Governance of the protocol: termination (art. 8 and 12), onward disclosure (art. 4)
and the breach register (art. 9).

Every governance decision is a small JSON document signed with the workspace's Ed25519
key (:func:`sign_document`), written atomically and recorded in the audit log, so that
it can be handed to the other party and checked there without trusting the file.

Termination (art. 8 and 12). ``terminate`` records the end of the protocol in
``WS/termination.json`` (the file :func:`pijler3.exchange.transfer.termination_notice` reads).
Written notice (art. 12) takes effect ``notice_months`` after the notice date; AgII's
termination by simple notice (art. 8) and the end by operation of law when the legal
basis disappears (art. 12) take effect on the recorded date itself. From the effective
day on every step of the chain refuses to produce or accept a package
(:func:`check_in_force`). Each party records the termination in its own workspace: the
file only binds the workspace it is in.

Onward disclosure (art. 4). Microdata leave ABB's store only through :func:`share`, and
only after (1) the researcher signed a notification for AgII (:func:`notify`), (2) AgII
verified it against the protocol's named researchers and signed an acknowledgement
(:func:`acknowledge`), and (3) the researcher recorded that acknowledgement after
checking AgII's signature (:func:`record_ack`). The share package holds only the
notified fields and is encrypted to the one recipient key given. An acknowledgement
confirms that AgII was notified beforehand, which is what art. 4 requires; it is not a
permission that replaces a protocol ABB must close with the recipient where the law
requires one. Aggregated, disclosure-controlled tables (the report) hold no microdata
and may be shared freely: they do not pass through here.

Breaches (art. 9, AVG art. 33). ``WS/breaches.json`` is the breach register, rewritten
atomically on every change. A report drafts the notification to the other party's DPO
(Dutch text) and starts the 72-hour clock for the supervisory authority: the deadline is
``discovered + 72 h``; an item is overdue strictly after that moment while the
authority was neither notified nor the reason for not notifying recorded.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pijler3.analysis import dataset
from pijler3.analysis.store import Store
from pijler3.contract import terms
from pijler3.contract.errors import ProtocolError, UserError
from pijler3.contract.protocol import Protocol
from pijler3.exchange import _crypto, audit, package, scrub, transfer
from pijler3.exchange.atomic import write_atomic
from pijler3.exchange.audit import canonical
from pijler3.exchange.workspace import Workspace

SIGNATURE_ALGORITHM = "ed25519"
TERMINATION_FORMAT = "pijler3-termination/1"
NOTIFICATION_FORMAT = "pijler3-disclosure-notification/1"
ACK_FORMAT = "pijler3-disclosure-ack/1"
REGISTER_FORMAT = "pijler3-breaches/1"
AUTHORITY_HOURS = 72  # AVG art. 33(1)
SHARE_STEP = "share"

# For ABB the other party of the protocol is AgII and vice versa; VDAB is not a party of
# the AgII-ABB protocol but processes its data for AgII, so its breaches go to AgII.
OTHER_PARTY = {"abb": "agii", "agii": "abb", "vdab": "agii"}


class GovernanceError(UserError):
    """A governance action was refused, or a governance document does not verify."""


# -- signed documents -------------------------------------------------------------------


def sign_document(body: Mapping[str, Any], signing_key: bytes) -> dict[str, Any]:
    """``{"body": …, "signature": …}``: the body signed over its canonical JSON."""
    signature = _crypto.sign(signing_key, canonical(body))
    return {
        "body": dict(body),
        "signature": {
            "algorithm": SIGNATURE_ALGORITHM,
            "key": _crypto.public_key_of(signing_key),
            "value": base64.b64encode(signature).decode("ascii"),
        },
    }


def verify_document(
    doc: Mapping[str, Any], keys: Sequence[str], what: str, *, fmt: str
) -> dict[str, Any]:
    """Return the body of a signed document, or raise :class:`GovernanceError`.

    ``keys`` are the public keys that may have signed it (from the protocol file, never
    from the document itself); the key the document names must be one of them.
    """
    body, sig = doc.get("body"), doc.get("signature")
    if not isinstance(body, dict) or not isinstance(sig, dict):
        raise GovernanceError(f"{what}: not a signed pijler3 document.")
    if body.get("format") != fmt:
        raise GovernanceError(f"{what}: not a {fmt} document.")
    key, value = sig.get("key"), sig.get("value")
    if sig.get("algorithm") != SIGNATURE_ALGORITHM or not isinstance(value, str):
        raise GovernanceError(f"{what}: the signature is malformed.")
    if not isinstance(key, str) or key not in keys:
        raise GovernanceError(
            f"{what}: signed with a key that the protocol file does not name for this party.",
            hint="Check that it comes from the right party and that its keys are registered.",
        )
    try:
        _crypto.verify(key, canonical(body), base64.b64decode(value, validate=True))
    except (binascii.Error, _crypto.CryptoError):
        raise GovernanceError(
            f"{what}: the signature does not verify (the document was changed).",
            hint="Ask the sender for the original file.",
        ) from None
    return body


def read_document(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise GovernanceError(f"{path}: file not found.") from None
    except (UnicodeDecodeError, ValueError):
        raise GovernanceError(f"{path}: not a JSON document.") from None
    if not isinstance(data, dict):
        raise GovernanceError(f"{path}: not a signed pijler3 document.")
    return data


def write_document(path: Path, doc: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_atomic(path, text.encode("utf-8"))


def document_sha256(doc: Mapping[str, Any]) -> str:
    """The SHA-256 of a signed document's canonical body: what another document cites."""
    return hashlib.sha256(canonical(doc["body"])).hexdigest()


def _iso(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("governance times must be timezone-aware")
    return moment.astimezone(dt.UTC).isoformat()


def _own_key(ws: Workspace) -> str:
    return ws.public().signing_key


# -- termination (art. 8 and 12) --------------------------------------------------------


@dataclass(frozen=True)
class Termination:
    notice_date: dt.date
    effective: dt.date
    recorded_at: str
    path: Path
    kind: terms.TerminationKind = "notice"

    @property
    def article(self) -> str:
        return terms.ARTICLE[self.kind]


def termination_path(ws: Workspace) -> Path:
    return ws.root / "termination.json"


def terminate(
    ws: Workspace,
    *,
    notice_date: dt.date,
    now: dt.datetime,
    kind: terms.TerminationKind = "notice",
) -> Termination:
    """Record the end of the protocol: written notice (art. 12, ``kind="notice"``), AgII's
    termination by simple notice (art. 8, ``"art8"``) or the end by operation of law when
    the legal basis disappears (art. 12, ``"legal-basis"``).

    The date must lie within the protocol's term and not after today. Only AgII may
    record an art. 8 termination. A workspace holds one termination: the same one again
    changes nothing, and a recorded one is replaced only by one that takes effect
    earlier (an art. 8 termination or the end of the legal basis during a notice
    period); the signed record then names the one it supersedes.
    """
    protocol = ws.protocol()
    if kind not in terms.KINDS:
        raise GovernanceError(f"unknown kind of termination {kind!r}.")
    if kind == "art8" and ws.role != "agii":
        raise GovernanceError(
            f"{ws.root}: only AgII may end the protocol by simple notice under art. 8;"
            f" this is the {ws.role} workspace.",
            hint="Record AgII's art. 8 termination in AgII's workspace. Here you can record"
            " a written notice (art. 12) or the end of the legal basis"
            " (--immediate --reason legal-basis).",
        )
    path = termination_path(ws)
    effective = terms.termination_effective(notice_date, protocol, kind)
    held = termination(ws)
    if held is not None:
        if held.notice_date == notice_date and held.kind == kind:
            return held
        if effective >= held.effective:
            raise GovernanceError(
                f"{path}: a termination with notice on {held.notice_date:%d/%m/%Y}, effective"
                f" {held.effective:%d/%m/%Y}, is recorded already ({held.article}).",
                hint="A termination cannot be replaced by one that takes effect later;"
                " it takes effect as recorded.",
            )
    if notice_date > now.date():
        raise GovernanceError(
            f"--notice-date {notice_date:%d/%m/%Y} lies after today ({now.date():%d/%m/%Y}).",
            hint=f"Record it on or after the day it was given ({terms.ARTICLE[kind]}).",
        )
    if notice_date < protocol.signed or notice_date > protocol.term_end:
        raise GovernanceError(
            f"--notice-date {notice_date:%d/%m/%Y} lies outside the protocol's term"
            f" ({protocol.signed:%d/%m/%Y} to {protocol.term_end:%d/%m/%Y}, art. 5 and 12)."
        )
    body: dict[str, Any] = {
        "format": TERMINATION_FORMAT,
        "protocol_id": protocol.id,
        "protocol_version": protocol.version,
        "kind": kind,
        "notice_date": notice_date.isoformat(),
        "notice_months": protocol.notice_months if kind == "notice" else 0,
        "effective": effective.isoformat(),
        "recorded_at": _iso(now),
        "recorded_by": {"role": ws.role, "name": ws.name},
        "article": terms.ARTICLE[kind],
    }
    if held is not None:
        body["supersedes"] = document_sha256(read_document(path))
    doc = sign_document(body, ws.signing_key())
    # transfer.termination_notice reads the top-level "notice_date"; the signed body
    # carries the same date so that the file cannot be edited unnoticed.
    doc["notice_date"] = notice_date.isoformat()
    write_document(path, doc)
    ws.audit().append(
        "protocol.terminated",
        {
            "kind": kind,
            "article": terms.ARTICLE[kind],
            "notice_date": notice_date.isoformat(),
            "effective": effective.isoformat(),
            "record_sha256": document_sha256(doc),
        },
        now=now,
    )
    return Termination(notice_date, effective, str(body["recorded_at"]), path, kind)


def termination(ws: Workspace) -> Termination | None:
    """The termination recorded in this workspace, checked against its signature."""
    path = termination_path(ws)
    if not path.exists():
        return None
    doc = read_document(path)
    body = verify_document(doc, [_own_key(ws)], str(path), fmt=TERMINATION_FORMAT)
    if doc.get("notice_date") != body["notice_date"]:
        raise GovernanceError(f"{path}: the notice date was changed after signing.")
    # Records made before art. 8 and the legal-basis end were supported carry no kind.
    kind = body.get("kind", "notice")
    if kind not in terms.KINDS:
        raise GovernanceError(f"{path}: unknown kind of termination {kind!r}.")
    return Termination(
        dt.date.fromisoformat(body["notice_date"]),
        dt.date.fromisoformat(body["effective"]),
        str(body["recorded_at"]),
        path,
        kind,
    )


def check_in_force(ws: Workspace, protocol: Protocol, on: dt.date) -> None:
    """Raise unless the protocol is in force on ``on`` in ``ws``, honouring the kind of a
    recorded termination (an art. 8 or legal-basis end takes effect at once)."""
    recorded = termination(ws)
    if recorded is None and any(
        r.get("event") == "protocol.terminated" for r in audit.events(ws.audit_path)
    ):
        # Deleting the signed record must not lift a termination the log remembers.
        raise ProtocolError(
            f"{ws.root}: the audit log records a termination of the protocol, but its signed"
            " record (termination.json) is missing (art. 12).",
            hint="Restore termination.json from a backup; until then nothing is sent or accepted.",
        )
    if recorded is None:
        terms.check_in_force(protocol, on)
    else:
        terms.check_in_force(protocol, on, notice_date=recorded.notice_date, kind=recorded.kind)


# -- DPO contacts (art. 9) --------------------------------------------------------------


def has_dpo_contact(protocol: Protocol, role: str) -> bool:
    """Whether the protocol file gives a way to reach ``role``'s DPO (e-mail or phone)."""
    party = protocol.parties[role]
    return bool(party.dpo_email.strip() or party.dpo_phone.strip())


def dpo_contact_warnings(protocol: Protocol, role: str) -> list[str]:
    """Warnings for the DPO contacts a workspace of ``role`` needs under art. 9: the
    other party's (to notify it) and its own (to sign the notification)."""
    needed = [OTHER_PARTY[role], role]
    return [
        f"the protocol file names no DPO contact for {protocol.parties[r].short}:"
        " fill it in (art. 9)"
        for r in dict.fromkeys(needed)
        if not has_dpo_contact(protocol, r)
    ]


# -- onward disclosure (art. 4) ---------------------------------------------------------


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
        raise GovernanceError("--fields: name at least one field of the protocol (art. 3).")
    unknown = [f for f in fields if f not in protocol.field_names]
    if unknown:
        raise GovernanceError(
            f"--fields: '{unknown[0]}' is not a field of the protocol (art. 3).",
            hint="Only the protocol's fields can be disclosed; see 'pijler3 protocol render'.",
        )
    if len(set(fields)) != len(fields):
        raise GovernanceError("--fields: a field is named twice.")
    # Keep the protocol's column order, so that the same notification always gives the
    # same share schema.
    return tuple(f for f in protocol.field_names if f in fields)


def _check_text(value: str, option: str) -> str:
    if not value.strip():
        raise GovernanceError(f"{option}: must not be empty.")
    found = scrub.find_identifiers(value)
    if found:
        raise GovernanceError(
            f"{option}: holds something shaped like {_article(found[0])} {found[0]}.",
            hint="Governance records never hold a person's data; describe without it.",
        )
    return value.strip()


def _article(kind: str) -> str:
    return "an" if kind in ("iban", "insz", "email") else "a"


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
    _require_role(ws, "abb", "disclosure notify")
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
            raise GovernanceError("--recipient-key: not an age recipient (age1…).") from None
    content: dict[str, Any] = {
        "format": NOTIFICATION_FORMAT,
        "protocol_id": protocol.id,
        "protocol_version": protocol.version,
        "created": _iso(now),
        "researcher": {"name": ws.name, "signing_key": ws.public().signing_key},
        "recipient": _check_text(recipient, "--recipient"),
        "recipient_key": recipient_key,
        "purpose": _check_text(purpose, "--purpose"),
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
    _require_role(ws, "agii", "disclosure acknowledge")
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
        "acknowledged_at": _iso(now),
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
    _require_role(ws, "abb", "disclosure record-ack")
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
    verify_document(doc, [_own_key(ws)], str(path), fmt=NOTIFICATION_FORMAT)
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
    _require_role(ws, "abb", "share")
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
        raise GovernanceError("--recipient-key: not an age recipient (age1…).") from None
    if body.get("recipient_key") and key != body["recipient_key"]:
        raise GovernanceError(
            f"--recipient-key is not the key notified to AgII in {notification_id} (art. 4).",
            hint="Share only with the recipient that was notified, or notify again.",
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
                raise GovernanceError(f"--delivery {delivery_id}: not held in this workspace.")
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


def _require_role(ws: Workspace, role: str, command: str) -> None:
    if ws.role != role:
        raise GovernanceError(
            f"{ws.root}: '{command}' is done in the {role} workspace, this is the {ws.role} one."
        )


# -- breaches (art. 9) ------------------------------------------------------------------

BreachTarget = Literal["authority", "party"]


@dataclass(frozen=True)
class Breach:
    id: str
    discovered: dt.datetime
    reported_at: dt.datetime
    description: str
    affects_other_party: bool
    other_party: str
    authority_deadline: dt.datetime
    authority_notified_at: dt.datetime | None = None
    party_notified_at: dt.datetime | None = None
    authority_not_required: str | None = None
    closed_at: dt.datetime | None = None
    resolution: str | None = None
    draft: str | None = None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def overdue(self, now: dt.datetime) -> bool:
        """Past the 72 hours of AVG art. 33 without notifying the authority.

        At exactly ``discovered + 72 h`` the notification is still in time.
        """
        settled = self.authority_notified_at is not None or self.authority_not_required
        return not settled and now > self.authority_deadline

    def to_dict(self) -> dict[str, Any]:
        def iso(v: dt.datetime | None) -> str | None:
            return _iso(v) if v is not None else None

        return {
            "id": self.id,
            "discovered": iso(self.discovered),
            "reported_at": iso(self.reported_at),
            "description": self.description,
            "affects_other_party": self.affects_other_party,
            "other_party": self.other_party,
            "authority_deadline": iso(self.authority_deadline),
            "authority_notified_at": iso(self.authority_notified_at),
            "party_notified_at": iso(self.party_notified_at),
            "authority_not_required": self.authority_not_required,
            "closed_at": iso(self.closed_at),
            "resolution": self.resolution,
            "draft": self.draft,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Breach:
        def when(key: str) -> dt.datetime | None:
            v = d.get(key)
            return dt.datetime.fromisoformat(v) if v else None

        discovered, reported, deadline = (
            when("discovered"),
            when("reported_at"),
            when("authority_deadline"),
        )
        assert discovered and reported and deadline
        return cls(
            id=str(d["id"]),
            discovered=discovered,
            reported_at=reported,
            description=str(d["description"]),
            affects_other_party=bool(d["affects_other_party"]),
            other_party=str(d["other_party"]),
            authority_deadline=deadline,
            authority_notified_at=when("authority_notified_at"),
            party_notified_at=when("party_notified_at"),
            authority_not_required=d.get("authority_not_required"),
            closed_at=when("closed_at"),
            resolution=d.get("resolution"),
            draft=d.get("draft"),
        )


def authority_deadline(discovered: dt.datetime) -> dt.datetime:
    """The moment the supervisory authority must have been notified (AVG art. 33)."""
    return discovered + dt.timedelta(hours=AUTHORITY_HOURS)


def register_path(ws: Workspace) -> Path:
    return ws.root / "breaches.json"


def breaches(ws: Workspace) -> list[Breach]:
    path = register_path(ws)
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text("utf-8"))
    except ValueError:
        raise GovernanceError(f"{path}: the breach register is not valid JSON.") from None
    if not isinstance(data, dict) or data.get("format") != REGISTER_FORMAT:
        raise GovernanceError(f"{path}: not a {REGISTER_FORMAT} register.")
    return [Breach.from_dict(b) for b in data["breaches"]]


def _save(ws: Workspace, items: Sequence[Breach]) -> None:
    data = {"format": REGISTER_FORMAT, "breaches": [b.to_dict() for b in items]}
    write_document(register_path(ws), data)


def _fmt(moment: dt.datetime) -> str:
    return f"{moment.astimezone(dt.UTC):%d/%m/%Y %H:%M} UTC"


MISSING_CONTACT = "[NIET INGEVULD: niet vermeld in het protocolbestand]"


def draft_notification(breach: Breach, protocol: Protocol, reporter: Workspace) -> str:
    """The Dutch notification of a breach to the other party's DPO (art. 9).

    The signed protocol names only ABB's DPO, so a party's DPO contact may be empty in
    the protocol file. The draft then says so at the top and marks the empty lines, so
    that nobody sends it before the contact is filled in.
    """
    me = protocol.parties[reporter.role]
    other = protocol.parties[breach.other_party]
    impact = (
        "Volgens onze eerste inschatting heeft het lek impact op beide partijen."
        if breach.affects_other_party
        else "Volgens onze eerste inschatting heeft het lek geen impact op uw organisatie;"
        " wij melden het u ter informatie."
    )
    warnings = []
    if not has_dpo_contact(protocol, breach.other_party):
        warnings.append(
            f"LET OP: het protocolbestand vermeldt geen contactgegevens van de functionaris"
            f" voor gegevensbescherming van {other.short} (het ondertekende protocol noemt"
            f" ze niet). Vul naam en e-mailadres van de functionaris van {other.short} in"
            " vóór u deze melding verstuurt (artikel 9)."
        )
    if not has_dpo_contact(protocol, reporter.role):
        warnings.append(
            f"LET OP: het protocolbestand vermeldt geen contactgegevens van de functionaris"
            f" voor gegevensbescherming van {me.short} (afzender). Vul ze in vóór u deze"
            " melding verstuurt (artikel 9)."
        )
    header = "".join(f"{w}\n\n" for w in warnings)
    to_name = other.dpo_name or MISSING_CONTACT
    to_contact = ", ".join(
        x for x in (other.dpo_email, f"telefoon {other.dpo_phone}" if other.dpo_phone else "") if x
    )
    me_email = f" <{me.dpo_email}>" if me.dpo_email else ""
    return (
        header + f"Aan: {to_name} (functionaris voor gegevensbescherming {other.short})\n"
        f"E-mail: {to_contact or MISSING_CONTACT}\n"
        f"Van: {me.name} ({me.short}), functionaris voor gegevensbescherming:"
        f" {me.dpo_name or MISSING_CONTACT}{me_email}\n"
        f"Betreft: melding van een gegevenslek {breach.id} (artikel 9 van het protocol"
        f" {protocol.identifier})\n\n"
        "Geachte functionaris voor gegevensbescherming,\n\n"
        "Overeenkomstig artikel 9 van het protocol en in het licht van artikel 33 van de"
        " algemene verordening gegevensbescherming melden wij u het volgende gegevenslek"
        " betreffende de meegedeelde gegevens.\n\n"
        f"- Kenmerk: {breach.id}\n"
        f"- Vastgesteld op: {_fmt(breach.discovered)}\n"
        f"- Geregistreerd op: {_fmt(breach.reported_at)}\n"
        f"- Beschrijving: {breach.description}\n"
        f"- Uiterste datum melding aan de toezichthoudende autoriteit (72 uur):"
        f" {_fmt(breach.authority_deadline)}\n\n"
        f"{impact}\n\n"
        "Wij stellen voor onmiddellijk gezamenlijk te overleggen over de maatregelen om de"
        " gevolgen van het lek te beperken en te herstellen, en bezorgen u alle verdere"
        " informatie zodra die beschikbaar is.\n\n"
        "Met vriendelijke groeten,\n\n"
        f"{me.name}\n"
    )


def report_breach(
    ws: Workspace,
    *,
    discovered: dt.datetime,
    description: str,
    affects_other_party: bool,
    now: dt.datetime,
) -> Breach:
    """Record a breach, draft the notification to the other party's DPO, start the clock."""
    protocol = ws.protocol()
    if discovered > now:
        raise GovernanceError(f"--discovered {_fmt(discovered)} lies after now ({_fmt(now)}).")
    items = breaches(ws)
    bid = f"B-{now:%Y%m%d}-{len(items) + 1:03d}"
    folder = ws.root / "breaches"
    draft_name = f"{bid}-melding-{OTHER_PARTY[ws.role]}.txt"
    breach = Breach(
        id=bid,
        discovered=discovered.astimezone(dt.UTC),
        reported_at=now.astimezone(dt.UTC),
        description=_check_text(description, "--description"),
        affects_other_party=affects_other_party,
        other_party=OTHER_PARTY[ws.role],
        authority_deadline=authority_deadline(discovered.astimezone(dt.UTC)),
        draft=f"breaches/{draft_name}",
    )
    folder.mkdir(exist_ok=True)
    write_atomic(folder / draft_name, draft_notification(breach, protocol, ws).encode("utf-8"))
    _save(ws, [*items, breach])
    ws.audit().append(
        "breach.reported",
        {
            "breach_id": bid,
            "discovered": _iso(discovered),
            "authority_deadline": _iso(breach.authority_deadline),
            "affects_other_party": affects_other_party,
            "other_party": breach.other_party,
        },
        now=now,
    )
    return breach


def _update(ws: Workspace, bid: str, now: dt.datetime, event: str, **changes: Any) -> Breach:
    items = breaches(ws)
    found = [b for b in items if b.id == bid]
    if not found:
        raise GovernanceError(f"no breach {bid} in {register_path(ws)}.")
    old = found[0]
    if not old.is_open:
        raise GovernanceError(f"breach {bid} was closed on {_fmt(old.closed_at or now)}.")
    data = old.to_dict()
    data.update({k: (_iso(v) if isinstance(v, dt.datetime) else v) for k, v in changes.items()})
    new = Breach.from_dict(data)
    _save(ws, [new if b.id == bid else b for b in items])
    details = {k: (_iso(v) if isinstance(v, dt.datetime) else v) for k, v in changes.items()}
    details.pop("resolution", None)
    details.pop("authority_not_required", None)
    ws.audit().append(event, {"breach_id": bid, **details}, now=now)
    return new


def record_notification(
    ws: Workspace, bid: str, *, target: BreachTarget, at: dt.datetime, now: dt.datetime
) -> Breach:
    """Record that the supervisory authority or the other party's DPO was notified."""
    if at > now:
        raise GovernanceError(f"--at {_fmt(at)} lies after now ({_fmt(now)}).")
    key = "authority_notified_at" if target == "authority" else "party_notified_at"
    return _update(ws, bid, now, f"breach.{target}_notified", **{key: at})


def close_breach(
    ws: Workspace,
    bid: str,
    *,
    resolution: str,
    now: dt.datetime,
    authority_not_required: str | None = None,
) -> Breach:
    """Close a breach. The authority must have been notified, or the reason why that was
    not required (AVG art. 33(1): unlikely to result in a risk) must be recorded."""
    current = [b for b in breaches(ws) if b.id == bid]
    if current and current[0].authority_notified_at is None and not authority_not_required:
        raise GovernanceError(
            f"breach {bid}: the supervisory authority was not notified (AVG art. 33).",
            hint="Record the notification first, or give --no-notification-reason"
            " (AVG art. 33(5) asks to document it).",
        )
    changes: dict[str, Any] = {
        "closed_at": now,
        "resolution": _check_text(resolution, "--resolution"),
    }
    if authority_not_required:
        changes["authority_not_required"] = _check_text(
            authority_not_required, "--no-notification-reason"
        )
    return _update(ws, bid, now, "breach.closed", **changes)
