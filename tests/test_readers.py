"""Reading incoming extracts (DATA.md, "Reading rules for every incoming extract").

Every test builds its file in ``tmp_path`` (CSV by hand, XLSX with xlsxwriter) and
asserts exact values and exact finding counts.
"""

# STYLE.md asks for `assert expected == actual`, which ruff calls a Yoda condition.
# ruff: noqa: SIM300

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import tomllib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import xlsxwriter

from pijler3.contract import codes, protocol
from pijler3.contract.errors import ExtractError
from pijler3.contract.protocol import Extract
from pijler3.extracts import quality
from pijler3.extracts.readers import ReadResult, read_extract

P = protocol.load()
KBI = P.extracts["kbi"]
WZ = P.extracts["werkzoekenden"]
ACTIES = P.extracts["acties"]

VALID = "85073003328"
LEADING_ZERO = "01010112301"  # born 2001: the leading zero must survive
BIS = "85272500159"  # month 27 = 07 + 20
BIS_DAY_00 = "85270000331"
CHECKSUM_WRONG = "85073003329"
SERIAL_000 = "85010100016"

KBI_ROW: dict[str, Any] = {
    "insz": VALID,
    "geboortedatum": "30/07/1985",
    "geslacht": "V",
    "scholingsniveau": "Laag",
    "oudste_nationaliteit": "Marokko",
    "datum_toeleiding_vdab": "2023-05-02",
    "doelgroep": "Verplicht",
    "datum_doelgroep": "1/3/2023",
    "datum_inburgeringscontract": "15-03-2023",
    "datum_aanmelding": "01/03/2023",
    "regio": "Atlas",
    "toeleiding_diplomagelijkschakeling": "Ja",
    "resultaat_diplomagelijkschakeling": "lopend",
    "plo_besluit": "Toeleiding VDAB",
    "plo_reden": "Wil eerst Nederlands leren",
    "taalleervermogen": "GEMIDDELD",
    "nt2_niveau": "RG2",
    "trajecttype": "Standaard",
    "ocmw_leefloon": "nee",
    "datum_laatste_nt2_activiteit": "",
    "verblijfsstatus": "erkend vluchteling",
}


def header(extract: Extract) -> list[str]:
    return [c.labels[0] for c in extract.columns]


def row(extract: Extract, values: dict[str, Any]) -> list[Any]:
    return [values.get(c.name, "") for c in extract.columns]


def kbi(**overrides: Any) -> list[Any]:
    return row(KBI, {**KBI_ROW, **overrides})


def write_csv(
    path: Path,
    head: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    delimiter: str = ";",
    encoding: str = "utf-8",
    newline: str = "\n",
) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    writer.writerow(head)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, head: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_row(0, 0, head)
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values):
            if isinstance(value, dt.datetime | dt.date):
                sheet.write_datetime(r, c, value, date_format)
            elif isinstance(value, bool):
                sheet.write_boolean(r, c, value)
            elif isinstance(value, int | float):
                sheet.write_number(r, c, value)
            elif value != "":
                sheet.write_string(r, c, value)
    book.close()
    return path


def counts(result: ReadResult) -> dict[tuple[str, str | None, str | None], int]:
    return {(f.reason, f.column, f.label): f.count for f in result.findings}


def error(path: Path, extract: Extract = KBI) -> str:
    with pytest.raises(ExtractError) as info:
        read_extract(path, extract)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


# ---------------------------------------------------------------- the whole row


def test_a_kbi_row_is_read_typed_in_canonical_order(tmp_path: Path) -> None:
    """Every column comes out typed, in the extract's order, with insz_problem and _row."""
    result = read_extract(write_csv(tmp_path / "kbi.csv", header(KBI), [kbi()]), KBI)
    names = [c.name for c in KBI.columns]
    assert [names[0], "insz_problem", *names[1:], "_row"] == result.table.columns
    assert {
        "insz": VALID,
        "insz_problem": None,
        "geboortedatum": dt.date(1985, 7, 30),
        "geslacht": "V",
        "scholingsniveau": "LAAG",
        "oudste_nationaliteit": "MAR",
        "datum_toeleiding_vdab": dt.date(2023, 5, 2),
        "doelgroep": "VERPLICHT",
        "datum_doelgroep": dt.date(2023, 3, 1),
        "datum_inburgeringscontract": dt.date(2023, 3, 15),
        "datum_aanmelding": dt.date(2023, 3, 1),
        "regio": "ANTWERPEN_STAD",
        "toeleiding_diplomagelijkschakeling": True,
        "resultaat_diplomagelijkschakeling": "LOPEND",
        "plo_besluit": "TOELEIDING_VDAB",
        "plo_reden": "Wil eerst Nederlands leren",
        "taalleervermogen": "GEMIDDELD",
        "nt2_niveau": "A2",
        "trajecttype": "STANDAARD",
        "ocmw_leefloon": False,
        "datum_laatste_nt2_activiteit": None,
        "verblijfsstatus": "ERKEND_VLUCHTELING",
        "_row": 2,
    } == result.table.row(0, named=True)
    expected_types = {"date": pl.Date, "bool": pl.Boolean}
    for column in KBI.columns:
        assert expected_types.get(column.type, pl.String) == result.table[column.name].dtype
    assert pl.String == result.table["insz_problem"].dtype
    assert pl.Int64 == result.table["_row"].dtype
    assert {(quality.MISSING, "datum_laatste_nt2_activiteit", None): 1} == counts(result)
    assert ("csv", "utf-8", ";", ()) == (
        result.format,
        result.encoding,
        result.delimiter,
        result.identifier_columns,
    )
    assert str(tmp_path / "kbi.csv") == result.file


def test_vdab_extracts_are_read(tmp_path: Path) -> None:
    """Both VDAB extracts read with their own columns and code lists."""
    wz = write_csv(
        tmp_path / "wz.csv",
        header(WZ),
        [[VALID, "01/02/2023", "2023-03-01", "02", "in bemiddeling", ""]],
    )
    table = read_extract(wz, WZ).table
    assert [
        (VALID, None, dt.date(2023, 2, 1), dt.date(2023, 3, 1), "02", "IN_BEMIDDELING", None, 2)
    ] == table.rows()
    acties = write_csv(tmp_path / "a.csv", header(ACTIES), [[VALID, "Oriëntatie", "5/6/2023"]])
    assert [(VALID, None, "ORIENTATIE", dt.date(2023, 6, 5), 2)] == read_extract(
        acties, ACTIES
    ).table.rows()


def test_header_only_vdab_extract_is_empty_but_header_only_kbi_is_refused(tmp_path: Path) -> None:
    """VDAB may have nothing to report; a KBI extract without one valid INSZ is refused."""
    acties = read_extract(write_csv(tmp_path / "a.csv", header(ACTIES), []), ACTIES)
    assert 0 == acties.table.height
    assert () == acties.findings
    message = error(write_csv(tmp_path / "k.csv", header(KBI), []))
    assert "no data rows" in message


# ---------------------------------------------------------------- CSV dialects


@pytest.mark.parametrize("delimiter", [";", ","])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_csv_delimiter_and_line_ends_are_detected(
    tmp_path: Path, delimiter: str, newline: str
) -> None:
    """';' and ',' are detected from the header; CRLF and LF both read the same."""
    path = write_csv(
        tmp_path / "kbi.csv",
        header(KBI),
        [kbi(plo_reden="a; b, c"), kbi(insz=LEADING_ZERO)],
        delimiter=delimiter,
        newline=newline,
    )
    result = read_extract(path, KBI)
    assert delimiter == result.delimiter
    assert ["a; b, c", "Wil eerst Nederlands leren"] == result.table["plo_reden"].to_list()
    assert [VALID, LEADING_ZERO] == result.table["insz"].to_list()
    assert [2, 3] == result.table["_row"].to_list()


@pytest.mark.parametrize(
    ("encoding", "reported"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1252", "cp1252")],
)
def test_csv_encodings_keep_accents(tmp_path: Path, encoding: str, reported: str) -> None:
    """UTF-8 with or without BOM and Windows-1252 are detected; é, ë, ï survive."""
    text = "Café, België, naïef"
    path = write_csv(tmp_path / "kbi.csv", header(KBI), [kbi(plo_reden=text)], encoding=encoding)
    result = read_extract(path, KBI)
    assert reported == result.encoding
    assert [text] == result.table["plo_reden"].to_list()
    # With a BOM the first header must still be recognised.
    assert [VALID] == result.table["insz"].to_list()


def test_a_second_byte_order_mark_is_taken_off_too(tmp_path: Path) -> None:
    """As before the reader kept no copy of the file: our mark is taken off, then Polars
    takes off one more, so a doubled mark still leaves the first label intact."""
    path = write_csv(tmp_path / "kbi.csv", header(KBI), [kbi()], encoding="utf-8-sig")
    path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())
    result = read_extract(path, KBI)
    assert "utf-8-sig" == result.encoding
    assert [VALID] == result.table["insz"].to_list()


def test_quoted_newline_and_delimiter_keep_row_numbers(tmp_path: Path) -> None:
    """A quoted field may hold ';' and a line break; _row counts records, not lines."""
    path = write_csv(
        tmp_path / "kbi.csv",
        header(KBI),
        [kbi(plo_reden='Regel 1;\r\nregel "2"'), kbi(insz=BIS)],
        newline="\r\n",
    )
    result = read_extract(path, KBI)
    assert ['Regel 1;\r\nregel "2"', KBI_ROW["plo_reden"]] == result.table["plo_reden"].to_list()
    assert [2, 3] == result.table["_row"].to_list()


def test_empty_rows_are_skipped_and_row_numbers_stay_true(tmp_path: Path) -> None:
    """Blank lines and rows of empty cells describe nobody; _row still counts them."""
    lines = [";".join(header(KBI)), ";".join(kbi()), "", ";" * (len(KBI.columns) - 1)]
    lines.append(";".join(kbi(insz=BIS)))
    path = tmp_path / "kbi.csv"
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    result = read_extract(path, KBI)
    assert [2, 5] == result.table["_row"].to_list()
    assert 2 == counts(result)[(quality.MISSING, "datum_laatste_nt2_activiteit", None)]


def test_header_labels_match_case_insensitively_ignoring_spaces(tmp_path: Path) -> None:
    """'  RIJKSREGISTERNUMMER ' is the label 'Rijksregisternummer'."""
    head = [f"  {label.upper()} " for label in header(KBI)]
    result = read_extract(write_csv(tmp_path / "kbi.csv", head, [kbi()]), KBI)
    assert [VALID] == result.table["insz"].to_list()


def test_missing_required_column_names_file_and_column(tmp_path: Path) -> None:
    """A required column that is missing is an error naming the column and the file."""
    head = header(KBI)
    index = head.index("Geslacht")
    rows = [[v for i, v in enumerate(kbi()) if i != index]]
    message = error(write_csv(tmp_path / "kbi.csv", head[:index] + head[index + 1 :], rows))
    assert "required column 'Geslacht' is missing" in message


def test_unknown_column_names_file_and_column(tmp_path: Path) -> None:
    """An unlisted column is refused (proportionality), named in the message."""
    message = error(
        write_csv(tmp_path / "kbi.csv", [*header(KBI), "Godsdienst"], [[*kbi(), "geheim"]])
    )
    assert "unknown column 'Godsdienst'" in message
    assert "geheim" not in message


def test_named_empty_header_with_values_is_refused(tmp_path: Path) -> None:
    """A column without a name but with values could be anything: refused."""
    message = error(write_csv(tmp_path / "kbi.csv", [*header(KBI), ""], [[*kbi(), "x"]]))
    assert f"column {len(KBI.columns) + 1} holds values but has no name" in message


def test_unnamed_empty_trailing_column_is_ignored(tmp_path: Path) -> None:
    """A trailing delimiter (an empty, unnamed column) is a spreadsheet artefact."""
    result = read_extract(write_csv(tmp_path / "k.csv", [*header(KBI), ""], [[*kbi(), ""]]), KBI)
    assert [VALID] == result.table["insz"].to_list()


def test_duplicate_column_is_refused(tmp_path: Path) -> None:
    """Two columns for one field leave no way to choose: refused."""
    message = error(write_csv(tmp_path / "k.csv", [*header(KBI), "geslacht"], [[*kbi(), "M"]]))
    assert "column 'geslacht' appears twice" in message


def test_direct_identifiers_are_accepted_and_kept_for_the_export(tmp_path: Path) -> None:
    """KBI's direct identifiers pass the reader as canonical columns before _row."""
    head = [*header(KBI), "Naam", "E-mail", " telefoon "]
    rows = [[*kbi(), "Janssens", "an@example.org", " 0470 12 34 56 "]]
    result = read_extract(write_csv(tmp_path / "kbi.csv", head, rows), KBI)
    assert ("naam", "e_mail", "telefoon") == result.identifier_columns
    assert ["naam", "e_mail", "telefoon", "_row"] == result.table.columns[-4:]
    assert [("Janssens", "an@example.org", "0470 12 34 56")] == result.table.select(
        "naam", "e_mail", "telefoon"
    ).rows()


def test_direct_identifiers_are_unknown_in_vdab_extracts(tmp_path: Path) -> None:
    """Only the KBI extract lists direct identifiers; VDAB's refuse a 'Naam' column."""
    path = write_csv(tmp_path / "a.csv", [*header(ACTIES), "Naam"], [[VALID, "Context", "", "X"]])
    assert "unknown column 'Naam'" in error(path, ACTIES)


@pytest.mark.parametrize(
    ("extra", "fields"), [(["surplus"], len(KBI.columns) + 1), ([], len(KBI.columns) - 1)]
)
def test_wrong_field_count_names_the_row(tmp_path: Path, extra: list[str], fields: int) -> None:
    """A row with too many or too few fields is an error naming its row number."""
    short = kbi(insz=BIS)[: len(KBI.columns) - 1] if not extra else [*kbi(insz=BIS), *extra]
    path = write_csv(tmp_path / "kbi.csv", header(KBI), [kbi(plo_reden="a\nb"), short])
    message = error(path)
    assert f"row 3 has {fields} fields where the header has {len(KBI.columns)}" in message
    assert BIS not in message


def test_unclosed_quote_is_refused_naming_a_row(tmp_path: Path) -> None:
    """An opening quote that never closes swallows the rest: refused, not guessed."""
    path = tmp_path / "kbi.csv"
    bad = ";".join(kbi(plo_reden='"open'))
    path.write_text("\n".join([";".join(header(KBI)), ";".join(kbi()), bad, ";".join(kbi())]))
    assert "row 3" in error(path)


def test_csv_without_delimiter_is_refused(tmp_path: Path) -> None:
    """A header without ';' or ',' cannot be split into columns."""
    path = tmp_path / "kbi.csv"
    path.write_text("Rijksregisternummer\tGeslacht\n")
    assert "no ';' or ','" in error(path)


# ---------------------------------------------------------------- formats


def test_format_is_recognised_by_content_not_extension(tmp_path: Path) -> None:
    """An XLSX named .csv is read as XLSX, and CSV named .xlsx as CSV."""
    xlsx = write_xlsx(tmp_path / "really-xlsx.csv", header(KBI), [kbi()])
    assert "xlsx" == read_extract(xlsx, KBI).format
    text = write_csv(tmp_path / "really-csv.xlsx", header(KBI), [kbi()])
    assert "csv" == read_extract(text, KBI).format


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "old Excel (.xls)"),
        (b"PK\x03\x04" + bytes(100), "not a readable XLSX workbook"),
        ("Rijksregisternummer;Geslacht\n".encode("utf-16"), "binary data, or is UTF-16"),
        (b"", "is empty"),
        (b"Rijksregisternummer;Geslacht\n\x81\x8d\n", "neither UTF-8 nor Windows-1252"),
    ],
)
def test_other_content_is_refused_clearly(tmp_path: Path, content: bytes, fragment: str) -> None:
    """Anything but CSV text or an XLSX workbook is refused with what to do."""
    path = tmp_path / "extract.csv"
    path.write_bytes(content)
    message = error(path)
    assert fragment in message
    assert "Try saving" in message or "Export" in message


def test_missing_file_is_a_user_error(tmp_path: Path) -> None:
    """A wrong path is an ExtractError, not a traceback."""
    assert "file not found" in error(tmp_path / "nope.csv")


def test_xlsx_native_cells_are_typed(tmp_path: Path) -> None:
    """XLSX: native dates (and midnight date-times), numbers and booleans read as values."""
    rows = [
        kbi(
            insz=85073003328,  # a numeric cell
            geboortedatum=dt.date(1985, 7, 30),
            datum_inburgeringscontract=dt.datetime(2023, 3, 15, 0, 0),
            datum_aanmelding=dt.datetime(2023, 3, 1, 10, 30),  # time of day: not a date
            toeleiding_diplomagelijkschakeling=True,
            ocmw_leefloon=0,
        ),
        kbi(insz=1010112301, geboortedatum="30/07/1985", toeleiding_diplomagelijkschakeling=False),
        kbi(insz="1010112301", geboortedatum=45000),  # text is never padded; a number no date
    ]
    result = read_extract(write_xlsx(tmp_path / "kbi.xlsx", header(KBI), rows), KBI)
    t = result.table
    assert ("xlsx", None, None) == (result.format, result.encoding, result.delimiter)
    assert [VALID, LEADING_ZERO, None] == t["insz"].to_list()
    assert [None, None, quality.INSZ_FORMAT] == t["insz_problem"].to_list()
    assert [dt.date(1985, 7, 30), dt.date(1985, 7, 30), None] == t["geboortedatum"].to_list()
    assert [dt.date(2023, 3, 15), dt.date(2023, 3, 15), dt.date(2023, 3, 15)] == t[
        "datum_inburgeringscontract"
    ].to_list()
    assert [None, dt.date(2023, 3, 1), dt.date(2023, 3, 1)] == t["datum_aanmelding"].to_list()
    assert [True, False, True] == t["toeleiding_diplomagelijkschakeling"].to_list()
    assert [False, False, False] == t["ocmw_leefloon"].to_list()
    assert [2, 3, 4] == t["_row"].to_list()
    assert {
        (quality.INSZ_FORMAT, "insz", None): 1,
        (quality.DATE_INVALID, "geboortedatum", None): 1,
        (quality.DATE_INVALID, "datum_aanmelding", None): 1,
        (quality.MISSING, "datum_laatste_nt2_activiteit", None): 3,
    } == counts(result)


def test_xlsx_numeric_code_and_empty_rows(tmp_path: Path) -> None:
    """XLSX: a VDAB category typed as the number 2 is not the code '02' (DATA.md: nothing
    is guessed; the category is text), it is counted as invalid; empty rows keep
    numbering."""
    rows = [[VALID, "", "", 2, "Uitgeschreven", ""], [], [BIS, "", "", "93", "", ""]]
    result = read_extract(write_xlsx(tmp_path / "wz.xlsx", header(WZ), rows), WZ)
    assert [None, "93"] == result.table["vdab_categorie_werkzoekende"].to_list()
    assert [2, 4] == result.table["_row"].to_list()


def test_xlsx_header_must_be_in_row_1(tmp_path: Path) -> None:
    """Row numbers would shift if the header were lower: refused."""
    path = tmp_path / "kbi.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(1, 0, header(KBI))
    sheet.write_row(2, 0, kbi())
    book.close()
    assert "column names in row 1" in error(path)


def test_xlsx_reads_only_the_first_sheet(tmp_path: Path) -> None:
    """Other sheets (notes, pivots) are not part of the extract."""
    path = tmp_path / "kbi.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet().write_row(0, 0, header(KBI))
    book.worksheets()[0].write_row(1, 0, kbi())
    book.add_worksheet().write_row(0, 0, ["Godsdienst"])
    book.close()
    assert [VALID] == read_extract(path, KBI).table["insz"].to_list()


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("15/03/2023", dt.date(2023, 3, 15)),
        ("5/3/2023", dt.date(2023, 3, 5)),
        ("05/3/2023", dt.date(2023, 3, 5)),
        ("15-03-2023", dt.date(2023, 3, 15)),
        ("2023-03-15", dt.date(2023, 3, 15)),
        (" 2023-03-15 ", dt.date(2023, 3, 15)),
        ("29/02/2024", dt.date(2024, 2, 29)),
        ("01/03/2023", dt.date(2023, 3, 1)),  # day first, never March 1st read as January 3rd
    ],
)
def test_accepted_date_formats(tmp_path: Path, raw: str, expected: dt.date) -> None:
    """dd/mm/yyyy, d/m/yyyy, dd-mm-yyyy and yyyy-mm-dd are dates, day first."""
    path = write_csv(tmp_path / "k.csv", header(KBI), [kbi(), kbi(datum_aanmelding=raw)])
    result = read_extract(path, KBI)
    assert expected == result.table["datum_aanmelding"][1]
    assert (quality.DATE_INVALID, "datum_aanmelding", None) not in counts(result)


@pytest.mark.parametrize(
    "raw",
    ["15.03.2023", "2023/03/15", "01/03/23", "31/02/2023", "03/15/2023", "5-3-2023", "2023-3-15",
     "15/03/2023 10:00", "15 maart 2023", "45000", "00/01/2023"],
)  # fmt: skip
def test_refused_dates_become_missing_and_are_counted(tmp_path: Path, raw: str) -> None:
    """Other spellings, two-digit years, impossible and month-first dates are invalid."""
    path = write_csv(tmp_path / "k.csv", header(KBI), [kbi(), kbi(datum_aanmelding=raw)])
    result = read_extract(path, KBI)
    assert [dt.date(2023, 3, 1), None] == result.table["datum_aanmelding"].to_list()
    assert 1 == counts(result)[(quality.DATE_INVALID, "datum_aanmelding", None)]


def test_date_column_without_one_valid_date_is_structural(tmp_path: Path) -> None:
    """Values but not one valid date: a wrong export format, named by file and column."""
    rows = [kbi(datum_aanmelding="2023/03/01"), kbi(datum_aanmelding=""), kbi(insz=BIS)]
    rows[2][KBI.columns.index(KBI.column("datum_aanmelding"))] = "03/15/2023"
    message = error(write_csv(tmp_path / "k.csv", header(KBI), rows))
    assert "column 'Datum aanmelding' has values but not one valid date" in message
    assert "2023" not in message.split("Dates must")[0].replace(str(tmp_path), "")


def test_all_empty_column_is_fine(tmp_path: Path) -> None:
    """An all-empty column is data (nothing known), counted as missing, not an error."""
    rows = [kbi(datum_aanmelding="", regio=""), kbi(datum_aanmelding="", regio="", insz=BIS)]
    result = read_extract(write_csv(tmp_path / "k.csv", header(KBI), rows), KBI)
    assert [None, None] == result.table["datum_aanmelding"].to_list()
    assert 2 == counts(result)[(quality.MISSING, "datum_aanmelding", None)]
    assert 2 == counts(result)[(quality.MISSING, "regio", None)]


# ---------------------------------------------------------------- booleans


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Ja", True), ("JA", True), ("j", True), ("1", True), ("true", True), ("Waar", True),
     ("Nee", False), ("N", False), ("0", False), ("FALSE", False), ("onwaar", False)],
)  # fmt: skip
def test_accepted_booleans(tmp_path: Path, raw: str, expected: bool) -> None:
    """Ja/Nee, J/N, 1/0, true/false, waar/onwaar in any case."""
    path = write_csv(tmp_path / "k.csv", header(KBI), [kbi(ocmw_leefloon=raw)])
    assert [expected] == read_extract(path, KBI).table["ocmw_leefloon"].to_list()


def test_refused_boolean_is_counted_and_all_refused_is_structural(tmp_path: Path) -> None:
    """'Misschien' is no boolean: missing and counted; a column of only such is refused."""
    rows = [kbi(ocmw_leefloon="Misschien"), kbi(ocmw_leefloon="ja"), kbi(ocmw_leefloon="yes")]
    result = read_extract(write_csv(tmp_path / "k.csv", header(KBI), rows), KBI)
    assert [None, True, None] == result.table["ocmw_leefloon"].to_list()
    assert 2 == counts(result)[(quality.BOOL_INVALID, "ocmw_leefloon", None)]
    rows = [kbi(ocmw_leefloon="Misschien"), kbi(ocmw_leefloon="")]
    message = error(write_csv(tmp_path / "k2.csv", header(KBI), rows))
    assert "column 'OCMW leefloon' has values but not one valid yes/no value" in message


# ---------------------------------------------------------------- code lists


def _column_for(listname: str) -> tuple[Extract, str]:
    for extract in (KBI, WZ, ACTIES):
        for column in extract.columns:
            if column.codelist == listname:
                return extract, column.name
    raise LookupError(listname)


def _base_row(extract: Extract) -> dict[str, Any]:
    if extract is KBI:
        return dict(KBI_ROW)
    return {"insz": VALID}


def _listed_labels(listname: str) -> dict[str, list[str]]:
    """The labels as written in the shipped data files (the original case and accents)."""
    files = {"nationaliteit": "nationaliteit.toml"}
    text = resources.files("pijler3").joinpath("data", files.get(listname, "codelists.toml"))
    data = tomllib.loads(text.read_text("utf-8"))
    if listname == "nationaliteit":
        merged: dict[str, list[str]] = {}
        for table in (data["codes"], data["aliases"]):
            for code, labels in table.items():
                merged.setdefault(code, []).extend(labels)
        return merged
    table: dict[str, list[str]] = data[listname]
    return table


READ_LISTS = sorted(n for n in codes.codelists() if n != "leeftijdscategorie")


def test_every_code_list_but_the_derived_one_is_read_by_some_column() -> None:
    """leeftijdscategorie is derived (DATA.md §3); every other list belongs to a column."""
    for name in READ_LISTS:
        _column_for(name)
    with pytest.raises(LookupError):
        _column_for("leeftijdscategorie")


@pytest.mark.parametrize("listname", READ_LISTS)
def test_every_accepted_label_of_every_code_list(tmp_path: Path, listname: str) -> None:
    """Code, code with spaces, each listed label, any case, padded: all map to the code."""
    extract, column = _column_for(listname)
    codelist = codes.codelist(listname)
    cases: list[tuple[str, str]] = []
    for code in codelist.codes:
        cases += [(code, code), (f"  {code.replace('_', ' ').lower()} ", code)]
    for code, labels in _listed_labels(listname).items():
        cases += [(label, code) for label in labels]
        cases += [(label.upper(), code) for label in labels]
    # Every folded label of the lookup (pycountry's Dutch names for nationalities).
    cases += [(label, code) for label, code in codelist.lookup.items()]
    rows = [row(extract, {**_base_row(extract), column: raw}) for raw, _ in cases]
    result = read_extract(write_csv(tmp_path / "x.csv", header(extract), rows), extract)
    assert [code for _, code in cases] == result.table[column].to_list()
    assert not [f for f in result.findings if f.reason == quality.CODE_INVALID]


REFUSED = {
    "regio": ["Antwerpen", "Gent", "Vlaanderen"],
    "nt2_niveau": ["Amal", "A3", "Richtgraad 5"],
    "doelgroep": ["Vrijwillig", "Verplicht inburgeraar"],
    "nationaliteit": ["Marokkaans", "MA", "Belgisch"],
    "geslacht": ["Onbekend", "Mevrouw"],
    "categorie_werkzoekende": ["1", "WZ", "99"],
    "actietype": ["Opleiding"],
}


@pytest.mark.parametrize("listname", READ_LISTS)
def test_refused_labels_are_counted_per_distinct_value(tmp_path: Path, listname: str) -> None:
    """Unmatched labels become missing, counted per distinct trimmed raw text."""
    extract, column = _column_for(listname)
    refused = [*REFUSED.get(listname, []), "Onzin"]
    first = codes.codelist(listname).codes[0]
    raws = [first, *refused, *refused, f" {refused[0]} "]
    rows = [row(extract, {**_base_row(extract), column: raw}) for raw in raws]
    result = read_extract(write_csv(tmp_path / "x.csv", header(extract), rows), extract)
    assert [first] + [None] * (len(raws) - 1) == result.table[column].to_list()
    invalid = {
        f.label: f.count
        for f in result.findings
        if f.reason == quality.CODE_INVALID and f.column == column
    }
    expected = dict.fromkeys(refused, 2)
    expected[refused[0]] = 3  # the padded spelling is the same trimmed label
    assert expected == invalid


def test_code_column_without_one_valid_code_is_structural(tmp_path: Path) -> None:
    """A column of only unmatched labels is a wrong export, named by file and column."""
    rows = [kbi(regio="Antwerpen"), kbi(regio="Gent"), kbi(regio="")]
    message = error(write_csv(tmp_path / "k.csv", header(KBI), rows))
    assert "column 'Regio' has values but not one valid code" in message
    assert "Antwerpen" not in message


# ---------------------------------------------------------------- INSZ


def test_insz_values_problems_and_findings(tmp_path: Path) -> None:
    """Valid, formatted, BIS, leading-zero and refused INSZ: values, reasons and counts."""
    raws = [
        VALID,
        LEADING_ZERO,
        "85.07.30-033.28",
        "85 07 30 033 28",
        BIS,
        BIS_DAY_00,
        CHECKSUM_WRONG,
        SERIAL_000,
        "8507300332",
        "85O73003328",
        "",
        " ",
    ]
    rows = [kbi(insz=raw) for raw in raws]
    result = read_extract(write_csv(tmp_path / "k.csv", header(KBI), rows), KBI)
    assert [VALID, LEADING_ZERO, VALID, VALID, BIS, BIS_DAY_00, None, None, None, None, None,
            None] == result.table["insz"].to_list()  # fmt: skip
    assert [None] * 6 + [
        quality.INSZ_CHECKSUM,
        quality.INSZ_SERIAL,
        quality.INSZ_FORMAT,
        quality.INSZ_FORMAT,
        quality.INSZ_MISSING,
        quality.INSZ_MISSING,
    ] == result.table["insz_problem"].to_list()
    assert list(range(2, 14)) == result.table["_row"].to_list()
    insz_findings = {k: v for k, v in counts(result).items() if k[1] == "insz"}
    assert {
        (quality.INSZ_MISSING, "insz", None): 2,
        (quality.INSZ_FORMAT, "insz", None): 2,
        (quality.INSZ_CHECKSUM, "insz", None): 1,
        (quality.INSZ_SERIAL, "insz", None): 1,
        (quality.INSZ_FORMATTED, "insz", None): 2,
        (quality.INSZ_BIS, "insz", None): 2,
    } == insz_findings


@pytest.mark.parametrize("raws", [[CHECKSUM_WRONG, "abc", ""], ["", ""]])
def test_extract_without_one_valid_insz_is_refused(tmp_path: Path, raws: list[str]) -> None:
    """Not a single valid INSZ (all invalid, or all empty) is a structural error."""
    rows = [kbi(insz=raw) for raw in raws]
    message = error(write_csv(tmp_path / "k.csv", header(KBI), rows))
    assert "column 'Rijksregisternummer' does not hold a single valid INSZ" in message
    assert CHECKSUM_WRONG not in message
    wz_rows = [[raw, "", "", "00", "", ""] for raw in raws]
    assert "column 'INSZ' does not hold a single valid INSZ" in error(
        write_csv(tmp_path / "w.csv", header(WZ), wz_rows), WZ
    )


def test_findings_carry_no_values_except_code_labels(tmp_path: Path) -> None:
    """Only CODE_INVALID may carry a label; no finding names a person's value."""
    rows = [
        kbi(insz=CHECKSUM_WRONG, geboortedatum="31/02/1985", ocmw_leefloon="?"),
        kbi(plo_reden="", regio="Antwerpen"),
    ]
    result = read_extract(write_csv(tmp_path / "k.csv", header(KBI), rows), KBI)
    assert all(f.row is None for f in result.findings)
    assert all(f.file == result.file for f in result.findings)
    assert [("Antwerpen", quality.CODE_INVALID)] == [
        (f.label, f.reason) for f in result.findings if f.label is not None
    ]
    assert {
        (quality.INSZ_CHECKSUM, "insz", None): 1,
        (quality.DATE_INVALID, "geboortedatum", None): 1,
        (quality.MISSING, "plo_reden", None): 1,
        (quality.CODE_INVALID, "regio", "Antwerpen"): 1,
        (quality.BOOL_INVALID, "ocmw_leefloon", None): 1,
        (quality.MISSING, "datum_laatste_nt2_activiteit", None): 2,
    } == counts(result)


# ---------------------------------------------------------------- no header row

PERSON = {
    "naam": "Ben Haddou",
    "voornaam": "Aïcha",
    "straat": "Kerkstraat",
    "huisnummer": "12",
    "postcode": "2000",
    "gemeente": "Antwerpen",
    "telefoon": "0470 12 34 56",
    "e_mail": "aicha.benhaddou@example.org",
}
IDENTIFIER_LABELS = ["Naam", "Voornaam", "Straat", "Huisnummer", "Postcode", "Gemeente"]
IDENTIFIER_LABELS += ["Telefoon", "E-mail"]


def _values_of(first: Sequence[Any]) -> list[str]:
    """Every value of a first row that could identify the person, and its pieces."""
    values = [str(v) for v in first if str(v).strip() and not isinstance(v, dt.date)]
    values += [v.isoformat() for v in first if isinstance(v, dt.date)]
    values += [VALID, "30/07/1985", "1985", "Aïcha", "Haddou", "0470", "@example.org"]
    return values


def _assert_headerless_error(message: str, first: Sequence[Any], cells: int) -> None:
    assert "row 1 of" in message
    assert "does not look like column names" in message
    assert f"of {cells} cells are not labels this extract knows" in message
    assert "the file must start with the header row" in message
    # The file's own path (a tmp folder such as pytest-127) may hold digits by chance.
    text = re.sub(r"row 1 of \S+", "row 1 of FILE", message)
    for value in _values_of(first):
        assert value not in text, value


def test_headerless_kbi_csv_error_quotes_no_cell_of_row_1(tmp_path: Path) -> None:
    """A KBI CSV without its header row: the error names no value of the first person."""
    first = [*kbi(), *PERSON.values()]
    rows = [first, [*kbi(insz=BIS), *PERSON.values()]]
    path = tmp_path / "kbi.csv"
    path.write_text("\n".join(";".join(r) for r in rows) + "\n", encoding="utf-8")
    message = error(path)
    _assert_headerless_error(message, first, len([v for v in first if v]))


def test_headerless_kbi_xlsx_error_quotes_no_cell_of_row_1(tmp_path: Path) -> None:
    """The same in a workbook, with native date and number cells in row 1."""
    first: list[Any] = [*kbi(), *PERSON.values()]
    first[1] = dt.date(1985, 7, 30)  # geboortedatum as a native date cell
    first[len(KBI.columns) + 3] = 12  # huisnummer as a number
    book = xlsxwriter.Workbook(str(tmp_path / "kbi.xlsx"))
    sheet = book.add_worksheet()
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    for c, value in enumerate(first):
        if isinstance(value, dt.date):
            sheet.write_datetime(0, c, value, date_format)
        elif value != "":
            sheet.write(0, c, value)
    sheet.write_row(1, 0, [*kbi(insz=BIS), *PERSON.values()])
    book.close()
    message = error(tmp_path / "kbi.xlsx")
    _assert_headerless_error(message, first, len([v for v in first if v != ""]))


@pytest.mark.parametrize(
    ("extract", "first"),
    [
        (WZ, [VALID, "01/02/2023", "2023-03-01", "2", "in bemiddeling", "30/07/1985"]),
        (ACTIES, [VALID, "Oriëntatie", "5/6/2023"]),
    ],
)
def test_headerless_vdab_extracts_quote_no_cell_of_row_1(
    tmp_path: Path, extract: Extract, first: list[str]
) -> None:
    """VDAB extracts without a header row: refused without the first row's INSZ or dates."""
    path = tmp_path / "vdab.csv"
    path.write_text(";".join(first) + "\n" + ";".join(first) + "\n", encoding="utf-8")
    message = error(path, extract)
    _assert_headerless_error(message, first, len(first))


@pytest.mark.parametrize(
    "cell", ["0470 12 34 56", "a@b.be", "30/07/1985", "1985-07-30", "85.07.30-033.28"]
)
def test_one_data_shaped_cell_marks_row_1_as_data(tmp_path: Path, cell: str) -> None:
    """Even among labels, a cell shaped like an identifier or a date is never a name."""
    path = write_csv(tmp_path / "kbi.csv", [*header(KBI), cell], [[*kbi(), "x"]])
    message = error(path)
    assert "does not look like column names (1 of" in message
    assert cell not in re.sub(r"row 1 of \S+", "row 1 of FILE", message)


def test_unknown_label_with_digits_is_named_by_position(tmp_path: Path) -> None:
    """An unknown label holding a digit may be a value: only its position is given."""
    head = [*header(KBI), "Godsdienst", "Kamer 12"]
    message = error(write_csv(tmp_path / "kbi.csv", head, [[*kbi(), "a", "b"]]))
    assert f"unknown columns 'Godsdienst', column {len(KBI.columns) + 2} " in message
    assert "Kamer" not in message
