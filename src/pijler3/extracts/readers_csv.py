"""Reading a CSV extract into a :class:`~pijler3.extracts.readers_typing.Grid` of text.

The encoding (UTF-8, UTF-8 with a byte-order mark, or Windows-1252) and the delimiter
(``;`` or ``,``, whichever the header row holds more of) are detected; every cell is
read as text. A row with another number of fields than the header is refused with its
row number, because Polars would pad it without a word.

Speed and memory: no text (str) of the whole file is made; Windows-1252 is recoded
through Latin-1's fast path with fix-ups (:func:`_cp1252_to_utf8`), and the records
are counted with numpy a block at a time (:func:`_count_shape`); the csv module reads
the file only when it is not plainly formed, to name the row that is wrong.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

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

_DECODE_BLOCK = 1 << 24  # bytes decoded at a time: bounds the memory of a decoded copy


def _cp1252_char(byte: int) -> bytes | None:
    """The UTF-8 bytes of one byte of Windows-1252, or None where it holds no character."""
    try:
        return bytes([byte]).decode("cp1252").encode("utf-8")
    except UnicodeDecodeError:
        return None


# Windows-1252 differs from Latin-1 only in the bytes 0x80-0x9F: these hold other
# characters (the euro sign, curly quotes, …), and five of them none at all.
_CP1252_HIGH = {b: _cp1252_char(b) for b in range(0x80, 0xA0)}


def _blocks(data: bytes, start: int, size: int) -> Iterator[tuple[int, int]]:
    """``data[start:]`` in spans of about ``size`` bytes, each ending just after a line
    break (or at the end): no character of UTF-8 or Windows-1252 spans two of them."""
    while start < len(data):
        cut = data.find(b"\n", min(start + size, len(data)))
        end = len(data) if cut == -1 else cut + 1
        yield start, end
        start = end


def _high_bytes(
    data: bytes, start: int, end: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.uint8]]:
    """The positions (from ``start``) and values of the bytes 0x80-0xFF in ``data[start:end]``."""
    arr = np.frombuffer(data, np.uint8, end - start, start)
    where = np.flatnonzero(arr >= 0x80)
    return where, arr[where]


def _multibyte_in(
    data: bytes, start: int, where: npt.NDArray[np.intp], values: npt.NDArray[np.uint8]
) -> bool:
    """Whether a match of ``_UTF8_MULTIBYTE`` starts at one of the bytes of 0x80 and up
    that ``where`` (from ``start``) and ``values`` are."""
    lead = where[(values >= 0xC2) & (values <= 0xF4)] + start
    lead = lead[lead + 1 < len(data)]
    follow = np.frombuffer(data, np.uint8)[lead + 1]
    candidates = lead[(follow >= 0x80) & (follow <= 0xBF)]
    return any(_UTF8_MULTIBYTE.match(data, int(i)) for i in candidates)


def _is_utf8(data: bytes, start: int, block: int = _DECODE_BLOCK) -> int | None:
    """None when ``data[start:]`` is UTF-8 text, else the position of its first wrong byte.

    Decoded a block at a time, so no decoded copy of the whole file is made."""
    view = memoryview(data)
    for s, e in _blocks(data, start, block):
        try:
            codecs.utf_8_decode(view[s:e], "strict", True)
        except UnicodeDecodeError as exc:
            return s + exc.start
    return None


def _cp1252_to_utf8(data: bytes, name: str, block: int = _DECODE_BLOCK) -> bytes | None:
    """``data.decode("cp1252").encode("utf-8")``, byte for byte, without its slow codec; or
    None when ``data`` holds a UTF-8 character (:func:`_multibyte_in`), which
    takes precedence over a byte that holds no character in Windows-1252 (that refuses
    the file).

    Latin-1 reads every byte as the character of that number, in a fast path of C;
    Windows-1252 differs only in the bytes 0x80-0x9F, which Latin-1 turns into the UTF-8
    pairs C2 80 to C2 9F. Those pairs occur nowhere else in UTF-8 (C2 is a lead byte,
    and the bytes 80-9F after it are the second byte of these characters only), so
    where a block holds such a byte, its pair is replaced by the Windows-1252
    character. The bytes of 0x80 and up are found once, for both purposes.
    """
    view = memoryview(data)
    out: io.BytesIO | None = io.BytesIO()
    for s, e in _blocks(data, 0, block):
        where, values = _high_bytes(data, s, e)
        if _multibyte_in(data, s, where, values):
            return None
        special = np.unique(values[values < 0xA0]).tolist()
        if out is None or any(_CP1252_HIGH[b] is None for b in special):
            out = None  # refused, once no UTF-8 character is found further on
            continue
        utf8 = codecs.latin_1_decode(view[s:e])[0].encode("utf-8")
        for b in special:
            utf8 = utf8.replace(bytes((0xC2, b)), _CP1252_HIGH[b] or b"")
        out.write(utf8)
    if out is None:
        raise ExtractError(f"{name}: is neither UTF-8 nor Windows-1252 text.", hint=SAVE_AS)
    return out.getvalue()


@dataclass(frozen=True)
class Decoded:
    """A CSV file's content as UTF-8 bytes (``utf8[start:]``: after a byte-order mark),
    and the encoding it was read in."""

    utf8: bytes
    start: int
    encoding: str


def decode(data: bytes, name: str) -> Decoded:
    """The content of a CSV file as UTF-8, or ExtractError.

    UTF-8 content is ``data`` itself; Windows-1252 content is recoded, after which the
    caller can let ``data`` go. No text (str) of the whole file is made: a large extract
    would be held twice more in memory.
    """
    if b"\x00" in data:
        raise ExtractError(
            f"{name}: is neither a CSV text file nor an XLSX workbook (it holds binary data, "
            "or is UTF-16 text).",
            hint=SAVE_AS,
        )
    if data.startswith(codecs.BOM_UTF8):
        if _is_utf8(data, len(codecs.BOM_UTF8)) is None:
            return Decoded(data, len(codecs.BOM_UTF8), "utf-8-sig")
        raise ExtractError(f"{name}: starts with a UTF-8 mark but is not UTF-8 text.", hint=SAVE_AS)
    bad = _is_utf8(data, 0)
    if bad is None:
        return Decoded(data, 0, "utf-8")
    recoded = _cp1252_to_utf8(data, name)
    if recoded is None:
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
    return Decoded(recoded, 0, "cp1252")


def _text(decoded: Decoded) -> str:
    """The whole content as text: only where a file is not plainly formed (rare)."""
    return decoded.utf8[decoded.start :].decode()


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


# Bytes per block of _count_shape: bounds its memory (a few times the block). Large,
# because the count runs in a thread beside Polars' read (and, in the link step, beside
# the pseudonyms' HMAC loop, which holds the GIL): each of its numpy calls lets the GIL
# go, and waits for it again, about 30 times per block. With 8 MiB blocks a 400 MB
# extract took 5.4 s to count beside the HMAC loop (2.3 s alone); with 64 MiB, 3.2 s.
_BLOCK = 1 << 26
_NL, _CR, _QUOTE = ord("\n"), ord("\r"), ord('"')


def _records_of_width(shape: tuple[int, int, int] | None, width: int) -> int | None:
    """The records that :func:`_count_shape` counted, if every one that is not blank has
    ``width`` fields; else None."""
    if shape is None:
        return None
    records, fewest, most = shape
    return records if most == 0 or fewest == most == width else None


def _count_shape(
    data: bytes, delimiter: str, field_limit: int, start: int = 0, block: int = _BLOCK
) -> tuple[int, int, int] | None:
    """The number of CSV records in ``data[start:]``, and the fewest and the most fields
    of those that are not blank (``sys.maxsize`` and 0 when all are), counted with
    numpy, when the file is plainly formed; else None.

    Plainly formed: no field is longer than ``field_limit`` bytes, no lone carriage
    return, and every double quote opens a field (after a delimiter, a line break or a
    closing quote) or closes one (before a delimiter, a line break, the end or an
    escaping quote). It needs no header: it runs while Polars reads the file. Blocks of
    about ``block`` bytes, cut at a line break outside quotes, keep the memory bounded.
    """
    records, fewest, most = 0, sys.maxsize, 0
    while start < len(data):
        cut = data.find(b"\n", min(start + block, len(data)))
        end = len(data) if cut == -1 else cut + 1
        arr = np.frombuffer(data, np.uint8, end - start, start)
        quotes = np.flatnonzero(arr == _QUOTE)
        if cut != -1 and len(quotes) % 2:
            # A line break in quotes: the block ends at the first one after which the
            # quotes are even (counted a line at a time: seldom more than a few).
            odd = True
            while cut != -1 and odd:
                nxt = data.find(b"\n", cut + 1)
                odd ^= data.count(b'"', cut, len(data) if nxt == -1 else nxt) % 2 == 1
                cut = nxt
            end = len(data) if cut == -1 else cut + 1
            arr = np.frombuffer(data, np.uint8, end - start, start)
            quotes = np.flatnonzero(arr == _QUOTE)
        counted = _count_block(
            arr, ord(delimiter), quotes, data.count(b"\r", start, end), field_limit
        )
        if counted is None:
            return None
        records += counted[0]
        fewest, most = min(fewest, counted[1]), max(most, counted[2])
        start = end
    return records, fewest, most


def _count_block(
    arr: npt.NDArray[np.uint8],
    delim: int,
    quotes: npt.NDArray[np.intp],
    returns: int,
    field_limit: int,
) -> tuple[int, int, int] | None:
    """The records of one block that ends at a line break (or the end), and the fewest
    and most fields of those that are not blank; None when the block is not plainly
    formed (see :func:`_count_shape`). ``quotes``: where the block
    holds a double quote; ``returns``: how many carriage returns it holds."""
    n = len(arr)
    breaks = np.flatnonzero(arr == _NL)
    # Every carriage return must be followed by a line break (a block never starts with
    # the line break of a pair: it starts after one).
    if returns != np.count_nonzero(arr[breaks[breaks > 0] - 1] == _CR):
        return None
    if len(quotes) % 2:
        return None
    lines = breaks
    if len(quotes):
        before = np.where(quotes > 0, arr[np.maximum(quotes - 1, 0)], _NL)
        after = np.where(quotes + 1 < n, arr[np.minimum(quotes + 1, n - 1)], _NL)
        opening = np.arange(len(quotes)) % 2 == 0
        if not (
            np.isin(before[opening], (delim, _NL, _QUOTE)).all()
            and np.isin(after[~opening], (delim, _CR, _NL, _QUOTE)).all()
        ):
            return None
        # A line break between an opening quote and its closing one is text.
        lines = lines[np.searchsorted(quotes, lines) % 2 == 0]
    # A last record without a line break after it ends at the end.
    record_end = np.append(lines, n) if arr[-1] != _NL else lines
    record_start = np.concatenate(([0], lines + 1))[: len(record_end)]
    delims = np.flatnonzero(arr == delim)
    fields = np.diff(np.searchsorted(delims, record_end), prepend=0) + 1
    if len(quotes):
        # A delimiter between an opening quote and its closing one is text: those of
        # each quoted field are taken off its record's fields.
        opens, closes = quotes[0::2], quotes[1::2]
        inside = np.searchsorted(delims, closes) - np.searchsorted(delims, opens)
        record = np.searchsorted(record_end, opens)
        fields -= np.bincount(record, inside, len(record_end)).astype(fields.dtype)
    length = record_end - record_start
    first = arr[np.minimum(record_start, n - 1)]
    blank = (length == 0) | ((length == 1) & (first == _CR))
    fields = fields[~blank]
    # A field is no longer than its record; only a record longer than the bound needs
    # its fields measured.
    if len(length) and int(length.max()) > field_limit:
        if len(quotes):
            delims = delims[np.searchsorted(quotes, delims) % 2 == 0]
        seps = np.sort(np.concatenate((delims, lines)))
        if int(np.diff(np.concatenate(([-1], seps, [n]))).max()) - 1 > field_limit:
            return None
    if not len(fields):
        return len(record_end), sys.maxsize, 0
    return len(record_end), int(fields.min()), int(fields.max())


def _header_width(text: str, delimiter: str) -> int:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return len(next(reader))
    except (csv.Error, StopIteration):
        return 0


def read_csv(decoded: Decoded, name: str, field_limit: int = DEFAULT_LIMITS.field_bytes) -> Grid:
    """The cells of a decoded CSV file (:func:`decode`), or ExtractError."""
    utf8, start = decoded.utf8, decoded.start
    first = _NOT_BLANK.search(utf8, start)  # without copying the file, as strip() would
    # str.strip also takes \x1c-\x1f and non-ASCII white space: decoded only then.
    if first is None or (
        (first[0][0] >= 0x80 or 0x1C <= first[0][0] <= 0x1F) and not _text(decoded).strip()
    ):
        raise ExtractError(f"{name}: is empty.", hint="Export the extract again.")
    line_end = utf8.find(b"\n", start)
    delimiter = _delimiter(utf8[start : len(utf8) if line_end == -1 else line_end].decode(), name)
    frame: pl.DataFrame | None
    # The records are counted with numpy while Polars reads the cells: both let other
    # threads run, so each takes a core.
    with ThreadPoolExecutor(1) as pool:
        shape = pool.submit(_count_shape, utf8, delimiter, field_limit, start)
        frame = _polars_read(utf8, start, delimiter)
        counted = shape.result()
    width = frame.width if frame is not None else _header_width(_text(decoded), delimiter)
    records = _records_of_width(counted, width)
    if records is None:
        records = _count_records(_text(decoded), delimiter, width, name, field_limit)
    if frame is None or frame.height != records:
        raise ExtractError(f"{name}: cannot be read as CSV.", hint=SAVE_AS)
    frame.columns = [f"c{i}" for i in range(frame.width)]
    header = [v or "" for v in frame.row(0)]
    body = frame.slice(1).with_columns(
        pl.int_range(2, frame.height + 1, dtype=pl.Int64).alias("_row")
    )
    return Grid(header, body, "csv", decoded.encoding, delimiter)


def _polars_read(utf8: bytes, start: int, delimiter: str) -> pl.DataFrame | None:
    """Every cell as text, or None when Polars cannot read the file."""
    try:
        return pl.read_csv(
            # Polars skips one UTF-8 byte-order mark itself; the text after ours is given
            # as is (copied) only when it starts with another one.
            utf8[start:] if utf8.startswith(codecs.BOM_UTF8, start) else utf8,
            separator=delimiter,
            has_header=False,
            infer_schema=False,
            empty_string_is_null=False,
            quote_char='"',
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError:
        # Polars says only that something is wrong; the csv module finds the row.
        return None
