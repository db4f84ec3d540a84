"""Who is in an indicator's population, and in which category of each breakdown.

The base population B, the exempt rows E and the per-row flags of every indicator
(INDICATORS.md), and the categories of every breakdown. The choices made where
INDICATORS.md is silent are listed in :mod:`pijler3.analysis.indicators`, which builds
the table from these.

:func:`prepare` computes B, its flags and every breakdown's category codes once per
delivery: the indicator table, the Kaplan-Meier curves, the odds ratios and the
population counts of the report all read that one :class:`Prepared` instead of each
filtering the million rows again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from pijler3.contract import codes

START = dt.date(2022, 3, 1)
EXEMPT_DECISIONS = ("WERKT_AL", "GEEN_TOEGANG_ARBEIDSMARKT")
UNKNOWN = "ONBEKEND"
OTHER = "OVERIG"
TOTAL = "totaal"
TOP_NATIONALITIES = 10

# Breakdown -> how its categories are formed. "code" breakdowns use the code list of the
# same name (every one of them is named after its field).
BreakdownKind = Literal["total", "code", "bool", "nationality", "cohort"]
KINDS: dict[str, BreakdownKind] = {
    "totaal": "total",
    "leeftijdscategorie": "code",
    "geslacht": "code",
    "scholingsniveau": "code",
    "oudste_nationaliteit": "nationality",
    "doelgroep": "code",
    "regio": "code",
    "trajecttype": "code",
    "verblijfsstatus": "code",
    "ocmw_leefloon": "bool",
    "nt2_niveau": "code",
    "taalleervermogen": "code",
    "plo_besluit": "code",
    "cohort": "cohort",
}
BREAKDOWNS = tuple(KINDS)

# The windows of the windowed indicators, in days: indicator -> (window, event column).
WINDOWS: Mapping[str, tuple[int, str]] = {
    "inschrijving_60d": (60, "vdab_datum_eerste_inschrijving"),
    "werk_6m": (182, "datum_uitstroom_werk"),
    "werk_12m": (365, "datum_uitstroom_werk"),
}
Event = Literal["inschrijving", "werk"]
EVENT_COLUMNS: Mapping[str, str] = {
    "inschrijving": "vdab_datum_eerste_inschrijving",
    "werk": "datum_uitstroom_werk",
}
ACTIONS = ("orientatie", "context", "competentieversterking", "solliciteren")
# The dates whose value after peildatum counts as missing for an indicator.
INDICATOR_DATES = (
    "datum_toeleiding_vdab",
    "vdab_datum_eerste_inschrijving",
    "datum_uitstroom_werk",
)


# --- Populations -------------------------------------------------------------------------


def _valid(column: str, peildatum: dt.date) -> pl.Expr:
    """A date column with every date after ``peildatum`` read as missing (INDICATORS.md)."""
    col = pl.col(column)
    return pl.when(col <= peildatum).then(col).otherwise(None)


def _days(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    return (later - earlier).dt.total_days()


def base(df: pl.DataFrame, peildatum: dt.date) -> pl.DataFrame:
    """B: rows with a contract date from 2022-03-01 up to and including ``peildatum``."""
    c = pl.col("datum_inburgeringscontract")
    return df.filter(c.is_not_null() & (c >= START) & (c <= peildatum))


def flags(b: pl.DataFrame, peildatum: dt.date) -> pl.DataFrame:
    """Per-row flags of every indicator on B, plus the KM times and statuses."""
    return b.with_columns(flag_exprs(peildatum))


def flag_exprs(peildatum: dt.date) -> list[pl.Expr]:
    c = pl.col("datum_inburgeringscontract")
    pd = pl.lit(peildatum)
    exprs: list[pl.Expr] = [
        pl.col("plo_besluit").is_in(EXEMPT_DECISIONS).fill_null(False).alias("_exempt"),
        _valid("datum_toeleiding_vdab", peildatum).is_not_null().alias("_toeleiding"),
        _valid("vdab_datum_eerste_inschrijving", peildatum).is_not_null().alias("_registered"),
    ]
    for indicator, (window, column) in WINDOWS.items():
        closed = c + pl.duration(days=window) <= pd
        event = _valid(column, peildatum)
        hit = event.is_not_null() & (event <= c + pl.duration(days=window))
        exprs += [closed.alias(f"_closed_{indicator}"), hit.alias(f"_hit_{indicator}")]
    for event_name, column in EVENT_COLUMNS.items():
        event = _valid(column, peildatum)
        exprs += [
            event.is_not_null().alias(f"_status_{event_name}"),
            pl.when(event.is_not_null())
            .then(pl.max_horizontal(_days(event, c), pl.lit(0)))
            .otherwise(_days(pd, c))
            .alias(f"_time_{event_name}"),
        ]
    for action in ACTIONS:
        exprs.append(pl.col(f"vdab_actie_{action}").fill_null(False).alias(f"_actie_{action}"))
    return exprs


# --- Categories --------------------------------------------------------------------------


def top_nationalities(b: pl.DataFrame) -> tuple[str, ...]:
    """The ten most frequent non-missing nationality codes in B, ties broken by code."""
    counts = (
        b.select(pl.col("oudste_nationaliteit").drop_nulls())
        .group_by("oudste_nationaliteit")
        .len()
        .sort(["len", "oudste_nationaliteit"], descending=[True, False])
        .head(TOP_NATIONALITIES)
    )
    return tuple(counts["oudste_nationaliteit"].to_list())


def cohorts(peildatum: dt.date) -> tuple[str, ...]:
    """Every quarter from that of 2022-03-01 up to that of ``peildatum``."""
    out: list[str] = []
    year, quarter = START.year, (START.month - 1) // 3
    last = (peildatum.year, (peildatum.month - 1) // 3)
    while (year, quarter) <= last:
        out.append(f"{year}-Q{quarter + 1}")
        year, quarter = (year + 1, 0) if quarter == 3 else (year, quarter + 1)
    return tuple(out)


@dataclass(frozen=True)
class BreakdownSpec:
    name: str
    expr: pl.Expr  # the category of each row
    categories: tuple[str, ...]  # the fixed list, before any unexpected codes


def breakdown_specs(
    b: pl.DataFrame, peildatum: dt.date, names: Sequence[str] = BREAKDOWNS
) -> list[BreakdownSpec]:
    out = []
    for name in names:
        kind = KINDS[name]
        if kind == "total":
            out.append(BreakdownSpec(name, pl.lit(TOTAL), (TOTAL,)))
        elif kind == "code":
            listed = codes.codelist(name).codes
            cats = listed if UNKNOWN in listed else (*listed, UNKNOWN)
            out.append(BreakdownSpec(name, pl.col(name).fill_null(UNKNOWN), cats))
        elif kind == "bool":
            expr = (
                pl.when(pl.col(name).is_null())
                .then(pl.lit(UNKNOWN))
                .when(pl.col(name))
                .then(pl.lit("true"))
                .otherwise(pl.lit("false"))
            )
            out.append(BreakdownSpec(name, expr, ("true", "false", UNKNOWN)))
        elif kind == "nationality":
            top = top_nationalities(b)
            col = pl.col(name)
            expr = (
                pl.when(col.is_null())
                .then(pl.lit(UNKNOWN))
                .when(col.is_in(top))
                .then(col)
                .otherwise(pl.lit(OTHER))
            )
            out.append(BreakdownSpec(name, expr, (*top, OTHER, UNKNOWN)))
        else:
            c = pl.col("datum_inburgeringscontract")
            expr = pl.format("{}-Q{}", c.dt.year(), c.dt.quarter())
            out.append(BreakdownSpec(name, expr, cohorts(peildatum)))
    return out


def category_codes(
    frame: pl.DataFrame, category: pl.Expr
) -> tuple[list[str], npt.NDArray[np.int64]]:
    """The sorted distinct categories of the rows and each row's index among them."""
    # with_columns, not select: a literal category (totaal) must fill every row.
    cats = frame.with_columns(category.alias("_cat"))["_cat"]
    labels = sorted(cats.unique().to_list())
    code = cats.cast(pl.Enum(labels)).to_physical().to_numpy().astype(np.int64)
    return labels, code


@dataclass(frozen=True)
class Categories:
    """One breakdown in one delivery: its spec, the sorted distinct categories of B and
    each row's index among them (``code``, one per row of :attr:`Prepared.rows`)."""

    spec: BreakdownSpec
    labels: list[str]
    code: npt.NDArray[np.int64]


@dataclass(frozen=True)
class Prepared:
    """B of one delivery with the flags of every indicator (:func:`flags`) and the
    category codes of every breakdown, computed once (:func:`prepare`)."""

    peildatum: dt.date
    rows: pl.DataFrame
    breakdowns: Mapping[str, Categories]

    def exempt(self) -> npt.NDArray[np.bool_]:
        """Per row of B: in E."""
        return self.rows["_exempt"].to_numpy()


def columns_read() -> frozenset[str]:
    """The columns of the monitoring dataset that the indicators read: not the pseudonyms
    nor the free text (the report has the store leave them out)."""
    return frozenset(
        {
            "datum_inburgeringscontract",
            "plo_besluit",
            *INDICATOR_DATES,
            *EVENT_COLUMNS.values(),
            *(f"vdab_actie_{a}" for a in ACTIONS),
            *(name for name, kind in KINDS.items() if kind not in ("total", "cohort")),
        }
    )


def prepare(df: pl.DataFrame, peildatum: dt.date) -> Prepared:
    """B, its flags and the categories of every breakdown of a delivery's dataset.

    Only the columns the indicators read are kept (:func:`columns_read`; the others
    would be copied by the filter for nothing)."""
    used = columns_read()
    b = flags(base(df.select([c for c in df.columns if c in used]), peildatum), peildatum)
    specs = breakdown_specs(b, peildatum)
    known = _known_codes(b, specs)
    out = {}
    for spec in specs:
        labels, code = known.get(spec.name) or category_codes(b, spec.expr)
        out[spec.name] = Categories(spec, labels, code)
    return Prepared(peildatum, b, out)


def _known_codes(
    b: pl.DataFrame, specs: Sequence[BreakdownSpec]
) -> dict[str, tuple[list[str], npt.NDArray[np.int64]]]:
    """:func:`category_codes` without finding the distinct categories first, for every
    breakdown in one pass: the labels are the breakdown's fixed categories, sorted (some
    may have no row, which counts as nothing anywhere). A breakdown with a row whose
    category is not among them is left out (then :func:`category_codes` decides)."""
    labels = {spec.name: sorted(set(spec.categories)) for spec in specs}
    exprs: dict[str, pl.Expr] = {}
    for spec in specs:
        kind = KINDS[spec.name]
        enum = pl.Enum(labels[spec.name])
        if kind == "code":  # missing stays null here, and is ONBEKEND below
            exprs[spec.name] = pl.col(spec.name).cast(enum, strict=False).to_physical()
        elif kind == "cohort":  # "2022-Q1" < "2022-Q2" < ... < "2023-Q1": by quarter
            c = pl.col("datum_inburgeringscontract")
            first = START.year * 4 + (START.month - 1) // 3
            quarter = c.dt.year().cast(pl.Int64) * 4 + c.dt.quarter().cast(pl.Int64) - 1
            exprs[spec.name] = quarter - first
        elif kind != "total":
            exprs[spec.name] = spec.expr.cast(enum, strict=False).to_physical()
    got = b.select([e.cast(pl.Int64).alias(name) for name, e in exprs.items()])
    out: dict[str, tuple[list[str], npt.NDArray[np.int64]]] = {}
    for spec in specs:
        cats, kind = labels[spec.name], KINDS[spec.name]
        if kind == "total":
            out[spec.name] = (cats, np.zeros(b.height, dtype=np.int64))
            continue
        column = got[spec.name]
        if kind == "code":
            if column.null_count() != b[spec.name].null_count():
                continue  # a code outside the code list
            column = column.fill_null(cats.index(UNKNOWN))
        elif column.null_count() or not column.is_between(0, len(cats) - 1).all():
            continue
        out[spec.name] = (cats, column.to_numpy())
    return out
