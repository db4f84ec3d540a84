"""Whether the protocol is in force on a day (art. 5, 8 and 12). Pure functions.

A protocol ends in one of three ways besides the end of its term:

- ``notice``: a party gives written notice; it takes effect ``notice_months`` later
  (art. 12, one month).
- ``art8``: AgII ends it by simple notice, without prior notice of default and in
  derogation of art. 5, when ABB processes the data against the protocol or the law
  (art. 8). It takes effect on the notice date itself.
- ``legal-basis``: it ends by operation of law when there is no longer a legal basis for
  the transfer (art. 12). It takes effect on the date recorded.

From the effective date on, no package may be produced or accepted.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pijler3.contract.dates import add_months
from pijler3.contract.errors import ProtocolError
from pijler3.contract.protocol import Protocol

TerminationKind = Literal["notice", "art8", "legal-basis"]
KINDS: tuple[TerminationKind, ...] = ("notice", "art8", "legal-basis")

# The article each kind of termination rests on, as messages name it.
ARTICLE: dict[TerminationKind, str] = {
    "notice": "art. 12",
    "art8": "art. 8",
    "legal-basis": "art. 12",
}


def termination_effective(
    notice_date: dt.date, protocol: Protocol, kind: TerminationKind
) -> dt.date:
    """The day a termination of ``kind`` recorded for ``notice_date`` takes effect.

    Ordinary notice takes effect ``notice_months`` later (art. 12); an art. 8 termination
    and the end by operation of law (art. 12) take effect on the date itself.
    """
    if kind == "notice":
        return add_months(notice_date, protocol.notice_months)
    if kind in ("art8", "legal-basis"):
        return notice_date
    raise ValueError(f"unknown termination kind {kind!r}")


def ended_message(protocol: Protocol, notice_date: dt.date, kind: TerminationKind) -> str:
    """Why the protocol is no longer in force, naming the date and the article."""
    effective = termination_effective(notice_date, protocol, kind)
    if kind == "art8":
        return (
            f"protocol {protocol.identifier} was ended by AgII by simple notice on"
            f" {notice_date:%d/%m/%Y}, with immediate effect and without notice period"
            " (art. 8, in derogation of art. 5)."
        )
    if kind == "legal-basis":
        return (
            f"protocol {protocol.identifier} ended by operation of law on"
            f" {notice_date:%d/%m/%Y}: there is no longer a legal basis for the transfer"
            " (art. 12)."
        )
    return (
        f"protocol {protocol.identifier} was terminated with notice on"
        f" {notice_date:%d/%m/%Y}, effective {effective:%d/%m/%Y} (art. 12)."
    )


def check_in_force(
    protocol: Protocol,
    on: dt.date,
    *,
    notice_date: dt.date | None = None,
    kind: TerminationKind = "notice",
) -> None:
    """Raise unless the protocol is in force on ``on``; the message names date and article.

    ``notice_date`` and ``kind`` describe a recorded termination, if any.
    """
    if on < protocol.signed:
        raise ProtocolError(
            f"protocol {protocol.identifier} is not yet in force on {on:%d/%m/%Y}: it takes"
            f" effect when signed, on {protocol.signed:%d/%m/%Y} (art. 12)."
        )
    if on > protocol.term_end:
        raise ProtocolError(
            f"protocol {protocol.identifier} ended on {protocol.term_end:%d/%m/%Y}: its term"
            f" is {protocol.term_years} years from signature (art. 5 and 12).",
            hint="No package may be produced or accepted under it; a new protocol is needed.",
        )
    if notice_date is not None:
        effective = termination_effective(notice_date, protocol, kind)
        if on >= effective:
            raise ProtocolError(
                ended_message(protocol, notice_date, kind),
                hint="No package may be produced or accepted under it any more.",
            )
