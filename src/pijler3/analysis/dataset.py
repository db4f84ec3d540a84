"""The tables that travel in packages, as Parquet with explicit types and a version.

The monitoring dataset's schema (DATA.md §3) is derived from the protocol's fields, so
the code never hard-codes a field list. Parquet files carry ``pijler3.format`` and
``pijler3.table`` in their key-value metadata.
"""

from __future__ import annotations

import hashlib
import io
import json

import polars as pl

from pijler3.contract import codes
from pijler3.contract.errors import UserError
from pijler3.contract.protocol import Extract, Protocol
from pijler3.extracts.quality import n_distinct

FORMAT = "pijler3-parquet/1"
_POLARS = {
    "text": pl.String,
    "code": pl.String,
    "insz": pl.String,
    "date": pl.Date,
    "bool": pl.Boolean,
}


def monitoring_schema(protocol: Protocol) -> pl.Schema:
    """The exact columns and types of the monitoring dataset."""
    return pl.Schema({f.name: _POLARS[f.type] for f in protocol.fields})


def export_schema(protocol: Protocol) -> pl.Schema:
    """What AgII sends VDAB: the protocol's KBI fields plus INSZ and birth date."""
    kbi: Extract = protocol.extracts["kbi"]
    kbi_fields = {f.name for f in protocol.fields if f.source == "KBI"}
    return pl.Schema(
        {
            c.name: _POLARS[c.type]
            for c in kbi.columns
            if c.name in kbi_fields or c.name in ("insz", "geboortedatum")
        }
    )


def schema_hash(schema: pl.Schema) -> str:
    """A short hash of column names and types, for the manifest."""
    text = json.dumps([[n, str(t)] for n, t in schema.items()])
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def to_parquet(frame: pl.DataFrame, table: str) -> bytes:
    """Parquet bytes with the format version and table name in the metadata.

    Written by Polars (in row groups, on all cores); :func:`from_parquet` also reads
    the files pyarrow wrote before. Zstandard at level 1 and without column statistics
    (min, max: no reader of a payload filters on them, since it is always read whole):
    for 12 million rows 6 s instead of 11 s, and the file is as small.
    """
    buf = io.BytesIO()
    frame.write_parquet(
        buf,
        compression="zstd",
        compression_level=1,
        statistics=False,
        metadata={"pijler3.format": FORMAT, "pijler3.table": table},
    )
    return buf.getvalue()


# What reading a damaged Parquet file raises: many kinds of errors, and Polars may also
# panic in a decoding thread, depending on which thread meets the damage first. A panic
# is a BaseException (pyo3's PanicException), so "except Exception" alone lets it through.
PARQUET_ERRORS: tuple[type[BaseException], ...] = (Exception, pl.exceptions.PanicException)


def from_parquet(data: bytes, table: str) -> pl.DataFrame:
    """Read Parquet bytes written by :func:`to_parquet`, checking version and table."""
    try:
        meta = pl.read_parquet_metadata(io.BytesIO(data))
        frame = pl.read_parquet(io.BytesIO(data))
    except PARQUET_ERRORS as exc:  # all mean "not our Parquet"
        raise UserError(
            f"the payload is not a readable Parquet file ({type(exc).__name__}).",
            reason="payload_format",
        ) from None
    if meta.get("pijler3.format") != FORMAT or meta.get("pijler3.table") != table:
        raise UserError(
            f"the payload is not a {table} table of format {FORMAT}.", reason="payload_format"
        )
    return frame


def check_schema(frame: pl.DataFrame, expected: pl.Schema, what: str) -> None:
    """Refuse a table whose columns or types differ from ``expected`` (art. 3)."""
    got = frame.schema
    extra = [n for n in got if n not in expected]
    missing = [n for n in expected if n not in got]
    if extra:
        raise UserError(
            f"{what}: column '{extra[0]}' is not a field of the protocol (art. 3).",
            hint="Only the protocol's fields may pass; ask the sender for a corrected file.",
            reason="schema",
        )
    if missing:
        raise UserError(f"{what}: the protocol's field '{missing[0]}' is missing.", reason="schema")
    if list(got) != list(expected):
        raise UserError(f"{what}: the columns are not in the protocol's order.", reason="schema")
    for name, dtype in expected.items():
        if got[name] != dtype:
            raise UserError(
                f"{what}: column '{name}' has type {got[name]}, the protocol says {dtype}.",
                reason="schema",
            )


def check_values(frame: pl.DataFrame, protocol: Protocol, what: str) -> None:
    """Refuse a monitoring dataset whose values break DATA.md §3, whoever signed it.

    Names and types are not enough: a pseudonym column holding INSZ numbers, or a coded
    column holding names, would pass them. Checked here: every pseudonym is the hex of
    ``pseudonym_bits`` and unique; every coded value is a code of its list. (That every
    row has the manifest's peildatum, :func:`pijler3.exchange.transfer.check_rows` checks
    for every payload first.)
    """
    width = protocol.pseudonym_bits // 4
    coded = [
        (f.name, f.codelist) for f in protocol.fields if f.type == "code" and f.codelist is not None
    ]
    # One pass over the frame, the checks side by side (Polars runs them in parallel).
    row = frame.select(
        (~pl.col("pseudoniem").str.contains(f"^[0-9a-f]{{{width}}}$"))
        .fill_null(True)
        .sum()
        .alias(" bad"),
        *[pl.col(name).drop_nulls().unique().implode() for name, _ in coded],
    ).row(0)
    bad, values = int(row[0]), row[1:]
    if bad:
        raise UserError(
            f"{what}: {bad} value(s) of 'pseudoniem' are not {width}-digit keyed pseudonyms;"
            " nothing was accepted.",
            hint="Ask the sender for a package made by pijler3 link.",
            reason="pseudonym_format",
        )
    if n_distinct(frame["pseudoniem"]) != frame.height:
        raise UserError(
            f"{what}: 'pseudoniem' repeats; one row per person is required.",
            reason="duplicate_pseudonyms",
        )
    for (name, codelist), held in zip(coded, values, strict=True):
        allowed = set(codes.codelist(codelist).codes)
        stray = [v for v in held if v not in allowed]
        if stray:
            raise UserError(
                f"{what}: column '{name}' holds {len(stray)} value(s) that are not codes"
                f" of the list '{codelist}'; nothing was accepted.",
                reason="code_invalid",
            )
