"""Receiving a package: what link, publish and ingest each do before their own work.

The term first (outside it nothing is accepted, not even decrypted), then the package is
opened with the workspace's key and checked against its signed manifest, and its
Parquet payload is read and checked against the protocol: the columns and types of the
step's table, the row count and peildatum the manifest states, and for the monitoring
dataset the values (DATA.md §3). A step that sends on also checks, before any work,
that the protocol file holds the keys of its own recipients.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pijler3.analysis import dataset
from pijler3.contract.protocol import Protocol
from pijler3.exchange import transfer
from pijler3.exchange.package import Manifest
from pijler3.exchange.workspace import Workspace
from pijler3.governance import termination

# The table each sending step's payload holds.
_TABLE = {"export": "export", "link": "monitoring", "publish": "monitoring"}


@dataclass(frozen=True)
class Received:
    """A package opened and checked: its signed manifest, its rows, and the decrypted
    Parquet bytes they were read from (which publish hands on unchanged)."""

    manifest: Manifest
    frame: pl.DataFrame
    payload: bytes

    @property
    def peildatum(self) -> dt.date:
        return self.manifest.peildatum


def check_in_force(ws: Workspace, protocol: Protocol, now: dt.datetime) -> None:
    """Refuse outside the protocol's term: every step calls this before anything else."""
    termination.check_in_force(ws, protocol, now.date())


def receive(
    ws: Workspace,
    protocol: Protocol,
    path: Path,
    *,
    sent_by: str,
    sends_on: str | None,
    now: dt.datetime,
    shown_as: Path | None = None,
    progress: transfer.Progress = transfer.quiet,
) -> Received:
    """Open the package of step ``sent_by`` at ``path`` and check it (see the module).

    ``sends_on`` is the receiving step when it seals a package in turn (its recipients'
    keys must be in the protocol file); ``shown_as`` is the name messages give the
    package when ``path`` is a private copy of it, made after the caller checked with
    :func:`pijler3.exchange.transfer.say_what_it_is` what the original is.
    """
    check_in_force(ws, protocol, now)
    named = shown_as or path
    progress(f"verifying and decrypting {named.name}")
    # A private copy (``shown_as``) was made of a file the caller has already named as
    # what it is: the copy is opened strictly, without reading it once more for that.
    told = shown_as is not None
    manifest, payload = transfer.open_from(ws, path, protocol, sent_by, now=now, told=told)
    if sends_on is not None:
        # Fail before any work when the protocol file lacks the recipients' keys.
        transfer.recipients_for(protocol, sends_on)
    table = _TABLE[sent_by]
    frame = dataset.from_parquet(payload, table)
    schema = (
        dataset.export_schema(protocol)
        if table == "export"
        else dataset.monitoring_schema(protocol)
    )
    dataset.check_schema(frame, schema, named.name)
    transfer.check_rows(manifest, frame, named)
    if table == "monitoring":
        dataset.check_values(frame, protocol, named.name)
    return Received(manifest, frame, payload)
