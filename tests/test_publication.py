"""Publication (art. 10): the protocol rendered from the file the software enforces."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_retention import make_world

from pijler3.contract import protocol as protocol_mod
from pijler3.governance import publication


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
    """Part 2 changes with the protocol file (nothing there is hard-coded), while the
    signed articles stay as signed."""
    p = protocol_mod.load()
    r = publication.render(p, b"x")
    software = r.markdown.split(publication_part2())[1]
    assert "van 20/09/2023 tot en met 19/09/2028" in software
    assert "opzegtermijn van één maand" in software
    assert "maximaal vijf jaar, gerekend vanaf de ontvangst" in software
    assert "| ABB | Yves Andriessen | yves.andriessen@vlaanderen.be | +32 484 339 699 |" in software
    assert "- ABB: geen verwerkers opgegeven." in software
    other = dataclasses.replace(
        p,
        retention_years=3,
        processors=(protocol_mod.Processor("abb", "Digitaal Vlaanderen", "Hosting", None),),
    )
    r2 = publication.render(other, b"x")
    assert "maximaal drie jaar, gerekend vanaf de ontvangst" in r2.markdown
    assert "- ABB: Digitaal Vlaanderen (Hosting)." in r2.markdown
    assert "gedurende 5 jaar bewaard worden" in r2.markdown  # art. 3 as signed


def publication_part2() -> str:
    return "# Deel 2. Uitvoering door de software (geen deel van het ondertekende protocol)"


def test_every_article_1_to_12_is_rendered_as_signed_in_part_1() -> None:
    """Each article heading appears once, in order, in part 1 of both renderings, with
    clauses the earlier rendering left out or replaced (art. 6 SharePoint, 7, 8, 11)."""
    r = publication.render(protocol_mod.load(), b"x")
    signed = r.markdown.split(publication_part2())[0]
    positions = [signed.index(f"## Artikel {n}") for n in range(1, 13)]
    assert positions == sorted(positions)
    for n in range(1, 13):
        assert signed.count(f"## Artikel {n}:") + signed.count(f"## Artikel {n}.") == 1
        assert f"Artikel {n}" in r.html
    for clause in (
        "ter beschikking gesteld via de Sharepoint van de werkgroep BI rapportering",
        "De data uit de cliëntvolgsystemen zijn niet gecleaned",
        "middels eenvoudige kennisgeving en zonder voorafgaandelijke ingebrekestelling"
        " eenzijdig beëindigen",
        "Dit protocol wordt beheerst door het Belgisch recht.",
        "beslecht door de bevoegde rechtbank in Brussel",
        "wanneer er geen rechtsgrond meer bestaat",
        "moet voorafgaandelijk aan AgII worden gemeld",
        "Yves Andriessen | +32 484 339 699 yves.andriessen@vlaanderen.be",
    ):
        assert clause in signed, clause
        assert clause.split(" | ")[0] in r.html
    assert "Uitvoering door de software (geen deel van het ondertekende protocol)" in r.html


def test_interpretations_stay_out_of_the_signed_part() -> None:
    """What the software adds (aggregates outside art. 4, retention counted from receipt)
    is only in part 2, and labelled as a choice of the implementation."""
    r = publication.render(protocol_mod.load(), b"x")
    signed, software = r.markdown.split(publication_part2())
    for added in ("vallen daar niet onder", "gerekend vanaf de ontvangst", "Geaggregeerde"):
        assert added not in signed
    assert "gerekend vanaf de ontvangst" in software and "keuze van de uitvoering" in software
    html_signed, html_software = r.html.split('<section id="software">')
    assert "gerekend vanaf de ontvangst" not in html_signed
    assert "gerekend vanaf de ontvangst" in html_software


def test_agii_is_represented_by_both_signatories_from_the_protocol_file() -> None:
    p = protocol_mod.load()
    r = publication.render(p, b"x")
    assert p.parties["agii"].representative.startswith("Roeland Verhaert")
    expected = f"rechtsgeldig vertegenwoordigd door {p.parties['agii'].representative}"
    assert expected in r.markdown and expected in r.html
    assert "Jo De Ro, algemeen directeur" in expected


def test_missing_dpo_contacts_are_shown_as_not_in_the_signed_protocol() -> None:
    """AgII's and VDAB's DPO contacts are empty in the file: shown as such, never
    invented."""
    r = publication.render(protocol_mod.load(), b"x")
    missing = publication.NOT_IN_PROTOCOL
    assert missing == "niet vermeld in het ondertekende protocol"
    assert f"| AgII | {missing} | {missing} | {missing} |" in r.markdown
    assert f"| VDAB | {missing} | {missing} | {missing} |" in r.markdown
    assert f"<tr><td>AgII</td><td>{missing}</td>" in r.html
    assert "privacy@" not in r.markdown + r.html


def test_a_file_that_is_not_the_signed_protocol_or_exceeds_it_is_refused() -> None:
    """Another protocol id, or a longer retention than signed, is not published under
    these articles."""
    p = protocol_mod.load()
    with pytest.raises(publication.PublicationError, match="no signed text"):
        publication.render(dataclasses.replace(p, id="next"), b"x")
    with pytest.raises(publication.PublicationError, match="retention_years = 7 exceeds"):
        publication.render(dataclasses.replace(p, retention_years=7), b"x")


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
