"""The state of a workspace under its protocol, at a moment: what a DPO asks first.

Whether the protocol is in force (and until when, termination included), which
deliveries are held and when each expires, open and overdue breaches, the notifications
of onward disclosure with their acknowledgements and shares side by side, whether the
audit log verifies, and warnings (a DPO contact that art. 9 needs and the protocol file
does not give). Reading only: the status never writes to the workspace (it does not
even create the store).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pijler3.analysis.store import Store
from pijler3.contract.errors import UserError
from pijler3.exchange import audit
from pijler3.exchange.workspace import Workspace
from pijler3.governance import breaches, copies, onward, retention, share_records, termination
from pijler3.governance.breaches import Breach


@dataclass(frozen=True)
class HeldDelivery:
    delivery_id: str
    peildatum: dt.date
    rows: int
    expires_at: dt.date
    expired: bool


@dataclass(frozen=True)
class Status:
    now: dt.datetime
    role: str
    name: str
    protocol: str
    signed: dt.date
    term_end: dt.date
    in_force: bool
    in_force_problem: str | None
    last_day: dt.date  # the last day packages may be produced or accepted
    termination: termination.Termination | None
    termination_problem: str | None
    deliveries: tuple[HeldDelivery, ...]
    # ABB: the reports the analysis store recorded for disclosure control across reports.
    reports_recorded: int
    breaches: tuple[Breach, ...]
    pending_notifications: tuple[onward.Notification, ...]
    disclosures: tuple[share_records.Disclosure, ...]
    copies: tuple[copies.HeldCopy, ...]  # AgII and VDAB: the copies of deliveries held
    audit_ok: bool
    audit_records: int
    audit_problem: str | None
    problems: tuple[str, ...] = field(default=())
    # Things to fix that do not stop the chain, such as a missing DPO contact.
    warnings: tuple[str, ...] = field(default=())

    @property
    def open_breaches(self) -> tuple[Breach, ...]:
        return tuple(b for b in self.breaches if b.is_open)

    @property
    def overdue_breaches(self) -> tuple[Breach, ...]:
        return tuple(b for b in self.open_breaches if b.overdue(self.now))

    def to_dict(self) -> dict[str, Any]:
        t = self.termination
        return {
            "now": self.now.astimezone(dt.UTC).isoformat(),
            "workspace": {"role": self.role, "name": self.name},
            "protocol": {
                "id": self.protocol,
                "signed": self.signed.isoformat(),
                "term_end": self.term_end.isoformat(),
                "in_force": self.in_force,
                "problem": self.in_force_problem,
                "last_day": self.last_day.isoformat(),
                "termination": None
                if t is None
                else {
                    "kind": t.kind,
                    "article": t.article,
                    "notice_date": t.notice_date.isoformat(),
                    "effective": t.effective.isoformat(),
                },
                "termination_problem": self.termination_problem,
            },
            "deliveries": [
                {
                    "delivery_id": d.delivery_id,
                    "peildatum": d.peildatum.isoformat(),
                    "rows": d.rows,
                    "expires_at": d.expires_at.isoformat(),
                    "expired": d.expired,
                }
                for d in self.deliveries
            ],
            "reports_recorded": self.reports_recorded,
            "breaches": [
                {
                    "id": b.id,
                    "open": b.is_open,
                    "overdue": b.is_open and b.overdue(self.now),
                    "authority_deadline": b.authority_deadline.isoformat(),
                }
                for b in self.breaches
            ],
            "pending_notifications": [n.id for n in self.pending_notifications],
            "disclosures": [_disclosure_dict(d) for d in self.disclosures],
            "copies": [
                {
                    "delivery_id": c.delivery_id,
                    "files": len(c.files),
                    "expires_at": c.expires_at.isoformat(),
                    "expired": retention.is_expired(c.expires_at, self.now.date()),
                }
                for c in self.copies
            ],
            "audit": {
                "ok": self.audit_ok,
                "records": self.audit_records,
                "problem": self.audit_problem,
            },
            "ok": not self.problems,
            "problems": list(self.problems),
            "warnings": list(self.warnings),
        }


def status(ws: Workspace, *, now: dt.datetime) -> Status:
    """Collect the status of ``ws`` at ``now``. Problems are reported, not raised."""
    protocol = ws.protocol()
    today = now.date()
    problems: list[str] = []

    term: termination.Termination | None = None
    term_problem = None
    try:
        term = termination.termination(ws)
    except UserError as exc:
        term_problem = str(exc)
        problems.append(f"termination record: {exc}")
    last_day = protocol.term_end
    if term is not None:
        last_day = min(last_day, term.effective - dt.timedelta(days=1))
    in_force_problem = None
    try:
        # The same check every step makes, so that status never says "in force" while
        # the steps refuse (a deleted termination record included).
        termination.check_in_force(ws, protocol, today)
    except UserError as exc:
        in_force_problem = exc.message
        if term_problem is None:
            problems.append(exc.message)

    held: list[HeldDelivery] = []
    reports = 0
    if ws.store_path.exists():
        with Store(ws.store_path, protocol) as store:
            reports = len(store.recorded_reports())
            for d in store.deliveries():
                gone = retention.is_expired(d.expires_at, today)
                held.append(
                    HeldDelivery(d.delivery_id, d.peildatum, d.row_count, d.expires_at, gone)
                )
    overdue_deliveries = [d for d in held if d.expired]
    if overdue_deliveries:
        problems.append(
            f"{len(overdue_deliveries)} delivery/deliveries past expiry: run 'pijler3 purge'"
            " (art. 3 and 6)"
        )

    held_copies = _copies(ws, today, problems)

    items = tuple(breaches.breaches(ws))
    late = [b for b in items if b.is_open and b.overdue(now)]
    if late:
        problems.append(
            f"{len(late)} breach(es) past the 72 hours of AVG art. 33 without notifying"
            " the authority"
        )
    shown = tuple(share_records.disclosures(ws))
    pending = tuple(d.notification for d in shown if not d.notification.acknowledged)

    audit_ok, records, audit_problem = True, 0, None
    try:
        result = audit.verify(ws.audit_path)
        records = result.size
    except UserError as exc:
        audit_ok, audit_problem = False, str(exc)
        problems.append(f"audit log: {exc}")

    return Status(
        now=now,
        role=ws.role,
        name=ws.name,
        protocol=protocol.identifier,
        signed=protocol.signed,
        term_end=protocol.term_end,
        in_force=in_force_problem is None,
        in_force_problem=in_force_problem,
        last_day=last_day,
        termination=term,
        termination_problem=term_problem,
        deliveries=tuple(held),
        reports_recorded=reports,
        breaches=items,
        pending_notifications=pending,
        disclosures=shown,
        copies=held_copies,
        audit_ok=audit_ok,
        audit_records=records,
        audit_problem=audit_problem,
        problems=tuple(problems),
        warnings=tuple(breaches.dpo_contact_warnings(protocol, ws.role)),
    )


def _copies(ws: Workspace, today: dt.date, problems: list[str]) -> tuple[copies.HeldCopy, ...]:
    """AgII's and VDAB's copies of deliveries; those past expiry are a problem."""
    if ws.role not in ("agii", "vdab"):
        return ()
    held = tuple(copies.held_copies(ws, ws.protocol()))
    late = [c for c in held if retention.is_expired(c.expires_at, today)]
    if late:
        problems.append(
            f"copies of {len(late)} delivery/deliveries past expiry: run 'pijler3 purge'"
            " (art. 3 and 6)"
        )
    return held


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(headers), "  " + "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def render(s: Status) -> str:
    """The status as a plain terminal report (English, dates dd/mm/yyyy)."""
    who = f"{s.role}" + (f" ({s.name})" if s.name else "")
    out = [f"Workspace: {who}, at {s.now.astimezone(dt.UTC):%d/%m/%Y %H:%M} UTC", ""]
    out.append(f"Protocol {s.protocol}")
    out.append(f"  signed {s.signed:%d/%m/%Y}, term ends {s.term_end:%d/%m/%Y} (art. 5, 12)")
    if s.termination is not None:
        t = s.termination
        out.append(f"  {_termination_line(t)}")
    if s.termination_problem:
        out.append(f"  termination record does not verify: {s.termination_problem}")
    if s.in_force:
        out.append(f"  IN FORCE: packages may be produced and accepted until {s.last_day:%d/%m/%Y}")
    else:
        out.append(f"  NOT IN FORCE: {s.in_force_problem}")
    out += ["", f"Deliveries held: {len(s.deliveries)}"]
    if s.deliveries:
        out += _table(
            ["delivery", "peildatum", "rows", "expires", "state"],
            [
                [
                    d.delivery_id,
                    f"{d.peildatum:%d/%m/%Y}",
                    str(d.rows),
                    f"{d.expires_at:%d/%m/%Y}",
                    "EXPIRED: purge" if d.expired else "kept",
                ]
                for d in s.deliveries
            ],
        )
    if s.reports_recorded:
        out.append(
            f"Reports recorded: {s.reports_recorded} (what they showed and hid binds the next"
            " report's disclosure control)"
        )
    out += _render_copies(s)
    opened = s.open_breaches
    out += [
        "",
        f"Breaches: {len(opened)} open, {len(s.overdue_breaches)} overdue (of {len(s.breaches)})",
    ]
    if opened:
        out += _table(
            ["breach", "discovered", "authority by", "state"],
            [
                [
                    b.id,
                    f"{b.discovered:%d/%m/%Y %H:%M}",
                    f"{b.authority_deadline:%d/%m/%Y %H:%M}",
                    "OVERDUE" if b.overdue(s.now) else _breach_state(b),
                ]
                for b in opened
            ],
        )
    out += ["", f"Disclosure notifications awaiting AgII: {len(s.pending_notifications)}"]
    for n in s.pending_notifications:
        out.append(f"  {n.id}  to {n.recipient}  ({len(n.fields)} fields)")
    out += _render_disclosures(s)
    out += [""]
    if s.audit_ok:
        out.append(f"Audit log: {s.audit_records} records, chain intact")
    else:
        out.append(f"Audit log: DOES NOT VERIFY: {s.audit_problem}")
    out += ["", "OK" if not s.problems else f"{len(s.problems)} problem(s):"]
    out += [f"  - {p}" for p in s.problems]
    if s.warnings:
        out += ["", f"{len(s.warnings)} warning(s):"]
        out += [f"  - {w}" for w in s.warnings]
    return "\n".join(out) + "\n"


def _render_copies(s: Status) -> list[str]:
    if s.role not in ("agii", "vdab"):
        return []
    out = ["", f"Copies of deliveries held (packages, quarantine files): {len(s.copies)}"]
    if s.copies:
        out += _table(
            ["delivery", "files", "expires", "state"],
            [
                [
                    c.delivery_id,
                    str(len(c.files)),
                    f"{c.expires_at:%d/%m/%Y}",
                    "EXPIRED: purge"
                    if retention.is_expired(c.expires_at, s.now.date())
                    else "kept",
                ]
                for c in s.copies
            ],
        )
    return out


def _render_disclosures(s: Status) -> list[str]:
    if not s.disclosures:
        return []
    return [
        "",
        "Onward disclosures (art. 4): notified, acknowledged, shared",
        *_table(
            ["notification", "recipient", "fields", "deliveries", "acknowledged", "shared"],
            [
                [
                    d.notification.id,
                    d.notification.recipient,
                    str(len(d.notification.fields)),
                    ", ".join(_selector(x) for x in d.notification.deliveries),
                    _day(d.acknowledged_at) if d.acknowledged_at else "no",
                    f"{_day(d.share.shared_at)}, {d.share.rows} rows" if d.share else "no",
                ]
                for d in s.disclosures
            ],
        ),
    ]


def _selector(value: str) -> str:
    """A notified delivery: its id as is, a peildatum as dd/mm/yyyy."""
    try:
        return f"{dt.date.fromisoformat(value):%d/%m/%Y}"
    except ValueError:
        return value


def _day(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).strftime("%d/%m/%Y")


def _disclosure_dict(d: share_records.Disclosure) -> dict[str, Any]:
    n = d.notification
    return {
        "notification_id": n.id,
        "notified": n.created,
        "recipient": n.recipient,
        "fields": list(n.fields),
        "deliveries": list(n.deliveries),
        "acknowledged": d.acknowledged_at,
        "shared": None
        if d.share is None
        else {
            "at": d.share.shared_at,
            "rows": d.share.rows,
            "deliveries": list(d.share.deliveries),
            "fields": list(d.share.fields),
            "record_sha256": d.share.record_sha256,
        },
    }


def _termination_line(t: termination.Termination) -> str:
    if t.kind == "art8":
        return (
            f"terminated by AgII by simple notice on {t.notice_date:%d/%m/%Y}, effective"
            " immediately (art. 8)"
        )
    if t.kind == "legal-basis":
        return (
            f"ended by operation of law on {t.notice_date:%d/%m/%Y}: no legal basis any more"
            " (art. 12)"
        )
    return (
        f"terminated: notice {t.notice_date:%d/%m/%Y}, effective {t.effective:%d/%m/%Y} (art. 12)"
    )


def _breach_state(b: Breach) -> str:
    if b.authority_notified_at is not None:
        return "authority notified"
    if b.authority_not_required:
        return "no notification needed"
    return "open"
