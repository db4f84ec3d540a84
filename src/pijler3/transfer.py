"""What the four steps share: who sends each package, to whom, and its manifest."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pijler3 import terms
from pijler3.errors import PackageError, ProtocolError
from pijler3.package import Manifest
from pijler3.protocol import Protocol
from pijler3.workspace import Workspace

Progress = Callable[[str], None]


def quiet(message: str) -> None:
    """The default progress reporter: says nothing."""


def recipients_for(protocol: Protocol, step: str) -> list[str]:
    """The age recipients a step's package is encrypted to, from the protocol file."""
    to = protocol.steps[step].to
    if to == "recipients":
        keys = [r.age_recipient for r in protocol.recipients]
        if not keys:
            raise ProtocolError(
                f"{protocol.source_path}: the protocol names no recipients with keys (art. 4).",
                hint="Register each researcher with 'pijler3 protocol add-keys'.",
            )
        return keys
    key = protocol.parties[to].age_recipient
    if not key:
        raise ProtocolError(
            f"{protocol.source_path}: no public key for {protocol.parties[to].short}.",
            hint=f"Register it with 'pijler3 protocol add-keys --from <{to} workspace>'.",
        )
    return [key]


def sender_key(protocol: Protocol, step: str) -> str:
    """The Ed25519 public key of a step's sender, from the protocol file."""
    party = protocol.parties[protocol.steps[step].sender]
    if not party.signing_key:
        raise ProtocolError(
            f"{protocol.source_path}: no signing key for {party.short}.",
            hint=f"Register it with 'pijler3 protocol add-keys --from <{party.id} workspace>'.",
        )
    return party.signing_key


def termination_notice(ws: Workspace) -> dt.date | None:
    """The notice date of a termination recorded in this workspace, if any."""
    path = ws.root / "termination.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text("utf-8"))
    return dt.date.fromisoformat(data["notice_date"])


def check_in_force(ws: Workspace, protocol: Protocol, on: dt.date) -> None:
    """Raise unless the protocol is in force, honouring a signed termination record."""
    # Imported here: governance builds on this module.
    from pijler3 import governance

    recorded = governance.termination(ws)
    notice = recorded.notice_date if recorded else None
    terms.check_in_force(protocol, on, notice_date=notice)


def new_delivery_id(peildatum: dt.date) -> str:
    return f"{peildatum:%Y%m%d}-{os.urandom(4).hex()}"


def manifest(
    protocol: Protocol,
    *,
    step: str,
    peildatum: dt.date,
    delivery_id: str,
    now: dt.datetime,
    row_count: int,
    schema_hash: str,
    quality: dict[str, Any],
    checkpoint: dict[str, Any] | None,
    pseudonym_key_id: str | None = None,
    risk: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Manifest:
    return Manifest(
        protocol_id=protocol.id,
        protocol_version=protocol.version,
        step=step,
        sender=protocol.steps[step].sender,
        peildatum=peildatum.isoformat(),
        delivery_id=delivery_id,
        created=now.astimezone(dt.UTC).isoformat(),
        row_count=row_count,
        schema_hash=schema_hash,
        pseudonym_key_id=pseudonym_key_id,
        quality=quality,
        risk=risk,
        audit_checkpoint=checkpoint,
        extra=extra or {},
    )


def outbox_path(ws: Workspace, step: str, peildatum: dt.date, delivery_id: str) -> Path:
    return ws.outbox / f"{step}-{peildatum:%Y%m%d}-{delivery_id.split('-')[-1]}.p3pkg"


def open_from(
    ws: Workspace, path: Path, protocol: Protocol, step: str, *, now: dt.datetime
) -> tuple[Manifest, bytes]:
    """Open a package of ``step`` with this workspace's key, checking it was signed by
    that step's sender in the protocol file; a refusal is recorded in the audit log."""
    from pijler3 import package

    log = ws.audit()
    manifest, payload = package.open_package(
        path,
        identity=ws.identity(),
        sender_key=sender_key(protocol, step),
        expected_step=step,
        audit=log,
        now=now,
    )
    # The sender's latest signed checkpoint goes into our own log: evidence, held here,
    # of how far the sender's log reached when it sent this package.
    log.append(
        "package.opened",
        {
            "file": path.name,
            "step": step,
            "sender": manifest.sender,
            "delivery_id": manifest.delivery_id,
            "payload_sha256": manifest.payload_sha256,
            "sender_checkpoint": dict(manifest.audit_checkpoint or {}),
        },
        now=now,
    )
    return manifest, payload


def open_received(
    ws: Workspace, path: Path, protocol: Protocol, *, now: dt.datetime
) -> tuple[Manifest, bytes]:
    """Open any package this workspace may open, whatever step it comes from."""
    from pijler3 import package

    step = package.read_manifest(path).step
    if step not in ("export", "link", "publish"):
        raise PackageError(str(path))
    return open_from(ws, path, protocol, step, now=now)
