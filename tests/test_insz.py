"""INSZ and BIS numbers (DATA.md), through python-stdnum plus the serial rule, and the
column check held against python-stdnum as the oracle."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from insz_numbers import generate
from stdnum.be import nn as stdnum_nn

from pijler3.contract import insz
from pijler3.contract.insz import InszProblem


def make(first9: str, *, from_2000: bool = False) -> str:
    return first9 + insz.check_digits(first9, born_2000_or_later=from_2000)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("85073003328", "85073003328"),  # the example of the Belgian register
        ("85.07.30-033.28", "85073003328"),
        (" 85 07 30 033 28 ", "85073003328"),
        (make("052703123", from_2000=True), make("052703123", from_2000=True)),  # BIS +20
        (make("854700123"), make("854700123")),  # BIS +40, day 00
        (make("850000123"), make("850000123")),  # month and day unknown
    ],
)
def test_valid_numbers_are_normalised(raw: str, expected: str) -> None:
    assert (expected, None) == insz.check(raw)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (None, InszProblem.MISSING),
        ("  ", InszProblem.MISSING),
        ("8507300332", InszProblem.FORMAT),
        ("850730033289", InszProblem.FORMAT),
        ("85O73003328", InszProblem.FORMAT),
        ("85073003329", InszProblem.CHECKSUM),
        (make("850730000"), InszProblem.SERIAL),  # check digits match, serial 000
        (make("850730999"), InszProblem.SERIAL),
    ],
)
def test_invalid_numbers_say_why(raw: str | None, problem: InszProblem) -> None:
    assert (None, problem) == insz.check(raw)


@given(
    st.integers(1950, 2009),
    st.integers(1, 12),
    st.integers(1, 28),
    st.integers(1, 998),
    st.sampled_from([0, 20, 40]),
)
def test_every_number_built_by_the_rule_is_accepted(
    year: int, month: int, day: int, serial: int, bis: int
) -> None:
    first9 = f"{year % 100:02d}{month + bis:02d}{day:02d}{serial:03d}"
    number = make(first9, from_2000=year >= 2000)
    assert (number, None) == insz.check(number)


def column_check(values: list[str | None], today: dt.date) -> list[tuple[str | None, str | None]]:
    return list(insz.check_column(pl.Series(values, dtype=pl.String), today=today).iter_rows())


def one_by_one(values: list[str | None]) -> list[tuple[str | None, str | None]]:
    """python-stdnum (through :func:`insz.check`) on every value: the oracle."""
    out = []
    for v in values:
        number, problem = insz.check(v)
        out.append((number, None if problem is None else problem.value))
    return out


def test_the_whitespace_table_is_pythons() -> None:
    """The separators the column check removes are those :func:`insz.check` removes."""
    spaces = [c for c in range(0x110000) if chr(c).isspace()]
    table = [c for a, b in insz.PY_SPACES for c in range(a, b + 1)]
    assert spaces == table
    assert all(bool(re.fullmatch(r"\s", chr(c))) for c in spaces)


def test_the_column_check_equals_stdnum_on_200_000_generated_numbers() -> None:
    """Every value of 200,000 generated numbers (valid, one digit changed, BIS, written
    with separators, garbage) gets the same number and reason from the column check as
    from python-stdnum plus the serial rule, one by one. (``bench/insz.py`` does the
    same on 1,000,000 values; 200,000 here keep the test under a minute.)"""
    values = generate(200_000).to_list()
    got = column_check(values, dt.date.today())
    expected = one_by_one(values)
    differences = [(v, g, e) for v, g, e in zip(values, got, expected, strict=True) if g != e]
    assert differences[:20] == []
    kinds = Counter(problem for _, problem in expected)
    assert {None, *(p.value for p in InszProblem)} == set(kinds)
    assert min(n for p, n in kinds.items() if p != InszProblem.MISSING.value) > 1000, kinds


_PIECES = st.sampled_from(["0", "1", "2", "5", "7", "9", "00", "97", ".", "-", "/", " ", "a"])


# Months at and around the edges of 00..12, 20..32 (BIS) and 40..52 (BIS), or any.
_MONTHS = st.sampled_from([0, 1, 12, 13, 19, 20, 21, 32, 33, 39, 40, 52, 53, 60, 99]) | st.integers(
    0, 99
)


@st.composite
def numbers(draw: st.DrawFn) -> str:
    """A number built by the rule, perhaps changed, spelled with separators, or noise."""
    year = draw(st.integers(1900, 2099))
    first9 = (
        f"{year % 100:02d}{draw(_MONTHS):02d}{draw(st.integers(0, 99)):02d}"
        f"{draw(st.integers(0, 999)):03d}"
    )
    number = make(first9, from_2000=draw(st.booleans()))
    if draw(st.booleans()):
        place = draw(st.integers(0, 10))
        number = number[:place] + draw(st.sampled_from("0123456789")) + number[place + 1 :]
    if draw(st.booleans()):
        cuts = sorted(draw(st.lists(st.integers(0, 11), max_size=4)))
        pieces = [number[a:b] for a, b in zip([0, *cuts], [*cuts, 11], strict=True)]
        number = draw(st.sampled_from([".", "-", " ", "/", ". ", "\u00a0"])).join(pieces)
    return number + "".join(draw(st.lists(_PIECES, max_size=2)))


@settings(max_examples=200)
@given(st.lists(numbers() | st.text(max_size=14), min_size=1, max_size=40))
def test_the_column_check_equals_stdnum_on_any_text(values: list[str]) -> None:
    """Hypothesis: numbers built by the rule and then changed, or any text at all."""
    assert one_by_one(values) == column_check(values, dt.date.today())


class _Clock:
    """A stand-in for python-stdnum's ``datetime`` whose ``date.today()`` is fixed."""

    def __init__(self, today: dt.date) -> None:
        fixed = today

        class _Date(dt.date):
            @classmethod
            def today(cls) -> _Date:
                return cls(fixed.year, fixed.month, fixed.day)

        self.date = _Date


@pytest.mark.parametrize(
    "today", [dt.date(2026, 12, 31), dt.date(2027, 1, 1), dt.date(2000, 6, 1), dt.date(2099, 1, 1)]
)
def test_the_column_check_takes_the_clock_as_a_parameter(
    monkeypatch: pytest.MonkeyPatch, today: dt.date
) -> None:
    """python-stdnum tries the born-from-2000 check digits only for a year 20YY not after
    the clock's year; ``check_column(today=...)`` says which day it is, and agrees with
    python-stdnum whose clock is set to that day."""
    monkeypatch.setattr(stdnum_nn, "datetime", _Clock(today))
    values = generate(20_000, seed=today.year, this_year=min(today.year + 3, 2099)).to_list()
    assert one_by_one(values) == column_check(values, today)


def test_a_number_born_in_a_future_year_is_refused_until_that_year() -> None:
    """Check digits with the born-from-2000 rule for 2027 fit only from 1 January 2027."""
    number = make("270101123", from_2000=True)
    before = column_check([number], dt.date(2026, 12, 31))
    after = column_check([number], dt.date(2027, 1, 1))
    assert [(None, InszProblem.CHECKSUM.value)] == before
    assert [(number, None)] == after


def test_unicode_digits_are_no_insz() -> None:
    """Fullwidth digits (which python-stdnum would read as digits) are refused as format:
    the number that travels must be the plain one."""
    fullwidth = "".join(chr(0xFF10 + int(d)) for d in "85073003328")
    assert insz.check(fullwidth) == (None, InszProblem.FORMAT)
    assert [(None, InszProblem.FORMAT.value)] == column_check([fullwidth], dt.date.today())
