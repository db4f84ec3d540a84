"""ABB's audit log witnessed by AgII: receipts and destruction records, recorded.

Each ingest gives the researcher a signed receipt for AgII
(``WS/outbox/receipt-<delivery>-<size>.json``, :mod:`pijler3.steps.ingest`), and each
purge a signed destruction record (:mod:`pijler3.governance.retention`). Both carry the
researcher's latest signed audit checkpoint: the number of records of the log and the
hash of the last one. :func:`record` checks such a document in AgII's workspace and
keeps it, with an audit record. From then on, ``pijler3 audit verify --checkpoint`` run
on the researcher's log with the kept document proves that the log still begins with the
records the checkpoint vouched for: a log cut short, or rewritten from an earlier record
on, fails.

:func:`record` also compares the new checkpoint with those recorded before from the
same researcher: a checkpoint of fewer records than an earlier one, or of as many with
another head hash, means the log went backwards, and is refused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pijler3.contract.errors import GovernanceError
from pijler3.exchange import _crypto, audit, documents
from pijler3.exchange.workspace import Workspace
from pijler3.governance.retention import DESTRUCTION_FORMAT

RECEIPT_FORMAT = "pijler3-receipt/1"
RECORDED = "receipt.recorded"


@dataclass(frozen=True)
class Recorded:
    kind: str  # receipt or destruction
    researcher_key: str
    size: int  # the number of ABB's log records the checkpoint vouches for
    kept: Path  # AgII's copy


def receipts_dir(ws: Workspace) -> Path:
    return ws.root / "receipts"


def _body(path: Path, keys: list[str]) -> tuple[str, dict[str, Any], str]:
    doc = documents.read_document(path)
    body = doc.get("body")
    fmt = body.get("format") if isinstance(body, dict) else None
    kind = "destruction" if fmt == DESTRUCTION_FORMAT else "receipt"
    checked = documents.verify_document(
        doc, keys, str(path), fmt=DESTRUCTION_FORMAT if kind == "destruction" else RECEIPT_FORMAT
    )
    key = doc["signature"]["key"]
    return kind, checked, key


def record(ws: Workspace, path: Path, *, now: dt.datetime) -> Recorded:
    """Check a researcher's receipt or destruction record and keep its checkpoint.

    The document must be signed by a researcher of the protocol file, and its checkpoint
    by the same key. Raises :class:`~pijler3.contract.errors.GovernanceError` otherwise,
    or when the checkpoint shows the researcher's log went backwards.
    """
    protocol = ws.protocol()
    keys = [r.signing_key for r in protocol.recipients]
    kind, body, key = _body(path, keys)
    checkpoint = body.get("checkpoint")
    if not isinstance(checkpoint, dict):
        raise GovernanceError(f"{path}: carries no audit checkpoint.")
    try:
        audit.check_checkpoint(checkpoint, key)
    except audit.AuditError:
        raise GovernanceError(
            f"{path}: its audit checkpoint is not signed by the researcher who signed it."
        ) from None
    size, head = checkpoint["size"], checkpoint["head"]
    if not isinstance(size, int) or isinstance(size, bool) or not isinstance(head, str):
        raise GovernanceError(f"{path}: its audit checkpoint is malformed.")
    for earlier in audit.events(ws.audit_path):
        d = earlier.get("details", {})
        if earlier.get("event") != RECORDED or d.get("researcher_key") != key:
            continue
        if d.get("size", 0) > size or (d.get("size") == size and d.get("head") != head):
            raise GovernanceError(
                f"{path}: the researcher's audit log went backwards: this checkpoint vouches"
                f" for {size} records, one recorded earlier ({d.get('file')}) for"
                f" {d.get('size')}{' with another last record' if d.get('size') == size else ''}.",
                hint="Keep both documents as evidence and ask the researcher and ABB's DPO"
                " what happened to the log.",
            )
    kept = receipts_dir(ws) / f"{_crypto.fingerprint(key).split(':')[-1]}-{size:08d}-{path.name}"
    documents.write_document(kept, documents.read_document(path))
    ws.audit().append(
        RECORDED,
        {
            "kind": kind,
            "file": kept.name,
            "researcher_key": key,
            "delivery_id": body.get("delivery_id"),
            "size": size,
            "head": head,
        },
        now=now,
    )
    return Recorded(kind, key, size, kept)
