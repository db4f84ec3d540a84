"""Benchmark of the whole chain against a naive pandas pipeline, and of the chain at scale.

    .venv/bin/python bench/chain.py                         # 20,000 persons, a quick look
    .venv/bin/python bench/chain.py --persons 200000 1000000
    .venv/bin/python bench/chain.py --persons 12000000 --alone --repeat 1

For each size it generates one delivery of synthetic extracts (CSV, Windows-1252, ``;``;
not timed), then, alternating and ``--repeat`` times (median reported), runs

- the whole chain as the demo runs it: export, link, publish, ingest (one researcher)
  and the report, each step in a fresh process, so that its peak memory is its own;
- the same chain in one process (set-up included), as ``pijler3 demo --kbi ...`` runs
  it: start-up and imports are paid once, as in the naive script;
- bench/naive_pandas.py on the same three files: read, link on the INSZ, HMAC-SHA256
  per row, Parquet, one indicator (what a data steward would otherwise write).

Times are wall-clock per process, interpreter start and imports included, on both
sides, then the same without start-up and imports, and the CPU time (user + system,
from ``wait4``), which a shared machine's load disturbs less. Peak memory is the
child's maximum resident set (``ru_maxrss`` from ``wait4``); this parent stays small so
that a child does not inherit its peak over exec. It prints the chain per step, the
naive pipeline, and their ratios (> 1: the chain is faster).
``--alone`` skips the naive pipeline (for 12,000,000 persons). Before the runs it prints
the load average: the machine may be shared.

Targets (issue 13): 200,000 persons at least 3x faster than naive pandas; 1,000,000
persons under 10 s with a peak under 2 GiB per step; 12,000,000 persons under 3
minutes with a peak under 12 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PEILDATUM = "2026-09-30"
NOW = "2026-10-07T09:00:00+00:00"
STEPS = ("export", "link", "publish", "ingest", "report")

# Runs in a child process: one step of the chain, or the set-up.
CHILD = r"""
import datetime as dt, json, sys
from pathlib import Path
args = json.loads(sys.argv[1])
root = Path(args["root"])
now = dt.datetime.fromisoformat(args["now"])
day = dt.date.fromisoformat(args["peildatum"])
state_path = root / "state.json"
if args["step"] == "generate":
    from pijler3.extracts import synth
    r = synth.generate(root / "extracts", persons=args["persons"], peildatum=day,
                       seed=args["seed"], encoding="cp1252", delimiter=";")
    state_path.write_text(json.dumps({"kbi": str(r.kbi), "wz": str(r.werkzoekenden),
                                      "ac": str(r.acties)}))
    sys.exit(0)
import importlib, shutil, time
from pijler3.exchange import workspace
ALL = ["setup", "export", "link", "publish", "ingest", "report"]
steps = ALL if args["step"] == "all" else [args["step"]]
modules = {"setup": "pijler3.demo", "report": "pijler3.report.files"}
mods = {step: importlib.import_module(modules.get(step, "pijler3.steps." + step)) for step in steps}
t0 = time.perf_counter()  # start-up and imports done
state = json.loads(state_path.read_text())
run = root / "run"
ws = lambda name: workspace.open_workspace(run / "workspaces" / name)
for step in steps:
    mod = mods[step]
    if step == "setup":
        shutil.rmtree(run, ignore_errors=True)
        run.mkdir()
        # Extracts above the protocol's 512 MiB (12,000,000 persons: a 3.1 GiB KBI) need
        # the limit raised in the protocol file, as an operator would.
        from pijler3.contract import protocol
        largest = max(Path(state[k]).stat().st_size for k in ("kbi", "wz", "ac")) >> 20
        text = protocol.default_text()
        if largest >= 512:
            text = text.replace("extract_mib = 512 ", f"extract_mib = {largest + 1} ", 1)
        mod.setup(run, now, text)
    elif step == "export":
        r = mod.export(ws("agii"), Path(state["kbi"]), peildatum=day, now=now)
        state["export"] = str(r.package)
    elif step == "link":
        extracts = (Path(state["export"]), Path(state["wz"]), Path(state["ac"]))
        r = mod.link(ws("vdab"), *extracts, now=now)
        state["link"] = str(r.package)
    elif step == "publish":
        state["publish"] = str(mod.publish(ws("agii"), Path(state["link"]), now=now).package)
    elif step == "ingest":
        mod.ingest(ws("abb-1"), Path(state["publish"]), now=now)
    elif step == "report":
        mod.write_report(ws("abb-1"), run / "report", now=now)
state_path.write_text(json.dumps(state))
print(json.dumps({"inside": time.perf_counter() - t0}))
"""


# Wall-clock s, s after start and imports, peak MiB, CPU s (user + system, all threads).
Run = tuple[float, float, float, float]


def child(argv: list[str]) -> Run:
    """Run ``argv``: its wall-clock seconds, its seconds after start-up (as it prints
    them, else the wall-clock), its peak resident memory in MiB and its CPU seconds."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        secs = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            err.seek(0)
            raise SystemExit(f"{' '.join(argv[:3])} failed:\n{err.read().decode()}")
        out.seek(0)
        lines = out.read().decode().strip().splitlines()
    inside = json.loads(lines[-1])["inside"] if lines and lines[-1].startswith("{") else secs
    cpu = usage.ru_utime + usage.ru_stime
    return secs, inside, usage.ru_maxrss / 1024, cpu  # ru_maxrss: KiB on Linux


def step(name: str, root: Path, **extra: object) -> Run:
    args = {"step": name, "root": str(root), "now": NOW, "peildatum": PEILDATUM, **extra}
    return child([sys.executable, "-c", CHILD, json.dumps(args)])


def chain(root: Path) -> dict[str, Run]:
    step("setup", root)
    return {name: step(name, root) for name in STEPS}


def naive(root: Path) -> Run:
    state = json.loads((root / "state.json").read_text())
    script = str(BENCH / "naive_pandas.py")
    return child([sys.executable, script, state["kbi"], state["wz"], state["ac"],
                  str(root / "naive")])  # fmt: skip


def mib(x: float) -> str:
    return f"{x:8,.0f} MiB"


def bench(persons: int, seed: int, repeat: int, alone: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="pijler3-bench-chain-") as tmp:
        root = Path(tmp)
        gen, _, gen_peak, _ = step("generate", root, persons=persons, seed=seed)
        print(f"\n{persons:,} persons (extracts generated in {gen:.1f} s, peak {mib(gen_peak)};"
              " not counted)", flush=True)  # fmt: skip
        chains: list[dict[str, Run]] = []
        ones: list[Run] = []
        naives: list[Run] = []
        for i in range(repeat):
            chains.append(chain(root))
            total = sum(r[0] for r in chains[-1].values())
            ones.append(step("all", root))
            line = f"  run {i + 1}: chain {total:6.1f} s   in one process {ones[-1][0]:6.1f} s"
            if not alone:
                naives.append(naive(root))
                line += f"   naive pandas {naives[-1][0]:6.1f} s"
            print(line, flush=True)
        print(f"  median of {repeat}: wall-clock per process (start-up and imports included),"
              " the same without them, CPU time of the process (less sensitive to the"
              " load of a shared machine), and its peak resident memory")  # fmt: skip
        for name in STEPS:
            wall = statistics.median(c[name][0] for c in chains)
            inside = statistics.median(c[name][1] for c in chains)
            peak = max(c[name][2] for c in chains)
            cpu = statistics.median(c[name][3] for c in chains)
            print(
                f"    {name:8s} {wall:7.1f} s  {inside:7.1f} s  cpu {cpu:7.1f} s   peak {mib(peak)}"
            )
        chain_wall = statistics.median(sum(r[0] for r in c.values()) for c in chains)
        chain_in = statistics.median(sum(r[1] for r in c.values()) for c in chains)
        chain_peak = max(r[2] for c in chains for r in c.values())
        chain_cpu = statistics.median(sum(r[3] for r in c.values()) for c in chains)
        print(f"    {'chain':8s} {chain_wall:7.1f} s  {chain_in:7.1f} s  cpu {chain_cpu:7.1f} s"
              f"   peak {mib(chain_peak)} (largest step)")  # fmt: skip
        one_wall = statistics.median(r[0] for r in ones)
        one_in = statistics.median(r[1] for r in ones)
        one_cpu = statistics.median(r[3] for r in ones)
        print(f"    {'one proc':8s} {one_wall:7.1f} s  {one_in:7.1f} s  cpu {one_cpu:7.1f} s"
              f"   peak {mib(max(r[2] for r in ones))} (the same chain in one process, set-up"
              " included, as `pijler3 demo --kbi ...` runs it)")  # fmt: skip
        if not alone:
            naive_wall = statistics.median(r[0] for r in naives)
            naive_in = statistics.median(r[1] for r in naives)
            naive_peak = max(r[2] for r in naives)
            naive_cpu = statistics.median(r[3] for r in naives)
            print(f"    {'naive':8s} {naive_wall:7.1f} s  {naive_in:7.1f} s  cpu {naive_cpu:7.1f} s"
                  f"   peak {mib(naive_peak)}")  # fmt: skip
            print(f"    ratio naive / chain (above 1: the chain is faster): wall-clock"
                  f" {naive_wall / chain_wall:.2f}x (five processes against one), without"
                  f" start-up {naive_in / chain_in:.2f}x,"
                  f" CPU {naive_cpu / chain_cpu:.2f}x")  # fmt: skip
            print(f"    ratio naive / chain in one process: wall-clock"
                  f" {naive_wall / one_wall:.2f}x, CPU {naive_cpu / one_cpu:.2f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, nargs="+", default=[20_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--alone", action="store_true", help="skip the naive pandas pipeline")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"{os.cpu_count()} cores; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for persons in args.persons:
        bench(persons, args.seed, args.repeat, args.alone)
    load = os.getloadavg()
    print(f"\nload average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
