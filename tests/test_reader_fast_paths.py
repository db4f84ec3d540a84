"""The readers' column-wise fast paths agree with the plain per-value rules they replace.

- :func:`readers_typing.parse_dates` (Polars expressions over a column) gives what
  :func:`pijler3.contract.codes.parse_date` gives for each cell;
- the record count of :func:`readers_csv._count_shape` (numpy over the bytes), as
  ``read_csv`` takes it (:func:`_count_simple` below), either declines (None) or counts
  exactly the records the csv module reads, on files the csv module accepts;
- the search for a UTF-8 character a block at a time, as ``_cp1252_to_utf8`` makes it
  (:func:`_has_utf8_multibyte` below), finds what the pattern's ``search`` finds.

The oracles are the per-value functions themselves, run in the test.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pijler3.contract import codes
from pijler3.contract.errors import ExtractError
from pijler3.extracts import readers_csv
from pijler3.extracts.readers_typing import parse_dates


def _count_simple(
    data: bytes, delimiter: str, width: int, field_limit: int, block: int = readers_csv._BLOCK
) -> int | None:
    """The records ``read_csv`` counts with numpy for a file whose header has ``width``
    fields, or None where it leaves the count to the csv module."""
    shape = readers_csv._count_shape(data, delimiter, field_limit, 0, block)
    return readers_csv._records_of_width(shape, width)


def _has_utf8_multibyte(data: bytes, block: int = readers_csv._DECODE_BLOCK) -> bool:
    """Whether ``_cp1252_to_utf8``'s search, a block at a time among the bytes of 0x80 and
    up, finds a UTF-8 character in ``data``."""
    return any(
        readers_csv._multibyte_in(data, s, *readers_csv._high_bytes(data, s, e))
        for s, e in readers_csv._blocks(data, 0, block)
    )


_day = st.integers(0, 40)
_month = st.integers(0, 14)
_year = st.sampled_from([0, 1, 99, 1900, 1996, 2000, 2023, 2024, 2100, 9999, 12345])


@st.composite
def _date_text(draw: st.DrawFn) -> str | None:
    d, m, y = draw(_day), draw(_month), draw(_year)
    sep = draw(st.sampled_from("/-."))
    shaped = draw(
        st.sampled_from(
            [
                f"{d:02d}{sep}{m:02d}{sep}{y:04d}",
                f"{d}{sep}{m}{sep}{y}",
                f"{y:04d}{sep}{m:02d}{sep}{d:02d}",
                f" {d}/{m}/{y} ",
                f"{d}/{m}/{y}x",
                "٣/٤/٢٠٢٤",  # Arabic-Indic digits: Python's \d takes them
                "１/２/２０２４",  # full-width digits
                "",
            ]
        )
    )
    return draw(st.one_of(st.just(shaped), st.none(), st.text(max_size=12)))


@settings(max_examples=200, deadline=None)
@given(st.lists(_date_text(), max_size=60))
def test_parse_dates_is_parse_date_on_every_cell(values: list[str | None]) -> None:
    got = parse_dates(pl.Series("x", values, dtype=pl.String)).to_list()
    assert got == [codes.parse_date(v) for v in values]


def test_parse_dates_on_every_day_of_four_years_and_impossible_ones() -> None:
    days = [dt.date(2023, 1, 1) + dt.timedelta(n) for n in range(4 * 366)]
    values = [d.strftime(f) for d in days for f in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y")]
    values += ["29/02/2023", "29/02/2024", "29/02/2100", "29/02/2000", "31/04/2024", "00/01/2024"]
    got = parse_dates(pl.Series("x", values)).to_list()
    assert got == [codes.parse_date(v) for v in values]


_PIECES = ["a", "b", "é", ";", ",", '"', '""', '"x"', "\n", "\r\n", "\r", " "]


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES), max_size=30),
    st.sampled_from(";,"),
    st.integers(1, 4),
)
def test_count_simple_counts_as_the_csv_module_or_declines(
    pieces: list[str], delimiter: str, width: int
) -> None:
    text = "".join(pieces)
    counted = _count_simple(text.encode(), delimiter, width, 8)
    if counted is not None:
        # Then the csv module accepts the file and counts the same records.
        assert readers_csv._count_records(text, delimiter, width, "f", 8) == counted


def test_count_simple_takes_plain_files_and_declines_a_short_row() -> None:
    plain = 'a;b;c\r\n1;"x;y";3\r\n\r\n"q""r";;\r\n4;5;6'
    assert _count_simple(plain.encode(), ";", 3, 100) == 5
    assert _count_simple(b"a;b;c\r\n1;2\r\n", ";", 3, 100) is None
    try:
        readers_csv._count_records("a;b;c\r\n1;2\r\n", ";", 3, "f", 100)
    except ExtractError as exc:
        assert "row 2 has 2 fields" in str(exc)
    else:
        raise AssertionError("the csv module should refuse the short row")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_utf8_multibyte_check_is_the_pattern_search(data: bytes) -> None:
    found = readers_csv._UTF8_MULTIBYTE.search(data) is not None
    assert _has_utf8_multibyte(data) == found


# Bytes for the encoding tests: mostly the ones where UTF-8, Latin-1 and Windows-1252
# part ways (0x80-0xFF, the five bytes Windows-1252 leaves undefined among them), and
# line breaks, at which the readers cut their blocks.
_encoded = st.lists(
    st.one_of(
        st.integers(0x80, 0xFF),
        st.sampled_from([0x81, 0x8D, 0x8F, 0x90, 0x9D, 0xC2, 0xC3, 0xE2, 0x0A, 0x0D]),
        st.integers(0, 0x7F),
    ),
    max_size=60,
).map(bytes)


def _no_utf8_character(data: bytes) -> bytes:
    """``data`` with an ASCII letter after every byte that could start a UTF-8 character."""
    return b"".join(bytes([b, 0x61]) if 0xC2 <= b <= 0xF4 else bytes([b]) for b in data)


@settings(max_examples=1000, deadline=None)
@given(st.one_of(_encoded, _encoded.map(_no_utf8_character)), st.integers(1, 8))
def test_cp1252_recoding_is_the_codec(data: bytes, block: int) -> None:
    """The Latin-1 path with its fix-ups gives byte for byte what Python's cp1252 codec
    gives, and refuses exactly what the codec refuses, with the same message; a UTF-8
    character anywhere (the pattern's search) comes first, as None."""
    if readers_csv._UTF8_MULTIBYTE.search(data):
        assert readers_csv._cp1252_to_utf8(data, "f", block) is None
        return
    try:
        expected: bytes | None = data.decode("cp1252").encode("utf-8")
    except UnicodeDecodeError:
        expected = None
    try:
        got = readers_csv._cp1252_to_utf8(data, "f", block)
        assert got is not None
    except ExtractError as exc:
        assert str(exc).startswith("f: is neither UTF-8 nor Windows-1252 text.")
        got = None
    assert got == expected


@settings(max_examples=500, deadline=None)
@given(_encoded, st.integers(1, 8), st.integers(0, 3))
def test_utf8_check_in_blocks_finds_the_first_wrong_byte(
    data: bytes, block: int, start: int
) -> None:
    try:
        data[start:].decode("utf-8")
        expected = None
    except UnicodeDecodeError as exc:
        expected = start + exc.start
    assert readers_csv._is_utf8(data, start, block) == expected


@settings(max_examples=500, deadline=None)
@given(_encoded, st.integers(1, 8))
def test_utf8_multibyte_check_in_blocks_is_the_pattern_search(data: bytes, block: int) -> None:
    found = readers_csv._UTF8_MULTIBYTE.search(data) is not None
    assert _has_utf8_multibyte(data, block) == found


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES), max_size=30),
    st.sampled_from(";,"),
    st.integers(1, 4),
    st.integers(1, 6),
)
def test_count_simple_in_small_blocks_counts_as_the_csv_module_or_declines(
    pieces: list[str], delimiter: str, width: int, block: int
) -> None:
    text = "".join(pieces)
    counted = _count_simple(text.encode(), delimiter, width, 8, block=block)
    if counted is not None:
        assert readers_csv._count_records(text, delimiter, width, "f", 8) == counted
