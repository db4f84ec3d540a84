"""The signed protocol text: a Markdown file beside the protocol file, pinned by hash.

A protocol file names its signed text (``[protocol] signed_text``, a bare file name)
and pins it (``signed_text_sha256``). The text is read beside the protocol file; for
the shipped protocol, or a copy of the shipped protocol file written elsewhere without
its text, it is read from the package's data folder. Either way the bytes must have the
pinned SHA-256, so that the text published under a protocol file (art. 10) is the one
installed with it, and a changed word is refused rather than published.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pijler3.contract.errors import ProtocolError
from pijler3.contract.protocol import Protocol


@dataclass(frozen=True)
class SignedText:
    name: str
    data: bytes
    sha256: str

    @property
    def markdown(self) -> str:
        return self.data.decode("utf-8")


def _beside(protocol: Protocol) -> Path | None:
    source = Path(protocol.source_path)
    return source.parent / protocol.signed_text if source.is_file() else None


def read(protocol: Protocol) -> SignedText:
    """The signed text ``protocol`` names, checked against its pinned SHA-256."""
    name = protocol.signed_text
    if not name:
        raise ProtocolError(
            f"{protocol.source_path}: names no signed text (protocol.signed_text); the"
            " protocol is published as signed (art. 10).",
            hint="Put the signed text as Markdown beside the protocol file and name it in"
            " [protocol] signed_text with its signed_text_sha256.",
        )
    beside = _beside(protocol)
    shipped = resources.files("pijler3").joinpath("data", name)
    if beside is not None and beside.is_file():
        where, data = str(beside), beside.read_bytes()
    elif shipped.is_file():
        where, data = f"the shipped {name}", shipped.read_bytes()
    else:
        raise ProtocolError(
            f"{beside or name}: the signed text named by {protocol.source_path} is not there.",
            hint="Keep the signed text beside the protocol file; installing the protocol"
            " file in a workspace copies it along.",
        )
    digest = hashlib.sha256(data).hexdigest()
    if digest != protocol.signed_text_sha256:
        raise ProtocolError(
            f"{where}: SHA-256 {digest} is not the signed_text_sha256 that"
            f" {protocol.source_path} pins; this is not the text installed with it.",
            hint="Restore the signed text; if the signed text itself was corrected, update"
            " signed_text_sha256 and install the protocol file again.",
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(f"{where}: the signed text is not UTF-8 text.") from None
    return SignedText(name, data, digest)
