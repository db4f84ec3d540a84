"""The protocol as published (art. 10): Markdown and self-contained Dutch HTML.

The publication has two parts that are never mixed:

1. *Het ondertekende protocol*: the signed text, word for word. It is a Markdown data
   file beside the protocol file (``[protocol] signed_text``, pinned by
   ``signed_text_sha256``; see :mod:`pijler3.contract.signed_text`). The Markdown
   publication carries it unchanged; the HTML renders it with the small renderer of
   :mod:`pijler3.governance.markdown`. Nothing is rebuilt from protocol-file fields and
   nothing the software adds or interprets goes into this part, so it names the
   signatories (AgII's and ABB's representatives) exactly as the signed text does.
2. *Uitvoering door de software (geen deel van het ondertekende protocol)*: how the
   software carries the protocol out, rendered from the very protocol file it enforces
   (fields, recipients, term, retention as counted, security measures, processors, the
   DPO contacts it addresses breach notifications to). A contact the file leaves empty
   is shown as "niet vermeld in het ondertekende protocol".

The footer gives the SHA-256 of the protocol file and of the signed text, so that anyone
can check which files the publication came from. Publishing another protocol needs its
TOML file and its signed text, no change to this module.

Recipients are published as the protocol file names them: the category and the number
("twee personen"), never the researchers' names or keys. The names are operational data
(personal data of staff) that the public does not need, and the keys are of no use to a
reader; the published text therefore also stays the same when a researcher is replaced.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pijler3.contract import signed_text, words
from pijler3.contract.fmt import fmt_date
from pijler3.contract.protocol import Protocol
from pijler3.exchange.atomic import write_atomic
from pijler3.governance import markdown
from pijler3.governance.common import templates

if TYPE_CHECKING:
    import jinja2

# The Dutch words of part 2 are data (data/labels-nl.toml, [protocol]).
SOURCES: Mapping[str, str] = words.table("protocol.sources")
TYPES: Mapping[str, str] = words.table("protocol.types")
NUMBERS: dict[int, str] = {int(k): v for k, v in words.table("protocol.numbers").items()}
NOT_IN_PROTOCOL: str = words.word("protocol", "not_in_protocol")
SECURITY: tuple[str, ...] = words.words("protocol.security", "measures")


@dataclass(frozen=True)
class Rendered:
    markdown: str
    html: str


def _d(day: dt.date | None) -> str:
    return fmt_date(day) if day else ""


def _number(n: int) -> str:
    return NUMBERS.get(n, str(n))


def _or_missing(text: str) -> str:
    return text.strip() or NOT_IN_PROTOCOL


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def _md(text: object) -> str:
    """Escape text for Markdown so that it is shown as written (also inside tables)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _env(autoescape: bool) -> jinja2.Environment:
    env = templates("data/templates", autoescape=autoescape)
    env.filters["d"] = _d
    env.filters["md"] = _md
    env.filters["number"] = _number
    env.filters["or_missing"] = _or_missing
    env.tests["text"] = _is_str
    return env


def render(protocol: Protocol, source: bytes | None = None) -> Rendered:
    """Render ``protocol``; ``source`` is the file's bytes (read from its path if None).

    Refuses (with :class:`~pijler3.contract.errors.ProtocolError`) a protocol file that
    names no signed text, or whose signed text is missing or not the one it pins.
    """
    signed = signed_text.read(protocol)
    if source is None:
        path = Path(protocol.source_path)
        source = path.read_bytes() if path.is_file() else b""
    context = {
        "p": protocol,
        "signed_markdown": signed.markdown.strip("\n"),
        "signed_html": markdown.to_html(signed.markdown, heading_offset=1),
        "signed_sha256": signed.sha256,
        "signed_file": signed.name,
        "parties": [(r, protocol.parties[r]) for r in ("agii", "abb")],
        "vdab": protocol.parties["vdab"],
        "sources": SOURCES,
        "types": TYPES,
        "security": SECURITY,
        "processors": {
            role: [x for x in protocol.processors if x.party == role]
            for role in ("agii", "vdab", "abb")
        },
        "sha256": hashlib.sha256(source).hexdigest() if source else "",
        "file": Path(protocol.source_path).name,
    }
    md = _env(False).get_template("protocol.md.j2").render(context)
    html = _env(True).get_template("protocol.html.j2").render(context)
    return Rendered(md, html)


def write(protocol: Protocol, out: Path, source: bytes | None = None) -> tuple[Path, Path]:
    """Write ``protocol.md`` and ``protocol.html`` into ``out``; return their paths."""
    rendered = render(protocol, source)
    out.mkdir(parents=True, exist_ok=True)
    md_path, html_path = out / "protocol.md", out / "protocol.html"
    write_atomic(md_path, rendered.markdown.encode("utf-8"))
    write_atomic(html_path, rendered.html.encode("utf-8"))
    return md_path, html_path
