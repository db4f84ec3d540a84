"""Publication (art. 10): the protocol rendered from the file the software enforces."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

from test_retention import make_world

from pijler3 import protocol as protocol_mod
from pijler3 import publication


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_every_field_of_art_3_appears_with_description_and_source() -> None:
    p = protocol_mod.load()
    r = publication.render(p, protocol_mod.default_text().encode())
    for f in p.fields:
        row = f"| `{f.name}` | {publication._md(f.description)} | {publication.SOURCES[f.source]}"
        assert row in r.markdown
        assert f"<code>{f.name}</code>" in r.html


def test_html_is_dutch_self_contained_and_loads_nothing() -> None:
    r = publication.render(protocol_mod.load(), b"x")
    parser = _Collect()
    parser.feed(r.html)
    assert ("html", {"lang": "nl"}) in parser.tags
    for tag, attrs in parser.tags:
        assert tag not in ("script", "link", "img", "iframe", "object")
        assert "src" not in attrs
    assert "@import" not in r.html and "url(" not in r.html


def test_term_notice_retention_dpos_and_processors_come_from_the_file() -> None:
    """Changing the protocol file changes the published text: nothing is hard-coded."""
    p = protocol_mod.load()
    r = publication.render(p, b"x")
    assert "van 20/09/2023 tot en met 19/09/2028" in r.markdown
    assert "opzegtermijn van één maand" in r.markdown
    assert "maximaal vijf jaar bewaard" in r.markdown
    assert "Yves Andriessen" in r.markdown and "privacy@integratie-inburgering.be" in r.html
    assert "- ABB: geen verwerkers opgegeven." in r.markdown
    other = dataclasses.replace(
        p,
        retention_years=3,
        processors=(protocol_mod.Processor("abb", "Digitaal Vlaanderen", "Hosting", None),),
    )
    r2 = publication.render(other, b"x")
    assert "maximaal drie jaar bewaard" in r2.markdown
    assert "- ABB: Digitaal Vlaanderen (Hosting)." in r2.markdown


def test_recipients_are_published_as_category_and_count_never_names_or_keys(
    tmp_path: Path,
) -> None:
    """With both researchers registered, neither their names nor their keys appear."""
    world = make_world(tmp_path)
    p = world.abb.protocol()
    assert len(p.recipients) == 2
    r = publication.render(p)
    assert "Beleidsmedewerkers onderzoek van ABB (twee personen)" in r.markdown
    assert "ten hoogste twee (2) personen bij ABB" in r.markdown
    for person in p.recipients:
        for text in (r.markdown, r.html):
            assert person.name not in text
            assert person.age_recipient not in text
            assert person.signing_key not in text


def test_rendering_is_reproducible_and_names_the_protocol_files_hash(tmp_path: Path) -> None:
    """Two renders are byte-identical; the footer carries the file's SHA-256."""
    src = tmp_path / "protocol.toml"
    src.write_text(protocol_mod.default_text(), "utf-8")
    p = protocol_mod.load(src)
    md1, html1 = publication.write(p, tmp_path / "a")
    md2, html2 = publication.write(p, tmp_path / "b")
    assert md1.read_bytes() == md2.read_bytes() and html1.read_bytes() == html2.read_bytes()
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    assert digest in md1.read_text() and digest in html1.read_text()


def test_markdown_escapes_text_that_would_change_the_table() -> None:
    assert publication._md("a | b *c*") == r"a \| b \*c\*"
    assert not re.search(r"(?<!\\)\|", publication._md("x|y"))
