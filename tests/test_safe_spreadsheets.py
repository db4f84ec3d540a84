"""Spreadsheets that never execute (issue 11, item 3).

Every XLSX pijler3 writes stores a text that looks like a formula or a link as text;
every CSV meant for people (the quarantine file) neutralises a cell that a spreadsheet
would take for a formula; ``indicators.csv``, read by programs, is left exactly as is.
"""

# STYLE.md asks for `assert expected == actual`, which ruff calls a Yoda condition.
# ruff: noqa: SIM300

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from conftest import NOW
from test_report import PEILDATUM, small_frame

from pijler3.analysis.store import Store
from pijler3.contract import protocol as protocol_mod
from pijler3.exchange import peoplecsv
from pijler3.report import data as report_data
from pijler3.report import files as report_files

LABELS = ('=HYPERLINK("http://x.invalid","klik")', "=1+1", "\t=2*3", "@SUM(1)", "+1")


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """report.xlsx of a delivery whose quality findings carry formula-like raw codes,
    each seen often enough (40 times) to be named in the "Kwaliteit" sheet."""
    protocol = protocol_mod.load()
    findings = [
        {"reason": "code_invalid", "column": "regio", "count": 40, "label": label}
        for label in LABELS
    ]
    with Store(None, protocol) as store:
        store.load_delivery(
            small_frame(protocol),
            delivery_id="20260630-formulas",
            peildatum=PEILDATUM,
            received_at=dt.datetime(2026, 7, 7, 9, 0),
            expires_at=dt.date(2031, 7, 7),
            package_sha256="test",
            manifest={"quality": {"kbi": findings}},
        )
        data = report_data.build_report(store, protocol, now=NOW)
    return report_files.render(data, tmp_path_factory.mktemp("xlsx")).xlsx


def test_formula_like_labels_are_stored_as_text_cells(workbook: Path) -> None:
    """openpyxl reads each label back as a string cell with the label's own text; no
    cell of the workbook is a formula or carries a hyperlink."""
    wb = openpyxl.load_workbook(workbook)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    texts = {c.value for c in cells if c.data_type == "s"}
    shown = {label: label in texts or label.strip() in texts for label in LABELS}
    assert {label: True for label in LABELS} == shown
    assert [] == [c.coordinate for c in cells if c.data_type == "f"]
    assert [] == [c.coordinate for c in cells if c.hyperlink is not None]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://x.invalid","klik")', '\'=HYPERLINK("http://x.invalid","klik")'),
        ("+32 470", "'+32 470"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=2*3", "'\t=2*3"),
        ("\r=2*3", "'\r=2*3"),
        ("checksum", "checksum"),
        ("a=b", "a=b"),
        (17, "17"),
        (-3, "-3"),
        (None, ""),
    ],
)
def test_people_csv_cells_that_start_a_formula_get_an_apostrophe(
    value: object, expected: str
) -> None:
    """Text beginning with = + - @ tab or CR is prefixed; numbers and other text not."""
    assert expected == peoplecsv.neutralise(value)


def test_people_csv_is_quoted_csv_with_neutralised_cells() -> None:
    """The separator inside a cell is quoted; the header is neutralised too."""
    out = peoplecsv.render(("rij", "=reden"), [(3, "format"), (9, "=1;2")])
    assert b"rij;'=reden\n3;format\n9;\"'=1;2\"\n" == out
