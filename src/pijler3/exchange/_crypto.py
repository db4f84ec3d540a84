"""The one module that touches cryptographic primitives (STYLE.md: two levels for crypto).

Everything here has fixed algorithms and no knobs:

- encryption: age v1 (X25519 recipients, ChaCha20-Poly1305 STREAM) through pyrage,
  in the binary (not armored) format, so that the standard ``age`` CLI opens it;
- signatures: Ed25519 (raw 32-byte private keys; public keys as base64 of the raw
  32 bytes);
- MAC and key derivation: HMAC-SHA256 and HKDF-SHA256; hashes: SHA-256.

Security checks raise :class:`CryptoError` (never return a bool). The rest of the code
sees ``package.seal`` / ``package.open_package`` and does not import this module's
dependencies itself.

Deviations from the age test vectors (C2SP/CCTV), asserted in ``tests/test_crypto.py``:

1. :func:`decrypt` releases no plaintext at all when any part of the payload fails to
   authenticate (all-or-nothing). The CCTV rule for "payload failure" vectors is that
   whatever plaintext *was* released must match the payload hash; releasing nothing is
   stricter and satisfies it trivially.
2. The failure classes (header failure, HMAC failure, no match, payload failure) are
   not distinguished: every failure is one :class:`CryptoError`.
3. pyrage (rage) parses the bodies of unknown stanzas loosely and accepts the CCTV
   vectors ``stanza_missing_body`` and ``stanza_missing_final_line``. :func:`decrypt`
   therefore checks the header grammar of the age spec itself before handing the file
   to pyrage, so that those two vectors fail as the spec says.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import importlib
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyrage
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pijler3.exchange.atomic import write_atomic

AGE_VERSION_LINE = b"age-encryption.org/v1"
SIGNATURE_ALGORITHM = "ed25519"

# A stanza body is base64 without padding, wrapped at 64 columns; a line shorter than
# 64 columns (possibly empty) ends the stanza (age spec, "Header").
_BODY_LINE = re.compile(rb"[A-Za-z0-9+/]{0,64}")
_BODY_COLUMNS = 64


class CryptoError(Exception):
    """A cryptographic check failed. The message never holds key material or data."""


class SignatureError(CryptoError, InvalidSignature):
    """An Ed25519 signature does not verify under the given public key."""


# -- keys -------------------------------------------------------------------------------


def new_identity() -> tuple[str, str]:
    """A fresh age X25519 key pair: (``AGE-SECRET-KEY-1…``, ``age1…``)."""
    identity = pyrage.x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def recipient_of(identity: str) -> str:
    """The ``age1…`` recipient of an ``AGE-SECRET-KEY-1…`` identity."""
    return str(_identity(identity).to_public())


def canonical_recipient(recipient: str) -> str:
    """The canonical (lower-case bech32) form of an ``age1…`` recipient string."""
    return str(_recipient(recipient))


def new_signing_key() -> tuple[bytes, str]:
    """A fresh Ed25519 key pair: (raw 32-byte private key, base64 public key)."""
    private = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return private, public_key_of(private)


def public_key_of(private: bytes) -> str:
    """The base64 public key of a raw Ed25519 private key."""
    raw = (
        _private(private)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return base64.b64encode(raw).decode("ascii")


def fingerprint(public: str) -> str:
    """A short, stable identifier of a public key string (age recipient or Ed25519).

    It names a key in manifests and audit records without repeating the whole key.
    """
    return "sha256:" + hashlib.sha256(public.encode("utf-8")).hexdigest()[:16]


def _private(private: bytes) -> Ed25519PrivateKey:
    if len(private) != 32:
        raise CryptoError("an Ed25519 private key must be 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(private)


def _public(public_b64: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(public_b64.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise CryptoError("an Ed25519 public key must be base64") from exc
    if len(raw) != 32 or base64.b64encode(raw).decode("ascii") != public_b64:
        raise CryptoError("an Ed25519 public key must be the base64 of 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def _identity(identity: str) -> pyrage.x25519.Identity:
    try:
        return pyrage.x25519.Identity.from_str(identity.strip())
    except Exception:  # pyrage raises its own IdentityError or ValueError.
        # "from None": the library's message could quote part of the secret key.
        raise CryptoError("not an age X25519 identity (AGE-SECRET-KEY-1…)") from None


def _recipient(recipient: str) -> pyrage.x25519.Recipient:
    try:
        return pyrage.x25519.Recipient.from_str(recipient.strip())
    except Exception:
        raise CryptoError("not an age X25519 recipient (age1…)") from None


# -- signatures -------------------------------------------------------------------------


def sign(private: bytes, data: bytes) -> bytes:
    """The 64-byte Ed25519 signature of ``data``."""
    return _private(private).sign(data)


def verify(public_b64: str, data: bytes, signature: bytes) -> None:
    """Check an Ed25519 signature; raise :class:`SignatureError` if it does not hold."""
    key = _public(public_b64)
    if len(signature) != 64:
        raise SignatureError("an Ed25519 signature must be 64 bytes")
    try:
        key.verify(signature, data)
    except InvalidSignature:
        raise SignatureError("the signature does not verify") from None


# -- encryption -------------------------------------------------------------------------


def encrypt(data: bytes, recipients: Sequence[str]) -> bytes:
    """Encrypt ``data`` to the age X25519 ``recipients`` (binary age format)."""
    if isinstance(recipients, str) or not recipients:
        raise CryptoError("encrypt needs a non-empty list of age recipients")
    parsed = [_recipient(r) for r in recipients]
    try:
        return bytes(pyrage.encrypt(data, parsed))
    except Exception:
        raise CryptoError("age encryption failed") from None


def decrypt(data: bytes, identity: str) -> bytes:
    """Decrypt an age file held in memory; all or nothing.

    pyrage's file and stream functions write plaintext out before the last chunk has
    been authenticated, so a damaged payload would leave up to 128 KiB of plaintext
    behind. Decrypting bytes in memory releases nothing unless the whole payload
    authenticates. Every failure (not age, bad header, not a recipient, bad MAC,
    damaged payload) raises the same :class:`CryptoError`.
    """
    key = _identity(identity)
    _check_header(data)
    try:
        return bytes(pyrage.decrypt(data, [key]))
    except Exception:
        raise CryptoError("the age file cannot be decrypted with this identity") from None


def _check_header(data: bytes) -> None:
    """Enforce the age v1 header grammar that rage checks loosely (stanza bodies)."""
    pos = 0

    def line() -> bytes:
        nonlocal pos
        end = data.find(b"\n", pos)
        if end < 0:
            raise CryptoError("the age header is incomplete")
        text = data[pos:end]
        pos = end + 1
        return text

    if line() != AGE_VERSION_LINE:
        raise CryptoError("not an age v1 file")
    while True:
        current = line()
        if current.startswith(b"--- "):
            return
        if not current.startswith(b"-> "):
            raise CryptoError("the age header is malformed")
        while True:
            body = line()
            if not _BODY_LINE.fullmatch(body):
                raise CryptoError("the age header is malformed")
            if len(body) < _BODY_COLUMNS:
                break


# -- MAC, KDF, hash ---------------------------------------------------------------------


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA256 of ``data`` under ``key`` (32 bytes)."""
    return hmac.new(key, data, hashlib.sha256).digest()


def hkdf_sha256(ikm: bytes, info: bytes, length: int) -> bytes:
    """HKDF-SHA256 (RFC 5869) without salt: ``length`` bytes bound to ``info``."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(ikm)


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def constant_time_equal(a: bytes, b: bytes) -> bool:
    """Compare two MACs or hashes without leaking where they differ."""
    return hmac.compare_digest(a, b)


# -- key files --------------------------------------------------------------------------


def write_secret(path: Path | str, data: bytes) -> None:
    """Write a secret key file atomically with mode 0o600; missing parents get 0o700."""
    target = Path(path)
    missing = [p for p in reversed(target.parents) if not p.exists()]
    for directory in missing:
        os.mkdir(directory, 0o700)
        # mkdir's mode is masked by the umask; set it explicitly so it is never wider.
        os.chmod(directory, 0o700)
    write_atomic(target, data, mode=0o600)


def _builtin_sha256() -> Callable[[bytes], Any]:
    """CPython's own SHA-256 (module ``_sha2`` from 3.12, ``_sha256`` before), else hashlib's."""
    for name in ("_sha2", "_sha256"):
        try:
            return importlib.import_module(name).sha256  # type: ignore[no-any-return]
        except (ImportError, AttributeError):
            continue
    return hashlib.sha256


_SHA256 = _builtin_sha256()


def hmac_sha256_many(key: bytes, messages: Sequence[bytes]) -> list[bytes]:
    """HMAC-SHA256 of many messages under one key (RFC 2104), for pseudonymising.

    Equal to :func:`hmac_sha256` per message (the tests check it against it and the
    Wycheproof vectors), but the padded key blocks are hashed once and their SHA-256
    states copied for each message, which is about twice as fast as ``hmac.digest``
    for short messages in CPython; with CPython's own SHA-256 (whose states copy
    faster than OpenSSL's), three times.
    """
    block = 64
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    inner = _SHA256(bytes(b ^ 0x36 for b in key))
    outer = _SHA256(bytes(b ^ 0x5C for b in key))
    out: list[bytes] = []
    append = out.append
    icopy = inner.copy
    ocopy = outer.copy
    for message in messages:
        i = icopy()
        i.update(message)
        o = ocopy()
        o.update(i.digest())
        append(o.digest())
    return out
