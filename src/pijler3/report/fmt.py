"""nl-BE formatting for the monitoring report: the one home of how a number, a share, a
number of days, a date or a published count is written for Flemish readers (decimal
comma, ``.`` as the thousands separator, ``dd/mm/yyyy``, "74,3 %" with a non-breaking
space). Pure functions; the charts, the section views and the Jinja filters all use them.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Literal

from markupsafe import Markup

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
    if days is None:
        return ""
    return f"{fmt_num(days, 0)}{NBSP}dagen" if days != 1 else f"1{NBSP}dag"


def fmt_date(day: dt.date | None) -> str:
    """``dd/mm/yyyy``."""
    return "" if day is None else f"{day:%d/%m/%Y}"


def fmt_value(value: float | None, unit: Unit) -> str:
    if value is None:
        return ""
    if unit == "pct":
        return fmt_pct(value)
    if unit == "days":
        return fmt_num(value, 0)
    if unit == "ratio":
        return fmt_num(value, 2)
    return fmt_int(round(value))


def fmt_count(n: int | None) -> Markup:
    """A published count for the HTML: the suppression mark where it is hidden."""
    if n is None:
        return Markup('<abbr class="legend-supp" title="onderdrukt: kleine aantallen">x</abbr>')
    return Markup.escape(fmt_int(n))
