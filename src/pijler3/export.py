"""Step 1 (AgII): read the KBI extract, keep what may leave, seal it for VDAB.

Rows without a valid INSZ cannot be linked and never leave AgII: they go to a local
quarantine file by row number and reason only. Direct identifiers are dropped, and
``plo_reden`` is scrubbed of the person's own name, phone and e-mail and of anything
shaped like an INSZ, e-mail, phone number or IBAN.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pijler3 import dataset, package, quality, readers, scrub, transfer
from pijler3.atomic import write_atomic
from pijler3.workspace import Workspace

STEP = "export"
_OWN_VALUES = ("naam", "voornaam", "telefoon", "e_mail")


@dataclass(frozen=True)
class ExportResult:
    package: Path
    quarantine: Path
    delivery_id: str
    rows_read: int
    rows_sent: int
    quarantined: Counter[str]
    identifiers_removed: int


def scrub_free_text(table: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Scrub ``plo_reden`` row by row with the person's own values; count removals."""
    own_cols = [c for c in _OWN_VALUES if c in table.columns]
    texts = table["plo_reden"].to_list()
    owns = table.select(own_cols).rows() if own_cols else [()] * table.height
    removed = 0
    cleaned: list[str | None] = []
    for text, own in zip(texts, owns, strict=True):
        if text is None:
            cleaned.append(None)
            continue
        new, n = scrub.scrub(text, own)
        removed += n
        cleaned.append(new)
    return table.with_columns(pl.Series("plo_reden", cleaned, dtype=pl.String)), removed


def export(
    ws: Workspace,
    kbi: Path,
    *,
    peildatum: dt.date,
    now: dt.datetime,
    delivery_id: str | None = None,
    protocol_path: Path | None = None,
    progress: transfer.Progress = transfer.quiet,
) -> ExportResult:
    protocol = ws.protocol(protocol_path)
    transfer.check_in_force(ws, protocol, now.date())
    recipients = transfer.recipients_for(protocol, STEP)
    delivery_id = delivery_id or transfer.new_delivery_id(peildatum)
    progress(f"reading {kbi.name}")
    read = readers.read_extract(kbi, protocol.extracts["kbi"])
    table = read.table

    bad = table.filter(pl.col("insz").is_null())
    reasons = Counter(bad["insz_problem"].to_list())
    quarantine_csv = "rij;reden\n" + "".join(
        f"{row};{reason}\n" for row, reason in bad.select("_row", "insz_problem").rows()
    )
    good = table.filter(pl.col("insz").is_not_null())
    progress("removing identifiers from free text")
    good, removed = scrub_free_text(good)
    schema = dataset.export_schema(protocol)
    out = good.select(list(schema.names()))
    dataset.check_schema(out, schema, f"{kbi}")
    payload = dataset.to_parquet(out, "export")

    findings = quality.for_transfer(read.findings)
    findings += [
        quality.Finding(quality.DIRECT_IDENTIFIER_DROPPED, c, table.height).to_dict()
        for c in read.identifier_columns
    ]
    q = {
        "kbi": findings,
        "quarantined": dict(reasons),
        "identifiers_removed": removed,
        "rows_read": table.height,
    }
    log = ws.audit()
    quarantine_path = ws.quarantine / f"{delivery_id}.csv"
    write_atomic(quarantine_path, quarantine_csv.encode(), mode=0o600)
    out_path = transfer.outbox_path(ws, STEP, peildatum, delivery_id)
    m = transfer.manifest(
        protocol,
        step=STEP,
        peildatum=peildatum,
        delivery_id=delivery_id,
        now=now,
        row_count=out.height,
        schema_hash=dataset.schema_hash(schema),
        quality=q,
        checkpoint=log.checkpoint(now=now),
    )
    progress(f"encrypting and signing {out_path.name}")
    sealed = package.seal(out_path, payload, m, signing_key=ws.signing_key(), recipients=recipients)
    log.append(
        "export.sealed",
        {
            "delivery_id": delivery_id,
            "peildatum": peildatum.isoformat(),
            "package": out_path.name,
            "payload_sha256": sealed.payload_sha256,
            "rows_read": table.height,
            "rows_sent": out.height,
            "quarantined": sum(reasons.values()),
            "identifiers_removed": removed,
        },
        now=now,
    )
    return ExportResult(
        out_path, quarantine_path, delivery_id, table.height, out.height, reasons, removed
    )
