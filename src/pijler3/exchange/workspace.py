"""A party's workspace: its protocol file, keys, outbox/inbox, audit log and stores.

Layout::

    WS/workspace.toml      role, name, format version
    WS/protocol.toml       the protocol this workspace works under (public keys filled in)
    WS/<signed text>       the signed protocol text the protocol file names and pins
                           (``[protocol] signed_text``), copied along with it
    WS/keys/               owner-only: age identity, Ed25519 signing key, (VDAB) the
                           pseudonymisation master key, and public.toml
    WS/outbox/ WS/inbox/   packages sent and received
    WS/audit.jsonl         the hash-chained audit log
    WS/quarantine/         (AgII) rows that cannot leave, by row number and reason
    WS/store/              (ABB) the DuckDB analysis store
    WS/archive/            (ABB) the packages received, kept until their expiry
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import os
import shutil
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pijler3.contract import protocol as protocol_mod
from pijler3.contract import protocol_keys, signed_text
from pijler3.contract.errors import UserError
from pijler3.exchange import _crypto, audit
from pijler3.exchange.atomic import write_atomic

FORMAT = "pijler3-workspace/1"
STAGING_PREFIX = ".staging-"
ROLES = protocol_mod.ROLES


@dataclass(frozen=True)
class PublicKeys:
    role: str
    name: str
    age_recipient: str
    signing_key: str


@dataclass(frozen=True)
class Workspace:
    """A party's workspace. ``protocol_file``, when given, is another protocol file to
    work under instead of the workspace's own copy (it must name the same keys)."""

    root: Path
    role: str
    name: str
    protocol_file: Path | None = None

    @property
    def protocol_path(self) -> Path:
        return self.root / "protocol.toml"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def audit_path(self) -> Path:
        return self.root / "audit.jsonl"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def store_path(self) -> Path:
        return self.root / "store" / "analysis.duckdb"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    def protocol(self) -> protocol_mod.Protocol:
        """The protocol this workspace works under: ``protocol_file`` when the workspace
        was opened with one, else the workspace's own ``protocol.toml``."""
        chosen = self.protocol_file
        own = protocol_mod.load(self.protocol_path)
        if chosen is None or chosen.resolve() == self.protocol_path.resolve():
            return own
        other = protocol_mod.load(chosen)
        if _keys(other) != _keys(own):
            # Keys decide who may open, sign and acknowledge: another file may bring the
            # next protocol, not other keys, unless it is installed (and so audited).
            raise UserError(
                f"{chosen}: names other keys than this workspace's protocol.",
                hint="Install it in the workspace with 'pijler3 protocol install' first.",
            )
        return other

    def _secret(self, name: str) -> bytes:
        path = self.keys / name
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise UserError(
                f"{path}: key file not found.",
                hint=f"Is {self.root} a {self.role} workspace made with 'pijler3 init'?",
            ) from None

    def identity(self) -> str:
        return self._secret("age.key").decode().strip()

    def signing_key(self) -> bytes:
        return self._secret("signing.key")

    def pseudonym_master(self) -> bytes:
        if self.role != "vdab":
            raise UserError("only VDAB's workspace holds the pseudonymisation key.")
        return self._secret("pseudonym.key")

    def public(self) -> PublicKeys:
        data = tomllib.loads((self.keys / "public.toml").read_text("utf-8"))
        return PublicKeys(self.role, self.name, data["age_recipient"], data["signing_key"])

    def audit(self) -> audit.AuditLog:
        return audit.AuditLog(self.audit_path, actor=self.role, signing_key=self.signing_key())

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        """A private folder ``inbox/.staging-<random>`` for a copy being verified.

        The folder is locked (``flock``) while in use and removed afterwards; a folder
        left by a killed process is unlocked, so :meth:`clean_staging` can tell it from
        one that another process is still using.
        """
        folder = self.inbox / f"{STAGING_PREFIX}{os.urandom(4).hex()}"
        folder.mkdir(mode=0o700, parents=True)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            os.close(fd)

    def clean_staging(self) -> list[str]:
        """Remove what killed processes left in ``inbox/.staging-*``; return what went.

        A staged copy is a complete package that the researcher's key decrypts, so none
        may outlive the process that made it. Folders in use (locked) are left alone.
        """
        removed: list[str] = []
        if not self.inbox.is_dir():
            return removed
        for folder in sorted(self.inbox.glob(f"{STAGING_PREFIX}*")):
            if folder.is_symlink() or not folder.is_dir():
                removed.append(str(folder.relative_to(self.root)))
                folder.unlink(missing_ok=True)
                continue
            try:
                fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            except FileNotFoundError:
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # another process is verifying a package in it right now
                removed += sorted(
                    str(p.relative_to(self.root)) for p in folder.rglob("*") if not p.is_dir()
                )
                removed.append(str(folder.relative_to(self.root)))
                shutil.rmtree(folder, ignore_errors=True)
            finally:
                os.close(fd)
        return removed


def _keys(p: protocol_mod.Protocol) -> tuple[object, ...]:
    parties = tuple((x.id, x.age_recipient, x.signing_key) for x in p.parties.values())
    people = tuple(sorted((r.name, r.age_recipient, r.signing_key) for r in p.recipients))
    return parties, people


def open_workspace(
    path: Path, *, role: str | None = None, protocol_file: Path | None = None
) -> Workspace:
    """Open a workspace made by :func:`init`, checking its role when one is expected.

    ``protocol_file`` points the workspace at another protocol file than its own copy
    (see :meth:`Workspace.protocol`); it is checked when opened, so a bad one fails here.
    """
    meta = path / "workspace.toml"
    try:
        data = tomllib.loads(meta.read_text("utf-8"))
    except FileNotFoundError:
        raise UserError(
            f"{path}: not a pijler3 workspace (no workspace.toml).",
            hint="Create one with 'pijler3 init'.",
        ) from None
    if data.get("format") != FORMAT:
        raise UserError(f"{meta}: unknown workspace format.")
    ws = Workspace(path, str(data["role"]), str(data.get("name", "")), protocol_file)
    if role is not None and ws.role != role:
        raise UserError(
            f"{path}: this is the {ws.role} workspace; this command needs the {role} one."
        )
    if protocol_file is not None:
        ws.protocol()
    return ws


def init(
    role: str,
    root: Path,
    *,
    name: str = "",
    protocol_path: Path | None = None,
    now: dt.datetime,
) -> Workspace:
    """Create a workspace with fresh secrets (owner-only files) and return it."""
    if role not in ROLES:
        raise UserError(f"unknown role '{role}'.", hint=f"Choose one of {', '.join(ROLES)}.")
    if (root / "workspace.toml").exists():
        raise UserError(
            f"{root}: a workspace exists here already.",
            hint="Choose another folder; existing keys are never overwritten.",
            param="root",
        )
    if role == "abb" and not name:
        raise UserError(
            "an ABB workspace belongs to one researcher: give the researcher's name.",
            param="name",
        )
    text = protocol_path.read_text("utf-8") if protocol_path else protocol_mod.default_text()
    proto = protocol_mod.loads(text, str(protocol_path or "the shipped protocol"))
    signed = _signed_text(proto)
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    # Modes are set explicitly, not left to the umask: under umask 000 mkdir would make
    # a world-writable workspace, where anyone could swap a package or the protocol. A
    # folder the user made beforehand only loses write access for group and others.
    os.chmod(root, 0o700 if created else root.stat().st_mode & 0o7755)
    subdirs = {"agii": ("quarantine",), "vdab": (), "abb": ("archive", "store")}[role]
    for sub in ("outbox", "inbox", *subdirs):
        (root / sub).mkdir(mode=0o700, exist_ok=True)
        os.chmod(root / sub, 0o700)
    keys = root / "keys"
    keys.mkdir(mode=0o700, exist_ok=True)
    os.chmod(keys, 0o700)
    secret, recipient = _crypto.new_identity()
    signing, verify_key = _crypto.new_signing_key()
    _crypto.write_secret(keys / "age.key", (secret + "\n").encode())
    _crypto.write_secret(keys / "signing.key", signing)
    if role == "vdab":
        from pijler3.exchange import pseudonym  # Polars: only VDAB's set-up needs it

        _crypto.write_secret(keys / "pseudonym.key", os.urandom(pseudonym.MASTER_KEY_BYTES))
    public = (
        f'role = "{role}"\nname = "{name}"\n'
        f'age_recipient = "{recipient}"\nsigning_key = "{verify_key}"\n'
    )
    write_atomic(keys / "public.toml", public.encode())
    if signed is not None:
        write_atomic(root / signed.name, signed.data)
    write_atomic(root / "protocol.toml", text.encode())
    meta = f'format = "{FORMAT}"\nrole = "{role}"\nname = "{name}"\ncreated = "{now.isoformat()}"\n'
    write_atomic(root / "workspace.toml", meta.encode())
    ws = Workspace(root, role, name)
    ws.audit().append(
        "workspace.init",
        {"role": role, "age_recipient": recipient, "signing_key": verify_key},
        now=now,
    )
    return ws


def _signed_text(proto: protocol_mod.Protocol) -> signed_text.SignedText | None:
    """The signed text to copy along with a protocol file (None when it names none).

    Read, and so checked against its pin, before anything is written, so that a
    workspace never holds a protocol file whose signed text is missing or altered.
    """
    return signed_text.read(proto) if proto.signed_text else None


def install_protocol(ws: Workspace, file: Path, *, now: dt.datetime) -> protocol_mod.Protocol:
    """Make ``file`` the workspace's protocol, with the signed text it names beside it.

    The signed text is written first: the protocol file that names it replaces the old
    one last, so an interrupted install leaves the previous protocol in force.
    """
    proto = protocol_mod.load(file)
    data = file.read_bytes()
    signed = _signed_text(proto)
    if signed is not None:
        write_atomic(ws.root / signed.name, signed.data)
    write_atomic(ws.protocol_path, data)
    ws.audit().append(
        "protocol.installed",
        {
            "protocol": proto.identifier,
            "sha256": hashlib.sha256(data).hexdigest(),
            "signed_text_sha256": proto.signed_text_sha256,
        },
        now=now,
    )
    return proto


def register_keys(protocol_file: Path, keys: PublicKeys) -> None:
    """Write a workspace's public keys into a protocol file (AgII/VDAB as party, ABB as
    a named recipient)."""
    text = protocol_file.read_text("utf-8")
    if keys.role == "abb":
        new = protocol_keys.with_recipient(
            text, name=keys.name, age_recipient=keys.age_recipient, signing_key=keys.signing_key
        )
    else:
        new = protocol_keys.with_party_keys(
            text, keys.role, age_recipient=keys.age_recipient, signing_key=keys.signing_key
        )
    write_atomic(protocol_file, new.encode())
