"""Incoming extracts (CSV or XLSX) → a typed table plus data-quality findings.

DATA.md, "Reading rules for every incoming extract": the format is recognised by its
content (an XLSX workbook is a ZIP file), CSV delimiter and encoding are detected, header
labels are matched case-insensitively, and every cell is read as text first so that an
INSZ keeps its leading zeros. Values are typed with the pure rules of :mod:`codes` and
:mod:`insz`, applied once per *distinct* raw value and joined back, so that a million
rows cost a few seconds.

Choices this module makes where DATA.md is silent, so the next reader need not guess:

- Rows in which every cell is empty (a blank line, or ``;;;`` as spreadsheets export an
  empty row) are skipped: they describe no person. ``_row`` keeps counting them, so row
  numbers still point at the right line of the file.
- A column whose header cell is empty is ignored when all its cells are empty too (a
  spreadsheet artefact); with values it is refused like an unknown column.
- Text (free text and direct identifiers) is trimmed of surrounding white space; a cell
  holding only white space is missing.
- XLSX: the first sheet's header must be in row 1. A *numeric* cell in the INSZ column
  (Excel turns a typed INSZ into a number and drops its leading zero) is written back as
  11 digits with leading zeros; a *text* cell is never padded, because a text value of
  ten digits is a wrong value, not a lost zero. Native date cells are dates; native
  date-time cells are dates only at midnight. A number in a date column is not a date.
- The INSZ check applies to all three extracts: rows without a single valid INSZ are a
  structural error. A header-only KBI extract is refused too (it has no valid INSZ);
  header-only VDAB extracts are accepted, since VDAB may have nothing to report.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import fastexcel
import polars as pl

from pijler3.contract import codes
from pijler3.contract.errors import ExtractError
from pijler3.contract.insz import InszProblem, check_many
from pijler3.contract.protocol import Column, Extract
from pijler3.exchange import scrub
from pijler3.extracts import quality
from pijler3.extracts.quality import Finding

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, or an encrypted .xlsx
_SAVE_AS = "Try saving the file as 'CSV UTF-8' or as an Excel workbook (.xlsx)."

_INSZ_REASON = {
    InszProblem.FORMAT: quality.INSZ_FORMAT,
    InszProblem.CHECKSUM: quality.INSZ_CHECKSUM,
    InszProblem.SERIAL: quality.INSZ_SERIAL,
}


@dataclass(frozen=True)
class ReadResult:
    """An extract as read: typed canonical columns, ``_row``, and counted findings."""

    table: pl.DataFrame
    findings: tuple[Finding, ...]
    file: str
    format: str
    encoding: str | None
    delimiter: str | None
    identifier_columns: tuple[str, ...]


@dataclass
class _Grid:
    """Every cell as text: ``header`` and the data rows as columns ``c0``, ``c1``, …

    ``body`` also holds ``_row`` and, for XLSX date columns, ``d<i>`` with the native
    date cells (null where the cell is not a native date at midnight).
    """

    header: list[str]
    body: pl.DataFrame
    format: str
    encoding: str | None = None
    delimiter: str | None = None


def identifier_name(label: str) -> str:
    """The table column of a direct identifier: ``E-mail`` → ``e_mail``."""
    return codes.fold(label).replace("-", "_").replace(" ", "_")


def read_extract(path: str | Path, extract: Extract) -> ReadResult:
    """Read one extract (CSV or XLSX) as the data contract says, or raise ExtractError."""
    p = Path(path)
    name = str(p)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ExtractError(f"{name}: file not found.", hint="Check the path.") from None
    except IsADirectoryError:
        raise ExtractError(f"{name}: is a folder, not a file.", hint="Name the file.") from None
    if data.startswith(_ZIP_MAGIC):
        return _build(_ZipReader(data, name), extract, name)
    if data.startswith(_OLE_MAGIC):
        raise ExtractError(
            f"{name}: is an old Excel (.xls) or password-protected workbook, which cannot be read.",
            hint=_SAVE_AS + " Remove any password first.",
        )
    return _build(_read_csv(data, name), extract, name)


# --------------------------------------------------------------------------- CSV


def _decode(data: bytes, name: str) -> tuple[bytes, str, str]:
    """The content as UTF-8 bytes and as text, and the encoding it was read in."""
    if b"\x00" in data:
        raise ExtractError(
            f"{name}: is neither a CSV text file nor an XLSX workbook (it holds binary data, "
            "or is UTF-16 text).",
            hint=_SAVE_AS,
        )
    if data.startswith(codecs.BOM_UTF8):
        body = data[len(codecs.BOM_UTF8) :]
        try:
            return body, body.decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            raise ExtractError(
                f"{name}: starts with a UTF-8 mark but is not UTF-8 text.", hint=_SAVE_AS
            ) from None
    try:
        return data, data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise ExtractError(
            f"{name}: is neither UTF-8 nor Windows-1252 text.", hint=_SAVE_AS
        ) from None
    return text.encode("utf-8"), text, "cp1252"


def _delimiter(text: str, name: str) -> str:
    first = text.split("\n", 1)[0]
    semicolons, commas = first.count(";"), first.count(",")
    if semicolons == 0 and commas == 0:
        raise ExtractError(
            f"{name}: the header in row 1 has no ';' or ',' between its column names.",
            hint="Export the file as CSV with ';' or ',' as delimiter.",
        )
    return ";" if semicolons >= commas else ","


def _count_records(text: str, delimiter: str, width: int, name: str) -> int:
    """Count the CSV records, refusing the first with the wrong number of fields.

    Polars pads a short row with empty cells without a word, so every file passes here
    once; blank lines are records too (of no fields) and count as empty rows.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    count = 0
    try:
        for count, record in enumerate(reader, start=1):
            if record and len(record) != width:
                raise ExtractError(
                    f"{name}: row {count} has {len(record)} fields where the header has {width}.",
                    hint="Check that row's quotes and delimiters: a text holding a delimiter "
                    "or a line break must be between double quotes.",
                )
    except csv.Error:
        raise ExtractError(
            f"{name}: row {count + 1} cannot be read as CSV (a quote is probably not closed).",
            hint="Check that row's double quotes.",
        ) from None
    return count


def _header_width(text: str, delimiter: str) -> int:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return len(next(reader))
    except (csv.Error, StopIteration):
        return 0


def _read_csv(data: bytes, name: str) -> _Grid:
    utf8, text, encoding = _decode(data, name)
    if not text.strip():
        raise ExtractError(f"{name}: is empty.", hint="Export the extract again.")
    delimiter = _delimiter(text, name)
    frame: pl.DataFrame | None
    try:
        frame = pl.read_csv(
            io.BytesIO(utf8),
            separator=delimiter,
            has_header=False,
            infer_schema=False,
            empty_string_is_null=False,
            quote_char='"',
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError:
        # Polars says only that something is wrong; the csv module finds the row.
        frame = None
    width = frame.width if frame is not None else _header_width(text, delimiter)
    records = _count_records(text, delimiter, width, name)
    if frame is None or frame.height != records:
        raise ExtractError(f"{name}: cannot be read as CSV.", hint=_SAVE_AS)
    frame.columns = [f"c{i}" for i in range(frame.width)]
    header = [v or "" for v in frame.row(0)]
    body = frame.slice(1).with_columns(
        pl.int_range(2, frame.height + 1, dtype=pl.Int64).alias("_row")
    )
    return _Grid(header, body, "csv", encoding, delimiter)


# -------------------------------------------------------------------------- XLSX


class _ZipReader:
    """An XLSX workbook, read lazily: the header first, the typed extras once matched."""

    def __init__(self, data: bytes, name: str) -> None:
        self.data = data
        self.name = name
        try:
            self.reader = fastexcel.read_excel(data)
            sheet = self.reader.load_sheet(0, header_row=None, dtypes="string")
            frame = pl.from_arrow(sheet.to_arrow())
        except Exception:  # fastexcel raises several unrelated exception types.
            raise ExtractError(
                f"{name}: is a ZIP file but not a readable XLSX workbook.", hint=_SAVE_AS
            ) from None
        assert isinstance(frame, pl.DataFrame)
        if frame.height == 0:
            raise ExtractError(f"{name}: the first sheet is empty.", hint="Export it again.")
        if _first_row(data) not in (None, 1):
            raise ExtractError(
                f"{name}: the first sheet must have its column names in row 1.",
                hint="Delete the rows above the column names.",
            )
        self.names = frame.columns
        frame.columns = [f"c{i}" for i in range(frame.width)]
        self.frame = frame

    def load(self, columns: dict[int, str]) -> pl.DataFrame:
        """Some columns again, coerced to a type: which cells hold a native value."""
        names: dict[str | int, Any] = {self.names[i]: dtype for i, dtype in columns.items()}
        sheet = self.reader.load_sheet(
            0,
            header_row=None,
            use_columns=[str(n) for n in names],
            dtypes=names,
            dtype_coercion="coerce",
        )
        frame = pl.from_arrow(sheet.to_arrow())
        assert isinstance(frame, pl.DataFrame)
        return frame

    def grid(self, dates: Sequence[int], insz: int | None) -> _Grid:
        frame = self.frame
        extra: list[pl.Series] = []
        if dates:
            # Only a native date or time cell converts to a duration; a number does not.
            durations = self.load(dict.fromkeys(dates, "duration"))
            stamps = self.load(dict.fromkeys(dates, "datetime"))
            for i in dates:
                stamp = stamps[self.names[i]]
                native = durations[self.names[i]].is_not_null() & (
                    stamp.dt.time() == pl.time(0, 0, 0)
                )
                day = pl.select(
                    pl.when(native).then(stamp.dt.date()).otherwise(None).alias(f"d{i}")
                ).to_series()
                extra.append(day)
        if insz is not None:
            # A number converts to a boolean, a text does not; a native boolean reads
            # as "true"/"false" and is no INSZ either way.
            flags = self.load({insz: "boolean"})[self.names[insz]]
            raw = frame[f"c{insz}"]
            numeric = flags.is_not_null() & ~raw.is_in(["true", "false"])
            padded = pl.select(
                pl.when(numeric & raw.str.contains(r"^\d{1,11}$"))
                .then(raw.str.zfill(11))
                .otherwise(raw)
                .alias(f"c{insz}")
            ).to_series()
            frame = frame.with_columns(padded)
        frame = frame.with_columns(extra).with_columns(
            pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias("_row")
        )
        header = [v or "" for v in frame.row(0)[: len(self.names)]]
        return _Grid(header, frame.slice(1), "xlsx")


def _first_row(data: bytes) -> int | None:
    """The row number of the first cell with a value on the first sheet, if known.

    Calamine starts a sheet at its first used row, so row numbers would silently shift
    if row 1 were empty; this reads just enough of the sheet's XML to know.
    """
    ns = {
        "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        "p": "http://schemas.openxmlformats.org/package/2006/relationships",
    }
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            book = ElementTree.fromstring(z.read("xl/workbook.xml"))
            sheet = book.find("m:sheets/m:sheet", ns)
            rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            if sheet is None:
                return None
            rid = sheet.get(f"{{{ns['r']}}}id")
            target = next(
                (r.get("Target", "") for r in rels.findall("p:Relationship", ns)
                 if r.get("Id") == rid),
                "",
            )  # fmt: skip
            member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            with z.open(member) as stream:
                for _, element in ElementTree.iterparse(stream):
                    if element.tag == f"{{{ns['m']}}}c" and (
                        element.find("m:v", ns) is not None or element.find("m:is", ns) is not None
                    ):
                        ref = element.get("r", "")
                        digits = ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
                        return int(digits) if digits.isdigit() else None
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, StopIteration):
        return None
    return None


# ------------------------------------------------------------------ the header


def _match_header(
    header: list[str], body: pl.DataFrame, extract: Extract, name: str
) -> tuple[dict[str, int], dict[str, int]]:
    """Column positions of the canonical columns and of the direct identifiers found."""
    labels: dict[str, Column] = {}
    for column in extract.columns:
        for label in column.labels:
            labels[codes.fold(label)] = column
    identifiers = {
        codes.fold(label): identifier_name(label) for label in extract.direct_identifiers
    }
    _check_looks_like_header(header, set(labels) | set(identifiers), extract, name)
    found: dict[str, int] = {}
    found_ids: dict[str, int] = {}
    unknown: list[str] = []
    for i, raw in enumerate(header):
        key = codes.fold(raw)
        if not key:
            cells = body[f"c{i}"].str.strip_chars()
            if ((cells.is_not_null()) & (cells != "")).any():
                raise ExtractError(
                    f"{name}: column {i + 1} holds values but has no name in row 1.",
                    hint="Name it as the protocol says, or remove it from the export.",
                )
            continue
        # Only a cell that folds to a known label reaches the "appears twice" messages,
        # so the text they quote is a label and never a person's value.
        target = labels.get(key)
        if target is not None:
            if target.name in found:
                raise ExtractError(
                    f"{name}: column '{raw.strip()}' appears twice.",
                    hint="Keep one of the two columns.",
                )
            found[target.name] = i
        elif key in identifiers:
            if identifiers[key] in found_ids:
                raise ExtractError(
                    f"{name}: column '{raw.strip()}' appears twice.",
                    hint="Keep one of the two columns.",
                )
            found_ids[identifiers[key]] = i
        else:
            unknown.append(_unknown_label(raw, i))
    if unknown:
        listed = ", ".join(unknown)
        raise ExtractError(
            f"{name}: unknown column{'s' if len(unknown) > 1 else ''} {listed} "
            f"(not in the protocol's {extract.name} extract).",
            hint="Remove it from the export: only the protocol's columns may be delivered.",
        )
    missing = [c.labels[0] for c in extract.columns if c.required and c.name not in found]
    if missing:
        listed = ", ".join(f"'{m}'" for m in missing)
        raise ExtractError(
            f"{name}: required column{'s' if len(missing) > 1 else ''} {listed} "
            f"{'are' if len(missing) > 1 else 'is'} missing.",
            hint="Add it to the export with exactly this name in row 1.",
        )
    return found, found_ids


_DATE_LIKE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")


def _data_shaped(cell: str) -> bool:
    """Whether a header cell has the shape of a value: an identifier or a date."""
    return bool(
        scrub.find_identifiers(cell)
        or _DATE_LIKE.search(cell)
        or codes.parse_date(cell) is not None
    )


def _check_looks_like_header(
    header: list[str], known: set[str], extract: Extract, name: str
) -> None:
    """Refuse a first row that is data, without quoting a single one of its cells.

    An extract exported without its header row has a person's INSZ, name and dates in
    row 1; the "unknown column" message would echo them. Row 1 is taken for data when
    more than half of its non-empty cells are not labels this extract knows, or when
    any such cell has the shape of an identifier or a date (no column name does).
    """
    cells = [raw for raw in header if codes.fold(raw)]
    strange = [raw for raw in cells if codes.fold(raw) not in known]
    if 2 * len(strange) > len(cells) or any(_data_shaped(raw) for raw in strange):
        raise ExtractError(
            f"row 1 of {name} does not look like column names ({len(strange)} of "
            f"{len(cells)} cells are not labels this extract knows); the file must start "
            "with the header row.",
            hint=f"Check that this is the {extract.name} extract, and export it again with "
            "its column names in row 1.",
        )


def _unknown_label(raw: str, index: int) -> str:
    """How an unknown column is named in an error: its label, or its position.

    A label with a digit, an '@' or an identifier shape may be a value typed where a
    name belongs, so it is named by position only.
    """
    label = raw.strip()
    if any(ch.isdigit() for ch in label) or "@" in label or scrub.find_identifiers(label):
        return f"column {index + 1}"
    return f"'{label}'"


# ------------------------------------------------------------------ typing


def _lookup(values: pl.Series, fn: Callable[[str], Any], dtype: pl.DataType) -> pl.Series:
    """Apply a pure Python rule once per distinct value and map the result back."""
    keys = values.drop_nulls().unique()
    mapped = pl.Series([fn(k) for k in keys.to_list()], dtype=dtype)
    return values.replace_strict(keys, mapped, default=None, return_dtype=dtype)


def _trimmed(raw: pl.Series) -> pl.Series:
    """The raw text trimmed, with empty cells as null."""
    s = raw.str.strip_chars()
    return pl.select(pl.when(s == "").then(None).otherwise(s).alias(raw.name)).to_series()


def _structural(name: str, label: str, what: str, hint: str) -> ExtractError:
    return ExtractError(f"{name}: column '{label}' has values but not one valid {what}.", hint=hint)


def _typed(
    column: Column, raw: pl.Series, native: pl.Series | None, label: str, name: str
) -> tuple[list[pl.Series], list[Finding]]:
    """One column typed, and its findings; raises when not one value is valid."""
    text = _trimmed(raw)
    present = text.is_not_null()
    findings: list[Finding] = []

    def finding(reason: str, count: int, value: str | None = None) -> None:
        if count:
            findings.append(Finding(reason, column.name, count, file=name, label=value))

    if column.type == "insz":
        return _typed_insz(column, text, label, name)
    if native is not None:
        # A native XLSX date cell is a value even though its text is no date.
        present = present | native.is_not_null()
    finding(quality.MISSING, int((~present).sum()))
    if column.type == "text":
        return [text.alias(column.name)], findings
    if column.type == "date":
        parsed = _lookup(text, codes.parse_date, pl.Date())
        if native is not None:
            parsed = parsed.fill_null(native)
        typed, reason = parsed, quality.DATE_INVALID
        what, hint = (
            "date",
            "Dates must be dd/mm/yyyy, d/m/yyyy, dd-mm-yyyy or yyyy-mm-dd (day first); "
            "check the export settings.",
        )
    elif column.type == "bool":
        typed, reason = _lookup(text, codes.parse_bool, pl.Boolean()), quality.BOOL_INVALID
        what, hint = "yes/no value", "Use Ja/Nee, J/N, 1/0, true/false or waar/onwaar."
    else:
        assert column.codelist is not None
        codelist = codes.codelist(column.codelist)
        typed, reason = _lookup(text, codelist.match, pl.String()), quality.CODE_INVALID
        what = "code"
        hint = f"Use the codes or labels of the code list '{column.codelist}' (DATA.md)."
    invalid = present & typed.is_null()
    n_invalid = int(invalid.sum())
    if n_invalid and n_invalid == int(present.sum()):
        raise _structural(name, label, what, hint)
    if reason == quality.CODE_INVALID and n_invalid:
        counts = text.filter(invalid).value_counts(name="n").sort(raw.name)
        for value, count in counts.iter_rows():
            finding(reason, int(count), str(value))
    else:
        finding(reason, n_invalid)
    return [typed.alias(column.name)], findings


def _typed_insz(
    column: Column, text: pl.Series, label: str, name: str
) -> tuple[list[pl.Series], list[Finding]]:
    keys = text.drop_nulls().unique()
    checked = check_many(keys.to_list())
    lookup = pl.DataFrame(
        {
            "k": keys,
            "number": pl.Series([c[0] for c in checked], dtype=pl.String),
            "problem": pl.Series(
                [None if c[1] is None else c[1].value for c in checked], dtype=pl.String
            ),
        }
    )
    joined = text.alias("k").to_frame().join(lookup, on="k", how="left", maintain_order="left")
    number = joined["number"]
    problem = joined["problem"].fill_null(InszProblem.MISSING.value)
    problem = pl.select(
        pl.when(number.is_not_null()).then(None).otherwise(problem).alias("insz_problem")
    ).to_series()
    findings: list[Finding] = []
    counts = problem.value_counts(name="n")
    by_reason = {r: int(n) for r, n in counts.iter_rows() if r is not None}
    valid = int(number.is_not_null().sum())
    if valid == 0 and text.len() > 0:
        raise ExtractError(
            f"{name}: column '{label}' does not hold a single valid INSZ.",
            hint="Check that this is the right file and column, and that Excel kept the "
            "numbers as text (11 digits with leading zeros).",
        )

    def finding(reason: str, count: int) -> None:
        if count:
            findings.append(Finding(reason, column.name, count, file=name))

    finding(quality.INSZ_MISSING, by_reason.get(InszProblem.MISSING.value, 0))
    for problem_kind, reason in _INSZ_REASON.items():
        finding(reason, by_reason.get(problem_kind.value, 0))
    finding(quality.INSZ_FORMATTED, int((number.is_not_null() & (number != text)).sum()))
    month = number.str.slice(2, 2).cast(pl.Int32, strict=False)
    finding(quality.INSZ_BIS, int((month >= 20).sum()))
    return [number.alias(column.name), problem], findings


# ------------------------------------------------------------------ assembly


def _build(source: _Grid | _ZipReader, extract: Extract, name: str) -> ReadResult:
    if isinstance(source, _ZipReader):
        header = [v or "" for v in source.frame.row(0)]
        found, found_ids = _match_header(header, source.frame.slice(1), extract, name)
        dates = [found[c.name] for c in extract.columns if c.type == "date" and c.name in found]
        insz_col = next((found[c.name] for c in extract.columns if c.type == "insz"), None)
        grid = source.grid(dates, insz_col)
    else:
        grid = source
        found, found_ids = _match_header(grid.header, grid.body, extract, name)
    body = grid.body
    cells = [f"c{i}" for i in range(len(grid.header))] + [
        c for c in body.columns if c.startswith("d")
    ]
    if cells:
        # A row in which every cell is empty describes nobody (see the module docstring).
        blank = pl.all_horizontal(
            [
                pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "")
                if c.startswith("c")
                else pl.col(c).is_null()
                for c in cells
            ]
        )
        body = body.filter(~blank)
    if extract.name == "kbi" and body.height == 0:
        raise ExtractError(
            f"{name}: has no data rows, so not a single valid INSZ.",
            hint="Export the extract again.",
        )

    columns: list[pl.Series] = []
    findings: list[Finding] = []
    for column in extract.columns:
        if column.name not in found:
            columns.extend(_absent(column, body.height))
            reason = quality.INSZ_MISSING if column.type == "insz" else quality.MISSING
            if body.height:
                findings.append(Finding(reason, column.name, body.height, file=name))
            continue
        i = found[column.name]
        native = body[f"d{i}"] if f"d{i}" in body.columns else None
        series, more = _typed(column, body[f"c{i}"], native, grid.header[i].strip(), name)
        columns.extend(series)
        findings.extend(more)
    for ident, i in found_ids.items():
        columns.append(_trimmed(body[f"c{i}"]).alias(ident))
    columns.append(body["_row"])
    return ReadResult(
        table=pl.DataFrame(columns),
        findings=tuple(findings),
        file=name,
        format=grid.format,
        encoding=grid.encoding,
        delimiter=grid.delimiter,
        identifier_columns=tuple(found_ids),
    )


def _absent(column: Column, height: int) -> list[pl.Series]:
    """An optional column that is not in the file: all missing, with the right type."""
    dtype: pl.DataType = {"date": pl.Date(), "bool": pl.Boolean()}.get(column.type, pl.String())
    out = [pl.Series(column.name, [None] * height, dtype=dtype)]
    if column.type == "insz":
        out.append(pl.Series("insz_problem", [InszProblem.MISSING.value] * height, pl.String))
    return out
