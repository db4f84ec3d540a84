"""Reading the synthetic extracts back reports exactly what the generator planted.

For each file format the reader's findings, tallied per (reason, column[, label]), must
equal :meth:`pijler3.extracts.synth.Planted.reader_counts`: nothing planted goes unreported and
nothing else is reported. Duplicate INSZs and unknown action types are link-step
findings and are not expected from the reader.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from pijler3.contract import insz, protocol
from pijler3.extracts import synth
from pijler3.extracts.readers import read_extract
from pijler3.extracts.synth_people import days, make_insz

PEIL = dt.date(2024, 6, 30)


def _reported(path: Path, extract: protocol.Extract) -> dict[str, int]:
    result = read_extract(path, extract)
    counts: Counter[str] = Counter()
    for f in result.findings:
        key = f"{f.reason}:{f.column}" + (f":{f.label}" if f.label is not None else "")
        counts[key] += f.count
    return dict(counts)


@pytest.mark.parametrize(
    ("fmt", "encoding", "delimiter", "persons"),
    [
        ("csv", "utf-8", ";", 3000),
        ("csv", "cp1252", ",", 3000),
        ("csv", "utf-8-sig", ",", 1000),
        ("xlsx", "utf-8", ";", 1500),
        ("csv", "utf-8", ";", 3),
        ("xlsx", "utf-8", ";", 3),
    ],
)
def test_reader_reports_exactly_the_planted_messiness(
    tmp_path: Path, fmt: str, encoding: str, delimiter: str, persons: int
) -> None:
    """Every planted finding is reported with its exact count, and nothing else."""
    proto = protocol.load()
    r = synth.generate(
        tmp_path,
        persons=persons,
        peildatum=PEIL,
        seed=persons,
        fmt=fmt,  # type: ignore[arg-type]
        encoding=encoding,
        delimiter=delimiter,
    )
    paths = {"kbi": r.kbi, "werkzoekenden": r.werkzoekenden, "acties": r.acties}
    for key, path in paths.items():
        assert _reported(path, proto.extracts[key]) == r.planted[key].reader_counts(), key


@pytest.mark.parametrize(
    ("fmt", "peildatum"),
    [("csv", dt.date(2026, 3, 31)), ("xlsx", dt.date(2026, 6, 30)), ("csv", dt.date(2026, 9, 30))],
)
def test_reader_reports_exactly_the_planted_messiness_of_a_snapshot(
    tmp_path: Path, fmt: str, peildatum: dt.date
) -> None:
    """A snapshot of a population that grows until population_end: the reader's findings
    equal the counts planted in the rows written, and nothing else."""
    proto = protocol.load()
    r = synth.generate(
        tmp_path,
        persons=1500,
        peildatum=peildatum,
        seed=8,
        fmt=fmt,  # type: ignore[arg-type]
        population_end=dt.date(2026, 9, 30),
    )
    paths = {"kbi": r.kbi, "werkzoekenden": r.werkzoekenden, "acties": r.acties}
    for key, path in paths.items():
        result = read_extract(path, proto.extracts[key])
        assert result.table.height == r.planted[key].rows, key
        assert _reported(path, proto.extracts[key]) == r.planted[key].reader_counts(), key


def test_reader_keeps_every_row_and_the_direct_identifiers_apart(tmp_path: Path) -> None:
    """Every generated row comes back as a row, and the KBI identifiers are recognised."""
    proto = protocol.load()
    r = synth.generate(tmp_path, persons=500, peildatum=PEIL, seed=9)
    for key, path in {"kbi": r.kbi, "werkzoekenden": r.werkzoekenden, "acties": r.acties}.items():
        result = read_extract(path, proto.extracts[key])
        assert result.table.height == r.planted[key].rows, key
    kbi = read_extract(r.kbi, proto.extracts["kbi"])
    assert len(kbi.identifier_columns) == len(proto.extracts["kbi"].direct_identifiers)


def test_a_population_drawn_in_chunks_is_read_back_as_planted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A population larger than a chunk (made small here) is drawn chunk by chunk: the
    files hold every chunk's rows after one header, every person has their own INSZ
    (no person of one chunk takes another's, VDAB-only people included, even with the
    birth days crowded), and the reader reports exactly the summed plant."""
    monkeypatch.setattr(synth, "PERSONS_PER_CHUNK", 700)
    proto = protocol.load()
    r = synth.generate(tmp_path, persons=2000, peildatum=PEIL, seed=3)
    assert synth.chunk_sizes(2000) == [667, 667, 666]
    paths = {"kbi": r.kbi, "werkzoekenden": r.werkzoekenden, "acties": r.acties}
    for key, path in paths.items():
        assert _reported(path, proto.extracts[key]) == r.planted[key].reader_counts(), key
    kbi = read_extract(r.kbi, proto.extracts["kbi"]).table
    assert kbi.height == r.planted["kbi"].rows
    valid = kbi["insz"].drop_nulls()
    assert valid.len() == valid.n_unique() > 1900
    wz = read_extract(r.werkzoekenden, proto.extracts["werkzoekenden"]).table
    assert wz.height == r.planted["werkzoekenden"].rows
    # Duplicate rows are planted within a chunk only: as many as planted, none across.
    planted_dups = r.planted["werkzoekenden"].counts.get("duplicate_insz:insz", 0)
    assert wz["insz"].drop_nulls().is_duplicated().sum() >= planted_dups
    dups = wz["insz"].drop_nulls().len() - wz["insz"].drop_nulls().n_unique()
    assert dups == planted_dups


def test_a_later_chunk_gives_bis_numbers_when_a_birth_day_is_full() -> None:
    """1,600 men born on one day, 300 of whose numbers an earlier chunk took: more than
    the 498 serial numbers of that day, so a later chunk moves them to BIS numbers
    (and, past those, to an unknown day). Each is valid by python-stdnum's rules (via
    insz.check), unique, and none is one already taken."""
    rng = np.random.default_rng(1)
    n = 1600
    birth = np.full(n, days(dt.date(1990, 5, 17)), dtype=np.int64)
    male = np.ones(n, bool)
    taken = np.sort(make_insz(rng, birth[:300], male[:300], ~male[:300]) // 100)
    got = make_insz(rng, birth, male, ~male, taken)
    first9 = got // 100
    assert len(np.unique(first9)) == n
    assert not np.isin(first9, taken).any()
    assert all(insz.check(f"{v:011d}")[1] is None for v in got.tolist())
    months = (first9 // 100_000) % 100
    assert (months >= 20).sum() > n - 498
