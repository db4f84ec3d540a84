"""INSZ (national register number) and BIS numbers, through python-stdnum.

DATA.md: 11 digits ``YYMMDDSSSCC``, also written ``YY.MM.DD-SSS.CC`` or with spaces.
Check digits for people born before and from 2000 (either branch may match); BIS months
+20/+40; month and day may be 00. A serial of 000 or 999 is invalid even when the check
digits match (python-stdnum does not check that). The birth date is never derived from
an INSZ here.
"""

from __future__ import annotations

import re
from enum import Enum

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
    if len(number) != 11 or not number.isdigit():
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
