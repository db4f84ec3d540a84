"""Identifiers in free text (DATA.md §3): find them, and replace them by ``[verwijderd]``.

Pure functions. The same patterns serve the export step (which removes them from
``plo_reden``) and the publish step (which refuses a dataset whose text still holds
anything shaped like an INSZ, e-mail address, phone number or IBAN).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REMOVED = "[verwijderd]"

# Order matters: an IBAN holds digit runs that the INSZ and phone patterns would also
# take, and an INSZ could pass for a phone number.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("iban", re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b", re.IGNORECASE)),
    ("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("insz", re.compile(r"(?<!\d)\d{2}[.\s-]?\d{2}[.\s-]?\d{2}[.\s-]?\d{3}[.\s-]?\d{2}(?!\d)")),
    # Belgian and international phone numbers: 9 or 10 digits starting with 0, or an
    # international prefix. Dates (8 digits) and years do not match.
    (
        "phone",
        re.compile(
            r"(?<![\w+])(?<!\d[.\s/-])(?:(?:\+|00)\d{2,3}[\s./-]?(?:\(0\))?|0)(?:[\s./-]?\d){8,9}(?!\d)"
        ),
    ),
)


def find_identifiers(text: str) -> list[str]:
    """The kinds of identifier (``iban``, ``email``, ``insz``, ``phone``) found in a text."""
    return [kind for kind, pattern in PATTERNS if pattern.search(text)]


def scrub(text: str, own: Iterable[str | None] = ()) -> tuple[str, int]:
    """Remove the person's own values (name, e-mail, phone) and every identifier shape.

    Returns the cleaned text and the number of removals.
    """
    removed = 0
    # Shapes first, so that an e-mail address is removed whole before the person's
    # first name inside it is.
    for _kind, pattern in PATTERNS:
        text, n = pattern.subn(REMOVED, text)
        removed += n
    folded = text.casefold()
    for value in own:
        if value is None or len(value.strip()) < 2:
            continue
        # Most texts do not hold the person's own values: a plain substring test first
        # spares compiling a pattern per row (a million rows would spend minutes on it).
        if value.strip().casefold() not in folded:
            continue
        pattern = re.compile(r"(?<!\w)" + re.escape(value.strip()) + r"(?!\w)", re.IGNORECASE)
        text, n = pattern.subn(REMOVED, text)
        removed += n
        folded = text.casefold()
    return text, removed
