"""Incoming extracts (CSV or XLSX) → a typed table plus data-quality findings.

DATA.md, "Reading rules for every incoming extract": the format is recognised by its
content (an XLSX workbook is a ZIP file), CSV delimiter and encoding are detected, header
labels are matched case-insensitively, and every cell is read as text first so that an
INSZ keeps its leading zeros. Values are typed with the pure rules of :mod:`codes` and
:mod:`insz`, applied once per *distinct* raw value and joined back, so that a million
rows cost a few seconds. This module recognises the format, matches the header and
assembles the result; :mod:`~pijler3.extracts.readers_csv` and
:mod:`~pijler3.extracts.readers_xlsx` read the cells, and
:mod:`~pijler3.extracts.readers_typing` types them.

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

import datetime as dt
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pijler3.contract import codes
from pijler3.contract.errors import ExtractError
from pijler3.contract.protocol import DEFAULT_LIMITS, Column, Extract, Limits
from pijler3.exchange import scrub
from pijler3.extracts import quality
from pijler3.extracts.quality import Finding
from pijler3.extracts.readers_csv import decode, read_csv
from pijler3.extracts.readers_typing import SAVE_AS, Grid, Source, absent, prepare, typed
from pijler3.extracts.readers_xlsx import ZipReader

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, or an encrypted .xlsx


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


def identifier_name(label: str) -> str:
    """The table column of a direct identifier: ``E-mail`` → ``e_mail``."""
    return codes.fold(label).replace("-", "_").replace(" ", "_")


def read_extract(
    path: str | Path,
    extract: Extract,
    *,
    limits: Limits = DEFAULT_LIMITS,
    today: dt.date | None = None,
) -> ReadResult:
    """Read one extract (CSV or XLSX) as the data contract says, or raise ExtractError.

    The file is measured before it is read: one over ``limits.extract_bytes`` is refused
    unread. ``today`` (default: the clock) is the day the INSZ check takes as today: a
    number's born-from-2000 check digits count only for a birth year not after it.
    """
    today = today or dt.date.today()
    p = Path(path)
    name = str(p)
    data = _read_bounded(p, name, limits.extract_bytes)
    if data.startswith(_ZIP_MAGIC):
        return _build(ZipReader(data, name), extract, name, today)
    if data.startswith(_OLE_MAGIC):
        raise ExtractError(
            f"{name}: is an old Excel (.xls) or password-protected workbook, which cannot be read.",
            hint=SAVE_AS + " Remove any password first.",
        )
    decoded = decode(data, name)
    del data  # a recoded file is not held twice, nor while its cells are typed
    grid = read_csv(decoded, name, limits.field_bytes)
    del decoded
    return _build(grid, extract, name, today)


def _read_bounded(p: Path, name: str, limit: int) -> bytes:
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ExtractError(f"{name}: file not found.", hint="Check the path.") from None
    except IsADirectoryError:
        raise ExtractError(f"{name}: is a folder, not a file.", hint="Name the file.") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ExtractError(f"{name}: is a folder, not a file.", hint="Name the file.")
        if not stat.S_ISREG(info.st_mode):
            raise ExtractError(f"{name}: is not a regular file.", hint="Name the extract file.")
        too_large = ExtractError(
            f"{name}: is larger than the {limit >> 20} MiB an extract may be (the protocol"
            " file's limits.extract_mib); it was not read.",
            hint="Check that this is the extract; if it is, raise the limit in the protocol.",
        )
        if info.st_size > limit:
            raise too_large
        with os.fdopen(os.dup(fd), "rb") as stream:
            data = stream.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise too_large
    return data


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
            _check_unnamed(body, i, name)
            continue
        if key in labels:
            into, slot = found, labels[key].name
        elif key in identifiers:
            into, slot = found_ids, identifiers[key]
        else:
            unknown.append(_unknown_label(raw, i))
            continue
        # Only a cell that folds to a known label reaches the "appears twice" message,
        # so the text it quotes is a label and never a person's value.
        if slot in into:
            raise ExtractError(
                f"{name}: column '{raw.strip()}' appears twice.",
                hint="Keep one of the two columns.",
            )
        into[slot] = i
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


def _check_unnamed(body: pl.DataFrame, index: int, name: str) -> None:
    """A column without a name is ignored when empty (a spreadsheet artefact), else refused."""
    cells = body[f"c{index}"].str.strip_chars()
    if ((cells.is_not_null()) & (cells != "")).any():
        raise ExtractError(
            f"{name}: column {index + 1} holds values but has no name in row 1.",
            hint="Name it as the protocol says, or remove it from the export.",
        )


_DATE_LIKE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")


# No column name is this long. A longer header cell is taken for data unread: the
# identifier patterns cost time quadratic in the length of one long word, so a single
# 64 KiB cell in row 1 would otherwise hold a reader for minutes.
_MAX_LABEL = 200


def _data_shaped(cell: str) -> bool:
    """Whether a header cell has the shape of a value: an identifier or a date."""
    if len(cell) > _MAX_LABEL:
        return True
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
    if len(label) > _MAX_LABEL or any(ch.isdigit() for ch in label) or "@" in label:
        return f"column {index + 1}"
    if scrub.find_identifiers(label):
        return f"column {index + 1}"
    return f"'{label}'"


# ------------------------------------------------------------------ assembly


def _build(source: Grid | ZipReader, extract: Extract, name: str, today: dt.date) -> ReadResult:
    if isinstance(source, ZipReader):
        header = [v or "" for v in source.frame.row(0)]
        found, found_ids = _match_header(header, source.frame.slice(1), extract, name)
        dates = [found[c.name] for c in extract.columns if c.type == "date" and c.name in found]
        insz_col = next((found[c.name] for c in extract.columns if c.type == "insz"), None)
        grid = source.grid(dates, insz_col)
    else:
        grid = source
        found, found_ids = _match_header(grid.header, grid.body, extract, name)
    del source
    sources = [
        Source(
            column,
            f"c{i}",
            f"d{i}" if f"d{i}" in grid.body.columns else None,
            grid.header[i].strip(),
        )
        for column in extract.columns
        if (i := found.get(column.name, -1)) >= 0
    ]
    # Every column not used is empty (an unnamed one: _match_header refuses any other),
    # so a row is blank when its used cells are. The cells as read are let go once typed.
    prepared = prepare(
        grid, sources, [f"c{i}" for i in found_ids.values()], drop_blank=grid.body.width > 1
    )
    text = prepared.table
    if extract.name == "kbi" and text.height == 0:
        raise ExtractError(
            f"{name}: has no data rows, so not a single valid INSZ.",
            hint="Export the extract again.",
        )
    typed_columns, typed_findings = typed(prepared, name, today=today)
    by_name = {s.column.name: k for k, s in enumerate(sources)}
    columns: list[pl.Series] = []
    findings: list[Finding] = []
    for column in extract.columns:
        if column.name not in by_name:
            columns.extend(absent(column, text.height))
            reason = quality.INSZ_MISSING if column.type == "insz" else quality.MISSING
            if text.height:
                findings.append(Finding(reason, column.name, text.height, file=name))
            continue
        columns.extend(typed_columns[by_name[column.name]])
        findings.extend(typed_findings[by_name[column.name]])
    for ident, i in found_ids.items():
        columns.append(text[f"c{i}"].alias(ident))
    columns.append(text["_row"])
    # Each column in one piece, as the steps expect: Polars would otherwise join the
    # pieces of every column again in each eager filter or select on the table. A
    # column at a time, the pieces let go as it goes.
    del text, prepared, typed_columns
    for k, piece in enumerate(columns):
        columns[k] = piece.rechunk()
    return ReadResult(
        table=pl.DataFrame(columns),
        findings=tuple(findings),
        file=name,
        format=grid.format,
        encoding=grid.encoding,
        delimiter=grid.delimiter,
        identifier_columns=tuple(found_ids),
    )
