"""The published form of a :class:`~pijler3.analysis.disclosure_audit.Protection`.

The indicator table and population counts of one delivery with every hidden count left
empty, the machine-readable document of everything published (``disclosure.json``) from
which :func:`audit_document` re-runs the audit without the raw counts, and the audit's
figures as a JSON object for the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace

import polars as pl

from pijler3.analysis import disclosure
from pijler3.analysis.disclosure_audit import AuditResult, Protection, audit
from pijler3.analysis.linked_tables import (
    COUNT,
    POPULATION,
    TOTAL,
    from_document,
    place_category,
    to_document,
)
from pijler3.contract.protocol import Disclosure

# --- The published tables -------------------------------------------------------------------


def published_indicators(
    protection: Protection, raw: pl.DataFrame, rules: Disclosure
) -> pl.DataFrame:
    """The publishable indicator table of one delivery (DATA.md §4 columns) with every
    cell that rules 1-3 or rule 6 hide left empty; ``suppressed`` is true exactly when
    the numerator is hidden, and a hidden denominator hides its whole row."""
    return disclosure.suppress(raw, rules, protection.hidden_keys())


def population_hidden(protection: Protection, peildatum: dt.date) -> set[str]:
    """The population counts of one delivery that rule 6 (or rules 1-3) hide, by the
    names :func:`pijler3.analysis.disclosure.publish_counts` takes."""
    return {
        cat
        for peil, table, _bd, cat, _kind in protection.hidden_keys()
        if peil == peildatum and table == POPULATION
    }


def hidden_places(protection: Protection) -> dict[dt.date, set[tuple[str, str, str]]]:
    """Per delivery, the places (quantity, breakdown, category) of the linked tables
    whose count is hidden: a published cell there is hidden."""
    out: dict[dt.date, set[tuple[str, str, str]]] = {}
    for c, h in zip(protection.tables.cells, protection.hidden, strict=True):
        if h and c.published:
            out.setdefault(c.peildatum, set()).add((c.quantity, c.breakdown, place_category(c)))
    return out


def published_populations(
    protection: Protection, peildatum: dt.date, counts: Mapping[str, object]
) -> dict[str, object]:
    """The population counts of one delivery with hidden counts as ``None`` (same shape
    as :func:`pijler3.analysis.indicators.population_counts`)."""
    hidden = protection.hidden_keys()

    def shown(key: str, value: object) -> int | None:
        if (peildatum, POPULATION, TOTAL, key, COUNT) in hidden:
            return None
        assert isinstance(value, int)
        return value

    out: dict[str, object] = {}
    for key, value in counts.items():
        if isinstance(value, Mapping):
            out[key] = {str(k): shown(f"{key}:{k}", v) for k, v in value.items()}
        else:
            out[key] = shown(key, value)
    return out


def document(
    protection: Protection, rules: Disclosure, earlier_reports: int = 0
) -> dict[str, object]:
    """The machine-readable form of everything published (``disclosure.json``) with the
    audit's figures, from which :func:`audit_document` re-runs the audit;
    ``earlier_reports``: how many reports' counts were taken as known."""
    earlier = protection.earlier or None
    doc = to_document(protection.tables, protection.hidden, rules, earlier)
    doc["audit"] = {**summary(protection.result), "earlier_reports": earlier_reports}
    return doc


def audit_document(doc: Mapping[str, object]) -> AuditResult:
    """Re-run the audit on a published document (no raw counts needed): every hidden
    count must have a range of at least its threshold (a count that can only be 0
    excepted, and one an earlier report showed, which the document gives). The rule
    counts of the result are those the document records."""
    tables, hidden, values, earlier = from_document(doc)
    found = audit(tables, hidden, values, earlier=earlier)
    recorded = doc.get("audit")
    if isinstance(recorded, Mapping):
        found = replace(
            found,
            hidden_rules12=int(recorded.get("hidden_rules12", 0)),
            hidden_rule3=int(recorded.get("hidden_rule3", 0)),
            hidden_rule6=int(recorded.get("hidden_rule6", 0)),
        )
    return found


def summary(result: AuditResult) -> dict[str, object]:
    """The audit's figures as a JSON object (audit log, ``disclosure.json``)."""
    narrow = result.narrowest
    return {
        "cells": result.cells,
        "hidden_rules12": result.hidden_rules12,
        "hidden_rule3": result.hidden_rule3,
        "hidden_rule6": result.hidden_rule6,
        "hidden_earlier": result.hidden_earlier,
        "narrowest_range": None if narrow is None or narrow.width == float("inf") else narrow.width,
        "passed": result.passed,
        "failures": len(result.failures),
        "lps": result.lps,
        "seconds": round(result.seconds, 3),
    }
