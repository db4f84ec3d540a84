"""Reports read side by side: rule 6 across every report the analysis store wrote.

Each quarterly report publishes every retained delivery again, and a new delivery
changes the pattern of the old ones. Whoever kept last quarter's report reads it beside
this one, so the counts an earlier report showed are known here, and those it hid of a
delivery still held stay hidden (:mod:`pijler3.analysis.disclosure_audit`). These tests
combine what the reports publish and check the hidden counts with the LP written from
the text of rule 6 in ``tests/test_disclosure_audit.py``, which shares no code with the
library's audit.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from conftest import NOW, PEILDATUMS, ChainRun, abb_copy, cli_error
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_disclosure_audit import (
    RULES,
    Key,
    check_rule6,
    check_rules123_kept,
    cohort_table,
    independent_audit,
    issue_case,
    person,
    seeded_people,
    store_from_people,
)

from pijler3.analysis import disclosure_protect as dpr
from pijler3.analysis import disclosure_publish as dp
from pijler3.analysis import linked_tables as lt
from pijler3.analysis.store import Store
from pijler3.cli.commands import cli
from pijler3.contract.errors import UserError
from pijler3.governance import status
from pijler3.report import files
from pijler3.steps import ingest

KEYS = ["peildatum", "indicator", "breakdown", "category"]


def published(protection: dpr.Protection, deliveries: Sequence[lt.DeliveryCounts]) -> pl.DataFrame:
    return pl.concat([dp.published_indicators(protection, d.raw, RULES) for d in deliveries])


def side_by_side(later: pl.DataFrame, earlier: pl.DataFrame) -> pl.DataFrame:
    """What whoever holds both reports knows: the later report's table with every count
    it hides filled in from the earlier report where that one showed it."""
    old = earlier.select(*KEYS, pl.col("denominator").alias("d0"), pl.col("numerator").alias("n0"))
    return (
        later.join(old, on=KEYS, how="left")
        .with_columns(
            pl.coalesce("denominator", "d0").alias("denominator"),
            pl.coalesce("numerator", "n0").alias("numerator"),
        )
        .drop("d0", "n0")
    )


def known_from(earlier: pl.DataFrame, raw: pl.DataFrame) -> set[Key]:
    """The counts of ``raw`` that whoever holds the ``earlier`` table knows: the same
    indicator, breakdown, category and kind shown there with the same value (in its
    own delivery, or in another where it did not change; rule 6's attacker assumes
    an unchanged count is the same count)."""
    shown = {
        (r[0], r[1], r[2], kind, r[3 if kind == "denominator" else 4])
        for r in earlier.select(*KEYS[1:], "denominator", "numerator").iter_rows()
        for kind in ("denominator", "numerator")
    }
    return {
        (r[0], r[1], r[2], r[3], kind)
        for r in raw.select(*KEYS, "denominator", "numerator").iter_rows()
        for kind in ("denominator", "numerator")
        if (r[1], r[2], r[3], kind, r[4 if kind == "denominator" else 5]) in shown
    }


def earlier_of(*reports: dpr.Protection) -> lt.Earlier:
    """What the store records of these reports, as the next report reads it."""
    shown: set[lt.Shown] = set()
    withheld: set[lt.Withheld] = set()
    for r in reports:
        s, w = lt.record(r.tables, r.hidden)
        shown |= s
        withheld |= w
    return lt.Earlier(frozenset(shown), frozenset(withheld))


def two_reports(
    deliveries: Sequence[lt.DeliveryCounts], *, remember: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame, dpr.Protection]:
    """Report A on every delivery but the last, then report B on all of them, which
    knows what A showed and hid when ``remember``; their published tables and B's
    protection."""
    a = dpr.protect(deliveries[:-1], RULES)
    b = dpr.protect(deliveries, RULES, earlier_of(a) if remember else None)
    return published(a, deliveries[:-1]), published(b, deliveries), b


def test_the_issue_10_case_leaks_across_two_reports_unless_the_second_knows_the_first() -> None:
    """Report A (deliveries 1-2) shows cohort 2022-Q1; report B (1-3) hides 2026-Q2 of
    delivery 3 (9 persons, 3 at work) by rules 1-2 and 2022-Q1 by rule 3. Without the
    record of A, B's rule 6 hides 2022-Q1 in deliveries 1-2 as well, which A already
    showed: read together, 2026-Q2 is exactly 9 and 3. With it, B protects 2026-Q2
    with counts no report showed, and shows 2022-Q1 of deliveries 1-2 as A did."""
    deliveries = issue_case()
    raw = pl.concat([d.raw for d in deliveries])
    q2 = (PEILDATUMS_CASE[2], "werk_6m", "cohort", "2026-Q2")

    pub_a, pub_b, _ = two_reports(deliveries, remember=False)
    leak = independent_audit(raw, side_by_side(pub_b, pub_a))
    assert leak[(*q2, "denominator")] == pytest.approx((9.0, 9.0))
    assert leak[(*q2, "numerator")] == pytest.approx((3.0, 3.0))

    pub_a, pub_b, b = two_reports(deliveries)
    both = side_by_side(pub_b, pub_a)
    check_rule6(raw, both, RULES, known=known_from(pub_a, raw))
    low, high = independent_audit(raw, both)[(*q2, "denominator")]
    assert high - low >= RULES.min_denominator
    check_rules123_kept(deliveries, pub_b)
    assert b.result.passed
    assert b.result.hidden_earlier == 2  # 2022-Q1 of delivery 3, hidden by rule 3
    shown_by_a = pub_a.filter(pl.col("category") == "2022-Q1")
    assert shown_by_a["denominator"].to_list() == [12, 12]
    assert pub_b.join(shown_by_a, on=KEYS).select("denominator", "numerator").rows() == [
        (12, 5),
        (12, 5),
    ]


PEILDATUMS_CASE = sorted({d.raw["peildatum"][0] for d in issue_case()})


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=st.lists(person, min_size=60, max_size=120), count=st.integers(2, 4))
def test_two_reports_read_together_pass_rule_6_and_b_shows_all_a_showed(
    people: list[tuple[int, str, bool, bool, bool, int]], count: int
) -> None:
    """On random stores: what reports A and B publish together passes rule 6 by the
    independent LP; B keeps rules 1-3 of every delivery; and every count A showed, B
    shows with the same value (an old delivery's figures do not change from one
    report to the next)."""
    people = [p for p in people if p[0] < count]
    deliveries = store_from_people(people, count)
    try:
        pub_a, pub_b, b = two_reports(deliveries)
    except UserError as e:
        assert "cannot protect" in str(e)  # a refusal publishes nothing
        return
    assert b.result.passed
    raw = pl.concat([d.raw for d in deliveries])
    check_rule6(raw, side_by_side(pub_b, pub_a), RULES, known=known_from(pub_a, raw))
    check_rules123_kept(deliveries, pub_b)
    for kind in ("denominator", "numerator"):
        pairs = pub_a.join(pub_b, on=KEYS, suffix="_b").filter(pl.col(kind).is_not_null())
        assert pairs[kind].to_list() == pairs[f"{kind}_b"].to_list()


def test_the_store_records_each_reports_counts_once_and_keeps_them_through_a_purge(
    tmp_path: Path,
) -> None:
    from pijler3.contract import protocol

    path = tmp_path / "analysis.duckdb"
    counts = {("B", "totaal", "totaal", 120), ("num:werk_6m", "regio", "A", 7)}
    hid = {(PEILDATUMS[0], "num:werk_6m", "regio", "B")}
    with Store(path, protocol.load()) as store:
        assert store.earlier() == (set(), set(), set())
    with Store(path, protocol.load()) as store:
        # Opening and reading adds no table ('pijler3 status' changes nothing).
        made = store.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        assert {"published", "withheld"}.isdisjoint({r[0] for r in made})
        store.record_published("r1", NOW, counts, hid)
        store.record_published("r1", NOW, counts, hid)  # the same report again: one record
        store.record_published("r2", NOW, {("B", "totaal", "totaal", 130)})
        store.remove_deliveries([])  # a purge rebuilds the file from what it keeps
    with Store(path, protocol.load()) as store:
        known, withheld, reports = store.earlier()
    assert reports == {"r1", "r2"}
    assert known == counts | {("B", "totaal", "totaal", 130)}
    assert withheld == hid


def test_a_second_report_after_a_new_delivery_knows_what_the_first_showed(
    chain: ChainRun, tmp_path: Path
) -> None:
    """Through the workspace, as ABB runs it: a report on the first delivery, then the
    second delivery ingested, then a report on both. The second report's audit counts
    the first report as known, ``disclosure.json`` gives the values it relies on, the
    audit re-run from that file alone passes, the methods section says so, and every
    count the first report showed of the first delivery the second shows alike."""
    ws = abb_copy(chain, tmp_path / "abb")
    first, second = chain.ingested[PEILDATUMS[0]], chain.ingested[PEILDATUMS[1]]
    with Store(ws.store_path, ws.protocol()) as store:
        store.remove_deliveries([second.delivery_id])
    files.write_report(ws, tmp_path / "q1", now=NOW, pdf=False)
    ingest.ingest(ws, chain.published[PEILDATUMS[1]].package, now=NOW + dt.timedelta(hours=1))
    files.write_report(ws, tmp_path / "q2", now=NOW + dt.timedelta(hours=2), pdf=False)

    doc = json.loads((tmp_path / "q2" / files.DISCLOSURE_NAME).read_text())
    assert doc["audit"]["earlier_reports"] == 1
    assert doc["audit"]["passed"]
    assert files.audit_published(tmp_path / "q2").passed
    html = (tmp_path / "q2" / files.HTML_NAME).read_text()
    assert "Eerdere rapporten uit deze analysedatabank: 1." in html
    assert (
        "het eerste rapport uit deze analysedatabank"
        in (tmp_path / "q1" / files.HTML_NAME).read_text()
    )
    first_doc = json.loads((tmp_path / "q1" / files.DISCLOSURE_NAME).read_text())
    assert first_doc["audit"]["earlier_reports"] == 0
    q1 = pl.read_csv(tmp_path / "q1" / files.CSV_NAME, try_parse_dates=True)
    q2 = pl.read_csv(tmp_path / "q2" / files.CSV_NAME, try_parse_dates=True)
    assert q1["peildatum"].unique().to_list() == [PEILDATUMS[0]]
    assert first.delivery_id != second.delivery_id
    pairs = q1.join(q2, on=KEYS, suffix="_q2")
    assert pairs.height == q1.height
    for kind in ("denominator", "numerator"):
        # The first delivery's figures are as the first report showed them: the same
        # counts shown, the same counts hidden.
        assert pairs[kind].to_list() == pairs[f"{kind}_q2"].to_list()
    assert pairs[kind].null_count() > 0
    held = [c for c in doc["cells"] if c["earlier"] is not None]
    assert all(c["value"] is None for c in held)
    assert len(held) == doc["audit"]["hidden_earlier"]
    # The DPO sees the record in the status.
    now = NOW + dt.timedelta(hours=3)
    assert status.status(ws, now=now).reports_recorded == 2
    assert "Reports recorded: 2 " in status.render(status.status(ws, now=now))


def test_after_a_purge_disclosure_json_carries_what_earlier_reports_showed() -> None:
    """Deliveries 1-2 purged, report B covers delivery 3 alone; report A had shown
    2022-Q1 (12 persons, 5 at work), which rule 3 hides in delivery 3. B's document
    gives those values, so the audit re-run from it knows what A's readers know, and
    passes. The pattern made without the record of A passes alone but fails that
    audit: 2026-Q2 is then exactly 9."""
    deliveries = issue_case()
    a = dpr.protect(deliveries[:2], RULES)
    known = earlier_of(a)
    b = dpr.protect(deliveries[2:], RULES, known)
    doc = dp.document(b, RULES, 1)
    assert dp.audit_document(doc).passed
    held = {(c["category"], c["kind"]): c["earlier"] for c in doc["cells"] if c["earlier"]}
    assert held == {("2022-Q1", "denominator"): 12, ("2022-Q1", "numerator"): 5}

    alone = dpr.protect(deliveries[2:], RULES)
    assert alone.result.passed
    told = replace(alone, earlier=tuple(lt.earlier_values(alone.tables, known)))
    found = dp.audit_document(dp.document(told, RULES, 1))
    assert not found.passed
    assert {(f.cell.category, f.range.width) for f in found.failures} >= {("2026-Q2", 0.0)}


def test_another_researchers_report_is_taken_as_known_with_earlier(
    chain: ChainRun, tmp_path: Path
) -> None:
    """The two researchers each hold an analysis store. abb-2 writes its report knowing
    abb-1's (``pijler3 report --earlier``): its audit counts one earlier report, and
    the record stays for abb-2's next report. A folder without ``disclosure.json``
    among the earlier ones is refused in one line, and nothing is written or recorded,
    not even the good folder given with it."""
    one = abb_copy(chain, tmp_path / "abb-1")
    two = tmp_path / "abb-2"
    shutil.copytree(chain.spaces["abb-2"].root, two)
    at = NOW.isoformat()
    runner = CliRunner()
    run = runner.invoke(
        cli, ["report", "--ws", str(one.root), "-o", str(tmp_path / "r1"), "--now", at]
    )
    assert run.exit_code == 0, run.output

    wrong = tmp_path / "not-a-report"
    wrong.mkdir()
    run = runner.invoke(
        cli,
        ["report", "--ws", str(two), "-o", str(tmp_path / "r2"), "--earlier", str(tmp_path / "r1"),
         "--earlier", str(wrong), "--now", at],
    )  # fmt: skip
    cli_error(run, "not-a-report", "disclosure.json", "not found")
    assert not (tmp_path / "r2").exists()
    with Store(two / "store" / "analysis.duckdb", one.protocol()) as store:
        assert store.earlier() == (set(), set(), set())

    run = runner.invoke(
        cli,
        ["report", "--ws", str(two), "-o", str(tmp_path / "r2"), "--earlier", str(tmp_path / "r1"),
         "--now", at],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    doc = json.loads((tmp_path / "r2" / files.DISCLOSURE_NAME).read_text())
    assert doc["audit"]["earlier_reports"] == 1
    first = json.loads((tmp_path / "r1" / files.DISCLOSURE_NAME).read_text())
    assert first["audit"]["earlier_reports"] == 0
    run = runner.invoke(cli, ["report", "--ws", str(two), "-o", str(tmp_path / "r3"), "--now", at])
    assert run.exit_code == 0, run.output
    third = json.loads((tmp_path / "r3" / files.DISCLOSURE_NAME).read_text())
    # abb-1's report and abb-2's first, one record each unless they show the same counts
    differ = lt.document_record(doc) != lt.document_record(first)
    assert third["audit"]["earlier_reports"] == 1 + differ


def test_after_a_purge_what_an_earlier_report_hid_stays_hidden() -> None:
    """Delivery 1 has cohort X of 7 persons (rule 2) and Y of 30 as its complement
    (rule 3); in delivery 2, X has grown to 12 and Y is unchanged. Report A (delivery 1)
    hides X and Y; report B (deliveries 1-2) hides Y in delivery 2 too, since it is the
    same count. Then delivery 1 is purged. Report C (deliveries 2-3) no longer holds
    delivery 1's equations; alone, rules 1-3 would show Y, and with A's totaal and Z
    it gives X = 77 - 40 - 30 = 7 exactly. Because B hid Y of delivery 2, C keeps it
    hidden and gives it a range of its threshold; read together, A, B and C leave X
    of delivery 1 a range of at least 10."""
    days = [dt.date(2026, 3, 31), dt.date(2026, 6, 30), dt.date(2026, 9, 30)]
    d1 = lt.DeliveryCounts(cohort_table(days[0], [("X", 7, 2), ("Y", 30, 10), ("Z", 40, 20)]))
    d2 = lt.DeliveryCounts(cohort_table(days[1], [("X", 12, 6), ("Y", 30, 10), ("Z", 45, 22)]))
    d3 = lt.DeliveryCounts(
        cohort_table(days[2], [("X", 12, 6), ("Y", 31, 11), ("Z", 50, 25), ("W", 20, 8)])
    )
    a = dpr.protect([d1], RULES)
    b = dpr.protect([d1, d2], RULES, earlier_of(a))
    c = dpr.protect([d2, d3], RULES, earlier_of(a, b))
    pub_b, pub_c = published(b, [d1, d2]), published(c, [d2, d3])
    y2 = pub_c.filter((pl.col("peildatum") == days[1]) & (pl.col("category") == "Y"))
    assert y2["denominator"].to_list() == [None]
    assert c.result.passed

    def x1_range(report_c: pl.DataFrame) -> float:
        every = side_by_side(
            pl.concat([pub_b, report_c.filter(pl.col("peildatum") == days[2])]),
            report_c.filter(pl.col("peildatum") == days[1]),
        )
        raw = pl.concat([d.raw for d in (d1, d2, d3)])
        x1 = (days[0], "werk_6m", "cohort", "X", "denominator")
        low, high = independent_audit(raw, every)[x1]
        return high - low

    assert x1_range(pub_c) >= RULES.min_denominator
    forgetful = dpr.protect([d2, d3], RULES, lt.Earlier(earlier_of(a, b).shown))
    assert x1_range(published(forgetful, [d2, d3])) == pytest.approx(0.0)


def quarterly(
    deliveries: Sequence[lt.DeliveryCounts], *, remember: bool = True, keep: int | None = 2
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A report after each delivery, each on the last ``keep`` deliveries (the older ones
    purged; every delivery when None), knowing the reports before it when ``remember``.
    The raw counts of every delivery, and everything the reports published together:
    per cell, the value any of them showed (a delivery's counts are the same in every
    report)."""
    reports: list[dpr.Protection] = []
    tables: list[pl.DataFrame] = []
    for k in range(1, len(deliveries) + 1):
        held = deliveries[max(0, k - keep) if keep else 0 : k]
        known = earlier_of(*reports) if reports and remember else None
        reports.append(dpr.protect(held, RULES, known))
        tables.append(published(reports[-1], held))
    raw = pl.concat([d.raw for d in deliveries])
    shown = (
        pl.concat(tables)
        .group_by(KEYS)
        .agg(pl.col("denominator").drop_nulls().first(), pl.col("numerator").drop_nulls().first())
    )
    return raw, raw.select(KEYS).join(shown, on=KEYS, how="left", maintain_order="left")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=st.lists(person, min_size=60, max_size=150), count=st.integers(3, 4))
def test_quarterly_reports_each_knowing_the_ones_before_pass_rule_6_read_all_together(
    people: list[tuple[int, str, bool, bool, bool, int]], count: int
) -> None:
    """A report each quarter, on every delivery so far, each knowing the reports before
    it: whoever kept every report can narrow no hidden count (rule 6 by the independent
    LP over every delivery's equations).

    With purges in between (each report on the last two deliveries) this does not always
    hold: the later reports' models no longer hold a purged delivery's equations, and
    hypothesis found a store of 4 deliveries where a denominator of 4 of the second,
    purged delivery is left a range of 9 where 10 is needed. The purge cases below are
    fixed ones; the closing note of issue 13 and the CHANGELOG name the gap."""
    people = [p for p in people if p[0] < count]
    deliveries = store_from_people(people, count)
    try:
        raw, every = quarterly(deliveries, keep=None)
    except UserError as e:
        assert "cannot protect" in str(e)  # a refusal publishes nothing
        return
    check_rule6(raw, every, RULES, known=known_from(every, raw))


def test_quarterly_reports_that_forget_each_other_leak() -> None:
    """A report each quarter on the last two deliveries (older ones purged), on a fixed
    store (seed 103, 80 people, 4 deliveries): reports made without the record give the
    third delivery's cohort 2026-Q2 (3 at work) exactly when read together; with the
    record they pass."""
    deliveries = store_from_people(seeded_people(103, 4, 80), 4)
    raw, every = quarterly(deliveries, remember=False)
    found = independent_audit(raw, every)
    q2 = (dt.date(2026, 9, 30), "werk_6m", "cohort", "2026-Q2", "numerator")
    assert found[q2] == pytest.approx((3.0, 3.0))
    raw, every = quarterly(deliveries)
    check_rule6(raw, every, RULES, known=known_from(every, raw))
