"""Benchmark of the synthetic extract generator (pijler3.extracts.synth) and of reading its output.

Generates the three extracts for N persons (CSV, UTF-8, ';') into a temporary directory
and prints the generation time and peak memory; then reads the three files back with
``pijler3.extracts.readers.read_extract`` in a fresh process (so that its peak memory is its own)
and prints the read time, the peak memory and whether the reader's findings equal the
planted counts. Target: generating 1,000,000 persons well under 60 s on 2 cores.

    .venv/bin/python bench/synth.py                      # 1,000,000 persons
    .venv/bin/python bench/synth.py --persons 100000
    .venv/bin/python bench/synth.py --format xlsx --persons 20000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from pijler3.contract import protocol
from pijler3.extracts import synth

PEILDATUM = dt.date(2025, 6, 30)


def peak_mib() -> float:
    """Peak resident memory of this process (VmHWM, in KiB on Linux).

    Not ru_maxrss: Linux carries that over exec from the parent, so a child started by
    a process that had generated a million rows would report the parent's peak.
    """
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def read_back(directory: Path) -> int:
    """Read the three extracts of ``directory`` and compare with planted.json."""
    from pijler3.extracts.readers import read_extract

    proto = protocol.load()
    meta = json.loads((directory / synth.PLANTED_FILE).read_text("utf-8"))
    ok = True
    total = 0.0
    for key, info in meta["extracts"].items():
        path = directory / info["file"]
        start = time.perf_counter()
        result = read_extract(path, proto.extracts[key])
        took = time.perf_counter() - start
        total += took
        counts: Counter[str] = Counter()
        for f in result.findings:
            counts[f"{f.reason}:{f.column}" + (f":{f.label}" if f.label else "")] += f.count
        planted = synth.Planted(info["counts"], info["checks"], info["rows"]).reader_counts()
        same = dict(counts) == planted
        ok &= same
        print(
            f"  read {path.name:<26} {result.table.height:>10,} rows  {took:6.2f} s  "
            f"findings {'= planted' if same else 'DIFFER from planted'}"
        )
    print(f"read total: {total:.2f} s, peak memory {peak_mib():,.0f} MiB")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20240630)
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--read", type=Path, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.read is not None:
        return read_back(args.read)
    with tempfile.TemporaryDirectory(prefix="pijler3-bench-synth-") as tmp:
        out = Path(tmp)
        start = time.perf_counter()
        result = synth.generate(
            out, persons=args.persons, peildatum=PEILDATUM, seed=args.seed, fmt=args.format
        )
        took = time.perf_counter() - start
        print(f"generate {args.persons:,} persons ({args.format}): {took:.2f} s, "
              f"peak memory {peak_mib():,.0f} MiB")  # fmt: skip
        for key in ("kbi", "werkzoekenden", "acties"):
            path = getattr(result, key)
            print(f"  {path.name:<26} {result.planted[key].rows:>10,} rows  "
                  f"{path.stat().st_size / 2**20:8.1f} MiB")  # fmt: skip
        child = subprocess.run([sys.executable, __file__, "--read", str(out)], check=False)
        return child.returncode


if __name__ == "__main__":
    sys.exit(main())
