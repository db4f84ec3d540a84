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
from collections.abc import Callable, Sequence
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


_TRIM_AT_ONCE = 8  # columns trimmed at once: side by side, and few raw ones held twice


def take_trimmed(grid: Grid, columns: Sequence[str], keep: Sequence[str]) -> pl.DataFrame:
    """The raw text of the grid's ``columns`` trimmed of white space, with empty cells as
    null, and its ``keep`` columns unchanged; the grid is left without cells.

    A few columns at a time, each raw column let go once trimmed, so that the cells are
    not held twice. The nulls are set in a step of their own: Polars would otherwise
    strip each cell twice."""
    table = grid.body.select_seq(*keep, *columns)  # select would copy every cell
    grid.body = pl.DataFrame()
    done: list[pl.DataFrame] = []
    for k in range(0, len(columns), _TRIM_AT_ONCE):
        chunk = columns[k : k + _TRIM_AT_ONCE]
        stripped = table.lazy().select(pl.col(c).str.strip_chars() for c in chunk)
        done.append(
            stripped.select(
                pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in chunk
            ).collect()
        )
        table = table.drop(chunk)
    return pl.concat([table, *done], how="horizontal")


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


@dataclass(frozen=True)
class Source:
    """Where a found column is in the table to type: its trimmed text (``text``), the
    native XLSX date cells if any (``native``), and its header label for messages."""

    column: Column
    text: str
    native: str | None
    label: str


def typed(
    table: pl.DataFrame, sources: Sequence[Source], name: str, *, today: dt.date
) -> tuple[list[list[pl.Series]], list[list[Finding]]]:
    """The columns typed, each with its findings; raises for the first (in the order of
    ``sources``) that has values but not one valid.

    The distinct values of all code, yes/no and date columns are found in one pass, the
    rules applied to them, and all columns typed and counted in one pass each, so that
    Polars does the columns side by side. ``today`` is the day the INSZ rules take as
    today (:func:`check_column`)."""
    c = pl.col
    rules = {s.text: _rule(s.column) for s in sources if s.column.type not in ("text", "insz")}
    distinct = table.select(c(text).drop_nulls().unique().implode() for text in rules)
    values = {
        s.text: _value(s, rules.get(s.text), distinct[s.text][0] if s.text in rules else None)
        for s in sources
        if s.column.type != "insz"
    }
    typed_values = table.select(v.alias(f"v{text}") for text, v in values.items())
    both = table.hstack(typed_values)

    def present(s: Source) -> pl.Expr:
        if s.native is not None:
            # A native XLSX date cell is a value even though its text is no date.
            return c(s.text).is_not_null() | c(s.native).is_not_null()
        return c(s.text).is_not_null()

    def invalid(s: Source) -> pl.Expr:
        return present(s) & c(f"v{s.text}").is_null()

    counted = both.select(
        pl.struct(
            (~present(s)).sum().alias("missing"),
            present(s).sum().alias("present"),
            invalid(s).sum().alias("invalid"),
        ).alias(s.text)
        for s in sources
        if s.column.type != "insz"
    )
    columns: list[list[pl.Series]] = []
    findings: list[list[Finding]] = []
    for s in sources:
        if s.column.type == "insz":
            series, found = _typed_insz(s.column, table[s.text], s.label, name, today)
        else:
            series = [typed_values[f"v{s.text}"].alias(s.column.name)]
            found = _findings(s, both, counted[s.text][0], name, rules.get(s.text), invalid(s))
        columns.append(series)
        findings.append(found)
    return columns, findings


def _value(s: Source, rule: _Rule | None, keys: pl.Series | None) -> pl.Expr:
    """The typed value of a column that is not the INSZ: its rule applied to each of its
    distinct values ``keys``, mapped back to the column."""
    c = pl.col
    if rule is None or keys is None:
        return c(s.text)
    if s.column.type == "date":
        mapped = _parse_distinct(keys)
    else:
        mapped = pl.Series([rule.parse(k) for k in keys.to_list()], dtype=rule.dtype)
    value = c(s.text).replace_strict(keys, mapped, default=None, return_dtype=rule.dtype)
    if s.native is not None and s.column.type == "date":
        value = value.fill_null(c(s.native))
    return value


def _findings(
    s: Source,
    both: pl.DataFrame,
    n: dict[str, int],
    name: str,
    rule: _Rule | None,
    invalid: pl.Expr,
) -> list[Finding]:
    """The findings of one column that is not the INSZ, from its counts ``n``."""
    findings: list[Finding] = []

    def finding(reason: str, count: int, value: str | None = None) -> None:
        if count:
            findings.append(Finding(reason, s.column.name, count, file=name, label=value))

    finding(quality.MISSING, n["missing"])
    if rule is None:
        return findings
    if n["invalid"] and n["invalid"] == n["present"]:
        raise _structural(name, s.label, rule.what, rule.hint)
    if rule.reason == quality.CODE_INVALID and n["invalid"]:
        wrong = both.select(pl.col(s.text).filter(invalid)).to_series()
        counts = wrong.value_counts(name="n").sort(s.text)
        for value, count in counts.iter_rows():
            finding(rule.reason, int(count), str(value))
    else:
        finding(rule.reason, n["invalid"])
    return findings


def _typed_insz(
    column: Column, text: pl.Series, label: str, name: str, today: dt.date
) -> tuple[list[pl.Series], list[Finding]]:
    checked = check_column(text, today=today)
    number, problem = checked["number"], checked["problem"].alias("insz_problem")
    c = pl.col
    reasons = {InszProblem.MISSING: quality.INSZ_MISSING, **_INSZ_REASON}
    n = (
        checked.with_columns(text.alias("text"))
        .select(
            c("number").is_not_null().sum().alias("valid"),
            (c("number").is_not_null() & (c("number") != c("text"))).sum().alias("formatted"),
            (c("number").str.slice(2, 2).cast(pl.Int32, strict=False) >= 20).sum().alias("bis"),
            *((c("problem") == kind.value).sum().alias(kind.value) for kind in reasons),
        )
        .row(0, named=True)
    )
    if n["valid"] == 0 and text.len() > 0:
        raise ExtractError(
            f"{name}: column '{label}' does not hold a single valid INSZ.",
            hint="Check that this is the right file and column, and that Excel kept the "
            "numbers as text (11 digits with leading zeros).",
        )
    findings: list[Finding] = []

    def finding(reason: str, count: int) -> None:
        if count:
            findings.append(Finding(reason, column.name, count, file=name))

    for kind, reason in reasons.items():
        finding(reason, n[kind.value])
    finding(quality.INSZ_FORMATTED, n["formatted"])
    finding(quality.INSZ_BIS, n["bis"])
    return [number.alias(column.name), problem], findings


def absent(column: Column, height: int) -> list[pl.Series]:
    """An optional column that is not in the file: all missing, with the right type."""
    dtype: pl.DataType = {"date": pl.Date(), "bool": pl.Boolean()}.get(column.type, pl.String())
    out = [pl.Series(column.name, [None] * height, dtype=dtype)]
    if column.type == "insz":
        out.append(pl.Series("insz_problem", [InszProblem.MISSING.value] * height, pl.String))
    return out
