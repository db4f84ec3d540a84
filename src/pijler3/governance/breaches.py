"""Breaches (art. 9, AVG art. 33) and the DPO contacts they need.

``WS/breaches.json`` is the breach register, rewritten atomically on every change. A
report drafts the notification to the other party's DPO (Dutch text) and starts the
72-hour clock for the supervisory authority: the deadline is ``discovered + 72 h``; an
item is overdue strictly after that moment while the authority was neither notified nor
the reason for not notifying recorded.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pijler3.contract import words
from pijler3.contract.errors import GovernanceError
from pijler3.contract.fmt import fmt_moment
from pijler3.contract.protocol import Protocol
from pijler3.exchange.atomic import write_atomic
from pijler3.exchange.documents import (
    iso_utc,
    write_document,
)
from pijler3.exchange.workspace import Workspace
from pijler3.governance import letters
from pijler3.governance.common import check_text

REGISTER_FORMAT = "pijler3-breaches/1"
AUTHORITY_HOURS = 72  # AVG art. 33(1)

# For ABB the other party of the protocol is AgII and vice versa; VDAB is not a party of
# the AgII-ABB protocol but processes its data for AgII, so its breaches go to AgII.
OTHER_PARTY = {"abb": "agii", "agii": "abb", "vdab": "agii"}


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
            return iso_utc(v) if v is not None else None

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


_fmt = fmt_moment


MISSING_CONTACT = words.word("breach", "missing_contact")


def draft_notification(breach: Breach, protocol: Protocol, reporter: Workspace) -> str:
    """The Dutch notification of a breach to the other party's DPO (art. 9), from
    ``letters/breach-notification``.

    The signed protocol names only ABB's DPO, so a party's DPO contact may be empty in
    the protocol file. The draft then says so at the top and marks the empty lines, so
    that nobody sends it before the contact is filled in.
    """
    return letters.render(
        letters.BREACH_NOTIFICATION,
        protocol=protocol,
        breach=breach,
        me=protocol.parties[reporter.role],
        other=protocol.parties[breach.other_party],
        me_has_contact=has_dpo_contact(protocol, reporter.role),
        other_has_contact=has_dpo_contact(protocol, breach.other_party),
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
        raise GovernanceError(
            f"the moment of discovery {_fmt(discovered)} lies after now ({_fmt(now)}).",
            param="discovered",
        )
    items = breaches(ws)
    bid = f"B-{now:%Y%m%d}-{len(items) + 1:03d}"
    folder = ws.root / "breaches"
    draft_name = f"{bid}-melding-{OTHER_PARTY[ws.role]}.txt"
    breach = Breach(
        id=bid,
        discovered=discovered.astimezone(dt.UTC),
        reported_at=now.astimezone(dt.UTC),
        description=check_text(description, "description", "the description"),
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
            "discovered": iso_utc(discovered),
            "authority_deadline": iso_utc(breach.authority_deadline),
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
    data.update({k: (iso_utc(v) if isinstance(v, dt.datetime) else v) for k, v in changes.items()})
    new = Breach.from_dict(data)
    _save(ws, [new if b.id == bid else b for b in items])
    details = {k: (iso_utc(v) if isinstance(v, dt.datetime) else v) for k, v in changes.items()}
    details.pop("resolution", None)
    details.pop("authority_not_required", None)
    ws.audit().append(event, {"breach_id": bid, **details}, now=now)
    return new


def record_notification(
    ws: Workspace, bid: str, *, target: BreachTarget, at: dt.datetime, now: dt.datetime
) -> Breach:
    """Record that the supervisory authority or the other party's DPO was notified."""
    if at > now:
        raise GovernanceError(
            f"the moment of notification {_fmt(at)} lies after now ({_fmt(now)}).", param="at"
        )
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
            hint="Record the notification first, or record why notifying was not required"
            " (AVG art. 33(5) asks to document it).",
        )
    changes: dict[str, Any] = {
        "closed_at": now,
        "resolution": check_text(resolution, "resolution", "the resolution"),
    }
    if authority_not_required:
        changes["authority_not_required"] = check_text(
            authority_not_required,
            "authority_not_required",
            "the reason the authority was not notified",
        )
    return _update(ws, bid, now, "breach.closed", **changes)
