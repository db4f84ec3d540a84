"""Whether the protocol is in force on a day (art. 5 and 12). Pure functions."""

from __future__ import annotations

import datetime as dt

from pijler3.errors import ProtocolError
from pijler3.protocol import Protocol, add_months


def termination_effective(notice_date: dt.date, protocol: Protocol) -> dt.date:
    """The day a termination noticed on ``notice_date`` takes effect (art. 12: one month)."""
    return add_months(notice_date, protocol.notice_months)


def check_in_force(protocol: Protocol, on: dt.date, *, notice_date: dt.date | None = None) -> None:
    """Raise unless the protocol is in force on ``on``; the message names date and article."""
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
        effective = termination_effective(notice_date, protocol)
        if on >= effective:
            raise ProtocolError(
                f"protocol {protocol.identifier} was terminated with notice on"
                f" {notice_date:%d/%m/%Y}, effective {effective:%d/%m/%Y} (art. 12).",
                hint="No package may be produced or accepted under it any more.",
            )
