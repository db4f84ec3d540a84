"""Benchmark of the exchange chain: per-step time and peak memory, and pseudonym rates.

Usage: python bench/chain.py [--persons 100000 1000000] [--seed 1]

For each size it generates synthetic extracts (not timed), then runs export, link,
publish and ingest, each in a fresh process so that its peak memory (ru_maxrss) is its
own. It also measures, in this run and on this machine, the pseudonymisation rate of
pijler3.exchange.pseudonym and the raw HMAC-SHA256 rate of Python's hmac.digest on the same
11-byte inputs. Targets: >= 2 million pseudonyms per second per core; the chain for
1 million persons under 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

STEP = r"""
import datetime as dt, json, sys, time
from pathlib import Path
from pijler3.steps import export
from pijler3.steps import ingest
from pijler3.steps import link
from pijler3.steps import publish
from pijler3.exchange import workspace
args = json.loads(sys.argv[1])
now = dt.datetime.fromisoformat(args["now"])
ws = workspace.open_workspace(Path(args["ws"]))
t = time.perf_counter()
if args["step"] == "export":
    day = dt.date.fromisoformat(args["peildatum"])
    r = export.export(ws, Path(args["kbi"]), peildatum=day, now=now)
    out = str(r.package)
elif args["step"] == "link":
    r = link.link(ws, Path(args["package"]), Path(args["wz"]), Path(args["ac"]), now=now)
    out = str(r.package)
elif args["step"] == "publish":
    r = publish.publish(ws, Path(args["package"]), now=now)
    out = str(r.package)
else:
    r = ingest.ingest(ws, Path(args["package"]), now=now)
    out = ""
secs = time.perf_counter() - t
# VmHWM is this process's own peak; ru_maxrss would carry the parent's over exec.
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
rss = int(hwm.split()[1]) / 1024
print(json.dumps({"seconds": secs, "peak_mib": rss, "out": out}))
"""


def step(name: str, **kw: str) -> dict[str, float | str]:
    proc = subprocess.run(
        [sys.executable, "-c", STEP, json.dumps({"step": name, **kw})],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise SystemExit(f"{name} failed:\n{proc.stderr}")
    result: dict[str, float | str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def rates(n: int = 1_000_000) -> tuple[float, float]:
    from pijler3.exchange import pseudonym

    key = os.urandom(32)
    insz = [f"{i:011d}" for i in range(n)]
    series = pl.Series(insz)
    t = time.perf_counter()
    pseudonym.pseudonym_series(key, series)
    ours = n / (time.perf_counter() - t)
    data = [s.encode() for s in insz]
    t = time.perf_counter()
    for m in data:
        hmac.digest(key, m, "sha256")
    raw = n / (time.perf_counter() - t)
    return ours, raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from pijler3 import demo
    from pijler3.extracts import synth

    ours, raw = rates()
    print(
        f"pseudonyms: {ours / 1e6:.2f} M/s on one core "
        f"(raw hmac.digest HMAC-SHA256 in the same run: {raw / 1e6:.2f} M/s)"
    )
    peildatum = dt.date(2026, 9, 30)
    now = "2026-10-07T09:00:00+00:00"
    for persons in args.persons:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            text = Path(__file__).parent.parent / "src/pijler3/data/protocol-2023-09-20.toml"
            spaces = demo.setup(root, dt.datetime.fromisoformat(now), text.read_text("utf-8"))
            t = time.perf_counter()
            ex = synth.generate(root / "ex", persons=persons, peildatum=peildatum, seed=args.seed)
            gen = time.perf_counter() - t
            e = step(
                "export",
                ws=str(spaces["agii"].root),
                kbi=str(ex.kbi),
                peildatum=peildatum.isoformat(),
                now=now,
            )
            li = step(
                "link",
                ws=str(spaces["vdab"].root),
                package=str(e["out"]),
                wz=str(ex.werkzoekenden),
                ac=str(ex.acties),
                now=now,
            )
            p = step("publish", ws=str(spaces["agii"].root), package=str(li["out"]), now=now)
            i = step("ingest", ws=str(spaces["abb-1"].root), package=str(p["out"]), now=now)
            total = sum(float(s["seconds"]) for s in (e, li, p, i))
            print(
                f"\n{persons:,} persons (synthetic extracts generated in {gen:.1f} s, not counted)"
            )
            for name, s in (("export", e), ("link", li), ("publish", p), ("ingest", i)):
                secs, peak = float(s["seconds"]), float(s["peak_mib"])
                print(f"  {name:8s} {secs:7.1f} s   peak {peak:7.0f} MiB")
            print(f"  {'chain':8s} {total:7.1f} s")


if __name__ == "__main__":
    main()
