"""Many INSZ-like strings at once, for holding the column check against python-stdnum.

Used by ``tests/test_insz.py`` (200,000 values) and ``bench/insz.py`` (1,000,000). The
values are built with numpy, a column at a time, so that a million take well under a
second: valid numbers (born before and from 2000, BIS +20/+40, unknown month or day),
the same with one digit changed, written with separators, and garbage (too short or
long, letters, serial 000/999, months out of range, random digits, empty, spaces).
"""

from __future__ import annotations

import numpy as np
import polars as pl

# Spellings with separators, filled with yy, mm, dd, sss, cc in that order.
_SEPARATED = (
    "{}.{}.{}-{}.{}",
    "{} {} {} {} {}",
    "{}/{}/{}/{}/{}",
    " {}{}{}-{}{} ",
    "{}.{}.{}\u00a0{}.{}",
    "{}{}{}  {}{}",
)


def _digits(rng: np.random.Generator, n: int, width: int, high: int) -> pl.Series:
    return pl.Series(rng.integers(0, high, n)).cast(pl.String).str.zfill(width)


def valid_parts(
    rng: np.random.Generator, n: int, this_year: int, *, any_month: bool = False
) -> pl.DataFrame:
    """Valid numbers as parts yy, mm, dd, sss, cc (strings), and the whole as ``insz``.

    With ``any_month``, the month is anything from 00 to 99 (the check digits fit)."""
    year = rng.integers(1920, this_year + 1, n)
    month = rng.integers(0, 13, n) + rng.choice([0, 0, 0, 20, 40], n)
    if any_month:
        month = rng.integers(0, 100, n)
    day = np.where(rng.random(n) < 0.05, 0, rng.integers(1, 32, n))
    serial = rng.integers(1, 999, n)
    first9 = (year % 100) * 10**7 + month * 10**5 + day * 10**3 + serial
    base = np.where(year >= 2000, first9 + 2_000_000_000, first9)
    check = 97 - base % 97
    frame = pl.DataFrame(
        {
            "yy": pl.Series(year % 100).cast(pl.String).str.zfill(2),
            "mm": pl.Series(month).cast(pl.String).str.zfill(2),
            "dd": pl.Series(day).cast(pl.String).str.zfill(2),
            "sss": pl.Series(serial).cast(pl.String).str.zfill(3),
            "cc": pl.Series(check).cast(pl.String).str.zfill(2),
        }
    )
    return frame.with_columns(pl.concat_str("yy", "mm", "dd", "sss", "cc").alias("insz"))


def one_digit_changed(rng: np.random.Generator, numbers: pl.Series) -> pl.Series:
    """Each number with one digit (at a random place) replaced by another digit."""
    n = numbers.len()
    digits = np.frombuffer("".join(numbers.to_list()).encode(), dtype=np.uint8).reshape(n, 11)
    digits = digits.copy()
    place = rng.integers(0, 11, n)
    old = digits[np.arange(n), place] - 48
    new = (old + rng.integers(1, 10, n)) % 10
    digits[np.arange(n), place] = new + 48
    return pl.Series(digits.view("S11").ravel()).cast(pl.String)


def generate(n: int, seed: int = 13, this_year: int = 2026) -> pl.Series:
    """``n`` strings: about 30% valid, 25% one digit changed, 15% separated, 30% garbage."""
    rng = np.random.default_rng(seed)
    parts = [pl.Series(["", "   ", "00000000000", "\t", "85073003328", "8507300332 8", "\u2007"])]
    k = n // 20
    valid = valid_parts(rng, 6 * k, this_year)
    parts.append(valid["insz"])
    parts.append(one_digit_changed(rng, valid_parts(rng, 5 * k, this_year)["insz"]))
    spelled = valid_parts(rng, 3 * k, this_year)
    size = spelled.height // len(_SEPARATED)
    for i, pattern in enumerate(_SEPARATED):
        chunk = spelled.slice(i * size, size)
        parts.append(chunk.select(pl.format(pattern, "yy", "mm", "dd", "sss", "cc")).to_series())
    g = valid_parts(rng, 6 * k, this_year).with_columns(
        _digits(rng, 6 * k, 11, 10**11).alias("random"),
        valid_parts(rng, 6 * k, this_year, any_month=True)["insz"].alias("month"),
        pl.Series(rng.choice(["000", "999"], 6 * k)).alias("serial"),
        pl.Series(rng.integers(1, 11, 6 * k)).alias("cut"),
        pl.Series(rng.integers(0, 6, 6 * k)).alias("_kind"),
    )
    c = pl.col
    garbage = g.select(
        pl.when(c("_kind") == 0)
        .then(c("random"))  # random digits
        .when(c("_kind") == 1)
        .then(c("insz").str.slice(0, c("cut")))  # too short
        .when(c("_kind") == 2)
        .then(pl.concat_str("insz", "cut"))  # too long
        .when(c("_kind") == 3)
        .then(pl.concat_str("yy", "mm", "dd", "serial", "cc"))  # serial 000 or 999
        .when(c("_kind") == 4)
        .then(c("month"))  # any month 00..99, the check digits fit
        .otherwise(c("insz").str.replace(r"\d", "O"))  # a letter
    )
    parts.append(garbage.to_series())
    out = pl.concat([p.cast(pl.String) for p in parts])
    return out.extend(out.head(n - out.len())) if out.len() < n else out.head(n)
