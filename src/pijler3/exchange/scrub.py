"""Free text (DATA.md §3): what of ``plo_reden`` may travel, and what is removed.

Two lines of defence, the same for the export step (which cleans ``plo_reden``) and the
publish step (which refuses a dataset whose text breaks either):

1. **An allow-list.** A word travels only when it is *common*: it occurs in the texts of
   at least ``k`` different persons of the delivery (``free_text.min_persons`` of the
   protocol file) and holds no digit. Every other word becomes ``[verwijderd]``. A
   person types around any pattern (an INSZ with an en dash, a name spelled backwards,
   a birth date in words); a word only they use cannot travel however it is typed.
   :func:`keep_common_words` (export) and :func:`count_uncommon_words` (publish) share
   one counting rule, :func:`_uncommon`, so a text export let through passes publish.
2. **Patterns**, on a normalised text (:func:`normalise`: Unicode NFKC, every dash as
   ``-``, invisible format characters dropped), tolerant of separators (dots,
   underscores, slashes, dashes, several spaces, brackets) and of e-mail addresses
   written in words (``naam at example dot net``, ``[at]``, ``(dot)``); and the
   person's own values (name, INSZ, birth date, street, ...), matched as whole words
   ignoring case and accents.

Pure functions, no file or clock access.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container, Iterable, Iterator
from functools import lru_cache

import polars as pl

REMOVED = "[verwijderd]"

# Every dash of Unicode (category Pd) and the minus signs NFKC leaves alone: a person
# who types an INSZ with an en dash means the same number as with a hyphen.
_DASHES = {
    c: "-"
    for c in range(0x10000)
    if unicodedata.category(chr(c)) == "Pd" or chr(c) in "\u2212\u2043\ufe63\uff0d"
}
# Format characters (zero-width space and joiners, soft hyphen, byte order mark, word
# joiner, direction marks) are invisible and would split a number into harmless-looking
# pieces: they are dropped.
_FORMAT = {c: None for c in range(0x10000) if unicodedata.category(chr(c)) == "Cf"}
_TRANSLATE = _DASHES | _FORMAT
# White space other than a line break (tabs, no-break and thin spaces that NFKC keeps or
# maps) becomes one plain space each; line breaks stay, they are the counsellor's own.
_SPACE = re.compile(r"[^\S\n\r]")


def normalise(text: str) -> str:
    """The text as the patterns read it, and as it travels.

    NFKC turns fullwidth and other compatibility look-alikes into their plain form
    (``６７`` into ``67``, ``ﬁ`` into ``fi``); every dash becomes ``-``; format
    characters are dropped; other white space becomes a space. Nothing a reader needs
    is lost, so export sends the normalised text.
    """
    if text.isascii():
        return _SPACE.sub(" ", text)
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).translate(_TRANSLATE))


# A separator people type between the digits of a number: dots, slashes, dashes,
# underscores, spaces (several), and for phone numbers brackets.
_SEP = r"[ ._/\-]"
_PSEP = r"[ ._/()\-]"
# Not just after a digit, even across up to three separators (look-behinds must have a
# fixed width, hence four of them).
_NOT_AFTER_DIGIT = r"(?<!\d)(?<!\d[ ._/-])(?<!\d[ ._/-]{2})(?<!\d[ ._/-]{3})"
# "at" and "dot" written out, in brackets, or as words between spaces; "punt" is Dutch.
_AT = r"(?:\s*@\s*|\s*[\[({<]\s*(?:at|apenstaart)\s*[\])}>]\s*|\s+(?:at|apenstaart)\s+)"
_DOT = r"(?:\.|\s*[\[({<]\s*(?:dot|punt)\s*[\])}>]\s*|\s+(?:dot|punt)\s+)"

# Order matters: an IBAN holds digit runs that the INSZ and phone patterns would also
# take, and an INSZ could pass for a phone number.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "iban",
        re.compile(
            # Letters and digits with single spaces (any country), or, for the digits-only
            # IBANs of Belgium and its neighbours, any separators between the digits.
            rf"\b[A-Z]{{2}}\d{{2}}(?:(?:[ ]?[A-Z0-9]){{11,30}}\b|(?:{_SEP}*\d){{10,30}}(?!\d))",
            re.IGNORECASE,
        ),
    ),
    ("email", re.compile(rf"[\w.+-]+{_AT}[\w-]+(?:{_DOT}[\w-]+)+", re.IGNORECASE)),
    # An INSZ has 11 digits, a date 8: any separators between the 11 digits (85/07/30/
    # 033/28, 67.05.26 - 603.59, 67_05_26_603_59) still make an INSZ, and dd/mm/yyyy
    # does not become one. The eleven digits must be the whole number: no digit (or
    # "+") just before or after, even across a few separators, so that a longer phone
    # number is not cut into one.
    (
        "insz",
        re.compile(rf"{_NOT_AFTER_DIGIT}(?<!\+)\d(?:{_SEP}*\d){{10}}(?!{_SEP}{{0,3}}\d)"),
    ),
    # Belgian and international phone numbers: 9 or 10 digits starting with 0, or an
    # international prefix, brackets allowed ("(0476) 78 19 64"). Dates (8 digits) and
    # years do not match; the look-behinds keep the tail of an INSZ from passing for one.
    (
        "phone",
        re.compile(
            rf"(?<![\w+]){_NOT_AFTER_DIGIT}(?:(?:\+|00)\d{{2,3}}{_PSEP}*(?:\(0\))?|\(?0)"
            rf"(?:{_PSEP}*\d){{8,9}}(?!{_PSEP}{{0,3}}\d)"
        ),
    ),
)


_KINDS = frozenset(kind for kind, _ in PATTERNS)

# Where an e-mail address can start: its local part, a run of these characters.
_LOCAL_PART = re.compile(r"[\w.+-]+")


def _matches(kind: str, pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    r"""The matches of ``pattern.finditer(text)``, in linear time for e-mail addresses.

    Tried at every character of a long word, the e-mail pattern's local part runs to the
    word's end each time: quadratic (a word of 5,000 letters took 4 s). A local part
    always runs to the end of its run of ``[\w.+-]`` (what may follow it, a space, ``@``
    or a bracket, is not in that class), so a match tried from the first character of
    a run that fails fails from every later one: the search tries each run once, from
    where the scan stands, and gives the very matches of ``finditer``.
    """
    if kind != "email":
        yield from pattern.finditer(text)
        return
    pos = 0
    while (run := _LOCAL_PART.search(text, pos)) is not None:
        match = pattern.match(text, run.start())
        if match is None:
            pos = run.end()
            continue
        yield match
        pos = match.end()


def _subn(kind: str, pattern: re.Pattern[str], text: str) -> tuple[str, int]:
    """``pattern.subn(REMOVED, text)``, through :func:`_matches`."""
    pieces: list[str] = []
    last = 0
    for match in _matches(kind, pattern, text):
        pieces += [text[last : match.start()], REMOVED]
        last = match.end()
    if not pieces:
        return text, 0
    pieces.append(text[last:])
    return "".join(pieces), len(pieces) // 2


def find_identifiers(text: str) -> list[str]:
    """The kinds of identifier (``iban``, ``email``, ``insz``, ``phone``) found in a text.

    The text is normalised first (:func:`normalise`), so look-alike digits and dashes
    do not hide an identifier.
    """
    text = normalise(text)
    return [kind for kind, pattern in PATTERNS if next(_matches(kind, pattern, text), None)]


# Every combining mark of the Basic Multilingual Plane (what ``codes.fold`` drops after
# NFKD), as one character class: a regular expression removes them far faster than a
# Python loop over the characters of a million texts.
_COMBINING = re.compile(
    "[" + "".join(re.escape(chr(c)) for c in range(0x10000) if unicodedata.combining(chr(c))) + "]"
)


def fold(text: str) -> str:
    """A text lower-cased with its accents removed, as :func:`pijler3.contract.codes.fold` does.

    White space is kept as it is (unlike ``codes.fold``), so that a match can be found
    again in the original text.
    """
    if text.isascii():
        return text.casefold()
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text)).casefold()


_NOT_ASCII = re.compile(r"[^\x00-\x7f]")


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """:func:`fold` of one character that is not ASCII (texts hold few distinct ones; the
    cache is bounded all the same)."""
    return fold(ch)


def _folded_with_origins(text: str) -> tuple[str, list[int]]:
    """The folded text, and for each of its characters the index it came from.

    Each character is folded on its own. An ASCII character folds to itself in lower
    case, so the runs of ASCII between the others are folded a run at a time."""
    if text.isascii():
        return text.casefold(), list(range(len(text)))
    out: list[str] = []
    origins: list[int] = []
    done = 0
    for m in _NOT_ASCII.finditer(text):
        i = m.start()
        out.append(text[done:i].casefold())
        origins.extend(range(done, i))
        folded = _fold_char(text[i])
        out.append(folded)
        origins.extend([i] * len(folded))
        done = i + 1
    out.append(text[done:].casefold())
    origins.extend(range(done, len(text)))
    return "".join(out), origins


def _remove_value(text: str, value: str) -> tuple[str, int]:
    """Remove every whole-word occurrence of a folded value, accent- and case-blind.

    The search runs on the folded text; each match is mapped back to the span of the
    original characters it came from, so the text keeps its own accents elsewhere.
    """
    folded, origins = _folded_with_origins(text)
    pattern = re.compile(
        r"(?<!\w)" + r"[\s,]+".join(re.escape(part) for part in value.split()) + r"(?!\w)"
    )
    spans: list[tuple[int, int]] = []
    for m in pattern.finditer(folded):
        start = origins[m.start()]
        end = origins[m.end() - 1] + 1
        # A combining mark written after the last letter (decomposed text) folds to
        # nothing; it belongs to the removed word.
        while end < len(text) and not fold(text[end]):
            end += 1
        spans.append((start, end))
    for start, end in reversed(spans):
        text = text[:start] + REMOVED + text[end:]
    return text, len(spans)


def scrub(text: str, own: Iterable[str | None] = ()) -> tuple[str, int]:
    """Remove every identifier shape and the person's own values from a normalised text.

    The text is first normalised (:func:`normalise`); the cleaned text is returned in
    that form.
    Own values (name, e-mail, phone, INSZ, birth date, street, …) are matched as whole
    words, ignoring case and accents both ways: ``Aicha`` in the text is the register's
    ``Aïcha`` and the other way round. Put longer values before their parts (a street
    with its house number before the street alone). Returns the cleaned text and the
    number of removals.
    """
    # Shapes first, so that an e-mail address is removed whole before the person's
    # first name inside it is.
    text, shapes = _remove_shapes(text)
    text, values = _remove_own(text, own)
    return text, shapes + values


def _remove_shapes(text: str, kinds: Container[str] = _KINDS) -> tuple[str, int]:
    """The text normalised, with every identifier shape removed; the number removed.

    ``kinds`` leaves out the patterns that cannot match (``scrub_columns.scrub_column`` knows).
    """
    text = normalise(text)
    removed = 0
    for kind, pattern in PATTERNS:
        if kind in kinds:
            text, n = _subn(kind, pattern, text)
            removed += n
    return text, removed


def _remove_own(text: str, own: Iterable[str | None]) -> tuple[str, int]:
    """The person's own values removed from a normalised text; the number removed."""
    removed = 0
    folded = fold(text)
    for raw in own:
        if raw is None:
            continue
        value = fold(raw).strip()
        if len(value) < 2:
            continue
        # Most texts do not hold the person's own values: a plain substring test (on the
        # longest word of a value of several words) spares compiling a pattern per row;
        # a million rows would spend minutes on it.
        key = max(value.split(), key=len) if " " in value else value
        if key not in folded:
            continue
        text, n = _remove_value(text, value)
        if n:
            removed += n
            folded = fold(text)
    return text, removed


# ---------------------------------------------------------------- the allow-list

# The pieces of a text, in order: the removal marker, a word, or what lies between words.
# A word is a run of letters, marks and digits, with inner joiners (``jan.peeters@x.be``,
# ``67.05.26``, ``NT2-les`` are one word each: a part of an identifier is no more common
# than the whole). Punctuation that ends a phrase (comma, brackets, quotes) is no joiner.
_ALNUM = r"\p{L}\p{M}\p{N}"
_JOINER = rf"[^\s{_ALNUM},;:!?()\[\]{{}}\"“”„«»‘’']"
_PIECE = rf"\[verwijderd\]|[{_ALNUM}]+(?:{_JOINER}+[{_ALNUM}]+)*|[^{_ALNUM}\[]+|\["


def _pieces(texts: pl.DataFrame) -> pl.DataFrame:
    """One row per piece of every distinct text (column ``_text``): the piece and its key.

    The key folds case, accents and look-alikes (NFKD, marks dropped, lower case), so
    ``Zoë``, ``ZOE`` and ``zoë`` are one word. Pieces that are not words have no key.
    Keys are computed once per distinct piece: words repeat far more than texts do.
    """
    pieces = (
        texts.select("_text", pl.col("_text").str.extract_all(_PIECE).alias("_piece"))
        .explode("_piece")
        .filter(pl.col("_piece").is_not_null())
    )
    piece = pl.col("_piece")
    is_word = piece.str.contains(rf"^[{_ALNUM}]")
    key = piece.str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.to_lowercase()
    keys = pieces.select("_piece").unique().with_columns(pl.when(is_word).then(key).alias("_key"))
    return pieces.join(keys, on="_piece", how="left", maintain_order="left")


def _uncommon(min_persons: int) -> pl.Expr:
    """The one counting rule: which pieces are words that may not travel.

    A word may travel when at least ``min_persons`` different persons use it and it
    holds no digit. A boolean expression over the pieces of :func:`_counted_pieces`.
    """
    key = pl.col("_key")
    return key.is_not_null() & ((pl.col("_persons") < min_persons) | key.str.contains(r"\p{N}"))


def _counted_pieces(
    frame: pl.DataFrame, person: str, text: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The pieces of every distinct text with, per word, the persons whose texts hold it.

    Returns the pieces (``_text``, ``_piece``, ``_key``, ``_persons``) and the distinct
    texts with their number of rows (``_text``, ``_rows``). Free text repeats a lot, so
    the texts are split once each, not once per row: a word's persons are the sum over
    the distinct texts holding it of the persons writing that text, less the double
    count of a person who wrote several distinct texts holding it (few do, so that
    correction is computed on their rows only).
    """
    # Lazily: an eager select would first align the chunks of every column of the frame.
    rows = (
        frame.lazy()
        .select(pl.col(person).alias("_person"), pl.col(text).alias("_text"))
        .filter(pl.col("_text").is_not_null())
        .collect()
    )
    # Most persons have one row: only the rows of persons with several are deduplicated,
    # and a text's persons are its rows less the repeated rows of one person. Those rows
    # are found by the persons' 64-bit hashes (for 12 million persons 1.4 s instead of
    # 3.5 s): two persons whose hashes collide are taken in too, which changes no count,
    # since each then has one distinct text and counts once all the same.
    repeated = rows.filter(pl.col("_person").hash().is_duplicated())
    pairs = repeated.unique()
    repeats = (
        repeated.group_by("_text")
        .agg(pl.len().alias("_all"))
        .join(pairs.group_by("_text").agg(pl.len().alias("_distinct")), on="_text")
    )
    texts = (
        rows.group_by("_text")
        .agg(pl.len().alias("_rows"))
        .join(repeats, on="_text", how="left")
        .select(
            "_text",
            "_rows",
            (pl.col("_rows") - pl.col("_all").fill_null(0) + pl.col("_distinct").fill_null(0))
            .cast(pl.Int64)
            .alias("_n"),
        )
    )
    pieces = _pieces(texts.select("_text"))
    words = pieces.filter(pl.col("_key").is_not_null()).select("_text", "_key").unique()
    counts = (
        words.join(texts.select("_text", "_n"), on="_text")
        .group_by("_key")
        .agg(pl.col("_n").sum().cast(pl.Int64).alias("_persons"))
    )
    several = pairs.filter(pl.len().over("_person") > 1) if pairs.height else pairs
    if several.height:
        twice = (
            several.join(words, on="_text")
            .group_by("_key", "_person")
            .agg((pl.len() - 1).cast(pl.Int64).alias("_extra"))
            .group_by("_key")
            .agg(pl.col("_extra").sum())
        )
        counts = counts.join(twice, on="_key", how="left").select(
            "_key", pl.col("_persons") - pl.col("_extra").fill_null(0)
        )
    pieces = pieces.join(counts, on="_key", how="left", maintain_order="left")
    return pieces, texts.select("_text", "_rows")


def keep_common_words(
    frame: pl.DataFrame, *, person: str, text: str, min_persons: int
) -> tuple[pl.DataFrame, int]:
    """Replace every uncommon word of column ``text`` by ``[verwijderd]``; count them.

    ``person`` names the column that tells persons apart (several rows of one person
    count once). Null texts stay null. The words removed are counted (once per row
    whose text held them), never returned.
    """
    if frame.height == 0:
        return frame, 0
    pieces, texts = _counted_pieces(frame, person, text)
    drop = _uncommon(min_persons)
    pieces = pieces.with_columns(
        drop.alias("_drop"),
        pl.when(drop).then(pl.lit(REMOVED)).otherwise(pl.col("_piece")).alias("_piece"),
    )
    rebuilt = pieces.group_by("_text").agg(
        pl.col("_piece").str.join("").alias("_clean"), pl.col("_drop").sum().alias("_dropped")
    )
    texts = texts.join(rebuilt, on="_text", how="left")
    removed = int(texts.select((pl.col("_rows") * pl.col("_dropped").fill_null(0)).sum()).item())
    # An empty text has no pieces: it stays as it was.
    rebuilt_texts = texts.filter(pl.col("_clean").is_not_null())
    cleaned = (
        frame.lazy()
        .select(pl.col(text).replace(rebuilt_texts["_text"], rebuilt_texts["_clean"]))
        .collect()
        .to_series()
    )
    return frame.with_columns(cleaned.alias(text)), removed


def count_uncommon_words(frame: pl.DataFrame, *, person: str, text: str, min_persons: int) -> int:
    """How many words of column ``text`` :func:`keep_common_words` would remove.

    Zero for a text that went through :func:`keep_common_words` with the same rows and
    ``min_persons``: a kept word stays in every text that held it, so it is still used
    by as many persons, and the marker is no word.
    """
    if frame.height == 0:
        return 0
    pieces, texts = _counted_pieces(frame, person, text)
    per_text = pieces.group_by("_text").agg(_uncommon(min_persons).sum().alias("_n"))
    joined = texts.join(per_text, on="_text")
    return int(joined.select((pl.col("_rows") * pl.col("_n")).sum()).item())
