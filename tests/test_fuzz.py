"""Fuzzing (issue 11): broken input is refused with a UserError, never a traceback, and a
refusal writes nothing but its audit record.

A seeded mutator works over small valid files, so that every failure can be replayed
from its seed and index:

- 1,000 broken extracts for each reader (KBI, werkzoekenden and acties as CSV, KBI as
  XLSX): bytes flipped, inserted, deleted or repeated; lines dropped, doubled or cut;
  cells made huge; and, for the XLSX, the members of the ZIP changed;
- 1,000 mutated packages for each opening step (link, publish, ingest): raw byte
  changes (which the signature catches), manifests changed and signed again with the
  real sender's key (a faulty sender), and payloads changed and sealed again (Parquet
  bytes flipped, rows doubled, columns dropped or retyped).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import os
import random
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from test_retention import NOW0, World, make_world

from pijler3.analysis import dataset
from pijler3.contract import protocol as protocol_mod
from pijler3.contract.errors import UserError
from pijler3.exchange import _crypto, package, transfer
from pijler3.extracts import readers, synth
from pijler3.steps import export, ingest, link, publish

CASES = int(os.environ.get("FUZZ_CASES", "1000"))
PEILDATUM = dt.date(2024, 2, 29)
AT = NOW0 + dt.timedelta(days=1)

_NASTY = [b";", b",", b'"', b"\n", b"\r\n", b"\x00", b"\xff", b"\xe9", b"\xc3", b"\xef\xbb\xbf"]


def _mutate_bytes(rng: random.Random, data: bytes) -> bytes:  # noqa: C901, PLR0912
    """One to three random changes of a byte string (one branch per kind of change, kept
    together so that the seeded sequence of mutations reads as one list)."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(8)
        pos = rng.randrange(len(out) + 1) if out else 0
        if kind == 0 and out:  # flip a byte
            out[min(pos, len(out) - 1)] ^= 1 << rng.randrange(8)
        elif kind == 1:  # insert something nasty
            out[pos:pos] = rng.choice(_NASTY) * rng.randint(1, 3)
        elif kind == 2:  # delete a range
            del out[pos : pos + rng.randint(1, 64)]
        elif kind == 3:  # truncate
            del out[pos:]
        elif kind == 4:  # repeat a range
            out[pos:pos] = out[pos : pos + rng.randint(1, 200)]
        elif kind == 5:  # random bytes
            out[pos:pos] = rng.randbytes(rng.randint(1, 16))
        elif kind == 6:  # a huge cell
            out[pos:pos] = b"x" * rng.choice([1000, 140_000])
        else:  # drop, double or swap lines
            lines = bytes(out).split(b"\n")
            if len(lines) > 2:
                i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
                choice = rng.randrange(3)
                if choice == 0:
                    del lines[i]
                elif choice == 1:
                    lines.insert(i, lines[j])
                else:
                    lines[i], lines[j] = lines[j], lines[i]
            out = bytearray(b"\n".join(lines))
    return bytes(out)


def _mutate_xlsx(rng: random.Random, data: bytes) -> bytes:
    """Half the time raw bytes; else one member of the workbook changed, then re-zipped."""
    if rng.random() < 0.5:
        return _mutate_bytes(rng, data)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        members = {name: z.read(name) for name in z.namelist()}
    name = rng.choice(sorted(members))
    if rng.random() < 0.1:
        del members[name]
    else:
        members[name] = _mutate_bytes(rng, members[name])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, content in members.items():
            z.writestr(n, content)
    return buf.getvalue()


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` but the audit log, with size and modification time."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith("audit.jsonl")
    }


@pytest.fixture(scope="module")
def extracts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fuzz-extracts")
    csv = synth.generate(root / "csv", persons=12, peildatum=PEILDATUM, seed=11)
    xlsx = synth.generate(root / "xlsx", persons=12, peildatum=PEILDATUM, seed=11, fmt="xlsx")
    return {
        "kbi": csv.kbi,
        "werkzoekenden": csv.werkzoekenden,
        "acties": csv.acties,
        "kbi-xlsx": xlsx.kbi,
    }


@pytest.mark.parametrize("reader", ["kbi", "werkzoekenden", "acties", "kbi-xlsx"])
def test_a_thousand_broken_extracts_give_errors_never_tracebacks(
    extracts: dict[str, Path], tmp_path: Path, reader: str
) -> None:
    source = extracts[reader]
    extract = protocol_mod.load().extracts[reader.split("-")[0]]
    mutate = _mutate_xlsx if reader.endswith("xlsx") else _mutate_bytes
    rng = random.Random(f"readers-{reader}")
    target = tmp_path / source.name
    crashes: list[str] = []
    refused = 0
    for i in range(CASES):
        target.write_bytes(mutate(rng, source.read_bytes()))
        try:
            readers.read_extract(target, extract)
        except UserError:
            refused += 1
        except Exception as exc:  # the point: anything else is a crash
            crashes.append(f"case {i}: {type(exc).__name__}: {exc}"[:300])
        assert sorted(p.name for p in tmp_path.iterdir()) == [source.name], i
    assert crashes == []
    # The mutator must break most files, or it tests nothing.
    assert refused > CASES // 2, refused


# -- packages ------------------------------------------------------------------------------


@dataclasses.dataclass
class Chain:
    world: World
    werkzoekenden: Path
    acties: Path
    packages: dict[str, Path]  # step -> a valid package of that step


@pytest.fixture(scope="module")
def small_chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    root = tmp_path_factory.mktemp("fuzz-chain")
    world = make_world(root / "w")
    ex = synth.generate(root / "ex", persons=60, peildatum=PEILDATUM, seed=4)
    e = export.export(world.agii, ex.kbi, peildatum=PEILDATUM, now=NOW0)
    li = link.link(world.vdab, e.package, ex.werkzoekenden, ex.acties, now=NOW0)
    p = publish.publish(world.agii, li.package, now=NOW0)
    keep = root / "valid"
    keep.mkdir()
    packages = {}
    for step, path in (("export", e.package), ("link", li.package), ("publish", p.package)):
        packages[step] = keep / path.name
        shutil.copy(path, packages[step])
    return Chain(world, ex.werkzoekenden, ex.acties, packages)


_SENDER = {"export": "agii", "link": "vdab", "publish": "agii"}
_TABLE = {"export": "export", "link": "monitoring", "publish": "monitoring"}


def _members(path: Path) -> dict[str, bytes]:
    return package._unpack(path.read_bytes())


def _random_json(rng: random.Random) -> Any:
    return rng.choice(
        [
            None,
            True,
            -1,
            0,
            2**70,
            1.5,
            "",
            "../../x",
            "2024-02-30",
            "20240229-zzzzzzzz",
            [],
            {},
            {"a": [1, {"b": None}]},
            json.loads("[" * 30 + "]" * 30),
            "x" * 5000,
        ]
    )


def _resigned_manifest(rng: random.Random, chain: Chain, step: str) -> bytes:
    """A valid package of ``step`` whose manifest was changed and signed again."""
    members = _members(chain.packages[step])
    raw = json.loads(members[package.MANIFEST])
    for _ in range(rng.randint(1, 2)):
        key = rng.choice(sorted(raw))
        choice = rng.randrange(4)
        if choice == 0:
            del raw[key]
        elif choice == 1:
            raw[f"extra_{rng.randrange(9)}"] = _random_json(rng)
        else:
            raw[key] = _random_json(rng)
    manifest = json.dumps(raw, sort_keys=True).encode()
    if rng.random() < 0.1:
        manifest = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
    key = getattr(chain.world, _SENDER[step]).signing_key()
    members[package.MANIFEST] = manifest
    members[package.SIGNATURE] = _crypto.sign(key, manifest)
    return package._pack(members)


def _resealed_payload(rng: random.Random, chain: Chain, step: str, out: Path) -> None:
    """A valid package of ``step`` whose payload was changed and sealed again."""
    sender = getattr(chain.world, _SENDER[step])
    recipient = chain.world.vdab if step == "export" else chain.world.agii
    if step == "publish":
        recipient = chain.world.abb
    protocol = sender.protocol()
    m, payload = package.open_package(
        chain.packages[step],
        identity=recipient.identity(),
        sender_key=transfer.sender_key(protocol, step),
        expected_step=step,
    )
    choice = rng.randrange(5)
    if choice == 0:
        payload = _mutate_bytes(rng, payload)
    else:
        frame = dataset.from_parquet(payload, _TABLE[step])
        if choice == 1:
            frame = pl.concat([frame, frame.head(rng.randint(1, 3))])
        elif choice == 2:
            frame = frame.drop(rng.choice(frame.columns))
        elif choice == 3:
            col = rng.choice(frame.columns)
            frame = frame.with_columns(pl.lit("Peeters Jan").alias(col))
        else:
            frame = frame.sample(fraction=1.0, shuffle=True, seed=rng.randrange(99)).head(
                rng.randint(0, frame.height)
            )
        payload = dataset.to_parquet(frame, _TABLE[step])
        if rng.random() < 0.5:
            m = dataclasses.replace(m, row_count=frame.height)
    package.seal(
        out,
        payload,
        m,
        signing_key=sender.signing_key(),
        recipients=transfer.recipients_for(protocol, step),
    )


def _mutated(rng: random.Random, chain: Chain, step: str, out: Path) -> None:
    kind = rng.random()
    if kind < 0.4:
        out.write_bytes(_mutate_bytes(rng, chain.packages[step].read_bytes()))
    elif kind < 0.7:
        out.write_bytes(_resigned_manifest(rng, chain, step))
    else:
        _resealed_payload(rng, chain, step, out)


@pytest.mark.parametrize("step", ["link", "publish", "ingest"])
def test_a_thousand_mutated_packages_give_errors_never_tracebacks_and_write_nothing(
    small_chain: Chain, tmp_path: Path, step: str
) -> None:
    world = small_chain.world
    opened = {"link": "export", "publish": "link", "ingest": "publish"}[step]
    ws = {"link": world.vdab, "publish": world.agii, "ingest": world.abb}[step]
    call: Callable[[Path], object] = {
        "link": lambda p: link.link(ws, p, small_chain.werkzoekenden, small_chain.acties, now=AT),
        "publish": lambda p: publish.publish(ws, p, now=AT),
        "ingest": lambda p: ingest.ingest(ws, p, now=AT),
    }[step]
    rng = random.Random(f"packages-{step}")
    crashes: list[str] = []
    written: list[str] = []
    refused = 0
    for i in range(CASES):
        pkg = tmp_path / f"{opened}-case.p3pkg"
        _mutated(rng, small_chain, opened, pkg)
        before = _tree(ws.root)
        try:
            call(pkg)
        except UserError:
            refused += 1
            after = _tree(ws.root)
            if after != before:
                changed = sorted(set(after.items()) ^ set(before.items()))
                written.append(f"case {i}: {changed[:3]}")
        except Exception as exc:  # the point: anything else is a crash
            crashes.append(f"case {i}: {type(exc).__name__}: {exc}"[:300])
    assert crashes == []
    assert written == []
    assert refused > CASES // 2, refused


def test_damaged_parquet_is_refused_never_a_polars_panic() -> None:
    # A signed package can still carry a damaged payload (a sender's bug). Polars may
    # then panic in a decoding thread; the panic is a BaseException, which the steps'
    # "except Exception" let through as a traceback. With this seed, byte changes in a
    # payload make 5 of 3,000 reads panic (cases 257, 675, 1356, 1513 and 2220).
    frame = pl.DataFrame(
        {
            "a": list(range(5000)),
            "b": [f"x{i % 37}" for i in range(5000)],
            "c": [i * 0.5 for i in range(5000)],
        }
    )
    data = dataset.to_parquet(frame, "monitoring")
    rng = random.Random(1)
    refused = 0
    for _ in range(3000):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(4, len(damaged) - 8)
            damaged[at] = rng.randrange(256)
        try:
            dataset.from_parquet(bytes(damaged), "monitoring")
        except UserError as e:
            assert "not a readable Parquet file" in str(e) or "not a monitoring table" in str(e)
            refused += 1
    assert refused > 800
