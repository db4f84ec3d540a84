"""The cells of an incoming extract as text, and the rules that type them.

Both readers (:mod:`~pijler3.extracts.readers_csv`, :mod:`~pijler3.extracts.readers_xlsx`)
produce a :class:`Grid`: every cell as text, so that an INSZ keeps its leading zeros.
The typing functions here turn one column of it into a typed column and its counted
findings, applying the pure rules of :mod:`~pijler3.contract.codes` once per *distinct*
raw value (a code list bounds them) and joining the result back, and the INSZ rules of
:mod:`~pijler3.contract.insz` as Polars expressions over the whole column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from pijler3.contract import codes
from pijler3.contract.errors import ExtractError
from pijler3.contract.insz import InszProblem, check_column
from pijler3.contract.protocol import Column
from pijler3.extracts import quality
from pijler3.extracts.quality import Finding

SAVE_AS = "Try saving the file as 'CSV UTF-8' or as an Excel workbook (.xlsx)."

_INSZ_REASON = {
    InszProblem.FORMAT: quality.INSZ_FORMAT,
    InszProblem.CHECKSUM: quality.INSZ_CHECKSUM,
    InszProblem.SERIAL: quality.INSZ_SERIAL,
}


@dataclass
class Grid:
    """Every cell as text: ``header`` and the data rows as columns ``c0``, ``c1``, …

    ``body`` also holds ``_row`` and, for XLSX date columns, ``d<i>`` with the native
    date cells (null where the cell is not a native date at midnight).
    """

    header: list[str]
    body: pl.DataFrame
    format: str
    encoding: str | None = None
    delimiter: str | None = None


def lookup(values: pl.Series, fn: Callable[[str], Any], dtype: pl.DataType) -> pl.Series:
    """Apply a pure Python rule once per distinct value and map the result back."""
    keys = values.drop_nulls().unique()
    mapped = pl.Series([fn(k) for k in keys.to_list()], dtype=dtype)
    return values.replace_strict(keys, mapped, default=None, return_dtype=dtype)


# codes.parse_date's patterns, in ASCII digits, as one pattern: the groups hold day,
# month, year (dd/mm/yyyy or d/m/yyyy), day, month, year (dd-mm-yyyy), year, month, day.
_DATE_SHAPE = (
    r"^(?:([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})|([0-9]{2})-([0-9]{2})-([0-9]{4})"
    r"|([0-9]{4})-([0-9]{2})-([0-9]{2}))$"
)


def parse_dates(text: pl.Series) -> pl.Series:
    """:func:`pijler3.contract.codes.parse_date` over a whole column.

    Parsed once per distinct value (a column of dates holds few: the days of some
    years). Values in one of its shapes with ASCII digits are parsed with Polars
    expressions (a day that the month does not have is no date); every other value,
    which is rare, goes through ``parse_date`` itself. So the rule keeps one home.
    """
    keys = text.drop_nulls().unique()
    dates = _parse_distinct(keys)
    return text.replace_strict(keys, dates, default=None, return_dtype=pl.Date()).alias(text.name)


def _parse_distinct(text: pl.Series) -> pl.Series:
    g = pl.col("g").struct

    def part(*fields: int) -> pl.Expr:
        return pl.coalesce([g.field(str(i)) for i in fields]).cast(pl.Int32)

    parts = (
        text.alias("t")
        .to_frame()
        .with_columns(pl.col("t").str.extract_groups(_DATE_SHAPE).alias("g"))
        .select("t", part(1, 4, 9).alias("d"), part(2, 5, 8).alias("m"), part(3, 6, 7).alias("y"))
    )
    d, m, y = pl.col("d"), pl.col("m"), pl.col("y")
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    days_in_month = (
        pl.when(m == 2)
        .then(pl.when(leap).then(29).otherwise(28))
        .when(m.is_in([4, 6, 9, 11]))
        .then(30)
        .otherwise(31)
    )
    valid = (y >= 1) & m.is_between(1, 12) & d.is_between(1, days_in_month)
    frame = parts.with_columns(valid.fill_null(False).alias("ok")).select(
        pl.when("ok")
        .then(pl.date(*(pl.when("ok").then(x).otherwise(1) for x in (y, m, d))))
        .alias("date"),
        # Not in one of the shapes: parse_date decides (never for a cell in one).
        pl.when(d.is_null()).then("t").alias("rest"),
    )
    parsed = frame["date"]
    if frame["rest"].null_count() == frame.height:
        return parsed
    return parsed.fill_null(lookup(frame["rest"], codes.parse_date, pl.Date()))


def trimmed(raw: pl.Series) -> pl.Series:
    """The raw text trimmed, with empty cells as null."""
    s = raw.str.strip_chars()
    return pl.select(pl.when(s == "").then(None).otherwise(s).alias(raw.name)).to_series()


def _structural(name: str, label: str, what: str, hint: str) -> ExtractError:
    return ExtractError(f"{name}: column '{label}' has values but not one valid {what}.", hint=hint)


@dataclass(frozen=True)
class _Rule:
    """How a date, yes/no or code column is typed, and what its errors are called."""

    parse: Callable[[str], Any]
    dtype: pl.DataType
    reason: str
    what: str  # the kind of value, as a message names it
    hint: str


def _rule(column: Column) -> _Rule:
    if column.type == "date":
        return _Rule(
            codes.parse_date,
            pl.Date(),
            quality.DATE_INVALID,
            "date",
            "Dates must be dd/mm/yyyy, d/m/yyyy, dd-mm-yyyy or yyyy-mm-dd (day first); "
            "check the export settings.",
        )
    if column.type == "bool":
        return _Rule(
            codes.parse_bool,
            pl.Boolean(),
            quality.BOOL_INVALID,
            "yes/no value",
            "Use Ja/Nee, J/N, 1/0, true/false or waar/onwaar.",
        )
    assert column.codelist is not None
    return _Rule(
        codes.codelist(column.codelist).match,
        pl.String(),
        quality.CODE_INVALID,
        "code",
        f"Use the codes or labels of the code list '{column.codelist}' (DATA.md).",
    )


def typed(
    column: Column,
    raw: pl.Series,
    native: pl.Series | None,
    label: str,
    name: str,
    *,
    today: dt.date,
) -> tuple[list[pl.Series], list[Finding]]:
    """One column typed, and its findings; raises when not one value is valid.

    ``today`` is the day the INSZ rules take as today (:func:`check_column`)."""
    text = trimmed(raw)
    present = text.is_not_null()
    findings: list[Finding] = []

    def finding(reason: str, count: int, value: str | None = None) -> None:
        if count:
            findings.append(Finding(reason, column.name, count, file=name, label=value))

    if column.type == "insz":
        return _typed_insz(column, text, label, name, today)
    if native is not None:
        # A native XLSX date cell is a value even though its text is no date.
        present = present | native.is_not_null()
    finding(quality.MISSING, int((~present).sum()))
    if column.type == "text":
        return [text.alias(column.name)], findings
    rule = _rule(column)
    values = parse_dates(text) if column.type == "date" else lookup(text, rule.parse, rule.dtype)
    if native is not None and column.type == "date":
        values = values.fill_null(native)
    invalid = present & values.is_null()
    n_invalid = int(invalid.sum())
    if n_invalid and n_invalid == int(present.sum()):
        raise _structural(name, label, rule.what, rule.hint)
    if rule.reason == quality.CODE_INVALID and n_invalid:
        counts = text.filter(invalid).value_counts(name="n").sort(raw.name)
        for value, count in counts.iter_rows():
            finding(rule.reason, int(count), str(value))
    else:
        finding(rule.reason, n_invalid)
    return [values.alias(column.name)], findings


def _typed_insz(
    column: Column, text: pl.Series, label: str, name: str, today: dt.date
) -> tuple[list[pl.Series], list[Finding]]:
    checked = check_column(text, today=today)
    number, problem = checked["number"], checked["problem"].alias("insz_problem")
    findings: list[Finding] = []
    counts = problem.value_counts(name="n")
    by_reason = {r: int(n) for r, n in counts.iter_rows() if r is not None}
    valid = int(number.is_not_null().sum())
    if valid == 0 and text.len() > 0:
        raise ExtractError(
            f"{name}: column '{label}' does not hold a single valid INSZ.",
            hint="Check that this is the right file and column, and that Excel kept the "
            "numbers as text (11 digits with leading zeros).",
        )

    def finding(reason: str, count: int) -> None:
        if count:
            findings.append(Finding(reason, column.name, count, file=name))

    finding(quality.INSZ_MISSING, by_reason.get(InszProblem.MISSING.value, 0))
    for problem_kind, reason in _INSZ_REASON.items():
        finding(reason, by_reason.get(problem_kind.value, 0))
    finding(quality.INSZ_FORMATTED, int((number.is_not_null() & (number != text)).sum()))
    month = number.str.slice(2, 2).cast(pl.Int32, strict=False)
    finding(quality.INSZ_BIS, int((month >= 20).sum()))
    return [number.alias(column.name), problem], findings


def absent(column: Column, height: int) -> list[pl.Series]:
    """An optional column that is not in the file: all missing, with the right type."""
    dtype: pl.DataType = {"date": pl.Date(), "bool": pl.Boolean()}.get(column.type, pl.String())
    out = [pl.Series(column.name, [None] * height, dtype=dtype)]
    if column.type == "insz":
        out.append(pl.Series("insz_problem", [InszProblem.MISSING.value] * height, pl.String))
    return out
