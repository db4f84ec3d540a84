"""Code lists, nationalities, booleans, dates and age categories (DATA.md)."""

from __future__ import annotations

import datetime as dt

import pytest

from pijler3.contract import codes


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("MAR", "MAR"), ("mar", "MAR"), ("Marokko", "MAR"), ("  marokko ", "MAR"),
        ("Palestina", "PSE"), ("Palestina, Staat", "PSE"), ("Syrië", "SYR"), ("Syrie", "SYR"),
        ("Oekraïne", "UKR"), ("Turkije", "TUR"), ("Afghanistan", "AFG"),
        ("DR Congo", "COD"), ("Congo, Democratische Republiek", "COD"),
        ("XXA", "XXA"), ("Staatloos", "XXA"), ("XXX", "XXX"), ("onbekend", "XXX"),
    ],
)  # fmt: skip
def test_nationality_labels(raw: str, code: str) -> None:
    assert code == codes.match_code("nationaliteit", raw)


@pytest.mark.parametrize("raw", ["Korea", "Arabië", "MA", "Marrokko", "", None])
def test_nationality_guesses_nothing(raw: str | None) -> None:
    assert codes.match_code("nationaliteit", raw) is None


def test_every_iso_country_has_a_dutch_name() -> None:
    nat = codes.codelist("nationaliteit")
    assert len(nat.codes) > 240
    assert codes.country_name_nl("MAR") == "Marokko"
    assert codes.country_name_nl("XXA") == "Staatloos"


@pytest.mark.parametrize(
    ("raw", "value"),
    [("Ja", True), ("nee", False), ("J", True), ("n", False), ("1", True), ("0", False),
     ("TRUE", True), ("false", False), ("waar", True), ("Onwaar", False), ("yes", None),
     ("", None)],
)  # fmt: skip
def test_booleans(raw: str, value: bool | None) -> None:
    assert value == codes.parse_bool(raw)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("15/03/2023", dt.date(2023, 3, 15)), ("5/3/2023", dt.date(2023, 3, 5)),
        ("15-03-2023", dt.date(2023, 3, 15)), ("2023-03-15", dt.date(2023, 3, 15)),
        ("15.03.2023", None), ("2023/03/15", None), ("15/03/23", None),
        ("31/02/2023", None), ("03/15/2023", None), ("", None),
    ],
)  # fmt: skip
def test_dates_are_day_first_and_never_guessed(raw: str, value: dt.date | None) -> None:
    assert value == codes.parse_date(raw)
