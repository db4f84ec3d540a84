"""INSZ and BIS numbers (DATA.md), through python-stdnum plus the serial rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


def test_check_many_in_parallel_equals_one_by_one() -> None:
    """The worker-process path gives exactly the results of :func:`insz.check`."""
    values = [f"{i * 7919 % 10**11:011d}" for i in range(250_000)]
    values += ["85.07.30-033.28", "", "abc", make("850730000")]
    assert [insz.check(v) for v in values] == insz.check_many(values)
