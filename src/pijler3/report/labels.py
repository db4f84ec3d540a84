"""The Dutch words of the monitoring report: what each indicator is called and measures,
the one label of every column, the names of categories, consistency checks, quarantine
reasons and extracts, and the sentences that word risk breaches, expired deliveries and
the disclosure rules. Pure: strings and figures in, Dutch text out.

Every view and renderer reads its words here, so that one column or indicator never has
two names in the report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pijler3.analysis import indicators
from pijler3.analysis.risk import RiskReport
from pijler3.contract import codes
from pijler3.contract.protocol import Disclosure, Risk
from pijler3.extracts import quality
from pijler3.report.fmt import Unit, fmt_int, fmt_num, fmt_pct


@dataclass(frozen=True)
class IndicatorText:
    title: str
    short: str
    population: str
    success: str
    unit: Unit


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


GRANULARITY_NL: Mapping[str, str] = {
    "day": "per dag",
    "month": "per maand",
    "quarter": "per kwartaal",
    "year": "per jaar",
}
RISK_DRIVERS = 3  # as many quasi-identifiers as the gate's own message names


def _drivers(items: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    """The (field, amount) pairs of a contribution list with a positive amount, largest
    first, at most ``RISK_DRIVERS``."""
    pairs = sorted((p for p in items if p[1] > 0), key=lambda p: -p[1])
    return pairs[:RISK_DRIVERS]


def risk_breaches_nl(r: RiskReport, rules: Risk) -> list[str]:
    """The risk thresholds of the protocol that the measured figures exceed, in Dutch.

    Worded from the numbers of the delivery's risk report and the protocol's
    thresholds, not translated from the English lines the publication step recorded
    (those stay in the manifest and the audit log for the people who run the chain).
    """
    combination = (
        "geen enkel kenmerk springt eruit: het komt door de combinatie van alle "
        "quasi-identificerende kenmerken"
    )
    out: list[str] = []
    records, uniques, share = r.records, r.sample_uniques, r.sample_unique_share
    if share > rules.max_sample_unique_share:
        granularity = GRANULARITY_NL.get(r.date_granularity, "")
        by_uniques = [
            f"{field_label_in_text(f)} ("
            + (
                f"{fmt_int(round(n))} unieke records minder zonder dit kenmerk"
                if i == 0
                else f"{fmt_int(round(n))} minder"
            )
            + ")"
            for i, (f, n) in enumerate(_drivers(r.contributions))
        ]
        out.append(
            f"{fmt_int(uniques)} van de {fmt_int(records)} records ({fmt_pct(share)}) "
            f"{'is' if uniques == 1 else 'zijn'} uniek op de quasi-identificerende kenmerken"
            + (f" (datums {granularity})" if granularity else "")
            + f", meer dan het maximum van {fmt_pct(rules.max_sample_unique_share)} uit het "
            "protocol; "
            + (f"vooral door {join_nl(by_uniques)}." if by_uniques else f"{combination}.")
        )
    mean_risk = r.mean_risk
    if mean_risk > rules.max_mean_risk:
        by_risk = [
            f"{field_label_in_text(f)} ("
            + (
                f"het gemiddelde risico daalt met {fmt_num(x, 3)} zonder dit kenmerk"
                if i == 0
                else f"{fmt_num(x, 3)}"
            )
            + ")"
            for i, (f, x) in enumerate(_drivers(r.mean_risk_contributions))
        ]
        out.append(
            f"Het gemiddelde heridentificatierisico is {fmt_num(mean_risk, 3)}, meer dan het "
            f"maximum van {fmt_num(rules.max_mean_risk, 3)} uit het protocol; "
            + (f"vooral door {join_nl(by_risk)}." if by_risk else f"{combination}.")
        )
    return out


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
