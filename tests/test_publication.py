"""Publication (art. 10): part 1 is the signed text word for word, part 2 is rendered
from the protocol file the software enforces."""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import hashlib
import html
import re
import shutil
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_retention import make_world

from pijler3.cli import governance as cli_governance
from pijler3.cli.commands import cli
from pijler3.contract import protocol as protocol_mod
from pijler3.contract.errors import ProtocolError
from pijler3.exchange import audit, workspace
from pijler3.governance import markdown, publication

if "render" not in cli.commands["protocol"].commands:  # type: ignore[attr-defined]
    cli_governance.register(cli)

# The signed text as the project's contract holds it (tests/vectors/signed-protocol):
# kept apart from the shipped data file so that the data file is measured against it.
SIGNED_VECTOR = Path(__file__).parent / "vectors" / "signed-protocol" / "PROTOCOL-2023-09-20.md"
SHIPPED_SIGNED = "protocol-2023-09-20.signed.md"
PART_1 = "# Deel 1. Het ondertekende protocol\n"


def words(text: str) -> list[str]:
    """Reduce Markdown or HTML to its words: markup stripped, case folded, dashes unified.

    Inline tags join (``3<sup>e</sup>`` is the word "3e" in both forms); every other tag
    separates words. Punctuation is not a word.
    """
    text = re.sub(r"<(https?://[^\s<>]+)>", r" \1 ", text)  # a Markdown autolink
    text = re.sub(r"</?(?:sup|u|em|strong|a|code)\b[^>]*>", "", text)
    text = re.sub(r"<[^>]*>", " ", text)
    text = html.unescape(text).replace("\\", "")
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text.casefold())
    return re.findall(r"\w+(?:[-'’.@/:]\w+)*", text)


def differences(signed: list[str], published: list[str]) -> list[tuple[str, str, str]]:
    """Each run of signed words left out, changed or added in the published words."""
    matcher = difflib.SequenceMatcher(a=signed, b=published, autojunk=False)
    return [
        (op, " ".join(signed[i1:i2]), " ".join(published[j1:j2]))
        for op, i1, i2, j1, j2 in matcher.get_opcodes()
        if op != "equal"
    ]


def part_1(rendered: publication.Rendered) -> tuple[str, str]:
    """Part 1 of the Markdown and of the HTML publication (without their "Deel 1" title)."""
    md = rendered.markdown.split(PART_1, 1)[1].split(publication_part2(), 1)[0]
    page = rendered.html.split('<div id="ondertekende-tekst">', 1)[1].split("</div>", 1)[0]
    return md, page


def copy_shipped(folder: Path) -> tuple[Path, Path]:
    """The shipped protocol file and its signed text, copied into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    toml = folder / "protocol.toml"
    toml.write_text(protocol_mod.default_text(), "utf-8")
    signed = folder / SHIPPED_SIGNED
    signed.write_bytes(resources.files("pijler3").joinpath("data", SHIPPED_SIGNED).read_bytes())
    return toml, signed


def pin(toml: Path, signed: Path) -> None:
    """Pin ``signed`` in ``toml`` (as a maintainer does after correcting the text)."""
    digest = hashlib.sha256(signed.read_bytes()).hexdigest()
    text = re.sub(
        r'signed_text_sha256 = "\w*"', f'signed_text_sha256 = "{digest}"', toml.read_text("utf-8")
    )
    toml.write_text(text, "utf-8")


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
    """Each article heading appears once, in order, as a heading of part 1 in both
    renderings, with clauses an earlier rendering left out or replaced (art. 6
    SharePoint, 7, 8, 11) and ABB's DPO as the table of art. 6 lists it."""
    r = publication.render(protocol_mod.load(), b"x")
    signed_md, signed_html = part_1(r)
    md_heads = [h for h in signed_md.splitlines() if h.startswith("#")]
    html_heads = re.findall(r"<h[3-6]>(.*?)</h[3-6]>", signed_html)
    for heads in (md_heads, html_heads):
        numbers = [int(m[1]) for h in heads if (m := re.search(r"Artikel (\d+)[:.]", h))]
        assert numbers == list(range(1, 13))
    for clause in (
        "ter beschikking gesteld via de Sharepoint van de werkgroep BI rapportering",
        "De data uit de cliëntvolgsystemen zijn niet gecleaned",
        "zonder voorafgaandelijke ingebrekestelling eenzijdig beëindigen",
        "Dit protocol wordt beheerst door het Belgisch recht.",
        "beslecht door de bevoegde rechtbank in Brussel",
        "wanneer er geen rechtsgrond meer bestaat",
        "moet voorafgaandelijk aan AgII worden gemeld",
    ):
        assert clause in signed_md and clause in signed_html, clause
    assert "ABB\tYves Andriessen\t+32 484 339 699 yves.andriessen@vlaanderen.be" in signed_md
    assert (
        "<tr><td>ABB</td><td>Yves Andriessen</td>"
        "<td>+32 484 339 699 yves.andriessen@vlaanderen.be</td></tr>"
    ) in signed_html
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


def test_part_1_is_the_signed_text_word_for_word() -> None:
    """Reduced to words, part 1 of the Markdown and of the HTML publication equals the
    signed text: no signed word is left out, changed or added (art. 10)."""
    signed = words(SIGNED_VECTOR.read_text("utf-8"))
    assert len(signed) > 2400
    md, page = part_1(publication.render(protocol_mod.load(), b"x"))
    assert differences(signed, words(md)) == []
    assert differences(signed, words(page)) == []


def test_the_parties_clause_is_published_as_signed_not_rebuilt_from_the_file() -> None:
    """The phrases the earlier rendering changed or left out (issue 14) are in part 1,
    and part 1 stays the same when the protocol file's party fields change."""
    p = protocol_mod.load()
    r = publication.render(p, b"x")
    md, page = part_1(r)
    text = " ".join(words(page))
    for phrase in (
        "Het extern verzelfstandigd Agentschap Integratie en Inburgering",
        "met ondernemingsnummer 0543.307.391 (RPR Brussel)",
        "rechtsgeldig vertegenwoordigd door de heer Roeland Verhaert, in de hoedanigheid"
        " van voorzitter van de Raad van Bestuur en door de heer Jo De Ro, in de"
        " hoedanigheid van algemeen directeur",
        "rechtsgeldig vertegenwoordigd door de leidend ambtenaar Jeroen Windey",
    ):
        assert " ".join(words(phrase)) in text, phrase
        assert phrase in md
    parties = dict(p.parties)
    parties["agii"] = dataclasses.replace(parties["agii"], name="X", representative="Y")
    other = publication.render(dataclasses.replace(p, parties=parties), b"x")
    assert part_1(other) == (md, page)


def test_one_changed_word_of_the_signed_text_is_found_or_refused(tmp_path: Path) -> None:
    """On a copy of the data file with one word changed: without a new pin the text is
    refused; pinned again, the word comparison finds exactly that word."""
    toml, signed = copy_shipped(tmp_path)
    text = signed.read_text("utf-8")
    assert text.count("maximaal vijf jaar bewaard") == 1
    signed.write_text(text.replace("maximaal vijf jaar bewaard", "maximaal zes jaar bewaard"))
    with pytest.raises(ProtocolError, match="signed_text_sha256"):
        publication.render(protocol_mod.load(toml))
    pin(toml, signed)
    md, page = part_1(publication.render(protocol_mod.load(toml)))
    expected = [("replace", "vijf", "zes")]
    assert differences(words(SIGNED_VECTOR.read_text("utf-8")), words(md)) == expected
    assert differences(words(SIGNED_VECTOR.read_text("utf-8")), words(page)) == expected


def test_a_second_protocol_renders_with_no_python_change(tmp_path: Path) -> None:
    """Another protocol file (id, title, date) naming its own small signed text is
    published: part 1 is that text, part 2 follows the file; nothing of the first
    protocol's signed text appears."""
    signed = tmp_path / "next.signed.md"
    signed.write_text(
        "PROTOCOL TUSSEN A EN B\n\n## Artikel 1: Onderwerp\n\n"
        "Partij A deelt **gegevens** mee aan partij B.\n\n"
        "- eerste veld\n  - o detail\n\n<u>Naam</u>\t<u>DPO</u>\nB\tJan Peeters\n",
        "utf-8",
    )
    digest = hashlib.sha256(signed.read_bytes()).hexdigest()
    text = protocol_mod.default_text()
    for old, new in (
        ('id = "agii-abb-pijler3-2023-09-20"', 'id = "a-b-2031"'),
        ('title = "Protocol voor de elektronische', 'title = "Protocol A-B over de elektronische'),
        ("signed = 2023-09-20", "signed = 2031-01-15"),
        ('signed_text = "protocol-2023-09-20.signed.md"', 'signed_text = "next.signed.md"'),
    ):
        assert old in text
        text = text.replace(old, new)
    text = re.sub(r'signed_text_sha256 = "\w+"', f'signed_text_sha256 = "{digest}"', text)
    toml = tmp_path / "next.toml"
    toml.write_text(text, "utf-8")
    r = publication.render(protocol_mod.load(toml))
    md, page = part_1(r)
    assert md.strip() == signed.read_text("utf-8").strip()
    assert differences(words(signed.read_text("utf-8")), words(page)) == []
    assert "<h3>Artikel 1: Onderwerp</h3>" in page and "<strong>gegevens</strong>" in page
    assert "<tr><td>B</td><td>Jan Peeters</td></tr>" in page
    assert "<title>Protocol A-B over de elektronische" in r.html
    assert "`a-b-2031`" in r.markdown and "van 15/01/2031 tot en met 14/01/2036" in r.markdown
    assert digest in r.markdown and digest in r.html
    for first in ("Roeland Verhaert", "Jeroen Windey", "Sharepoint"):
        assert first not in r.markdown and first not in r.html


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


def test_a_protocol_without_its_signed_text_is_not_published(tmp_path: Path) -> None:
    """A file that names no signed text, or whose signed text is not beside it (and not
    shipped), is refused with a message naming the file; nothing is written."""
    p = protocol_mod.load()
    with pytest.raises(ProtocolError, match="names no signed text"):
        publication.render(dataclasses.replace(p, signed_text="", signed_text_sha256=""), b"x")
    toml, _ = copy_shipped(tmp_path / "next")
    toml.write_text(toml.read_text("utf-8").replace(SHIPPED_SIGNED, "next.signed.md"), "utf-8")
    with pytest.raises(ProtocolError, match=r"next\.signed\.md: the signed text named by"):
        publication.write(protocol_mod.load(toml), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_signed_text_is_read_beside_the_protocol_file_before_the_shipped_one(
    tmp_path: Path,
) -> None:
    """A copy of the shipped file finds the shipped text; a text beside the file wins,
    and must then have the pinned hash (no silent fall-back to the shipped text)."""
    lone = tmp_path / "lone" / "protocol.toml"
    lone.parent.mkdir()
    lone.write_text(protocol_mod.default_text(), "utf-8")
    assert "Roeland Verhaert" in publication.render(protocol_mod.load(lone)).markdown
    toml, signed = copy_shipped(tmp_path / "beside")
    signed.write_bytes(signed.read_bytes() + b"\nExtra zin.\n")
    with pytest.raises(ProtocolError, match=str(signed)):
        publication.render(protocol_mod.load(toml))


def test_init_and_install_copy_the_signed_text_into_the_workspace(tmp_path: Path) -> None:
    """A workspace holds the signed text beside its protocol.toml, so that rendering
    with the workspace's protocol needs nothing from elsewhere; install copies a new
    protocol's text along and records its pin in the audit log."""
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    ws = workspace.init("agii", tmp_path / "agii", now=now)
    shipped = resources.files("pijler3").joinpath("data", SHIPPED_SIGNED).read_bytes()
    assert (ws.root / SHIPPED_SIGNED).read_bytes() == shipped
    toml, signed = copy_shipped(tmp_path / "next")
    signed.write_text("PROTOCOL VAN 2031\n\nDe volgende tekst.\n", "utf-8")
    renamed = signed.with_name("p2031.signed.md")
    signed.rename(renamed)
    toml.write_text(toml.read_text("utf-8").replace(SHIPPED_SIGNED, renamed.name), "utf-8")
    pin(toml, renamed)
    result = CliRunner().invoke(cli, ["protocol", "install", str(toml), "--ws", str(ws.root)])
    assert result.exit_code == 0, result.output
    assert (ws.root / renamed.name).read_bytes() == renamed.read_bytes()
    shutil.rmtree(tmp_path / "next")
    out = tmp_path / "pub"
    rendered = CliRunner().invoke(cli, ["protocol", "render", "--ws", str(ws.root), "-o", str(out)])
    assert rendered.exit_code == 0, rendered.output
    assert "De volgende tekst." in (out / "protocol.md").read_text("utf-8")
    last = list(audit.events(ws.audit_path))[-1]
    digest = hashlib.sha256((ws.root / renamed.name).read_bytes()).hexdigest()
    assert last["event"] == "protocol.installed"
    assert last["details"]["signed_text_sha256"] == digest


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


def test_rendering_is_reproducible_and_names_both_files_hashes(tmp_path: Path) -> None:
    """Two renders are byte-identical; the footer carries the SHA-256 of the protocol
    file and of the signed text."""
    src = tmp_path / "protocol.toml"
    src.write_text(protocol_mod.default_text(), "utf-8")
    p = protocol_mod.load(src)
    md1, html1 = publication.write(p, tmp_path / "a")
    md2, html2 = publication.write(p, tmp_path / "b")
    assert md1.read_bytes() == md2.read_bytes() and html1.read_bytes() == html2.read_bytes()
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    assert digest in md1.read_text() and digest in html1.read_text()
    signed = hashlib.sha256(SIGNED_VECTOR.read_bytes()).hexdigest()
    assert signed in md1.read_text() and signed in html1.read_text()


def test_markdown_escapes_text_that_would_change_the_table() -> None:
    assert publication._md("a | b *c*") == r"a \| b \*c\*"
    assert not re.search(r"(?<!\\)\|", publication._md("x|y"))


def test_the_renderer_lets_no_markup_through_but_the_five_allowed_tags() -> None:
    """A script, an image or an attribute in the text is shown as text, never as markup;
    sup, u, p, ul and li (used by the signed text) pass."""
    out = markdown.to_html(
        'a <script>x()</script> <img src="y"> <b onclick="z">b</b> 3<sup>e</sup> '
        '<ul style="color: red"><li>c</li></ul> \\*d\\* & <https://e.be/f>'
    )
    assert "<script>" not in out and "<img" not in out and "<b " not in out
    assert "&lt;script&gt;x()&lt;/script&gt;" in out and "&lt;img src=" in out
    assert "3<sup>e</sup>" in out and "<li>c</li>" in out and "<ul " not in out
    assert "*d*" in out and "&amp;" in out
    assert '<a href="https://e.be/f">https://e.be/f</a>' in out


def test_the_renderer_reads_the_constructs_of_the_signed_text() -> None:
    """Headings move down by the offset, two trailing spaces break a line, an indented
    item nests, tab-separated rows split by a blank line stay one table, a row of dashes
    only separates, and emphasis nests."""
    out = markdown.to_html(
        "## Kop\n\nregel een  \nregel twee\n\n- a\n  - b\n- c\n\n"
        "x\ty\n--\t--\n\n\tz\n\n**vet *schuin* recht**\n",
        heading_offset=1,
    )
    assert out == (
        "<h3>Kop</h3>\n"
        "<p>regel een<br>\nregel twee</p>\n"
        "<ul>\n<li>a\n<ul>\n<li>b</li>\n</ul>\n</li>\n<li>c</li>\n</ul>\n"
        '<table class="signed">\n<tr><td>x</td><td>y</td></tr>\n<tr><td></td><td>z</td></tr>\n'
        "</table>\n"
        "<p><strong>vet <em>schuin</em> recht</strong></p>\n"
    )
