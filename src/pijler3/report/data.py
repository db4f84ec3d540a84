"""Assembling the report data: every figure of the monitoring report, read from the
analysis store and passed through disclosure control before anything else sees it.

:func:`build_report` reads every retained delivery from the store, computes the
indicators of INDICATORS.md per delivery and publishes them: the only way to get an
indicator table into :class:`ReportData` is
:func:`pijler3.analysis.disclosure.publish_indicators`, and the views and renderers accept
nothing but the :class:`~pijler3.analysis.disclosure.PublishedTable` it returns.
Kaplan-Meier curves are truncated by rule 4 here too, and the population sizes of the
methodology section go through :func:`pijler3.analysis.disclosure.publish_counts`. A
delivery past its retention date (``expires_at <= today``,
:func:`pijler3.governance.retention.is_expired`) is left out and the report says so.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import polars as pl

from pijler3.analysis import (
    disclosure,
    disclosure_protect,
    disclosure_publish,
    disparities,
    indicators,
    population,
)
from pijler3.analysis.disclosure import PublishedCounts, PublishedTable
from pijler3.analysis.linked_tables import DeliveryCounts, Earlier, Shown, Withheld, record
from pijler3.analysis.risk import RiskGate
from pijler3.analysis.store import Delivery, Store
from pijler3.contract.errors import UserError
from pijler3.contract.protocol import Disclosure, Protocol, Risk
from pijler3.extracts.quality import Quality
from pijler3.governance import retention
from pijler3.report import quality_disclosure
from pijler3.report.quality_data import QualitySummary, quality_summary

T = TypeVar("T")

KM_POINTS = 240  # the most points drawn per curve; the curve is sampled on a day grid
KM_EVENTS: tuple[population.Event, ...] = ("inschrijving", "werk")
# The indicator whose denominator is a curve's population (B minus E, the same fits).
KM_MEDIAN: Mapping[str, str] = {
    "inschrijving": "inschrijving_mediaan_dagen",
    "werk": "werk_mediaan_dagen",
}
# Breakdowns offered for the Kaplan-Meier curves (the whole population is always drawn).
KM_BREAKDOWNS = (
    "regio",
    "doelgroep",
    "geslacht",
    "leeftijdscategorie",
    "scholingsniveau",
    "verblijfsstatus",
    "nt2_niveau",
    "trajecttype",
    "oudste_nationaliteit",
)


@dataclass(frozen=True)
class DeliveryInfo:
    delivery_id: str
    peildatum: dt.date
    received_at: dt.datetime
    expires_at: dt.date
    rows: int
    quality: QualitySummary


@dataclass(frozen=True)
class OddsResult:
    outcome: disparities.Outcome
    table: pl.DataFrame  # disparities.SCHEMA; counts >= MIN_CATEGORY_ROWS only
    summary: str


# (day, cumulative share) points of a curve already truncated by rule 4.
CurvePoints = tuple[tuple[int, float], ...]
# (day, low, high) of the pointwise 95% band of the cumulative share, on the same days.
CurveBand = tuple[tuple[int, float, float], ...]


@dataclass(frozen=True)
class ReportData:
    """Everything the renderers need, already disclosure-controlled."""

    generated_at: dt.datetime
    protocol_id: str
    protocol_title: str
    disclosure: Disclosure
    deliveries: tuple[DeliveryInfo, ...]
    table: PublishedTable
    categories: Mapping[str, tuple[str, ...]]  # latest delivery, breakdown -> categories
    curves: Mapping[str, Mapping[str, Mapping[str, CurvePoints]]]  # event/breakdown/category
    odds: Mapping[str, OddsResult]
    populations: PublishedCounts
    risk: RiskGate | None
    km_max_day: int = 0
    # The protocol's risk thresholds, against which the risk section words the breaches.
    risk_rules: Risk | None = None
    notes: tuple[str, ...] = field(default=())
    # Deliveries still in the store but past their retention date, left out of every
    # figure; the header asks to run the purge.
    expired_left_out: int = 0
    # The 95% bands of the curves, event/breakdown/category, on the curves' days.
    curve_bands: Mapping[str, Mapping[str, Mapping[str, CurveBand]]] = field(default_factory=dict)
    # The disclosure audit of everything above (rules 6 and 7): the machine-readable
    # document written as disclosure.json, and its figures (disclosure_publish.summary).
    disclosure_document: Mapping[str, Any] = field(default_factory=dict)
    # The counts this report shows and the places of those it hides, which the store
    # records for later reports.
    shown: frozenset[Shown] = frozenset()
    withheld: frozenset[Withheld] = frozenset()

    @property
    def disclosure_audit(self) -> Mapping[str, Any]:
        audit = self.disclosure_document.get("audit")
        return audit if isinstance(audit, Mapping) else {}

    @property
    def latest(self) -> DeliveryInfo:
        return self.deliveries[-1]

    @property
    def quality_hidden(self) -> int:
        """The data-quality counts hidden because they bound a hidden count, or are
        totals of such counts (report.quality_disclosure); their rates not counted."""
        return sum(len(d.quality.hidden) for d in self.deliveries)


def _typed(d: Delivery, part: str, read: Callable[[Any], T]) -> T:
    """A part of a held delivery's manifest, typed; a malformed one is a clear error."""
    try:
        return read(d.manifest.get(part))
    except ValueError as exc:
        raise UserError(
            f"delivery {d.delivery_id}: the {part} summary of its manifest cannot be read ({exc}).",
            hint="Ingest the delivery again from AgII's package.",
        ) from None


def _band(survival: float, se: float) -> tuple[float, float]:
    """The pointwise 95% interval of a cumulative share ``1 - S`` from Greenwood's standard
    error of ``S``, on the log(-log) scale that statsmodels uses for its intervals
    (cloglog): it stays inside [0, 1]. No event yet (S = 1): no width."""
    if survival >= 1.0 or survival <= 0.0 or not math.isfinite(se):
        return (1.0 - survival, 1.0 - survival)
    log_s = math.log(survival)
    half = 1.959963984540054 * se / abs(survival * log_s)
    s_low, s_high = survival ** math.exp(half), survival ** math.exp(-half)
    return (1.0 - s_high, 1.0 - s_low)


def _thin(points: Sequence[tuple[int, float, int, float]]) -> tuple[CurvePoints, CurveBand]:
    """A truncated curve as (day, cumulative share) steps and its band, at most
    ``KM_POINTS`` of them.

    A long curve is sampled on a grid of whole days (the share at the last event on or
    before each grid day), which keeps its shape and bounds the size of the page.
    """
    days = [int(d) for d, _, _, _ in points]
    shares = [1.0 - float(s) for _, s, _, _ in points]
    # (index of the point drawn, day it is drawn at); the band is worked out for those alone.
    chosen = list(enumerate(days))
    if len(points) > KM_POINTS:
        last = days[-1]
        grid = max(1, math.ceil(last / KM_POINTS))
        chosen = chosen[:1]
        i = 0
        for day in range(grid, last + grid, grid):
            day = min(day, last)
            while i + 1 < len(days) and days[i + 1] <= day:
                i += 1
            if shares[i] != shares[chosen[-1][0]] or day == last:
                chosen.append((i, day))
    bands = {i: _band(float(points[i][1]), float(points[i][3])) for i, _ in chosen}
    return (
        tuple((d, shares[i]) for i, d in chosen),
        tuple((d, *bands[i]) for i, d in chosen),
    )


Curves = dict[str, dict[str, dict[str, CurvePoints]]]
Bands = dict[str, dict[str, dict[str, CurveBand]]]


def _curves(
    computed: indicators.Computed, rules: Disclosure, table: PublishedTable, peil: dt.date
) -> tuple[Curves, Bands]:
    """The curves and bands of the latest delivery (``peil``), truncated by rule 4.

    A category whose population the published ``table`` hides (its median's
    denominator) gets no curve: a Kaplan-Meier share is a fraction of that population
    (13/19 before anyone is censored), so its digits would tell the count.
    """
    out: Curves = {}
    bands: Bands = {}
    for event in KM_EVENTS:
        per: dict[str, dict[str, CurvePoints]] = {}
        per_band: dict[str, dict[str, CurveBand]] = {}
        for breakdown in (population.TOTAL, *KM_BREAKDOWNS):
            rows = table.rows(KM_MEDIAN[event], breakdown, peil)
            shown = {r["category"] for r in rows if r["denominator"] is not None}
            raw = indicators.computed_curves(computed, event, breakdown)
            thinned = {
                cat: _thin(disclosure.truncate_curve(points, rules)) if cat in shown else ((), ())
                for cat, points in raw.items()
            }
            per[breakdown] = {cat: c for cat, (c, _) in thinned.items()}
            per_band[breakdown] = {cat: b for cat, (_, b) in thinned.items()}
        out[event] = per
        bands[event] = per_band
    return out, bands


def build_report(
    store: Store,
    protocol: Protocol,
    *,
    now: dt.datetime,
    imported: Mapping[str, tuple[set[Shown], set[Withheld]]] | None = None,
) -> ReportData:
    """Every figure of the report, from every retained delivery, disclosure-controlled,
    taking into account what the reports the store recorded and the ``imported`` ones
    (by id: what each showed and hid) published.

    A delivery whose retention ended (``expires_at <= now.date()``) may no longer be
    used (protocol art. 3 and 6) even if no purge has removed it yet: it is not read,
    and :attr:`ReportData.expired_left_out` counts it.
    """
    today = now.date()
    stored: list[Delivery] = store.deliveries()
    held = [d for d in stored if not retention.is_expired(d.expires_at, today)]
    expired = len(stored) - len(held)
    if not stored:
        raise UserError(
            "the analysis store holds no delivery, so there is nothing to report.",
            hint="Ingest a published package first with 'pijler3 ingest'.",
        )
    if not held:
        raise UserError(
            f"every delivery in the analysis store ({expired}) is past its retention date "
            f"on {today:%d/%m/%Y}, so there is nothing it may report on.",
            hint="Run 'pijler3 purge' to destroy the expired deliveries, then ingest a newer "
            "published package with 'pijler3 ingest'.",
        )
    raws: list[pl.DataFrame] = []
    infos: list[DeliveryInfo] = []
    latest_df: pl.DataFrame | None = None
    computed: indicators.Computed | None = None
    for d in held:
        df = store.dataset(d.delivery_id, population.columns_read())
        computed = indicators.compute(population.prepare(df, d.peildatum))
        raws.append(computed.raw)
        infos.append(
            DeliveryInfo(
                d.delivery_id,
                d.peildatum,
                d.received_at,
                d.expires_at,
                d.row_count,
                quality_summary(_typed(d, "quality", Quality.from_manifest), d.row_count),
            )
        )
        latest_df = df
    assert latest_df is not None and computed is not None
    prepared = computed.prepared  # B of the latest delivery, its flags and categories
    latest = held[-1]
    rules = protocol.disclosure
    pop = indicators.population_counts(latest_df, latest.peildatum, prepared)
    # Rules 1-3 per delivery, then rule 6 across every table of every delivery and what
    # earlier reports showed, audited by LP before anything is written (a UserError when
    # it cannot pass).
    shown, withheld, reports = store.earlier()
    for report, (s, w) in (imported or {}).items():
        shown, withheld, reports = shown | s, withheld | w, reports | {report}
    protection = disclosure_protect.protect(
        [DeliveryCounts(r, pop if r is raws[-1] else None) for r in raws],
        rules,
        Earlier(frozenset(shown), frozenset(withheld)),
    )
    shows, hides = record(protection.tables, protection.hidden)
    hidden = protection.hidden_keys()
    # The quality counts that would bound a hidden count are hidden with it.
    places = disclosure_publish.hidden_places(protection)
    infos = [
        replace(i, quality=quality_disclosure.protect(i.quality, places.get(i.peildatum, ())))
        for i in infos
    ]
    table = disclosure.publish_indicators(raws, rules, hidden)
    del raws  # the raw counts go no further than this function
    cats = {bd: prepared.breakdowns[bd].spec.categories for bd in population.BREAKDOWNS}
    curves, bands = _curves(computed, protocol.disclosure, table, latest.peildatum)
    km_max = max(
        (pts[-1][0] for per in curves.values() for c in per.values() for pts in c.values() if pts),
        default=0,
    )
    odds: dict[str, OddsResult] = {}
    for outcome in disparities.OUTCOMES:
        ors = _hide_group_sizes(
            disparities.odds_ratios(prepared, latest.peildatum, outcome), table, latest.peildatum
        )
        odds[outcome] = OddsResult(outcome, ors, disparities.summary_nl(ors, outcome))
    risk = _typed(latest, "risk", RiskGate.from_manifest) if latest.manifest.get("risk") else None
    return ReportData(
        generated_at=now,
        protocol_id=protocol.id,
        protocol_title=protocol.title,
        disclosure=protocol.disclosure,
        deliveries=tuple(infos),
        table=table,
        categories=cats,
        curves=curves,
        odds=odds,
        populations=disclosure.publish_counts(
            pop, rules, disclosure_publish.population_hidden(protection, latest.peildatum)
        ),
        risk=risk,
        km_max_day=km_max,
        risk_rules=protocol.risk,
        expired_left_out=expired,
        curve_bands=bands,
        disclosure_document=disclosure_publish.document(protection, rules, len(reports)),
        shown=frozenset(shows),
        withheld=frozenset(hides),
    )


def _hide_group_sizes(ors: pl.DataFrame, table: PublishedTable, peil: dt.date) -> pl.DataFrame:
    """The odds table with the group sizes (``n``) of a profile field left empty when
    any denominator of the outcome by that field, or its ``totaal``, is hidden.

    A model's group size is at most the indicator's denominator of that group, and the
    sizes of one field add up to the model's size: shown next to a hidden denominator
    they could narrow it. With every denominator of the field shown they add nothing an
    attacker could use (any hidden count stays free), so they need no audit of their own.
    """
    if ors.height == 0:
        return ors
    frame = table.frame.filter(pl.col("peildatum") == peil)
    blank: set[str] = set()
    for outcome, term in ors.select("outcome", "term").unique().iter_rows():
        rows = frame.filter(
            (pl.col("indicator") == outcome) & pl.col("breakdown").is_in([term, "totaal"])
        )
        if rows.height == 0 or rows["denominator"].null_count():
            blank.add(f"{outcome}\x00{term}")
    key = pl.concat_str("outcome", pl.lit("\x00"), "term")
    return ors.with_columns(
        pl.when(key.is_in(list(blank))).then(None).otherwise(pl.col("n")).alias("n")
    )
