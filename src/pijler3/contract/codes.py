"""Code lists and label matching (DATA.md), as pure functions.

A raw value is trimmed and matched case-insensitively, accents ignored, against the
accepted labels of its code list: the code itself, the code with ``_`` read as a space,
and the labels of ``data/codelists.toml``. Nationalities also accept every ISO 3166-1
alpha-3 code and pycountry's Dutch country name. Nothing else is guessed.
"""

from __future__ import annotations

import datetime as dt
import gettext
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import pycountry

NATIONALITY = "nationaliteit"
STATELESS = "XXA"
UNKNOWN_COUNTRY = "XXX"

_BOOLEANS = {
    "ja": True, "j": True, "1": True, "true": True, "waar": True,
    "nee": False, "n": False, "0": False, "false": False, "onwaar": False,
}  # fmt: skip


def fold(label: str) -> str:
    """The matching key of a label: trimmed, lower case, accents removed, spaces folded."""
    decomposed = unicodedata.normalize("NFKD", label.strip())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


@dataclass(frozen=True)
class CodeList:
    """A code list: its codes in order and the folded label → code table."""

    name: str
    codes: tuple[str, ...]
    lookup: Mapping[str, str]

    def match(self, raw: str | None) -> str | None:
        """The code a raw label stands for, or None when it is empty or not a label."""
        if raw is None:
            return None
        return self.lookup.get(fold(raw))


def _add(lookup: dict[str, str], label: str, code: str, listname: str) -> None:
    key = fold(label)
    if not key:
        return
    other = lookup.get(key)
    if other is not None and other != code:
        # An ambiguous label is no label: refuse to ship a list that guesses.
        raise ValueError(f"code list {listname}: label {label!r} names both {other} and {code}")
    lookup[key] = code


def _build(name: str, table: Mapping[str, list[str]]) -> CodeList:
    lookup: dict[str, str] = {}
    for code, labels in table.items():
        _add(lookup, code, code, name)
        _add(lookup, code.replace("_", " "), code, name)
        for label in labels:
            _add(lookup, label, code, name)
    return CodeList(name, tuple(table), lookup)


def _dutch() -> gettext.NullTranslations:
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["nl"], fallback=True)


def _dutch_names(nl: gettext.NullTranslations, country: Any) -> set[str]:
    """A country's name, common name and official name, in Dutch where translated."""
    names = {nl.gettext(country.name)}
    for attr in ("common_name", "official_name"):
        value = getattr(country, attr, None)
        if value:
            names.add(nl.gettext(value))
    return names


def _nationalities() -> CodeList:
    data = tomllib.loads(
        resources.files("pijler3").joinpath("data", "nationaliteit.toml").read_text("utf-8")
    )
    nl = _dutch()
    lookup: dict[str, str] = {}
    codes: list[str] = []
    short_forms: dict[str, set[str]] = {}
    for country in pycountry.countries:
        code = country.alpha_3
        codes.append(code)
        _add(lookup, code, code, NATIONALITY)
        for n in _dutch_names(nl, country):
            _add(lookup, n, code, NATIONALITY)
            if "," in n:
                short_forms.setdefault(fold(n.split(",")[0]), set()).add(code)
    for code, labels in data["codes"].items():
        codes.append(code)
        _add(lookup, code, code, NATIONALITY)
        for label in labels:
            _add(lookup, label, code, NATIONALITY)
    for code, labels in data["aliases"].items():
        for label in labels:
            _add(lookup, label, code, NATIONALITY)
    # "Palestina, Staat" → "Palestina"; skipped where the short form is ambiguous
    # ("Congo" names two countries) or already names another country ("Korea").
    for short, targets in short_forms.items():
        if len(targets) == 1 and short not in lookup:
            lookup[short] = next(iter(targets))
    return CodeList(NATIONALITY, tuple(codes), lookup)


@cache
def codelists() -> Mapping[str, CodeList]:
    """Every code list by name, the nationality list included."""
    data = tomllib.loads(
        resources.files("pijler3").joinpath("data", "codelists.toml").read_text("utf-8")
    )
    lists = {name: _build(name, table) for name, table in data.items() if name != "format"}
    lists[NATIONALITY] = _nationalities()
    return lists


def codelist(name: str) -> CodeList:
    return codelists()[name]


def match_code(listname: str, raw: str | None) -> str | None:
    """The code a raw label stands for in the named list, or None."""
    return codelist(listname).match(raw)


def country_name_nl(code: str) -> str:
    """The Dutch name of a nationality code, for reports ("Marokko")."""
    if code == STATELESS:
        return "Staatloos"
    if code == UNKNOWN_COUNTRY:
        return "Onbekend"
    country = pycountry.countries.get(alpha_3=code)
    if country is None:
        return code
    return str(_dutch().gettext(country.name))


def parse_bool(raw: str | None) -> bool | None:
    """``Ja/Nee``, ``J/N``, ``1/0``, ``true/false``, ``waar/onwaar`` in any case; else None."""
    if raw is None:
        return None
    return _BOOLEANS.get(raw.strip().casefold())


_DATE_PATTERNS = (
    (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})"), "dmy"),
    (re.compile(r"(\d{2})-(\d{2})-(\d{4})"), "dmy"),
    (re.compile(r"(\d{4})-(\d{2})-(\d{2})"), "ymd"),
)


def parse_date(raw: str | None) -> dt.date | None:
    """A date in one of the formats of DATA.md (day first), or None when it is not one.

    Accepted: ``dd/mm/yyyy``, ``d/m/yyyy``, ``dd-mm-yyyy``, ``yyyy-mm-dd``. Two-digit
    years, dots, ``yyyy/mm/dd`` and impossible dates are refused: nothing is guessed.
    """
    if raw is None:
        return None
    text = raw.strip()
    for pattern, order in _DATE_PATTERNS:
        m = pattern.fullmatch(text)
        if m:
            a, b, c = (int(g) for g in m.groups())
            day, month, year = (a, b, c) if order == "dmy" else (c, b, a)
            try:
                return dt.date(year, month, day)
            except ValueError:
                return None
    return None


# The bands of ``leeftijdscategorie`` (DATA.md §3): exclusive upper age and label, then
# "65+". The link step applies them (:func:`pijler3.steps.link.age_category_expr`).
AGE_BANDS = ((18, "<18"), (25, "18-24"), (35, "25-34"), (45, "35-44"), (55, "45-54"), (65, "55-64"))
