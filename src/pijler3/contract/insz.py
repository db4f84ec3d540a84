"""INSZ (national register number) and BIS numbers, through python-stdnum.

DATA.md: 11 digits ``YYMMDDSSSCC``, also written ``YY.MM.DD-SSS.CC`` or with spaces.
Check digits for people born before and from 2000 (either branch may match); BIS months
+20/+40; month and day may be 00. A serial of 000 or 999 is invalid even when the check
digits match (python-stdnum does not check that). The birth date is never derived from
an INSZ here.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
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


# Below this many values, starting worker processes costs more than it saves.
_PARALLEL_FROM = 200_000


def _check_chunk(values: Sequence[str]) -> list[tuple[str | None, str | None]]:
    out: list[tuple[str | None, str | None]] = []
    for v in values:
        number, problem = check(v)
        out.append((number, None if problem is None else problem.value))
    return out


def check_many(values: Sequence[str]) -> list[tuple[str | None, InszProblem | None]]:
    """:func:`check` for many values, spread over the machine's cores for large inputs.

    python-stdnum stays the authority on every value; a million checks take about 15 s
    of CPU, so an extract of a million rows is checked in parallel worker processes
    (started fresh with "spawn": forking a process that runs Polars' thread pool is
    unsafe).
    """
    workers = min(os.cpu_count() or 1, 8)
    if len(values) < _PARALLEL_FROM or workers < 2:
        chunks = [_check_chunk(values)]
    else:
        size = -(-len(values) // workers)
        parts = [values[i : i + size] for i in range(0, len(values), size)]
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            chunks = list(pool.map(_check_chunk, parts))
    return [
        (number, None if problem is None else InszProblem(problem))
        for chunk in chunks
        for number, problem in chunk
    ]
