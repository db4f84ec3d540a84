"""Sealed transfer packages: one file per transfer, signed by the sender, encrypted to
the recipients.

Layout (``*.p3pkg``): an uncompressed POSIX ustar archive, written deterministically
(mtime 0, uid/gid 0, no user or group names, mode 0644, members in sorted order, the
two zero blocks of the end marker, padded to a 10240-byte record as tar does), with
exactly three regular-file members:

``manifest.json``
    UTF-8 JSON with sorted keys (:class:`Manifest`): what the package is, for whom,
    counts and quality summary, and the SHA-256 of ``payload.age``. Never a person's
    value.
``manifest.sig``
    The raw 64-byte Ed25519 signature of the exact bytes of ``manifest.json``.
``payload.age``
    The age (binary, X25519) encryption of the Parquet payload.

Because the payload is plain age, a recipient can check it by hand::

    tar -xf delivery.p3pkg payload.age && age -d -i identity.txt payload.age

age alone does not say who *sent* a file: anyone who knows a recipient's public key can
encrypt to it. The signature over the manifest, which holds the SHA-256 of the
encrypted payload, is what binds the payload to the expected sender; it is checked
with the sender's key from the protocol file, never with a key the package brings.

Opening is strict and opaque: the archive must be byte for byte the canonical archive
of its three members, and every failure raises the same
:class:`~pijler3.contract.errors.PackageError`; the specific reason goes to the audit log.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import stat
import tarfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pijler3.contract.errors import PackageError
from pijler3.contract.protocol import DEFAULT_LIMITS, Limits
from pijler3.exchange import _crypto
from pijler3.exchange.atomic import open_atomic

if TYPE_CHECKING:
    from pijler3.exchange.audit import AuditLog

FORMAT = "pijler3-package/1"
SUFFIX = ".p3pkg"

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PAYLOAD = "payload.age"
MEMBERS = (MANIFEST, SIGNATURE, PAYLOAD)  # sorted, and the order in the archive

_BLOCK = 512
_RECORD = 20 * _BLOCK  # tar's default blocking factor, as GNU tar and Python write it
_SIGNATURE_SIZE = 64
MAX_MANIFEST = 1 << 20  # 1 MiB: a manifest holds counts and summaries, never data
# The ustar size field holds 11 octal digits, so one member is at most 8 GiB - 1 byte.
# The payload is decrypted in memory, so it must fit in memory anyway.
MAX_PAYLOAD = 8**11 - 1
_LIMITS = {MANIFEST: MAX_MANIFEST, SIGNATURE: _SIGNATURE_SIZE, PAYLOAD: MAX_PAYLOAD}

# Reason codes written to the audit log with the event "package.refused".
REFUSED = "package.refused"
R_UNREADABLE = "unreadable"  # the file cannot be read at all
R_STRUCTURE = "structure"  # not the canonical three-member archive, or a size limit
R_SIGNATURE = "signature"  # manifest.sig does not verify under the expected sender's key
R_FORMAT = "format"  # the manifest's format version is not one this code reads
R_MANIFEST = "manifest"  # signed, but not a well-formed manifest
R_STEP = "step"  # a package of another step of the chain
R_PAYLOAD_HASH = "payload_hash"  # payload.age is not the one the manifest was signed for
R_IDENTITY = "identity"  # the identity given to open it is not an age X25519 identity
R_NOT_RECIPIENT = "not_recipient"  # the manifest does not list this identity's recipient
R_DECRYPT = "decrypt"  # age refused: not a recipient after all, or a damaged payload
R_TOO_LARGE = "too_large"  # the file is over the protocol's size bound; not read
R_JSON = "json"  # the manifest nests too deep or repeats a key

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(rb"[\[\]{}]")


def loads_strict(data: bytes, *, max_depth: int = DEFAULT_LIMITS.json_depth) -> Any:
    """Parse UTF-8 JSON, refusing (ValueError) nesting deeper than ``max_depth`` and an
    object that repeats a key.

    The depth is measured on the bytes before parsing, because Python's parser recurses
    and a manifest of 100,000 nested objects would end in a RecursionError. A repeated
    key is refused because two readers could each take a different one of the two.
    """
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', data)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > max_depth:
                raise ValueError(f"JSON nested deeper than {max_depth} levels")
        else:
            depth -= 1

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise ValueError("a JSON object repeats a key")
            out[key] = value
        return out

    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=no_duplicates)
    except RecursionError:
        raise ValueError("JSON nested too deep") from None


@dataclass(frozen=True, kw_only=True)
class Manifest:
    """What a package holds, signed by its sender. Never a person's value.

    ``recipients`` are key fingerprints (:func:`pijler3.exchange._crypto.fingerprint`) of the
    age recipients; :func:`seal` fills them, and ``payload_sha256``, itself.
    """

    format: str = FORMAT
    protocol_id: str
    protocol_version: int
    step: str
    sender: str
    recipients: tuple[str, ...] = ()
    peildatum: dt.date  # written as an ISO date, YYYY-MM-DD
    delivery_id: str
    created: dt.datetime  # timezone-aware; written as an ISO date-time in UTC
    row_count: int
    schema_hash: str
    pseudonym_key_id: str | None = None
    payload_sha256: str = ""
    quality: Mapping[str, Any] = field(default_factory=dict)
    risk: Mapping[str, Any] | None = None
    audit_checkpoint: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form: dates as ISO strings, the time in UTC."""
        data = asdict(self)
        data["recipients"] = list(self.recipients)
        data["peildatum"] = self.peildatum.isoformat()
        data["created"] = self.created.astimezone(dt.UTC).isoformat()
        return data

    def to_json(self) -> bytes:
        """The manifest as UTF-8 JSON with sorted keys; the signed bytes."""
        text = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, indent=2)
        return (text + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes, *, max_depth: int = DEFAULT_LIMITS.json_depth) -> Manifest:
        """Parse and type-check a manifest; raise ValueError when it is not one."""
        raw = loads_strict(data, max_depth=max_depth)
        if not isinstance(raw, dict):
            raise ValueError("a manifest is a JSON object")
        if raw.get("format") != FORMAT:
            raise ValueError("unknown manifest format")
        names = {f.name for f in fields(cls)}
        if set(raw) != names:
            raise ValueError("a manifest has exactly the fields of this format")
        _expect(raw, "protocol_id", str)
        _expect(raw, "protocol_version", int)
        for key in ("step", "sender", "peildatum", "delivery_id", "created", "schema_hash"):
            _expect(raw, key, str)
        _expect(raw, "row_count", int)
        _expect(raw, "payload_sha256", str)
        _expect(raw, "pseudonym_key_id", (str, type(None)))
        _expect(raw, "quality", dict)
        _expect(raw, "extra", dict)
        for key in ("risk", "audit_checkpoint"):
            _expect(raw, key, (dict, type(None)))
        recipients = raw["recipients"]
        if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
            raise ValueError("recipients must be a list of key fingerprints")
        raw["peildatum"] = dt.date.fromisoformat(raw["peildatum"])
        raw["created"] = dt.datetime.fromisoformat(raw["created"])
        if raw["created"].tzinfo is None:
            raise ValueError("the manifest's time has no time zone")
        raw["recipients"] = tuple(recipients)
        return cls(**raw)


def _expect(raw: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> None:
    value = raw[key]
    # bool is an int in Python; a manifest never means True when it says a count.
    if isinstance(value, bool) and kind is int:
        raise ValueError(f"manifest field {key} has the wrong type")
    if not isinstance(value, kind):
        raise ValueError(f"manifest field {key} has the wrong type")


# -- the archive ------------------------------------------------------------------------


def _header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info.tobuf(format=tarfile.USTAR_FORMAT, encoding="utf-8", errors="strict")


def _padding(size: int) -> int:
    return -size % _BLOCK


def _pack(members: Mapping[str, bytes]) -> bytes:
    out = io.BytesIO()
    for name in MEMBERS:
        data = members[name]
        out.write(_header(name, len(data)))
        out.write(data)
        out.write(b"\0" * _padding(len(data)))
    end = out.tell() + 2 * _BLOCK
    out.write(b"\0" * (2 * _BLOCK + (-end % _RECORD)))
    return out.getvalue()


class _Refused(Exception):
    """Internal: why a package is refused (a reason code, never data)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _unpack(blob: bytes, limits: Limits = DEFAULT_LIMITS) -> dict[str, bytes]:
    """The three members of a canonical package archive, or :class:`_Refused`.

    The archive is rebuilt from the parsed names and sizes and compared with the file
    byte for byte, so no header field, padding byte or trailer can change unnoticed
    and nothing but three regular files in the fixed order can pass.
    """
    members: dict[str, bytes] = {}
    pos = 0
    for name in MEMBERS:
        header = blob[pos : pos + _BLOCK]
        if len(header) != _BLOCK:
            raise _Refused(R_STRUCTURE)
        size_field = header[124:136].rstrip(b"\0 ")
        if not size_field or not all(48 <= c <= 55 for c in size_field):
            raise _Refused(R_STRUCTURE)
        size = int(size_field, 8)
        if size > _LIMITS[name] or (name == SIGNATURE and size != _SIGNATURE_SIZE):
            raise _Refused(R_STRUCTURE)
        if name == MANIFEST and size > limits.manifest_bytes:
            raise _Refused(R_TOO_LARGE)
        if header != _header(name, size):
            raise _Refused(R_STRUCTURE)
        start = pos + _BLOCK
        data = blob[start : start + size]
        if len(data) != size:
            raise _Refused(R_STRUCTURE)
        pad = blob[start + size : start + size + _padding(size)]
        if pad != b"\0" * _padding(size):
            raise _Refused(R_STRUCTURE)
        members[name] = data
        pos = start + size + _padding(size)
    trailer = blob[pos:]
    end = pos + 2 * _BLOCK
    if trailer != b"\0" * (2 * _BLOCK + (-end % _RECORD)):
        raise _Refused(R_STRUCTURE)
    return members


def _read(path: Path, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """The bytes of a package file, measured before they are read.

    The file is opened without blocking (a FIFO in ``inbox/`` must not hang a purge)
    and measured on the open descriptor, not the name, which may be replaced in
    between; the read stops one byte past the bound, so a file that grows while it is
    read is refused too.
    """
    bound = min(limits.package_bytes, MAX_PAYLOAD + MAX_MANIFEST + 4 * _RECORD)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        raise _Refused(R_UNREADABLE) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Refused(R_UNREADABLE)
        if info.st_size > bound:
            raise _Refused(R_TOO_LARGE)
        with os.fdopen(os.dup(fd), "rb") as stream:
            data = stream.read(bound + 1)
    except OSError:
        raise _Refused(R_UNREADABLE) from None
    finally:
        os.close(fd)
    if len(data) > bound:
        raise _Refused(R_TOO_LARGE)
    return data


# -- seal and open ----------------------------------------------------------------------


def seal(
    out: Path,
    payload: bytes,
    manifest: Manifest,
    *,
    signing_key: bytes,
    recipients: Sequence[str],
    record: Callable[[Manifest], None] | None = None,
) -> Manifest:
    """Encrypt ``payload`` to ``recipients``, sign the manifest, write ``out`` atomically.

    ``recipients`` are age recipient strings (``age1…``). Returns the manifest as
    written, with ``format``, ``recipients`` (their fingerprints) and ``payload_sha256``
    filled in.

    ``record`` is called with that manifest once the whole package is on disk under a
    temporary name, and ``out`` appears only after it returns: a package is never in
    place without its record (SYSTEM.md guarantee 3). If ``record`` raises, or the
    process dies before the rename, there is no package; a record without its package
    is the only trace a crash can leave, which errs on the side of the audit.
    """
    if isinstance(recipients, str) or not recipients:
        raise ValueError("seal needs a non-empty list of age recipients")
    encrypted = _crypto.encrypt(payload, recipients)
    if len(encrypted) > MAX_PAYLOAD:
        raise ValueError("the payload is larger than a package can hold (8 GiB)")
    sealed = replace(
        manifest,
        format=FORMAT,
        recipients=tuple(_crypto.fingerprint(_crypto.canonical_recipient(r)) for r in recipients),
        payload_sha256=_crypto.sha256(encrypted),
    )
    manifest_bytes = sealed.to_json()
    if len(manifest_bytes) > MAX_MANIFEST:
        raise ValueError("the manifest is larger than 1 MiB; it must hold summaries only")
    signature = _crypto.sign(signing_key, manifest_bytes)
    blob = _pack({MANIFEST: manifest_bytes, SIGNATURE: signature, PAYLOAD: encrypted})
    with open_atomic(out) as fh:
        fh.write(blob)
        # On disk before the record: a full disk refuses here, with nothing recorded.
        fh.flush()
        os.fsync(fh.fileno())
        if record is not None:
            record(sealed)
    return sealed


def read_manifest(
    path: Path,
    *,
    limits: Limits = DEFAULT_LIMITS,
    audit: AuditLog | None = None,
    now: dt.datetime | None = None,
) -> Manifest:
    """The manifest of a package, for display. Needs no key and verifies NOTHING.

    Use :func:`open_package` for anything that acts on the package. Any failure, however
    the file is made, is the one opaque :class:`PackageError` (recorded in ``audit``
    when given).
    """
    try:
        try:
            members = _unpack(_read(path, limits), limits)
        except (ValueError, TypeError, OverflowError, RecursionError, MemoryError):
            raise _Refused(R_STRUCTURE) from None
        try:
            return Manifest.from_json(members[MANIFEST], max_depth=limits.json_depth)
        except (ValueError, TypeError, OverflowError, RecursionError):
            raise _Refused(R_MANIFEST) from None
    except _Refused as refused:
        if audit is not None:
            details = {"reason": refused.reason, "file": path.name, "step": "read_manifest"}
            audit.append(REFUSED, details, now=now or dt.datetime.now(dt.UTC))
        raise PackageError(str(path)) from None


def open_package(
    path: Path,
    *,
    identity: str,
    sender_key: str,
    expected_step: str,
    audit: AuditLog | None = None,
    now: dt.datetime | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[Manifest, bytes]:
    """Verify and decrypt a package; return its manifest and the plaintext payload.

    ``sender_key`` is the expected sender's Ed25519 public key from the protocol file.
    The checks run in this order, and the payload is decrypted (in memory, all or
    nothing) only when every earlier one passed: archive structure, signature,
    format version, step, payload hash, recipient, decryption. Any failure raises
    :class:`~pijler3.contract.errors.PackageError` and, if ``audit`` is given, appends a
    ``package.refused`` record with the reason code (``now`` is the time it records;
    the clock when omitted). Nothing is written anywhere else.
    """
    try:
        try:
            return _open(
                path, identity=identity, sender_key=sender_key, step=expected_step, limits=limits
            )
        except (ValueError, TypeError, OverflowError, RecursionError, MemoryError):
            # A last line: whatever a crafted file makes a parser raise is a refusal,
            # never a traceback.
            raise _Refused(R_STRUCTURE) from None
    except _Refused as refused:
        if audit is not None:
            details = {"reason": refused.reason, "file": path.name, "step": expected_step}
            audit.append(REFUSED, details, now=now or dt.datetime.now(dt.UTC))
        raise PackageError(str(path)) from None


def _open(
    path: Path, *, identity: str, sender_key: str, step: str, limits: Limits
) -> tuple[Manifest, bytes]:
    members = _unpack(_read(path, limits), limits)
    manifest_bytes = members[MANIFEST]
    try:
        _crypto.verify(sender_key, manifest_bytes, members[SIGNATURE])
    except _crypto.CryptoError:
        raise _Refused(R_SIGNATURE) from None
    try:
        raw = loads_strict(manifest_bytes, max_depth=limits.json_depth)
    except ValueError:
        raise _Refused(R_JSON) from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise _Refused(R_FORMAT)
    try:
        manifest = Manifest.from_json(manifest_bytes, max_depth=limits.json_depth)
    except (ValueError, TypeError, OverflowError):
        raise _Refused(R_MANIFEST) from None
    if manifest.step != step:
        raise _Refused(R_STEP)
    encrypted = members[PAYLOAD]
    if not _crypto.constant_time_equal(
        _crypto.sha256(encrypted).encode("ascii"), manifest.payload_sha256.encode("utf-8")
    ):
        raise _Refused(R_PAYLOAD_HASH)
    try:
        own = _crypto.fingerprint(_crypto.recipient_of(identity))
    except _crypto.CryptoError:
        raise _Refused(R_IDENTITY) from None
    if own not in manifest.recipients:
        raise _Refused(R_NOT_RECIPIENT)
    try:
        payload = _crypto.decrypt(encrypted, identity)
    except _crypto.CryptoError:
        raise _Refused(R_DECRYPT) from None
    return manifest, payload
