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
    DENOMINATOR,
    NUMERATOR,
    POPULATION,
    TOTAL,
    from_document,
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
    hidden = protection.hidden_keys()
    base = disclosure.suppress(raw, rules)
    keys = base.select("peildatum", "indicator", "breakdown", "category").rows()
    hide_den = [(p, i, b, c, DENOMINATOR) in hidden for p, i, b, c in keys]
    hide_num = [
        h or (p, i, b, c, NUMERATOR) in hidden
        for h, (p, i, b, c) in zip(hide_den, keys, strict=True)
    ]
    out = base.with_columns(
        pl.Series("_hd", hide_den, dtype=pl.Boolean), pl.Series("_hn", hide_num, dtype=pl.Boolean)
    )

    def blank(column: str, mask: str) -> pl.Expr:
        return pl.when(pl.col(mask)).then(None).otherwise(pl.col(column)).alias(column)

    return out.with_columns(
        blank("denominator", "_hd"),
        *[blank(c, "_hn") for c in ("numerator", "value", "ci_low", "ci_high")],
        (pl.col("suppressed") | pl.col("_hn")).alias("suppressed"),
    ).select(disclosure.COLUMNS)


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


def document(protection: Protection, rules: Disclosure) -> dict[str, object]:
    """The machine-readable form of everything published (``disclosure.json``) with the
    audit's figures, from which :func:`audit_document` re-runs the audit."""
    doc = to_document(protection.tables, protection.hidden, rules)
    doc["audit"] = summary(protection.result)
    return doc


def audit_document(doc: Mapping[str, object]) -> AuditResult:
    """Re-run the audit on a published document (no raw counts needed): every hidden
    count must have a range of at least its threshold (a count that can only be 0
    excepted). The rule counts of the result are those the document records."""
    tables, hidden, values = from_document(doc)
    found = audit(tables, hidden, values)
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
        "narrowest_range": None if narrow is None or narrow.width == float("inf") else narrow.width,
        "passed": result.passed,
        "failures": len(result.failures),
        "lps": result.lps,
        "seconds": round(result.seconds, 3),
    }
