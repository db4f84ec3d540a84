"""Calendar arithmetic for the protocol's terms: whole years and whole months."""

from __future__ import annotations

import datetime as dt

__all__ = ["add_months", "add_years"]


def add_years(day: dt.date, years: int) -> dt.date:
    """Add whole years; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def add_months(day: dt.date, months: int) -> dt.date:
    """Add whole months, clamping the day to the end of a shorter month."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, d))
        except ValueError:
            continue
    raise AssertionError("unreachable")
