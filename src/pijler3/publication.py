"""The protocol as published (art. 10): Markdown and self-contained Dutch HTML.

Both are rendered from the very protocol file that the software enforces, so the
published text cannot drift from what the chain checks; the footer gives the SHA-256 of
that file so that anyone can check which file it was.

Recipients are published as the protocol names them: the category and the number
("twee personen"), never the researchers' names or keys. The signed protocol itself
names only the category; the names are operational data (personal data of staff) that
the public does not need to understand who may see the data, and the keys are of no use
to a reader. The published text therefore also stays the same when a researcher is
replaced. Processors are published by party, name and service, as art. 6 asks the
parties to tell each other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2

from pijler3.atomic import write_atomic
from pijler3.protocol import Protocol

SOURCES = {
    "KBI": "Cliëntvolgsysteem AgII (KBI)",
    "VDAB": "VDAB-databank",
    "DERIVED": "Afgeleid bij koppeling en pseudonimisering (VDAB)",
}
TYPES = {"text": "tekst", "date": "datum", "bool": "ja/nee", "code": "code"}
NUMBERS = {1: "één", 2: "twee", 3: "drie", 4: "vier", 5: "vijf", 6: "zes", 12: "twaalf"}

# The measures the software itself enforces (SYSTEM.md), stated in the published text.
SECURITY = (
    "Elk pakket wordt versleuteld (age, X25519) voor uitsluitend de ontvangers die het"
    " protocol noemt, en ondertekend (Ed25519) door de verzendende partij; de ontvanger"
    " controleert die handtekening met de sleutel uit het protocolbestand.",
    "Alleen VDAB beschikt over de pseudonimiseringssleutel; AgII en ABB zien na de"
    " export geen rijksregisternummer meer en kunnen het niet uit een pseudoniem afleiden.",
    "Elke stap weigert velden die niet in artikel 3 staan en laat geen directe"
    " identificatoren door; vrije tekst wordt op identificatoren gecontroleerd.",
    "Vóór de terbeschikkingstelling aan ABB wordt het heridentificatierisico getoetst.",
    "ABB ziet geaggregeerde tabellen met onderdrukking van kleine cellen; verdere"
    " mededeling van microdata vereist een voorafgaande, ondertekende melding aan AgII"
    " (artikel 4).",
    "Elke partij houdt een append-only, met hashes geketend auditlogboek bij dat op"
    " verzoek aan de andere partij kan worden voorgelegd.",
    "Leveringen worden na de bewaartermijn vernietigd; van elke vernietiging wordt een"
    " ondertekende verklaring opgemaakt voor de functionaris voor gegevensbescherming"
    " van AgII.",
    "Gegevenslekken worden geregistreerd en gemeld aan de functionaris voor"
    " gegevensbescherming van de andere partij; de termijn van 72 uur van artikel 33 AVG"
    " wordt opgevolgd.",
)


@dataclass(frozen=True)
class Rendered:
    markdown: str
    html: str


def _d(day: dt.date | None) -> str:
    return f"{day:%d/%m/%Y}" if day else ""


def _number(n: int) -> str:
    return NUMBERS.get(n, str(n))


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def _md(text: object) -> str:
    """Escape text for Markdown so that it is shown as written (also inside tables)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def _env(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pijler3", "data/templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["d"] = _d
    env.filters["md"] = _md
    env.filters["number"] = _number
    return env


def render(protocol: Protocol, source: bytes | None = None) -> Rendered:
    """Render ``protocol``; ``source`` is the file's bytes (read from its path if None)."""
    if source is None:
        path = Path(protocol.source_path)
        source = path.read_bytes() if path.exists() else b""
    context = {
        "p": protocol,
        "parties": [protocol.parties[r] for r in ("agii", "abb")],
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
