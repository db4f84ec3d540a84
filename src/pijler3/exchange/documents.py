"""Signed JSON documents: the governance decisions the parties hand each other.

Every governance decision (a termination, a notification and its acknowledgement, a
destruction record, a receipt) is a small JSON document ``{"body": …, "signature": …}``
signed with the workspace's Ed25519 key over the canonical JSON of its body, written
atomically, and checked on the other side against the keys the protocol file names,
never against a key the document brings.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pijler3.contract.errors import GovernanceError
from pijler3.exchange import _crypto
from pijler3.exchange.atomic import write_atomic
from pijler3.exchange.audit import canonical
from pijler3.exchange.package import loads_strict

SIGNATURE_ALGORITHM = "ed25519"


# A signed document holds statements and lists of deliveries, never data.
DOCUMENT_MAX_BYTES = 16 << 20


def sign_document(body: Mapping[str, Any], signing_key: bytes) -> dict[str, Any]:
    """``{"body": …, "signature": …}``: the body signed over its canonical JSON."""
    signature = _crypto.sign(signing_key, canonical(body))
    return {
        "body": dict(body),
        "signature": {
            "algorithm": SIGNATURE_ALGORITHM,
            "key": _crypto.public_key_of(signing_key),
            "value": base64.b64encode(signature).decode("ascii"),
        },
    }


def verify_document(
    doc: Mapping[str, Any], keys: Sequence[str], what: str, *, fmt: str
) -> dict[str, Any]:
    """Return the body of a signed document, or raise :class:`GovernanceError`.

    ``keys`` are the public keys that may have signed it (from the protocol file, never
    from the document itself); the key the document names must be one of them.
    """
    body, sig = doc.get("body"), doc.get("signature")
    if not isinstance(body, dict) or not isinstance(sig, dict):
        raise GovernanceError(f"{what}: not a signed pijler3 document.")
    if body.get("format") != fmt:
        raise GovernanceError(f"{what}: not a {fmt} document.")
    key, value = sig.get("key"), sig.get("value")
    if sig.get("algorithm") != SIGNATURE_ALGORITHM or not isinstance(value, str):
        raise GovernanceError(f"{what}: the signature is malformed.")
    if not isinstance(key, str) or key not in keys:
        raise GovernanceError(
            f"{what}: signed with a key that the protocol file does not name for this party.",
            hint="Check that it comes from the right party and that its keys are registered.",
        )
    try:
        _crypto.verify(key, canonical(body), base64.b64decode(value, validate=True))
    except (binascii.Error, _crypto.CryptoError):
        raise GovernanceError(
            f"{what}: the signature does not verify (the document was changed).",
            hint="Ask the sender for the original file.",
        ) from None
    return body


def read_document(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > DOCUMENT_MAX_BYTES:
            raise GovernanceError(f"{path}: larger than a signed pijler3 document can be.")
        # Strict: a deeply nested or key-repeating document is refused, not parsed.
        data = loads_strict(path.read_bytes())
    except FileNotFoundError:
        raise GovernanceError(f"{path}: file not found.") from None
    except (UnicodeDecodeError, ValueError):
        raise GovernanceError(f"{path}: not a JSON document.") from None
    if not isinstance(data, dict):
        raise GovernanceError(f"{path}: not a signed pijler3 document.")
    return data


def write_document(path: Path, doc: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_atomic(path, text.encode("utf-8"))


def document_sha256(doc: Mapping[str, Any]) -> str:
    """The SHA-256 of a signed document's canonical body: what another document cites."""
    return hashlib.sha256(canonical(doc["body"])).hexdigest()


def iso_utc(moment: dt.datetime) -> str:
    """A timezone-aware moment as an ISO 8601 string in UTC, as every document writes it."""
    if moment.tzinfo is None:
        raise ValueError("governance times must be timezone-aware")
    return moment.astimezone(dt.UTC).isoformat()
