"""nl-BE formatting for the monitoring report. The formatters live in
:mod:`pijler3.contract.fmt` (the governance letters use them too); this module adds the
one that writes HTML, and keeps the names the report's modules import.
"""

from __future__ import annotations

from markupsafe import Markup

from pijler3.contract import words
from pijler3.contract.fmt import (
    NBSP,
    Unit,
    fmt_date,
    fmt_days,
    fmt_int,
    fmt_num,
    fmt_pct,
    fmt_value,
)

__all__ = [
    "NBSP",
    "Unit",
    "fmt_count",
    "fmt_date",
    "fmt_days",
    "fmt_int",
    "fmt_num",
    "fmt_pct",
    "fmt_value",
]


def fmt_count(n: int | None) -> Markup:
    """A published count for the HTML: the suppression mark where it is hidden."""
    if n is None:
        title = words.word("suppressed", "title")
        return Markup('<abbr class="legend-supp" title="{}">x</abbr>').format(title)
    return Markup.escape(fmt_int(n))
