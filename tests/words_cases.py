"""Fixed inputs for the Dutch labels and sentences of ``pijler3.report.labels``, shared
by ``tests/test_words.py`` and the one-off run that wrote ``tests/data/words-labels.json``.

The expected words were written ONCE by the code as it was before the tables moved to
``data/labels-nl.toml`` (commit "words: expected output of today's code"), so the data
file is checked against an independent producer: the code it replaced.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pijler3.analysis import population
from pijler3.analysis.risk import RiskReport
from pijler3.contract import codes
from pijler3.contract.protocol import Disclosure, Risk
from pijler3.report import labels

EXPECTED = Path(__file__).parent / "data" / "words-labels.json"


def _risk(uniques: int, share: float, mean: float, granularity: str, drivers: int) -> RiskReport:
    fields = ("leeftijdscategorie", "oudste_nationaliteit", "regio", "datum_inburgeringscontract")
    return RiskReport(
        quasi_identifiers=fields,
        sensitive=(),
        date_granularity=granularity,
        records=12345,
        k=1,
        classes=100,
        sample_uniques=uniques,
        sample_unique_share=share,
        mean_risk=mean,
        max_risk=1.0,
        k_report=5,
        records_below_k_report=0,
        classes_below_k_report=0,
        l_diversity={},
        contributions=tuple((f, 1500 - 400 * i) for i, f in enumerate(fields[:drivers])),
        mean_risk_contributions=tuple(
            (f, 0.0125 / (i + 1)) for i, f in enumerate(fields[:drivers])
        ),
    )


def cases() -> dict[str, Any]:
    """What today's ``labels`` module says for a fixed set of inputs."""
    names = sorted(
        {*labels.FIELD_NL, *population.BREAKDOWNS, "kolom_zonder_label", "vdab_actie_orientatie"}
    )
    categories: dict[str, str] = {}
    for bd in population.BREAKDOWNS:
        listed = list(codes.codelists()[bd].codes) if bd in codes.codelists() else []
        extra = {
            "cohort": ["2022-Q2", "2023-Q4"],
            "leeftijdscategorie": ["18-24", "65+"],
            "ocmw_leefloon": ["true", "false", "misschien"],
            "oudste_nationaliteit": ["MAR", "SYR", "UKR"],
        }.get(bd, [])
        for c in [*listed, *extra, population.TOTAL, population.UNKNOWN, population.OTHER]:
            categories[f"{bd}|{c}"] = labels.category_nl(bd, c)
    rules = Risk("warn", "month", 0.05, 0.02, 5)
    reports = {
        "many-drivers-month": _risk(2345, 0.19, 0.035, "month", 3),
        "one-unique-no-driver-day": _risk(1, 0.06, 0.001, "day", 0),
        "unknown-granularity-two": _risk(800, 0.065, 0.03, "week", 2),
        "within-limits": _risk(10, 0.001, 0.001, "month", 3),
    }
    return {
        "field_label": {n: labels.field_label(n) for n in names},
        "field_label_in_text": {n: labels.field_label_in_text(n) for n in names},
        "category_nl": categories,
        "cohort_tick": {c: labels.cohort_tick(c) for c in ("2022-Q2", "totaal", "2024-Q1")},
        "consistency_label": {
            c: labels.consistency_label(c)
            for c in [*labels.CONSISTENCY_NL, "geboortedatum_after_peildatum", "iets_anders"]
        },
        "indicator_text": {k: list(vars(v).values()) for k, v in labels.INDICATOR_TEXT.items()},
        "references": dict(labels.REFERENCES),
        "breakdown_nl": dict(labels.BREAKDOWN_NL),
        "quarantine_nl": dict(labels.QUARANTINE_NL),
        "extract_nl": dict(labels.EXTRACT_NL),
        "granularity_nl": dict(labels.GRANULARITY_NL),
        "risk_breaches_nl": {k: labels.risk_breaches_nl(r, rules) for k, r in reports.items()},
        "expired_note_nl": {str(n): labels.expired_note_nl(n) for n in (0, 1, 2, 1234)},
        "disclosure_rules_nl": labels.disclosure_rules_nl(Disclosure(5, 20, 10)),
        "join_nl": [labels.join_nl(x) for x in ([], ["a"], ["a", "b"], ["a", "b", "c"])],
    }


if __name__ == "__main__":  # the one-off run that wrote the expected words
    EXPECTED.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(cases(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    EXPECTED.write_text(text, "utf-8")
