"""Pseudonyms per second per core, next to OpenSSL's HMAC-SHA256 rate in the same run.

Usage: python bench/pseudonym.py [--n 1000000]

Times :func:`pijler3.exchange.pseudonym.pseudonym_series` on ``n`` 11-digit numbers (a
column in, a column of hex pseudonyms out), then, on this machine and in this run,
``openssl speed -hmac sha256 -bytes 16`` (HMAC-SHA256 of 16-byte inputs, one core) when
the binary exists, and Python's ``hmac.digest`` on 16-byte inputs. Rates are per CPU
second of this process (``time.process_time``, as ``openssl speed`` counts), so that a
busy shared machine does not halve them; the wall-clock rate is printed too.
Target (issue 13): at least 2 million pseudonyms per second per core.
"""

from __future__ import annotations

import argparse
import hmac
import os
import shutil
import subprocess
import time

import polars as pl

from pijler3.exchange import pseudonym


def _timed(fn: object, n: int) -> tuple[float, float]:
    """(per CPU second, per wall second) for ``fn()`` doing ``n`` items."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()  # type: ignore[operator]
    return n / (time.process_time() - cpu), n / (time.perf_counter() - wall)


def openssl_rate(seconds: int = 3) -> float | None:
    """HMAC-SHA256 of 16-byte inputs per CPU second, as ``openssl speed`` measures it."""
    binary = shutil.which("openssl")
    if binary is None:
        return None
    proc = subprocess.run(
        [binary, "speed", "-mr", "-seconds", str(seconds), "-bytes", "16", "-hmac", "sha256"],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("+F:"):  # +F:<n>:hmac(sha256):<bytes per second>
            return float(line.rsplit(":", 1)[1]) / 16
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    args = parser.parse_args()
    n = args.n
    key = pseudonym.derive_key(os.urandom(32), "bench")
    insz = pl.Series("insz", [f"{i * 7919 % 10**11:011d}" for i in range(n)])

    ours_cpu, ours_wall = _timed(lambda: pseudonym.pseudonym_series(key, insz), n)
    data = [os.urandom(16) for _ in range(n)]
    py_cpu, _ = _timed(lambda: [hmac.digest(key, m, "sha256") for m in data], n)
    ssl = openssl_rate()

    print(f"pijler3 pseudonyms:           {ours_cpu / 1e6:6.2f} M/s per core"
          f"   ({ours_wall / 1e6:.2f} M/s wall)")  # fmt: skip
    if ssl is not None:
        print(f"openssl speed hmac(sha256):   {ssl / 1e6:6.2f} M/s per core (16-byte inputs)")
    else:
        print("openssl speed hmac(sha256):   (no openssl binary)")
    print(f"python hmac.digest:           {py_cpu / 1e6:6.2f} M/s per core (16-byte inputs)")
    print("target: 2.00 M/s per core: " + ("met" if ours_cpu >= 2e6 else "NOT met"))


if __name__ == "__main__":
    main()
