"""What the four steps share: who sends each package, to whom, and its manifest."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from pijler3.contract.errors import PackageError, ProtocolError, UserError
from pijler3.contract.protocol import Protocol
from pijler3.exchange import audit, package
from pijler3.exchange.package import Manifest
from pijler3.exchange.workspace import Workspace

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
            hint=f"Register the public keys of the {to} workspace in it (protocol add-keys).",
        )
    return [key]


def sender_key(protocol: Protocol, step: str) -> str:
    """The Ed25519 public key of a step's sender, from the protocol file."""
    party = protocol.parties[protocol.steps[step].sender]
    if not party.signing_key:
        raise ProtocolError(
            f"{protocol.source_path}: no signing key for {party.short}.",
            hint=f"Register the public keys of the {party.id} workspace in it (protocol add-keys).",
        )
    return party.signing_key


@contextmanager
def refusals(
    ws: Workspace, step: str, now: dt.datetime, **context: str
) -> Iterator[dict[str, str]]:
    """Record every refusal of a step in the audit log, with its reason code.

    On entry the moment ``now`` is checked against the log (a record never predates the
    one before it). Inside, any :class:`UserError` that is not in the log already
    becomes a ``<step>.refused`` record with ``reason`` (the error's code) and
    ``context`` (file names, a delivery id; never data), then propagates. The yielded
    dict is ``context``, so the step can add the delivery id once it knows it.
    """
    from pijler3.exchange.audit import AuditError

    try:
        ws.audit().check_time(now)
        yield context
    except UserError as exc:
        if not exc.recorded and not isinstance(exc, AuditError):
            try:
                ws.audit().append(f"{step}.refused", {"reason": exc.reason, **context}, now=now)
                exc.recorded = True
            except (UserError, OSError):
                # The log itself is what fails (unreadable, or dated after ``now``): the
                # refusal still stands and is shown; there is no place left to record it.
                pass
        raise


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
        peildatum=peildatum,
        delivery_id=delivery_id,
        created=now.astimezone(dt.UTC),
        row_count=row_count,
        schema_hash=schema_hash,
        pseudonym_key_id=pseudonym_key_id,
        quality=quality,
        risk=risk,
        audit_checkpoint=checkpoint,
        extra=extra or {},
    )


def seal_delivery(
    ws: Workspace,
    protocol: Protocol,
    step: str,
    payload: bytes,
    *,
    peildatum: dt.date,
    delivery_id: str,
    now: dt.datetime,
    row_count: int,
    schema_hash: str,
    quality: dict[str, Any],
    pseudonym_key_id: str | None = None,
    risk: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    progress: Progress = quiet,
    record: Callable[[Path, Manifest], None],
) -> tuple[Path, Manifest]:
    """Seal a step's payload for its recipients in the outbox, with the manifest and this
    workspace's latest signed audit checkpoint; returns the path and the manifest.

    ``record(path, manifest)`` writes the step's audit record; the package appears in
    the outbox only after it (see :func:`pijler3.exchange.package.seal`)."""
    out_path = outbox_path(ws, step, peildatum, delivery_id)
    m = manifest(
        protocol,
        step=step,
        peildatum=peildatum,
        delivery_id=delivery_id,
        now=now,
        row_count=row_count,
        schema_hash=schema_hash,
        quality=quality,
        checkpoint=ws.audit().checkpoint(now=now),
        pseudonym_key_id=pseudonym_key_id,
        risk=risk,
        extra=extra,
    )
    progress(f"encrypting and signing {out_path.name}")
    sealed = package.seal(
        out_path,
        payload,
        m,
        signing_key=ws.signing_key(),
        recipients=recipients_for(protocol, step),
        record=lambda sealed: record(out_path, sealed),
    )
    return out_path, sealed


def outbox_path(ws: Workspace, step: str, peildatum: dt.date, delivery_id: str) -> Path:
    return ws.outbox / f"{step}-{peildatum:%Y%m%d}-{delivery_id.split('-')[-1]}.p3pkg"


# What each step's package is, in a person's words, for the refusal of a wrong one.
_WHAT = {
    "export": "AgII's export for VDAB",
    "link": "VDAB's linked package for AgII",
    "publish": "AgII's published package for ABB's researchers",
    "share": "a share package for an onward recipient",
}
_TAR_NAME = 100  # the name field that opens a tar header


def say_what_it_is(path: Path, step: str, protocol: Protocol) -> None:
    """Refuse, in plain words, a file that is plainly not the package ``step`` sends:
    a path that does not exist, a file that is not a pijler3 package at all, or a
    package of another step (its manifest says so without any key). Anything else goes
    on to the strict opening, whose refusal stays opaque.
    """
    wanted = _WHAT.get(step, f"a {step} package")
    if not path.is_file():
        raise UserError(
            f"{path}: no such file.", hint=f"Give the path of {wanted}.", reason="missing_file"
        )
    if path.stat().st_size > protocol.limits.package_bytes:
        return  # the strict opening refuses it unread, as too large, and records why
    with path.open("rb") as f:
        head = f.read(_TAR_NAME)
    if head.split(b"\0", 1)[0] != package.MANIFEST.encode():
        raise UserError(
            f"{path.name}: not a pijler3 package (.p3pkg); nothing was accepted.",
            hint=f"Give {wanted}.",
            reason="not_a_package",
        )
    try:
        claimed = package.read_manifest(path, limits=protocol.limits).step
    except PackageError:
        return  # damaged or not ours: the strict opening refuses it, opaquely
    if claimed != step:
        raise UserError(
            f"{path.name}: its manifest says it is {_WHAT.get(claimed, claimed)}, not {wanted};"
            " nothing was accepted.",
            hint=f"Give {wanted}.",
            reason="wrong_step",
        )


def open_from(
    ws: Workspace,
    path: Path,
    protocol: Protocol,
    step: str,
    *,
    now: dt.datetime,
    told: bool = False,
) -> tuple[Manifest, bytes]:
    """Open a package of ``step`` with this workspace's key, checking it was signed by
    that step's sender in the protocol file; a refusal is recorded in the audit log.

    ``told``: the caller has already refused, in plain words, a file that is plainly not
    such a package (:func:`say_what_it_is`), so the file is not read an extra time here.
    """
    if not told:
        say_what_it_is(path, step, protocol)
    log = ws.audit()
    manifest, payload = package.open_package(
        path,
        identity=ws.identity(),
        sender_key=sender_key(protocol, step),
        expected_step=step,
        audit=log,
        now=now,
        limits=protocol.limits,
    )
    check_manifest(manifest, protocol, path, step)
    if manifest.audit_checkpoint:
        try:
            audit.check_checkpoint(manifest.audit_checkpoint, sender_key(protocol, step))
        except audit.AuditError:
            raise UserError(
                f"{path.name}: the sender's audit checkpoint in the manifest is not signed by"
                " the sender; nothing was accepted.",
                reason="sender_checkpoint",
            ) from None
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


_DELIVERY_ID = re.compile(r"\d{8}-[0-9a-f]{8}")


def check_manifest(manifest: Manifest, protocol: Protocol, path: Path, step: str) -> None:
    """Refuse a signed manifest whose claims do not fit this protocol.

    The signature proves who sent it, not that the sender's software was right: a
    package of another protocol, an impossible peildatum or a delivery id that is not
    ours would otherwise mix datasets, mislabel trends, or name files outside the
    workspace.
    """
    where = f"{path.name}:"
    if (manifest.protocol_id, manifest.protocol_version) != (protocol.id, protocol.version):
        raise UserError(
            f"{where} the package was made under protocol {manifest.protocol_id}"
            f" v{manifest.protocol_version}, not {protocol.identifier}; nothing was accepted.",
            hint="Each protocol's data stay apart; check which protocol file is in use.",
            reason="wrong_protocol",
        )
    if manifest.sender != protocol.steps[step].sender:
        raise UserError(
            f"{where} the manifest names the wrong sender for step '{step}'.",
            reason="wrong_sender",
        )
    if not _DELIVERY_ID.fullmatch(manifest.delivery_id):
        raise UserError(
            f"{where} the manifest's delivery id is not of the form YYYYMMDD-hex.",
            reason="delivery_id",
        )
    peildatum = manifest.peildatum
    created = manifest.created.date()
    if not protocol.signed <= peildatum <= created:
        raise UserError(
            f"{where} the peildatum {peildatum:%d/%m/%Y} lies before the protocol was signed"
            f" or after the package was made ({created:%d/%m/%Y}); nothing was accepted.",
            reason="peildatum_out_of_term",
        )


def check_rows(manifest: Manifest, frame: pl.DataFrame, path: Path) -> None:
    """Refuse a payload whose rows do not match what the signed manifest says."""
    if frame.height != manifest.row_count:
        raise UserError(
            f"{path.name}: the payload holds {frame.height} rows, the manifest says"
            f" {manifest.row_count}; nothing was accepted.",
            reason="row_count",
        )
    other_day = (pl.col("peildatum") != manifest.peildatum).fill_null(True).any()
    if "peildatum" in frame.columns and frame.select(other_day).item():
        raise UserError(
            f"{path.name}: the rows' peildatum differs from the manifest's.",
            reason="peildatum_mismatch",
        )


def open_received(
    ws: Workspace, path: Path, protocol: Protocol, *, now: dt.datetime
) -> tuple[Manifest, bytes]:
    """Open any package this workspace may open, whatever step it comes from."""
    log = ws.audit()
    step = package.read_manifest(path, limits=protocol.limits, audit=log, now=now).step
    if step not in ("export", "link", "publish"):
        details = {"reason": package.R_STEP, "file": path.name, "step": "any"}
        log.append(package.REFUSED, details, now=now)
        raise PackageError(str(path))
    return open_from(ws, path, protocol, step, now=now)
