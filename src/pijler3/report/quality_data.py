"""The data-quality figures of a delivery as the report shows them (section 7), from the
quality summary in its manifest (:class:`pijler3.extracts.quality.Quality`): counts only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pijler3.extracts import quality
from pijler3.extracts.quality import Quality

MIN_LABEL_COUNT = 5  # invalid raw codes seen fewer times are grouped as "overige"


@dataclass(frozen=True)
class InvalidCode:
    extract: str
    column: str
    label: str  # a raw code text, or "overige" for codes seen fewer than 5 times
    count: int


@dataclass(frozen=True)
class QualitySummary:
    """The data-quality figures of one delivery, from its manifest: counts only.

    A count is None where the manifest has none, or where the report hides it
    (:mod:`pijler3.report.quality_disclosure`): ``hidden`` then names it, so that the
    page marks it as hidden rather than unknown.
    """

    rows_read: int | None
    rows: int | None
    quarantined: Mapping[str, int | None]
    identifiers_removed: int | None
    match_rate: float | None
    matched: int | None
    duplicates_resolved: int | None
    actions_unknown_type: int | None
    consistency: Mapping[str, int | None]
    # (extract, column) -> empty cells in the extract, from the readers' findings.
    missing: Mapping[tuple[str, str], int | None]
    # (extract, column) -> values present but not valid (INSZ included).
    invalid: Mapping[tuple[str, str], int | None]
    invalid_codes: tuple[InvalidCode, ...]
    identifiers_dropped: tuple[str, ...]
    # Column -> nulls in the monitoring dataset, where an invalid value is null too: so
    # "empty" (missing or invalid), never shown as the missing count.
    empty: Mapping[str, int | None] = field(default_factory=dict)
    # Words of the free text that export's allow-list removed (counted, never shown).
    words_removed: int | None = None
    # The counts the report hides, by their names in report.quality_disclosure.
    hidden: frozenset[str] = frozenset()

    @property
    def quarantined_total(self) -> int | None:
        return _sum(self.quarantined.values())

    @property
    def invalid_total(self) -> int | None:
        """Invalid values outside INSZ: a row with an invalid INSZ is counted as
        quarantined, and counting it here too would count it twice in the trend."""
        return _sum(n for (_, c), n in self.invalid.items() if not c.startswith("insz"))

    @property
    def consistency_total(self) -> int | None:
        return _sum(self.consistency.values())


def _sum(counts: Iterable[int | None]) -> int | None:
    """The sum of counts; None when one of them is hidden (None)."""
    total = 0
    for n in counts:
        if n is None:
            return None
        total += n
    return total


def quality_summary(q: Quality, rows: int) -> QualitySummary:
    """The quality figures of a delivery's manifest, with rare invalid codes grouped."""
    missing: dict[tuple[str, str], int] = {}
    invalid: dict[tuple[str, str], int] = {}
    labels: dict[tuple[str, str, str], int] = {}
    dropped: list[str] = []
    for extract in ("kbi", "werkzoekenden", "acties"):
        for f in q.findings(extract):
            reason, column, count = f.reason, f.column or "", f.count
            if reason == quality.DIRECT_IDENTIFIER_DROPPED:
                dropped.append(column)
            # An empty INSZ is missing, not invalid, although the readers' reason set
            # INVALID_REASONS holds it (it sends the row to quarantine all the same).
            if reason in (quality.MISSING, quality.INSZ_MISSING):
                missing[(extract, column)] = missing.get((extract, column), 0) + count
            elif reason in quality.INVALID_REASONS:
                invalid[(extract, column)] = invalid.get((extract, column), 0) + count
            if reason == quality.CODE_INVALID and f.label is not None:
                key = (extract, column, f.label)
                labels[key] = labels.get(key, 0) + count
    grouped: dict[tuple[str, str, str], int] = {}
    for (extract, column, label), count in labels.items():
        key = (extract, column, label if count >= MIN_LABEL_COUNT else "overige")
        grouped[key] = grouped.get(key, 0) + count
    invalid_codes = tuple(
        InvalidCode(e, c, label, n)
        for (e, c, label), n in sorted(grouped.items(), key=lambda kv: (kv[0][:2], -kv[1]))
    )
    link = q.linkage
    return QualitySummary(
        rows_read=q.rows_read,
        rows=rows,
        quarantined=dict(q.quarantined),
        identifiers_removed=q.identifiers_removed,
        match_rate=link.match_rate if link else None,
        matched=link.matched if link else None,
        duplicates_resolved=link.duplicates_resolved if link else None,
        actions_unknown_type=link.actions_unknown_type if link else None,
        consistency=dict(q.consistency),
        missing=missing,
        invalid=invalid,
        invalid_codes=invalid_codes,
        identifiers_dropped=tuple(dict.fromkeys(dropped)),
        empty=dict(q.missing),
        words_removed=q.words_removed,
    )
