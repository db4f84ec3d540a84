"""CSV files that people open in a spreadsheet: no cell can become a formula.

A spreadsheet program takes a cell that begins with ``=``, ``+``, ``-`` or ``@`` (and,
in some programs, a tab or carriage return before one of those) as a formula, which can
fetch a URL or run a command (CSV injection). In a CSV meant for people, such a text
cell is written with a leading apostrophe, which spreadsheets show as plain text; the
value is otherwise unchanged. Numbers are written as numbers.

Not for machine-readable files: ``indicators.csv`` (DATA.md §4) holds only codes and
numbers, and a program reading it must get the values exactly as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

# OWASP's list of characters that start a formula in a spreadsheet program.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """A cell's text as a spreadsheet will show it and never evaluate it."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def render(
    header: Sequence[str], rows: Iterable[Sequence[object]], *, separator: str = ";"
) -> bytes:
    """A UTF-8 CSV with the header and rows, every text cell neutralised, lines ``\\n``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator="\n")
    writer.writerow([neutralise(h) for h in header])
    writer.writerows([neutralise(v) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8")
