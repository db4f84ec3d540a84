"""Termination of the protocol (art. 8 and 12) and the one in-force check.

``terminate`` records the end of the protocol in ``WS/termination.json``, a document
signed with the workspace's key. Written notice (art. 12) takes effect
``notice_months`` after the notice date; AgII's termination by simple notice (art. 8)
and the end by operation of law when the legal basis disappears (art. 12) take effect
on the recorded date itself. Each party records the termination in its own workspace:
the file only binds the workspace it is in.

:func:`check_in_force` is the one place that decides whether the protocol is in force
for a workspace on a day: every step of the chain, ``status`` and the governance
commands call it. It honours the kind of a recorded termination and refuses when the
audit log remembers a termination whose signed record was deleted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pijler3.contract import terms
from pijler3.contract.errors import GovernanceError, ProtocolError
from pijler3.contract.protocol import Protocol
from pijler3.exchange import audit
from pijler3.exchange.documents import (
    document_sha256,
    iso_utc,
    read_document,
    sign_document,
    verify_document,
    write_document,
)
from pijler3.exchange.workspace import Workspace

TERMINATION_FORMAT = "pijler3-termination/1"


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
            " (an immediate end because the legal basis is gone).",
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
            f"the notice date {notice_date:%d/%m/%Y} lies after today ({now.date():%d/%m/%Y}).",
            hint=f"Record it on or after the day it was given ({terms.ARTICLE[kind]}).",
            param="notice_date",
        )
    if notice_date < protocol.signed or notice_date > protocol.term_end:
        raise GovernanceError(
            f"the notice date {notice_date:%d/%m/%Y} lies outside the protocol's term"
            f" ({protocol.signed:%d/%m/%Y} to {protocol.term_end:%d/%m/%Y}, art. 5 and 12).",
            param="notice_date",
        )
    body: dict[str, Any] = {
        "format": TERMINATION_FORMAT,
        "protocol_id": protocol.id,
        "protocol_version": protocol.version,
        "kind": kind,
        "notice_date": notice_date.isoformat(),
        "notice_months": protocol.notice_months if kind == "notice" else 0,
        "effective": effective.isoformat(),
        "recorded_at": iso_utc(now),
        "recorded_by": {"role": ws.role, "name": ws.name},
        "article": terms.ARTICLE[kind],
    }
    if held is not None:
        body["supersedes"] = document_sha256(read_document(path))
    doc = sign_document(body, ws.signing_key())
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
    body = verify_document(doc, [ws.public().signing_key], str(path), fmt=TERMINATION_FORMAT)
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
