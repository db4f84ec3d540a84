"""Identifiers in free text (DATA.md §3): find them, and replace them by ``[verwijderd]``.

Pure functions. The same patterns serve the export step (which removes them from
``plo_reden``) and the publish step (which refuses a dataset whose text still holds
anything shaped like an INSZ, e-mail address, phone number or IBAN).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

REMOVED = "[verwijderd]"

# Order matters: an IBAN holds digit runs that the INSZ and phone patterns would also
# take, and an INSZ could pass for a phone number.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("iban", re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b", re.IGNORECASE)),
    ("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    # An INSZ has 11 digits, a date 8: allowing '/' (85/07/30/033/28) does not make
    # dd/mm/yyyy an INSZ.
    (
        "insz",
        re.compile(r"(?<!\d)\d{2}[./\s-]?\d{2}[./\s-]?\d{2}[./\s-]?\d{3}[./\s-]?\d{2}(?!\d)"),
    ),
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


# Every combining mark of the Basic Multilingual Plane (what ``codes.fold`` drops after
# NFKD), as one character class: a regular expression removes them far faster than a
# Python loop over the characters of a million texts.
_COMBINING = re.compile(
    "[" + "".join(re.escape(chr(c)) for c in range(0x10000) if unicodedata.combining(chr(c))) + "]"
)


def fold(text: str) -> str:
    """A text lower-cased with its accents removed, as :func:`pijler3.contract.codes.fold` does.

    White space is kept as it is (unlike ``codes.fold``), so that a match can be found
    again in the original text.
    """
    if text.isascii():
        return text.casefold()
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text)).casefold()


def _folded_with_origins(text: str) -> tuple[str, list[int]]:
    """The folded text, and for each of its characters the index it came from."""
    if text.isascii():
        return text.casefold(), list(range(len(text)))
    out: list[str] = []
    origins: list[int] = []
    for i, ch in enumerate(text):
        folded = fold(ch)
        out.append(folded)
        origins.extend([i] * len(folded))
    return "".join(out), origins


def _remove_value(text: str, value: str) -> tuple[str, int]:
    """Remove every whole-word occurrence of a folded value, accent- and case-blind.

    The search runs on the folded text; each match is mapped back to the span of the
    original characters it came from, so the text keeps its own accents elsewhere.
    """
    folded, origins = _folded_with_origins(text)
    pattern = re.compile(
        r"(?<!\w)" + r"[\s,]+".join(re.escape(part) for part in value.split()) + r"(?!\w)"
    )
    spans: list[tuple[int, int]] = []
    for m in pattern.finditer(folded):
        start = origins[m.start()]
        end = origins[m.end() - 1] + 1
        # A combining mark written after the last letter (decomposed text) folds to
        # nothing; it belongs to the removed word.
        while end < len(text) and not fold(text[end]):
            end += 1
        spans.append((start, end))
    for start, end in reversed(spans):
        text = text[:start] + REMOVED + text[end:]
    return text, len(spans)


def scrub(text: str, own: Iterable[str | None] = ()) -> tuple[str, int]:
    """Remove the person's own values and every identifier shape.

    Own values (name, e-mail, phone, INSZ, birth date, street, …) are matched as whole
    words, ignoring case and accents both ways: ``Aicha`` in the text is the register's
    ``Aïcha`` and the other way round. Put longer values before their parts (a street
    with its house number before the street alone). Returns the cleaned text and the
    number of removals.
    """
    removed = 0
    # Shapes first, so that an e-mail address is removed whole before the person's
    # first name inside it is.
    for _kind, pattern in PATTERNS:
        text, n = pattern.subn(REMOVED, text)
        removed += n
    folded = fold(text)
    for raw in own:
        if raw is None:
            continue
        value = fold(raw).strip()
        if len(value) < 2:
            continue
        # Most texts do not hold the person's own values: a plain substring test (on the
        # longest word of a value of several words) spares compiling a pattern per row;
        # a million rows would spend minutes on it.
        key = max(value.split(), key=len) if " " in value else value
        if key not in folded:
            continue
        text, n = _remove_value(text, value)
        if n:
            removed += n
            folded = fold(text)
    return text, removed
