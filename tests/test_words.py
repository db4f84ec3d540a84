"""Words for people live in data (STYLE.md): labels and short sentences in
``data/labels-nl.toml`` (read by :mod:`pijler3.contract.words`), letters in the Jinja
templates of ``data/templates/letters/``.

These tests prove that the move kept every word: the letters and labels are compared
byte for byte with what the code wrote before the move (written once, by that code, into
``tests/data/letters/`` and ``tests/data/words-labels.json``; see ``letter_cases.py``
and ``words_cases.py``). They check that every key and template value the code asks for
exists, and that no report or governance module holds a Dutch sentence of its own.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
import string
from collections.abc import Iterator
from pathlib import Path

import jinja2
import jinja2.meta
import letter_cases
import polars as pl
import pytest
import words_cases

from pijler3.analysis import dataset, indicators, population
from pijler3.contract import codes, fmt, words
from pijler3.contract import protocol as protocol_mod
from pijler3.extracts import quality
from pijler3.governance import letters
from pijler3.report import labels

SRC = Path(__file__).resolve().parents[1] / "src" / "pijler3"


# --- The move kept every word --------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(letter_cases.cases()))
def test_letters_are_byte_identical_to_the_code_they_replaced(name: str) -> None:
    """Each letter rendered from its template equals, byte for byte, the letter the
    Python code wrote for the same fixed inputs before the move."""
    expected = (letter_cases.LETTERS / name).read_bytes()
    assert expected == letter_cases.cases()[name]().encode("utf-8")


def test_the_expected_letters_cover_every_case_and_no_other() -> None:
    assert sorted(p.name for p in letter_cases.LETTERS.iterdir()) == sorted(letter_cases.cases())


def test_labels_and_sentences_are_identical_to_the_code_they_replaced() -> None:
    """report.labels, now reading data/labels-nl.toml, says exactly what its Python
    tables said before the move (indicators, fields, categories, risk sentences, …)."""
    expected = json.loads(words_cases.EXPECTED.read_text("utf-8"))
    actual = json.loads(json.dumps(words_cases.cases(), ensure_ascii=False))
    assert expected == actual


# --- Every key the code asks for exists ----------------------------------------------------

_LOOKUPS = {"word", "words", "sentence", "sentences", "table", "has"}


def _python_files() -> Iterator[Path]:
    yield from sorted(SRC.rglob("*.py"))


def _choices(node: ast.expr) -> list[str] | None:
    """The texts an argument can be: a literal, or either branch of ``a if c else b``;
    None when it is computed (such a call is checked where its values are known)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _choices(node.body), _choices(node.orelse)
        return body + orelse if body is not None and orelse is not None else None
    return None


def _lookups() -> list[tuple[str, int, str, str, list[str], set[str]]]:
    """Every ``words.<lookup>("section", "key", name=…)`` call of the library whose
    section is written out: (file, line, lookup, section, possible keys, names given)."""
    found = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "words"
                and node.func.attr in _LOOKUPS
                and node.args
            ):
                continue
            section = _choices(node.args[0])
            keys = _choices(node.args[1]) if len(node.args) > 1 else []
            if section is None or keys is None:
                continue
            given = {k.arg for k in node.keywords if k.arg}
            found += [(path.name, node.lineno, node.func.attr, sec, keys, given) for sec in section]
    return found


def test_the_scan_finds_the_lookups_of_the_library() -> None:
    """The AST scan below sees the calls it must check (it would pass vacuously if not)."""
    seen = {(f, lookup) for f, _, lookup, *_ in _lookups()}
    assert {("labels.py", "sentence"), ("breaches.py", "word"), ("fmt.py", "word")} <= seen


def test_every_section_and_key_the_code_asks_for_exists() -> None:
    missing = []
    for file, line, lookup, section, keys, _ in _lookups():
        try:
            if lookup in ("table", "has"):
                words.table(section)  # "has" may ask for an absent key, not section
            for key in keys if lookup != "has" else []:
                if lookup in ("word", "sentence"):
                    words.word(section, key)
                else:
                    words.words(section, key)
        except words.WordsError as e:
            missing.append(f"{file}:{line}: {e}")
    assert missing == []


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_placeholder_of_a_sentence_is_given_by_its_caller() -> None:
    """A sentence looked up with ``words.sentence(s, k, a=…, b=…)`` names exactly the
    placeholders ``a`` and ``b`` (a missing value would raise; an unused one is a word the
    data file dropped)."""
    wrong = []
    for file, line, lookup, section, keys, given in _lookups():
        if lookup not in ("sentence", "sentences"):
            continue
        for key in keys:
            texts = (
                [words.word(section, key)]
                if lookup == "sentence"
                else list(words.words(section, key))
            )
            asked = set().union(*(_placeholders(t) for t in texts))
            if asked != given:
                wrong.append(f"{file}:{line} [{section}] {key}: {asked} != {given}")
    assert wrong == []


def test_the_data_file_names_what_the_code_counts_on() -> None:
    """Sections keyed by codes of the code hold exactly those codes."""
    assert set(words.table("category.any")) == {
        population.TOTAL,
        population.UNKNOWN,
        population.OTHER,
    }
    assert {s.removeprefix("indicator.") for s in _sections("indicator")} == set(
        indicators.INDICATOR_IDS
    )
    assert set(words.table("quarantine")) == {
        quality.INSZ_MISSING,
        quality.INSZ_FORMAT,
        quality.INSZ_CHECKSUM,
        quality.INSZ_SERIAL,
    }


def _sections(prefix: str) -> list[str]:
    data = words._data()[prefix]
    return [f"{prefix}.{k}" for k, v in data.items() if isinstance(v, dict)]


def test_a_missing_key_is_named_in_the_error() -> None:
    with pytest.raises(words.WordsError, match=r"no text 'nergens' in \[field\]"):
        words.word("field", "nergens")
    with pytest.raises(words.WordsError, match=r"no section \[category\.nergens\]"):
        words.table("category.nergens")
    with pytest.raises(words.WordsError, match=r"\[expired\] one asks for 'n'"):
        words.sentence("expired", "one")


def _render_calls() -> dict[str, set[str]]:
    """template file -> the names the library passes to ``letters.render`` for it."""
    names = {k: v for k, v in vars(letters).items() if isinstance(v, str) and v.endswith(".j2")}
    out: dict[str, set[str]] = {}
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "render"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "letters"
                and isinstance(node.args[0], ast.Attribute)
            ):
                template = names[node.args[0].attr]
                out.setdefault(template, set()).update(k.arg for k in node.keywords if k.arg)
    return out


def test_every_letter_template_gets_exactly_the_values_it_names() -> None:
    """Each template of data/templates/letters is rendered by the library, and the
    values it names are the ones its caller gives (plus the environment's globals)."""
    env = letters._env()
    folder = SRC / "data" / "templates" / "letters"
    calls = _render_calls()
    assert sorted(calls) == sorted(p.name for p in folder.glob("*.j2"))
    for template, given in calls.items():
        asked = jinja2.meta.find_undeclared_variables(env.parse((folder / template).read_text()))
        assert (template, asked - set(env.globals)) == (template, given)


# --- No Dutch sentence outside the data ---------------------------------------------------

# Words that mark Dutch text and are not English words.
_DUTCH = frozenset(
    {"de", "het", "een", "van", "en", "niet", "wordt", "worden", "zijn", "voor", "met"}
    | {"naar", "bij", "tot", "dat", "geen", "werd", "werden", "ook", "aan", "uit", "na"}
    | {"op", "om", "zich", "wie", "dan", "nog", "als", "door", "wij", "u", "uw"}
)
MIN_WORDS = 5  # "a few words" (a label such as "dagen na het contract") may stay in code

# Where the report, governance and disparities modules speak to people.
SCOPE = (
    "report",
    "governance",
    "cli/governance.py",
    "contract/fmt.py",
    "contract/words.py",
    "analysis/disparities.py",
)

# Modules whose Dutch sentences are still to move into the data (issue 12, "Words for
# people in one place"); other work was changing them while the words moved. Remove a
# module from this list once its sentences are in data/ (the test below insists).
PENDING: set[str] = set()
# Modules other work of issue 12 was changing while the words moved (new legends and
# notes may hold sentences): left out of the scan until the lead has merged that work.
# Then delete this set; a module the scan flags goes to PENDING or has its words moved.
IN_FLIGHT: set[str] = set()


def dutch_sentences(source: str) -> list[tuple[int, str]]:
    """The string literals of ``source`` (docstrings aside) that read as a Dutch sentence:
    at least MIN_WORDS words, two of them Dutch function words. An f-string counts as
    one literal, its values read as one word each."""
    tree = ast.parse(source)
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }
    inside_fstrings = {
        id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = " ".join(v.value if isinstance(v, ast.Constant) else " X " for v in node.values)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and id(node) not in inside_fstrings
        ):
            text = node.value
        else:
            continue
        tokens = re.findall(r"[^\W\d_]+", text)
        if len(tokens) >= MIN_WORDS and len({t for t in tokens if t in _DUTCH}) >= 2:
            found.append((node.lineno, text))
    return found


def _in_scope() -> dict[str, Path]:
    out = {}
    for path in _python_files():
        rel = path.relative_to(SRC).as_posix()
        if rel in PENDING or any(rel == s or rel.startswith(f"{s}/") for s in SCOPE):
            out[rel] = path
    return out


def test_the_sentence_scan_finds_dutch_and_passes_english() -> None:
    """The scan can fail: it flags a Dutch sentence, an f-string one included, and leaves
    an English error message, a docstring and a short label alone."""
    source = (
        '"""Een docstring van de module die niet telt."""\n'
        'A = "De rijen werden verwijderd uit de analysedatabank."\n'
        'B = f"{n} leveringen voorbij de bewaartermijn niet opgenomen"\n'
        'C = "the protocol file names no DPO contact for AgII: fill it in"\n'
        'D = "dagen na het contract"\n'
    )
    assert [line for line, _ in dutch_sentences(source)] == [2, 3]


def test_no_report_or_governance_module_holds_a_dutch_sentence() -> None:
    found = [
        f"{rel}:{line}: {text[:60]!r}"
        for rel, path in _in_scope().items()
        if rel not in PENDING | IN_FLIGHT
        for line, text in dutch_sentences(path.read_text("utf-8"))
    ]
    assert found == []


def test_every_pending_module_still_holds_dutch_sentences() -> None:
    """A module whose sentences all moved leaves PENDING, so that it stays clean."""
    modules = _in_scope()
    clean = [rel for rel in sorted(PENDING) if not dutch_sentences(modules[rel].read_text())]
    assert clean == []


def test_fmt_writes_nl_be() -> None:
    """The formatters the report and the letters share (spot checks; the report's tests
    check them in place)."""
    assert fmt.fmt_int(1234567) == "1.234.567"
    assert fmt.fmt_pct(0.7435) == "74,4\u00a0%"
    assert fmt.fmt_days(1) == "1\u00a0dag"
    assert fmt.fmt_days(547) == "547\u00a0dagen"
    assert fmt.fmt_iso_date("2026-07-01T09:00:00+00:00") == "01/07/2026"
    assert fmt.join_nl(["a", "b", "c"]) == "a, b en c"


# --- The data file names real codes ---------------------------------------------------------


def _code_sections() -> list[tuple[str, str]]:
    """(section, code list) of every section keyed by the codes of a code list."""
    out = [(f"category.{bd}", bd) for bd in words.sections("category") if bd != "any"]
    out += [(f"disparities.group.{t}", t) for t in words.sections("disparities.group")]
    return out


def test_every_category_named_in_the_data_is_a_code_of_its_list() -> None:
    """A label for a code the code list does not have (a typo) would never be shown."""
    lists = codes.codelists()
    unknown = []
    for section, name in _code_sections():
        known = {"true", "false"} if name == "ocmw_leefloon" else set(lists[name].codes)
        unknown += [f"[{section}] {k}" for k in words.table(section) if k not in known]
    assert unknown == []
    assert ("category.regio", "regio") in _code_sections()


def test_every_consistency_check_has_a_name() -> None:
    """The checks extracts.quality counts on the shipped schema are all named, either
    in [consistency] or, for a date after the peildatum, by the column's label."""
    schema = dataset.monitoring_schema(protocol_mod.load())
    checks = quality.consistency(pl.DataFrame(schema=schema), dt.date(2026, 6, 30))
    named = {c: labels.consistency_label(c) for c in checks}
    assert [c for c, name in named.items() if name == c] == []
    assert set(labels.CONSISTENCY_NL) <= set(checks)


def test_a_letter_refuses_a_missing_value() -> None:
    """A value the template names but the caller left out fails; it never leaves a blank
    in a letter sent to a DPO."""
    with pytest.raises(jinja2.UndefinedError):
        letters.render(letters.BREACH_NOTIFICATION, protocol=protocol_mod.load())
