"""The Dutch words for people: every label and short sentence the report, the analysis
summaries and the governance texts show, read from ``data/labels-nl.toml`` (next to the
code lists). Letters are Jinja templates in ``data/templates/letters/``, rendered by
:mod:`pijler3.governance.letters`.

A section is named by its dotted path in the file (``"field"``, ``"category.regio"``,
``"indicator.toeleiding"``). A key the file lacks is a mistake in the shipped data, not
the user's: :class:`WordsError` names the file, the section and the key.

Sentences hold named placeholders (``"{n} leveringen …"``) that :func:`sentence` fills
with values the caller has already written the nl-BE way (:mod:`pijler3.contract.fmt`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

FILE = "labels-nl.toml"
FORMAT = "pijler3-labels-nl/1"


class WordsError(LookupError):
    """The words file lacks a section, key or placeholder the code asks for."""

    def __str__(self) -> str:
        return str(self.args[0])


@cache
def _data() -> Mapping[str, Any]:
    data = tomllib.loads(resources.files("pijler3").joinpath("data", FILE).read_text("utf-8"))
    if data.get("format") != FORMAT:
        raise WordsError(f"data/{FILE}: not a {FORMAT} file")
    return data


def _section(section: str) -> Mapping[str, Any]:
    node: Any = _data()
    for part in section.split("."):
        if not isinstance(node, Mapping) or not isinstance(node.get(part), Mapping):
            raise WordsError(f"data/{FILE} has no section [{section}]")
        node = node[part]
    return node  # type: ignore[no-any-return]


def has(section: str, key: str) -> bool:
    """Whether ``[section]`` holds ``key``."""
    try:
        return key in _section(section)
    except WordsError:
        return False


@cache
def sections(section: str) -> tuple[str, ...]:
    """The names of the subsections of ``[section]``, in file order."""
    return tuple(k for k, v in _section(section).items() if isinstance(v, Mapping))


@cache
def table(section: str) -> Mapping[str, str]:
    """The words of ``[section]`` (its keys in file order), read-only; subtables and
    lists are left out."""
    return MappingProxyType({k: v for k, v in _section(section).items() if isinstance(v, str)})


def word(section: str, key: str) -> str:
    """The text of ``key`` in ``[section]``, as written (placeholders unfilled)."""
    value = _section(section).get(key)
    if not isinstance(value, str):
        raise WordsError(f"data/{FILE} has no text {key!r} in [{section}]")
    return value


def words(section: str, key: str) -> tuple[str, ...]:
    """The list of texts ``key`` in ``[section]``, as written."""
    value = _section(section).get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise WordsError(f"data/{FILE} has no list of texts {key!r} in [{section}]")
    return tuple(value)


def fill(text: str, where: str, values: Mapping[str, object]) -> str:
    """``text`` with its placeholders filled from ``values``; ``where`` names the text in
    the error when a placeholder has no value."""
    try:
        return text.format_map(values)
    except (KeyError, IndexError) as e:
        raise WordsError(f"data/{FILE}: {where} asks for {e} but no value was given") from None


def sentence(section: str, key: str, **values: object) -> str:
    """The text of ``key`` in ``[section]`` with its placeholders filled."""
    return fill(word(section, key), f"[{section}] {key}", values)


def sentences(section: str, key: str, **values: object) -> list[str]:
    """The list ``key`` of ``[section]``, each text with its placeholders filled."""
    return [fill(t, f"[{section}] {key}", values) for t in words(section, key)]
