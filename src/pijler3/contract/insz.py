"""INSZ (national register number) and BIS numbers, through python-stdnum.

DATA.md: 11 digits ``YYMMDDSSSCC``, also written ``YY.MM.DD-SSS.CC`` or with spaces.
Check digits for people born before and from 2000 (either branch may match); BIS months
+20/+40; month and day may be 00. A serial of 000 or 999 is invalid even when the check
digits match (python-stdnum does not check that). The birth date is never derived from
an INSZ here.

:func:`check` decides one value through python-stdnum; :func:`check_column` decides a
whole column at once with the same rules as Polars expressions (the readers use it: a
Python call per value cost 11 s per half million numbers). python-stdnum stays the
oracle: the tests hold the two side by side on a million generated numbers.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum

import polars as pl
from stdnum.be import bis, nn
from stdnum.exceptions import ValidationError

_SEPARATORS = re.compile(r"[\s.\-/]")


class InszProblem(Enum):
    """Why an INSZ is refused; the value is the reason code in findings."""

    MISSING = "insz_missing"
    FORMAT = "insz_format"
    CHECKSUM = "insz_checksum"
    SERIAL = "insz_serial"


def compact(raw: str) -> str:
    """Remove the separators people type: dots, dashes, slashes and spaces."""
    return _SEPARATORS.sub("", raw)


def check(raw: str | None) -> tuple[str | None, InszProblem | None]:
    """Normalise an INSZ or BIS number to its 11 digits, or say why it is refused."""
    if raw is None or not raw.strip():
        return None, InszProblem.MISSING
    number = compact(raw)
    # ASCII digits only: python-stdnum would read fullwidth digits as digits, but the
    # number that travels and is pseudonymised must be the plain one.
    if len(number) != 11 or not (number.isascii() and number.isdigit()):
        return None, InszProblem.FORMAT
    if number[6:9] in ("000", "999"):
        return None, InszProblem.SERIAL
    for module in (nn, bis):
        try:
            module.validate(number)
        except ValidationError:
            continue
        return number, None
    return None, InszProblem.CHECKSUM


def normalise(raw: str | None) -> str | None:
    """The 11 digits of a valid INSZ or BIS number, else None."""
    return check(raw)[0]


def is_valid(raw: str | None) -> bool:
    return check(raw)[1] is None


def check_digits(first9: str, *, born_2000_or_later: bool) -> str:
    """The two check digits for the first nine digits (used by the synthetic generator)."""
    n = int(first9) + (2_000_000_000 if born_2000_or_later else 0)
    return f"{97 - n % 97:02d}"


# What Python's ``str.isspace`` accepts (and so what :func:`check`'s ``strip`` and ``\s``
# remove), as code point ranges, so that the column check removes the same separators;
# ``tests/test_insz.py`` recomputes them.
PY_SPACES: tuple[tuple[int, int], ...] = (
    (9, 13), (28, 32), (133, 133), (160, 160), (5760, 5760), (8192, 8202), (8232, 8233),
    (8239, 8239), (8287, 8287), (12288, 12288),
)  # fmt: skip


def _class(ranges: tuple[tuple[int, int], ...], extra: str = "") -> str:
    """A regular-expression character class (Rust syntax) of code point ranges."""
    parts = (f"\\x{{{a:x}}}" if a == b else f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges)
    return "[" + "".join(parts) + extra + "]"


_SPACE_CLASS = _class(PY_SPACES)
_SEPARATOR_CLASS = _class(PY_SPACES, r"./\-")
# The born-from-2000 check digits are those of the number with a 2 in front.
_FROM_2000 = 2_000_000_000


def check_column(raw: pl.Series, *, today: dt.date) -> pl.DataFrame:
    """:func:`check` on a whole column of raw text at once, as Polars expressions.

    Returns a frame with one row per value: ``number``, the 11 digits of a valid INSZ
    or BIS number (null when refused), and ``problem``, the reason code of
    :class:`InszProblem` (null when valid); for every value exactly what :func:`check`
    says (``tests/test_insz.py`` and ``bench/insz.py`` hold the two side by side on
    generated numbers). The rules, in python-stdnum's words:

    - separators (white space, dots, dashes, slashes) are removed; 11 ASCII digits
      remain;
    - a serial (digits 7 to 9) of 000 or 999 is refused;
    - the check digits are 97 minus the first nine digits modulo 97 (born before 2000),
      or the same with a 2 in front of them (born from 2000), the latter tried only
      when the year ``20YY`` is not after ``today``'s year: python-stdnum asks the
      clock; here ``today`` says which day it is;
    - the month is 00..12, or 20..32 / 40..52 for a BIS number (month and day 00 stand
      for an unknown birth date; python-stdnum checks no day of the month).
    """
    c = pl.col
    frame = raw.alias("raw").to_frame()
    # Most cells are eleven ASCII digits as they are: their number is the cell itself. The
    # others (formatted, spaced, missing, garbage) have their separators removed first,
    # which takes two regular expressions: only they pay for them.
    eleven = "^[0-9]{11}$"
    plain = frame.select(c("raw").str.contains(eleven).fill_null(False)).to_series()
    number, missing = raw.alias("number"), pl.repeat(False, len(raw), eager=True)
    odd = (~plain).arg_true()
    if odd.len():
        fixed = (
            raw.gather(odd)
            .alias("raw")
            .to_frame()
            .select(
                c("raw").str.replace_all(_SEPARATOR_CLASS, "").alias("number"),
                (c("raw").is_null() | c("raw").str.replace_all(_SPACE_CLASS, "").eq("")).alias(
                    "missing"
                ),
            )
        )
        number = number.scatter(odd, fixed["number"])
        missing = missing.scatter(odd, fixed["missing"])
    # The eleven digits as one number, from which every part is taken by arithmetic.
    n = c("n")
    first9, given = n // 100, n % 100
    year, month, serial = n // 1_000_000_000, n // 10_000_000 % 100, n // 100 % 1000
    problem = (
        pl.when(c("missing"))
        .then(pl.lit(InszProblem.MISSING.value))
        .when(n.is_null())
        .then(pl.lit(InszProblem.FORMAT.value))
        .when(serial.is_in([0, 999]))
        .then(pl.lit(InszProblem.SERIAL.value))
        .when(
            ~(
                (
                    (97 - first9 % 97 == given)
                    | ((year + 2000 <= today.year) & (97 - (first9 + _FROM_2000) % 97 == given))
                )
                & ((month <= 12) | month.is_between(20, 32) | month.is_between(40, 52))
            )
        )
        .then(pl.lit(InszProblem.CHECKSUM.value))
        .otherwise(None)
    )
    digits = plain if not odd.len() else plain.scatter(odd, number.gather(odd).str.contains(eleven))
    return (
        pl.DataFrame([number, missing.alias("missing"), digits.alias("digits")])
        .lazy()
        .with_columns(pl.when(c("digits")).then(c("number").cast(pl.Int64)).alias("n"))
        .with_columns(problem.alias("problem"))
        .select(pl.when(c("problem").is_null()).then(c("number")).alias("number"), c("problem"))
        .collect()
    )
