"""Reading a CSV extract into a :class:`~pijler3.extracts.readers_typing.Grid` of text.

The encoding (UTF-8, UTF-8 with a byte-order mark, or Windows-1252) and the delimiter
(``;`` or ``,``, whichever the header row holds more of) are detected; every cell is
read as text. A row with another number of fields than the header is refused with its
row number, because Polars would pad it without a word.
"""

from __future__ import annotations

import codecs
import csv
import io
import re

import numpy as np
import numpy.typing as npt
import polars as pl

from pijler3.contract.errors import ExtractError
from pijler3.contract.protocol import DEFAULT_LIMITS
from pijler3.extracts.readers_typing import SAVE_AS, Grid

# A multi-byte UTF-8 sequence: a lead byte and its continuation bytes. Windows-1252
# text almost never holds one (it would be a capital accented letter followed by
# punctuation such as "Ã©").
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


_NOT_BLANK = re.compile(rb"[^ \t\r\n\x0b\x0c]")


def _has_utf8_multibyte(data: bytes) -> bool:
    """Whether ``data`` holds a match of ``_UTF8_MULTIBYTE``, found without scanning it all
    in Python's regex engine: numpy finds the lead bytes followed by a continuation byte
    (rare in Windows-1252 text), and the pattern is tried at those places only."""
    arr = np.frombuffer(data, dtype=np.uint8)
    lead = arr[:-1]
    nxt = arr[1:]
    candidates = np.flatnonzero((lead >= 0xC2) & (lead <= 0xF4) & (nxt >= 0x80) & (nxt <= 0xBF))
    return any(_UTF8_MULTIBYTE.match(data, int(i)) for i in candidates)


def _decode(data: bytes, name: str) -> tuple[bytes, str]:
    """The content as UTF-8 bytes, and the encoding it was read in.

    The text itself is not kept: a large extract would be held twice more in memory.
    """
    if b"\x00" in data:
        raise ExtractError(
            f"{name}: is neither a CSV text file nor an XLSX workbook (it holds binary data, "
            "or is UTF-16 text).",
            hint=SAVE_AS,
        )
    if data.startswith(codecs.BOM_UTF8):
        body = data[len(codecs.BOM_UTF8) :]
        try:
            body.decode("utf-8")
            return body, "utf-8-sig"
        except UnicodeDecodeError:
            raise ExtractError(
                f"{name}: starts with a UTF-8 mark but is not UTF-8 text.", hint=SAVE_AS
            ) from None
    try:
        data.decode("utf-8")
        return data, "utf-8"
    except UnicodeDecodeError as exc:
        bad = exc.start
    if _has_utf8_multibyte(data):
        # Real UTF-8 characters (such as the ï of "Oekraïne") next to a byte that is not
        # UTF-8: a mixed file. Reading it all as Windows-1252 would turn every UTF-8
        # character into two wrong ones without a word, so it is refused.
        row = data.count(b"\n", 0, bad) + 1
        column = bad - (data.rfind(b"\n", 0, bad) + 1) + 1
        raise ExtractError(
            f"{name}: mixes encodings: it is UTF-8 text, but line {row} holds a byte that is"
            f" not UTF-8 (0x{data[bad]:02X} at byte {column} of that line, probably a"
            " Windows-1252 character).",
            hint="Correct that character, or save the whole file again as 'CSV UTF-8'.",
        )
    try:
        # In blocks: a single-byte encoding can be cut anywhere.
        utf8 = b"".join(
            data[i : i + _BLOCK].decode("cp1252").encode("utf-8")
            for i in range(0, len(data), _BLOCK)
        )
    except UnicodeDecodeError:
        raise ExtractError(
            f"{name}: is neither UTF-8 nor Windows-1252 text.", hint=SAVE_AS
        ) from None
    return utf8, "cp1252"


def _delimiter(text: str, name: str) -> str:
    first = text.split("\n", 1)[0]
    semicolons, commas = first.count(";"), first.count(",")
    if semicolons == 0 and commas == 0:
        raise ExtractError(
            f"{name}: the header in row 1 has no ';' or ',' between its column names.",
            hint="Export the file as CSV with ';' or ',' as delimiter.",
        )
    return ";" if semicolons >= commas else ","


def _count_records(
    text: str, delimiter: str, width: int, name: str, field_limit: int = DEFAULT_LIMITS.field_bytes
) -> int:
    """Count the CSV records, refusing the first with the wrong number of fields.

    Polars pads a short row with empty cells without a word, so every file passes here
    once; blank lines are records too (of no fields) and count as empty rows.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    count = 0
    # The csv module's bound is process-wide; it is set to the protocol's for this read.
    previous = csv.field_size_limit(field_limit)
    try:
        for count, record in enumerate(reader, start=1):
            if record and len(record) != width:
                raise ExtractError(
                    f"{name}: row {count} has {len(record)} fields where the header has {width}.",
                    hint="Check that row's quotes and delimiters: a text holding a delimiter "
                    "or a line break must be between double quotes.",
                )
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise ExtractError(
                f"{name}: row {count + 1} has a field longer than"
                f" {field_limit >> 10} KiB, more than one cell of an extract may"
                " hold (or a quote that is not closed swallows the rows after it).",
                hint="Check that row's double quotes, and shorten the text if it is that long.",
            ) from None
        raise ExtractError(
            f"{name}: row {count + 1} cannot be read as CSV (a quote is probably not closed).",
            hint="Check that row's double quotes.",
        ) from None
    finally:
        csv.field_size_limit(previous)
    return count


_BLOCK = 1 << 25  # bytes per block of _count_simple: bounds its memory
_NL, _CR, _QUOTE = ord("\n"), ord("\r"), ord('"')


def _count_simple(data: bytes, delimiter: str, width: int, field_limit: int) -> int | None:
    """The number of CSV records, counted with numpy, when the file is plainly formed.

    Plainly formed: every record has ``width`` fields (or none: a blank line), no field is
    longer than ``field_limit`` bytes, no lone carriage return, and every double quote
    opens a field (after a delimiter, a line break or a closing quote) or closes one
    (before a delimiter, a line break, the end or an escaping quote). The csv module
    then reads the file as counted here. Otherwise returns None, and
    :func:`_count_records` reads it with the csv module to count the records or to name
    the row that is wrong. Blocks of about ``_BLOCK`` bytes, cut at a line break outside
    quotes, keep the memory bounded.
    """
    if data.count(b"\r") != data.count(b"\r\n"):
        return None
    records = 0
    start = 0
    while start < len(data):
        cut = data.find(b"\n", min(start + _BLOCK, len(data)))
        quotes = data.count(b'"', start, len(data) if cut == -1 else cut)
        while cut != -1 and quotes % 2:
            nxt = data.find(b"\n", cut + 1)
            quotes += data.count(b'"', cut, len(data) if nxt == -1 else nxt)
            cut = nxt
        end = len(data) if cut == -1 else cut + 1
        block = np.frombuffer(data, np.uint8, end - start, start)
        counted = _count_block(block, ord(delimiter), width)
        if counted is None or counted[1] > field_limit:
            return None
        records += counted[0]
        start = end
    return records


def _count_block(arr: npt.NDArray[np.uint8], delim: int, width: int) -> tuple[int, int] | None:
    """Records and the longest field of one block that ends at a line break (or the end);
    None when the block is not plainly formed (see :func:`_count_simple`)."""
    n = len(arr)
    quotes = np.flatnonzero(arr == _QUOTE)
    if len(quotes) % 2:
        return None
    if len(quotes):
        before = np.where(quotes > 0, arr[np.maximum(quotes - 1, 0)], _NL)
        after = np.where(quotes + 1 < n, arr[np.minimum(quotes + 1, n - 1)], _NL)
        opening = np.arange(len(quotes)) % 2 == 0
        if not (
            np.isin(before[opening], (delim, _NL, _QUOTE)).all()
            and np.isin(after[~opening], (delim, _CR, _NL, _QUOTE)).all()
        ):
            return None
    seps = np.flatnonzero((arr == delim) | (arr == _NL))
    if len(quotes):
        # A separator between an opening quote and its closing one is text.
        seps = seps[np.searchsorted(quotes, seps) % 2 == 0]
    lines = np.flatnonzero(arr[seps] == _NL)  # indices into seps
    trailing = arr[-1] != _NL  # a last record without a line break after it
    ends = np.append(lines, len(seps)) if trailing else lines
    fields = np.diff(np.concatenate(([-1], ends)))
    record_end = np.append(seps[lines], n) if trailing else seps[lines]
    record_start = np.concatenate(([0], seps[lines] + 1))[: len(record_end)]
    length = record_end - record_start
    first = arr[np.minimum(record_start, n - 1)]
    blank = (length == 0) | ((length == 1) & (first == _CR))
    if not ((fields == width) | blank).all():
        return None
    longest = int(np.diff(np.concatenate(([-1], seps, [n]))).max()) - 1
    return len(record_end), longest


def _header_width(text: str, delimiter: str) -> int:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return len(next(reader))
    except (csv.Error, StopIteration):
        return 0


def read_csv(data: bytes, name: str, field_limit: int = DEFAULT_LIMITS.field_bytes) -> Grid:
    utf8, encoding = _decode(data, name)
    first = _NOT_BLANK.search(utf8)  # without copying the file, as strip() would
    # str.strip also takes \x1c-\x1f and non-ASCII white space: decoded only then.
    if first is None or (
        (first[0][0] >= 0x80 or 0x1C <= first[0][0] <= 0x1F) and not utf8.decode().strip()
    ):
        raise ExtractError(f"{name}: is empty.", hint="Export the extract again.")
    delimiter = _delimiter(utf8.split(b"\n", 1)[0].decode(), name)
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
    width = frame.width if frame is not None else _header_width(utf8.decode(), delimiter)
    records = _count_simple(utf8, delimiter, width, field_limit)
    if records is None:
        records = _count_records(utf8.decode(), delimiter, width, name, field_limit)
    if frame is None or frame.height != records:
        raise ExtractError(f"{name}: cannot be read as CSV.", hint=SAVE_AS)
    frame.columns = [f"c{i}" for i in range(frame.width)]
    header = [v or "" for v in frame.row(0)]
    body = frame.slice(1).with_columns(
        pl.int_range(2, frame.height + 1, dtype=pl.Int64).alias("_row")
    )
    return Grid(header, body, "csv", encoding, delimiter)
