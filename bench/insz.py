"""Benchmark and oracle run of the INSZ column check on a million generated numbers.

Usage: python bench/insz.py [--n 1000000] [--seed 13]

Generates ``n`` INSZ-like strings (valid, one digit changed, BIS, written with
separators, garbage: ``tests/insz_numbers.py``), checks them as a column with
:func:`pijler3.contract.insz.check_column` and one by one with python-stdnum plus the
serial rule (:func:`pijler3.contract.insz.check`, what the readers did before), prints
both times and the number of values on which they differ (must be 0), and exits 1 when
any differ. ``tests/test_insz.py`` runs the same comparison on 200,000 values.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from insz_numbers import generate

from pijler3.contract import insz


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    t = time.perf_counter()
    values = generate(args.n, seed=args.seed)
    print(f"generated {values.len():,} values in {time.perf_counter() - t:.2f} s")

    t = time.perf_counter()
    checked = insz.check_column(values, today=dt.date.today())
    column_s = time.perf_counter() - t
    print(f"column check (Polars):       {column_s:6.2f} s")

    t = time.perf_counter()
    expected = [insz.check(v) for v in values.to_list()]
    stdnum_s = time.perf_counter() - t
    print(f"one by one (python-stdnum):  {stdnum_s:6.2f} s   ({stdnum_s / column_s:.0f}x)")

    got = checked.rows()
    differ = sum(
        1
        for (n, p), (en, ep) in zip(got, expected, strict=True)
        if (n, p) != (en, None if ep is None else ep.value)
    )
    kinds = Counter("valid" if ep is None else ep.value for _, ep in expected)
    print("values by outcome: " + ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items())))
    print(f"values on which the column check and python-stdnum differ: {differ}")
    if differ:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
