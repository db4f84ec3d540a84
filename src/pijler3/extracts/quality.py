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
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import polars as pl

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
    # Imported here: the steps that only receive (ingest) need none of the scrubber.
    from pijler3.exchange import scrub

    return not (
        len(label) > MAX_LABEL_LENGTH
        or "@" in label
        or _LONG_DIGIT_RUN.search(label)
        or scrub.find_identifiers(label)
    )


def for_transfer(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Findings as they may leave the party that read the extract.

    A raw code text seen fewer than five times, or of a shape no code has (see
    :func:`_label_may_travel`), is grouped as ``overige`` here, before it travels: a
    rare "code" may well be something a person typed about someone (a name in the
    wrong column), and nothing of that kind may reach ABB. ``file`` keeps only the base
    name: the full path on the sender's machine is none of the receiver's business.
    """
    out: list[Finding] = []
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
            out.append(replace(f, file=file))
    for (column, file), count in rare.items():
        out.append(Finding(CODE_INVALID, column, count, file=file, label=OTHER_LABEL))
    return tuple(out)


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


def n_distinct(values: pl.Series) -> int:
    """The number of distinct values (missing counts as one value), exactly.

    Counted on 64-bit hashes first, several times cheaper than on long texts: equal
    values hash equal, so when the hashes are all distinct the values are too. Only
    when two hashes coincide (a repeat, or a collision) are the values themselves
    counted.
    """
    n = values.hash().n_unique()
    return n if n == values.len() else values.n_unique()


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
    row = frame.select(exprs).row(0, named=True)
    counts = {k: int(v) for k, v in row.items()}
    counts["duplicate_pseudonyms"] = frame.height - n_distinct(frame["pseudoniem"])
    return counts


def column_profile(frame: pl.DataFrame) -> dict[str, int]:
    """Missing values per column of a monitoring dataset."""
    row = frame.null_count().row(0, named=True)
    return {k: int(v) for k, v in row.items()}


# -- the quality summary that travels in the manifests ---------------------------------


def _int_map(value: Any, what: str) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value.values()
    ):
        raise ValueError(f"quality.{what} must map names to counts")
    return {str(k): int(v) for k, v in value.items()}


def _opt_int(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"quality.{what} must be a count")
    return value


def _findings(value: Any, what: str) -> tuple[Finding, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(f, dict) for f in value):
        raise ValueError(f"quality.{what} must be a list of findings")
    out = []
    for f in value:
        unknown = set(f) - {"reason", "column", "count", "file", "row", "label"}
        if unknown or not isinstance(f.get("reason"), str):
            raise ValueError(f"quality.{what} holds a malformed finding")
        out.append(
            Finding(
                reason=f["reason"],
                column=None if f.get("column") is None else str(f["column"]),
                count=_opt_int(f.get("count"), what) or 0,
                file=None if f.get("file") is None else str(f["file"]),
                row=_opt_int(f.get("row"), what),
                label=None if f.get("label") is None else str(f["label"]),
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class Linkage:
    """What VDAB's link step reports: how many persons it found, and what it resolved."""

    persons: int
    matched: int
    match_rate: float
    duplicates_resolved: int
    actions_unknown_type: int
    werkzoekenden_rows: int
    acties_rows: int
    acties_after_peildatum: int
    geboortedatum_after_reference: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: Any) -> Linkage | None:
        """The linkage report of a manifest; None when absent (before the link step)."""
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ValueError("quality.linkage must be an object")
        names = [f for f in cls.__dataclass_fields__ if f != "match_rate"]
        counts = {n: _opt_int(value.get(n), f"linkage.{n}") or 0 for n in names}
        rate = value.get("match_rate", 0.0)
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise ValueError("quality.linkage.match_rate must be a number")
        return cls(match_rate=float(rate), **counts)


@dataclass(frozen=True)
class Quality:
    """The data-quality summary a delivery carries from step to step (art. 7).

    Each step adds its part: export the KBI findings, the quarantine counts and the
    identifiers removed from free text; link the VDAB findings and the linkage report;
    publish the consistency checks and the empty cells per column. It travels in the
    signed manifest as JSON (:meth:`to_manifest`) and is read back typed
    (:meth:`from_manifest`), so that no step parses another step's dictionary. Counts
    and code labels only, never a person's value.
    """

    kbi: tuple[Finding, ...] = ()
    quarantined: Mapping[str, int] = field(default_factory=dict)
    identifiers_removed: int | None = None
    # Words of the free text the allow-list removed (counted, never shown).
    words_removed: int | None = None
    rows_read: int | None = None
    werkzoekenden: tuple[Finding, ...] = ()
    acties: tuple[Finding, ...] = ()
    linkage: Linkage | None = None
    consistency: Mapping[str, int] = field(default_factory=dict)
    missing: Mapping[str, int] = field(default_factory=dict)

    def findings(self, extract: str) -> tuple[Finding, ...]:
        """The findings of one source extract: ``kbi``, ``werkzoekenden`` or ``acties``."""
        found: tuple[Finding, ...] = {
            "kbi": self.kbi,
            "werkzoekenden": self.werkzoekenden,
            "acties": self.acties,
        }[extract]
        return found

    def to_manifest(self) -> dict[str, Any]:
        """The JSON form in the manifest; parts a step has not added yet are left out."""
        out: dict[str, Any] = {}
        for extract in ("kbi", "werkzoekenden", "acties"):
            if self.findings(extract):
                out[extract] = [f.to_dict() for f in self.findings(extract)]
        if self.rows_read is not None:
            out["rows_read"] = self.rows_read
            out["quarantined"] = dict(self.quarantined)
        if self.identifiers_removed is not None:
            out["identifiers_removed"] = self.identifiers_removed
        if self.words_removed is not None:
            out["words_removed"] = self.words_removed
        if self.linkage is not None:
            out["linkage"] = self.linkage.to_dict()
        if self.consistency:
            out["consistency"] = dict(self.consistency)
        if self.missing:
            out["missing"] = dict(self.missing)
        return out

    @classmethod
    def from_manifest(cls, value: Mapping[str, Any] | None) -> Quality:
        """Read a manifest's quality summary; ValueError names what is malformed."""
        q = dict(value or {})
        known = {f for f in cls.__dataclass_fields__}
        if set(q) - known:
            raise ValueError("the quality summary holds unknown parts")
        return cls(
            kbi=_findings(q.get("kbi"), "kbi"),
            quarantined=_int_map(q.get("quarantined"), "quarantined"),
            identifiers_removed=_opt_int(q.get("identifiers_removed"), "identifiers_removed"),
            words_removed=_opt_int(q.get("words_removed"), "words_removed"),
            rows_read=_opt_int(q.get("rows_read"), "rows_read"),
            werkzoekenden=_findings(q.get("werkzoekenden"), "werkzoekenden"),
            acties=_findings(q.get("acties"), "acties"),
            linkage=Linkage.from_dict(q.get("linkage")),
            consistency=_int_map(q.get("consistency"), "consistency"),
            missing=_int_map(q.get("missing"), "missing"),
        )
