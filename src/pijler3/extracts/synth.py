"""Synthetic extracts (KBI, VDAB werkzoekenden, VDAB acties) for the demo, tests and benchmarks.

The generator writes the three incoming extracts of DATA.md in their real formats, with
realistic distributions and with every kind of messiness the readers must handle, and it
records exactly what it planted (:class:`Planted`) so that a test can compare the
reader's findings with it.

Everything is drawn from one ``numpy.random.Generator(PCG64(seed))`` in a fixed order and
written without timestamps, so the same arguments give byte-identical files.

With ``population_end``, a delivery is a snapshot at its peildatum of one population drawn
for ``population_end``: deliveries with the same seed and ``population_end`` hold the same
people (and the same messy cells per person), each with what is known at its peildatum.

Planted counts use the reason codes of :mod:`pijler3.extracts.quality`, keyed ``reason:column`` or
``reason:column:label`` (column = canonical column name), and count what the reader of
an extract reports, cell by cell, over every row of the file (duplicate rows included):

- ``missing``: empty cells (nothing but white space counts as empty); for the INSZ
  column ``insz_missing`` instead.
- ``date_invalid`` / ``bool_invalid``: non-empty cells that are not a date / yes-no value.
- ``code_invalid:column:label``: non-empty cells of a coded column that match no label,
  per trimmed raw label.
- ``insz_format`` / ``insz_checksum`` / ``insz_serial``: refused INSZs by the reason
  :func:`pijler3.contract.insz.check` gives; ``insz_formatted``: valid INSZs written with
  separators; ``insz_bis``: valid BIS numbers (month 20..32 or 40..52).
- ``duplicate_insz`` (werkzoekenden): rows beyond the first per normalised INSZ, and
  ``action_unknown_type`` (acties): rows whose ``Actietype`` is filled in but invalid.
  These two are computed by the link step, not by the reader (an unknown action type is
  *also* a ``code_invalid`` of the reader); :meth:`Planted.reader_counts` leaves them out.

``Planted.checks`` holds counts that later steps report, counted on the valid cells of
the file (duplicate rows included, nothing linked): ``free_text_<kind>`` (the person's
own name, a phone number, an e-mail address, an INSZ or an IBAN typed into
``plo_reden``), ``after_peildatum:<column>``, ``contract_before_aanmelding``,
``toeleiding_before_aanmelding``, ``outflow_before_registration`` and ``vdab_not_in_kbi``
(VDAB rows of people absent from the KBI extract).

The generator is split by what each part draws: :mod:`~pijler3.extracts.synth_people`
(who the people are and what happened when), :mod:`~pijler3.extracts.synth_identifiers`
(made-up names, addresses and the free text holding them),
:mod:`~pijler3.extracts.synth_cells` (how each cell is spelled and what is planted) and
:mod:`~pijler3.extracts.synth_extracts` (the three extracts as tables). This module
writes them as files.

Synthetic data only: every name, address, phone number, e-mail address, INSZ and IBAN
is made up (e-mail domains are the reserved ``example.*`` names).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
import polars as pl

from pijler3.contract import codes
from pijler3.contract import protocol as protocol_mod
from pijler3.contract.protocol import Protocol
from pijler3.exchange.atomic import open_atomic, write_atomic
from pijler3.extracts.synth_cells import IntArray, Planted, Table
from pijler3.extracts.synth_extracts import build
from pijler3.extracts.synth_people import CONTRACT_START, SynthError

__all__ = [
    "CONTRACT_START",
    "DELIMITERS",
    "ENCODINGS",
    "FILE_NAMES",
    "FORMAT",
    "PERSONS_PER_CHUNK",
    "PLANTED_FILE",
    "Planted",
    "SynthError",
    "SynthResult",
    "generate",
    "generate_frames",
]

FORMAT = "pijler3-synth-planted/1"
FILE_NAMES = {"kbi": "kbi", "werkzoekenden": "vdab_werkzoekenden", "acties": "vdab_acties"}
PLANTED_FILE = "planted.json"
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252")
DELIMITERS = (";", ",")
_CHUNK = 200_000  # rows per CSV chunk: bounds memory when encoding a million rows
# Persons drawn at a time: a population of up to this many is drawn in one piece (the
# files of the tests and of the demo), a larger one in chunks of at most this many.
PERSONS_PER_CHUNK = 1_000_000


@dataclass(frozen=True)
class SynthResult:
    kbi: Path
    werkzoekenden: Path
    acties: Path
    planted: dict[str, Planted]
    planted_path: Path


def generate_frames(
    *,
    persons: int,
    peildatum: dt.date,
    seed: int,
    protocol: Protocol | None = None,
    population_end: dt.date | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict[str, Planted]]:
    """The three extracts as string tables (header labels as column names), and the plant.

    With ``population_end``, the extracts are the snapshot at ``peildatum`` of the
    ``persons`` people drawn for ``population_end`` (see :func:`generate`).
    """
    proto = protocol or protocol_mod.load()
    f = build(persons, peildatum, seed, proto, population_end)
    return f.frames["kbi"], f.frames["werkzoekenden"], f.frames["acties"], f.planted


def chunk_sizes(persons: int) -> list[int]:
    """How many persons each chunk draws: as few chunks as ``PERSONS_PER_CHUNK`` allows,
    of nearly equal size (so that no chunk is too small to hold a valid person)."""
    k = max(1, -(-persons // PERSONS_PER_CHUNK))  # one chunk of 0: build refuses it
    return [persons // k + (i < persons % k) for i in range(k)]


def _write_csv(
    df: pl.DataFrame, fh: BinaryIO, encoding: str, delimiter: str, *, header: bool
) -> None:
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    if header and encoding == "utf-8-sig":
        fh.write(b"\xef\xbb\xbf")
    for start in range(0, max(df.height, 1), _CHUNK):
        text = df.slice(start, _CHUNK).write_csv(
            include_header=header and start == 0,
            separator=delimiter,
            line_terminator="\r\n",
            quote_style="necessary",
            null_value="",
        )
        fh.write(text.encode(codec))


def _add(a: Planted, b: Planted) -> Planted:
    """The plant of two chunks of one extract."""
    counts = {k: a.counts.get(k, 0) + b.counts.get(k, 0) for k in a.counts | b.counts}
    checks = {k: a.checks.get(k, 0) + b.checks.get(k, 0) for k in a.checks | b.checks}
    return Planted(counts, checks, a.rows + b.rows)


def _write_xlsx(
    df: pl.DataFrame, table: Table, order: IntArray, path: Path, rng: np.random.Generator
) -> None:
    """Write one extract as XLSX: text cells, and native date cells for 70% of valid dates.

    The workbook is built in memory and then written atomically; its creation date is
    fixed so that the same arguments give the same bytes.
    """
    import xlsxwriter

    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buffer,
        {
            "constant_memory": True,
            # Everything is text as exported: "00" stays "00", an INSZ keeps its zeros.
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    wb.set_properties({"created": dt.datetime(2024, 1, 1), "author": "pijler3 synth"})
    date_fmt = wb.add_format({"num_format": "dd/mm/yyyy"})
    ws = wb.add_worksheet("Extract")
    for c, name in enumerate(df.columns):
        ws.write_string(0, c, name)
    native: dict[int, list[dt.date | None]] = {}
    for c, name in enumerate(df.columns):
        if name in table.native_dates:
            pick = table.native_dates[name][order] & (rng.random(df.height) < 0.7)
            native[c] = [
                codes.parse_date(v) if p else None
                for v, p in zip(df[name].to_list(), pick.tolist(), strict=True)
            ]
    columns = [df[name].to_list() for name in df.columns]
    for r in range(df.height):
        for c, col in enumerate(columns):
            day = native[c][r] if c in native else None
            if day is not None:
                ws.write_datetime(r + 1, c, day, date_fmt)
            elif col[r]:
                ws.write_string(r + 1, c, col[r])
    wb.close()
    with open_atomic(path) as fh:
        fh.write(buffer.getvalue())


def generate(
    out_dir: Path,
    *,
    persons: int,
    peildatum: dt.date,
    seed: int,
    fmt: Literal["csv", "xlsx"] = "csv",
    encoding: str = "utf-8",
    delimiter: str = ";",
    protocol: Protocol | None = None,
    population_end: dt.date | None = None,
) -> SynthResult:
    """Write the three extracts and ``planted.json`` into ``out_dir``.

    With ``population_end`` (on or after ``peildatum``), ``persons`` people are drawn as
    for a delivery at ``population_end`` and the extracts are their snapshot at
    ``peildatum``: the people with a contract by then, the VDAB registrations and actions
    known by then. Deliveries with the same seed and ``population_end`` are snapshots of
    one growing population (same INSZ, birth date, nationality, ... per person); the
    planted counts are those of the rows written.
    """
    if fmt not in ("csv", "xlsx"):
        raise SynthError(f"the file format must be csv or xlsx, not {fmt!r}.", param="fmt")
    if encoding not in ENCODINGS:
        raise SynthError(f"the encoding must be one of {', '.join(ENCODINGS)}.", param="encoding")
    if delimiter not in DELIMITERS:
        raise SynthError("the delimiter must be ';' or ','.", param="delimiter")
    proto = protocol or protocol_mod.load()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {key: out / f"{base}.{fmt}" for key, base in FILE_NAMES.items()}
    if fmt == "xlsx":
        if persons > PERSONS_PER_CHUNK:
            raise SynthError(
                f"an XLSX extract holds at most {PERSONS_PER_CHUNK:,} persons; use CSV.",
                param="persons",
            )
        f = build(persons, peildatum, seed, proto, population_end)
        xlsx_rng = np.random.Generator(np.random.PCG64([seed, 1]))
        for key, path in paths.items():
            _write_xlsx(f.frames[key], f.tables[key], f.orders[key], path, xlsx_rng)
        planted = f.planted
    else:
        planted = _generate_csv(paths, persons, peildatum, seed, proto, population_end,
                                encoding, delimiter)  # fmt: skip
    meta = {
        "format": FORMAT,
        "note": "Synthetic data: what the generator planted, for tests and benchmarks.",
        "persons": persons,
        "peildatum": peildatum.isoformat(),
        "seed": seed,
        # Only snapshots name it, so that the files of a plain run stay as they were.
        **({"population_end": population_end.isoformat()} if population_end else {}),
        "file_format": fmt,
        "encoding": encoding if fmt == "csv" else None,
        "delimiter": delimiter if fmt == "csv" else None,
        "extracts": {k: {"file": paths[k].name, **p.to_dict()} for k, p in planted.items()},
    }
    planted_path = out / PLANTED_FILE
    write_atomic(planted_path, (json.dumps(meta, ensure_ascii=False, indent=2) + "\n").encode())
    return SynthResult(
        kbi=paths["kbi"],
        werkzoekenden=paths["werkzoekenden"],
        acties=paths["acties"],
        planted=planted,
        planted_path=planted_path,
    )


def _generate_csv(
    paths: dict[str, Path],
    persons: int,
    peildatum: dt.date,
    seed: int,
    proto: Protocol,
    population_end: dt.date | None,
    encoding: str,
    delimiter: str,
) -> dict[str, Planted]:
    """Draw the population chunk by chunk and append each chunk's rows to the files.

    Only one chunk's tables are held at a time (about 3 GiB per million persons), so the
    memory stays bounded whatever the size; the files are written atomically.
    """
    planted: dict[str, Planted] = {}
    taken: list[IntArray] = []
    with contextlib.ExitStack() as stack:
        files = {key: stack.enter_context(open_atomic(path)) for key, path in paths.items()}
        for i, size in enumerate(chunk_sizes(persons)):
            used = np.sort(np.concatenate(taken)) if taken else None
            f = build(size, peildatum, seed, proto, population_end, chunk=i, taken=used)
            taken.append(f.used)
            for key, fh in files.items():
                _write_csv(f.frames[key], fh, encoding, delimiter, header=i == 0)
                planted[key] = _add(planted[key], f.planted[key]) if i else f.planted[key]
            del f
    return planted
