"""Sealed packages: round trip, tamper evidence, sender authentication, age interop."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess
import tarfile
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pijler3.contract.errors import PackageError
from pijler3.exchange import _crypto, audit, package

NOW = dt.datetime(2025, 1, 31, 9, 30, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Keys:
    identity: str  # the recipient's age identity
    recipient: str
    other_identity: str  # a second named recipient
    other_recipient: str
    outsider_identity: str  # someone the package was not encrypted to
    sender_private: bytes
    sender_public: str
    attacker_private: bytes  # a signing key that is not a party's
    attacker_public: str


@pytest.fixture(scope="module")
def keys() -> Keys:
    identity, recipient = _crypto.new_identity()
    other_identity, other_recipient = _crypto.new_identity()
    outsider_identity, _ = _crypto.new_identity()
    sender_private, sender_public = _crypto.new_signing_key()
    attacker_private, attacker_public = _crypto.new_signing_key()
    return Keys(
        identity,
        recipient,
        other_identity,
        other_recipient,
        outsider_identity,
        sender_private,
        sender_public,
        attacker_private,
        attacker_public,
    )


def manifest(**changes: object) -> package.Manifest:
    base = package.Manifest(
        protocol_id="agii-abb-2023-09-20",
        protocol_version=1,
        step="publish",
        sender="agii",
        peildatum=dt.date(2025, 1, 31),
        delivery_id="2025-01-31-01",
        created=dt.datetime(2025, 1, 31, 9, 30, tzinfo=dt.UTC),
        row_count=3,
        schema_hash="f" * 64,
        pseudonym_key_id="pk:0123456789abcdef",
        quality={"findings": [{"reason": "missing", "column": "regio", "count": 2}]},
        risk={"max_sample_unique_share": 0.01},
        extra={"linked": 3},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def open_(path: Path, keys: Keys, log: audit.AuditLog | None = None, **kw: object) -> bytes:
    args: dict[str, object] = {
        "identity": keys.identity,
        "sender_key": keys.sender_public,
        "expected_step": "publish",
        "audit": log,
        "now": NOW,
    }
    args.update(kw)
    _, payload = package.open_package(path, **args)  # type: ignore[arg-type]
    return payload


def reasons(log_path: Path) -> list[str]:
    if not log_path.exists():
        return []
    lines = log_path.read_text("utf-8").splitlines()
    return [json.loads(line)["details"]["reason"] for line in lines]


@pytest.fixture(scope="module")
def sealed(keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """One package's bytes (three rows of fake Parquet), shared by the tamper tests."""
    out = tmp_path_factory.mktemp("sealed") / "delivery.p3pkg"
    package.seal(
        out,
        b"PAR1 fake parquet bytes PAR1",
        manifest(),
        signing_key=keys.sender_private,
        recipients=[keys.recipient, keys.other_recipient],
    )
    return out.read_bytes()


# -- round trip -------------------------------------------------------------------------


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=st.binary(max_size=200_000))
def test_seal_then_open_returns_the_payload(keys: Keys, tmp_path: Path, payload: bytes) -> None:
    """seal -> open gives back exactly the payload, for each named recipient."""
    out = tmp_path / "p.p3pkg"
    written = package.seal(
        out,
        payload,
        manifest(),
        signing_key=keys.sender_private,
        recipients=[keys.recipient, keys.other_recipient],
    )
    assert payload == open_(out, keys)
    assert payload == open_(out, keys, identity=keys.other_identity)
    assert written == package.read_manifest(out)
    assert _crypto.fingerprint(keys.recipient) in written.recipients


def test_the_package_appears_only_after_its_record(keys: Keys, tmp_path: Path) -> None:
    """``record`` runs with the complete package on disk under a temporary name and no
    file at ``out``; ``out`` appears after it returns. When it fails (a refused or
    interrupted record), there is no package and no temporary file."""
    out = tmp_path / "p.p3pkg"
    seen: list[tuple[bool, list[str], str]] = []

    def record(sealed: package.Manifest) -> None:
        temporaries = sorted(p.name for p in tmp_path.iterdir())
        seen.append((out.exists(), temporaries, sealed.payload_sha256))

    written = package.seal(
        out, b"payload", manifest(), signing_key=keys.sender_private,
        recipients=[keys.recipient], record=record,
    )  # fmt: skip
    [(existed, temporaries, sha)] = seen
    assert not existed
    assert len(temporaries) == 1 and temporaries[0].startswith(".p.p3pkg.")
    assert sha == written.payload_sha256
    assert out.exists() and open_(out, keys) == b"payload"

    class Interrupted(Exception):
        pass

    def interrupted(_: package.Manifest) -> None:
        raise Interrupted

    again = tmp_path / "q.p3pkg"
    with pytest.raises(Interrupted):
        package.seal(
            again, b"payload", manifest(), signing_key=keys.sender_private,
            recipients=[keys.recipient], record=interrupted,
        )  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.p3pkg"]


def test_archive_layout_is_deterministic_ustar(sealed: bytes, tmp_path: Path) -> None:
    """The package is a plain ustar with exactly manifest.json, manifest.sig and
    payload.age, mtime 0, owner 0/0, mode 0644, padded to a 10240-byte record."""
    path = tmp_path / "p.p3pkg"
    path.write_bytes(sealed)
    with tarfile.open(path) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["manifest.json", "manifest.sig", "payload.age"]
        for m in members:
            assert (m.mtime, m.uid, m.gid, m.mode, m.uname, m.gname) == (0, 0, 0, 0o644, "", "")
            assert m.isreg()
        manifest_file = tar.extractfile("manifest.json")
        assert manifest_file is not None
        raw = manifest_file.read()
    assert len(sealed) % 10240 == 0
    data = json.loads(raw)
    assert list(data) == sorted(data)
    assert data["format"] == package.FORMAT


def test_manifest_json_round_trips() -> None:
    """to_json/from_json is lossless, and from_json refuses a wrong type."""
    m = manifest(recipients=("sha256:0011223344556677",), payload_sha256="a" * 64)
    assert m == package.Manifest.from_json(m.to_json())
    bad = json.loads(m.to_json())
    bad["row_count"] = True
    with pytest.raises(ValueError):
        package.Manifest.from_json(json.dumps(bad).encode())


def test_payload_decrypts_with_the_age_cli(keys: Keys, tmp_path: Path) -> None:
    """A recipient can check a package by hand: tar -xf, then the standard age CLI."""
    age = shutil.which("age")
    if age is None:
        pytest.fail(
            "the 'age' command is missing: install it (apt-get install age; `make test` does)"
        )
    tar = shutil.which("tar")
    assert tar is not None, "the 'tar' command is missing"
    pkg = tmp_path / "delivery.p3pkg"
    package.seal(
        pkg,
        b"PAR1 rows PAR1",
        manifest(),
        signing_key=keys.sender_private,
        recipients=[keys.recipient],
    )
    identity_file = tmp_path / "identity.txt"
    _crypto.write_secret(identity_file, (keys.identity + "\n").encode())
    subprocess.run([tar, "-xf", str(pkg), "payload.age"], cwd=tmp_path, check=True)
    result = subprocess.run(
        [age, "-d", "-i", str(identity_file), str(tmp_path / "payload.age")],
        capture_output=True,
        check=True,
    )
    assert result.stdout == b"PAR1 rows PAR1"


# -- tamper evidence --------------------------------------------------------------------


def _refused(folder: Path, keys: Keys, data: bytes) -> list[str]:
    """Write ``data`` as a package, open it, assert refusal and that nothing was written;
    return the reasons logged."""
    for leftover in folder.iterdir():
        leftover.unlink()
    pkg = folder / "p.p3pkg"
    pkg.write_bytes(data)
    log_path = folder / "audit.jsonl"
    log = audit.AuditLog(log_path, actor="abb", signing_key=None)
    with pytest.raises(PackageError) as info:
        open_(pkg, keys, log)
    assert str(pkg) in str(info.value)
    assert {"p.p3pkg", "audit.jsonl", "audit.jsonl.lock"} == {p.name for p in folder.iterdir()}
    assert data == pkg.read_bytes()
    audit.verify(log_path)
    return reasons(log_path)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_flipped_byte_is_refused(
    keys: Keys, sealed: bytes, tmp_path: Path, data: st.DataObject
) -> None:
    """Changing any single byte anywhere in the file makes opening fail, with one
    'package.refused' record and no other file written."""
    position = data.draw(st.integers(0, len(sealed) - 1), label="position")
    mask = data.draw(st.integers(1, 255), label="xor mask")
    damaged = bytearray(sealed)
    damaged[position] ^= mask
    logged = _refused(tmp_path, keys, bytes(damaged))
    assert len(logged) == 1
    assert logged[0] in {package.R_STRUCTURE, package.R_SIGNATURE, package.R_PAYLOAD_HASH}


def test_every_truncation_is_refused(keys: Keys, sealed: bytes, tmp_path: Path) -> None:
    """Cutting the file at any length (exhaustively, 0 .. size-1 bytes) is refused."""
    for length in range(len(sealed)):
        pkg = tmp_path / "t.p3pkg"
        pkg.write_bytes(sealed[:length])
        with pytest.raises(PackageError):
            open_(pkg, keys)
    assert {"t.p3pkg"} == {p.name for p in tmp_path.iterdir()}


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(extra=st.binary(min_size=1, max_size=20_000))
def test_appended_bytes_are_refused(
    keys: Keys, sealed: bytes, tmp_path: Path, extra: bytes
) -> None:
    """Bytes after the archive's end (even whole zero blocks) are refused as structure."""
    assert _refused(tmp_path, keys, sealed + extra) == [package.R_STRUCTURE]


def test_a_flipped_payload_byte_is_logged_as_payload_hash(
    keys: Keys, sealed: bytes, tmp_path: Path
) -> None:
    """A damaged payload.age is caught by the signed hash before any decryption."""
    with tarfile.open(fileobj=io.BytesIO(sealed)) as tar:
        offset = tar.getmember("payload.age").offset_data
    damaged = bytearray(sealed)
    damaged[offset + 40] ^= 0x01
    assert _refused(tmp_path, keys, bytes(damaged)) == [package.R_PAYLOAD_HASH]


# -- who may open, who may send ---------------------------------------------------------


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=st.binary(max_size=5000))
def test_non_recipient_identity_is_refused(keys: Keys, tmp_path: Path, payload: bytes) -> None:
    """An identity the package was not encrypted to cannot open it."""
    pkg = tmp_path / "p.p3pkg"
    package.seal(
        pkg, payload, manifest(), signing_key=keys.sender_private, recipients=[keys.recipient]
    )
    log_path = tmp_path / "audit.jsonl"
    log_path.unlink(missing_ok=True)
    log = audit.AuditLog(log_path, actor="abb", signing_key=None)
    with pytest.raises(PackageError):
        open_(pkg, keys, log, identity=keys.outsider_identity)
    assert reasons(log_path) == [package.R_NOT_RECIPIENT]


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=st.binary(max_size=5000))
def test_package_signed_by_a_non_party_is_refused(
    keys: Keys, tmp_path: Path, payload: bytes
) -> None:
    """age does not authenticate senders: a package correctly encrypted to our key but
    signed by someone other than the expected sender is refused."""
    pkg = tmp_path / "p.p3pkg"
    package.seal(
        pkg, payload, manifest(), signing_key=keys.attacker_private, recipients=[keys.recipient]
    )
    log_path = tmp_path / "audit.jsonl"
    log_path.unlink(missing_ok=True)
    log = audit.AuditLog(log_path, actor="abb", signing_key=None)
    with pytest.raises(PackageError):
        open_(pkg, keys, log)
    assert reasons(log_path) == [package.R_SIGNATURE]
    # The same package does open for whoever trusts the attacker's key: the refusal
    # above is due to the key alone.
    assert payload == open_(pkg, keys, sender_key=keys.attacker_public)


def _forge(keys: Keys, manifest_bytes: bytes, payload_age: bytes, signer: bytes) -> bytes:
    """A package with chosen members, built the canonical way (for refusal tests)."""
    return package._pack(
        {
            package.MANIFEST: manifest_bytes,
            package.SIGNATURE: _crypto.sign(signer, manifest_bytes),
            package.PAYLOAD: payload_age,
        }
    )


def test_wrong_step_unknown_format_and_swapped_payload_are_refused(
    keys: Keys, tmp_path: Path
) -> None:
    """Each reason is refused with the same PackageError and its own audit code."""
    pkg = tmp_path / "p.p3pkg"
    sealed = package.seal(
        pkg, b"one", manifest(), signing_key=keys.sender_private, recipients=[keys.recipient]
    )
    log_path = tmp_path / "audit.jsonl"
    log = audit.AuditLog(log_path, actor="abb", signing_key=None)

    with pytest.raises(PackageError):
        open_(pkg, keys, log, expected_step="link")

    future = json.loads(sealed.to_json())
    future["format"] = "pijler3-package/2"
    payload_age = _crypto.encrypt(b"one", [keys.recipient])
    forged = tmp_path / "future.p3pkg"
    forged.write_bytes(_forge(keys, json.dumps(future).encode(), payload_age, keys.sender_private))
    with pytest.raises(PackageError):
        open_(forged, keys, log)

    # A genuine manifest of the sender, with the payload of another package swapped in.
    swapped = tmp_path / "swapped.p3pkg"
    swapped.write_bytes(_forge(keys, sealed.to_json(), payload_age, keys.sender_private))
    with pytest.raises(PackageError):
        open_(swapped, keys, log)

    # The sender signed a hash of a payload that does not decrypt for us (damaged or
    # encrypted to another key although the manifest names ours).
    wrong_key_payload = _crypto.encrypt(b"one", [keys.other_recipient])
    lying = replace(sealed, payload_sha256=_crypto.sha256(wrong_key_payload))
    bad = tmp_path / "bad.p3pkg"
    bad.write_bytes(_forge(keys, lying.to_json(), wrong_key_payload, keys.sender_private))
    with pytest.raises(PackageError):
        open_(bad, keys, log)

    assert reasons(log_path) == [
        package.R_STEP,
        package.R_FORMAT,
        package.R_PAYLOAD_HASH,
        package.R_DECRYPT,
    ]
    audit.verify(log_path)


def test_refusal_record_holds_no_key_or_data(keys: Keys, tmp_path: Path) -> None:
    """The audit record of a refusal names the reason and file, never keys or payload."""
    pkg = tmp_path / "p.p3pkg"
    package.seal(
        pkg,
        b"SECRET-ROWS",
        manifest(),
        signing_key=keys.sender_private,
        recipients=[keys.recipient],
    )
    log_path = tmp_path / "audit.jsonl"
    log = audit.AuditLog(log_path, actor="abb", signing_key=None)
    with pytest.raises(PackageError):
        open_(pkg, keys, log, identity=keys.outsider_identity)
    text = log_path.read_text("utf-8")
    for secret in (keys.outsider_identity, keys.identity, "SECRET-ROWS", keys.sender_public):
        assert secret not in text
    record = json.loads(text)
    assert record["details"] == {
        "reason": package.R_NOT_RECIPIENT,
        "file": "p.p3pkg",
        "step": "publish",
    }
    assert record["event"] == "package.refused"


def test_read_manifest_does_not_need_a_key_and_refuses_damage(
    keys: Keys, sealed: bytes, tmp_path: Path
) -> None:
    """read_manifest shows an intact package's manifest and refuses a broken archive."""
    pkg = tmp_path / "p.p3pkg"
    pkg.write_bytes(sealed)
    assert package.read_manifest(pkg).step == "publish"
    pkg.write_bytes(sealed[:700])
    with pytest.raises(PackageError):
        package.read_manifest(pkg)
    with pytest.raises(PackageError):
        package.read_manifest(tmp_path / "missing.p3pkg")
