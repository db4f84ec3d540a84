"""The crypto layer against published vectors (age CCTV, Wycheproof) and its own rules."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyrage
import pytest

from pijler3.exchange import _crypto

VECTORS = Path(__file__).parent / "vectors"
CCTV = VECTORS / "age-cctv"
WYCHEPROOF = VECTORS / "wycheproof"


@dataclass(frozen=True)
class AgeVector:
    name: str
    expect: str
    payload_sha256: str | None
    identities: tuple[str, ...]
    body: bytes


def _age_vector(path: Path) -> AgeVector:
    raw = path.read_bytes()
    head, sep, body = raw.partition(b"\n\n")
    assert sep, f"{path.name}: no blank line after the header"
    fields: dict[str, str] = {}
    identities: list[str] = []
    for line in head.decode("utf-8").split("\n"):
        key, _, value = line.partition(": ")
        if key == "identity":
            identities.append(value)
        else:
            fields[key] = value
    if fields.get("compressed") == "zlib":
        body = zlib.decompress(body)
    return AgeVector(path.name, fields["expect"], fields.get("payload"), tuple(identities), body)


AGE_VECTORS = [_age_vector(p) for p in sorted(CCTV.iterdir()) if p.name != "SOURCE.md"]
# The two vectors pyrage accepts and our own header check refuses (SOURCE.md, item 3).
LOOSE_IN_PYRAGE = {"stanza_missing_body", "stanza_missing_final_line"}


def test_cctv_selection_is_the_binary_x25519_set() -> None:
    """The copied vectors are the 67 non-armored, non-scrypt, non-hybrid ones."""
    assert len(AGE_VECTORS) == 67
    assert not any(v.name.startswith(("armor", "scrypt", "hybrid")) for v in AGE_VECTORS)
    expects = {v.expect for v in AGE_VECTORS}
    assert expects == {"success", "header failure", "HMAC failure", "no match", "payload failure"}


@pytest.mark.parametrize("vector", AGE_VECTORS, ids=lambda v: v.name)
def test_cctv_vector_through_decrypt(vector: AgeVector) -> None:
    """Success vectors give exactly the payload hash; every failure vector raises and
    releases no plaintext at all (stricter than the spec's rule; SOURCE.md item 1)."""
    identity = vector.identities[0] if vector.identities else _crypto.new_identity()[0]
    if vector.expect == "success":
        plaintext = _crypto.decrypt(vector.body, identity)
        assert vector.payload_sha256 == hashlib.sha256(plaintext).hexdigest()
        return
    released: bytes | None = None
    with pytest.raises(_crypto.CryptoError):
        released = _crypto.decrypt(vector.body, identity)
    assert released is None


@pytest.mark.parametrize("name", sorted(LOOSE_IN_PYRAGE))
def test_pyrage_alone_accepts_the_two_loose_stanza_vectors(name: str) -> None:
    """pyrage by itself accepts these header failures, which is why _crypto checks the
    header grammar; when this test fails, rage got stricter and the check may go."""
    vector = next(v for v in AGE_VECTORS if v.name == name)
    assert vector.expect == "header failure"
    pyrage.decrypt(vector.body, [pyrage.x25519.Identity.from_str(vector.identities[0])])
    with pytest.raises(_crypto.CryptoError):
        _crypto.decrypt(vector.body, vector.identities[0])


def _wycheproof(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((WYCHEPROOF / name).read_text("utf-8"))
    return data


ED25519 = _wycheproof("ed25519_test.json")
HMAC = _wycheproof("hmac_sha256_test.json")


def _cases(data: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(group, test) for group in data["testGroups"] for test in group["tests"]]


def test_wycheproof_files_have_no_acceptable_cases() -> None:
    """No 'acceptable' results exist in the copied files; a new copy with some must be
    read before it is trusted (SOURCE.md)."""
    results = {t["result"] for _, t in _cases(ED25519) + _cases(HMAC)}
    assert results == {"valid", "invalid"}
    assert len(_cases(ED25519)) == ED25519["numberOfTests"] == 151
    assert len(_cases(HMAC)) == HMAC["numberOfTests"] == 174


@pytest.mark.parametrize(
    ("group", "test"), _cases(ED25519), ids=lambda x: str(x.get("tcId", "")) or None
)
def test_wycheproof_ed25519_through_verify(group: dict[str, Any], test: dict[str, Any]) -> None:
    """Valid signatures verify; invalid ones raise a CryptoError (an InvalidSignature)."""
    public = base64.b64encode(bytes.fromhex(group["publicKey"]["pk"])).decode("ascii")
    message, signature = bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"])
    if test["result"] == "valid":
        _crypto.verify(public, message, signature)
    else:
        with pytest.raises(_crypto.CryptoError):
            _crypto.verify(public, message, signature)


@pytest.mark.parametrize(
    ("group", "test"), _cases(HMAC), ids=lambda x: str(x.get("tcId", "")) or None
)
def test_wycheproof_hmac_sha256(group: dict[str, Any], test: dict[str, Any]) -> None:
    """Our HMAC-SHA256, truncated to the group's tag size, equals valid tags and differs
    from invalid ones."""
    tag = _crypto.hmac_sha256(bytes.fromhex(test["key"]), bytes.fromhex(test["msg"]))
    truncated = tag[: group["tagSize"] // 8]
    expected = bytes.fromhex(test["tag"])
    assert (truncated == expected) == (test["result"] == "valid")
    many = _crypto.hmac_sha256_many(bytes.fromhex(test["key"]), [bytes.fromhex(test["msg"])] * 2)
    assert many == [tag, tag]


def test_signature_error_is_an_invalid_signature() -> None:
    """A failed verify raises CryptoError that is also cryptography's InvalidSignature."""
    from cryptography.exceptions import InvalidSignature

    private, public = _crypto.new_signing_key()
    signature = _crypto.sign(private, b"manifest")
    _crypto.verify(public, b"manifest", signature)
    with pytest.raises(InvalidSignature):
        _crypto.verify(public, b"manifest!", signature)
    with pytest.raises(_crypto.CryptoError):
        _crypto.verify(public, b"manifest", signature[:63])
    with pytest.raises(_crypto.CryptoError):
        _crypto.verify("not base64!", b"manifest", signature)
    assert public == _crypto.public_key_of(private)


def test_encrypt_decrypt_round_trip_and_non_recipient_refused() -> None:
    """What is encrypted to a recipient decrypts with its identity and not with another."""
    secret, recipient = _crypto.new_identity()
    other_secret, _ = _crypto.new_identity()
    assert recipient == _crypto.recipient_of(secret)
    blob = _crypto.encrypt(b"payload", [recipient])
    assert _crypto.decrypt(blob, secret) == b"payload"
    with pytest.raises(_crypto.CryptoError):
        _crypto.decrypt(blob, other_secret)
    with pytest.raises(_crypto.CryptoError):
        _crypto.decrypt(blob, "AGE-SECRET-KEY-1NOTAKEY")
    with pytest.raises(_crypto.CryptoError):
        _crypto.encrypt(b"payload", [])


def test_identity_error_never_quotes_the_secret() -> None:
    """A malformed identity is refused without echoing any part of it."""
    secret, _ = _crypto.new_identity()
    damaged = secret[:-3] + "qqq"
    with pytest.raises(_crypto.CryptoError) as info:
        _crypto.decrypt(b"age-encryption.org/v1\n", damaged)
    assert secret[15:30] not in str(info.value)
    assert info.value.__cause__ is None


@pytest.mark.parametrize("key_size", [0, 1, 32, 63, 64, 65, 200])
def test_hmac_many_equals_hmac_for_every_key_length(key_size: int) -> None:
    """The batched HMAC (hand-rolled RFC 2104 for speed) equals the library's HMAC for
    keys shorter than, equal to and longer than the 64-byte block."""
    key = bytes(i % 256 for i in range(key_size))
    messages = [b"", b"x", b"85073003328", bytes(range(256)) * 3]
    expected = [_crypto.hmac_sha256(key, m) for m in messages]
    assert _crypto.hmac_sha256_many(key, messages) == expected


def test_hkdf_rfc5869_case_3() -> None:
    """HKDF-SHA256 without salt gives RFC 5869 test case 3's output."""
    okm = _crypto.hkdf_sha256(bytes.fromhex("0b" * 22), b"", 42)
    expected = (
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
    )
    assert expected == okm.hex()


def test_fingerprint_is_short_and_stable() -> None:
    """A fingerprint is 'sha256:' plus 16 hex digits of the key string's SHA-256."""
    assert "sha256:" + hashlib.sha256(b"age1abc").hexdigest()[:16] == _crypto.fingerprint("age1abc")


def test_write_secret_creates_0600_file_in_0700_dirs(tmp_path: Path) -> None:
    """Key files are created owner-only, and so are the folders made for them."""
    target = tmp_path / "keys" / "deep" / "identity.txt"
    _crypto.write_secret(target, b"AGE-SECRET-KEY-1...\n")
    assert target.read_bytes() == b"AGE-SECRET-KEY-1...\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert [target] == list(target.parent.iterdir())  # no temporary file left behind
