"""The append-only, hash-chained audit log of a workspace (protocol art. 6).

One JSON record per line (JSONL), each line the canonical JSON of the record (sorted
keys, no spaces, UTF-8) followed by ``\\n``::

    {"actor":"agii","at":"2025-01-31T10:00:00+00:00","details":{...},"event":"...",
     "hash":"<hex>","prev":"<hex>","seq":1,"v":"pijler3-audit/1"}

- ``seq`` counts records from 1 without gaps;
- ``prev`` is the ``hash`` of the previous record (64 zeros for the first). Because a
  line must be exactly the canonical form of its record and ``hash`` covers every
  other field, this binds the whole previous line;
- ``hash`` is the hex SHA-256 of the canonical JSON of the record without ``hash``.

So an edited, deleted, reordered or inserted record breaks the chain at a line that
:func:`verify` names. Rewriting the log from some record onwards, or cutting off its
tail, keeps the chain intact; that is what checkpoints are for. A checkpoint
(:meth:`AuditLog.checkpoint`) is ``{"v","size","head","at","key","signature"}``: the
number of records, the hash of record ``size``, and an Ed25519 signature by the
workspace's key. Hand it to someone else (a package manifest carries one): given it,
:func:`verify` proves that the log still starts with those ``size`` records.

Torn appends. An append writes its whole line with one ``write`` and then fsyncs,
under an exclusive ``flock`` on ``<log>.lock``. A crash can still cut that write
short, leaving a final line without its ``\\n``. The rule:

- a final line without ``\\n`` is a *torn tail*. :func:`verify` tolerates it and
  reports it (``VerifyResult.torn_tail``); any other defect is an :class:`AuditError`;
- if the torn tail is exactly a complete record in canonical form that chains to the
  record before it (next ``seq``, ``prev`` is that record's hash, its own hash
  verifies), only the newline is missing. :func:`verify` says so
  (``VerifyResult.torn_tail_complete``) and the next :meth:`AuditLog.append` restores
  the newline, keeping the record, and records an ``audit.repaired`` event
  (``reason: newline_restored``). The record is kept because nothing can tell a crash
  before the last byte from someone deleting one byte, and cutting a valid record off
  would let that single byte make the tool itself erase history;
- any other torn tail is an unfinished append that was never acknowledged (``append``
  had not returned), so it is not part of the log. The next append first copies the
  torn bytes to a side file ``<log>.torn-<n>`` (owner-only, never overwritten), then
  truncates them and records an ``audit.repaired`` event (``reason: torn_append``,
  with the number of bytes removed and the side file's name), then appends its own
  record. Nothing is removed without a copy. The log then verifies without the
  tolerance. (A crash between the repair and its record loses the repair record
  only; the log still verifies and the side file still holds the removed bytes.)

Details never hold a person's value (INSZ, name, pseudonym, birth date): only counts,
reason codes, file names, hashes, key fingerprints and identifiers of deliveries.
:meth:`AuditLog.append` refuses a value that has the shape of an INSZ as a last line of
defence; the rule itself is the caller's.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import fcntl
import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pijler3.contract.errors import UserError
from pijler3.exchange import _crypto
from pijler3.exchange.atomic import append_durable, fsync_dir

VERSION = "pijler3-audit/1"
CHECKPOINT_VERSION = "pijler3-audit-checkpoint/1"
GENESIS = "0" * 64
REPAIRED = "audit.repaired"

_FIELDS = frozenset({"v", "seq", "at", "event", "actor", "details", "prev", "hash"})
_CHECKPOINT_FIELDS = frozenset({"v", "size", "head", "at", "key", "signature"})
_HEX64 = re.compile(r"[0-9a-f]{64}")
# An INSZ or BIS number, bare or written with the usual separators.
_INSZ_SHAPE = re.compile(r"\d{2}[. ]?\d{2}[. ]?\d{2}[-. ]?\d{3}[. ]?\d{2}")
_TAIL_CHUNK = 1 << 16


class AuditError(UserError):
    """The audit log does not verify; the message names the first bad line."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        where = f"{path}: line {line}" if line is not None else str(path)
        super().__init__(
            f"{where}: {problem}.",
            hint="Keep this copy of the log as evidence and compare it with its backup "
            "and with the last checkpoint another party holds.",
        )
        self.line = line
        self.problem = problem


class ClockError(UserError):
    """The moment given lies before the audit log's last record."""

    default_reason = "clock"


@dataclass(frozen=True)
class Record:
    """One audit record, as written."""

    v: str
    seq: int
    at: str
    event: str
    actor: str
    details: Mapping[str, Any]
    prev: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": self.v,
            "seq": self.seq,
            "at": self.at,
            "event": self.event,
            "actor": self.actor,
            "details": dict(self.details),
            "prev": self.prev,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify` established."""

    size: int  # complete records in the log
    head: str  # hash of the last complete record (GENESIS for an empty log)
    torn_tail: bool  # a final line without newline was found (see the module doc)
    checkpoint_size: int | None = None  # the size the checkpoint vouched for, if given
    # The torn tail is a complete, chained record missing only its newline; it is not
    # counted in ``size``, and the next append keeps it by restoring the newline.
    torn_tail_complete: bool = False

    @property
    def records(self) -> int:
        """The number of complete records (the same as ``size``)."""
        return self.size


def canonical(obj: Mapping[str, Any]) -> bytes:
    """The canonical JSON of a record or checkpoint: the bytes that are hashed/signed."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _record_hash(obj: Mapping[str, Any]) -> str:
    return _crypto.sha256(canonical({k: v for k, v in obj.items() if k != "hash"}))


def _check_details(value: Any, where: str = "details") -> None:
    """Refuse details that are not plain JSON or that look like a person's INSZ."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: keys must be strings")
            _check_details(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_details(item, f"{where}[{i}]")
    elif isinstance(value, str):
        if _INSZ_SHAPE.fullmatch(value.strip()):
            raise ValueError(f"{where}: looks like an INSZ; audit details never hold one")
    elif value is not None and not isinstance(value, bool | int | float):
        raise TypeError(f"{where}: {type(value).__name__} is not a JSON value")


class AuditLog:
    """The audit log of one workspace, written by one actor (a role: agii, vdab, abb).

    ``signing_key`` (raw Ed25519) signs checkpoints; without it checkpoints are
    unsigned. Several processes may append to the same log: appends are serialised
    by an exclusive lock on ``<log>.lock``.
    """

    def __init__(self, path: Path | str, *, actor: str, signing_key: bytes | None) -> None:
        self.path = Path(path)
        self.actor = actor
        self._signing_key = signing_key
        self._lock_path = self.path.with_name(self.path.name + ".lock")

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def append(self, event: str, details: Mapping[str, Any], *, now: dt.datetime) -> Record:
        """Append one record and make it durable before returning it.

        ``details`` is a JSON object of counts, reason codes, file names, hashes and
        identifiers. It must NEVER hold a person's value (INSZ, name, pseudonym, birth
        date); a value shaped like an INSZ is refused with ValueError.
        """
        _check_details(details)
        with self._locked():
            self._check_time(now)
            seq, head = self._repair_and_head(now)
            return self._write(seq + 1, head, event, details, now)

    def check_time(self, now: dt.datetime) -> None:
        """Raise :class:`ClockError` when ``now`` lies before the log's last record.

        A log whose records go back in time could hide a backdated ingest after a purge;
        a step checks this before it does any work, and every append checks it again.
        """
        with self._locked():
            self._check_time(now)

    def _check_time(self, now: dt.datetime) -> None:
        last = _last_time(self.path)
        if last is not None and now < last:
            raise ClockError(
                f"{self.path}: the moment given ({_iso(now)}) is earlier than the last record"
                f" of the audit log ({last.isoformat()}); a record never predates the one"
                " before it.",
                hint="Give the current date and time, or a later one.",
            )

    def checkpoint(self, *, now: dt.datetime) -> dict[str, Any]:
        """A signed statement of the log's current size and head hash.

        A torn final append is not counted (it is not part of the log).
        """
        with self._locked():
            size, head, _ = _last_complete(self.path)
        body: dict[str, Any] = {
            "v": CHECKPOINT_VERSION,
            "size": size,
            "head": head,
            "at": _iso(now),
            "key": None,
        }
        if self._signing_key is None:
            return {**body, "signature": None}
        body["key"] = _crypto.public_key_of(self._signing_key)
        signature = _crypto.sign(self._signing_key, canonical(body))
        return {**body, "signature": base64.b64encode(signature).decode("ascii")}

    def _repair_and_head(self, now: dt.datetime) -> tuple[int, str]:
        size, head, torn_at = _last_complete(self.path)
        if torn_at is None:
            return size, head
        fd = os.open(self.path, os.O_RDONLY)
        try:
            tail = os.pread(fd, os.fstat(fd).st_size - torn_at, torn_at)
        finally:
            os.close(fd)
        restored = _complete_record(self.path, tail, size + 1, head)
        if restored is not None:
            # Only the newline is missing: restore it so that the record stays.
            append_durable(self.path, b"\n")
            size, head = size + 1, restored
            details: dict[str, Any] = {"reason": "newline_restored", "seq": size}
        else:
            saved = self._save_torn(tail)
            fd = os.open(self.path, os.O_WRONLY)
            try:
                os.ftruncate(fd, torn_at)
                os.fsync(fd)
            finally:
                os.close(fd)
            fsync_dir(self.path.parent)
            details = {"reason": "torn_append", "bytes": len(tail), "saved_to": saved.name}
        repaired = self._write(size + 1, head, REPAIRED, details, now)
        return repaired.seq, repaired.hash

    def _save_torn(self, tail: bytes) -> Path:
        """Copy torn bytes to a new owner-only side file before they are cut off.

        The copy is durable before the caller truncates, so a crash in between leaves
        the bytes in both places rather than in neither. An existing side file is
        never overwritten: the first free ``<log>.torn-<n>`` is used.
        """
        n = 1
        while True:
            side = self.path.with_name(f"{self.path.name}.torn-{n}")
            try:
                fd = os.open(side, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                n += 1
                continue
            break
        try:
            view = memoryview(tail)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(self.path.parent)
        return side

    def _write(
        self, seq: int, prev: str, event: str, details: Mapping[str, Any], now: dt.datetime
    ) -> Record:
        body: dict[str, Any] = {
            "v": VERSION,
            "seq": seq,
            "at": _iso(now),
            "event": event,
            "actor": self.actor,
            "details": dict(details),
            "prev": prev,
        }
        digest = _record_hash(body)
        append_durable(self.path, canonical({**body, "hash": digest}) + b"\n")
        return Record(**body, hash=digest)


def _iso(now: dt.datetime) -> str:
    if now.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return now.astimezone(dt.UTC).isoformat()


def _last_time(path: Path) -> dt.datetime | None:
    """The time of the log's last complete record, or None for an empty log."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        pos, buf = size, b""
        while True:
            end = buf.rfind(b"\n")
            start = buf.rfind(b"\n", 0, end) + 1 if end >= 0 else -1
            if end >= 0 and (start > 0 or pos == 0):
                break
            if pos == 0:
                return None
            step = min(_TAIL_CHUNK, pos)
            pos -= step
            buf = os.pread(fd, step, pos) + buf
    finally:
        os.close(fd)
    try:
        at = json.loads(buf[start:end].decode("utf-8"))["at"]
        return dt.datetime.fromisoformat(at)
    except (ValueError, KeyError, TypeError, RecursionError):
        # An unreadable last record is reported by append and verify; not here.
        return None


def _last_complete(path: Path) -> tuple[int, str, int | None]:
    """(seq, hash) of the last complete record, and the offset of a torn tail if any.

    Reads the file backwards from its end, so an append costs the same however long
    the log grows.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return 0, GENESIS, None
    try:
        size = os.fstat(fd).st_size
        buf = b""
        pos = size
        while True:
            end = buf.rfind(b"\n")
            if end >= 0:
                start = buf.rfind(b"\n", 0, end) + 1
                if start > 0 or pos == 0:
                    break
            if pos == 0:
                # No newline at all: the whole file is one torn append.
                return 0, GENESIS, (0 if size else None)
            step = min(_TAIL_CHUNK, pos)
            pos -= step
            buf = os.pread(fd, step, pos) + buf
    finally:
        os.close(fd)
    torn_at = pos + end + 1 if end + 1 < len(buf) else None
    line = buf[start:end]
    line_no = None  # unknown without reading the whole file
    try:
        record = json.loads(line.decode("utf-8"))
        seq, digest = record["seq"], record["hash"]
        if not isinstance(seq, int) or not isinstance(digest, str):
            raise ValueError
    except (ValueError, KeyError, TypeError, RecursionError):
        raise AuditError(
            path, line_no, "the last record is unreadable, so nothing can be appended; run verify"
        ) from None
    return seq, digest, torn_at


# -- verification -----------------------------------------------------------------------


def verify(
    path: Path | str,
    *,
    public_key: str | None = None,
    checkpoint: Mapping[str, Any] | None = None,
) -> VerifyResult:
    """Check the whole log; raise :class:`AuditError` naming the first bad line.

    With ``checkpoint`` (held by someone else) it also proves that the log still begins
    with the ``size`` records the checkpoint vouched for: a cut-off tail or a rewritten
    history fails. ``public_key`` is the key the checkpoint must be signed with; without
    it, a signed checkpoint is checked only against the key it names itself, which
    proves integrity but not who made it.
    """
    log = Path(path)
    try:
        data = log.read_bytes()
    except OSError:
        raise AuditError(log, None, "the audit log cannot be read") from None
    lines = data.split(b"\n")
    tail = lines.pop()  # after the final newline: empty, or a torn tail
    torn = bool(tail)
    head = GENESIS
    hashes: list[str] = []
    for number, line in enumerate(lines, start=1):
        head = _verify_line(log, number, line, head)
        hashes.append(head)
    tail_hash = _complete_record(log, tail, len(hashes) + 1, head) if torn else None
    complete = tail_hash is not None
    result = VerifyResult(size=len(hashes), head=head, torn_tail=torn, torn_tail_complete=complete)
    if checkpoint is None:
        return result
    size = _verify_checkpoint(log, checkpoint, public_key)
    if tail_hash is not None:
        # A complete record missing only its newline was not cut off: the next append
        # keeps it, so a checkpoint that vouched for it still holds.
        hashes.append(tail_hash)
    if size > len(hashes):
        raise AuditError(
            log,
            len(hashes) + 1,
            f"the log ends after {len(hashes)} records but the checkpoint vouches for "
            f"{size}: records were cut off",
        )
    expected = hashes[size - 1] if size else GENESIS
    if expected != checkpoint["head"]:
        raise AuditError(
            log,
            size or None,
            f"record {size} is not the one the checkpoint vouches for: the history was rewritten",
        )
    return VerifyResult(
        size=result.size,
        head=head,
        torn_tail=torn,
        checkpoint_size=size,
        torn_tail_complete=complete,
    )


def _complete_record(log: Path, tail: bytes, seq: int, prev: str) -> str | None:
    """The hash of ``tail`` if it is a complete record ``seq`` chained to ``prev``."""
    try:
        return _verify_line(log, seq, tail, prev)
    except AuditError:
        return None


def _verify_line(log: Path, number: int, line: bytes, prev: str) -> str:
    def bad(problem: str) -> AuditError:
        return AuditError(log, number, problem)

    try:
        record = json.loads(line.decode("utf-8"))
    except (ValueError, RecursionError):
        raise bad("not a JSON record (edited or damaged)") from None
    if not isinstance(record, dict) or set(record) != _FIELDS:
        raise bad("not an audit record (fields missing or added)")
    if record["v"] != VERSION:
        raise bad(f"unknown record version; this software reads {VERSION}")
    digest = record["hash"]
    if not isinstance(digest, str) or digest != _record_hash(record):
        raise bad("the record was edited (its hash does not match its content)")
    if canonical(record) != line:
        raise bad("the record is not in canonical form (edited)")
    seq = record["seq"]
    if seq != number or isinstance(seq, bool):
        raise bad(
            f"holds record number {seq} where {number} belongs: a record was deleted, "
            "inserted or moved"
        )
    if record["prev"] != prev:
        raise bad("does not chain to the record before it: a record was replaced or inserted")
    types = (("at", str), ("event", str), ("actor", str), ("details", dict))
    if not all(isinstance(record[key], kind) for key, kind in types):
        raise bad("a field has the wrong type")
    return digest


def _verify_checkpoint(log: Path, checkpoint: Mapping[str, Any], public_key: str | None) -> int:
    def bad(problem: str) -> AuditError:
        return AuditError(log, None, f"the checkpoint {problem}")

    if set(checkpoint) != _CHECKPOINT_FIELDS or checkpoint["v"] != CHECKPOINT_VERSION:
        raise bad(f"is not a {CHECKPOINT_VERSION} checkpoint")
    size, head = checkpoint["size"], checkpoint["head"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise bad("has no valid size")
    if not isinstance(head, str) or not _HEX64.fullmatch(head):
        raise bad("has no valid head hash")
    signature, key = checkpoint["signature"], checkpoint["key"]
    if signature is None:
        if public_key is not None:
            raise bad("is not signed, but a signed one was required")
        return size
    if not isinstance(signature, str) or not isinstance(key, str):
        raise bad("has a malformed signature")
    try:
        raw = base64.b64decode(signature.encode("ascii"), validate=True)
        body = {k: v for k, v in checkpoint.items() if k != "signature"}
        _crypto.verify(public_key or key, canonical(body), raw)
    except (binascii.Error, UnicodeEncodeError, _crypto.CryptoError):
        raise bad("signature does not verify with the expected key") from None
    return size


def events(path: Path | str) -> list[dict[str, Any]]:
    """The records of a log, oldest first.

    A torn last line is left out, unless it is a complete record chained to the one
    before it (only its newline is missing): the next append keeps such a record, so
    a caller deciding whether something was already recorded must see it. For reading
    what happened; :func:`verify` is what proves the log intact.
    """
    p = Path(path)
    if not p.exists():
        return []
    out: list[dict[str, Any]] = []
    lines = p.read_bytes().split(b"\n")
    tail = lines.pop()
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            raise AuditError(p, number, "not a JSON record (edited or damaged)") from None
        if isinstance(record, dict):
            out.append(record)
    if tail:
        prev = out[-1].get("hash") if out else GENESIS
        if isinstance(prev, str) and _complete_record(p, tail, len(out) + 1, prev):
            out.append(json.loads(tail))
    return out


def checkpoint_of(data: Any) -> Mapping[str, Any]:
    """The checkpoint in ``data``: a checkpoint itself, or a signed document that carries
    one (an ingest receipt or a destruction record, ``{"body": {"checkpoint": …}}``)."""
    if isinstance(data, Mapping) and set(data) == _CHECKPOINT_FIELDS:
        return data
    body = data.get("body") if isinstance(data, Mapping) else None
    inner = body.get("checkpoint") if isinstance(body, Mapping) else None
    if isinstance(inner, Mapping):
        return inner
    raise AuditError("<checkpoint>", None, "is neither a checkpoint nor a document carrying one")


def check_checkpoint(checkpoint: Mapping[str, Any], public_key: str) -> None:
    """Raise :class:`AuditError` unless ``checkpoint`` is a checkpoint signed by
    ``public_key``; checks the signature only, not against any log (for a checkpoint
    another party sent, whose log we do not hold)."""
    problem = "is not a checkpoint signed by the expected key"
    if set(checkpoint) != _CHECKPOINT_FIELDS or not isinstance(checkpoint["signature"], str):
        raise AuditError("<checkpoint>", None, problem)
    body = {k: v for k, v in checkpoint.items() if k != "signature"}
    try:
        raw = base64.b64decode(checkpoint["signature"].encode("ascii"), validate=True)
        _crypto.verify(public_key, canonical(body), raw)
    except (ValueError, _crypto.CryptoError):
        raise AuditError("<checkpoint>", None, problem) from None
