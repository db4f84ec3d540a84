"""The figures the report shows beside its tables cannot narrow a count that disclosure
control hides (INDICATORS.md rules 5 and 6: every count of the HTML report and the
XLSX is read together with the tables).

The data-quality section: a quality count over a whole delivery bounds counts of the
tables. The empty cells of a column hold every person of B in its ``ONBEKEND``
category, so that category of B lies between (empty cells - rows outside B) and (empty
cells). Before this rule the report of a small demo showed one empty ``regio`` cell
beside a hidden ``ONBEKEND`` count of B in ``regio``: 0 or 1, where rule 6 asks a range
of at least 10.

The Kaplan-Meier curves: a share is a fraction of the group's population (B minus E),
so its digits tell the count. Before this rule the same demo showed 68.42% registered
after 30 days for Antwerpen (stad), whose population the tables hide: 13 of 19.

The end-to-end tests read only the published files (indicators.csv and the workbook)
and work the bounds out themselves, from the definitions above; the unit tests give
hand-made summaries and name, by hand, what must be hidden.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from pijler3 import demo
from pijler3.analysis import population
from pijler3.report import files, quality_disclosure
from pijler3.report.labels import BREAKDOWN_NL, category_nl, field_label, in_text
from pijler3.report.quality_data import InvalidCode, QualitySummary

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
MIN_DENOMINATOR = 10  # the demo protocol's threshold for denominators
EMPTY_CAPTION = "Leeg in de monitoringdataset (ontbrekend of ongeldig), per kolom"
CONSISTENCY_CAPTION = "Consistentiecontroles per levering"
UNDER_18 = "Leeftijdscategorie jonger dan 18"
ROWS = "Rijen in de monitoringdataset"
SUPPRESSED = "x"


@pytest.fixture(scope="module")
def small_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo: 300 persons, two deliveries, so that ONBEKEND counts are small."""
    out = tmp_path_factory.mktemp("quality") / "demo"
    demo.run(out, persons=300, deliveries=2, seed=2023, now=NOW, echo=lambda _: None)
    return out / "report"


def _sheet_tables(path: Path) -> dict[str, dict[str, list[object]]]:
    """The quality sheet's tables: caption -> row header -> one value per delivery."""
    ws = openpyxl.load_workbook(path, read_only=True)["Kwaliteit"]
    tables: dict[str, dict[str, list[object]]] = {}
    current: dict[str, list[object]] | None = None
    for row in ws.iter_rows(values_only=True):
        cells = [v for v in row if v is not None]
        if not cells or not isinstance(cells[0], str):
            continue
        if len(cells) == 1:  # a caption
            current = tables.setdefault(cells[0], {})
        elif current is not None and cells[0] != "Kenmerk":
            current[cells[0]] = cells[1:]
    return tables


def _indicator_rows(folder: Path) -> Iterator[dict[str, str]]:
    with (folder / files.CSV_NAME).open(encoding="utf-8") as f:
        yield from csv.DictReader(f)


def _b_counts(folder: Path) -> dict[tuple[str, str, str], int | None]:
    """B per (peildatum, breakdown, category) as published: toeleiding's denominator."""
    return {
        (r["peildatum"], r["breakdown"], r["category"]): (
            int(r["denominator"]) if r["denominator"] else None
        )
        for r in _indicator_rows(folder)
        if r["indicator"] == "toeleiding"
    }


def _range(bound: object, outside: int) -> int | None:
    """The width of the range a shown quality count leaves a count of B it bounds:
    between (bound - rows outside B) and (bound); None when it is not shown."""
    if not isinstance(bound, int):
        return None
    return bound - max(0, bound - outside)


def _sheet_rows(path: Path, sheet: str) -> Iterator[list[object]]:
    for row in openpyxl.load_workbook(path, read_only=True)[sheet].iter_rows(values_only=True):
        cells = [v for v in row if v is not None]
        if cells:
            yield cells


def test_no_curve_is_shown_for_a_group_whose_population_is_hidden(small_report: Path) -> None:
    # The curves' populations are the medians' denominators (B minus E), per category.
    latest = max(r["peildatum"] for r in _indicator_rows(small_report))
    median = {"inschrijving_mediaan_dagen": "inschrijving", "werk_mediaan_dagen": "werk"}
    hidden = {
        (median[r["indicator"]], r["breakdown"], category_nl(r["breakdown"], r["category"]))
        for r in _indicator_rows(small_report)
        if r["peildatum"] == latest and r["indicator"] in median and not r["denominator"]
    }
    assert hidden  # the demo is small enough to hide some
    names = {in_text(BREAKDOWN_NL[bd]): bd for bd in population.BREAKDOWNS}
    rows: dict[tuple[str, str, str], list[object]] = {}
    table = ("", "")
    for cells in _sheet_rows(small_report / files.XLSX_NAME, "Overleving"):
        caption = str(cells[0])
        if len(cells) == 1 and caption.startswith("Tijd tot "):
            event = "inschrijving" if caption.startswith("Tijd tot inschrijving") else "werk"
            by = caption.split(":")[0].partition(" naar ")[2]
            table = (event, names.get(by, "totaal"))
        elif len(cells) == 7:
            rows[(*table, caption)] = cells[1:]
    tables = {(event, bd) for event, bd, _ in rows}
    checked = [key for key in hidden if key[:2] in tables]
    assert len(checked) >= 10
    for key in checked:
        assert not any(isinstance(v, float | int) for v in rows[key]), (key, rows[key])


def test_no_shown_quality_count_narrows_a_hidden_count_of_b(small_report: Path) -> None:
    tables = _sheet_tables(small_report / files.XLSX_NAME)
    empty, checks = tables[EMPTY_CAPTION], tables[CONSISTENCY_CAPTION]
    rows = tables["Overzicht per levering"][ROWS]
    b = _b_counts(small_report)
    peils = sorted({p for p, _, _ in b})
    assert len(peils) == len(rows) == 2
    hidden_seen = 0
    for i, peil in enumerate(peils):
        # Rows outside B: the delivery's rows less B's totaal. Where B's totaal is
        # hidden, at most the rows; where the rows are hidden too, unbounded.
        total = b[(peil, "totaal", "totaal")]
        outside = rows[i] - (total or 0) if isinstance(rows[i], int) else 10**9
        if total is None:
            hidden_seen += 1
            assert rows[i] == SUPPRESSED or _range(rows[i], rows[i]) >= MIN_DENOMINATOR
        # Every breakdown on a column of the dataset (not the contract's cohort).
        columns = [bd for bd in population.BREAKDOWNS if field_label(bd) in empty]
        assert len(columns) >= 10
        bounds = {(bd, population.UNKNOWN): empty[field_label(bd)][i] for bd in columns}
        bounds[("leeftijdscategorie", "<18")] = checks[UNDER_18][i]
        for (bd, cat), bound in bounds.items():
            if b.get((peil, bd, cat), 0) is not None:
                continue  # shown, or not published: nothing to protect
            hidden_seen += 1
            width = _range(bound, outside)
            assert width is None or width >= MIN_DENOMINATOR, (peil, bd, cat, bound)
    assert hidden_seen >= 5  # the store is small enough to hide ONBEKEND counts


def test_hidden_quality_counts_are_marked_and_named_in_the_methods(small_report: Path) -> None:
    tables = _sheet_tables(small_report / files.XLSX_NAME)
    marked = sum(v == SUPPRESSED for t in tables.values() for vs in t.values() for v in vs)
    assert marked > 0
    html = (small_report / files.HTML_NAME).read_text(encoding="utf-8")
    assert 'id="geheimhouding-kwaliteit"' in html
    assert "tellingen van de datakwaliteit." in html
    # A hidden column lists no invalid raw code: a code's text is shown only when it
    # was seen 5 times or more, so the row would say that much.
    empty = tables[EMPTY_CAPTION]
    hidden_columns = {name for name, values in empty.items() if values[-1] == SUPPRESSED}
    assert hidden_columns
    codes, listed = False, []
    for cells in _sheet_rows(small_report / files.XLSX_NAME, "Kwaliteit"):
        if len(cells) == 1:
            codes = str(cells[0]).startswith("Niet-herkende codes")
        elif codes and len(cells) == 4 and cells[0] != "Ruwe waarde":
            listed.append(cells[2])
    assert listed  # codes of shown columns are listed
    assert not hidden_columns & set(listed), hidden_columns & set(listed)
    # The invalid values' total is a sum over the columns: hidden with a hidden part.
    main = tables["Overzicht per levering"]
    invalid = tables["Ongeldige waarden per kolom en levering"]
    for i in range(2):
        parts = [vs[i] for name, vs in invalid.items() if not name.endswith(": INSZ")]
        total = main["Ongeldige waarden (alle kolommen behalve INSZ)"][i]
        if SUPPRESSED in parts:
            assert total == SUPPRESSED
        else:
            assert total == sum(p for p in parts if isinstance(p, int))


# --- The rule on hand-made summaries ---------------------------------------------------------


def _summary() -> QualitySummary:
    return QualitySummary(
        rows_read=103,
        rows=100,
        quarantined={"insz_missing": 2, "insz_checksum": 1},
        identifiers_removed=4,
        match_rate=0.8,
        matched=80,
        duplicates_resolved=1,
        actions_unknown_type=2,
        consistency={
            "leeftijd_onder_18": 3,
            "contract_before_aanmelding": 5,
            "datum_inburgeringscontract_after_peildatum": 2,
            "duplicate_pseudonyms": 0,
        },
        missing={("kbi", "geslacht"): 2, ("kbi", "regio"): 20, ("kbi", "insz"): 2},
        invalid={("kbi", "geslacht"): 1, ("kbi", "regio"): 3, ("kbi", "geboortedatum"): 2},
        invalid_codes=(InvalidCode("kbi", "geslacht", "overige", 1),),
        identifiers_dropped=(),
        empty={"geslacht": 3, "regio": 23, "leeftijdscategorie": 2},
        words_removed=7,
    )


def test_a_hidden_onbekend_hides_its_columns_counts_and_the_totals_of_them() -> None:
    q = quality_disclosure.protect(_summary(), {("B", "geslacht", "ONBEKEND")})
    assert q.hidden == {
        "empty:geslacht",
        "missing:kbi:geslacht",
        "invalid:kbi:geslacht",
        "code:kbi:geslacht:overige",
        "invalid_total",
    }
    assert q.empty["geslacht"] is None and q.missing[("kbi", "geslacht")] is None
    assert q.invalid[("kbi", "geslacht")] is None
    assert q.invalid_codes == ()  # a code's row would say it was seen 5 times or more
    assert q.invalid_total is None  # the sum of its parts
    # Everything else is as it was.
    assert q.empty["regio"] == 23 and q.invalid[("kbi", "regio")] == 3
    assert q.matched == 80 and q.consistency_total == 10 and q.rows == 100


def test_each_kind_of_count_names_what_it_bounds() -> None:
    base = _summary()
    # The age category comes from the date of birth.
    age = quality_disclosure.protect(base, {("B", "leeftijdscategorie", "ONBEKEND")})
    assert age.hidden == {"empty:leeftijdscategorie", "invalid:kbi:geboortedatum", "invalid_total"}
    under_18 = quality_disclosure.protect(base, {("B", "leeftijdscategorie", "<18")})
    assert under_18.hidden == {"consistency:leeftijd_onder_18", "consistency_total"}
    # The rows linked at VDAB are at least the registered persons.
    registered = quality_disclosure.protect(base, {("R", "totaal", "totaal")})
    assert registered.hidden == {"matched"}
    assert registered.matched is None and registered.match_rate is None
    # A contract after the peildatum puts a row outside B: the check is that count.
    late = quality_disclosure.protect(base, {("contract_after_peildatum", "totaal", "totaal")})
    assert late.hidden == {
        "consistency:datum_inburgeringscontract_after_peildatum",
        "consistency:contract_before_aanmelding",
        "consistency_total",
    }
    # Nothing hidden: the summary itself.
    assert quality_disclosure.protect(base, set()) is base
    assert quality_disclosure.protect(base, {("B", "regio", "Antwerpen")}) is base


def test_a_hidden_b_hides_the_whole_quality_column() -> None:
    q = quality_disclosure.protect(_summary(), {("B", "totaal", "totaal")})
    assert q.rows is None and q.rows_read is None and q.quarantined_total is None
    assert all(v is None for v in (*q.missing.values(), *q.invalid.values(), *q.empty.values()))
    assert all(v is None for v in q.consistency.values())
    assert q.matched is None and q.words_removed is None and q.identifiers_removed is None
