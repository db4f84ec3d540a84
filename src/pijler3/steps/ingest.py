"""Step 4 (ABB): open a published package with the researcher's key, load the store.

Ingesting the same package twice changes nothing. A second package for a peildatum
already held is refused unless the user says it supersedes the first. The package is
kept in the workspace's archive until its delivery expires (retention, art. 3 and 6).
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from pijler3.analysis.store import Store
from pijler3.contract.dates import add_years
from pijler3.contract.errors import PackageError, UserError
from pijler3.contract.protocol import Protocol
from pijler3.exchange import audit, documents, package, transfer
from pijler3.exchange.atomic import fsync_dir
from pijler3.exchange.package import Manifest
from pijler3.exchange.workspace import Workspace
from pijler3.governance import receipts, retention
from pijler3.steps.receive import check_in_force, receive

STEP = "publish"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class IngestResult:
    delivery_id: str
    peildatum: dt.date
    rows: int
    outcome: str  # loaded, unchanged or superseded
    expires_at: dt.date
    receipt: Path | None = None  # the signed receipt for AgII (WS/outbox/receipt-*.json)


def ingest(
    ws: Workspace,
    published: Path,
    *,
    now: dt.datetime,
    supersede: bool = False,
    progress: transfer.Progress = transfer.quiet,
) -> IngestResult:
    with transfer.refusals(ws, "ingest", now, file=published.name) as context:
        protocol = ws.protocol()
        # What a killed ingest left in staging goes first: it is a decryptable copy.
        ws.clean_staging()
        # The term first: outside it nothing is accepted, not even decrypted.
        check_in_force(ws, protocol, now)
        # A wrong path or a plainly wrong file is named as such before any copy is made.
        transfer.say_what_it_is(published, STEP, protocol)
        # Verify a private copy, and archive exactly that copy: the file the user named
        # may change between our check and our copy.
        with ws.staging() as staging:
            staged = staging / published.name
            _stage(ws, published, staged, protocol.limits.package_bytes, now)
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
            context["delivery_id"] = manifest.delivery_id
            _check_not_destroyed(ws, protocol, manifest.delivery_id, published)
            result = _load(
                ws, protocol, manifest, frame, staged, published, now, supersede, progress
            )
    return _with_receipt(ws, protocol, manifest, result, now)


def _stage(ws: Workspace, source: Path, staged: Path, limit: int, now: dt.datetime) -> None:
    """Copy ``source`` to ``staged`` in chunks, refusing it past ``limit``.

    The size is checked on the open descriptor before a byte is copied, and again while
    copying (a file may grow), so a sparse 1 GiB file costs nothing. A refusal is
    recorded as ``package.refused`` (``too_large`` or ``unreadable``).
    """
    try:
        reason = _copy_bounded(source, staged, limit)
    except OSError:
        reason = package.R_UNREADABLE
    if reason is not None:
        details = {"reason": reason, "file": source.name, "step": STEP}
        if reason == package.R_TOO_LARGE:
            details["limit_bytes"] = str(limit)
        ws.audit().append(package.REFUSED, details, now=now)
        raise PackageError(str(source))


def _copy_bounded(source: Path, staged: Path, limit: int) -> str | None:
    """The copy itself; returns the reason it was refused, or None when complete."""
    src = os.open(source, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(src)
        if not stat.S_ISREG(info.st_mode):
            return package.R_UNREADABLE
        if info.st_size > limit:
            return package.R_TOO_LARGE
        out = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            copied = 0
            while chunk := os.read(src, _CHUNK):
                copied += len(chunk)
                if copied > limit:
                    return package.R_TOO_LARGE
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out, view) :]
            os.fsync(out)
        finally:
            os.close(out)
    finally:
        os.close(src)
    return None


def _with_receipt(
    ws: Workspace, protocol: Protocol, manifest: Manifest, result: IngestResult, now: dt.datetime
) -> IngestResult:
    """Write the signed receipt for AgII, carrying this log's latest checkpoint.

    AgII records it (:func:`pijler3.governance.receipts.record`): from then on a log cut
    or rewritten before that checkpoint fails ``audit verify`` against it.
    """
    checkpoint = ws.audit().checkpoint(now=now)
    body: dict[str, Any] = {
        "format": receipts.RECEIPT_FORMAT,
        "protocol_id": protocol.id,
        "protocol_version": protocol.version,
        "researcher": ws.name,
        "delivery_id": result.delivery_id,
        "peildatum": result.peildatum.isoformat(),
        "payload_sha256": manifest.payload_sha256,
        "outcome": result.outcome,
        "rows": result.rows,
        "expires_at": result.expires_at.isoformat(),
        "received_at": now.astimezone(dt.UTC).isoformat(),
        "checkpoint": checkpoint,
    }
    doc = documents.sign_document(body, ws.signing_key())
    path = ws.outbox / f"receipt-{result.delivery_id}-{checkpoint['size']:06d}.json"
    documents.write_document(path, doc)
    return IngestResult(
        result.delivery_id,
        result.peildatum,
        result.rows,
        result.outcome,
        result.expires_at,
        receipt=path,
    )


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
                reason="pseudonym_key",
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
                f" retention ({record.name}); it is not loaded again (art. 3 and 6).",
                reason="destroyed",
            )
