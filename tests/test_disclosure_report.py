"""The demo's report, XLSX and indicators.csv pass the disclosure audit (issue 10).

The published folder of a three-delivery demo is checked three ways: the library's
re-audit from ``disclosure.json`` (what ``pijler3 audit-disclosure`` runs); the LP audit
written independently in ``tests/test_disclosure_audit.py`` (its own constraints, with
the raw counts recomputed here from the analysis store); and the counts of the XLSX
against the CSV. The methods section and the audit log must carry the same figures as
``disclosure.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from conftest import cli_error, run_chain
from test_disclosure_audit import check_rule6

from pijler3 import demo
from pijler3.analysis import disclosure, indicators
from pijler3.analysis.store import Store
from pijler3.cli.commands import cli
from pijler3.exchange import audit, workspace
from pijler3.report import files

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
NAMES = (
    files.HTML_NAME,
    files.XLSX_NAME,
    files.CSV_NAME,
    files.FACTSHEET_NAME,
    files.FACTSHEET_PDF_NAME,
    files.DISCLOSURE_NAME,
)


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("disc") / "demo"
    # The default demo (`make demo`): 20,000 persons, three deliveries, seed 2023.
    demo.run(out, persons=20_000, deliveries=3, seed=2023, now=NOW, echo=lambda _: None)
    return out


def test_the_demo_report_passes_the_audit_from_its_published_files(demo_out: Path) -> None:
    folder = demo_out / "report"
    check = files.audit_published(folder)
    assert check.passed, (check.result.failures[:3], check.mismatches[:3])
    assert check.result.cells > 1000
    # The CLI says the same and exits 0.
    run = CliRunner().invoke(cli, ["audit-disclosure", str(folder)])
    assert run.exit_code == 0, run.output
    assert "Audit passed" in run.output


def test_the_demo_output_passes_an_independent_audit_with_the_raw_counts(
    demo_out: Path,
) -> None:
    ws = workspace.open_workspace(demo_out / "workspaces" / "abb-1")
    raws = []
    with Store(ws.store_path, ws.protocol()) as store:
        for d in store.deliveries():
            raws.append(indicators.compute_raw(store.dataset(d.delivery_id), d.peildatum))
    raw = pl.concat(raws)
    published = pl.read_csv(demo_out / "report" / files.CSV_NAME, schema=dict(disclosure.SCHEMA))
    # Every count that rules 1-2 hide, by one LP over all published tables together.
    check_rule6(raw, published, ws.protocol().disclosure, primary_only=True)
    # Rules 1-3 of each delivery alone are kept: rule 6 only adds hidden cells.
    alone = pl.concat([disclosure.suppress(r, ws.protocol().disclosure) for r in raws])
    for a, p in zip(alone.iter_rows(named=True), published.iter_rows(named=True), strict=True):
        for kind in ("denominator", "numerator"):
            if a[kind] is None:
                assert p[kind] is None


def test_the_xlsx_shows_exactly_the_counts_of_the_csv(demo_out: Path) -> None:
    folder = demo_out / "report"
    csv = pl.read_csv(folder / files.CSV_NAME, schema=dict(disclosure.SCHEMA))
    sheet = pl.read_excel(folder / files.XLSX_NAME, sheet_name="Indicatoren")
    assert sheet.height == csv.height
    for column in ("denominator", "numerator"):
        got = [None if v is None else int(v) for v in sheet[column].to_list()]
        assert got == csv[column].to_list()
    assert csv.filter(pl.col("numerator").is_null())["suppressed"].all()


def test_the_methods_section_and_the_audit_log_record_the_audit(demo_out: Path) -> None:
    doc = json.loads((demo_out / "report" / files.DISCLOSURE_NAME).read_text("utf-8"))
    figures = doc["audit"]
    assert figures["passed"] is True
    assert figures["hidden_rules12"] + figures["hidden_rule3"] > 0
    html = (demo_out / "report" / files.HTML_NAME).read_text("utf-8")
    (text,) = re.findall(r'id="geheimhouding-controle">([^<]*)<', html)

    def nl(n: int) -> str:
        return f"{n:,}".replace(",", ".")

    assert f"regels 1 en 2 er {nl(figures['hidden_rules12'])}," in text
    assert f"regel 3 er {nl(figures['hidden_rule3'])} en" in text
    assert f"regel 6 er nog {nl(figures['hidden_rule6'])}." in text
    assert "smalste bereik" in text
    ws = workspace.open_workspace(demo_out / "workspaces" / "abb-1")
    written = [e for e in audit.events(ws.audit_path) if e["event"] == files.REPORT_WRITTEN]
    assert written[-1]["details"]["disclosure"] == figures


def test_a_tampered_csv_fails_the_audit_command(demo_out: Path, tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    folder.mkdir()
    for name in (files.CSV_NAME, files.DISCLOSURE_NAME):
        (folder / name).write_bytes((demo_out / "report" / name).read_bytes())
    csv = pl.read_csv(folder / files.CSV_NAME, schema=dict(disclosure.SCHEMA))
    hidden = csv.with_row_index().filter(pl.col("denominator").is_null())["index"][0]
    csv = csv.with_columns(
        pl.when(pl.int_range(pl.len()) == hidden)
        .then(7)
        .otherwise(pl.col("denominator"))
        .alias("denominator")
    )
    csv.write_csv(folder / files.CSV_NAME, date_format="%Y-%m-%d")
    run = CliRunner().invoke(cli, ["audit-disclosure", str(folder)])
    assert run.exit_code == 1
    assert "Audit FAILED" in run.output


def test_a_report_whose_disclosure_audit_cannot_pass_is_refused_and_writes_nothing(
    tmp_path: Path,
) -> None:
    """``pijler3 --protocol STRICT report``: a protocol asking a range of 100,000 for
    every hidden denominator cannot be met (the rows of a delivery are always shown and
    bound every count), so the command exits 1 with one ``Error:`` line that says why,
    and the folder keeps the previous report byte for byte, with no file added."""
    chain = run_chain(tmp_path / "chain", persons=100)
    ws = chain.spaces["abb-1"]
    text = ws.protocol_path.read_text("utf-8")
    strict_text, n = re.subn(r"(?m)^min_denominator = 10\b", "min_denominator = 100000", text)
    assert n == 1
    strict = tmp_path / "strict.toml"
    strict.write_text(strict_text, "utf-8")
    out = tmp_path / "report"
    out.mkdir()
    # The previous report in the folder (its content does not matter, only that it stays).
    before = {name: f"previous {name}\n".encode() for name in NAMES}
    for name, data in before.items():
        (out / name).write_bytes(data)
    run = CliRunner().invoke(
        cli,
        [
            "--protocol",
            str(strict),
            "report",
            "--ws",
            str(ws.root),
            "-o",
            str(out),
            "--now",
            "2026-11-29",
        ],
    )
    line = cli_error(run, "disclosure control cannot protect", "nothing was written")
    assert "100000" in line  # it names the threshold that cannot be met
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    written = [e for e in audit.events(ws.audit_path) if e["event"] == files.REPORT_WRITTEN]
    assert written == []
