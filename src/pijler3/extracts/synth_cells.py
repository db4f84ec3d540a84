"""Messy cells for the synthetic extracts: how each value is spelled, and what is planted.

:class:`Table` collects the string columns of one extract. Each of its column writers
(code, yes/no, date, INSZ, free text) spells a value in one of the ways people and
exports spell it, leaves a few cells empty or invalid at the rates below, and counts per
row what it planted, under the reason codes of :mod:`pijler3.extracts.quality`, so that
:meth:`Table.planted` can say exactly what a reader of the written rows must report.
The people behind the values are drawn in :mod:`pijler3.extracts.synth_people`.
"""

from __future__ import annotations

import functools
import json
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from pijler3.contract import codes
from pijler3.extracts import quality

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Reasons that the link step reports, not the reader of a single extract.
LINK_REASONS = frozenset({quality.DUPLICATE_INSZ, quality.ACTION_UNKNOWN_TYPE})


@dataclass(frozen=True)
class Planted:
    """What the generator planted in one extract, to compare with what a reader reports."""

    counts: dict[str, int]
    checks: dict[str, int] = field(default_factory=dict)
    rows: int = 0

    def reader_counts(self) -> dict[str, int]:
        """The counts a reader of this one extract reports (without link-step reasons)."""
        return {k: v for k, v in self.counts.items() if k.split(":")[0] not in LINK_REASONS}

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "counts": dict(sorted(self.counts.items())),
            "checks": dict(sorted(self.checks.items())),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=False)


# --------------------------------------------------------------------------- rates
# Messiness rates per cell. They are kept to a few per cent so that indicators computed
# on the synthetic data stay meaningful.
EMPTY = 0.01
INVALID = 0.004
INSZ_RATES = {"missing": 0.002, "format": 0.002, "checksum": 0.003, "serial": 0.001}
INSZ_FORMATTED_SHARE = 0.06

_VALID_DATE_FORMATS = ("%d/%m/%Y", "%-d/%-m/%Y", "%d-%m-%Y", "%Y-%m-%d")
_VALID_DATE_WEIGHTS = (0.6, 0.1, 0.1, 0.2)
# Invalid spellings of a real date; "impossible" dates are written separately.
_INVALID_DATE_FORMATS = ("%d.%m.%Y", "%Y/%m/%d", "%d/%m/%y")
_IMPOSSIBLE_DAYS = ("31/02/", "30/02/", "31/04/", "31/06/", "31/09/", "31/11/", "00/03/", "15/13/")

_TRUE_LABELS = ("Ja", "J", "1", "true", "WAAR", "ja", "j", "True")
_FALSE_LABELS = ("Nee", "N", "0", "false", "ONWAAR", "nee", "n", "False")
_BOOL_INVALID = ("?", "x", "Misschien", "Ja/Nee", "2")

# Raw labels that look plausible but match no code (DATA.md: nothing is guessed).
_INVALID_LABELS: dict[str, tuple[str, ...]] = {
    "geslacht": ("O", "Onbekend", "Amal"),
    "scholingsniveau": ("Universitair", "Midden-hoog", "Lager onderwijs"),
    "nationaliteit": ("Arabisch", "Koerdistan", "Joegoslavië", "Afrika", "Amal", "?"),
    "doelgroep": ("Vrijwillig", "Verplicht?", "Oudkomer"),
    "regio": ("Antwerpen", "Gent", "Vlaanderen", "Leuven"),
    "resultaat_diplomagelijkschakeling": ("Geweigerd", "Positief"),
    "plo_besluit": ("Vrijwillig", "Werkt", "nvt"),
    "taalleervermogen": ("Goed", "Gemiddeld-laag"),
    "nt2_niveau": ("A3", "Richtgraad 5", "1.2"),
    "trajecttype": ("Kort", "Standaard traject"),
    "verblijfsstatus": ("Vluchteling", "Asielzoeker"),
    "categorie_werkzoekende": ("99", "WZ", "7"),
    "status_dienstverlening": ("Actief", "Bemiddeling"),
    "actietype": ("Opleiding", "Jobbeurs", "Begeleiding"),
}

# Spellings people type, besides the ISO code and pycountry's Dutch name.
_NATIONALITY_ALIASES = {
    "SYR": ("Syrië", "syrië"),
    "MAR": ("Marokko", "MAROKKO"),
    "PSE": ("Palestina", "palestina"),
    "UKR": ("Oekraïne",),
    "TUR": ("Turkije",),
    "COD": ("DR Congo",),
    "RUS": ("Russische Federatie",),
    "XXA": ("Staatloos",),
    "XXX": ("Onbekend",),
}


# --------------------------------------------------------------------------- labels


@dataclass(frozen=True)
class Vocab:
    """The raw labels written for a code list: variants per code, then invalid labels."""

    codes: tuple[str, ...]
    labels: tuple[str, ...]  # every variant of every code, then the invalid labels
    offsets: IntArray  # first variant of each code in ``labels``
    sizes: IntArray  # number of variants of each code
    invalid_start: int


def _encodable(text: str) -> bool:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _toml_labels() -> dict[str, dict[str, list[str]]]:
    text = resources.files("pijler3").joinpath("data", "codelists.toml").read_text("utf-8")
    data = tomllib.loads(text)
    return {k: v for k, v in data.items() if isinstance(v, dict)}


@functools.cache
def vocab(listname: str, code_order: tuple[str, ...]) -> Vocab:
    """Label variants per code, each checked against :mod:`pijler3.contract.codes`.

    A variant is kept only when the code lists map it to its code, and an invalid label
    only when they map it to nothing, so the planted counts follow the code lists even
    when those change.
    """
    cl = codes.codelist(listname)
    extra = _toml_labels().get(listname, {})
    labels: list[str] = []
    offsets: list[int] = []
    sizes: list[int] = []
    for code in code_order:
        if listname == codes.NATIONALITY:
            candidates = [code, codes.country_name_nl(code), *_NATIONALITY_ALIASES.get(code, ())]
        else:
            spaced = code.replace("_", " ")
            candidates = [code, spaced.capitalize(), spaced.lower()]
            for label in extra.get(code, []):
                candidates += [label, label.upper(), label.lower()]
        candidates.append(f" {candidates[-1]} ")  # a padded variant, trimmed by readers
        kept: list[str] = []
        for c in candidates:
            # Every label must survive a Windows-1252 export.
            if c not in kept and cl.match(c) == code and _encodable(c):
                kept.append(c)
        if not kept:
            raise AssertionError(f"code list {listname}: no label for {code}")
        offsets.append(len(labels))
        sizes.append(len(kept))
        labels.extend(kept)
    start = len(labels)
    labels.extend(x for x in _INVALID_LABELS.get(listname, ()) if cl.match(x) is None)
    return Vocab(
        tuple(code_order),
        tuple(labels),
        np.asarray(offsets, dtype=np.int64),
        np.asarray(sizes, dtype=np.int64),
        start,
    )


# --------------------------------------------------------------------------- builder


class Table:
    """Collects the string columns of one extract and counts what is planted in them."""

    def __init__(self, name: str, rng: np.random.Generator, rows: int, peildatum: int) -> None:
        self.name = name
        self.rng = rng
        self.rows = rows
        self.peildatum = peildatum
        self.columns: dict[str, pl.Series] = {}
        self.native_dates: dict[str, BoolArray] = {}  # cells an XLSX may write as dates
        # What is planted is kept per row, so that the counts of a snapshot (a subset of
        # the rows) are computed from the rows actually written.
        self.counts: dict[str, IntArray] = {}
        self.checks: dict[str, IntArray] = {}
        self.always: set[str] = set()  # keys reported even when their count is zero

    def count(self, key: str, rows: BoolArray) -> None:
        """Record planted cells (one per true row) under a count key."""
        self.counts[key] = self.counts.get(key, np.zeros(self.rows, np.int64)) + rows

    def check(self, key: str, rows: BoolArray) -> None:
        """Record rows that a later step reports under a check key."""
        self.checks[key] = self.checks.get(key, np.zeros(self.rows, np.int64)) + rows

    def mask(self, share: float) -> BoolArray:
        return self.rng.random(self.rows) < share

    def _missing(self, column: str, empty: BoolArray) -> None:
        self.count(f"{quality.MISSING}:{column}", empty)

    @staticmethod
    def _keep_one_valid(empty: BoolArray, invalid: BoolArray) -> None:
        """A column with values but not one valid value is structural: avoid it."""
        invalid &= ~empty
        if invalid.any() and not (~empty & ~invalid).any():
            invalid[int(np.argmax(invalid))] = False

    def code(
        self,
        header: str,
        column: str,
        vocab: Vocab,
        value: IntArray,
        present: BoolArray | None = None,
        empty: float = EMPTY,
        invalid: float = INVALID,
    ) -> BoolArray:
        """A coded column; returns the mask of cells that hold a valid label."""
        n = self.rows
        blank = self.mask(empty)
        if present is not None:
            blank |= ~present
        bad = self.mask(invalid)
        if vocab.invalid_start == len(vocab.labels):
            bad[:] = False
        self._keep_one_valid(blank, bad)
        u = self.rng.random(n)
        size = vocab.sizes[value]
        primary = 0.75
        alt = 1 + np.minimum(
            ((u - primary) / (1 - primary) * (size - 1)).astype(np.int64), size - 2
        )
        variant = np.where((u < primary) | (size == 1), 0, alt)
        padded = (variant == size - 1) & (size > 1)
        # The padded variant is rare: most draws that land on it take the primary label.
        variant = np.where(padded & (self.rng.random(n) >= 0.2), 0, variant)
        index = vocab.offsets[value] + variant
        n_invalid = len(vocab.labels) - vocab.invalid_start
        wrong = vocab.invalid_start + self.rng.integers(0, max(n_invalid, 1), n)
        index = np.where(bad, wrong, index)
        index = np.where(blank, len(vocab.labels), index)
        series = pl.Series(header, [*vocab.labels, None], dtype=pl.String).gather(index)
        self.columns[header] = series
        self._missing(column, blank)
        if bad.any():
            for i in np.unique(wrong[bad]):
                label = vocab.labels[int(i)].strip()
                self.count(f"{quality.CODE_INVALID}:{column}:{label}", bad & (wrong == i))
        return ~blank & ~bad

    def boolean(self, header: str, column: str, value: BoolArray) -> None:
        n = self.rows
        blank = self.mask(EMPTY * 2)
        bad = self.mask(INVALID)
        self._keep_one_valid(blank, bad)
        variant = np.where(
            self.rng.random(n) < 0.8, 0, self.rng.integers(1, len(_TRUE_LABELS), n)
        ).astype(np.int64)
        index = np.where(value, variant, len(_TRUE_LABELS) + variant)
        wrong = 2 * len(_TRUE_LABELS) + self.rng.integers(0, len(_BOOL_INVALID), n)
        index = np.where(bad, wrong, index)
        index = np.where(blank, 2 * len(_TRUE_LABELS) + len(_BOOL_INVALID), index)
        vocab = [*_TRUE_LABELS, *_FALSE_LABELS, *_BOOL_INVALID, None]
        self.columns[header] = pl.Series(header, vocab, dtype=pl.String).gather(index)
        self._missing(column, blank)
        self.count(f"{quality.BOOL_INVALID}:{column}", bad)

    def date(
        self,
        header: str,
        column: str,
        days: IntArray,
        present: BoolArray,
        empty: float = EMPTY,
        invalid: float = INVALID,
    ) -> BoolArray:
        """A date column (``days`` since 1970-01-01); returns the mask of valid cells."""
        n = self.rows
        blank = ~present | self.mask(empty)
        bad = self.mask(invalid)
        self._keep_one_valid(blank, bad)
        fmt = self.rng.choice(len(_VALID_DATE_FORMATS), size=n, p=_VALID_DATE_WEIGHTS)
        bad_kind = self.rng.integers(0, len(_INVALID_DATE_FORMATS) + len(_IMPOSSIBLE_DAYS), n)
        d = pl.Series("d", np.clip(days, -40_000, 80_000).astype(np.int32)).cast(pl.Date)
        frame = pl.DataFrame({"d": d, "f": fmt, "b": bad_kind, "bad": bad, "blank": blank})
        expr: Any = pl.when(pl.col("blank")).then(pl.lit(None, dtype=pl.String))
        year = pl.col("d").dt.strftime("%Y")
        for i, text in enumerate(_IMPOSSIBLE_DAYS):
            k = len(_INVALID_DATE_FORMATS) + i
            expr = expr.when(pl.col("bad") & (pl.col("b") == k)).then(pl.lit(text) + year)
        for i, pattern in enumerate(_INVALID_DATE_FORMATS):
            expr = expr.when(pl.col("bad") & (pl.col("b") == i)).then(
                pl.col("d").dt.strftime(pattern)
            )
        for i, pattern in enumerate(_VALID_DATE_FORMATS):
            expr = expr.when(pl.col("f") == i).then(pl.col("d").dt.strftime(pattern))
        self.columns[header] = frame.select(expr.alias(header)).to_series()
        valid = ~blank & ~bad
        self.native_dates[header] = valid
        self._missing(column, blank)
        self.count(f"{quality.DATE_INVALID}:{column}", bad)
        self.check(f"after_peildatum:{column}", valid & (days > self.peildatum))
        return valid

    def insz(self, header: str, column: str, number: IntArray, allow_problems: bool = True) -> None:
        """The INSZ column: ``number`` holds the 11 digits of a valid INSZ per row."""
        n = self.rows
        plain = pl.Series(number).cast(pl.String).str.zfill(11)
        first9 = number // 100
        rates = INSZ_RATES if allow_problems else dict.fromkeys(INSZ_RATES, 0.0)
        kind = np.zeros(n, dtype=np.int64)  # 0 valid, 1 missing, 2 format, 3 checksum, 4 serial
        u = self.rng.random(n)
        edge = 0.0
        for k, name in enumerate(("missing", "format", "checksum", "serial"), start=1):
            kind = np.where((u >= edge) & (u < edge + rates[name]), k, kind)
            edge += rates[name]
        if n and not (kind == 0).any():
            kind[0] = 0  # not one valid INSZ would be a structural error
        style = np.where(self.rng.random(n) < INSZ_FORMATTED_SHARE, self.rng.integers(1, 5, n), 0)
        # Checksum: two digits that match neither century branch.
        born_a = 97 - first9 % 97
        born_b = 97 - (first9 + 2_000_000_000) % 97
        cc = (born_a + 1 + self.rng.integers(0, 90, n)) % 100
        for _ in range(2):
            cc = np.where((cc == born_a) | (cc == born_b), (cc + 1) % 100, cc)
        wrong_cc = first9 * 100 + cc
        # Serial 000 or 999 with check digits that are right for the birth century.
        serial = np.where(self.rng.random(n) < 0.5, 0, 999)
        s9 = (first9 // 1000) * 1000 + serial
        y2k = (number % 100) != born_a
        s_cc = 97 - (s9 + np.where(y2k, 2_000_000_000, 0)) % 97
        wrong_serial = s9 * 100 + s_cc
        digits = np.where(kind == 3, wrong_cc, np.where(kind == 4, wrong_serial, number))
        text = pl.Series(digits).cast(pl.String).str.zfill(11)
        frame = pl.DataFrame({"t": text, "k": kind, "s": style, "p": plain})
        fmt_kind = self.rng.integers(0, 4, n)
        t = pl.col("t")
        formatted = [
            t,
            pl.concat_str([t.str.slice(0, 2), t.str.slice(2, 2), t.str.slice(4, 2)], separator=".")
            + "-"
            + t.str.slice(6, 3)
            + "."
            + t.str.slice(9, 2),
            pl.concat_str([t.str.slice(0, 6), t.str.slice(6, 3), t.str.slice(9, 2)], separator=" "),
            pl.concat_str(
                [t.str.slice(0, 2), t.str.slice(2, 2), t.str.slice(4, 2), t.str.slice(6, 3)],
                separator=" ",
            )
            + " "
            + t.str.slice(9, 2),
            t.str.slice(0, 6) + "-" + t.str.slice(6, 3) + "-" + t.str.slice(9, 2),
        ]
        bad_format = [
            t.str.slice(0, 10),  # a digit lost
            t + pl.lit("7"),  # a digit too many
            t.str.slice(0, 5) + "O" + t.str.slice(6, 5),  # a letter O for a zero
            t.str.slice(1, 10),  # a leading digit lost, as Excel does to a number
        ]
        expr: Any = pl.when(pl.col("k") == 1).then(pl.lit(None, dtype=pl.String))
        for i, e in enumerate(bad_format):
            expr = expr.when((pl.col("k") == 2) & (pl.lit(fmt_kind) == i)).then(e)
        for i, e in enumerate(formatted):
            expr = expr.when(pl.col("s") == i).then(e)
        self.columns[header] = frame.select(expr.alias(header)).to_series()
        valid = kind == 0
        month = (number // 10_000_000) % 100
        reasons = {
            quality.INSZ_MISSING: kind == 1,
            quality.INSZ_FORMAT: kind == 2,
            quality.INSZ_CHECKSUM: kind == 3,
            quality.INSZ_SERIAL: kind == 4,
            quality.INSZ_FORMATTED: valid & (style > 0),
            quality.INSZ_BIS: valid & (month >= 20),
        }
        for reason, m in reasons.items():
            self.count(f"{reason}:{column}", m)
        self.valid_insz = valid
        self.insz_style = style

    def text(self, header: str, column: str | None, values: pl.Series) -> None:
        """Free text or a direct identifier; only protocol columns count as missing."""
        self.columns[header] = values.alias(header)
        if column is not None:
            blank = values.is_null() | (values.str.strip_chars() == "")
            self._missing(column, blank.to_numpy())

    def frame(self, order: IntArray) -> pl.DataFrame:
        df = pl.DataFrame(list(self.columns.values()))
        return df[order]

    def planted(self, keep: BoolArray) -> Planted:
        """What is planted in the rows that are written (``keep``)."""

        def tally(marks: dict[str, IntArray]) -> dict[str, int]:
            out = {k: int(v[keep].sum()) for k, v in sorted(marks.items())}
            return {k: v for k, v in out.items() if v or k in self.always}

        return Planted(tally(self.counts), tally(self.checks), int(keep.sum()))


_INSZ_REASONS = frozenset(
    {
        quality.INSZ_MISSING,
        quality.INSZ_FORMAT,
        quality.INSZ_CHECKSUM,
        quality.INSZ_SERIAL,
        quality.INSZ_FORMATTED,
        quality.INSZ_BIS,
    }
)


def respell_duplicates(t: Table, header: str, number: IntArray, dup: IntArray, rows: int) -> int:
    """Make each duplicate pair validly spelled in two different ways; return the count.

    The duplicate row ``rows + i`` copies row ``dup[i]``: both rows get a valid INSZ,
    one plain and one formatted, and the planted INSZ counts are corrected to match.
    """
    if not len(dup):
        return 0
    series = t.columns[header]
    plain = pl.Series(number).cast(pl.String).str.zfill(11)
    dotted = pl.select(
        pl.concat_str(
            [plain.str.slice(0, 2), plain.str.slice(2, 2), plain.str.slice(4, 2)], separator="."
        )
        + "-"
        + plain.str.slice(6, 3)
        + "."
        + plain.str.slice(9, 2)
    ).to_series()
    originals = dup
    copies = rows + np.arange(len(dup))
    both = np.concatenate([originals, copies])
    # Undo what the INSZ column counted for these rows, then count them again.
    for key, marks in t.counts.items():
        if key.endswith(":insz") and key.split(":")[0] in _INSZ_REASONS:
            marks[both] = 0
    month = (number[both] // 10_000_000) % 100
    original_plain = t.insz_style[originals] == 0
    new_orig = np.where(original_plain, plain.gather(originals), dotted.gather(originals))
    new_copy = np.where(original_plain, dotted.gather(originals), plain.gather(originals))
    values = series.to_numpy().astype(object)
    values[originals] = new_orig
    values[copies] = new_copy
    t.columns[header] = pl.Series(header, values.tolist(), dtype=pl.String)
    # The dotted spelling is the copy's when the original is plain, else the original's.
    dotted_row = np.zeros(t.rows, bool)
    dotted_row[np.where(original_plain, copies, originals)] = True
    t.count(f"{quality.INSZ_FORMATTED}:insz", dotted_row)
    bis_row = np.zeros(t.rows, bool)
    bis_row[both[month >= 20]] = True
    t.count(f"{quality.INSZ_BIS}:insz", bis_row)
    return len(dup)
