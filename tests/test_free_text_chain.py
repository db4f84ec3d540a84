"""Identifiers typed into ``plo_reden`` in any spelling never reach ABB's store.

Issue 11, item 1: a person types around patterns. These tests plant identifiers in the
free text of a generated extract, in more than twenty spellings (separators, look-alike
digits, words, reversed and other persons' names, addresses and birth dates), run the
real chain export → link → publish → ingest, and search every text value of ABB's
DuckDB store. The allow-list's ``k`` comes from the protocol file: a run under another
``k`` shows that a word used by exactly ``k`` persons travels and one used by ``k - 1``
does not.
"""

# STYLE.md asks for `assert expected == actual`, which ruff calls a Yoda condition.
# ruff: noqa: SIM300

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from conftest import NOW, SETUP, protocol_text
from num2words import num2words

from pijler3 import demo
from pijler3.contract import codes, insz
from pijler3.contract.errors import UserError
from pijler3.exchange import workspace
from pijler3.extracts import synth
from pijler3.steps import export, ingest, link, publish

DAY = dt.date(2026, 6, 30)
AT = dt.datetime(2026, 7, 7, 9, tzinfo=dt.UTC)
REDEN = "Reden besluit PLO"
# Harmless words planted in the texts of exactly K_SMALL and K_SMALL - 1 persons.
K_SMALL = 3
SHARED_WORD = "kwartiermaker"
ALMOST_SHARED_WORD = "halfwegbegeleiding"


def protocol_with_k(k: int) -> str:
    """The shipped protocol with ``free_text.min_persons`` set to ``k``."""
    text, n = re.subn(r"(?m)^min_persons = \d+", f"min_persons = {k}", protocol_text())
    assert n == 1
    return text


@dataclass(frozen=True)
class Plant:
    """A spelling planted in one person's text, and what of it must not reach ABB."""

    name: str
    text: str
    digits: tuple[str, ...] = ()  # digit strings (8 or more digits)
    words: tuple[str, ...] = ()  # whole words (folded)
    phrases: tuple[str, ...] = ()  # word sequences (folded, single spaces)


def _fold(text: str) -> str:
    """NFKC, look-alike digits as ASCII, accents and case dropped, format chars gone."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(
        str(unicodedata.digit(ch)) if ch.isdigit() else ch
        for ch in text
        if unicodedata.category(ch) != "Cf"
    )
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


def leaks(value: str, plant: Plant) -> list[str]:
    """What of a plant a text value holds (empty when nothing)."""
    folded = _fold(value)
    joined = re.sub(r"(?<=\d)[^\w]+(?=\d)", "", folded.replace("_", " "))
    runs = re.findall(r"\d{8,}", joined)
    words = set(re.findall(r"[^\W\d_]+", folded))
    spaced = " ".join(re.findall(r"[^\W\d_]+", folded))
    found = [d for d in plant.digits if any(d in run for run in runs)]
    found += [w for w in plant.words if w in words]
    found += [p for p in plant.phrases if f" {p} " in f" {spaced} "]
    return found


def _words(n: int) -> str:
    return str(num2words(n, lang="nl"))


_MONTHS = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)  # fmt: skip


def _date_in_words(day: dt.date) -> tuple[str, tuple[str, ...]]:
    words = (_words(day.day), _words(day.year))
    return f"{words[0]} {_MONTHS[day.month - 1]} {words[1]}", tuple(_fold(w) for w in words)


def _public_words() -> set[str]:
    """Words of the shipped data files: code labels and protocol text are no leak."""
    data = resources.files("pijler3").joinpath("data")
    text = " ".join(
        data.joinpath(n).read_text("utf-8")
        for n in ("protocol-2023-09-20.toml", "codelists.toml", "nationaliteit.toml")
    )
    return set(re.findall(r"[^\W\d_]+", _fold(text)))


def _name_words(*values: str) -> tuple[str, ...]:
    """The words of a name or street worth searching for (4 letters or more, not public)."""
    public = _public_words()
    return tuple(
        w for v in values for w in re.findall(r"[^\W\d_]{4,}", _fold(v)) if w not in public
    )


def _persons(kbi: Path) -> pl.DataFrame:
    """The raw rows of persons with a valid INSZ, one row per INSZ, with a birth date."""
    raw = pl.read_csv(kbi, separator=";", infer_schema=False).with_row_index("_i")
    rows = []
    seen: set[str] = set()
    for r in raw.iter_rows(named=True):
        number, problem = insz.check(r["Rijksregisternummer"])
        born = codes.parse_date(r["Geboortedatum "])
        if problem or number is None or number in seen or born is None:
            continue
        if not (r["Naam"] and r["Voornaam"] and r["Straat"] and r["Telefoon"] and r["E-mail"]):
            continue
        seen.add(number)
        rows.append({**r, "insz": number, "born": born})
    return pl.DataFrame(rows)


# Past the statement limit on purpose: a table of planted spellings, one statement each,
# reads best in one place.
def plants(persons: list[dict[str, Any]]) -> list[Plant]:  # noqa: PLR0915
    """More than twenty spellings; ``persons[i]`` is the person whose text holds plant i.

    "Another person" is always someone further down the list, whose text holds nothing.
    """
    out: list[Plant] = []

    def own(i: int) -> dict[str, Any]:
        return persons[i]

    def other(i: int) -> dict[str, Any]:
        return persons[i + 40]

    def fmt_insz(n: str, dot: str = ".", dash: str = "-") -> str:
        return f"{n[:2]}{dot}{n[2:4]}{dot}{n[4:6]}{dash}{n[6:9]}{dot}{n[9:]}"

    def phone(p: dict[str, Any]) -> str:
        return re.sub(r"\D", "", p["Telefoon"])

    add = out.append
    n = own(0)["insz"]
    add(Plant("insz en dash", f"RRN {fmt_insz(n, '.', ' – ')}", digits=(n,)))
    n = own(1)["insz"]
    add(Plant("insz underscores", f"rr {fmt_insz(n, '_', '_')} nakijken", digits=(n,)))
    n = own(2)["insz"]
    add(Plant("insz double spaces", f"rr {fmt_insz(n, '  ', '  ')}", digits=(n,)))
    n = own(3)["insz"]
    full = "".join(chr(0xFF10 + int(c)) for c in n)
    add(Plant("insz fullwidth digits", f"nummer {full}", digits=(n,)))
    n = own(4)["insz"]
    add(Plant("insz zero-width spaces", "rr " + "\u200b".join(n), digits=(n,)))
    n = other(5)["insz"]
    arabic = "".join(chr(0x0660 + int(c)) for c in n)
    add(Plant("other's insz, Arabic-Indic digits", f"zie {arabic}", digits=(n,)))
    n = other(6)["insz"]
    add(Plant("other's insz with slashes", f"dossier {n[:6]}/{n[6:9]}/{n[9:]}", digits=(n,)))
    n = own(7)["insz"]
    spoken = " ".join(_words(int(c)) for c in n)
    add(Plant("insz in words", f"nummer {spoken}", phrases=(_fold(spoken),)))
    p = phone(own(8))
    add(Plant("phone in brackets", f"bel ({p[:4]}) {p[4:6]} {p[6:8]} {p[8:]}", digits=(p,)))
    p = phone(other(9))
    add(Plant("other's phone, +32", f"gsm +32 {p[1:4]}/{p[4:6]}.{p[6:8]}.{p[8:]}", digits=(p[1:],)))
    p = phone(own(10))
    add(Plant("phone with en dashes", f"tel {p[:4]}–{p[4:6]}–{p[6:8]}–{p[8:]}", digits=(p,)))
    add(Plant("iban with dashes", "rek BE68-5390-0754-7034", digits=("68539007547034",)))
    add(Plant("iban lower case, dots", "rekening be71.0961.2345.6769", digits=("71096123456769",)))
    mail = other(13)["E-mail"]
    local, domain = mail.split("@")
    host, tld = domain.rsplit(".", 1)
    local_words = _name_words(local.replace(".", " "))
    add(Plant("other's e-mail in words", f"mail {local} at {host} dot {tld}", words=local_words))
    mail = own(14)["E-mail"]
    local, domain = mail.split("@")
    host, tld = domain.rsplit(".", 1)
    add(
        Plant(
            "e-mail with [at] and [dot]",
            f"mail {local} [at] {host} [dot] {tld}",
            words=_name_words(local.replace(".", " ")),
        )
    )
    mail = other(15)["E-mail"]
    add(
        Plant(
            "e-mail with a fullwidth at sign",
            "mail " + mail.replace("@", "\uff20"),
            words=_name_words(mail.split("@")[0].replace(".", " ")),
        )
    )
    q = own(16)
    add(
        Plant(
            "reversed own name",
            f"{q['Naam']} {q['Voornaam']} belde",
            words=_name_words(q["Naam"], q["Voornaam"]),
        )
    )
    q = own(17)
    shouted = _fold(f"{q['Voornaam']} {q['Naam']}").upper()
    add(Plant("own name, capitals without accents", shouted, words=_name_words(shouted)))
    q = other(18)
    add(
        Plant(
            "another person's full name",
            f"Samen met {q['Voornaam']} {q['Naam']} ingeschreven",
            words=_name_words(q["Naam"], q["Voornaam"]),
        )
    )
    q = other(19)
    add(
        Plant(
            "another person's street and number",
            f"verhuist naar {q['Straat']} {q['Huisnummer']}",
            words=_name_words(q["Straat"]),
        )
    )
    spoken, words = _date_in_words(other(20)["born"])
    add(Plant("another person's birth date in words", f"broer geboren {spoken}", words=words))
    spoken, words = _date_in_words(own(21)["born"])
    add(Plant("own birth date in words", f"geboren op {spoken}", words=words))
    born = own(22)["born"]
    add(
        Plant(
            "own birth date with dots and spaces",
            f"geboren {born:%d . %m . %Y}",
            digits=(f"{born:%d%m%Y}",),
        )
    )
    q = other(23)
    add(
        Plant(
            "another person's name with a Cyrillic look-alike",
            f"partner {q['Voornaam'].replace('a', 'а')} {q['Naam'].replace('e', 'е')}",
            words=_name_words(q["Naam"].replace("e", "е")),
        )
    )
    return out


@dataclass(frozen=True)
class Planted:
    kbi: Path
    werkzoekenden: Path
    acties: Path
    plants: list[Plant]
    shared_by: dict[str, int]  # harmless word -> number of persons whose text holds it


def plant_extract(root: Path) -> Planted:
    """A synthetic delivery with the spellings of :func:`plants` in its free text."""
    ex = synth.generate(root / "extract", persons=700, peildatum=DAY, seed=11)
    people = _persons(ex.kbi).to_dicts()
    assert len(people) > 80, "enough persons for planted and 'other' persons"
    planted = plants(people)
    texts: dict[int, str] = {people[i]["_i"]: p.text for i, p in enumerate(planted)}
    # Harmless words in the texts of exactly K_SMALL and K_SMALL - 1 persons (not those
    # who hold a plant, nor the "other" persons whose values are planted).
    helpers = people[len(planted) : len(planted) + 2 * K_SMALL - 1]
    for j, person in enumerate(helpers):
        word = SHARED_WORD if j < K_SMALL else ALMOST_SHARED_WORD
        texts[person["_i"]] = f"Zoekt werk als {word}"
    raw = pl.read_csv(ex.kbi, separator=";", infer_schema=False).with_row_index("_i")
    new = pl.Series(REDEN, [texts.get(i, t) for i, t in zip(raw["_i"], raw[REDEN], strict=True)])
    raw = raw.with_columns(new).drop("_i")
    kbi = root / "kbi-planted.csv"
    kbi.write_text(raw.write_csv(separator=";"), encoding="utf-8")
    # The planted file holds every plant as written: the planting itself can be checked.
    back = pl.read_csv(kbi, separator=";", infer_schema=False)[REDEN].to_list()
    assert all(p.text in back for p in planted)
    shared = {SHARED_WORD: K_SMALL, ALMOST_SHARED_WORD: K_SMALL - 1}
    return Planted(kbi, ex.werkzoekenden, ex.acties, planted, shared)


def run_chain(root: Path, planted: Planted, k: int) -> workspace.Workspace:
    """Export, link, publish and ingest under a protocol with ``min_persons = k``."""
    spaces = demo.setup(root, SETUP, protocol_with_k(k))
    e = export.export(spaces["agii"], planted.kbi, peildatum=DAY, now=AT)
    li = link.link(spaces["vdab"], e.package, planted.werkzoekenden, planted.acties, now=AT)
    p = publish.publish(spaces["agii"], li.package, now=AT)
    ingest.ingest(spaces["abb-1"], p.package, now=AT)
    return spaces["abb-1"]


def store_texts(ws: workspace.Workspace) -> list[str]:
    """Every distinct text value of every table of ABB's DuckDB store."""
    con = duckdb.connect(str(ws.store_path), read_only=True)
    try:
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR'"
        ).fetchall()
        values: list[str] = []
        for table, column in columns:
            rows = con.execute(
                f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL'
            ).fetchall()
            values += [r[0] for r in rows]
    finally:
        con.close()
    return values


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Planted:
    return plant_extract(tmp_path_factory.mktemp("planted"))


@pytest.fixture(scope="module")
def store_default_k(planted: Planted, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return store_texts(run_chain(tmp_path_factory.mktemp("k10"), planted, 10))


@pytest.fixture(scope="module")
def store_small_k(planted: Planted, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return store_texts(run_chain(tmp_path_factory.mktemp("k3"), planted, K_SMALL))


def test_the_scan_finds_every_plant_in_its_own_text(planted: Planted) -> None:
    """The scan can fail: each planted text, as written, is found by its own search."""
    assert len(planted.plants) >= 20
    assert len({p.name for p in planted.plants}) == len(planted.plants)
    missed = [p.name for p in planted.plants if not leaks(p.text, p)]
    assert missed == []
    assert all(p.digits or p.words or p.phrases for p in planted.plants)


@pytest.mark.parametrize("k", [10, K_SMALL])
def test_no_planted_identifier_reaches_abbs_store(
    planted: Planted, store_default_k: list[str], store_small_k: list[str], k: int
) -> None:
    """Under the shipped k (10) and a small k (3), no spelling reaches any text value."""
    values = store_default_k if k == 10 else store_small_k
    assert values, "the store holds text values to search"
    found = {p.name: hits for p in planted.plants for v in values if (hits := leaks(v, p))}
    assert found == {}


def test_k_comes_from_the_protocol_file(
    store_default_k: list[str], store_small_k: list[str]
) -> None:
    """A word in the texts of exactly k persons travels under that k; k - 1 never does.

    With ``min_persons = 3`` the word shared by three persons reaches ABB and the one
    shared by two does not; with the shipped ``min_persons = 10`` neither does.
    """

    def holds(values: list[str], word: str) -> bool:
        return any(word in re.findall(r"\w+", v.casefold()) for v in values)

    assert (True, False) == (
        holds(store_small_k, SHARED_WORD),
        holds(store_small_k, ALMOST_SHARED_WORD),
    )
    assert (False, False) == (
        holds(store_default_k, SHARED_WORD),
        holds(store_default_k, ALMOST_SHARED_WORD),
    )
    # Common words of the synthetic reasons do travel: the allow-list is not "remove all".
    assert holds(store_default_k, "werk")


def test_publish_refuses_rare_words_that_an_export_under_a_laxer_k_let_through(
    planted: Planted, tmp_path: Path
) -> None:
    """publish applies the allow-list itself: a dataset whose text holds a word fewer
    than k persons use is refused, with an audit record and no package for ABB.

    AgII exports under an installed copy of its protocol with ``min_persons = 1`` (so
    rare words pass export), and publishes under its own protocol (``min_persons = 10``).
    """
    spaces = demo.setup(tmp_path, SETUP, protocol_with_k(10))
    agii = spaces["agii"]
    lax = tmp_path / "lax.toml"
    own = agii.protocol_path.read_text("utf-8")
    lax.write_text(re.sub(r"(?m)^min_persons = \d+", "min_persons = 1", own), encoding="utf-8")
    e = export.export(replace(agii, protocol_file=lax), planted.kbi, peildatum=DAY, now=AT)
    assert e.words_removed > 0, "digits are removed whatever k is"
    li = link.link(spaces["vdab"], e.package, planted.werkzoekenden, planted.acties, now=AT)
    before = sorted(p.name for p in agii.outbox.iterdir())
    with pytest.raises(UserError, match="used by fewer than 10 persons") as refused:
        publish.publish(agii, li.package, now=AT)
    assert "nothing was published" in str(refused.value)
    assert sorted(p.name for p in agii.outbox.iterdir()) == before
    records = [
        line for line in agii.audit_path.read_text().splitlines() if "publish.refused" in line
    ]
    assert len(records) == 1 and "uncommon_word_in_text" in records[0]
    # The refusal never names the word.
    assert not any(w in str(refused.value) for w in (SHARED_WORD, ALMOST_SHARED_WORD))


def test_export_counts_removed_words_in_the_quality_report(
    planted: Planted, tmp_path: Path
) -> None:
    """The manifest's quality block counts words removed; it never lists them."""
    from pijler3.exchange import package

    spaces = demo.setup(tmp_path, SETUP, protocol_with_k(10))
    e = export.export(spaces["agii"], planted.kbi, peildatum=DAY, now=AT)
    m = package.read_manifest(e.package)
    assert m.quality["words_removed"] == e.words_removed > 0
    manifest_text = m.to_json().decode()
    assert not any(leaks(manifest_text, p) for p in planted.plants)


def test_the_report_counts_removed_words(tmp_path: Path) -> None:
    """The quality section reads the count from the manifest and shows it as a number."""
    from test_report import PEILDATUM, small_frame

    from pijler3.analysis.store import Store
    from pijler3.contract import protocol as protocol_mod
    from pijler3.extracts.quality import Quality
    from pijler3.report import data as report_data
    from pijler3.report import html as report_html

    protocol = protocol_mod.load()
    manifest = {"quality": {"identifiers_removed": 7, "words_removed": 1234}}
    typed = Quality.from_manifest(manifest["quality"])
    assert 1234 == report_data.quality_summary(typed, rows=400).words_removed
    with Store(None, protocol) as store:
        store.load_delivery(
            small_frame(protocol),
            delivery_id="20260630-words",
            peildatum=PEILDATUM,
            received_at=dt.datetime(2026, 7, 7, 9, 0),
            expires_at=dt.date(2031, 7, 7),
            package_sha256="test",
            manifest=manifest,
        )
        html = report_html.render_html(report_data.build_report(store, protocol, now=NOW))
    row = html[html.index("Zeldzame woorden en woorden met cijfers") :]
    assert "1.234" in row[: row.index("</tr>")]
