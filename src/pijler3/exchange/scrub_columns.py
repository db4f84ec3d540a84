"""Free text scrubbed a column at once: :func:`scrub_column` gives what
:func:`pijler3.exchange.scrub.scrub` gives row by row, with Python only where Polars,
deciding for the whole column, finds something to remove.
"""

from __future__ import annotations

import polars as pl

from pijler3.exchange.scrub import _KINDS, _remove_own, _remove_shapes

# ASCII white space other than a line break, which :func:`scrub.normalise` makes a space.
_ASCII_SPACE = r"[\t\x0b\x0c\x1c-\x1f]"
# ASCII white space as ``str.split`` and ``str.strip`` see it.
_ASCII_WHITE = r"\t\n\x0b\x0c\r\x1c-\x1f "
# What each identifier shape needs in an ASCII text, so that a pattern runs only on the
# texts it may match: an IBAN two letters and two digits, an e-mail address an "@" or
# a written "at" (between spaces or brackets), an INSZ eleven digits and a phone number
# nine. A removal never creates what a need asks for (the marker holds no digit, "@"
# or "at"; its brackets close after "at" and open before it only as ``]`` and ``[``),
# so the needs of the text before the first pattern hold for the later ones.
_AT_NEEDS = rf"@|(?i)[{_ASCII_WHITE}\[({{<](?:at|apenstaart)[{_ASCII_WHITE}\])}}>]"
_NEEDS: tuple[tuple[str, str, int], ...] = (
    # (kind, a pattern the text must hold, at least this many digits)
    ("iban", r"[A-Za-z]{2}[0-9]{2}", 0),
    ("email", _AT_NEEDS, 0),
    ("insz", r"[0-9]", 11),
    ("phone", r"[0-9]", 9),
)
# A word of an ASCII value, as ``str.split`` sees it.
_WORD = rf"[^{_ASCII_WHITE}]+"
# Not printable ASCII: white space, a control character, or not ASCII.
_NOT_PLAIN = r"[^!-~]"
_NOT_PLAIN_CHARS = "".join(chr(c) for c in range(128) if not 0x21 <= c <= 0x7E)


def fold_expr(value: pl.Expr) -> pl.Expr:
    """:func:`scrub.fold` in Polars, where its result is ASCII (``tests/test_scrub.py``
    checks it code point by code point); elsewhere it may differ, so callers treat a
    non-ASCII result as "may match"."""
    return (
        value.str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_lowercase()
        .str.replace_all("ß", "ss", literal=True)
    )


def _is_ascii(value: pl.Expr) -> pl.Expr:
    return value.str.len_bytes() == value.str.len_chars()


def _shaped_texts(texts: pl.Series) -> pl.DataFrame:
    """Every distinct text with its shapes removed (``_text``, ``_shaped``, ``_n``, ``_rows``,
    ``_lower``).

    Polars decides which texts need Python, and for which patterns: a non-ASCII text
    needs all of them; an ASCII text only those whose needs (``_NEEDS``) it meets.
    The others are normalised in Polars (for ASCII text, white space other than a line
    break becomes a space). ``_rows`` is the number of rows holding the text; ``_lower`` the
    shaped text in lower case (its fold) where it is ASCII, else null.
    """
    text = pl.col("_text")
    ascii_ = _is_ascii(text)
    digits = text.str.count_matches("[0-9]")
    distinct = (
        texts.alias("_text")
        .drop_nulls()
        .value_counts(name="_rows")
        .with_columns(
            pl.when(ascii_)
            .then(
                pl.concat_list(
                    [
                        pl.when(text.str.contains(need) & (digits >= at_least)).then(pl.lit(kind))
                        for kind, need, at_least in _NEEDS
                    ]
                ).list.drop_nulls()
            )
            .alias("_kinds")
        )
    )
    hard = distinct.filter(pl.col("_kinds").is_null() | (pl.col("_kinds").list.len() > 0))
    done = [
        _remove_shapes(t, _KINDS if kinds is None else kinds)
        for t, kinds in hard.select("_text", "_kinds").iter_rows()
    ]
    easy = distinct.filter(pl.col("_kinds").list.len() == 0).select(
        "_text",
        text.str.replace_all(_ASCII_SPACE, " ").alias("_shaped"),
        pl.lit(0, pl.Int64).alias("_n"),
        "_rows",
    )
    shaped = pl.col("_shaped")
    return pl.concat(
        [
            easy,
            hard.select(
                "_text",
                pl.Series("_shaped", [t for t, _ in done], pl.String),
                pl.Series("_n", [n for _, n in done], pl.Int64),
                "_rows",
            ),
        ]
    ).with_columns(pl.when(_is_ascii(shaped)).then(shaped.str.to_lowercase()).alias("_lower"))


def _odd_key_words(values: pl.Series) -> pl.Series:
    """For own values that are not printable ASCII, a word of each that a text must
    hold for :func:`scrub._remove_own` to remove it (see :func:`_may_hold_own`), or null.

    Names and streets repeat, so each distinct value is looked at once and its word
    mapped back to the rows (for 3 million rows of 13 to 1,245 distinct values: 0.1 s
    instead of 2-2.7 s per column; when all are distinct, about 1.5 times as long).
    """
    distinct = values.unique()
    keys = pl.DataFrame([distinct.alias("_value"), _key_words(distinct).alias("_key")])
    return (
        values.alias("_value")
        .to_frame()
        .join(keys, on="_value", how="left", maintain_order="left", nulls_equal=True)
        .to_series(1)
    )


def _key_words(values: pl.Series) -> pl.Series:
    """:func:`_odd_key_words` of distinct values.

    Any run of printable ASCII in a value's lower case is in its fold, within one word:
    for an ASCII value, the longer of its first and last runs ("smet" of "De Smet",
    "kerkstraat" of "Kerkstraat 12"). A value that is not ASCII is folded: the longest
    word of its fold, or the empty word (which every text holds) when that is not ASCII.
    """
    value = pl.col("_value")
    frame = values.alias("_value").to_frame()
    wide = values.str.len_bytes() != values.str.len_chars()
    key = values.clear(len(values))
    narrow = (~wide).arg_true()
    if len(narrow):
        lower = value.str.to_lowercase()
        first = lower.str.extract(r"[!-~]+", 0)
        last = lower.str.extract(r"[!-~]+[^!-~]*$", 0).str.strip_chars_end(_NOT_PLAIN_CHARS)
        runs = frame[narrow].select(
            # No run at all (white space or control characters only): any text may hold it.
            pl.when(first.is_null())
            .then(pl.lit(""))
            .when(first.str.len_bytes() >= last.str.len_bytes())
            .then(first)
            .otherwise(last)
        )
        key = key.scatter(narrow, runs.to_series())
    others = wide.arg_true()
    if len(others):
        folded = fold_expr(value)
        words = folded.str.extract_all(_WORD)
        longest = words.list.get(
            words.list.eval(pl.element().str.len_bytes()).list.arg_max(), null_on_oob=True
        )
        found = frame[others].select(
            pl.when(_is_ascii(folded)).then(longest).otherwise(pl.lit("")).alias("_key")
        )
        key = key.scatter(others, found.to_series())
    return key


def _may_hold_own(shaped: pl.Series, lower: pl.Series, own: pl.DataFrame) -> pl.Series:
    """Per row, whether its shaped text may hold one of its own values.

    :func:`scrub._remove_own` removes a value only where every word of its fold is in
    the folded text, which for an ASCII text is its lower case (``lower``, null for a text
    that is not ASCII: it may hold any value). So a row may hold a value only if its
    text holds a word of the value: for a value of printable ASCII without spaces
    (most) the whole value in lower case, for the others :func:`_odd_key_words`. Values
    under two characters are skipped, as :func:`scrub._remove_own` skips them.
    """
    names = [f"_own{k}" for k in range(own.width)]
    text = pl.col("_lower")
    odd = [pl.col(n).str.contains(_NOT_PLAIN) for n in names]
    plain = [
        pl.when(~o & (pl.col(n).str.len_bytes() >= 2)).then(pl.col(n).str.to_lowercase())
        for n, o in zip(names, odd, strict=True)
    ]
    columns = own.rename(dict(zip(own.columns, names, strict=True))).get_columns()
    flags = (
        pl.DataFrame([lower.alias("_lower"), shaped.is_not_null().alias("_present"), *columns])
        .lazy()
        .select(
            (
                (pl.col("_present") & text.is_null())
                | pl.any_horizontal(
                    pl.lit(False), *[text.str.contains(k, literal=True) for k in plain]
                )
            )
            .fill_null(False)
            .alias("_may"),
            *[
                (o & text.is_not_null()).fill_null(False).alias(f"_odd{n}")
                for n, o in zip(names, odd, strict=True)
            ],
        )
        .collect()
    )
    may = flags["_may"]
    for name, column in zip(names, own.columns, strict=True):
        where = (flags[f"_odd{name}"] & ~may).arg_true()
        if len(where):
            keys = _odd_key_words(own[column].gather(where))
            hit = lower.gather(where).str.contains(pl.lit(keys), literal=True).fill_null(False)
            may = may.scatter(where.filter(hit), True)
    return may


def scrub_column(texts: pl.Series, own: pl.DataFrame) -> tuple[pl.Series, int]:
    """:func:`scrub.scrub` on a column: ``texts[i]`` with the own values ``own.row(i)``.

    Returns the cleaned column (nulls stay null) and the number of removals, exactly as
    :func:`scrub.scrub` row by row would. Python works only where Polars, deciding for
    the whole column at once, finds something to remove: identifier shapes are removed once
    per distinct text, only from texts that are not ASCII or hold what a shape needs
    (``_NEEDS``), and with only the patterns whose needs they meet; own values are
    removed only from rows whose text may hold one (:func:`_may_hold_own`): a few rows
    in a hundred.
    """
    own = own.select(pl.all().cast(pl.String))
    texts = texts.cast(pl.String)
    shapes = _shaped_texts(texts)
    removed = int(shapes.select((pl.col("_n") * pl.col("_rows")).sum()).item())
    rows = (
        texts.alias("_text")
        .to_frame()
        .join(
            shapes.select("_text", "_shaped", "_lower"),
            on="_text",
            how="left",
            maintain_order="left",
        )
    )
    shaped = rows["_shaped"]
    where = _may_hold_own(shaped, rows["_lower"], own).arg_true()
    if len(where):
        cleaned = [
            _remove_own(text, values)
            for text, values in zip(
                shaped.gather(where).to_list(), own[where].iter_rows(), strict=True
            )
        ]
        removed += sum(n for _, n in cleaned)
        shaped = shaped.scatter(where, pl.Series([t for t, _ in cleaned], dtype=pl.String))
    return shaped.alias(texts.name), removed
