"""The one-command demo: all parties, several deliveries, ending with the report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pijler3 import demo
from pijler3.analysis.store import Store
from pijler3.contract.errors import UserError

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def test_quarter_ends_are_the_last_ones_before_today() -> None:
    assert demo.quarter_ends(dt.date(2026, 11, 29), 3) == [
        dt.date(2026, 3, 31),
        dt.date(2026, 6, 30),
        dt.date(2026, 9, 30),
    ]
    assert demo.quarter_ends(dt.date(2026, 1, 1), 1) == [dt.date(2025, 12, 31)]


def test_demo_runs_every_delivery_and_writes_the_report(tmp_path: Path) -> None:
    lines: list[str] = []
    out = tmp_path / "demo"
    result = demo.run(out, persons=1500, deliveries=2, seed=3, now=NOW, echo=lines.append)
    assert result.report == out / "report" / "report.html"
    assert result.report.exists()
    assert (out / "report" / "indicators.csv").exists()
    assert (out / "report" / "report.xlsx").exists()
    assert result.summary.splitlines()[-1].endswith("report.html")
    for name in ("abb-1", "abb-2"):
        ws = result.out / "workspaces" / name
        with Store(
            ws / "store" / "analysis.duckdb", demo.workspace.open_workspace(ws).protocol()
        ) as s:
            assert [d.peildatum for d in s.deliveries()] == [
                dt.date(2026, 6, 30),
                dt.date(2026, 9, 30),
            ]
    # Running it again replaces the throwaway folder.
    again = demo.run(out, persons=1500, deliveries=1, seed=3, now=NOW, echo=lines.append)
    assert again.report is not None and again.report.exists()


def test_demo_never_overwrites_a_folder_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(UserError, match="not a pijler3 demo folder"):
        demo.run(tmp_path, persons=500, deliveries=1, seed=1, now=NOW, echo=lambda _: None)
    assert (tmp_path / "mine.txt").read_text() == "keep me"
