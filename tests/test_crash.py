"""``kill -9`` during ingest leaves the store and the audit log as before or fully updated.

Each trial copies an ABB workspace that holds the first delivery, starts a real
``pijler3 ingest`` of the second in a subprocess, kills it with SIGKILL after a random
delay (seeded), and checks the invariants. The audit log's own crash trials (kill -9
during an append) are in test_audit.py.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import PEILDATUMS, ChainRun

from pijler3.analysis.store import Store
from pijler3.exchange import audit

TRIALS = 50


def _base(chain: ChainRun, root: Path) -> Path:
    """A copy of researcher A's workspace holding only the first delivery."""
    base = root / "base"
    shutil.copytree(chain.spaces["abb-1"].root, base)
    protocol = chain.spaces["abb-1"].protocol()
    with Store(base / "store" / "analysis.duckdb", protocol) as store:
        store.remove_deliveries([chain.ingested[PEILDATUMS[1]].delivery_id])
    (base / "archive" / f"{chain.ingested[PEILDATUMS[1]].delivery_id}.p3pkg").unlink()
    # The log goes back to the same moment: the prefix before the second load, which
    # (a hash chain's prefix) still verifies.
    log = base / "audit.jsonl"
    lines = log.read_bytes().split(b"\n")[:-1]
    second = chain.ingested[PEILDATUMS[1]].delivery_id
    cut = next(i for i, line in enumerate(lines) if second.encode() in line)
    log.write_bytes(b"".join(line + b"\n" for line in lines[:cut]))
    return base


def _ingest(ws: Path, package: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pijler3",
            "ingest",
            "--ws",
            str(ws),
            "--package",
            str(package),
            "--now",
            "2026-10-20T10:00",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_kill_9_during_ingest_leaves_before_or_after(chain: ChainRun, tmp_path: Path) -> None:
    base = _base(chain, tmp_path)
    package = chain.published[PEILDATUMS[1]].package
    first = chain.ingested[PEILDATUMS[0]].delivery_id
    second = chain.ingested[PEILDATUMS[1]].delivery_id
    protocol = chain.spaces["abb-1"].protocol()

    # One undisturbed run tells how long an ingest takes on this machine.
    probe = tmp_path / "probe"
    shutil.copytree(base, probe)
    start = time.monotonic()
    assert _ingest(probe, package).wait(timeout=300) == 0
    duration = time.monotonic() - start

    rng = random.Random(20231920)
    outcomes = {"before": 0, "after": 0}
    for trial in range(TRIALS):
        ws = tmp_path / f"t{trial}"
        shutil.copytree(base, ws)
        proc = _ingest(ws, package)
        time.sleep(rng.uniform(0.0, duration * 1.1))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        with Store(ws / "store" / "analysis.duckdb", protocol) as store:
            held = [d.delivery_id for d in store.deliveries()]
            rows = store.con.execute("SELECT count(*) FROM monitoring").fetchone()
            assert rows is not None
            assert rows[0] == sum(d.row_count for d in store.deliveries())
        assert held in ([first], [first, second]), held
        outcomes["after" if second in held else "before"] += 1
        audit.verify(ws / "audit.jsonl")
        # Running the same ingest again completes the delivery, whatever the crash left.
        assert _ingest(ws, package).wait(timeout=300) == 0
        with Store(ws / "store" / "analysis.duckdb", protocol) as store:
            assert [d.delivery_id for d in store.deliveries()] == [first, second]
        audit.verify(ws / "audit.jsonl")
        # ... and the log then records the load exactly once, whenever the crash came.
        loads = [
            r
            for r in audit.events(ws / "audit.jsonl")
            if r["event"] == "ingest.loaded" and r["details"]["delivery_id"] == second
        ]
        assert len(loads) == 1, loads
        shutil.rmtree(ws)
    # Both outcomes must occur, or the trials did not hit the work they claim to test.
    assert outcomes["before"] > 0 and outcomes["after"] > 0, outcomes


@pytest.mark.parametrize("when", [dt.date(2026, 10, 20)])
def test_base_workspace_is_consistent(chain: ChainRun, tmp_path: Path, when: dt.date) -> None:
    """The copy used above holds exactly the first delivery, and its log verifies."""
    base = _base(chain, tmp_path)
    with Store(base / "store" / "analysis.duckdb", chain.spaces["abb-1"].protocol()) as store:
        assert [d.delivery_id for d in store.deliveries()] == [
            chain.ingested[PEILDATUMS[0]].delivery_id
        ]
    audit.verify(base / "audit.jsonl")
