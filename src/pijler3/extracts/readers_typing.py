"""The cells of an incoming extract as text, and the rules that type them.

Both readers (:mod:`~pijler3.extracts.readers_csv`, :mod:`~pijler3.extracts.readers_xlsx`)
produce a :class:`Grid`: every cell as text, so that an INSZ keeps its leading zeros.
The typing functions here turn its columns into typed columns and their counted
findings, the columns side by side in Polars (:func:`prepare`, then :func:`typed`),
applying the pure rules of :mod:`~pijler3.contract.codes` once per *distinct* raw cell
(a code list bounds them) and looking the result up for every cell, and the INSZ rules
of :mod:`~pijler3.contract.insz` as Polars expressions over the whole column.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
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
    """:func:`pijler3.contract.codes.parse_date` over a column, cell by cell.

    :func:`prepare` gives it a column's distinct cells (a column of dates holds few:
    the days of some years). Values in one of its shapes with ASCII digits are parsed
    with Polars expressions (a day that the month does not have is no date); every other
    value, which is rare, goes through ``parse_date`` itself. So the rule keeps one home.
    """
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
    """A found column: ``raw``, its cells in the grid, ``native``, the grid's native XLSX
    date cells of it if any, and ``label``, its header label as messages name it."""

    column: Column
    raw: str
    native: str | None
    label: str


@dataclass(frozen=True)
class _Keys:
    """The distinct raw cells of a date, yes/no or code column, each once trimmed (null
    when blank), and the value its rule gives it."""

    raw: pl.Series
    text: pl.Series
    value: pl.Series


@dataclass(frozen=True)
class Prepared:
    """The rows that are not blank, with the trimmed text (``c<i>``) of the text, INSZ and
    identifier columns, and of the others the typed value (``v<c>``), whether the cell
    is not blank (``p<c>``) and which of the distinct cells (``k<c>``) from which they
    were typed it is."""

    table: pl.DataFrame
    sources: tuple[Source, ...]
    keys: dict[str, _Keys]


def _is_text(column: Column) -> bool:
    return column.type in ("text", "insz")


def prepare(
    grid: Grid, sources: Sequence[Source], identifiers: Sequence[str], *, drop_blank: bool
) -> Prepared:
    """The grid's cells trimmed and typed, without the blank rows when ``drop_blank``;
    the grid is left without cells.

    The rules of a date, yes/no or code column are applied once per *distinct* raw
    cell (a code list bounds them), once trimmed, and mapped back: such a column is
    never trimmed cell by cell. Polars numbers the coded cells of all columns side by
    side; the text columns are trimmed one after the other, so that the raw cells of
    each are let go as soon as it is done (memory, for a large extract, stays close
    to the grid's own).
    """
    c = pl.col
    texts = [s.raw for s in sources if _is_text(s.column)] + list(identifiers)
    coded = [s for s in sources if not _is_text(s.column)]
    natives = [s.native for s in sources if s.native is not None]
    body = grid.body.select_seq(*texts, *(s.raw for s in coded), *natives, "_row")
    grid.body = pl.DataFrame()  # select_seq: select would copy every cell
    # Each column's distinct cells on its own (an eager select would first copy every
    # column of the grid into one piece), several columns at a time: Polars lets the
    # threads run, where a plan found them on one core (4 million rows: 0.93-1.19 s, now
    # 0.56-0.59 s).
    names = [s.raw for s in coded]
    with ThreadPoolExecutor(min(len(names), os.cpu_count() or 1) or 1) as pool:
        found = pool.map(_distinct_cells, [body[n] for n in names])
        distinct = dict(zip(names, found, strict=True))
    keys: dict[str, _Keys] = {}
    for s in coded:
        raw = distinct[s.raw].alias(s.raw)
        text = raw.to_frame().select(_blank_as_null(c(s.raw).str.strip_chars())).to_series()
        rule = _rule(s.column)
        if s.column.type == "date":
            value = parse_dates(text)
        else:
            parsed = [None if t is None else rule.parse(t) for t in text.to_list()]
            value = pl.Series(parsed, dtype=rule.dtype)
        keys[s.raw] = _Keys(raw, text, value)
    # Each coded cell as the number of its distinct cell, through which its value and
    # whether it is blank are looked up; the raw coded cells are then let go.
    numbers = body.lazy().select(
        c(s.raw).cast(pl.Enum(keys[s.raw].raw)).to_physical().alias(f"k{s.raw}") for s in coded
    )
    # Eager, and without a plan: select, drop or concat would first copy every cell into
    # columns of one piece.
    columns = {t: body[t] for t in (*texts, *natives, "_row")}
    columns |= {n.name: n for n in numbers.collect().get_columns()}
    del body, numbers
    # The text cells are trimmed a column at a time, each column's raw cells let go as
    # its trimmed ones are made: all at once, both would be held for every text column
    # (some 5 GiB more for 12 million persons). Blank is missing, in a second step
    # (Polars would otherwise strip each cell twice).
    for t in texts:
        cells = columns.pop(t).to_frame().lazy()
        columns[t] = (
            cells.select(c(t).str.strip_chars())
            .select(_blank_as_null(c(t)))
            .collect()
            .to_series()
            .rechunk()
        )
        del cells
    table = pl.DataFrame(list(columns.values()))
    del columns
    present = {
        s.raw: pl.lit(keys[s.raw].text.is_not_null()).gather(c(f"k{s.raw}")).fill_null(False)
        for s in coded
    }
    if drop_blank:
        # A row in which every cell is empty describes nobody (see the readers' module
        # docstring). Dropped before the values are looked up, so they are not copied.
        blank = pl.all_horizontal(
            pl.lit(True),
            *(c(t).is_null() for t in texts),
            *(~present[s.raw] for s in coded),
            *(c(n).is_null() for n in natives),
        )
        kept = table.lazy().select(~blank).collect().to_series()
        if not kept.all():
            table = table.filter(kept)
    values = table.lazy().select(
        *(_coded_value(s, keys[s.raw]).alias(f"v{s.raw}") for s in coded),
        *(present[s.raw].alias(f"p{s.raw}") for s in coded),
    )
    table = table.hstack(values.collect().get_columns())
    return Prepared(table, tuple(sources), keys)


def _distinct_cells(column: pl.Series) -> pl.Series:
    return column.drop_nulls().unique()


def _blank_as_null(text: pl.Expr) -> pl.Expr:
    return pl.when(text != "").then(text)


def _coded_value(s: Source, keys: _Keys) -> pl.Expr:
    value = pl.lit(keys.value).gather(pl.col(f"k{s.raw}"))
    if s.native is not None and s.column.type == "date":
        value = value.fill_null(pl.col(s.native))
    return value


def typed(
    prepared: Prepared, name: str, *, today: dt.date
) -> tuple[list[list[pl.Series]], list[list[Finding]]]:
    """The columns typed, each with its findings; raises for the first (in the order of
    the sources) that has values but not one valid.

    All columns but the INSZ are counted in one pass. ``today`` is the day the INSZ
    rules take as today (:func:`check_column`)."""
    c = pl.col
    table = prepared.table

    def present(s: Source) -> pl.Expr:
        if _is_text(s.column):
            return c(s.raw).is_not_null()
        if s.native is not None:
            # A native XLSX date cell is a value even though its text is no date.
            return c(f"p{s.raw}") | c(s.native).is_not_null()
        return c(f"p{s.raw}")

    counted = (
        table.lazy()
        .select(
            pl.struct(
                (~present(s)).sum().alias("missing"),
                present(s).sum().alias("present"),
                (present(s) & c(f"v{s.raw}").is_null()).sum().alias("invalid")
                if not _is_text(s.column)
                else pl.lit(0).alias("invalid"),
            ).alias(s.raw)
            for s in prepared.sources
            if s.column.type != "insz"
        )
        .collect()
    )
    columns: list[list[pl.Series]] = []
    findings: list[list[Finding]] = []
    for s in prepared.sources:
        if s.column.type == "insz":
            series, found = _typed_insz(s.column, table[s.raw], s.label, name, today)
        elif s.column.type == "text":
            series = [table[s.raw].alias(s.column.name)]
            found = _findings(s, counted[s.raw][0], name, None, None, None)
        else:
            series = [table[f"v{s.raw}"].alias(s.column.name)]
            keys = prepared.keys[s.raw]
            wrong = table.lazy().select(
                c(f"k{s.raw}").filter(present(s) & c(f"v{s.raw}").is_null())
            )
            found = _findings(s, counted[s.raw][0], name, _rule(s.column), keys, wrong)
        columns.append(series)
        findings.append(found)
    return columns, findings


def _findings(
    s: Source,
    n: dict[str, int],
    name: str,
    rule: _Rule | None,
    keys: _Keys | None,
    wrong: pl.LazyFrame | None,
) -> list[Finding]:
    """The findings of one column that is not the INSZ, from its counts ``n`` (and the
    distinct cells of its ``wrong`` values)."""
    findings: list[Finding] = []

    def finding(reason: str, count: int, value: str | None = None) -> None:
        if count:
            findings.append(Finding(reason, s.column.name, count, file=name, label=value))

    finding(quality.MISSING, n["missing"])
    if rule is None or keys is None or wrong is None:
        return findings
    if n["invalid"] and n["invalid"] == n["present"]:
        raise _structural(name, s.label, rule.what, rule.hint)
    if rule.reason == quality.CODE_INVALID and n["invalid"]:
        counts = (
            wrong.select(pl.lit(keys.text).gather(pl.first()).alias("text"))
            .group_by("text")
            .len()
            .sort("text")
            .collect()
        )
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
        checked.lazy()
        .with_columns(text.alias("text"))
        .select(
            c("number").is_not_null().sum().alias("valid"),
            (c("number").is_not_null() & (c("number") != c("text"))).sum().alias("formatted"),
            (c("number").str.slice(2, 2).cast(pl.Int32, strict=False) >= 20).sum().alias("bis"),
            *((c("problem") == kind.value).sum().alias(kind.value) for kind in reasons),
        )
        .collect()
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
