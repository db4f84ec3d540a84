"""Step 3 (AgII): check VDAB's linked dataset against the protocol, seal it for ABB.

Checks, in order: the package is VDAB's and intact; the protocol is in force; the
columns and types are exactly DATA.md §3; no text column holds anything shaped like an
INSZ, e-mail address, phone number or IBAN, and no free-text column a word that export's
allow-list would have removed (the same rule, :func:`pijler3.exchange.scrub.count_uncommon_words`,
persons told apart by their pseudonym); the re-identification risk passes the gate of
the protocol file (or is recorded as a warning when the protocol says so).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from pijler3.analysis import dataset, risk
from pijler3.contract.errors import UserError
from pijler3.contract.protocol import Protocol
from pijler3.exchange import scrub, transfer
from pijler3.exchange.package import Manifest
from pijler3.exchange.workspace import Workspace
from pijler3.extracts import quality
from pijler3.steps.receive import receive

STEP = "publish"
UNCOMMON_WORD = "uncommon word"


@dataclass(frozen=True)
class PublishResult:
    package: Path
    delivery_id: str
    rows: int
    risk: risk.RiskReport
    warnings: tuple[str, ...]


def scan_text_columns(frame: pl.DataFrame, protocol: Protocol) -> Counter[tuple[str, str]]:
    """Count what may not travel, per (column, kind), in every text column.

    Kinds: ``iban``, ``email``, ``insz``, ``phone`` (values of that shape, on the
    normalised text), and, in the free-text fields of the protocol, ``uncommon word``
    (words the allow-list of export would have removed: used by fewer than
    ``free_text.min_persons`` persons, or holding a digit).
    """
    found: Counter[tuple[str, str]] = Counter()
    text_cols = [f.name for f in protocol.fields if f.type == "text" and f.name != "pseudoniem"]
    for col in text_cols:
        for value in frame[col].drop_nulls().unique().to_list():
            for kind in scrub.find_identifiers(value):
                found[(col, kind)] += 1
    for f in protocol.fields:
        if f.free_text and f.name in frame.columns:
            n = scrub.count_uncommon_words(
                frame,
                person="pseudoniem",
                text=f.name,
                min_persons=protocol.free_text.min_persons,
            )
            if n:
                found[(f.name, UNCOMMON_WORD)] = n
    return found


def publish(
    ws: Workspace,
    link_package: Path,
    *,
    now: dt.datetime,
    progress: transfer.Progress = transfer.quiet,
) -> PublishResult:
    """Check VDAB's linked dataset and seal it for ABB's researchers; a refusal is
    recorded in the audit log with its reason code."""
    with transfer.refusals(ws, "publish", now, file=link_package.name):
        return _publish(ws, link_package, now=now, progress=progress)


def _publish(
    ws: Workspace,
    link_package: Path,
    *,
    now: dt.datetime,
    progress: transfer.Progress = transfer.quiet,
) -> PublishResult:
    protocol = ws.protocol()
    got = receive(
        ws, protocol, link_package, sent_by="link", sends_on=STEP, now=now, progress=progress
    )
    manifest, frame, peildatum, payload = got.manifest, got.frame, got.peildatum, got.payload
    schema = dataset.monitoring_schema(protocol)
    log = ws.audit()
    found = scan_text_columns(frame, protocol)
    if found:
        (col, kind), n = found.most_common(1)[0]
        if kind == UNCOMMON_WORD:
            what = (
                f"{n} word(s) used by fewer than {protocol.free_text.min_persons} persons "
                "or holding a digit"
            )
        else:
            article = "an" if kind in ("iban", "insz", "email") else "a"
            what = f"{n} value(s) shaped like {article} {kind}"
        log.append(
            "publish.refused",
            {
                "delivery_id": manifest.delivery_id,
                "reason": "uncommon_word_in_text"
                if kind == UNCOMMON_WORD
                else "identifier_in_text",
                "column": col,
                "kind": kind,
                "values": sum(found.values()),
            },
            now=now,
        )
        error = UserError(
            f"{link_package.name}: column '{col}' still holds {what} "
            f"({sum(found.values())} findings in all); nothing was published.",
            hint="Ask VDAB and the KBI administrators to clean the free text, then export again.",
            reason="identifier_in_text",
        )
        error.recorded = True
        raise error
    progress("measuring the re-identification risk")
    report = risk.measure(
        frame, protocol.risk, protocol.quasi_identifiers, protocol.sensitive_fields
    )
    try:
        warnings = risk.enforce(report, protocol.risk)
    except risk.RiskGateError as gate_error:
        log.append(
            "publish.refused",
            {"delivery_id": manifest.delivery_id, "reason": "risk_gate", "risk": report.to_dict()},
            now=now,
        )
        gate_error.recorded = True
        raise
    q = replace(
        quality.Quality.from_manifest(manifest.quality),
        consistency=quality.consistency(frame, peildatum),
        missing=quality.column_profile(frame),
    )
    gate = risk.RiskGate(report, tuple(warnings), protocol.risk.action)

    def record(path: Path, sealed: Manifest) -> None:
        log.append(
            "publish.sealed",
            {
                "delivery_id": manifest.delivery_id,
                "from_package": link_package.name,
                "package": path.name,
                "payload_sha256": sealed.payload_sha256,
                "rows": frame.height,
                "recipients": list(sealed.recipients),
                "risk_warnings": len(warnings),
            },
            now=now,
        )

    out_path, _ = transfer.seal_delivery(
        ws,
        protocol,
        STEP,
        payload,
        peildatum=peildatum,
        delivery_id=manifest.delivery_id,
        now=now,
        row_count=frame.height,
        schema_hash=dataset.schema_hash(schema),
        quality=q.to_manifest(),
        pseudonym_key_id=manifest.pseudonym_key_id,
        risk=gate.to_manifest(),
        extra={"vdab_checkpoint": manifest.audit_checkpoint, **dict(manifest.extra)},
        progress=progress,
        record=record,
    )
    return PublishResult(out_path, manifest.delivery_id, frame.height, report, tuple(warnings))
