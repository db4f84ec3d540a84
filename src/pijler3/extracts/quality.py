"""Data-quality findings (protocol art. 7): structured, counted, never a person's value.

A finding says *what* (a reason code), *where* (file, column, row) and *how many*. The
only value a finding may carry is ``label``: the raw text of an unmatched *code* (for
example ``Antwerpen`` in the column ``regio``), which DATA.md asks to count per
distinct raw value; it is never used for INSZ, dates, names or free text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

import polars as pl

from pijler3.exchange import scrub

# Reason codes. Readers, the chain steps and the synthetic generator share these.
INSZ_MISSING = "insz_missing"
INSZ_FORMAT = "insz_format"
INSZ_CHECKSUM = "insz_checksum"
INSZ_SERIAL = "insz_serial"
INSZ_FORMATTED = "insz_formatted"  # written with dots, dashes or spaces; normalised
INSZ_BIS = "insz_bis"  # a BIS number (month +20/+40); accepted
MISSING = "missing"  # an empty cell
DATE_INVALID = "date_invalid"
CODE_INVALID = "code_invalid"
BOOL_INVALID = "bool_invalid"
DIRECT_IDENTIFIER_DROPPED = "direct_identifier_dropped"
DUPLICATE_INSZ = "duplicate_insz"
ACTION_UNKNOWN_TYPE = "action_unknown_type"
IDENTIFIER_REMOVED = "identifier_removed"
QUARANTINED = "quarantined"

# Reasons that are errors in a value (the rest describe the data and are not errors).
INVALID_REASONS = frozenset(
    {INSZ_MISSING, INSZ_FORMAT, INSZ_CHECKSUM, INSZ_SERIAL, DATE_INVALID, CODE_INVALID,
     BOOL_INVALID}
)  # fmt: skip


@dataclass(frozen=True)
class Finding:
    """One counted observation about an extract or dataset."""

    reason: str
    column: str | None
    count: int
    file: str | None = None
    row: int | None = None  # the spreadsheet row (header = row 1) when it is one row
    label: str | None = None  # the raw code text, for CODE_INVALID only

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


RARE_LABEL_COUNT = 5  # INDICATORS.md: a raw code seen fewer times is grouped as "other"
OTHER_LABEL = "overige"
MAX_LABEL_LENGTH = 40  # no code label of DATA.md comes near; a typed sentence does
_LONG_DIGIT_RUN = re.compile(r"\d{6,}")


def _label_may_travel(label: str) -> bool:
    """Whether a raw code text seen often enough is safe to name outside the party.

    A name typed five times cannot be told from a code, but these shapes can: an
    identifier (INSZ, e-mail, phone, IBAN), a run of six or more digits, an '@', or a
    text longer than any code label.
    """
    return not (
        len(label) > MAX_LABEL_LENGTH
        or "@" in label
        or _LONG_DIGIT_RUN.search(label)
        or scrub.find_identifiers(label)
    )


def for_transfer(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    """Findings as they may leave the party that read the extract.

    A raw code text seen fewer than five times, or of a shape no code has (see
    :func:`_label_may_travel`), is grouped as ``overige`` here, before it travels: a
    rare "code" may well be something a person typed about someone (a name in the
    wrong column), and nothing of that kind may reach ABB. ``file`` keeps only the base
    name: the full path on the sender's machine is none of the receiver's business.
    """
    out: list[dict[str, Any]] = []
    rare: Counter[tuple[str | None, str | None]] = Counter()
    for f in findings:
        file = _base_name(f.file)
        if (
            f.reason == CODE_INVALID
            and f.label is not None
            and (f.count < RARE_LABEL_COUNT or not _label_may_travel(f.label))
        ):
            rare[(f.column, file)] += f.count
        else:
            out.append(replace(f, file=file).to_dict())
    for (column, file), count in rare.items():
        out.append(Finding(CODE_INVALID, column, count, file=file, label=OTHER_LABEL).to_dict())
    return out


def _base_name(path: str | None) -> str | None:
    """The last part of a path, whether it was written with '/' or '\\'."""
    if path is None:
        return None
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def tally(findings: Iterable[Finding]) -> Counter[tuple[str, str | None]]:
    """Total counts per (reason, column)."""
    totals: Counter[tuple[str, str | None]] = Counter()
    for f in findings:
        totals[(f.reason, f.column)] += f.count
    return totals


def consistency(frame: pl.DataFrame, peildatum: dt.date) -> dict[str, int]:
    """The consistency checks of INDICATORS.md on a monitoring dataset, as counts."""
    c = pl.col
    # Every date column but the peildatum itself: a date after it is a data error.
    after = [n for n, t in frame.schema.items() if t == pl.Date and n != "peildatum"]
    checks = {
        "contract_before_aanmelding": c("datum_inburgeringscontract") < c("datum_aanmelding"),
        "toeleiding_before_aanmelding": c("datum_toeleiding_vdab") < c("datum_aanmelding"),
        "uitstroom_before_inschrijving": c("datum_uitstroom_werk")
        < c("vdab_datum_eerste_inschrijving"),
        "leeftijd_onder_18": c("leeftijdscategorie") == "<18",
    }
    exprs = [e.fill_null(False).sum().alias(k) for k, e in checks.items()]
    exprs += [
        (c(n) > peildatum).fill_null(False).sum().alias(f"{n}_after_peildatum") for n in after
    ]
    exprs.append((pl.len() - c("pseudoniem").n_unique()).alias("duplicate_pseudonyms"))
    row = frame.select(exprs).row(0, named=True)
    return {k: int(v) for k, v in row.items()}


def column_profile(frame: pl.DataFrame) -> dict[str, int]:
    """Missing values per column of a monitoring dataset."""
    row = frame.null_count().row(0, named=True)
    return {k: int(v) for k, v in row.items()}
