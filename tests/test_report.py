"""Tests of the monitoring report (pijler3.report): CSV contract, disclosure, Dutch
formatting, no personal values, and the XLSX workbook."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import math
import re
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from conftest import NOW, ChainRun, abb_copy

from pijler3.analysis import dataset, disclosure, indicators, population
from pijler3.analysis.risk import RiskReport
from pijler3.analysis.store import Store
from pijler3.contract import protocol as protocol_mod
from pijler3.contract.errors import UserError
from pijler3.extracts.quality import Quality
from pijler3.report import charts, fmt
from pijler3.report import data as report_data
from pijler3.report import files as report
from pijler3.report import html as report_html
from pijler3.report import labels as report_labels

PEILDATUM = dt.date(2026, 6, 30)


# --- A small hand-made delivery ------------------------------------------------------------


def small_frame(
    protocol: protocol_mod.Protocol, persons: int = 400, peildatum: dt.date = PEILDATUM
) -> pl.DataFrame:
    """A monitoring dataset of ``persons`` people; Brussel has exactly 3 of them.

    Deterministic, no randomness: person ``i`` gets its attributes from ``i`` so that every
    count in the expected tables can be worked out by hand if a test needs it.
    """
    regions = ["ANTWERPEN_STAD", "GENT_STAD", "LIMBURG", "OOST_VLAANDEREN"]
    rows = []
    for i in range(persons):
        contract = dt.date(2022, 3, 1) + dt.timedelta(days=(i * 37) % 1500)
        registered = i % 4 != 0
        rows.append(
            {
                "pseudoniem": f"ps{i:04d}{'deadbeef' * 3}",
                "peildatum": peildatum,
                "leeftijdscategorie": ["18-24", "25-34", "35-44"][i % 3],
                "geslacht": "V" if i % 2 else "M",
                "scholingsniveau": ["LAAG", "MIDDEN", "HOOG"][i % 3],
                "oudste_nationaliteit": ["SYR", "UKR", "MAR", "AFG"][i % 4],
                "datum_toeleiding_vdab": contract + dt.timedelta(days=10) if i % 5 else None,
                "doelgroep": "VERPLICHT" if i % 3 else "RECHTHEBBEND",
                "datum_inburgeringscontract": contract,
                "datum_aanmelding": contract - dt.timedelta(days=20),
                "regio": "BRUSSEL" if i < 3 else regions[i % 4],
                "plo_besluit": "TOELEIDING_VDAB",
                "plo_reden": None,
                "vdab_datum_eerste_inschrijving": (
                    contract + dt.timedelta(days=(i * 7) % 90) if registered else None
                ),
                "datum_uitstroom_werk": (
                    contract + dt.timedelta(days=100 + (i * 13) % 400) if i % 3 == 1 else None
                ),
                "vdab_actie_orientatie": registered and i % 2 == 0,
                "vdab_actie_context": False,
                "vdab_actie_competentieversterking": registered,
                "vdab_actie_solliciteren": registered and i % 7 == 0,
            }
        )
    frame = pl.DataFrame(rows)
    schema = dataset.monitoring_schema(protocol)
    return pl.DataFrame(
        [
            frame[name].cast(dtype)
            if name in frame.columns
            else pl.Series(name, [None] * persons, dtype=dtype)
            for name, dtype in schema.items()
        ]
    )


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, report.ReportResult]:
    protocol = protocol_mod.load()
    frame = small_frame(protocol)
    with Store(None, protocol) as store:
        store.load_delivery(
            frame,
            delivery_id="20260630-test",
            peildatum=PEILDATUM,
            received_at=dt.datetime(2026, 7, 7, 9, 0),
            expires_at=dt.date(2031, 7, 7),
            package_sha256="test",
            manifest={},
        )
        data = report_data.build_report(store, protocol, now=NOW)
    return frame, report.render(data, tmp_path_factory.mktemp("small"))


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# --- Formatting ---------------------------------------------------------------------------


def test_nl_be_number_and_date_formatting() -> None:
    """Percentages with a decimal comma and a (non-breaking) space, thousands with dots,
    dates day first."""
    assert fmt.fmt_pct(0.743) == "74,3\u00a0%"
    assert fmt.fmt_pct(0.0) == "0,0\u00a0%"
    assert fmt.fmt_int(1234567) == "1.234.567"
    assert fmt.fmt_num(1234.5) == "1.234,5"
    assert fmt.fmt_date(dt.date(2026, 3, 1)) == "01/03/2026"


# --- CSV ----------------------------------------------------------------------------------


def test_csv_has_exactly_the_data_md_columns(
    small: tuple[pl.DataFrame, report.ReportResult],
) -> None:
    """DATA.md §4: the header is exactly the contract's columns, in order."""
    _, result = small
    with result.csv.open(encoding="utf-8") as f:
        header = f.readline().strip().split(",")
    assert list(disclosure.COLUMNS) == header


def test_csv_suppressed_rows_have_empty_numbers(
    small: tuple[pl.DataFrame, report.ReportResult],
) -> None:
    """Every suppressed row has empty numerator, value and interval; true/false only."""
    _, result = small
    rows = read_csv(result.csv)
    suppressed = [r for r in rows if r["suppressed"] == "true"]
    assert suppressed, "the small dataset must produce suppressed cells"
    assert {r["suppressed"] for r in rows} == {"true", "false"}
    for r in suppressed:
        assert (r["numerator"], r["value"], r["ci_low"], r["ci_high"]) == ("", "", "", "")


def test_csv_is_the_disclosure_controlled_table_in_full_precision(
    small: tuple[pl.DataFrame, report.ReportResult],
) -> None:
    """The CSV equals disclosure.suppress(compute_raw(...)) (rules 1-3 of this delivery
    alone) value for value wherever it shows a figure: nothing rounded, a '.' decimal
    point. Whatever rules 1-3 hide stays hidden; rule 6 may only hide more."""
    frame, result = small
    expected = disclosure.suppress(
        indicators.compute_raw(frame, PEILDATUM), protocol_mod.load().disclosure
    )
    rows = read_csv(result.csv)
    assert expected.height == len(rows)
    for want, got in zip(expected.iter_rows(named=True), rows, strict=True):
        assert want["peildatum"].isoformat() == got["peildatum"]
        for key in ("indicator", "breakdown", "category"):
            assert want[key] == got[key]
        for key in ("denominator", "numerator"):
            assert got[key] in ("" if want[key] is None else ("", str(want[key])))
        for key in ("value", "ci_low", "ci_high"):
            if want[key] is None or got[key] == "":
                assert got[key] == ""
            else:
                assert "," not in got[key]
                assert want[key] == float(got[key])  # exact: full precision


def test_brussels_three_people_are_suppressed(
    small: tuple[pl.DataFrame, report.ReportResult],
) -> None:
    """A region with 3 people is hidden whole (rule 2) in the CSV and shown as 'x' in
    the HTML table, never as its count."""
    _, result = small
    rows = read_csv(result.csv)
    brussel = [r for r in rows if r["breakdown"] == "regio" and r["category"] == "BRUSSEL"]
    assert brussel
    for r in brussel:
        assert r["suppressed"] == "true"
        assert r["denominator"] == ""
    html = result.html.read_text("utf-8")
    row = re.search(r'<tr><th scope="row">Brussel</th>(.*?)</tr>', html)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    assert len(cells) == 4
    assert all("x</abbr>" in c for c in cells)


# --- HTML ---------------------------------------------------------------------------------


def test_html_is_dutch_self_contained_and_accessible(
    small: tuple[pl.DataFrame, report.ReportResult],
) -> None:
    """lang nl, no external resource, every chart an img with a title and a description,
    table headers with scope, and the chart count the page announces."""
    _, result = small
    html = result.html.read_text("utf-8")
    assert '<html lang="nl-BE">' in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(http" not in html
    svgs = re.findall(r"<svg class=\"chart[^>]*>", html)
    announced = int(re.search(r'data-charts="(\d+)"', html).group(1))  # type: ignore[union-attr]
    assert len(svgs) == announced > 0
    for tag in svgs:
        assert 'role="img"' in tag and "aria-labelledby=" in tag
        chart_id = re.search(r'id="([^"]+)"', tag).group(1)  # type: ignore[union-attr]
        assert f'<title id="{chart_id}-t">' in html
        assert f'<desc id="{chart_id}-d">' in html
    assert '<th scope="col"' in html and '<th scope="row">' in html


def test_html_uses_nl_be_formatting(small: tuple[pl.DataFrame, report.ReportResult]) -> None:
    """A toeleiding share appears as '77,5 %' (decimal comma), dates as dd/mm/yyyy, and
    no English-style percentage."""
    _, result = small
    html = result.html.read_text("utf-8")
    rows = read_csv(result.csv)
    toeleiding = next(r for r in rows if r["indicator"] == "toeleiding" and r["value"])
    assert fmt.fmt_pct(float(toeleiding["value"])) in html
    assert "30/06/2026" in html
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)>.*?</\1>", "", html, flags=re.S))
    assert re.search(r"\d,\d\u00a0%", text)
    assert not re.search(r"\d\.\d\s?%", text)
    assert "2026-06-30" not in text


def test_html_holds_no_pseudonym(chain: ChainRun, tmp_path: Path) -> None:
    """A report on the real chain's store names no pseudonym of any delivery."""
    ws = abb_copy(chain, tmp_path / "abb")
    result = report.write_report(ws, tmp_path / "report", now=NOW)
    html = result.html.read_text("utf-8")
    xlsx_text = result.xlsx.read_bytes()
    with Store(ws.store_path, ws.protocol()) as store:
        names = {p for d in store.deliveries() for p in store.dataset(d.delivery_id)["pseudoniem"]}
    assert len(names) > 1000
    tokens = set(re.findall(r"[0-9A-Za-z_\-]{16,}", html))
    assert not names & tokens
    for name in list(names)[:200]:
        assert name not in html
        assert name.encode() not in xlsx_text


def test_report_covers_every_retained_delivery(chain: ChainRun, tmp_path: Path) -> None:
    """indicators.csv has the rows of each retained delivery; the HTML names each."""
    ws = abb_copy(chain, tmp_path / "abb")
    result = report.write_report(ws, tmp_path / "report", now=NOW)
    rows = read_csv(result.csv)
    days = sorted({r["peildatum"] for r in rows})
    with Store(ws.store_path, ws.protocol()) as store:
        held = [d.peildatum.isoformat() for d in store.deliveries()]
    assert held == days
    html = result.html.read_text("utf-8")
    for day in held:
        assert fmt.fmt_date(dt.date.fromisoformat(day)) in html
    per_delivery = len(rows) // len(days)
    assert per_delivery * len(days) == len(rows)


# --- XLSX ---------------------------------------------------------------------------------


def test_xlsx_has_the_sheets_and_marks_suppressed_cells(
    small: tuple[pl.DataFrame, report.ReportResult],
) -> None:
    """The workbook opens, has a sheet per indicator, quality and definitions, and a
    suppressed cell reads 'x' (explained on the first sheet), never a number."""
    _, result = small
    wb = openpyxl.load_workbook(result.xlsx)
    expected = [
        "Toelichting",
        "Antwoorden",
        "Veranderd",
        "Referentiepunten",
        "Indicatoren",
        *indicators.INDICATOR_IDS,
        "Trends",
        "Overleving",
        "Odds ratio's",
        "Risico",
        "Kwaliteit",
        "Definities",
    ]
    assert expected == wb.sheetnames
    legend = [row for row in wb["Toelichting"].iter_rows(values_only=True) if row[0] == "x"]
    assert legend and "Onderdrukt" in str(legend[0][1])
    rows = read_csv(result.csv)
    for indicator in indicators.INDICATOR_IDS:
        ws = wb[indicator]
        body = list(ws.iter_rows(min_row=5, values_only=True))
        want = [r for r in rows if r["indicator"] == indicator]
        assert len(want) == len(body)
        for got, r in zip(body, want, strict=True):
            assert got[3] == r["category"]
            if r["suppressed"] == "true":
                assert got[5:9] == ("x", "x", "x", "x")
                assert got[9] == "ja"
            else:
                assert got[5] == int(r["numerator"])
                assert got[9] == "nee"
                if r["value"]:
                    assert math.isclose(got[6], float(r["value"]))
    raw = list(wb["Indicatoren"].iter_rows(values_only=True))
    assert list(disclosure.COLUMNS) == list(raw[0])[: len(disclosure.COLUMNS)]
    assert list(raw[0])[len(disclosure.COLUMNS) :] == [
        "Indicator (naam)",
        "Uitsplitsing (naam)",
        "Categorie (naam)",
    ]
    assert len(raw) - 1 == len(rows)
    sheet = wb["toeleiding"]
    shown = next(
        r for r in range(5, sheet.max_row + 1) if isinstance(sheet.cell(r, 7).value, float)
    )
    pct_format = sheet.cell(row=shown, column=7).number_format
    assert "%" in pct_format


def test_xlsx_and_csv_agree(small: tuple[pl.DataFrame, report.ReportResult]) -> None:
    """The Indicatoren sheet holds the same rows as the CSV (DATA.md §4)."""
    _, result = small
    wb = openpyxl.load_workbook(result.xlsx)
    sheet = list(wb["Indicatoren"].iter_rows(min_row=2, values_only=True))
    for got, want in zip(sheet, read_csv(result.csv), strict=True):
        assert want["indicator"] == got[1]
        assert want["category"] == got[3]
        assert ("" if got[5] is None else str(got[5])) == want["numerator"]
        assert want["suppressed"] == got[9]


def test_empty_store_is_a_clear_error() -> None:
    """No delivery held: a user error that says what to do, not a traceback."""
    protocol = protocol_mod.load()
    with Store(None, protocol) as store, pytest.raises(UserError, match="ingest"):
        report_data.build_report(store, protocol, now=NOW)


def test_rare_invalid_codes_are_grouped() -> None:
    """An invalid raw code seen fewer than 5 times is counted under 'overige' only."""
    manifest = {
        "quality": {
            "kbi": [
                {"reason": "code_invalid", "column": "regio", "count": 40, "label": "Antwerpen"},
                {"reason": "code_invalid", "column": "regio", "count": 2, "label": "Amal"},
                {"reason": "code_invalid", "column": "regio", "count": 1, "label": "Gentt"},
            ]
        }
    }
    summary = report_data.quality_summary(Quality.from_manifest(manifest["quality"]), rows=100)
    labels = {(c.label, c.count) for c in summary.invalid_codes}
    assert {("Antwerpen", 40), ("overige", 3)} == labels
    assert summary.invalid[("kbi", "regio")] == 43


# --- Dutch risk section and labels -------------------------------------------------------

# The risk dictionary of a real demo delivery (counts only), with the English gate lines
# the publication step recorded in the manifest.
DEMO_RISK = {
    "format": "pijler3-risk/1",
    "action": "warn",
    "quasi_identifiers": [
        "leeftijdscategorie",
        "geslacht",
        "scholingsniveau",
        "oudste_nationaliteit",
        "datum_inburgeringscontract",
        "regio",
        "verblijfsstatus",
    ],
    "sensitive": ["plo_besluit", "ocmw_leefloon", "datum_uitstroom_werk"],
    "date_granularity": "month",
    "records": 19851,
    "k": 1,
    "classes": 19431,
    "sample_uniques": 19035,
    "sample_unique_share": 19035 / 19851,
    "mean_risk": 19431 / 19851,
    "max_risk": 1.0,
    "k_report": 5,
    "records_below_k_report": 19851,
    "classes_below_k_report": 19431,
    "l_diversity": {"plo_besluit": 1, "ocmw_leefloon": 1, "datum_uitstroom_werk": 1},
    "contributions": [
        {"field": "datum_inburgeringscontract", "uniques": 9118},
        {"field": "oudste_nationaliteit", "uniques": 3338},
        {"field": "regio", "uniques": 3162},
        {"field": "geslacht", "uniques": 615},
    ],
    "mean_risk_contributions": [
        {"field": "datum_inburgeringscontract", "mean_risk": 0.3327},
        {"field": "regio", "mean_risk": 0.0960},
        {"field": "oudste_nationaliteit", "mean_risk": 0.0918},
    ],
    "warnings": [
        "19,035 of 19,851 records (95.9%) are unique on the quasi-identifiers at date "
        "granularity 'month', above the maximum of 5.0% (risk.max_sample_unique_share); "
        "driven by datum_inburgeringscontract (9,118 uniques disappear without it).",
        "The mean re-identification risk is 0.979, above the maximum of 0.100 "
        "(risk.max_mean_risk); driven by datum_inburgeringscontract (mean risk falls by "
        "0.333 without it).",
    ],
}


@pytest.fixture(scope="module")
def with_risk(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The HTML of the small delivery whose manifest holds the demo's risk figures and a
    few quality findings."""
    protocol = protocol_mod.load()
    manifest = {
        "risk": DEMO_RISK,
        "quality": {
            "kbi": [
                {"reason": "code_invalid", "column": "doelgroep", "count": 33, "label": "Vrij"},
                {"reason": "date_invalid", "column": "datum_aanmelding", "count": 71},
                {"reason": "date_invalid", "column": "datum_laatste_nt2_activiteit", "count": 5},
            ],
            "missing": {"datum_aanmelding": 280, "datum_laatste_nt2_activiteit": 3689},
        },
    }
    with Store(None, protocol) as store:
        store.load_delivery(
            small_frame(protocol),
            delivery_id="20260630-risk",
            peildatum=PEILDATUM,
            received_at=dt.datetime(2026, 7, 7, 9, 0),
            expires_at=dt.date(2031, 7, 7),
            package_sha256="test",
            manifest=manifest,
        )
        data = report_data.build_report(store, protocol, now=NOW)
    return report_html.render_html(data)


def _risk_section(html: str) -> str:
    start = html.index('<section aria-labelledby="risico">')
    return html[start : html.index("</section>", start)]


def test_risk_breaches_are_dutch_sentences_from_the_numbers() -> None:
    """Each breached threshold is one Dutch sentence with nl-BE numbers, the protocol's
    threshold and the three strongest quasi-identifiers by their Dutch labels."""
    rules = protocol_mod.load().risk
    lines = report_labels.risk_breaches_nl(RiskReport.from_dict(DEMO_RISK), rules)
    assert lines == [
        "19.035 van de 19.851 records (95,9\u00a0%) zijn uniek op de quasi-identificerende "
        "kenmerken (datums per maand), meer dan het maximum van 5,0\u00a0% uit het protocol; "
        "vooral door datum inburgeringscontract (9.118 unieke records minder zonder dit "
        "kenmerk), oudste nationaliteit (3.338 minder) en regio (3.162 minder).",
        "Het gemiddelde heridentificatierisico is 0,979, meer dan het maximum van 0,100 uit "
        "het protocol; vooral door datum inburgeringscontract (het gemiddelde risico daalt "
        "met 0,333 zonder dit kenmerk), regio (0,096) en oudste nationaliteit (0,092).",
    ]


def test_risk_within_thresholds_has_no_breach_line() -> None:
    """Figures under both thresholds give no breach sentence."""
    rules = protocol_mod.load().risk
    calm = DEMO_RISK | {"sample_unique_share": 0.01, "mean_risk": 0.05, "warnings": []}
    assert report_labels.risk_breaches_nl(RiskReport.from_dict(calm), rules) == []


def test_risk_section_is_dutch_and_holds_no_english_gate_line(with_risk: str) -> None:
    """The HTML words the breaches in Dutch and shows none of the English lines the
    manifest recorded (they stay in the manifest and the audit log)."""
    section = _risk_section(with_risk)
    assert "19.035 van de 19.851 records (95,9\u00a0%) zijn uniek" in section
    assert "Het gemiddelde heridentificatierisico is 0,979" in section
    assert "De levering overschrijdt twee drempels" in section
    for warning in DEMO_RISK["warnings"]:
        assert warning not in with_risk
    for english in (
        "records (95.9%)",
        "driven by",
        "uniques disappear",
        "mean risk falls",
        "above the maximum",
        "risk.max_",
        "in het Engels",
        "De manifest",
    ):
        assert english not in with_risk
    assert "datum_inburgeringscontract" not in re.sub(r"<[^>]+>", " ", section)


def test_every_protocol_column_has_one_capitalised_dutch_label() -> None:
    """FIELD_NL names every field of the protocol and every column of its extracts, each
    with a capital first letter; breakdown titles are the same labels."""
    protocol = protocol_mod.load()
    names = set(protocol.field_names)
    for extract in protocol.extracts.values():
        names |= {c.name for c in extract.columns}
    assert not names - set(report_labels.FIELD_NL)
    for name in names:
        label = report_labels.field_label(name)
        assert label[0].isupper() and "_" not in label, name
    for bd in population.BREAKDOWNS:
        if bd not in ("totaal", "cohort"):
            assert report_labels.FIELD_NL[bd] == report_labels.BREAKDOWN_NL[bd]
    assert (
        report_labels.field_label_in_text("datum_inburgeringscontract")
        == "datum inburgeringscontract"
    )
    assert report_labels.field_label_in_text("ocmw_leefloon") == "OCMW-leefloon"
    assert report_labels.field_label_in_text("nt2_niveau") == "hoogst behaald NT2-niveau"


def test_html_labels_come_from_the_one_mapping(with_risk: str) -> None:
    """Quality tables, the risk section and its chart name a column by its FIELD_NL label
    (capitalised in cells and bars, lower-case only inside a sentence), never by a
    lower-case or snake_case variant."""
    html = with_risk
    assert "KBI-extract (AgII): Datum aanmelding" in html
    assert "KBI-extract (AgII): Datum laatste NT2-vormingsactiviteit" in html
    assert "KBI-extract (AgII): Doelgroep" in html
    assert '<th scope="row">Datum laatste NT2-vormingsactiviteit</th>' in html
    section = _risk_section(html)
    assert '<th scope="row">Datum inburgeringscontract</th>' in section
    assert ">Datum inburgeringscontract</text>" in section  # the bar chart's label
    assert "(leeftijdscategorie, geslacht, scholingsniveau, oudste nationaliteit" in section
    text = re.sub(r"<[^>]+>", " ", html)
    for wrong in (
        "datum laatste nt2",
        "VDAB datum",
        "VDAB acties:",
        "hoogst behaald nt2",
        "bij vdab",
        "besluit plo",
    ):
        assert wrong not in text


def test_cohort_axis_labels_do_not_collide() -> None:
    """Nineteen cohorts on a 520-wide chart: quarters on one line, each year once below,
    and no two tick labels of a line closer than their width allows."""
    cats = [f"{2022 + i // 4}-Q{i % 4 + 1}" for i in range(19)]
    chart = charts.line_chart(
        "t",
        "t",
        "t",
        [report_labels.cohort_tick(c) for c in cats],
        [charts.Series("s", [0.5] * len(cats))],
        width=520,
    )
    assert chart is not None
    ticks = re.findall(r'<text x="([\d.]+)" y="([\d.]+)"[^>]*class="tick"[^>]*>([^<]*)<', chart.svg)
    by_line: dict[str, list[tuple[float, str]]] = {}
    for x, y, label in ticks:
        if not label.endswith("%"):
            by_line.setdefault(y, []).append((float(x), label))
    assert len(by_line) == 2
    _quarters, years = sorted(by_line.items())
    assert [label for _, label in years[1]] == ["2022", "2023", "2024", "2025", "2026"]
    for _, line in by_line.items():
        for (x0, a), (x1, b) in itertools.pairwise(line):
            room = x1 - x0
            assert room >= (len(a) + len(b)) / 2 * charts.TICK_CHAR_PX, (a, b)
    assert "2022 K1" in chart.svg  # the point's tooltip reads as one line


# --- Retention, disclosure of the population sizes, missing versus invalid ------------------


def _load(
    store: Store,
    frame: pl.DataFrame,
    peildatum: dt.date,
    expires_at: dt.date,
    manifest: dict[str, object] | None = None,
) -> None:
    store.load_delivery(
        frame,
        delivery_id=f"{peildatum:%Y%m%d}-test",
        peildatum=peildatum,
        received_at=dt.datetime(2026, 7, 7, 9, 0),
        expires_at=expires_at,
        package_sha256=f"test-{peildatum}",
        manifest=manifest or {},
    )


def test_expired_delivery_is_left_out_and_the_header_says_so(tmp_path: Path) -> None:
    """A delivery whose expires_at is today is past retention: indicators.csv and the HTML
    hold only the retained delivery, the header says one was left out and that the purge
    is due, and ReportResult counts it for the CLI."""
    protocol = protocol_mod.load()
    old_day = dt.date(2026, 3, 31)
    with Store(None, protocol) as store:
        _load(store, small_frame(protocol, peildatum=old_day), old_day, NOW.date())
        _load(store, small_frame(protocol), PEILDATUM, NOW.date() + dt.timedelta(days=1))
        data = report_data.build_report(store, protocol, now=NOW)
    result = report.render(data, tmp_path)
    assert result.expired_left_out == 1
    assert [d.peildatum for d in data.deliveries] == [PEILDATUM]
    assert {r["peildatum"] for r in read_csv(result.csv)} == {PEILDATUM.isoformat()}
    html = result.html.read_text("utf-8")
    assert "31/03/2026" not in html
    assert "1 bewaarde levering (30/06/2026)" in html
    assert "1 levering voorbij de bewaartermijn niet opgenomen; voer ‘pijler3 purge’ uit" in html
    wb = openpyxl.load_workbook(result.xlsx)
    notes = {row[0]: row[1] for row in wb["Toelichting"].iter_rows(values_only=True)}
    assert "voorbij de bewaartermijn" in str(notes["Niet opgenomen"])


def test_report_without_expired_deliveries_has_no_retention_note(
    small: tuple[pl.DataFrame, report.ReportResult],
) -> None:
    """Nothing expired: the count is zero and the header carries no purge note."""
    _, result = small
    assert result.expired_left_out == 0
    assert "bewaartermijn niet opgenomen" not in result.html.read_text("utf-8")


def test_only_expired_deliveries_is_an_error_that_says_purge(
    chain: ChainRun, tmp_path: Path
) -> None:
    """Every delivery of the workspace past retention: write_report refuses with a user
    error that names the purge and ingest, instead of reporting on expired data."""
    later = NOW + dt.timedelta(days=366 * 6)
    ws = abb_copy(chain, tmp_path / "abb")  # six years on: kept out of the shared log
    with pytest.raises(UserError) as caught:
        report.write_report(ws, chain.root / "late-report", now=later)
    assert "retention" in str(caught.value)
    assert "pijler3 purge" in str(caught.value.hint)
    assert "pijler3 ingest" in str(caught.value.hint)
    assert not (chain.root / "late-report" / "report.html").exists()


def _exempt_frame(protocol: protocol_mod.Protocol, exempt: int) -> pl.DataFrame:
    """The small delivery with ``exempt`` people of B (rows 10, 11, ...) who already work."""
    frame = small_frame(protocol)
    idx = pl.int_range(pl.len())
    return frame.with_columns(
        pl.when((idx >= 10) & (idx < 10 + exempt))
        .then(pl.lit("WERKT_AL"))
        .otherwise(pl.col("plo_besluit"))
        .alias("plo_besluit")
    )


def test_small_exempt_count_is_suppressed_in_the_html() -> None:
    """E = 3 people is below the protocol's min_numerator: the summary and the methodology
    show the suppression mark where E stands, never the 3."""
    protocol = protocol_mod.load()
    frame = _exempt_frame(protocol, 3)
    raw = indicators.population_counts(frame, PEILDATUM)
    assert raw["exempt"] == 3  # the test data does have three exempt people
    with Store(None, protocol) as store:
        _load(store, frame, PEILDATUM, dt.date(2031, 7, 7))
        data = report_data.build_report(store, protocol, now=NOW)
    assert data.populations.exempt is None
    html = report_html.render_html(data)
    mark = '<abbr class="legend-supp" title="onderdrukt: kleine aantallen">x</abbr>'
    assert f"zijn er {mark} vrijgesteld" in html
    assert "zijn er 3 vrijgesteld" not in html
    assert f"geen toegang tot de arbeidsmarkt' heeft ({mark})" in html
    assert "heeft (3)" not in html


def test_exempt_count_at_the_threshold_is_shown() -> None:
    """E = min_numerator people is shown as the count itself, and E = 0 as 0 (rule 5)."""
    protocol = protocol_mod.load()
    n = protocol.disclosure.min_numerator
    for exempt in (n, 0):
        frame = _exempt_frame(protocol, exempt)
        shown = disclosure.publish_counts(
            indicators.population_counts(frame, PEILDATUM), protocol.disclosure
        )
        assert shown.exempt == exempt


QUALITY_MANIFEST = {
    "quality": {
        "kbi": [
            {"reason": "insz_missing", "column": "insz", "count": 4},
            {"reason": "insz_checksum", "column": "insz", "count": 2},
            {"reason": "missing", "column": "geslacht", "count": 32},
            {"reason": "code_invalid", "column": "geslacht", "count": 6, "label": "Vrouw"},
            {"reason": "date_invalid", "column": "datum_aanmelding", "count": 71},
        ],
        "werkzoekenden": [
            {"reason": "missing", "column": "datum_uitstroom_werk", "count": 830},
            {"reason": "date_invalid", "column": "datum_uitstroom_werk", "count": 9},
        ],
        "acties": [{"reason": "missing", "column": "startdatum", "count": 27}],
        # Nulls of the monitoring dataset: an invalid value is null there too.
        "missing": {"geslacht": 38, "datum_uitstroom_werk": 1417},
    }
}


def test_missing_and_invalid_come_apart_from_the_readers_findings() -> None:
    """Per extract and column: missing from the readers' 'missing'/'insz_missing'
    findings, invalid from the invalid reasons; the dataset's nulls only as 'empty'."""
    summary = report_data.quality_summary(
        Quality.from_manifest(QUALITY_MANIFEST["quality"]), rows=100
    )
    assert summary.missing == {
        ("kbi", "insz"): 4,
        ("kbi", "geslacht"): 32,
        ("werkzoekenden", "datum_uitstroom_werk"): 830,
        ("acties", "startdatum"): 27,
    }
    assert summary.invalid == {
        ("kbi", "insz"): 2,
        ("kbi", "geslacht"): 6,
        ("kbi", "datum_aanmelding"): 71,
        ("werkzoekenden", "datum_uitstroom_werk"): 9,
    }
    assert summary.invalid_total == 6 + 71 + 9  # INSZ rows are counted as quarantined
    assert summary.empty == {"geslacht": 38, "datum_uitstroom_werk": 1417}


def test_html_shows_missing_and_invalid_side_by_side() -> None:
    """The quality section's table per column shows the readers' missing count next to the
    invalid count, and the dataset's null count only under its 'ontbrekend of ongeldig'
    label."""
    protocol = protocol_mod.load()
    with Store(None, protocol) as store:
        _load(store, small_frame(protocol), PEILDATUM, dt.date(2031, 7, 7), QUALITY_MANIFEST)
        html = report_html.render_html(report_data.build_report(store, protocol, now=NOW))
    start = html.index('<section aria-labelledby="kwaliteit">')
    section = html[start : html.index("</section>", start)]
    assert "Ontbrekend (leeg)</th>" in section
    for extract, column, missing, invalid in (
        ("kbi", "geslacht", "32", "6"),
        ("kbi", "insz", "4", "2"),
        ("kbi", "datum_aanmelding", "0", "71"),
        ("werkzoekenden", "datum_uitstroom_werk", "830", "9"),
        ("acties", "startdatum", "27", "0"),
    ):
        header = f"{report_labels.EXTRACT_NL[extract]}: {report_labels.field_label(column)}"
        row = (
            f'<th scope="row">{header}</th>'
            f'<td class="num">{missing}</td><td class="num">{invalid}</td></tr>'
        )
        assert row in section, header
    assert "Leeg in de monitoringdataset (ontbrekend of ongeldig)" in section
    assert '<th scope="row">Geslacht</th><td class="num">38</td>' in section


def test_every_date_after_peildatum_check_has_a_dutch_name() -> None:
    """A consistency check of a date column after the peildatum reads as Dutch, also for
    columns without a name of their own in CONSISTENCY_NL."""
    assert report_labels.consistency_label("datum_aanmelding_after_peildatum") == (
        "Datum aanmelding na de peildatum"
    )
    assert report_labels.consistency_label("datum_uitstroom_werk_after_peildatum") == (
        "Uitstroom naar werk na de peildatum"
    )
