"""Step 4 (ABB): open a published package with the researcher's key, load the store.

Ingesting the same package twice changes nothing. A second package for a peildatum
already held is refused unless the user says it supersedes the first. The package is
kept in the workspace's archive until its delivery expires (retention, art. 3 and 6).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from pijler3 import audit, dataset, transfer
from pijler3.atomic import write_atomic
from pijler3.protocol import add_years
from pijler3.store import Store
from pijler3.workspace import Workspace

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
    protocol_path: Path | None = None,
    progress: transfer.Progress = transfer.quiet,
) -> IngestResult:
    protocol = ws.protocol(protocol_path)
    log = ws.audit()
    progress(f"verifying and decrypting {published.name}")
    manifest, payload = transfer.open_from(ws, published, protocol, STEP, now=now)
    transfer.check_in_force(ws, protocol, now.date())
    frame = dataset.from_parquet(payload, "monitoring")
    dataset.check_schema(frame, dataset.monitoring_schema(protocol), published.name)
    peildatum = dt.date.fromisoformat(manifest.peildatum)
    expires = add_years(now.date(), protocol.retention_years)
    archived = ws.archive / f"{manifest.delivery_id}.p3pkg"
    if not archived.exists():
        write_atomic(archived, published.read_bytes(), mode=0o600)
    progress("loading the analysis store")
    with Store(ws.store_path, protocol) as store:
        replaced = [
            d.delivery_id
            for d in store.deliveries()
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
