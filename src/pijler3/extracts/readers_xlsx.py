"""Reading an XLSX extract: the first sheet's cells as text, and its native cells typed.

The workbook is read with fastexcel (calamine). Every cell is read as text first; the
date columns and the INSZ column are read a second time, once the header is matched, to
learn which cells hold a native date or a number (see the readers' module docstring for
what is made of them).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from typing import Any
from xml.etree import ElementTree

import fastexcel
import polars as pl

from pijler3.contract.errors import ExtractError
from pijler3.extracts.readers_typing import SAVE_AS, Grid


class ZipReader:
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
                f"{name}: is a ZIP file but not a readable XLSX workbook.", hint=SAVE_AS
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

    def grid(self, dates: Sequence[int], insz: int | None) -> Grid:
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
        return Grid(header, frame.slice(1), "xlsx")


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
