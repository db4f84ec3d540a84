"""Shared fixtures: a real chain run on synthetic extracts, reused by several tests."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import click.testing
import pytest

from pijler3 import demo
from pijler3.contract import protocol as protocol_mod
from pijler3.exchange import workspace
from pijler3.extracts import synth
from pijler3.steps import export, ingest, link, publish

NOW = dt.datetime(2026, 10, 15, 9, 0, tzinfo=dt.UTC)
PEILDATUMS = (dt.date(2026, 6, 30), dt.date(2026, 9, 30))
# When test workspaces are made: before anything they record, since an audit log's
# records never go back in time (a step dated before the last record is refused).
SETUP = dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC)


def protocol_text(action: str = "warn") -> str:
    """The shipped protocol with the risk gate's action set as asked."""
    text = protocol_mod.default_text()
    text, n = re.subn(r'(?m)^action = "\w+"', f'action = "{action}"', text, count=1)
    assert n == 1
    return text


@dataclass
class ChainRun:
    root: Path
    spaces: dict[str, workspace.Workspace]
    extracts: dict[dt.date, synth.SynthResult]
    exports: dict[dt.date, export.ExportResult]
    links: dict[dt.date, link.LinkResult]
    published: dict[dt.date, publish.PublishResult]
    ingested: dict[dt.date, ingest.IngestResult]


def run_chain(root: Path, persons: int = 1500) -> ChainRun:
    spaces = demo.setup(root, SETUP, protocol_text())
    run = ChainRun(root, spaces, {}, {}, {}, {}, {})
    for day in PEILDATUMS:
        at = dt.datetime.combine(day + dt.timedelta(days=7), dt.time(9), tzinfo=dt.UTC)
        ex = synth.generate(
            root / "extracts" / day.isoformat(),
            persons=persons,
            peildatum=day,
            seed=7,
            population_end=PEILDATUMS[-1],
        )
        run.extracts[day] = ex
        run.exports[day] = export.export(spaces["agii"], ex.kbi, peildatum=day, now=at)
        run.links[day] = link.link(
            spaces["vdab"], run.exports[day].package, ex.werkzoekenden, ex.acties, now=at
        )
        run.published[day] = publish.publish(spaces["agii"], run.links[day].package, now=at)
        for name in ("abb-1", "abb-2"):
            run.ingested[day] = ingest.ingest(spaces[name], run.published[day].package, now=at)
    return run


def abb_copy(chain: ChainRun, root: Path) -> workspace.Workspace:
    """A copy of ABB's workspace of the shared chain, for a test that writes a report:
    the report appends to the workspace's audit log, which never goes back in time, so
    writing into the shared one would make the order of tests matter."""
    shutil.copytree(chain.spaces["abb-1"].root, root)
    return workspace.open_workspace(root)


@pytest.fixture(scope="session")
def chain(tmp_path_factory: pytest.TempPathFactory) -> ChainRun:
    return run_chain(tmp_path_factory.mktemp("chain"))


def cli_error(result: click.testing.Result, *needles: str) -> str:
    """Assert that a CliRunner ``result`` is a refusal as a person sees it: exit code 1,
    exactly one line ``Error: …`` on stderr naming every needle, nothing on stdout, and
    no traceback (the command ended through SystemExit, not an escaped exception)."""
    assert result.exit_code == 1, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert result.stdout == ""
    return lines[0]


def set_clock(monkeypatch: pytest.MonkeyPatch, when: str) -> None:
    """This machine's clock, as the command line reads it, at ``when`` (UTC): a command
    may not record a moment after the clock (``cli.options.moment``), so a test of what
    happens years from now moves the clock there."""
    moment = dt.datetime.fromisoformat(when).replace(tzinfo=dt.UTC)
    monkeypatch.setattr("pijler3.cli.options.clock", lambda: moment)
