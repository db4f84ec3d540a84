"""Step 5 (ABB): the monitoring report — indicators, curves, disparities, risk, quality.

:func:`build_report` reads every retained delivery from the analysis store, computes the
indicators of INDICATORS.md per delivery and passes them through disclosure control
*before* anything else sees them: the only way to get an indicator table into
:class:`ReportData` is :func:`publish_indicators`, which runs
:func:`pijler3.analysis.disclosure.suppress`, and the renderers accept nothing but the
:class:`PublishedTable` it returns. Kaplan-Meier curves are truncated by rule 4 in the
same place, and the population sizes of the methodology section (B, E, the censored, the
rows not in B) go through the same thresholds in :func:`publish_counts`, whose
:class:`PublishedCounts` is the only form in which they reach the template. A delivery
past its retention date (``expires_at <= today``, :func:`pijler3.governance.retention.is_expired`)
is left out and the report says so. The renderers then write three files:

- ``indicators.csv``: exactly the columns of DATA.md §4, full precision, for every
  retained delivery;
- ``report.xlsx``: the same rows, a formatted sheet per indicator, quality, definitions;
- ``report.html``: one self-contained Dutch page (inline CSS and SVG, no network).

The report holds aggregated, disclosure-controlled figures only: never a pseudonym,
never a value of one person.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import polars as pl
import xlsxwriter
from markupsafe import Markup

from pijler3.analysis import disclosure, disparities, indicators
from pijler3.analysis.store import Delivery, Store
from pijler3.contract import codes
from pijler3.contract.errors import UserError
from pijler3.contract.protocol import Disclosure, Protocol, Risk
from pijler3.exchange.atomic import write_atomic
from pijler3.exchange.workspace import Workspace
from pijler3.extracts import quality
from pijler3.governance import retention
from pijler3.report import charts
from pijler3.report.charts import fmt_date, fmt_int, fmt_num, fmt_pct, fmt_value

FORMAT = "pijler3-report/1"
HTML_NAME = "report.html"
XLSX_NAME = "report.xlsx"
CSV_NAME = "indicators.csv"
KM_POINTS = 240  # the most points drawn per curve; the curve is sampled on a day grid
KM_EVENTS: tuple[indicators.Event, ...] = ("inschrijving", "werk")
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
HEADLINE = (
    "toeleiding",
    "inschrijving_60d",
    "werk_12m",
    "inschrijving_mediaan_dagen",
    "werk_mediaan_dagen",
)
MIN_LABEL_COUNT = 5  # invalid raw codes seen fewer times are grouped as "overige"


# --- Dutch texts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorText:
    title: str
    short: str
    population: str
    success: str
    unit: charts.Unit


INDICATOR_TEXT: Mapping[str, IndicatorText] = {
    "toeleiding": IndicatorText(
        "Toeleiding naar VDAB",
        "toegeleid naar VDAB",
        "Iedereen met een geldig inburgeringscontract vanaf 01/03/2022 tot en met de "
        "peildatum (de basispopulatie B).",
        "Er is een datum van toeleiding naar VDAB ingevuld (niet later dan de peildatum).",
        "pct",
    ),
    "inschrijving_60d": IndicatorText(
        "Inschrijving bij VDAB binnen 60 dagen",
        "binnen 60 dagen ingeschreven",
        "De basispopulatie zonder wie vrijgesteld is van de 60-dagenregel (besluit PLO "
        "'werkt al' of 'geen toegang tot de arbeidsmarkt'), en alleen wie zijn contract "
        "minstens 60 dagen vóór de peildatum tekende.",
        "Een eerste inschrijving bij VDAB uiterlijk 60 dagen na het contract (een "
        "inschrijving van vóór het contract telt mee).",
        "pct",
    ),
    "inschrijving_mediaan_dagen": IndicatorText(
        "Mediane tijd tot inschrijving bij VDAB",
        "mediane tijd tot inschrijving",
        "De basispopulatie zonder vrijgestelden.",
        "Het aantal dagen tot de helft ingeschreven is, geschat met Kaplan–Meier: wie "
        "(nog) niet ingeschreven is, telt mee tot de peildatum. Wie zich vóór het "
        "contract inschreef, telt met 0 dagen. De teller is het aantal waargenomen "
        "inschrijvingen.",
        "days",
    ),
    "werk_6m": IndicatorText(
        "Uitstroom naar werk binnen 6 maanden",
        "binnen 6 maanden aan het werk",
        "De basispopulatie zonder vrijgestelden, alleen wie zijn contract minstens 182 "
        "dagen vóór de peildatum tekende.",
        "Een uitstroom naar werk uiterlijk 182 dagen na het contract.",
        "pct",
    ),
    "werk_12m": IndicatorText(
        "Uitstroom naar werk binnen 12 maanden",
        "binnen 12 maanden aan het werk",
        "De basispopulatie zonder vrijgestelden, alleen wie zijn contract minstens 365 "
        "dagen vóór de peildatum tekende.",
        "Een uitstroom naar werk uiterlijk 365 dagen na het contract.",
        "pct",
    ),
    "werk_mediaan_dagen": IndicatorText(
        "Mediane tijd tot werk",
        "mediane tijd tot werk",
        "De basispopulatie zonder vrijgestelden.",
        "Het aantal dagen tot de helft uitgestroomd is naar werk, geschat met "
        "Kaplan–Meier (censuur op de peildatum). Leeg als de curve de 50 % niet haalt. "
        "De teller is het aantal waargenomen uitstromen naar werk.",
        "days",
    ),
    "actie_orientatie": IndicatorText(
        "VDAB-actie oriëntatie",
        "met een oriëntatieactie",
        "Iedereen van de basispopulatie (vrijgestelden inbegrepen) die uiterlijk op de "
        "peildatum bij VDAB ingeschreven is.",
        "Minstens één actie van het type oriëntatie die ten laatste op de peildatum startte.",
        "pct",
    ),
    "actie_context": IndicatorText(
        "VDAB-actie context",
        "met een contextactie",
        "Iedereen van de basispopulatie (vrijgestelden inbegrepen) die uiterlijk op de "
        "peildatum bij VDAB ingeschreven is.",
        "Minstens één actie van het type context die ten laatste op de peildatum startte.",
        "pct",
    ),
    "actie_competentieversterking": IndicatorText(
        "VDAB-actie competentieversterking",
        "met een actie competentieversterking",
        "Iedereen van de basispopulatie (vrijgestelden inbegrepen) die uiterlijk op de "
        "peildatum bij VDAB ingeschreven is.",
        "Minstens één actie van het type competentieversterking die ten laatste op de "
        "peildatum startte.",
        "pct",
    ),
    "actie_solliciteren": IndicatorText(
        "VDAB-actie solliciteren",
        "met een sollicitatieactie",
        "Iedereen van de basispopulatie (vrijgestelden inbegrepen) die uiterlijk op de "
        "peildatum bij VDAB ingeschreven is.",
        "Minstens één actie van het type solliciteren die ten laatste op de peildatum startte.",
        "pct",
    ),
}

REFERENCES: Mapping[str, str] = {
    "toeleiding": "74 % van de verplichte inburgeraars met een contract sinds maart 2022 "
    "was tegen januari 2023 naar VDAB toegeleid (17 % vóór de hervorming).",
    "inschrijving_60d": "Atlas (Antwerpen): 80 % van wie in 2023 een contract tekende, "
    "stond binnen twee maanden bij VDAB ingeschreven.",
    "werk_12m": "32,8 % van de nieuwkomers die zich in 2022 bij VDAB inschreven, vond "
    "datzelfde jaar werk.",
    "werk_mediaan_dagen": "Academisch cohortonderzoek: 40–45 % is na vijf jaar aan het werk.",
}
REFERENCE_VALUES: Mapping[str, float] = {
    "toeleiding": 0.74,
    "inschrijving_60d": 0.80,
    "werk_12m": 0.328,
}

# The one Dutch label of every column the report names: the fields of the protocol (art. 3)
# and the columns of the incoming extracts, direct identifiers included. Quality tables,
# the risk section, chart labels and breakdown titles all read it through
# :func:`field_label` (a table cell or heading) or :func:`field_label_in_text` (inside a
# sentence), so that one column never has two names. The protocol's own descriptions are
# longer than a table cell ("Regiobepaling in het cliëntvolgsysteem"); a test checks that
# every field and extract column of the shipped protocol has an entry here.
FIELD_NL: Mapping[str, str] = {
    "pseudoniem": "Pseudoniem",
    "peildatum": "Peildatum",
    "leeftijdscategorie": "Leeftijdscategorie",
    "geslacht": "Geslacht",
    "scholingsniveau": "Scholingsniveau",
    "oudste_nationaliteit": "Oudste nationaliteit",
    "datum_toeleiding_vdab": "Datum toeleiding naar VDAB",
    "doelgroep": "Doelgroep",
    "datum_doelgroep": "Datum doelgroep inburgering",
    "datum_inburgeringscontract": "Datum inburgeringscontract",
    "datum_aanmelding": "Datum aanmelding",
    "regio": "Regio",
    "toeleiding_diplomagelijkschakeling": "Toeleiding diplomagelijkschakeling",
    "resultaat_diplomagelijkschakeling": "Resultaat diplomagelijkschakeling",
    "plo_besluit": "Besluit PLO",
    "plo_reden": "Reden besluit PLO",
    "taalleervermogen": "Ingeschat taalleervermogen",
    "nt2_niveau": "Hoogst behaald NT2-niveau",
    "trajecttype": "Trajecttype",
    "ocmw_leefloon": "OCMW-leefloon",
    "datum_laatste_nt2_activiteit": "Datum laatste NT2-vormingsactiviteit",
    "verblijfsstatus": "Verblijfsstatus",
    "vdab_datum_eerste_inschrijving": "Datum eerste inschrijving bij VDAB",
    "vdab_datum_recentste_inschrijving": "Datum recentste inschrijving bij VDAB",
    "vdab_categorie_werkzoekende": "Categorie werkzoekende (VDAB)",
    "vdab_status_dienstverlening": "Status dienstverlening (VDAB)",
    "datum_uitstroom_werk": "Datum uitstroom naar werk",
    "vdab_actie_orientatie": "VDAB-actie oriëntatie",
    "vdab_actie_context": "VDAB-actie context",
    "vdab_actie_competentieversterking": "VDAB-actie competentieversterking",
    "vdab_actie_solliciteren": "VDAB-actie solliciteren",
    # Columns of the extracts only (they never reach the monitoring dataset).
    "insz": "INSZ",
    "geboortedatum": "Geboortedatum",
    "actietype": "Actietype",
    "startdatum": "Startdatum actie",
    "naam": "Naam",
    "voornaam": "Voornaam",
    "straat": "Straat",
    "huisnummer": "Huisnummer",
    "postcode": "Postcode",
    "gemeente": "Gemeente",
    "telefoon": "Telefoonnummer",
    "e_mail": "E-mailadres",
}


def _readable(name: str) -> str:
    """A column this table does not know yet still gets a readable, capitalised label."""
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]


# A breakdown is named by its field's label; only the two that are not fields need one.
BREAKDOWN_NL: Mapping[str, str] = {
    bd: {"totaal": "Totaal", "cohort": "Cohort (kwartaal van het contract)"}.get(bd)
    or FIELD_NL.get(bd)
    or _readable(bd)
    for bd in indicators.BREAKDOWNS
}


def field_label(name: str) -> str:
    """The Dutch label of a column, capitalised, for a table cell, axis or heading."""
    return BREAKDOWN_NL.get(name) or FIELD_NL.get(name) or _readable(name)


def in_text(label: str) -> str:
    """A capitalised label as it reads inside a sentence: the first letter in lower case,
    unless the first word is an abbreviation ("VDAB-actie", "OCMW-leefloon", "INSZ")."""
    first = label.split(" ", 1)[0].split("-", 1)[0]
    if len(first) > 1 and first.isupper():
        return label
    return label[:1].lower() + label[1:]


def field_label_in_text(name: str) -> str:
    """The Dutch label of a column inside a sentence ("datum inburgeringscontract")."""
    return in_text(field_label(name))


def join_nl(items: Sequence[str]) -> str:
    """``a, b en c``: a Dutch enumeration."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} en {items[-1]}"


_CATEGORY_NL: Mapping[str, Mapping[str, str]] = {
    "geslacht": {"M": "Man", "V": "Vrouw", "X": "X"},
    "regio": {
        "ANTWERPEN_STAD": "Antwerpen (stad)",
        "GENT_STAD": "Gent (stad)",
        "PROVINCIE_ANTWERPEN": "Provincie Antwerpen",
        "LIMBURG": "Limburg",
        "OOST_VLAANDEREN": "Oost-Vlaanderen",
        "VLAAMS_BRABANT": "Vlaams-Brabant",
        "WEST_VLAANDEREN": "West-Vlaanderen",
        "BRUSSEL": "Brussel",
    },
    "plo_besluit": {"TOELEIDING_VDAB": "Toeleiding VDAB"},
    "verblijfsstatus": {"EU_BURGER": "EU-burger"},
    "nt2_niveau": {"GEEN": "Geen"},
}

CONSISTENCY_NL: Mapping[str, str] = {
    "contract_before_aanmelding": "Contract vóór de aanmelding",
    "toeleiding_before_aanmelding": "Toeleiding vóór de aanmelding",
    "uitstroom_before_inschrijving": "Uitstroom naar werk vóór de eerste inschrijving",
    "leeftijd_onder_18": "Leeftijdscategorie jonger dan 18",
    "duplicate_pseudonyms": "Dubbele pseudoniemen",
    "datum_toeleiding_vdab_after_peildatum": "Datum toeleiding na de peildatum",
    "vdab_datum_eerste_inschrijving_after_peildatum": "Eerste inschrijving na de peildatum",
    "vdab_datum_recentste_inschrijving_after_peildatum": "Recentste inschrijving na de peildatum",
    "datum_uitstroom_werk_after_peildatum": "Uitstroom naar werk na de peildatum",
}

AFTER_PEILDATUM = "_after_peildatum"


def consistency_label(check: str) -> str:
    """The Dutch name of a consistency check; a date column after the peildatum that has
    no name of its own is named by its column's label."""
    if check in CONSISTENCY_NL:
        return CONSISTENCY_NL[check]
    if check.endswith(AFTER_PEILDATUM):
        return f"{field_label(check.removesuffix(AFTER_PEILDATUM))} na de peildatum"
    return check


QUARANTINE_NL: Mapping[str, str] = {
    quality.INSZ_MISSING: "INSZ ontbreekt",
    quality.INSZ_FORMAT: "INSZ heeft een verkeerde vorm",
    quality.INSZ_CHECKSUM: "INSZ met foute controlecijfers",
    quality.INSZ_SERIAL: "INSZ met ongeldig volgnummer",
}

EXTRACT_NL: Mapping[str, str] = {
    "kbi": "KBI-extract (AgII)",
    "werkzoekenden": "VDAB-werkzoekenden",
    "acties": "VDAB-acties",
}


def category_nl(breakdown: str, category: str) -> str:
    """The Dutch label of a category for people (the code stays in the CSV)."""
    if category == indicators.TOTAL:
        return "Totaal"
    if category == indicators.UNKNOWN:
        return "Onbekend"
    if category == indicators.OTHER:
        return "Overige"
    if breakdown == "ocmw_leefloon":
        return {"true": "Ja", "false": "Nee"}.get(category, category)
    if breakdown == "oudste_nationaliteit":
        return codes.country_name_nl(category)
    if breakdown == "cohort":
        return category.replace("-Q", " K")
    if breakdown == "leeftijdscategorie":
        return f"{category.replace('-', '–')} jaar"
    named = _CATEGORY_NL.get(breakdown, {}).get(category)
    if named:
        return named
    text = category.replace("_", " ").lower()
    return text[:1].upper() + text[1:]


def cohort_tick(category: str) -> str:
    """A cohort as a two-line axis label, quarter over year ("2022-Q2" -> "K2\\n2022"), so
    that the year is written once under its quarters and the labels never collide."""
    year, sep, quarter = category.partition("-Q")
    return f"K{quarter}\n{year}" if sep else category_nl("cohort", category)


# --- Disclosure-controlled tables ---------------------------------------------------------

_PUBLISH_KEY = object()


class PublishedTable:
    """An indicator table after disclosure control (DATA.md §4 columns, nulls hidden).

    Only :func:`publish_indicators` makes one: the constructor refuses any other caller,
    so a renderer that takes a ``PublishedTable`` can never be handed raw counts.
    """

    __slots__ = ("_frame",)

    def __init__(self, frame: pl.DataFrame, key: object) -> None:
        if key is not _PUBLISH_KEY:
            raise TypeError("a PublishedTable comes from publish_indicators() only")
        if tuple(frame.columns) != disclosure.COLUMNS:
            raise ValueError("a published table has exactly the columns of DATA.md §4")
        self._frame = frame

    @property
    def frame(self) -> pl.DataFrame:
        return self._frame

    def rows(self, indicator: str, breakdown: str, peildatum: dt.date) -> list[dict[str, Any]]:
        return self._frame.filter(
            (pl.col("indicator") == indicator)
            & (pl.col("breakdown") == breakdown)
            & (pl.col("peildatum") == peildatum)
        ).to_dicts()


def publish_indicators(raws: Sequence[pl.DataFrame], rules: Disclosure) -> PublishedTable:
    """Disclosure control of each delivery's raw table, concatenated in delivery order."""
    published = [disclosure.suppress(raw, rules) for raw in raws]
    frame = (
        pl.concat(published, how="vertical")
        if published
        else pl.DataFrame(schema=dict(zip(disclosure.COLUMNS, _CSV_TYPES, strict=True)))
    )
    return PublishedTable(frame, _PUBLISH_KEY)


@dataclass(frozen=True)
class PublishedCounts:
    """The population sizes behind the table after disclosure control; ``None`` is hidden.

    These are counts of persons, so the indicator table's rules apply to them too (rule 1
    with the protocol's ``min_numerator``, rule 3 where parts add up to a shown total,
    rule 5: zero is shown). Only :func:`publish_counts` makes one: the constructor refuses
    any other caller, so the template can never be handed the raw sizes.
    """

    rows: int | None
    base: int | None
    exempt: int | None
    registered: int | None
    contract_missing: int | None
    contract_before_start: int | None
    contract_after_peildatum: int | None
    censored: Mapping[str, int | None]
    after_peildatum: Mapping[str, int | None]
    key: InitVar[object] = None

    def __post_init__(self, key: object) -> None:
        if key is not _PUBLISH_KEY:
            raise TypeError("PublishedCounts come from publish_counts() only")


# The parts that add up to all rows of a delivery: in B, or out of it for one reason.
_ROW_PARTS = ("base", "contract_missing", "contract_before_start", "contract_after_peildatum")


def publish_counts(raw: Mapping[str, Any], rules: Disclosure) -> PublishedCounts:
    """Disclosure control of :func:`pijler3.analysis.indicators.population_counts`.

    A count of 1 to ``min_numerator - 1`` is hidden; zero is shown. The delivery's row
    count is shown in the quality section anyway, so when exactly one of the parts that
    add up to it is hidden, the smallest shown non-zero part (ties by name) is hidden
    too, as rule 3 does within a breakdown; one pass settles a single group.
    """

    def small(n: int) -> bool:
        return 0 < n < rules.min_numerator

    def shown(n: int, hidden: bool = False) -> int | None:
        return None if hidden or small(n) else n

    rows = int(raw["rows"])
    parts = [int(raw[k]) for k in _ROW_PARTS]
    hidden = [small(n) for n in parts]
    if not small(rows) and sum(hidden) == 1:
        candidates = [(n, k, i) for i, (n, k) in enumerate(zip(parts, _ROW_PARTS, strict=True))]
        left = [c for c in candidates if not hidden[c[2]] and c[0]]
        if left:
            hidden[min(left)[2]] = True
    part = {k: shown(n, h) for k, n, h in zip(_ROW_PARTS, parts, hidden, strict=True)}
    return PublishedCounts(
        rows=shown(rows),
        base=part["base"],
        exempt=shown(int(raw["exempt"])),
        registered=shown(int(raw["registered"])),
        contract_missing=part["contract_missing"],
        contract_before_start=part["contract_before_start"],
        contract_after_peildatum=part["contract_after_peildatum"],
        censored={str(k): shown(int(v)) for k, v in (raw.get("censored") or {}).items()},
        after_peildatum={
            str(k): shown(int(v)) for k, v in (raw.get("after_peildatum") or {}).items()
        },
        key=_PUBLISH_KEY,
    )


def fmt_count(n: int | None) -> Markup:
    """A published count for the HTML: the suppression mark where it is hidden."""
    if n is None:
        return Markup('<abbr class="legend-supp" title="onderdrukt: kleine aantallen">x</abbr>')
    return Markup.escape(fmt_int(n))


_CSV_TYPES = (
    pl.Date,
    pl.String,
    pl.String,
    pl.String,
    pl.Int64,
    pl.Int64,
    pl.Float64,
    pl.Float64,
    pl.Float64,
    pl.Boolean,
)


# --- Report data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class InvalidCode:
    extract: str
    column: str
    label: str  # a raw code text, or "overige" for codes seen fewer than 5 times
    count: int


@dataclass(frozen=True)
class QualitySummary:
    """The data-quality figures of one delivery, from its manifest: counts only."""

    rows_read: int | None
    rows: int
    quarantined: Mapping[str, int]
    identifiers_removed: int | None
    match_rate: float | None
    matched: int | None
    duplicates_resolved: int | None
    actions_unknown_type: int | None
    consistency: Mapping[str, int]
    # (extract, column) -> empty cells in the extract, from the readers' findings.
    missing: Mapping[tuple[str, str], int]
    # (extract, column) -> values present but not valid (INSZ included).
    invalid: Mapping[tuple[str, str], int]
    invalid_codes: tuple[InvalidCode, ...]
    identifiers_dropped: tuple[str, ...]
    # Column -> nulls in the monitoring dataset, where an invalid value is null too: so
    # "empty" (missing or invalid), never shown as the missing count.
    empty: Mapping[str, int] = field(default_factory=dict)
    # Words of the free text that export's allow-list removed (counted, never shown).
    words_removed: int | None = None

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())

    @property
    def invalid_total(self) -> int:
        """Invalid values outside INSZ: a row with an invalid INSZ is counted as
        quarantined, and counting it here too would count it twice in the trend."""
        return sum(n for (_, c), n in self.invalid.items() if not c.startswith("insz"))

    @property
    def consistency_total(self) -> int:
        return sum(self.consistency.values())


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
    risk: Mapping[str, Any] | None
    km_max_day: int = 0
    # The protocol's risk thresholds, against which the risk section words the breaches.
    risk_rules: Risk | None = None
    notes: tuple[str, ...] = field(default=())
    # Deliveries still in the store but past their retention date, left out of every
    # figure; the header asks to run the purge.
    expired_left_out: int = 0

    @property
    def latest(self) -> DeliveryInfo:
        return self.deliveries[-1]


def _findings(items: Any) -> list[dict[str, Any]]:
    return [f for f in items if isinstance(f, dict)] if isinstance(items, list) else []


def quality_summary(manifest: Mapping[str, Any], rows: int) -> QualitySummary:
    """The quality figures of a delivery's manifest, with rare invalid codes grouped."""
    q: Mapping[str, Any] = manifest.get("quality") or {}
    missing: dict[tuple[str, str], int] = {}
    invalid: dict[tuple[str, str], int] = {}
    labels: dict[tuple[str, str, str], int] = {}
    dropped: list[str] = []
    for extract in ("kbi", "werkzoekenden", "acties"):
        for f in _findings(q.get(extract)):
            reason, column = f.get("reason"), str(f.get("column") or "")
            count = int(f.get("count") or 0)
            if reason == quality.DIRECT_IDENTIFIER_DROPPED:
                dropped.append(column)
            # An empty INSZ is missing, not invalid, although the readers' reason set
            # INVALID_REASONS holds it (it sends the row to quarantine all the same).
            if reason in (quality.MISSING, quality.INSZ_MISSING):
                missing[(extract, column)] = missing.get((extract, column), 0) + count
            elif reason in quality.INVALID_REASONS:
                invalid[(extract, column)] = invalid.get((extract, column), 0) + count
            if reason == quality.CODE_INVALID and f.get("label") is not None:
                key = (extract, column, str(f["label"]))
                labels[key] = labels.get(key, 0) + count
    grouped: dict[tuple[str, str, str], int] = {}
    for (extract, column, label), count in labels.items():
        key = (extract, column, label if count >= MIN_LABEL_COUNT else "overige")
        grouped[key] = grouped.get(key, 0) + count
    invalid_codes = tuple(
        InvalidCode(e, c, label, n)
        for (e, c, label), n in sorted(grouped.items(), key=lambda kv: (kv[0][:2], -kv[1]))
    )
    linkage: Mapping[str, Any] = q.get("linkage") or {}

    def opt_int(value: Any) -> int | None:
        return None if value is None else int(value)

    return QualitySummary(
        rows_read=opt_int(q.get("rows_read")),
        rows=rows,
        quarantined={str(k): int(v) for k, v in (q.get("quarantined") or {}).items()},
        identifiers_removed=opt_int(q.get("identifiers_removed")),
        match_rate=None if linkage.get("match_rate") is None else float(linkage["match_rate"]),
        matched=opt_int(linkage.get("matched")),
        duplicates_resolved=opt_int(linkage.get("duplicates_resolved")),
        actions_unknown_type=opt_int(linkage.get("actions_unknown_type")),
        consistency={str(k): int(v) for k, v in (q.get("consistency") or {}).items()},
        missing=missing,
        invalid=invalid,
        invalid_codes=invalid_codes,
        identifiers_dropped=tuple(dict.fromkeys(dropped)),
        empty={str(k): int(v) for k, v in (q.get("missing") or {}).items()},
        words_removed=opt_int(q.get("words_removed")),
    )


def _thin(points: Sequence[tuple[int, float, int]]) -> CurvePoints:
    """A truncated curve as (day, cumulative share) steps, at most ``KM_POINTS`` of them.

    A long curve is sampled on a grid of whole days (the share at the last event on or
    before each grid day), which keeps its shape and bounds the size of the page.
    """
    steps = [(int(d), 1.0 - float(s)) for d, s, _ in points]
    if len(steps) <= KM_POINTS:
        return tuple(steps)
    last = steps[-1][0]
    grid = max(1, math.ceil(last / KM_POINTS))
    out: list[tuple[int, float]] = [steps[0]]
    i = 0
    for day in range(grid, last + grid, grid):
        day = min(day, last)
        while i + 1 < len(steps) and steps[i + 1][0] <= day:
            i += 1
        if steps[i][1] != out[-1][1] or day == last:
            out.append((day, steps[i][1]))
    return tuple(out)


def _curves(
    df: pl.DataFrame, peildatum: dt.date, rules: Disclosure
) -> dict[str, dict[str, dict[str, CurvePoints]]]:
    out: dict[str, dict[str, dict[str, CurvePoints]]] = {}
    for event in KM_EVENTS:
        per: dict[str, dict[str, CurvePoints]] = {}
        for breakdown in (indicators.TOTAL, *KM_BREAKDOWNS):
            raw = indicators.km_curves(df, peildatum, event, breakdown)
            per[breakdown] = {
                cat: _thin(disclosure.truncate_curve(points, rules)) for cat, points in raw.items()
            }
        out[event] = per
    return out


def build_report(store: Store, protocol: Protocol, *, now: dt.datetime) -> ReportData:
    """Every figure of the report, from every retained delivery, disclosure-controlled.

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
    for d in held:
        df = store.dataset(d.delivery_id)
        raws.append(indicators.compute_raw(df, d.peildatum))
        infos.append(
            DeliveryInfo(
                d.delivery_id,
                d.peildatum,
                d.received_at,
                d.expires_at,
                d.row_count,
                quality_summary(d.manifest, d.row_count),
            )
        )
        latest_df = df
    assert latest_df is not None
    table = publish_indicators(raws, protocol.disclosure)
    del raws  # the raw counts go no further than this function
    latest = held[-1]
    cats = {
        bd: indicators.categories(latest_df, latest.peildatum, bd) for bd in indicators.BREAKDOWNS
    }
    curves = _curves(latest_df, latest.peildatum, protocol.disclosure)
    km_max = max(
        (pts[-1][0] for per in curves.values() for c in per.values() for pts in c.values() if pts),
        default=0,
    )
    odds: dict[str, OddsResult] = {}
    for outcome in disparities.OUTCOMES:
        ors = disparities.odds_ratios(latest_df, latest.peildatum, outcome)
        odds[outcome] = OddsResult(outcome, ors, disparities.summary_nl(ors, outcome))
    risk = latest.manifest.get("risk")
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
        populations=publish_counts(
            indicators.population_counts(latest_df, latest.peildatum), protocol.disclosure
        ),
        risk=risk if isinstance(risk, dict) else None,
        km_max_day=km_max,
        risk_rules=protocol.risk,
        expired_left_out=expired,
    )


GRANULARITY_NL: Mapping[str, str] = {
    "day": "per dag",
    "month": "per maand",
    "quarter": "per kwartaal",
    "year": "per jaar",
}
RISK_DRIVERS = 3  # as many quasi-identifiers as the gate's own message names


def _drivers(items: Any, key: str) -> list[tuple[str, float]]:
    """The (field, amount) pairs of a manifest's contribution list with a positive amount,
    largest first, at most ``RISK_DRIVERS``."""
    pairs = [
        (str(c.get("field")), float(c.get(key) or 0))
        for c in (items if isinstance(items, list) else [])
        if isinstance(c, dict)
    ]
    pairs = sorted((p for p in pairs if p[1] > 0), key=lambda p: -p[1])
    return pairs[:RISK_DRIVERS]


def risk_breaches_nl(r: Mapping[str, Any], rules: Risk) -> list[str]:
    """The risk thresholds of the protocol that the measured figures exceed, in Dutch.

    Worded from the numbers of the manifest's risk dictionary and the protocol's
    thresholds, not translated from the English lines the publication step recorded
    (those stay in the manifest and the audit log for the people who run the chain).
    """
    combination = (
        "geen enkel kenmerk springt eruit: het komt door de combinatie van alle "
        "quasi-identificerende kenmerken"
    )
    out: list[str] = []
    records = int(r.get("records") or 0)
    uniques = int(r.get("sample_uniques") or 0)
    share = float(r.get("sample_unique_share") or 0.0)
    if share > rules.max_sample_unique_share:
        granularity = GRANULARITY_NL.get(str(r.get("date_granularity")), "")
        by_uniques = [
            f"{field_label_in_text(f)} ("
            + (
                f"{fmt_int(round(n))} unieke records minder zonder dit kenmerk"
                if i == 0
                else f"{fmt_int(round(n))} minder"
            )
            + ")"
            for i, (f, n) in enumerate(_drivers(r.get("contributions"), "uniques"))
        ]
        out.append(
            f"{fmt_int(uniques)} van de {fmt_int(records)} records ({fmt_pct(share)}) "
            f"{'is' if uniques == 1 else 'zijn'} uniek op de quasi-identificerende kenmerken"
            + (f" (datums {granularity})" if granularity else "")
            + f", meer dan het maximum van {fmt_pct(rules.max_sample_unique_share)} uit het "
            "protocol; "
            + (f"vooral door {join_nl(by_uniques)}." if by_uniques else f"{combination}.")
        )
    mean_risk = float(r.get("mean_risk") or 0.0)
    if mean_risk > rules.max_mean_risk:
        by_risk = [
            f"{field_label_in_text(f)} ("
            + (
                f"het gemiddelde risico daalt met {fmt_num(x, 3)} zonder dit kenmerk"
                if i == 0
                else f"{fmt_num(x, 3)}"
            )
            + ")"
            for i, (f, x) in enumerate(_drivers(r.get("mean_risk_contributions"), "mean_risk"))
        ]
        out.append(
            f"Het gemiddelde heridentificatierisico is {fmt_num(mean_risk, 3)}, meer dan het "
            f"maximum van {fmt_num(rules.max_mean_risk, 3)} uit het protocol; "
            + (f"vooral door {join_nl(by_risk)}." if by_risk else f"{combination}.")
        )
    return out


# --- Result and entry points ---------------------------------------------------------------


@dataclass(frozen=True)
class ReportResult:
    html: Path
    xlsx: Path
    csv: Path
    # Deliveries in the store past their retention date, left out of the report: the
    # CLI warns that 'pijler3 purge' is due when this is not zero.
    expired_left_out: int = 0


def render(data: ReportData, out: Path) -> ReportResult:
    """Write the three files into ``out``, each atomically."""
    out.mkdir(parents=True, exist_ok=True)
    result = ReportResult(out / HTML_NAME, out / XLSX_NAME, out / CSV_NAME, data.expired_left_out)
    write_atomic(result.csv, render_csv(data.table))
    write_atomic(result.xlsx, render_xlsx(data))
    write_atomic(result.html, render_html(data).encode("utf-8"))
    return result


def write_report(ws: Workspace, out: Path, *, now: dt.datetime) -> ReportResult:
    """The report of every delivery ABB's analysis store still retains, written into
    ``out``; :attr:`ReportResult.expired_left_out` counts those past retention."""
    protocol = ws.protocol()
    if not ws.store_path.exists():
        raise UserError(
            f"{ws.store_path}: no analysis store in this workspace.",
            hint="Run the report in an ABB workspace after 'pijler3 ingest'.",
        )
    with Store(ws.store_path, protocol) as store:
        data = build_report(store, protocol, now=now)
    return render(data, out)


# --- CSV -----------------------------------------------------------------------------------


def render_csv(table: PublishedTable) -> bytes:
    """DATA.md §4: exactly its columns, full precision, ``.`` decimal point, true/false,
    empty cells for what disclosure control hid."""
    frame = table.frame.select(disclosure.COLUMNS)
    return frame.write_csv(date_format="%Y-%m-%d", null_value="").encode("utf-8")


# --- HTML ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    text: str
    suppressed: bool = False
    numeric: bool = True


@dataclass(frozen=True)
class TableRow:
    header: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class DataTable:
    caption: str
    columns: tuple[str, ...]  # the first names the row-header column
    rows: tuple[TableRow, ...]


@dataclass(frozen=True)
class Figure:
    chart: charts.Chart | None
    caption: str
    table: DataTable | None = None
    empty_note: str = "Geen cijfers om te tonen: alle cellen zijn onderdrukt of leeg."


def _sup() -> Cell:
    return Cell(charts.SUPPRESSED, suppressed=True)


def _row_cells(row: Mapping[str, Any], unit: charts.Unit) -> tuple[Cell, ...]:
    den, num = row["denominator"], row["numerator"]
    if row["suppressed"]:
        den_cell = _sup() if den is None else Cell(fmt_int(den))
        return (den_cell, _sup(), _sup(), _sup())
    value = row["value"]
    ci = (
        f"{fmt_value(row['ci_low'], unit)} – {fmt_value(row['ci_high'], unit)}"
        if row["ci_low"] is not None and row["ci_high"] is not None
        else ""
    )
    shown = fmt_value(value, unit) if value is not None else "–"
    return (Cell(fmt_int(den)), Cell(fmt_int(num)), Cell(shown), Cell(ci))


def _columns(indicator: str) -> tuple[str, ...]:
    unit = INDICATOR_TEXT[indicator].unit
    if unit == "days":
        return ("Categorie", "Personen", "Waargenomen", "Mediaan (dagen)", "95%-BI (dagen)")
    return ("Categorie", "Noemer", "Teller", "Aandeel", "95%-BI")


def _bars(rows: Sequence[Mapping[str, Any]], breakdown: str) -> list[charts.Bar]:
    bars = []
    for r in rows:
        label = category_nl(breakdown, r["category"])
        if r["suppressed"]:
            bars.append(charts.Bar(label, None, suppressed=True))
        elif r["denominator"] == 0:
            bars.append(charts.Bar(label, None, note="geen personen"))
        elif r["value"] is None:
            bars.append(charts.Bar(label, None, note="mediaan niet bereikt"))
        else:
            bars.append(charts.Bar(label, r["value"], r["ci_low"], r["ci_high"]))
    return bars


class _Builder:
    """Turns :class:`ReportData` into the view the template lays out, counting charts."""

    def __init__(self, data: ReportData) -> None:
        self.data = data
        self.charts: list[charts.Chart] = []

    def add(self, chart: charts.Chart | None) -> charts.Chart | None:
        if chart is not None:
            self.charts.append(chart)
        return chart

    def headline(self, indicator: str, peildatum: dt.date) -> dict[str, Any]:
        (row,) = self.data.table.rows(indicator, "totaal", peildatum)
        text = INDICATOR_TEXT[indicator]
        unit = text.unit
        value = None if row["suppressed"] else row["value"]
        if row["suppressed"]:
            shown = "onderdrukt"
        elif value is None:
            shown = "niet bereikt" if unit == "days" else "–"
        else:
            shown = fmt_pct(value) if unit == "pct" else fmt_days(value)
        ci = ""
        if not row["suppressed"] and row["ci_low"] is not None and row["ci_high"] is not None:
            ci = f"95%-BI {fmt_value(row['ci_low'], unit)} – {fmt_value(row['ci_high'], unit)}"
            if unit == "days":
                ci += " dagen"
        n = (
            f"{fmt_int(row['numerator'])} van {fmt_int(row['denominator'])} personen"
            if unit == "pct" and not row["suppressed"]
            else f"{fmt_int(row['denominator'])} personen, {fmt_int(row['numerator'])} waargenomen"
            if not row["suppressed"]
            else ""
        )
        return {
            "id": indicator,
            "title": text.title,
            "value": shown,
            "ci": ci,
            "n": n,
            "reference": REFERENCES.get(indicator, ""),
            "suppressed": row["suppressed"],
        }

    def indicator_section(self, indicator: str) -> dict[str, Any]:
        data = self.data
        text = INDICATOR_TEXT[indicator]
        peil = data.latest.peildatum
        (total,) = data.table.rows(indicator, "totaal", peil)
        reference = None if total["suppressed"] else total["value"]
        figures: list[Figure] = []
        tables: list[DataTable] = []
        for bd in indicators.BREAKDOWNS:
            if bd == "totaal":
                continue
            rows = data.table.rows(indicator, bd, peil)
            table = DataTable(
                f"{text.title} naar {in_text(BREAKDOWN_NL[bd])}, peildatum {fmt_date(peil)}",
                _columns(indicator),
                tuple(
                    TableRow(category_nl(bd, r["category"]), _row_cells(r, text.unit)) for r in rows
                ),
            )
            tables.append(table)
            if bd == "cohort":
                continue
            chart = self.add(
                charts.bar_chart(
                    f"bar-{indicator}-{bd}",
                    f"{text.title} naar {in_text(BREAKDOWN_NL[bd])}",
                    f"Staafdiagram met 95%-betrouwbaarheidsintervallen per categorie van "
                    f"{in_text(BREAKDOWN_NL[bd])}, peildatum {fmt_date(peil)}. De stippellijn "
                    f"is het totaal. De cijfers staan in de tabel eronder.",
                    _bars(rows, bd),
                    unit=text.unit,
                    reference=reference,
                )
            )
            figures.append(Figure(chart, BREAKDOWN_NL[bd]))
        cohort = self.cohort_figure(indicator)
        trend = self.trend_figure(indicator)
        return {
            "id": indicator,
            "text": text,
            "headline": self.headline(indicator, peil),
            "figures": figures,
            "tables": tables,
            "cohort": cohort,
            "trend": trend,
        }

    def cohort_figure(self, indicator: str) -> Figure:
        text = INDICATOR_TEXT[indicator]
        peil = self.data.latest.peildatum
        rows = self.data.table.rows(indicator, "cohort", peil)
        labels = [cohort_tick(r["category"]) for r in rows]
        shown = [None if r["suppressed"] or not r["denominator"] else r["value"] for r in rows]
        series = charts.Series(
            text.title,
            shown,
            [None if v is None else r["ci_low"] for v, r in zip(shown, rows, strict=True)],
            [None if v is None else r["ci_high"] for v, r in zip(shown, rows, strict=True)],
        )
        chart = self.add(
            charts.line_chart(
                f"cohort-{indicator}",
                f"{text.title} per cohort",
                f"Lijndiagram van {text.short} per kwartaal van het inburgeringscontract, "
                f"met 95%-betrouwbaarheidsintervallen, peildatum {fmt_date(peil)}. Recente "
                "cohorten hebben nog geen afgesloten opvolgingsperiode en ontbreken.",
                labels,
                [series],
                unit=text.unit,
                width=520,
                height=220,
            )
        )
        return Figure(chart, "Per cohort (kwartaal van het contract)")

    def trend_figure(self, indicator: str) -> Figure | None:
        deliveries = self.data.deliveries
        if len(deliveries) < 2:
            return None
        text = INDICATOR_TEXT[indicator]
        rows = [self.data.table.rows(indicator, "totaal", d.peildatum)[0] for d in deliveries]
        shown = [None if r["suppressed"] else r["value"] for r in rows]
        labels = [fmt_date(d.peildatum) for d in deliveries]
        chart = self.add(
            charts.line_chart(
                f"trend-{indicator}",
                f"{text.title} per levering",
                f"Lijndiagram van {text.short} voor de hele populatie, één punt per "
                "bewaarde levering (peildatum), met 95%-betrouwbaarheidsintervallen.",
                labels,
                [
                    charts.Series(
                        text.title,
                        shown,
                        [
                            r["ci_low"] if v is not None else None
                            for v, r in zip(shown, rows, strict=True)
                        ],
                        [
                            r["ci_high"] if v is not None else None
                            for v, r in zip(shown, rows, strict=True)
                        ],
                    )
                ],
                unit=text.unit,
                width=520,
                height=220,
            )
        )
        table = DataTable(
            f"{text.title} per levering",
            ("Peildatum", *_columns(indicator)[1:]),
            tuple(
                TableRow(fmt_date(d.peildatum), _row_cells(r, text.unit))
                for d, r in zip(deliveries, rows, strict=True)
            ),
        )
        return Figure(chart, "Per levering (peildatum)", table)

    def trends_overview(self) -> list[Figure]:
        data = self.data
        figures: list[Figure] = []
        props = ("toeleiding", "inschrijving_60d", "werk_6m", "werk_12m")
        if len(data.deliveries) >= 2:
            labels = [fmt_date(d.peildatum) for d in data.deliveries]
            series = []
            for ind in props:
                vals = []
                for d in data.deliveries:
                    (r,) = data.table.rows(ind, "totaal", d.peildatum)
                    vals.append(None if r["suppressed"] else r["value"])
                series.append(charts.Series(INDICATOR_TEXT[ind].title, vals))
            chart = self.add(
                charts.line_chart(
                    "trend-leveringen",
                    "Kernindicatoren per levering",
                    "Lijndiagram van toeleiding, inschrijving binnen 60 dagen en uitstroom "
                    "naar werk binnen 6 en 12 maanden, één punt per bewaarde levering.",
                    labels,
                    series,
                    y_max=1.0,
                )
            )
            table = DataTable(
                "Kernindicatoren per levering",
                ("Peildatum", *[INDICATOR_TEXT[i].title for i in props]),
                tuple(
                    TableRow(
                        lab,
                        tuple(
                            Cell(fmt_pct(s.values[k])) if s.values[k] is not None else _sup()
                            for s in series
                        ),
                    )
                    for k, lab in enumerate(labels)
                ),
            )
            figures.append(Figure(chart, "Over de leveringen heen", table))
        peil = data.latest.peildatum
        cohort_rows = {ind: data.table.rows(ind, "cohort", peil) for ind in props}
        labels = [category_nl("cohort", r["category"]) for r in cohort_rows[props[0]]]
        series = [
            charts.Series(
                INDICATOR_TEXT[ind].title,
                [
                    None if r["suppressed"] or not r["denominator"] else r["value"]
                    for r in cohort_rows[ind]
                ],
            )
            for ind in props
        ]
        chart = self.add(
            charts.line_chart(
                "trend-cohorten",
                "Kernindicatoren per cohort",
                f"Lijndiagram van de kernindicatoren per kwartaal van het "
                f"inburgeringscontract, peildatum {fmt_date(peil)}.",
                [cohort_tick(r["category"]) for r in cohort_rows[props[0]]],
                series,
                y_max=1.0,
            )
        )
        table = DataTable(
            "Kernindicatoren per cohort",
            ("Cohort", *[INDICATOR_TEXT[i].title for i in props]),
            tuple(
                TableRow(
                    lab,
                    tuple(
                        Cell(fmt_pct(s.values[k]))
                        if s.values[k] is not None
                        else (_sup() if cohort_rows[props[j]][k]["suppressed"] else Cell("–"))
                        for j, s in enumerate(series)
                    ),
                )
                for k, lab in enumerate(labels)
            ),
        )
        figures.append(Figure(chart, "Per cohort (laatste levering)", table))
        return figures

    def km(self) -> dict[str, Any]:
        data = self.data
        titles = {"inschrijving": "Tijd tot inschrijving bij VDAB", "werk": "Tijd tot werk"}
        x_max = {"inschrijving": 365, "werk": max(365, data.km_max_day)}
        panels = []
        for bd in (indicators.TOTAL, *KM_BREAKDOWNS):
            figs = []
            for event in KM_EVENTS:
                per = data.curves[event][bd]
                curves = [
                    charts.Curve(category_nl(bd, cat) if bd != "totaal" else "Totaal", pts)
                    for cat, pts in per.items()
                    if len(pts) > 1
                ]
                limit = (
                    x_max[event]
                    if event == "werk"
                    else min(x_max[event], max((c.points[-1][0] for c in curves), default=1))
                )
                what = "bij VDAB ingeschreven" if event == "inschrijving" else "aan het werk"
                chart = self.add(
                    charts.step_chart(
                        f"km-{event}-{bd}",
                        f"{titles[event]}"
                        + ("" if bd == "totaal" else f" naar {in_text(BREAKDOWN_NL[bd])}"),
                        f"Kaplan–Meier-curve: het geschatte aandeel dat {what} is, per "
                        "aantal dagen na het inburgeringscontract. Een curve stopt waar "
                        f"minder dan {data.disclosure.km_min_at_risk} personen nog "
                        "opgevolgd worden.",
                        curves,
                        x_max=limit,
                    )
                )
                figs.append(Figure(chart, titles[event], self.km_table(event, bd)))
            panels.append({"breakdown": bd, "title": BREAKDOWN_NL[bd], "figures": figs})
        return {"panels": panels}

    def km_table(self, event: str, bd: str) -> DataTable:
        days = (30, 60, 90, 182, 365, 730)
        per = self.data.curves[event][bd]
        rows = []
        for cat, pts in per.items():
            cells = []
            for day in days:
                if not pts or pts[-1][0] < day:
                    cells.append(Cell("–"))
                    continue
                share = 0.0
                for d, s in pts:
                    if d > day:
                        break
                    share = s
                cells.append(Cell(fmt_pct(share)))
            rows.append(TableRow(category_nl(bd, cat), tuple(cells)))
        return DataTable(
            "Geschat aandeel na zoveel dagen (– : niet meer te tonen, te weinig personen)",
            ("Categorie", *[f"{fmt_int(d)} dagen" for d in days]),
            tuple(rows),
        )

    def odds(self) -> list[dict[str, Any]]:
        out = []
        for outcome, res in self.data.odds.items():
            title = INDICATOR_TEXT[outcome].title
            rows = [
                charts.ForestRow(
                    f"{BREAKDOWN_NL.get(r['term'], r['term'])} (referentie: "
                    f"{category_nl(r['term'], r['reference'])})",
                    category_nl(r["term"], r["category"]),
                    r["odds_ratio"],
                    r["ci_low"],
                    r["ci_high"],
                    r["p_value"] < disparities.SIGNIFICANCE,
                )
                for r in res.table.iter_rows(named=True)
            ]
            chart = self.add(
                charts.forest_plot(
                    f"forest-{outcome}",
                    f"Gecorrigeerde odds ratio's: {in_text(title)}",
                    "Forest plot van odds ratio's met 95%-betrouwbaarheidsintervallen op een "
                    "logaritmische schaal, per profielkenmerk ten opzichte van de "
                    "referentiegroep. Gevulde vierkantjes verschillen significant (p < 0,05).",
                    rows,
                )
            )
            table = DataTable(
                f"Odds ratio's: {in_text(title)}",
                ("Groep", "Kenmerk", "Referentie", "OR", "95%-BI", "p", "Personen"),
                tuple(
                    TableRow(
                        category_nl(r["term"], r["category"]),
                        (
                            Cell(BREAKDOWN_NL.get(r["term"], r["term"]), numeric=False),
                            Cell(category_nl(r["term"], r["reference"]), numeric=False),
                            Cell(fmt_num(r["odds_ratio"], 2)),
                            Cell(f"{fmt_num(r['ci_low'], 2)} – {fmt_num(r['ci_high'], 2)}"),
                            Cell("< 0,001" if r["p_value"] < 0.001 else fmt_num(r["p_value"], 3)),
                            Cell(fmt_int(r["n"])),
                        ),
                    )
                    for r in res.table.iter_rows(named=True)
                ),
            )
            strongest = (
                res.table.filter(pl.col("p_value") < disparities.SIGNIFICANCE)
                .with_columns(pl.col("odds_ratio").log().abs().alias("_size"))
                .sort("_size", descending=True)
                .head(3)
                .drop("_size")
            )
            out.append(
                {
                    "outcome": outcome,
                    "title": title,
                    "summary": res.summary,
                    "sentences": _sentences(res.summary),
                    "top": _sentences(disparities.summary_nl(strongest, res.outcome))
                    if strongest.height
                    else [],
                    "significant": res.table.filter(
                        pl.col("p_value") < disparities.SIGNIFICANCE
                    ).height,
                    "figure": Figure(chart, title, table),
                    "n": res.table.height,
                }
            )
        return out

    def risk(self) -> dict[str, Any] | None:
        r = self.data.risk
        if not r:
            return None
        contributions = [(c["field"], int(c["uniques"])) for c in r.get("contributions", [])]
        chart = self.add(
            charts.bar_chart(
                "risk-contributions",
                "Bijdrage van elk quasi-identificerend kenmerk aan de uniciteit",
                "Staafdiagram: per kenmerk het aantal records dat niet meer uniek is als "
                "dat kenmerk wordt weggelaten.",
                [charts.Bar(field_label(f), float(n)) for f, n in contributions],
                unit="count",
                label_width=210,
            )
            if any(n > 0 for _, n in contributions)
            else None
        )
        table = DataTable(
            "Bijdrage aan de uniciteit per kenmerk",
            ("Kenmerk", "Unieke records minder zonder dit kenmerk", "Daling gemiddeld risico"),
            tuple(
                TableRow(
                    field_label(c["field"]),
                    (
                        Cell(fmt_int(int(c["uniques"]))),
                        Cell(
                            fmt_num(
                                next(
                                    (
                                        float(m["mean_risk"])
                                        for m in r.get("mean_risk_contributions", [])
                                        if m["field"] == c["field"]
                                    ),
                                    0.0,
                                ),
                                3,
                            )
                        ),
                    ),
                )
                for c in r.get("contributions", [])
            ),
        )
        rules = self.data.risk_rules
        breaches = risk_breaches_nl(r, rules) if rules is not None else []
        recorded = len(r.get("warnings") or [])
        action = rules.action if rules is not None else str(r.get("action") or "")
        return {
            "r": r,
            "granularity": GRANULARITY_NL.get(str(r.get("date_granularity")), ""),
            "qis": join_nl([field_label_in_text(q) for q in r.get("quasi_identifiers", [])]),
            "l_div": join_nl(
                [
                    f"{field_label_in_text(k)} {fmt_int(int(v))}"
                    for k, v in (r.get("l_diversity") or {}).items()
                ]
            ),
            "figure": Figure(chart, "Bijdrage aan de uniciteit", table),
            "breaches": breaches,
            "recorded": recorded,
            "action": action,
        }

    def quality(self) -> dict[str, Any]:
        ds = self.data.deliveries
        labels = [fmt_date(d.peildatum) for d in ds]

        def row(header: str, values: Sequence[str]) -> TableRow:
            return TableRow(header, tuple(Cell(v) for v in values))

        qs = [d.quality for d in ds]
        main = [
            row("Rijen gelezen in het KBI-extract", [fmt_int(q.rows_read) for q in qs]),
            row(
                "Rijen in quarantaine (geen geldig INSZ)",
                [fmt_int(q.quarantined_total) for q in qs],
            ),
        ]
        reasons = sorted({k for q in qs for k in q.quarantined})
        main += [
            row(f"– {QUARANTINE_NL.get(k, k)}", [fmt_int(q.quarantined.get(k, 0)) for q in qs])
            for k in reasons
        ]
        main += [
            row("Rijen in de monitoringdataset", [fmt_int(q.rows) for q in qs]),
            row(
                "Gekoppeld met VDAB",
                [
                    f"{fmt_int(q.matched)} ({fmt_pct(q.match_rate)})"
                    if q.match_rate is not None
                    else ""
                    for q in qs
                ],
            ),
            row("Dubbele VDAB-rijen opgelost", [fmt_int(q.duplicates_resolved) for q in qs]),
            row("VDAB-acties van onbekend type", [fmt_int(q.actions_unknown_type) for q in qs]),
            row(
                "Identificatoren verwijderd uit vrije tekst",
                [fmt_int(q.identifiers_removed) for q in qs],
            ),
            row(
                "Zeldzame woorden en woorden met cijfers verwijderd uit vrije tekst",
                [fmt_int(q.words_removed) for q in qs],
            ),
            row(
                "Ongeldige waarden (alle kolommen behalve INSZ)",
                [fmt_int(q.invalid_total) for q in qs],
            ),
            row("Inconsistenties (alle controles)", [fmt_int(q.consistency_total) for q in qs]),
        ]
        checks = list(dict.fromkeys(k for q in qs for k in q.consistency))
        consistency = [
            row(consistency_label(k), [fmt_int(q.consistency.get(k, 0)) for q in qs])
            for k in checks
        ]
        # By file in the order of the chain, then by the label people read.
        order = {e: i for i, e in enumerate(EXTRACT_NL)}

        def by_file(keys: set[tuple[str, str]]) -> list[tuple[str, str]]:
            return sorted(keys, key=lambda k: (order.get(k[0], len(order)), field_label(k[1])))

        def per_delivery(counts: str) -> list[TableRow]:
            keys = by_file({k for q in qs for k in getattr(q, counts)})
            return [
                row(
                    f"{EXTRACT_NL.get(e, e)}: {field_label(c)}",
                    [fmt_int(getattr(q, counts).get((e, c), 0)) for q in qs],
                )
                for e, c in keys
            ]

        invalid = per_delivery("invalid")
        missing = per_delivery("missing")
        latest_q = ds[-1].quality
        side_by_side = [
            row(
                f"{EXTRACT_NL.get(e, e)}: {field_label(c)}",
                [
                    fmt_int(latest_q.missing.get((e, c), 0)),
                    fmt_int(latest_q.invalid.get((e, c), 0)),
                ],
            )
            for e, c in by_file(set(latest_q.missing) | set(latest_q.invalid))
        ]
        empty_keys = [k for k in dict.fromkeys(k for q in qs for k in q.empty) if k]
        empty = [row(field_label(k), [fmt_int(q.empty.get(k, 0)) for q in qs]) for k in empty_keys]
        cols = ("Kenmerk", *labels)
        chart = None
        if len(ds) >= 2:
            chart = self.add(
                charts.line_chart(
                    "quality-trend",
                    "Datakwaliteit per levering",
                    "Lijndiagram van het aantal rijen in quarantaine, ongeldige waarden, "
                    "inconsistenties en verwijderde identificatoren, per levering.",
                    labels,
                    [
                        charts.Series("Quarantaine", [float(q.quarantined_total) for q in qs]),
                        charts.Series("Ongeldige waarden", [float(q.invalid_total) for q in qs]),
                        charts.Series("Inconsistenties", [float(q.consistency_total) for q in qs]),
                        charts.Series(
                            "Identificatoren verwijderd",
                            [float(q.identifiers_removed or 0) for q in qs],
                        ),
                    ],
                    unit="count",
                    height=260,
                )
            )
        latest = ds[-1].quality
        return {
            "main": DataTable("Overzicht per levering", cols, tuple(main)),
            "consistency": DataTable(
                "Consistentiecontroles per levering", cols, tuple(consistency)
            ),
            "columns": DataTable(
                f"Ontbrekende en ongeldige waarden per kolom van de extracten, peildatum "
                f"{fmt_date(ds[-1].peildatum)}",
                ("Bestand: kolom", "Ontbrekend (leeg)", "Ongeldig"),
                tuple(side_by_side),
            ),
            "missing": DataTable("Ontbrekende waarden per kolom en levering", cols, tuple(missing)),
            "invalid": DataTable("Ongeldige waarden per kolom en levering", cols, tuple(invalid)),
            "empty": DataTable(
                "Leeg in de monitoringdataset (ontbrekend of ongeldig), per kolom",
                cols,
                tuple(empty),
            ),
            "codes": DataTable(
                f"Niet-herkende codes, peildatum {fmt_date(ds[-1].peildatum)} (codes die "
                f"minder dan {MIN_LABEL_COUNT} keer voorkomen, samen als ‘overige’)",
                ("Ruwe waarde", "Bestand", "Kolom", "Aantal"),
                tuple(
                    TableRow(
                        ic.label,
                        (
                            Cell(EXTRACT_NL.get(ic.extract, ic.extract), numeric=False),
                            Cell(field_label(ic.column), numeric=False),
                            Cell(fmt_int(ic.count)),
                        ),
                    )
                    for ic in sorted(
                        latest.invalid_codes,
                        key=lambda ic: (
                            order.get(ic.extract, len(order)),
                            field_label(ic.column),
                            -ic.count,
                        ),
                    )
                ),
            ),
            "dropped": [field_label(c) for c in latest.identifiers_dropped],
            "figure": Figure(chart, "Trend over de leveringen") if chart else None,
        }


def _sentences(text: str) -> list[str]:
    """The sentences of :func:`disparities.summary_nl`, one per group, for a list."""
    parts = [p.strip() for p in text.split(").")]
    return [p + ")." if not p.endswith(".") else p for p in parts if p]


def fmt_days(days: float | None) -> str:
    return charts.fmt_days(days)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load_template),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        {
            "int": fmt_int,
            "pct": fmt_pct,
            "num": fmt_num,
            "date": fmt_date,
            "days": fmt_days,
            "in_text": in_text,
            "count": fmt_count,
        }
    )
    return env


def _load_template(name: str) -> str:
    return resources.files("pijler3").joinpath("data", "templates", name).read_text("utf-8")


def render_html(data: ReportData) -> str:
    b = _Builder(data)
    peil = data.latest.peildatum
    headline = [b.headline(i, peil) for i in HEADLINE]
    sections = [b.indicator_section(i) for i in indicators.INDICATOR_IDS]
    trends = b.trends_overview()
    km = b.km()
    odds = b.odds()
    risk = b.risk()
    qual = b.quality()
    template = _environment().get_template("report.html.j2")
    return template.render(
        d=data,
        peil=peil,
        headline=headline,
        sections=sections,
        trends=trends,
        km=km,
        odds=odds,
        risk=risk,
        quality=qual,
        chart_count=len(b.charts),
        hatch=charts.HATCH_DEFS,
        breakdown_nl=BREAKDOWN_NL,
        breakdown_text=join_nl(
            [in_text(BREAKDOWN_NL[b]) for b in indicators.BREAKDOWNS if b != "totaal"]
        ),
        indicator_text=INDICATOR_TEXT,
        indicator_ids=indicators.INDICATOR_IDS,
        breakdowns=indicators.BREAKDOWNS,
        field_nl=field_label,
        populations=data.populations,
        format=FORMAT,
        disclosure_rules=disclosure_rules_nl(data.disclosure),
        expired_note=expired_note_nl(data.expired_left_out) if data.expired_left_out else "",
        min_numerator=data.disclosure.min_numerator,
        min_or_rows=disparities.MIN_CATEGORY_ROWS,
        min_label=MIN_LABEL_COUNT,
    )


# --- XLSX ----------------------------------------------------------------------------------


def render_xlsx(data: ReportData) -> bytes:
    """The indicator rows (DATA.md §4), a formatted sheet per indicator, quality and
    definitions. Suppressed cells show ``x`` on grey, explained on the first sheet."""
    buffer = io.BytesIO()
    # A label typed by someone ("=HYPERLINK(...)", "=1+1") must stay text: formulas and
    # links are never made from strings, in this or any workbook pijler3 writes.
    wb = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    f_title = wb.add_format({"bold": True, "font_size": 14})
    f_head = wb.add_format({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"})
    f_date = wb.add_format({"num_format": "dd/mm/yyyy"})
    f_int = wb.add_format({"num_format": "#,##0"})
    f_pct = wb.add_format({"num_format": "0.0%"})
    f_days = wb.add_format({"num_format": "0"})
    f_supp = wb.add_format({"font_color": "#4b5563", "bg_color": "#e5e7eb", "align": "right"})
    f_wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    frame = data.table.frame

    info = wb.add_worksheet("Toelichting")
    info.set_column(0, 0, 28)
    info.set_column(1, 1, 90)
    info.write(0, 0, "Monitoring derde pijler inburgering", f_title)
    lines = [
        ("Protocol", data.protocol_title),
        ("Laatste peildatum", fmt_date(data.latest.peildatum)),
        ("Leveringen", ", ".join(fmt_date(d.peildatum) for d in data.deliveries)),
        *(
            [("Niet opgenomen", expired_note_nl(data.expired_left_out))]
            if data.expired_left_out
            else []
        ),
        ("Gemaakt op", f"{data.generated_at:%d/%m/%Y %H:%M}"),
        ("x", "Onderdrukt: te kleine aantallen (statistische geheimhouding, zie Definities)."),
        ("Leeg", "Geen cijfer (niemand in de populatie, of een mediaan die niet bereikt is)."),
        ("Blad Indicatoren", "Alle rijen van indicators.csv (DATA.md §4), onopgemaakt."),
        ("Bladen per indicator", "Opgemaakt per uitsplitsing en categorie, alle leveringen."),
        ("Blad Kwaliteit", "Datakwaliteit per levering (art. 7 van het protocol)."),
        ("Blad Definities", "Wat elke indicator meet, en de regels voor kleine aantallen."),
    ]
    for i, (k, v) in enumerate(lines, start=2):
        info.write(i, 0, k, f_head if k == "x" else None)
        info.write(i, 1, v, f_wrap)

    raw = wb.add_worksheet("Indicatoren")
    for j, name in enumerate(disclosure.COLUMNS):
        raw.write(0, j, name, f_head)
    for i, values in enumerate(frame.iter_rows(), start=1):
        for j, v in enumerate(values):
            if v is None:
                continue
            if isinstance(v, dt.date):
                raw.write_datetime(i, j, dt.datetime.combine(v, dt.time()), f_date)
            elif isinstance(v, bool):
                raw.write_string(i, j, "true" if v else "false")
            else:
                raw.write(i, j, v)
    raw.freeze_panes(1, 0)
    raw.autofilter(0, 0, frame.height, len(disclosure.COLUMNS) - 1)
    raw.set_column(0, 0, 11)
    raw.set_column(1, 3, 24)

    for indicator in indicators.INDICATOR_IDS:
        text = INDICATOR_TEXT[indicator]
        ws = wb.add_worksheet(indicator[:31])
        ws.write(0, 0, text.title, f_title)
        ws.write(1, 0, f"Populatie: {text.population} Succes: {text.success}")
        head = (
            "Peildatum",
            "Uitsplitsing",
            "Categorie",
            "Code",
            "Noemer",
            "Teller",
            "Mediaan (dagen)" if text.unit == "days" else "Aandeel",
            "95%-BI laag",
            "95%-BI hoog",
            "Onderdrukt",
        )
        for j, h in enumerate(head):
            ws.write(3, j, h, f_head)
        sub = frame.filter(pl.col("indicator") == indicator)
        vfmt = f_days if text.unit == "days" else f_pct
        for i, rec in enumerate(sub.iter_rows(named=True), start=4):
            r: dict[str, Any] = rec
            ws.write_datetime(i, 0, dt.datetime.combine(r["peildatum"], dt.time()), f_date)
            ws.write(i, 1, BREAKDOWN_NL[r["breakdown"]])
            ws.write(i, 2, category_nl(r["breakdown"], r["category"]))
            ws.write(i, 3, r["category"])
            for j, (key, fmt) in enumerate(
                (
                    ("denominator", f_int),
                    ("numerator", f_int),
                    ("value", vfmt),
                    ("ci_low", vfmt),
                    ("ci_high", vfmt),
                ),
                start=4,
            ):
                value = r[key]
                hidden = r["suppressed"] if key != "denominator" else value is None
                if hidden:
                    ws.write_string(i, j, charts.SUPPRESSED, f_supp)
                elif value is not None:
                    ws.write_number(i, j, value, fmt)
            ws.write(i, 9, "ja" if r["suppressed"] else "nee")
        ws.freeze_panes(4, 0)
        ws.autofilter(3, 0, 3 + sub.height, len(head) - 1)
        ws.set_column(0, 0, 11)
        ws.set_column(1, 2, 26)
        ws.set_column(3, 3, 22)
        ws.set_column(4, 9, 12)

    q = wb.add_worksheet("Kwaliteit")
    b = _Builder(data)
    qual = b.quality()
    r0 = 0
    q.write(r0, 0, "Datakwaliteit per levering", f_title)
    r0 += 2
    for key in ("main", "consistency", "columns", "missing", "invalid", "empty", "codes"):
        table: DataTable = qual[key]
        q.write(r0, 0, table.caption, f_head)
        r0 += 1
        for j, h in enumerate(table.columns):
            q.write(r0, j, h, f_head)
        r0 += 1
        for tr in table.rows:
            q.write(r0, 0, tr.header)
            for j, c in enumerate(tr.cells, start=1):
                q.write(r0, j, c.text)
            r0 += 1
        r0 += 1
    q.set_column(0, 0, 55)
    q.set_column(1, 12, 16)

    dsh = wb.add_worksheet("Definities")
    dsh.set_column(0, 0, 30)
    dsh.set_column(1, 3, 60)
    dsh.write(0, 0, "Definities", f_title)
    for j, h in enumerate(("Indicator", "Naam", "Populatie (noemer)", "Succes (teller)")):
        dsh.write(2, j, h, f_head)
    for i, ind in enumerate(indicators.INDICATOR_IDS, start=3):
        t = INDICATOR_TEXT[ind]
        dsh.write(i, 0, ind)
        dsh.write(i, 1, t.title, f_wrap)
        dsh.write(i, 2, t.population, f_wrap)
        dsh.write(i, 3, t.success, f_wrap)
    first = 4 + len(indicators.INDICATOR_IDS)
    dsh.write(first, 0, "Statistische geheimhouding", f_head)
    for n, line in enumerate(disclosure_rules_nl(data.disclosure), start=first + 1):
        dsh.write(n, 1, line, f_wrap)
    wb.close()
    return buffer.getvalue()


def expired_note_nl(n: int) -> str:
    """The header's note on deliveries past their retention date that were left out."""
    return (
        f"{fmt_int(n)} {'levering' if n == 1 else 'leveringen'} voorbij de bewaartermijn "
        "niet opgenomen; voer ‘pijler3 purge’ uit om ze te vernietigen."
    )


def disclosure_rules_nl(rules: Disclosure) -> list[str]:
    """The disclosure rules of INDICATORS.md in Dutch, with the protocol's thresholds."""
    return [
        f"Een teller van 1 tot {rules.min_numerator - 1} wordt niet getoond, en dan ook het "
        "aandeel en het interval niet.",
        f"Een noemer kleiner dan {rules.min_denominator} wordt niet getoond, met alles in die rij.",
        "Binnen één indicator en uitsplitsing mag geen verborgen aantal af te leiden zijn uit "
        "het totaal en de andere categorieën: is er maar één categorie verborgen, dan wordt "
        "ook de volgende kleinste verborgen.",
        f"Een Kaplan–Meier-curve wordt alleen getekend zolang minstens "
        f"{rules.km_min_at_risk} personen nog opgevolgd worden.",
        "Nul wordt als nul getoond: dat onthult niets.",
    ]
