"""Keyed pseudonyms (DATA.md §3): HMAC-SHA256 of the normalised INSZ.

Only VDAB holds the master key. The key used for one protocol is derived from it with
HKDF-SHA256 and the protocol identifier as context, so that the same INSZ gets the same
pseudonym in every delivery of a protocol and an unrelated one under any other
protocol. A pseudonym is the first ``bits`` of the HMAC, as lower-case hex. The key
identifier in a manifest is itself an HMAC under the derived key, so it names the key
without revealing anything about it.
"""

from __future__ import annotations

from collections.abc import Sequence

from pijler3 import _crypto

ALGORITHM = "hmac-sha256/hkdf-sha256/1"
MASTER_KEY_BYTES = 32


def derive_key(master: bytes, protocol_id: str) -> bytes:
    """The per-protocol pseudonymisation key."""
    if len(master) < MASTER_KEY_BYTES:
        raise ValueError("the pseudonymisation master key must hold at least 32 bytes")
    info = f"pijler3 pseudonym key v1|{protocol_id}".encode()
    return _crypto.hkdf_sha256(master, info, 32)


def key_id(key: bytes) -> str:
    """A public name for a derived key: reveals nothing about the key itself."""
    return f"{ALGORITHM}:" + _crypto.hmac_sha256(key, b"pijler3 key id v1")[:8].hex()


def pseudonyms(key: bytes, insz: Sequence[str], *, bits: int = 128) -> list[str]:
    """Pseudonyms of normalised INSZ numbers (11 digits each), in order."""
    size = bits // 8
    return [d[:size].hex() for d in _crypto.hmac_sha256_many(key, [s.encode() for s in insz])]


def pseudonym(key: bytes, insz: str, *, bits: int = 128) -> str:
    return pseudonyms(key, [insz], bits=bits)[0]
