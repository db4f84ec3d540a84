"""The indicators of INDICATORS.md as pure functions on one delivery's monitoring dataset.

Every function takes the monitoring dataset (DATA.md §3, one ``peildatum``) and the
``peildatum`` itself, and returns aggregated numbers only. Nothing here reads a file or
the clock, and nothing here applies disclosure control: :func:`compute_raw` returns the
raw counts that stay in the analysis store, and :mod:`pijler3.analysis.disclosure` turns them into
the publishable table.

Where INDICATORS.md leaves a choice open, the choice made here is:

- Categories. Every breakdown lists a fixed set of categories so that tables are stable
  across deliveries: a code-list breakdown lists every code of its code list (in code
  list order) and then ``ONBEKEND``; a boolean breakdown lists ``true``, ``false``,
  ``ONBEKEND``; ``oudste_nationaliteit`` lists the top ten of the delivery, ``OVERIG`` and
  ``ONBEKEND``; ``cohort`` lists every quarter from ``2022-Q1`` (the quarter holding
  2022-03-01) to the quarter of ``peildatum``. A category with nobody in an indicator's
  population is listed with denominator 0 (and numerator 0, empty value and interval).
  A code that is in the dataset but not in its code list (which validation should have
  made impossible) is listed after the code list, so that categories still add up.
- The ten nationalities are chosen once per delivery, on the whole base B, and used for
  every indicator, including those whose population is a part of B.
- "Registered with VDAB on or before ``peildatum``" (the ``actie_*`` population) means a
  ``vdab_datum_eerste_inschrijving`` that is present and not after ``peildatum``.
- ``censored``: for a windowed indicator, the rows of its population (B minus E) whose
  window has not closed; for a median indicator, the rows of its population without an
  observed event (censored at ``peildatum``); empty for the other indicators.
  ``exempt``: the rows of E in the category, for the indicators that leave E out; empty
  for ``toeleiding`` and ``actie_*``, whose population includes E.
- The medians are Kaplan-Meier medians with statsmodels' defaults; how they are fitted,
  and what is left empty, is in :mod:`pijler3.analysis.survival`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from pijler3.analysis.population import (
    ACTIONS,
    BREAKDOWNS,
    EVENT_COLUMNS,
    INDICATOR_DATES,
    KINDS,
    START,
    TOTAL,
    WINDOWS,
    BreakdownSpec,
    Event,
    Prepared,
    base,
    breakdown_specs,
    category_codes,
    flag_exprs,
    flags,
    prepare,
)
from pijler3.analysis.survival import KaplanMeier, event_times, fits_from_codes, fits_per_category

INDICATOR_IDS = (
    "toeleiding",
    "inschrijving_60d",
    "inschrijving_mediaan_dagen",
    "werk_6m",
    "werk_12m",
    "werk_mediaan_dagen",
    "actie_orientatie",
    "actie_context",
    "actie_competentieversterking",
    "actie_solliciteren",
)
MEDIAN_INDICATORS = ("inschrijving_mediaan_dagen", "werk_mediaan_dagen")

RAW_SCHEMA: Mapping[str, type[pl.DataType] | pl.DataType] = {
    "peildatum": pl.Date,
    "indicator": pl.String,
    "breakdown": pl.String,
    "category": pl.String,
    "denominator": pl.Int64,
    "numerator": pl.Int64,
    "value": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "censored": pl.Int64,
    "exempt": pl.Int64,
}

CurvePoint = tuple[int, float, int]


def _with_categories(
    counts: pl.DataFrame, breakdown: BreakdownSpec, fill: Mapping[str, int]
) -> pl.DataFrame:
    """Counts per category, in the fixed category order, with absent categories as 0."""
    seen = counts["_cat"].to_list()
    extra = sorted(set(seen) - set(breakdown.categories))
    order = pl.DataFrame({"_cat": [*breakdown.categories, *extra]}, schema={"_cat": pl.String})
    joined = order.join(counts, on="_cat", how="left", maintain_order="left")
    return joined.with_columns([pl.col(k).fill_null(v) for k, v in fill.items()])


# --- Statistics ---------------------------------------------------------------------------


def wilson(
    numerator: npt.ArrayLike, denominator: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """95% Wilson intervals without continuity correction; NaN where the denominator is 0.

    statsmodels' ``proportion_confint``, vectorised over every cell in one call.
    """
    # Imported here: statsmodels takes a second to import, which the steps that import
    # this module for its definitions (publish, ingest) do not need to pay.
    from statsmodels.stats.proportion import proportion_confint

    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    safe = np.where(den > 0, den, 1.0)
    low, high = proportion_confint(num, safe, alpha=0.05, method="wilson")
    empty = den <= 0
    return (
        np.where(empty, np.nan, np.asarray(low, dtype=np.float64)),
        np.where(empty, np.nan, np.asarray(high, dtype=np.float64)),
    )


# --- The table ----------------------------------------------------------------------------


def _summands() -> list[tuple[str, pl.Expr]]:
    """The per-row 0/1 terms whose per-category sums build every row of the table."""
    not_exempt = ~pl.col("_exempt")
    terms: list[tuple[str, pl.Expr]] = [
        ("n_base", pl.lit(True)),
        ("n_exempt", pl.col("_exempt")),
        ("num_toeleiding", pl.col("_toeleiding")),
        ("n_registered", pl.col("_registered")),
    ]
    for indicator in WINDOWS:
        closed = pl.col(f"_closed_{indicator}")
        hit = pl.col(f"_hit_{indicator}")
        terms += [
            (f"den_{indicator}", not_exempt & closed),
            (f"num_{indicator}", not_exempt & closed & hit),
            (f"cens_{indicator}", not_exempt & ~closed),
        ]
    for action in ACTIONS:
        terms.append((f"num_actie_{action}", pl.col("_registered") & pl.col(f"_actie_{action}")))
    return terms


def _aggregations() -> list[pl.Expr]:
    """Per-category sums as polars aggregations: the straightforward form of
    :func:`_category_sums` (``tests/test_fast_paths.py`` checks they agree)."""
    return [
        pl.len().cast(pl.Int64).alias(name)
        if name == "n_base"
        else expr.sum().cast(pl.Int64).alias(name)
        for name, expr in _summands()
    ]


@dataclass(frozen=True)
class _Signatures:
    """Every row's combination of the 0/1 terms of :func:`_summands`, as an index into
    the distinct combinations (a delivery has a few hundred at most)."""

    names: tuple[str, ...]
    index: npt.NDArray[np.int64]  # per row
    values: npt.NDArray[np.int64]  # distinct combinations x terms, 0/1


def _signatures(b: pl.DataFrame) -> _Signatures:
    terms = _summands()
    # Each row's terms as the bits of one number, formed by polars in one pass.
    bits = [e.fill_null(False).cast(pl.Int64) * (1 << i) for i, (_, e) in enumerate(terms)]
    packed = b.select(pl.sum_horizontal(bits).alias("_sig"))["_sig"].to_numpy()
    distinct, index = np.unique(packed, return_inverse=True)
    values = (distinct[:, None] >> np.arange(len(terms), dtype=np.int64)) & 1
    names = tuple(n for n, _ in terms)
    return _Signatures(names, index.astype(np.int64).ravel(), values.astype(np.int64))


def _category_sums(
    labels: list[str], code: npt.NDArray[np.int64], sig: _Signatures
) -> pl.DataFrame:
    """The per-category sums of :func:`_aggregations`, by counting rows per (category,
    combination of terms) once and multiplying by the combinations: integer arithmetic,
    so the very same counts, without a polars group-by of twenty sums per breakdown."""
    width = len(sig.values)
    table = np.bincount(code * width + sig.index, minlength=len(labels) * width)
    sums = table.reshape(len(labels), width).astype(np.int64) @ sig.values
    data: dict[str, object] = {"_cat": labels}
    data.update({name: sums[:, j] for j, name in enumerate(sig.names)})
    schema = {"_cat": pl.String, **{name: pl.Int64 for name in sig.names}}
    return pl.DataFrame(data, schema=schema)


def compute_raw(df: pl.DataFrame, peildatum: dt.date) -> pl.DataFrame:
    """Every indicator x breakdown x category of INDICATORS.md, before disclosure control.

    Columns: those of DATA.md §4 without ``suppressed``, plus ``censored`` and ``exempt``
    (see the module docstring). Rows in ``INDICATOR_IDS`` order, then ``BREAKDOWNS``
    order, then category order.
    """
    return compute(prepare(df, peildatum)).raw


KM_EVENTS: tuple[Event, ...] = ("inschrijving", "werk")
# breakdown -> event -> category -> fit on B minus E
Fits = Mapping[str, Mapping[str, Mapping[str, KaplanMeier]]]


@dataclass(frozen=True)
class Computed:
    """:func:`compute_raw`'s table and the Kaplan-Meier fits behind its medians, which
    are also the curves of :func:`km_curves_se` (one computation for both)."""

    prepared: Prepared
    raw: pl.DataFrame
    fits: Fits


def compute(prep: Prepared) -> Computed:
    """The raw table (:func:`compute_raw`) and the Kaplan-Meier fits of a prepared delivery."""
    b = prep.rows
    frames: list[pl.DataFrame] = []
    exempt = prep.exempt()
    columns = [f"_{kind}_{event}" for event in KM_EVENTS for kind in ("time", "status")]
    times = event_times(b.select("_exempt", *columns).filter(~pl.col("_exempt")), KM_EVENTS)
    sig = _signatures(b)
    fits: dict[str, Mapping[str, Mapping[str, KaplanMeier]]] = {}
    for name, bd in prep.breakdowns.items():
        grouped = _category_sums(bd.labels, bd.code, sig)
        zero = {c: 0 for c in grouped.columns if c != "_cat"}
        counts = _with_categories(grouped, bd.spec, zero)
        fits[name] = fits_from_codes(bd.labels, bd.code[~exempt], times)
        frames.append(_rows(counts, name, fits[name]))
    long = pl.concat(frames, how="vertical")
    order = {name: i for i, name in enumerate(INDICATOR_IDS)}
    long = (
        long.with_row_index("_pos")
        .with_columns(pl.col("indicator").replace_strict(order).alias("_ind"))
        .sort(["_ind", "_pos"])
        .drop(["_ind", "_pos"])
    )
    low, high = wilson(long["numerator"].to_numpy(), long["denominator"].to_numpy())
    proportion = ~pl.col("indicator").is_in(MEDIAN_INDICATORS)
    long = long.with_columns(
        pl.Series("_wl", low, dtype=pl.Float64),
        pl.Series("_wh", high, dtype=pl.Float64),
    ).with_columns(
        pl.when(proportion & (pl.col("denominator") > 0))
        .then(pl.col("numerator") / pl.col("denominator"))
        .otherwise(pl.col("value"))
        .alias("value"),
        pl.when(proportion).then(pl.col("_wl")).otherwise(pl.col("ci_low")).alias("ci_low"),
        pl.when(proportion).then(pl.col("_wh")).otherwise(pl.col("ci_high")).alias("ci_high"),
    )
    long = long.with_columns(
        [pl.col(c).fill_nan(None) for c in ("value", "ci_low", "ci_high")]
    ).with_columns(pl.lit(prep.peildatum).alias("peildatum"))
    raw = long.select([pl.col(c).cast(t) for c, t in RAW_SCHEMA.items()])
    return Computed(prep, raw, fits)


def _km_per_category(
    population: pl.DataFrame, category: pl.Expr, events: Sequence[str]
) -> dict[str, dict[str, KaplanMeier]]:
    """KM fits per event and category (:func:`pijler3.analysis.survival.fits_per_category`)."""
    if population.height == 0:
        return {event: {} for event in events}
    labels, code = category_codes(population, category)
    return fits_per_category(population, labels, code, events)


def _rows(
    counts: pl.DataFrame, breakdown: str, km: Mapping[str, Mapping[str, KaplanMeier]]
) -> pl.DataFrame:
    cats = counts["_cat"].to_list()
    n = len(cats)
    col = {c: counts[c].to_list() for c in counts.columns}
    none: list[float | None] = [None] * n
    none_int: list[int | None] = [None] * n
    not_exempt = [a - e for a, e in zip(col["n_base"], col["n_exempt"], strict=True)]
    parts: list[dict[str, list[object]]] = []

    def add(
        indicator: str,
        den: Sequence[int],
        num: Sequence[int],
        censored: Sequence[int | None],
        exempt: Sequence[int | None],
        value: Sequence[float | None] = none,
        low: Sequence[float | None] = none,
        high: Sequence[float | None] = none,
    ) -> None:
        parts.append(
            {
                "indicator": [indicator] * n,
                "breakdown": [breakdown] * n,
                "category": list(cats),
                "denominator": list(den),
                "numerator": list(num),
                "value": list(value),
                "ci_low": list(low),
                "ci_high": list(high),
                "censored": list(censored),
                "exempt": list(exempt),
            }
        )

    def add_median(indicator: str, event: str) -> None:
        fits = [km[event].get(c) for c in cats]
        events = [f.events if f else 0 for f in fits]
        add(
            indicator,
            not_exempt,
            events,
            [d - e for d, e in zip(not_exempt, events, strict=True)],
            col["n_exempt"],
            [f.median if f else None for f in fits],
            [f.ci_low if f else None for f in fits],
            [f.ci_high if f else None for f in fits],
        )

    add("toeleiding", col["n_base"], col["num_toeleiding"], none_int, none_int)
    for indicator in WINDOWS:
        add(
            indicator,
            col[f"den_{indicator}"],
            col[f"num_{indicator}"],
            col[f"cens_{indicator}"],
            col["n_exempt"],
        )
    add_median("inschrijving_mediaan_dagen", "inschrijving")
    add_median("werk_mediaan_dagen", "werk")
    for action in ACTIONS:
        add(f"actie_{action}", col["n_registered"], col[f"num_actie_{action}"], none_int, none_int)
    schema = {k: v for k, v in RAW_SCHEMA.items() if k != "peildatum"}
    return pl.concat([pl.DataFrame(p, schema=schema) for p in parts], how="vertical")


# --- Curves and population counts ---------------------------------------------------------


def categories(df: pl.DataFrame, peildatum: dt.date, breakdown: str) -> tuple[str, ...]:
    """The fixed categories of a breakdown for this delivery, in table order."""
    b = base(df, peildatum)
    (bd,) = breakdown_specs(b, peildatum, (breakdown,))
    return bd.categories


def km_curves(
    df: pl.DataFrame, peildatum: dt.date, event: Event, breakdown: str = TOTAL
) -> dict[str, list[CurvePoint]]:
    """Kaplan-Meier curves of time to ``event`` on B minus E, per category of ``breakdown``.

    Each curve starts with ``(0, 1.0, n)`` (everyone still waiting, ``n`` the category's
    population) and then has one point per event time: ``(day, survival just after that
    day, number at risk just before it)``. A category with nobody gives an empty list.
    The curves are raw: apply :func:`pijler3.analysis.disclosure.truncate_curve` before drawing.
    """
    return {
        cat: [(d, s, n) for d, s, n, _ in points]
        for cat, points in km_curves_se(df, peildatum, event, breakdown).items()
    }


def km_curves_se(
    df: pl.DataFrame, peildatum: dt.date, event: Event, breakdown: str = TOTAL
) -> dict[str, list[tuple[int, float, int, float]]]:
    """:func:`km_curves` with Greenwood's standard error of the survival as a fourth
    element of each point (0 at the start, NaN where statsmodels leaves it undefined),
    from which the report draws the pointwise 95% band."""
    if breakdown not in KINDS:
        raise ValueError(f"unknown breakdown {breakdown!r}; choose one of {', '.join(BREAKDOWNS)}")
    if event not in EVENT_COLUMNS:
        raise ValueError(f"unknown event {event!r}; choose inschrijving or werk")
    b = base(df, peildatum)
    (bd,) = breakdown_specs(b, peildatum, (breakdown,))
    # Lazily, so that only the flags this curve needs are computed.
    population = (
        b.lazy()
        .with_columns(flag_exprs(peildatum))
        .filter(~pl.col("_exempt"))
        .select(bd.expr.alias("_cat"), f"_time_{event}", f"_status_{event}")
        .collect()
    )
    fits = _km_per_category(population, pl.col("_cat"), (event,))[event]
    return curve_points(bd.categories, fits)


def computed_curves(
    computed: Computed, event: Event, breakdown: str = TOTAL
) -> dict[str, list[tuple[int, float, int, float]]]:
    """:func:`km_curves_se` from the fits :func:`compute` made for the table: the same
    fits (B minus E, the same categories), so the same curves without a second pass."""
    bd = computed.prepared.breakdowns[breakdown]
    return curve_points(bd.spec.categories, computed.fits[breakdown][event])


def curve_points(
    categories: Sequence[str], fits: Mapping[str, KaplanMeier]
) -> dict[str, list[tuple[int, float, int, float]]]:
    """The points of :func:`km_curves_se` per category, in table order, from the fits."""
    extra = sorted(set(fits) - set(categories))
    out: dict[str, list[tuple[int, float, int, float]]] = {}
    for cat in (*categories, *extra):
        fit = fits.get(cat)
        if fit is None or fit.n == 0:
            out[cat] = []
            continue
        points = [(0, 1.0, fit.n, 0.0)]
        points += list(zip(fit.times, fit.survival, fit.at_risk, fit.survival_se, strict=True))
        out[cat] = points
    return out


def population_counts(
    df: pl.DataFrame, peildatum: dt.date, prepared: Prepared | None = None
) -> dict[str, int | dict[str, int]]:
    """The sizes behind the table, for the report's methodology section.

    ``rows``: rows in the delivery; ``base`` (|B|), ``exempt`` (|E|), ``registered`` (the
    ``actie_*`` population); why rows are not in B (``contract_missing``,
    ``contract_before_start``, ``contract_after_peildatum``); ``censored`` per windowed
    indicator (B minus E, window not closed); ``after_peildatum``: per indicator date, the
    rows of B whose date lies after ``peildatum`` and so counts as missing.
    ``prepared``: :func:`prepare` of the same ``df`` and ``peildatum``, when at hand.
    """
    c = pl.col("datum_inburgeringscontract")
    outside = df.select(
        c.is_null().sum().alias("missing"),
        (c < START).sum().alias("before"),
        (c > peildatum).sum().alias("after"),
    ).row(0, named=True)
    b = prepared.rows if prepared is not None else flags(base(df, peildatum), peildatum)
    not_exempt = ~pl.col("_exempt")
    sums = b.select(
        pl.col("_exempt").sum().alias("exempt"),
        pl.col("_registered").sum().alias("registered"),
        *[(not_exempt & ~pl.col(f"_closed_{i}")).sum().alias(f"cens_{i}") for i in WINDOWS],
        *[(pl.col(d) > peildatum).sum().alias(f"late_{d}") for d in INDICATOR_DATES],
    ).row(0, named=True)
    return {
        "rows": df.height,
        "base": b.height,
        "exempt": int(sums["exempt"] or 0),
        "registered": int(sums["registered"] or 0),
        "contract_missing": int(outside["missing"] or 0),
        "contract_before_start": int(outside["before"] or 0),
        "contract_after_peildatum": int(outside["after"] or 0),
        "censored": {i: int(sums[f"cens_{i}"] or 0) for i in WINDOWS},
        "after_peildatum": {d: int(sums[f"late_{d}"] or 0) for d in INDICATOR_DATES},
    }
