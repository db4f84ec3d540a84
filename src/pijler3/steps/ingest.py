"""Step 4 (ABB): open a published package with the researcher's key, load the store.

Ingesting the same package twice changes nothing. A second package for a peildatum
already held is refused unless the user says it supersedes the first. The package is
kept in the workspace's archive until its delivery expires (retention, art. 3 and 6).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pijler3.analysis.store import Store
from pijler3.contract.errors import PackageError, UserError
from pijler3.contract.protocol import Protocol, add_years
from pijler3.exchange import audit, transfer
from pijler3.exchange.atomic import fsync_dir, write_atomic
from pijler3.exchange.package import Manifest
from pijler3.exchange.workspace import Workspace
from pijler3.governance import retention
from pijler3.steps.receive import check_in_force, receive

STEP = "publish"


@dataclass(frozen=True)
class IngestResult:
    delivery_id: str
    peildatum: dt.date
    rows: int
    outcome: str  # loaded, unchanged or superseded
    expires_at: dt.date


def ingest(
    ws: Workspace,
    published: Path,
    *,
    now: dt.datetime,
    supersede: bool = False,
    progress: transfer.Progress = transfer.quiet,
) -> IngestResult:
    protocol = ws.protocol()
    # The term first: outside it nothing is accepted, not even decrypted.
    check_in_force(ws, protocol, now)
    # Verify a private copy, and archive exactly that copy: the file the user named may
    # change between our check and our copy.
    staging = ws.inbox / f".staging-{os.urandom(4).hex()}"
    staging.mkdir(mode=0o700, parents=True)
    staged = staging / published.name
    try:
        write_atomic(staged, published.read_bytes(), mode=0o600)
        try:
            got = receive(
                ws,
                protocol,
                staged,
                sent_by=STEP,
                sends_on=None,
                now=now,
                shown_as=published,
                progress=progress,
            )
        except PackageError:
            raise PackageError(str(published)) from None
        manifest, frame = got.manifest, got.frame
        _check_not_destroyed(ws, protocol, manifest.delivery_id, published)
        result = _load(ws, protocol, manifest, frame, staged, published, now, supersede, progress)
    finally:
        staged.unlink(missing_ok=True)
        staging.rmdir()
    return result


def _load(
    ws: Workspace,
    protocol: Protocol,
    manifest: Manifest,
    frame: pl.DataFrame,
    staged: Path,
    published: Path,
    now: dt.datetime,
    supersede: bool,
    progress: transfer.Progress,
) -> IngestResult:
    log = ws.audit()
    peildatum = manifest.peildatum
    # Retention runs from receipt, but never from later than the day AgII made the
    # package: an old package ingested late (or again) gets no fresh five years.
    made = manifest.created.date()
    expires = add_years(min(now.date(), made), protocol.retention_years)
    archived = ws.archive / f"{manifest.delivery_id}.p3pkg"
    progress("loading the analysis store")
    with Store(ws.store_path, protocol) as store:
        held_before = store.deliveries()
        keys = {d.manifest.get("pseudonym_key_id") for d in held_before}
        if keys and keys != {manifest.pseudonym_key_id}:
            raise UserError(
                f"{published.name}: its pseudonyms are under another key than the deliveries"
                " held, so people could not be followed across them; nothing was loaded.",
                hint="Ask AgII and VDAB whether the pseudonymisation key was changed.",
            )
        replaced = [
            d.delivery_id
            for d in held_before
            if d.peildatum == peildatum and d.delivery_id != manifest.delivery_id
        ]
        outcome = store.load_delivery(
            frame,
            delivery_id=manifest.delivery_id,
            peildatum=peildatum,
            received_at=now,
            expires_at=expires,
            package_sha256=manifest.payload_sha256,
            manifest=manifest.to_dict(),
            supersede=supersede,
        )
        held = store.delivery(manifest.delivery_id)
    if held is not None:
        expires = held.expires_at
    # Archived only once the store holds the delivery (a refused package leaves nothing
    # behind), and from the copy that was verified.
    if not archived.exists():
        # The staged copy was written and synced in this workspace: a rename suffices.
        os.replace(staged, archived)
        fsync_dir(archived.parent)
    if outcome == "superseded":
        # The replaced delivery's package goes too: nothing of it stays at ABB.
        for old in replaced:
            (ws.archive / f"{old}.p3pkg").unlink(missing_ok=True)
    event = "ingest." + outcome
    if outcome == "unchanged" and not _recorded(ws, manifest.delivery_id):
        # A crash after the store's commit but before the audit append (kill -9, power
        # loss) leaves the delivery held without its record: write it now.
        event = "ingest.loaded"
    log.append(
        event,
        {
            "delivery_id": manifest.delivery_id,
            "peildatum": peildatum.isoformat(),
            "package": published.name,
            "payload_sha256": manifest.payload_sha256,
            "rows": frame.height,
            "expires_at": expires.isoformat(),
            "replaced": replaced if outcome == "superseded" else [],
            "recovered": event != "ingest." + outcome,
        },
        now=now,
    )
    return IngestResult(manifest.delivery_id, peildatum, frame.height, outcome, expires)


def _recorded(ws: Workspace, delivery_id: str) -> bool:
    """Whether the audit log records that this delivery was loaded."""
    return any(
        r.get("event") in ("ingest.loaded", "ingest.superseded")
        and r.get("details", {}).get("delivery_id") == delivery_id
        for r in audit.events(ws.audit_path)
    )


def _check_not_destroyed(
    ws: Workspace, protocol: Protocol, delivery_id: str, published: Path
) -> None:
    """A delivery destroyed at the end of its retention is never loaded again."""
    for record in sorted((ws.root / "destruction").glob("*.json")):
        body = retention.verify_record(record, protocol)
        if any(d.get("delivery_id") == delivery_id for d in body.get("deliveries", [])):
            raise UserError(
                f"{published.name}: delivery {delivery_id} was destroyed at the end of its"
                f" retention ({record.name}); it is not loaded again (art. 3 and 6)."
            )
