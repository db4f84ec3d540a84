"""The report's first page (the three answers, what changed, the reference points beside
their matching figure), its group comparisons and its complete, typed workbook, on the
real chain's store (two deliveries)."""

from __future__ import annotations

import datetime as dt
import html as html_mod
import math
import re
from pathlib import Path

import openpyxl
import pytest
from conftest import NOW, ChainRun
from test_disparities import P, simulate

from pijler3.analysis import indicators, population
from pijler3.analysis.store import Store
from pijler3.contract import protocol as protocol_mod
from pijler3.contract import words
from pijler3.report import answers, labels
from pijler3.report import data as report_data
from pijler3.report import files as report

# A number written for people (nl-BE) that should have been stored as a number:
# "17.935", "74,3 %", "0,71", "12".
NUMBER_AS_TEXT = re.compile(r"^[−+-]?\d{1,3}(\.\d{3})*(,\d+)?(\s?%)?$|^[−+-]?\d+(,\d+)?(\s?%)?$")


@pytest.fixture(scope="module")
def built(
    chain: ChainRun, tmp_path_factory: pytest.TempPathFactory
) -> tuple[report_data.ReportData, report.ReportResult]:
    ws = chain.spaces["abb-1"]
    with Store(ws.store_path, ws.protocol()) as store:
        data = report_data.build_report(store, ws.protocol(), now=NOW)
    return data, report.render(data, tmp_path_factory.mktemp("answers"))


@pytest.fixture(scope="module")
def grouped(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[report_data.ReportData, report.ReportResult]:
    """A delivery large enough for the disparities models (the chain's is not): the
    simulated registrations of test_disparities, with planted effects and missing regions."""
    protocol = protocol_mod.load()
    with Store(None, protocol) as store:
        store.load_delivery(
            simulate(8_000, 11, 0.5, 0.7),
            delivery_id="20240630-groups",
            peildatum=P,
            received_at=dt.datetime(2024, 7, 7, 9, 0),
            expires_at=dt.date(2031, 7, 7),
            package_sha256="test",
            manifest={},
        )
        data = report_data.build_report(store, protocol, now=NOW)
    return data, report.render(data, tmp_path_factory.mktemp("groups"))


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", html_mod.unescape(re.sub(r"<[^>]+>", " ", html)))


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_first_page_answers_the_three_questions(
    built: tuple[report_data.ReportData, report.ReportResult],
) -> None:
    """The page opens with the protocol's three questions, each answered in sentences that
    carry the figure and its 95% interval as the published table has them, and the
    caution that these are outcomes, not effects of the policy."""
    data, result = built
    page = result.html.read_text("utf-8")
    first = _text(page[page.index('id="antwoorden"') : page.index('id="indicatoren"')])
    questions = words.table("answers.question")
    assert len(questions) == 3
    for question in questions.values():
        assert question in first
    peil = data.latest.peildatum
    for ind in ("toeleiding", "inschrijving_60d", "werk_6m", "werk_12m"):
        (row,) = data.table.rows(ind, "totaal", peil)
        assert not row["suppressed"]
        pct = f"{row['value'] * 100:.1f}".replace(".", ",")
        low = f"{row['ci_low'] * 100:.1f}".replace(".", ",")
        assert f"{pct} % " in first and f"(95%-BI {low} %" in first
    assert "geen gemeten effecten van het beleid" in first
    # The third answer: per outcome, the count of findings, then the groups reached worse
    # by their adjusted percentage and its interval, or a sentence that there is none.
    third = next(a for a in answers.answers(data) if a.key == "groepen")
    for outcome, res in data.odds.items():
        title = labels.INDICATOR_TEXT[outcome].title
        assert any(s.startswith(f"{title}: ") for s in third.sentences)
        worse = res.table.filter((res.table["finding"]) & (res.table["odds_ratio"] < 1))
        if res.table.height and worse.height == 0:
            assert any("geen enkele groep" in s and title.lower() in s for s in third.sentences)
    groups = [s for s in third.sentences if "gecorrigeerd" in s]
    assert all("95%-BI" in s and "onbekend" not in s for s in groups)


def test_change_since_the_previous_delivery_is_a_newcombe_interval(
    built: tuple[report_data.ReportData, report.ReportResult],
) -> None:
    """The difference of two published shares with Newcombe's hybrid score interval,
    computed here from the published counts by the textbook formula (Newcombe 1998,
    method 10), independently of statsmodels; meaningful only when 0 is outside it."""
    data, result = built
    changes = answers.changes(data)
    assert [c.indicator for c in changes] == list(answers.CHANGED)
    before, after = data.deliveries[-2].peildatum, data.latest.peildatum
    for c in changes:
        (r0,) = data.table.rows(c.indicator, "totaal", before)
        (r1,) = data.table.rows(c.indicator, "totaal", after)
        p0, p1 = r0["numerator"] / r0["denominator"], r1["numerator"] / r1["denominator"]
        l0, u0 = _wilson(r0["numerator"], r0["denominator"])
        l1, u1 = _wilson(r1["numerator"], r1["denominator"])
        d = p1 - p0
        low = d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
        high = d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
        assert c.diff == pytest.approx(d, abs=1e-12)
        assert c.low == pytest.approx(low, abs=1e-9)
        assert c.high == pytest.approx(high, abs=1e-9)
        assert c.meaningful == (not low <= 0 <= high)
        assert (" geen betekenisvol verschil" in c.sentence) == (not c.meaningful)
    page = _text(result.html.read_text("utf-8"))
    assert "Wat is er veranderd sinds de vorige levering?" in page
    assert re.sub(r"\s+", " ", changes[0].sentence) in page


def test_each_reference_sits_beside_its_matching_figure(
    built: tuple[report_data.ReportData, report.ReportResult],
) -> None:
    """74 % beside the verplicht group's figure, Atlas beside Antwerpen (stad), each with
    its difference in definitions; the five-year reference matches nothing and is apart;
    the median card carries no reference."""
    data, result = built
    matched, apart = answers.matched_references(data)
    by = {m.reference.indicator: m for m in matched}
    peil = data.latest.peildatum
    verplicht = next(
        r for r in data.table.rows("toeleiding", "doelgroep", peil) if r["category"] == "VERPLICHT"
    )
    assert by["toeleiding"].value == verplicht["value"]
    antwerpen = next(
        r
        for r in data.table.rows("inschrijving_60d", "regio", peil)
        if r["category"] == "ANTWERPEN_STAD"
    )
    assert by["inschrijving_60d"].value == antwerpen["value"]
    assert [r.indicator for r in apart] == ["werk_mediaan_dagen"]
    page = result.html.read_text("utf-8")
    cards = page[page.index('class="cards"') : page.index('id="veranderd"')]
    median_card = cards[cards.index(">Mediane tijd tot werk<") :]
    assert "40–45" not in median_card[: median_card.index("<p")]
    text = _text(cards)
    assert "verplichte inburgeraars" in text and by["toeleiding"].reference.difference in text
    assert "Antwerpen (stad)" in text


def test_group_comparisons_state_holm_and_never_count_onbekend(
    grouped: tuple[report_data.ReportData, report.ReportResult],
) -> None:
    """Section 5 states Holm's correction and has the legend of the filled squares as text
    of the page; the ONBEKEND region is in the workbook's odds table but never a finding;
    the workbook's findings are the model's; the adjusted percentages are numbers; the
    first page names the planted groups (Limburg, women) by adjusted percentage."""
    data, result = grouped
    page = result.html.read_text("utf-8")
    section = page[page.index('id="verschillen"') : page.index('id="risico"')]
    legend = _text(section[section.index('id="legende-forest"') :])
    assert "gevuld vierkantje" in legend and "Holm" in legend
    for res in data.odds.values():
        table = res.table
        assert not table.filter(table["category"] == population.UNKNOWN)["finding"].any()
        for ref in table["reference"].unique():
            assert ref not in (population.UNKNOWN, population.OTHER)
    wb = openpyxl.load_workbook(result.xlsx)
    rows = list(wb["Odds ratio's"].iter_rows(values_only=True))
    header = next(r for r in rows if r[0] == "Groep")
    col = list(header).index("Bevinding")
    onbekend = [r for r in rows if isinstance(r[0], str) and r[0].startswith("Onbekend")]
    assert onbekend and all(r[col] == "nee" for r in onbekend)
    findings = sum(int(res.table["finding"].sum()) for res in data.odds.values())
    assert sum(1 for r in rows if r[col] == "ja") == findings
    margin = list(header).index("Gecorrigeerd aandeel")
    assert any(isinstance(r[margin], float) for r in rows)
    third = next(a for a in answers.answers(data) if a.key == "groepen")
    text = " ".join(third.sentences)
    assert "Inburgeraars in Limburg schrijven zich minder vaak" in text
    assert "Vrouwen schrijven zich minder vaak" in text
    page_text = _text(page)
    assert re.sub(r"\s+", " ", third.sentences[1]) in page_text


@pytest.mark.parametrize("which", ["built", "grouped"])
def test_workbook_cells_are_typed_and_name_no_developer_document(
    which: str, request: pytest.FixtureRequest
) -> None:
    """Every sheet: no number stored as text (an nl-BE number like '17.935' or '74,3 %'
    in a text cell), no date as text, no 'DATA.md'. The quality sheet has counts and
    rates per 100 rows as numbers (the chain's two deliveries have their manifests)."""
    _, result = request.getfixturevalue(which)
    wb = openpyxl.load_workbook(result.xlsx)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                v = cell.value
                if isinstance(v, str):
                    assert not NUMBER_AS_TEXT.match(v.strip()), (ws.title, cell.coordinate, v)
                    assert not re.match(r"\d{2}/\d{2}/\d{4}", v.strip()), (ws.title, v)
                    assert not re.search(r"\.md\b|§", v), (ws.title, v)
    raw = wb["Indicatoren"]
    assert isinstance(raw.cell(row=2, column=1).value, dt.datetime)
    info = {r[0]: r[1] for r in wb["Toelichting"].iter_rows(values_only=True) if r[0]}
    assert isinstance(info["Laatste peildatum"], dt.datetime)
    assert isinstance(info["Gemaakt op"], dt.datetime)
    if which == "grouped":
        return
    quality = list(wb["Kwaliteit"].iter_rows(values_only=True))
    rates = [r for r in quality if isinstance(r[0], str) and r[0].endswith("per 100 rijen")]
    assert rates and all(isinstance(v, float) for v in rates[0][1:3])
    read = next(r for r in quality if r[0] == "Rijen gelezen in het KBI-extract")
    assert all(isinstance(v, int) for v in read[1:3])
    # The rates are the counts beside them per 100 rows (quarantine per row read).
    quarantined = next(r for r in quality if r[0] == "Rijen in quarantaine (geen geldig INSZ)")
    rate = next(r for r in quality if r[0] == "Quarantaine per 100 rijen")
    for k in (1, 2):
        assert rate[k] == pytest.approx(100 * quarantined[k] / read[k])
    assert rate[3] == pytest.approx(rate[2] - rate[1])  # the change since the previous


def test_a_single_delivery_has_nothing_to_compare(
    grouped: tuple[report_data.ReportData, report.ReportResult],
) -> None:
    data, result = grouped
    assert answers.changes(data) == ()
    assert words.word("changes", "single") in _text(result.html.read_text("utf-8"))


@pytest.mark.parametrize("which", ["built", "grouped"])
def test_every_html_table_has_its_sheet(which: str, request: pytest.FixtureRequest) -> None:
    """Each table of the page names its sheet (data-sheet); the sheet exists, and it holds
    the table's caption (indicator sheets hold the rows in long form, so there the
    table's row labels are checked instead)."""
    _, result = request.getfixturevalue(which)
    page = result.html.read_text("utf-8")
    wb = openpyxl.load_workbook(result.xlsx)
    tables = re.findall(r"<table[^>]*>.*?</table>", page, flags=re.S)
    assert len(tables) > 50
    for t in tables:
        m = re.search(r'data-sheet="([^"]+)"', t[: t.index(">")])
        caption = re.search(r"<caption>(.*?)</caption>", t, flags=re.S)
        assert m, caption.group(1) if caption else t[:80]
        sheet = html_mod.unescape(m.group(1))
        assert sheet in wb.sheetnames, sheet
        strings = {
            str(v).strip()
            for row in wb[sheet].iter_rows(values_only=True)
            for v in row
            if isinstance(v, str)
        }
        if sheet in indicators.INDICATOR_IDS:
            headers = re.findall(r'<th scope="row">(.*?)</th>', t)
            for h in headers:
                h = html_mod.unescape(h)
                if not re.fullmatch(r"\d{2}/\d{2}/\d{4}", h):
                    assert h in strings, (sheet, h)
        elif sheet != "Definities":
            assert caption
            assert html_mod.unescape(caption.group(1)).strip() in strings, (sheet, caption)


def test_readme_says_which_file_to_open_in_excel() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    assert re.search(r"report\.xlsx[^\n]*Excel|Excel[^\n]*report\.xlsx", readme)
