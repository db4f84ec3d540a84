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

import polars as pl

from pijler3.exchange import _crypto

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


def pseudonym_series(key: bytes, insz: pl.Series, *, bits: int = 128) -> pl.Series:
    """Pseudonyms of a column of normalised INSZ numbers; hex encoding runs in Polars."""
    digests = pl.Series(
        "pseudoniem", _crypto.hmac_sha256_many(key, insz.cast(pl.Binary).to_list()), pl.Binary
    )
    if bits % 8 == 0:  # whole bytes: only those are written out
        return digests.bin.head(bits // 8).bin.encode("hex")
    return digests.bin.encode("hex").str.slice(0, bits // 4)


def pseudonyms(key: bytes, insz: Sequence[str], *, bits: int = 128) -> list[str]:
    """Pseudonyms of normalised INSZ numbers (11 digits each), in order."""
    return pseudonym_series(key, pl.Series(insz, dtype=pl.String), bits=bits).to_list()


def pseudonym(key: bytes, insz: str, *, bits: int = 128) -> str:
    return pseudonyms(key, [insz], bits=bits)[0]
