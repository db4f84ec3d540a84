"""Benchmark of disclosure control across tables and deliveries (INDICATORS.md rules 6-7).

Prints, per scenario, how many published counts rules 1-2, rule 3 and rule 6 hide, the
narrowest range left, and the time of :func:`pijler3.analysis.disclosure_protect.protect`
(rules 1-3 per delivery, then the LP audit and extra suppression until it passes).

Scenarios:

- ``demo``: the default demo's size (20,000 persons, 3 quarterly deliveries);
- ``1m``: 1,000,000 persons with 12 quarterly deliveries (31/12/2023 .. 30/09/2026);
  at this size almost no category is small, so rule 6 has little to do;
- ``small``: 2,500 persons with 3 deliveries, where most categories are small: rule 6's
  escalation at work (the LP audit of a pattern with thousands of hidden counts);
- ``12x20k``: 20,000 persons with 12 deliveries: many small cohorts in every delivery
  and the cross-delivery equalities of twelve releases;
- ``tiny``: 400 persons with 3 deliveries, where rules 1-2 hide a large share of the
  counts and the audit solves thousands of LPs (a first try with ``pijler3 demo
  --persons 400`` looks like this).

What is measured: the people are generated with ``bench/report.py``'s generator (the
same skewed code frequencies and outcome model; not synth -> chain, which would take
hours at this size), each delivery is that history's snapshot at its peildatum, and the
raw indicator tables and population counts are computed with the real
``indicators.compute_raw`` and ``indicators.population_counts``. Only ``protect`` is
timed; computing the raw tables is reported separately.

    .venv/bin/python bench/disclosure.py              # demo, small and 1m
    .venv/bin/python bench/disclosure.py --scenario demo
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import sys
import time
from pathlib import Path

from pijler3.analysis import disclosure_protect, indicators, linked_tables
from pijler3.contract import protocol as protocol_mod

_spec = importlib.util.spec_from_file_location(
    "bench_report", Path(__file__).with_name("report.py")
)
assert _spec is not None and _spec.loader is not None
bench_report = importlib.util.module_from_spec(_spec)
sys.modules["bench_report"] = bench_report
_spec.loader.exec_module(bench_report)


def quarter_ends(last: dt.date, count: int) -> list[dt.date]:
    out = [last]
    while len(out) < count:
        d = out[-1]
        month = d.month - 3
        year = d.year + (month <= 0) * -1
        month = month + 12 if month <= 0 else month
        end = dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)
        out.append(end)
    return sorted(out)


def run(name: str, persons: int, deliveries: int) -> None:
    protocol = protocol_mod.load()
    rules = protocol.disclosure
    t0 = time.perf_counter()
    history = bench_report.people(persons, 2023)
    counts = []
    for peil in quarter_ends(bench_report.PEILDATUMS[-1], deliveries):
        frame = bench_report.snapshot(history, peil, protocol)
        counts.append(
            linked_tables.DeliveryCounts(
                indicators.compute_raw(frame, peil), indicators.population_counts(frame, peil)
            )
        )
    t1 = time.perf_counter()
    p = disclosure_protect.protect(counts, rules)
    t2 = time.perf_counter()
    r = p.result
    narrow = (
        f"{r.narrowest.width:g} ({r.narrowest_cell.table} {r.narrowest_cell.breakdown} "
        f"{r.narrowest_cell.category} {r.narrowest_cell.kind})"
        if r.narrowest and r.narrowest_cell
        else "none"
    )
    print(
        f"{name}: {persons:,} persons, {deliveries} deliveries, {r.cells:,} published counts\n"
        f"  hidden by rules 1-2: {r.hidden_rules12:,}; by rule 3: {r.hidden_rule3:,}; "
        f"by rule 6: {r.hidden_rule6:,}\n"
        f"  narrowest range left: {narrow}\n"
        f"  audit passed: {r.passed}; LPs solved: {r.lps:,}\n"
        f"  raw tables: {t1 - t0:.1f} s; protect (rules 1-3, audit, rule 6): {t2 - t1:.2f} s",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenario", choices=("demo", "small", "tiny", "12x20k", "1m", "all"), default="all"
    )
    args = parser.parse_args(argv)
    if args.scenario in ("demo", "all"):
        run("demo", 20_000, 3)
    if args.scenario in ("small", "all"):
        run("small", 2_500, 3)
    if args.scenario == "tiny":
        run("tiny", 400, 3)
    if args.scenario == "12x20k":
        run("12x20k", 20_000, 12)
    if args.scenario in ("1m", "all"):
        run("1m", 1_000_000, 12)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
