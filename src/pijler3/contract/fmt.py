"""nl-BE formatting: the one home of how a number, a share, a number of days, a date or
a moment is written for Flemish readers (decimal comma, ``.`` as the thousands
separator, ``dd/mm/yyyy``, "74,3 %" with a non-breaking space). Pure functions; the
report (through :mod:`pijler3.report.fmt`), the analysis summaries and the governance
letters all use them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Literal

from pijler3.contract import words

# How a figure is measured, which decides how it is written and drawn.
Unit = Literal["pct", "days", "count", "ratio"]

NBSP = "\u00a0"


def fmt_int(n: int | None) -> str:
    """12345 -> ``12.345`` (nl-BE thousands separator)."""
    if n is None:
        return ""
    return f"{n:,}".replace(",", ".")


def fmt_num(x: float | None, decimals: int = 1) -> str:
    """1234.5 -> ``1.234,5``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    text = f"{x:,.{decimals}f}"
    return text.replace(",", "\u0000").replace(".", ",").replace("\u0000", ".")


def fmt_pct(share: float | None, decimals: int = 1) -> str:
    """0.743 -> ``74,3 %`` (a non-breaking space before the percent sign)."""
    if share is None:
        return ""
    return f"{fmt_num(share * 100, decimals)}{NBSP}%"


def fmt_days(days: float | None) -> str:
    """547 -> ``547 dagen``; 1 -> ``1 dag``."""
    if days is None:
        return ""
    if days == 1:
        return f"1{NBSP}{words.word('grammar', 'day')}"
    return f"{fmt_num(days, 0)}{NBSP}{words.word('grammar', 'days')}"


def fmt_date(day: dt.date | None) -> str:
    """``dd/mm/yyyy``."""
    return "" if day is None else f"{day:%d/%m/%Y}"


def fmt_iso_date(iso: str) -> str:
    """An ISO date or moment (``2026-07-01``, ``2026-07-01T09:00:00+00:00``) as
    ``dd/mm/yyyy``: the date as written, whatever the moment's time zone."""
    return fmt_date(dt.date.fromisoformat(iso[:10]))


def fmt_moment(moment: dt.datetime) -> str:
    """A moment in UTC, to the minute: ``14/10/2026 22:15 UTC``."""
    return f"{moment.astimezone(dt.UTC):%d/%m/%Y %H:%M} UTC"


def fmt_value(value: float | None, unit: Unit) -> str:
    """A figure in its unit, as a table cell shows it (days without the word)."""
    if value is None:
        return ""
    if unit == "pct":
        return fmt_pct(value)
    if unit == "days":
        return fmt_num(value, 0)
    if unit == "ratio":
        return fmt_num(value, 2)
    return fmt_int(round(value))


def join_nl(items: Sequence[str]) -> str:
    """``a, b en c``: a Dutch enumeration."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {words.word('grammar', 'and')} {items[-1]}"
