"""Synthetic extracts (KBI, VDAB werkzoekenden, VDAB acties) for the demo, tests and benchmarks.

The generator writes the three incoming extracts of DATA.md in their real formats, with
realistic distributions and with every kind of messiness the readers must handle, and it
records exactly what it planted (:class:`Planted`) so that a test can compare the
reader's findings with it.

Everything is drawn from one ``numpy.random.Generator(PCG64(seed))`` in a fixed order and
written without timestamps, so the same arguments give byte-identical files.

With ``population_end``, a delivery is a snapshot at its peildatum of one population drawn
for ``population_end``: deliveries with the same seed and ``population_end`` hold the same
people (and the same messy cells per person), each with what is known at its peildatum.

Planted counts use the reason codes of :mod:`pijler3.extracts.quality`, keyed ``reason:column`` or
``reason:column:label`` (column = canonical column name), and count what the reader of
an extract reports, cell by cell, over every row of the file (duplicate rows included):

- ``missing``: empty cells (nothing but white space counts as empty); for the INSZ
  column ``insz_missing`` instead.
- ``date_invalid`` / ``bool_invalid``: non-empty cells that are not a date / yes-no value.
- ``code_invalid:column:label``: non-empty cells of a coded column that match no label,
  per trimmed raw label.
- ``insz_format`` / ``insz_checksum`` / ``insz_serial``: refused INSZs by the reason
  :func:`pijler3.contract.insz.check` gives; ``insz_formatted``: valid INSZs written with
  separators; ``insz_bis``: valid BIS numbers (month 20..32 or 40..52).
- ``duplicate_insz`` (werkzoekenden): rows beyond the first per normalised INSZ, and
  ``action_unknown_type`` (acties): rows whose ``Actietype`` is filled in but invalid.
  These two are computed by the link step, not by the reader (an unknown action type is
  *also* a ``code_invalid`` of the reader); :meth:`Planted.reader_counts` leaves them out.

``Planted.checks`` holds counts that later steps report, counted on the valid cells of
the file (duplicate rows included, nothing linked): ``free_text_<kind>`` (the person's
own name, a phone number, an e-mail address, an INSZ or an IBAN typed into
``plo_reden``), ``after_peildatum:<column>``, ``contract_before_aanmelding``,
``toeleiding_before_aanmelding``, ``outflow_before_registration`` and ``vdab_not_in_kbi``
(VDAB rows of people absent from the KBI extract).

Synthetic data only: every name, address, phone number, e-mail address, INSZ and IBAN
is made up (e-mail domains are the reserved ``example.*`` names).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import json
import os
import tempfile
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from pijler3.contract import codes
from pijler3.contract import protocol as protocol_mod
from pijler3.contract.errors import UserError
from pijler3.contract.protocol import Protocol
from pijler3.exchange.atomic import fsync_dir
from pijler3.extracts import quality

FORMAT = "pijler3-synth-planted/1"
CONTRACT_START = dt.date(2022, 3, 1)
FILE_NAMES = {"kbi": "kbi", "werkzoekenden": "vdab_werkzoekenden", "acties": "vdab_acties"}
PLANTED_FILE = "planted.json"
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252")
DELIMITERS = (";", ",")
# Reasons that the link step reports, not the reader of a single extract.
LINK_REASONS = frozenset({quality.DUPLICATE_INSZ, quality.ACTION_UNKNOWN_TYPE})

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
_EPOCH = dt.date(1970, 1, 1)
_CHUNK = 200_000  # rows per CSV chunk: bounds memory when encoding a million rows


class SynthError(UserError):
    """The generator was asked for something it cannot make."""


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


@dataclass(frozen=True)
class SynthResult:
    kbi: Path
    werkzoekenden: Path
    acties: Path
    planted: dict[str, Planted]
    planted_path: Path


# --------------------------------------------------------------------------- rates
# Messiness rates per cell. They are kept to a few per cent so that indicators computed
# on the synthetic data stay meaningful.
EMPTY = 0.01
INVALID = 0.004
INSZ_RATES = {"missing": 0.002, "format": 0.002, "checksum": 0.003, "serial": 0.001}
INSZ_FORMATTED_SHARE = 0.06
BIS_SHARE = 0.04
DUPLICATE_SHARE = 0.01
VDAB_ONLY_SHARE = 0.005
PRE_REFORM_SHARE = 0.03
PADDED_SHARE = 0.01
LATE_SHARE = 0.003  # dates just after the peildatum (a later export)

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

# A published-looking nationality mix of new contract signers, with a long tail.
_NATIONALITIES: tuple[tuple[str, float], ...] = (
    ("UKR", 14), ("SYR", 11), ("AFG", 9), ("MAR", 6), ("TUR", 5), ("ERI", 4.5),
    ("PSE", 4), ("COD", 3), ("RUS", 2.5), ("IRQ", 2.5), ("IND", 2.5), ("ROU", 2.5),
    ("BRA", 2), ("SOM", 2), ("GIN", 1.8), ("CMR", 1.8), ("IRN", 1.5), ("POL", 1.5),
    ("PAK", 1.2), ("ESP", 1.2), ("ITA", 1.2), ("NGA", 1), ("ETH", 1), ("COL", 1.2),
    ("VEN", 1), ("PHL", 0.8), ("CHN", 0.8), ("ALB", 0.7), ("BGR", 0.8), ("NLD", 0.8),
    ("FRA", 0.8), ("PRT", 0.6), ("GRC", 0.4), ("EGY", 0.6), ("DZA", 0.6), ("TUN", 0.5),
    ("SEN", 0.5), ("GHA", 0.4), ("KEN", 0.3), ("NPL", 0.4), ("BGD", 0.4), ("VNM", 0.3),
    ("THA", 0.4), ("USA", 0.4), ("GBR", 0.3), ("ARM", 0.5), ("GEO", 0.6), ("MDA", 0.4),
    ("SRB", 0.3), ("MKD", 0.4), ("BIH", 0.2), ("YEM", 0.3), ("SDN", 0.5), ("LBY", 0.2),
    ("LBN", 0.3), ("JOR", 0.2), ("MEX", 0.3), ("PER", 0.3), ("ECU", 0.2), ("CUB", 0.2),
    ("HTI", 0.1), ("BDI", 0.3), ("RWA", 0.3), ("CIV", 0.4), ("MLI", 0.2), ("BFA", 0.1),
    ("TGO", 0.2), ("BEN", 0.1), ("AGO", 0.2), ("MRT", 0.2), ("UZB", 0.1), ("KAZ", 0.1),
    ("TJK", 0.1), ("BLR", 0.3), ("XXA", 0.4), ("XXX", 0.3),
)  # fmt: skip
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
_REFUGEE = frozenset(
    [
        "SYR",
        "AFG",
        "ERI",
        "PSE",
        "IRQ",
        "SOM",
        "GIN",
        "IRN",
        "YEM",
        "SDN",
        "BDI",
        "ETH",
        "XXA",
        "COD",
    ]
)
_EU = frozenset(["ROU", "POL", "ESP", "ITA", "BGR", "NLD", "FRA", "PRT", "GRC"])

# Code order of the lists used below (they follow codelists.toml).
_GESLACHT = ("M", "V", "X")
_SCHOLING = ("LAAG", "MIDDEN", "HOOG", "ONBEKEND")
_DOELGROEP = ("VERPLICHT", "RECHTHEBBEND", "ONBEPAALD")
_REGIO = (
    "ANTWERPEN_STAD", "GENT_STAD", "PROVINCIE_ANTWERPEN", "LIMBURG", "OOST_VLAANDEREN",
    "VLAAMS_BRABANT", "WEST_VLAANDEREN", "BRUSSEL",
)  # fmt: skip
_REGIO_P = (0.18, 0.08, 0.14, 0.10, 0.12, 0.14, 0.10, 0.14)
_PLO = (
    "TOELEIDING_VDAB", "WERKT_AL", "STUDEERT", "GEEN_TOEGANG_ARBEIDSMARKT",
    "TIJDELIJK_NIET_INZETBAAR", "ZELFSTANDIGE",
)  # fmt: skip
_PLO_P = (0.81, 0.06, 0.03, 0.045, 0.04, 0.015)
_RESULTAAT = (
    "LOPEND", "GELIJKWAARDIG_NIVEAU", "GELIJKWAARDIG_SPECIFIEK", "LAGER_NIVEAU",
    "NIET_GELIJKWAARDIG", "STOPGEZET",
)  # fmt: skip
_TAAL = ("LAAG", "GEMIDDELD", "HOOG", "ONBEKEND")
_NT2 = ("GEEN", "A1", "A2", "B1", "B2", "C1")
_TRAJECT = ("STANDAARD", "ALFA", "INTENSIEF", "MAATWERK")
_VERBLIJF = (
    "GEZINSHERENIGER", "ERKEND_VLUCHTELING", "SUBSIDIAIR_BESCHERMD", "ARBEIDSMIGRANT",
    "EU_BURGER", "STUDENT", "TIJDELIJK_BESCHERMD", "REGULARISATIE", "ANDERE",
)  # fmt: skip
_CATEGORIE = ("00", "02", "03", "04", "05", "06", "10", "14", "80", "82", "93")
_STATUS = (
    "IN_BEMIDDELING", "IN_OPLEIDING_OF_VOORTRAJECT", "NIET_INZETBAAR_LANGE_TERMIJN",
    "UITGESCHREVEN",
)  # fmt: skip
_ACTIE = ("ORIENTATIE", "CONTEXT", "COMPETENTIEVERSTERKING", "SOLLICITEREN")

# Group of origin: 0 refugee, 1 EU, 2 Ukraine, 3 other (family, work, study).
_VERBLIJF_BY_GROUP = (
    (0.20, 0.60, 0.12, 0.01, 0.00, 0.01, 0.00, 0.02, 0.04),
    (0.05, 0.00, 0.00, 0.05, 0.85, 0.02, 0.00, 0.00, 0.03),
    (0.03, 0.02, 0.00, 0.02, 0.00, 0.01, 0.90, 0.00, 0.02),
    (0.55, 0.05, 0.02, 0.18, 0.00, 0.08, 0.00, 0.05, 0.07),
)
_VERPLICHT_BY_GROUP = (0.62, 0.15, 0.30, 0.55)
_SCHOLING_BY_GROUP = (
    (0.42, 0.28, 0.20, 0.10),
    (0.20, 0.35, 0.37, 0.08),
    (0.15, 0.35, 0.42, 0.08),
    (0.35, 0.30, 0.25, 0.10),
)

# Planted differences: LAAG registers less and later and finds work later; Brussels
# (where people register with Actiris rather than VDAB) registers less and later.
_REG_P_BY_SCHOLING = (0.86, 0.94, 0.96, 0.90)
_REG_DELAY_BY_SCHOLING = (24.0, 15.0, 11.0, 19.0)
_WORK_MEAN_BY_SCHOLING = (900.0, 560.0, 400.0, 700.0)
_REG_P_BY_REGIO = (1.03, 1.00, 1.00, 0.97, 1.00, 0.95, 1.02, 0.85)
_REG_DELAY_BY_REGIO = (0.8, 0.9, 1.0, 1.1, 1.0, 1.1, 0.9, 1.4)
_WORK_BY_REGIO = (1.05, 1.0, 0.95, 1.1, 1.0, 0.9, 0.85, 1.3)

_MALE_NAMES = (
    "Mohammed", "Ahmad", "Oleksandr", "Yusuf", "Abdul", "Mehmet", "Loïc", "Joël",
    "Raphaël", "Noël", "Tesfay", "Ali", "Omar", "Dmytro", "Karim", "Hamid", "José",
    "André", "Mustafa", "Ibrahim", "Andriy", "Samuel", "Youssef", "Hassan",
)  # fmt: skip
_FEMALE_NAMES = (
    "Amal", "Fatima", "Olena", "Zoë", "Hélène", "Anaïs", "Chloë", "Maryam", "Aïcha",
    "Nour", "Iryna", "Leïla", "Selam", "Zeynep", "Marta", "Rania", "Noëlle", "Aylin",
    "Daria", "Khadija", "Joëlle", "Inès", "Sara", "Yasmina",
)  # fmt: skip
_SURNAMES = (
    "Haddad", "Al-Ahmad", "Yilmaz", "Kovalenko", "Ahmadi", "El Amrani", "Tesfaye",
    "Nguyen", "Dubois", "Müller", "Benali", "Shevchenko", "Hosseini", "Kaya", "Mekonnen",
    "Diallo", "Bakari", "Popescu", "Kowalski", "García", "Da Silva", "Rahimi", "Bondarenko",
    "Haidari", "Öztürk", "Mbala", "Nkemelu", "Saïdi", "Khoury", "Ibrahimi", "Petrovic",
    "Novák", "Ferreira", "Ramírez", "Hakimi", "Mansour", "Tkachenko", "Abebe",
)  # fmt: skip
_STREETS = (
    "Kerkstraat", "Stationsstraat", "Dorpsstraat", "Molenstraat", "Turnhoutsebaan",
    "Brusselsesteenweg", "Nieuwstraat", "Kapelstraat", "Sint-Bernardsesteenweg",
    "Lange Kievitstraat", "Dampoortstraat", "Rue Haute", "Chaussée de Gand",
)  # fmt: skip
_PLACES_BY_REGIO = (
    (("2000", "Antwerpen"), ("2060", "Antwerpen"), ("2140", "Borgerhout"), ("2100", "Deurne")),
    (("9000", "Gent"), ("9040", "Sint-Amandsberg"), ("9050", "Ledeberg")),
    (("2800", "Mechelen"), ("2300", "Turnhout"), ("2500", "Lier"), ("2200", "Herentals")),
    (("3500", "Hasselt"), ("3600", "Genk"), ("3580", "Beringen"), ("3900", "Pelt")),
    (("9300", "Aalst"), ("9100", "Sint-Niklaas"), ("9200", "Dendermonde")),
    (("3000", "Leuven"), ("1800", "Vilvoorde"), ("3300", "Tienen"), ("1500", "Halle")),
    (("8000", "Brugge"), ("8500", "Kortrijk"), ("8400", "Oostende"), ("8800", "Roeselare")),
    (("1000", "Brussel"), ("1030", "Schaarbeek"), ("1080", "Sint-Jans-Molenbeek")),
)
_MAIL_DOMAINS = ("example.com", "example.org", "example.net")

# Free text a counsellor types as the reason of the PLO decision, per decision. Some hold
# the export's delimiters, a quote, or a line break.
_REASONS: dict[str, tuple[str, ...]] = {
    "TOELEIDING_VDAB": (
        "Zoekt werk, wil zich laten begeleiden",
        "Toeleiding naar VDAB; eerst NT2 afwerken",
        "Wil werken in de zorg, heeft ervaring",
        "Heeft interesse in een opleiding lasser",
    ),
    "WERKT_AL": (
        "Werkt voltijds als magazijnier",
        "Werkt al via interimkantoor; contract van onbepaalde duur",
        'Werkt in de horeca, zegt "tijdelijk"',
        "Werkt deeltijds, 20u/week",
    ),
    "STUDEERT": ("Volgt opleiding aan hogeschool", "Student, bachelor verpleegkunde"),
    "GEEN_TOEGANG_ARBEIDSMARKT": (
        "Geen toegang tot de arbeidsmarkt",
        "Verblijfskaart zonder arbeidsrecht\nopnieuw bekijken na verlenging",
    ),
    "TIJDELIJK_NIET_INZETBAAR": (
        "Medische redenen, attest tot einde jaar",
        "Zwangerschap; opnieuw bekijken na bevalling",
        "Mantelzorg voor een familielid",
    ),
    "ZELFSTANDIGE": ("Start eigen zaak (kapsalon)", "Zelfstandige, schoonmaakbedrijf"),
}
# Identifiers a counsellor sometimes types into the free text (DATA.md §3 filters them).
_PII_KINDS = ("name", "phone", "email", "insz", "iban")
_PII_SHARE = 0.03
_NEWLINE_SHARE = 0.002


# --------------------------------------------------------------------------- labels


@dataclass(frozen=True)
class _Vocab:
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
def _vocab(listname: str, code_order: tuple[str, ...]) -> _Vocab:
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
    return _Vocab(
        tuple(code_order),
        tuple(labels),
        np.asarray(offsets, dtype=np.int64),
        np.asarray(sizes, dtype=np.int64),
        start,
    )


# --------------------------------------------------------------------------- builder


class _Table:
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
        vocab: _Vocab,
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


# --------------------------------------------------------------------------- people


def _days(d: dt.date) -> int:
    return (d - _EPOCH).days


def _choice(rng: np.random.Generator, p: Sequence[float], n: int) -> IntArray:
    probs = np.asarray(p, dtype=float)
    return rng.choice(len(probs), size=n, p=probs / probs.sum()).astype(np.int64)


def _choice_by(
    rng: np.random.Generator, table: Sequence[Sequence[float]], group: IntArray
) -> IntArray:
    """One draw per row from the distribution of the row's group."""
    probs = np.asarray(table, dtype=float)
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(len(group))
    out = (u[:, None] >= cum[group]).sum(axis=1)
    return np.asarray(np.minimum(out, probs.shape[1] - 1), dtype=np.int64)


def _ymd(days: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    d = np.asarray(days, dtype="datetime64[D]")
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    year = y.astype(np.int64) + 1970
    month = (m - y).astype(np.int64) + 1
    day = (d - m).astype(np.int64) + 1
    return year, month, day


def _make_insz(
    rng: np.random.Generator, birth: IntArray, male: BoolArray, female: BoolArray
) -> IntArray:
    """Unique valid INSZs (as integers) for birth dates; a share are BIS numbers."""
    n = len(birth)
    year, month, day = _ymd(birth)
    bis = rng.random(n) < BIS_SHARE
    month = np.where(bis, month + np.where(rng.random(n) < 0.5, 20, 40), month)
    unknown_day = bis & (rng.random(n) < 0.10)
    unknown_month = unknown_day & (rng.random(n) < 0.3)
    day = np.where(unknown_day, 0, day)
    month = np.where(unknown_month, month - month % 20, month)
    head = (year % 100) * 10_000 + month * 100 + day
    y2k = year >= 2000

    def draw_serial(k: int, m: BoolArray, f: BoolArray) -> IntArray:
        s = rng.integers(1, 499, k) * 2  # even: women
        s = np.where(m, s - 1, s)  # odd: men
        return np.where(~m & ~f, rng.integers(1, 999, k), s)

    serial = draw_serial(n, male, female)
    first9 = head * 1000 + serial
    for _ in range(50):
        _, first, inverse, counts = np.unique(
            first9, return_index=True, return_inverse=True, return_counts=True
        )
        dup = counts[inverse] > 1
        dup[first] = False
        if not dup.any():
            break
        k = int(dup.sum())
        first9[dup] = head[dup] * 1000 + draw_serial(k, male[dup], female[dup])
    else:  # pragma: no cover - would need tens of millions of people per birth day
        raise SynthError("could not draw unique INSZs; ask for fewer persons.")
    cc = 97 - (first9 + np.where(y2k, 2_000_000_000, 0)) % 97
    return np.asarray(first9 * 100 + cc, dtype=np.int64)


def _iban(rng: np.random.Generator) -> str:
    """A made-up Belgian IBAN with valid check digits, written in groups of four."""
    base = int(rng.integers(0, 10**10))
    national = base % 97 or 97
    bban = f"{base:010d}{national:02d}"
    check = 98 - int(bban + "111400") % 97
    raw = f"BE{check:02d}{bban}"
    return " ".join(raw[i : i + 4] for i in range(0, 16, 4))


def _phones(rng: np.random.Generator, n: int) -> pl.Series:
    """Made-up Belgian mobile numbers, in the three spellings people use."""
    digits = rng.integers(0, 100, (n, 3))
    prefix = rng.choice(["0470", "0471", "0472", "0475", "0476", "0484", "0486", "0493"], n)
    a, b, c = (pl.Series(digits[:, i]).cast(pl.String).str.zfill(2) for i in range(3))
    p = pl.Series(prefix)
    style = pl.Series(rng.integers(0, 3, n))
    return pl.select(
        pl.when(style == 0)
        .then(pl.concat_str([p, a, b, c], separator=" "))
        .when(style == 1)
        .then("+32" + p.str.slice(1, 3) + a + b + c)
        .otherwise(p + "/" + a + "." + b + "." + c)
        .alias("phone")
    ).to_series()


def _ascii(names: Sequence[str]) -> list[str]:
    return [codes.fold(x).replace(" ", "").replace("-", "") for x in names]


@dataclass
class _Frames:
    tables: dict[str, _Table]
    frames: dict[str, pl.DataFrame]
    orders: dict[str, IntArray]
    planted: dict[str, Planted]


def _generate(
    persons: int,
    peildatum: dt.date,
    seed: int,
    proto: Protocol,
    population_end: dt.date | None = None,
) -> _Frames:
    """Draw the population of ``population_end`` and write its snapshot at ``peildatum``.

    People, their attributes, their true event dates and every messy cell are drawn as
    for a delivery at ``population_end`` (the same random draws in the same order), for
    every row of that delivery. The snapshot then shows what is known at ``peildatum``:
    dates after it are left out (except the few planted late ones, placed just after
    ``peildatum``), and only the rows of people and events known by then are written. So
    the same seed and ``population_end`` give the same people in every snapshot, and
    without ``population_end`` (or with it equal to ``peildatum``) every row is written
    exactly as before.
    """
    if persons < 1:
        raise SynthError("--persons must be at least 1.")
    if peildatum <= CONTRACT_START:
        raise SynthError(
            f"--peildatum must be after {CONTRACT_START:%d/%m/%Y}, the start of the reform."
        )
    if population_end is not None and population_end < peildatum:
        raise SynthError("population_end must be on or after the peildatum.")
    rng = np.random.Generator(np.random.PCG64(seed))
    n = persons
    # The population is drawn at ``peil``; ``snap`` is the peildatum of the snapshot.
    peil = _days(population_end or peildatum)
    snap = _days(peildatum)
    start = _days(CONTRACT_START)

    # Who: origin, sex, age, education, target group.
    nat_codes = tuple(c for c, _ in _NATIONALITIES)
    nat = _choice(rng, [w for _, w in _NATIONALITIES], n)
    group_of = np.array(
        [0 if c in _REFUGEE else 1 if c in _EU else 2 if c == "UKR" else 3 for c in nat_codes]
    )
    group = group_of[nat]
    sex = _choice(rng, (0.55, 0.445, 0.005), n)
    male, female = sex == 0, sex == 1
    scholing = _choice_by(rng, _SCHOLING_BY_GROUP, group)
    verplicht = rng.random(n) < np.asarray(_VERPLICHT_BY_GROUP)[group]
    doelgroep = np.where(verplicht, 0, 1)
    doelgroep = np.where(rng.random(n) < 0.01, 2, doelgroep)
    regio = _choice(rng, _REGIO_P, n)
    verblijf = _choice_by(rng, _VERBLIJF_BY_GROUP, group)

    # When: contract, sign-up, target group, birth.
    contract = rng.integers(start, peil + 1, n)
    pre = rng.random(n) < PRE_REFORM_SHARE
    contract = np.where(pre, start - rng.integers(1, 180, n), contract)
    aanmelding = contract - rng.exponential(30.0, n).astype(np.int64)
    late_signup = rng.random(n) < 0.01
    aanmelding = np.where(
        late_signup, np.minimum(contract + rng.integers(1, 20, n), peil), aanmelding
    )
    doelgroep_date = aanmelding - rng.exponential(120.0, n).astype(np.int64)
    age_band = _choice(rng, (0.02, 0.16, 0.36, 0.26, 0.13, 0.05, 0.02), n)
    low = np.array([16, 18, 25, 35, 45, 55, 65])[age_band]
    high = np.array([18, 25, 35, 45, 55, 65, 80])[age_band]
    age_days = (rng.uniform(low, high) * 365.25).astype(np.int64)
    birth = contract - age_days
    insz = _make_insz(rng, birth, male, female)

    # PLO decision; exempt persons (WERKT_AL, GEEN_TOEGANG) register rarely.
    plo = _choice(rng, _PLO_P, n)
    exempt = (plo == 1) | (plo == 3)
    referred_p = np.where(exempt, 0.15, np.where(verplicht, 0.85, 0.55))
    referred = rng.random(n) < referred_p
    toeleiding = contract + rng.gamma(2.0, 12.0, n).astype(np.int64)
    toeleiding = np.where(rng.random(n) < 0.02, contract - rng.integers(1, 60, n), toeleiding)
    has_toeleiding = referred & (toeleiding <= snap)

    diploma = rng.random(n) < np.array([0.03, 0.12, 0.35, 0.05])[scholing]
    resultaat = _choice(rng, (0.35, 0.2, 0.1, 0.15, 0.1, 0.1), n)
    taal_p = (
        (0.45, 0.40, 0.05, 0.10),
        (0.2, 0.5, 0.2, 0.1),
        (0.05, 0.40, 0.45, 0.10),
        (0.2, 0.5, 0.2, 0.1),
    )
    taal = _choice_by(rng, taal_p, scholing)
    nt2 = _choice(rng, (0.10, 0.28, 0.34, 0.17, 0.08, 0.03), n)
    traject_p = ((0.55, 0.30, 0.08, 0.07), (0.78, 0.03, 0.11, 0.08), (0.78, 0.03, 0.11, 0.08),
                 (0.70, 0.12, 0.10, 0.08))  # fmt: skip
    traject = _choice_by(rng, traject_p, scholing)
    leefloon = rng.random(n) < np.where(group == 0, 0.45, 0.2)
    nt2_date = contract + rng.integers(10, 600, n)
    nt2_late = rng.random(n) < LATE_SHARE
    has_nt2 = (nt2_date <= snap) | nt2_late
    nt2_date = np.where(nt2_late, snap + rng.integers(1, 30, n), nt2_date)

    # VDAB: registration (some before the contract), outflow to work.
    reg_p = np.minimum(
        np.asarray(_REG_P_BY_SCHOLING)[scholing]
        * np.asarray(_REG_P_BY_REGIO)[regio]
        * np.where(verplicht, 1.05, 0.93),
        0.98,
    )
    reg_p = np.where(plo == 1, 0.35, np.where(plo == 3, 0.08, reg_p))
    registers = rng.random(n) < reg_p
    median = np.asarray(_REG_DELAY_BY_SCHOLING)[scholing] * np.asarray(_REG_DELAY_BY_REGIO)[regio]
    delay = (median * np.exp(rng.normal(0.0, 0.9, n))).astype(np.int64)
    before = rng.random(n) < 0.08
    eerste = np.where(before, contract - rng.integers(1, 400, n), contract + delay)
    reg_late = rng.random(n) < 0.1  # of those registering just after the peildatum
    in_vdab = registers & ((eerste <= peil) | (reg_late & (eerste <= peil + 30)))
    recentste = np.where(
        rng.random(n) < 0.7,
        eerste,
        eerste + (rng.random(n) * np.maximum(peil - eerste, 0)).astype(np.int64),
    )
    work_mean = np.asarray(_WORK_MEAN_BY_SCHOLING)[scholing] * np.asarray(_WORK_BY_REGIO)[regio]
    work_mean = np.where(plo == 1, 60.0, work_mean)
    work = np.maximum(eerste, contract) + rng.exponential(work_mean).astype(np.int64)
    work_early = rng.random(n) < 0.003  # outflow recorded before the first registration
    work = np.where(work_early, eerste - rng.integers(1, 60, n), work)
    work_late = rng.random(n) < LATE_SHARE
    work_shift = rng.integers(1, 30, n)

    # What is known at the snapshot's peildatum (all of it when it is ``peil``). A
    # re-registration after it is not known yet: the first one is then the most recent.
    in_snap = registers & ((eerste <= snap) | (reg_late & (eerste <= snap + 30)))
    recentste = np.where(recentste <= snap, recentste, eerste)
    has_work = in_snap & ((work <= snap) | work_late)
    work = np.where(work_late & (work > snap), snap + work_shift, work)
    in_kbi = contract <= snap

    tables: dict[str, _Table] = {}
    orders: dict[str, IntArray] = {}
    keeps: dict[str, BoolArray] = {}  # the rows of each table that the snapshot writes

    # ------------------------------------------------------------------ KBI
    kbi_cols = {c.name: c.labels[0] for c in proto.extracts["kbi"].columns}
    ids = list(proto.extracts["kbi"].direct_identifiers)
    t = _Table("kbi", rng, n, snap)
    t.insz(kbi_cols["insz"], "insz", insz)
    first_names = np.where(
        male,
        rng.integers(0, len(_MALE_NAMES), n),
        len(_MALE_NAMES) + rng.integers(0, len(_FEMALE_NAMES), n),
    )
    all_first = (*_MALE_NAMES, *_FEMALE_NAMES)
    surname = rng.integers(0, len(_SURNAMES), n)
    first_s = pl.Series(all_first).gather(first_names)
    last_s = pl.Series(_SURNAMES).gather(surname)
    identifiers: dict[str, pl.Series] = {}
    identifiers["Naam"] = last_s
    identifiers["Voornaam"] = first_s
    identifiers["Straat"] = pl.Series(_STREETS).gather(rng.integers(0, len(_STREETS), n))
    number = pl.Series(rng.integers(1, 250, n)).cast(pl.String)
    suffix = pl.Series(["", "", "", "", "A", " bus 2", " bus 11", "B"]).gather(
        rng.integers(0, 8, n)
    )
    identifiers["Huisnummer"] = number + suffix
    place_flat = [p for places in _PLACES_BY_REGIO for p in places]
    place_off = np.cumsum([0, *[len(p) for p in _PLACES_BY_REGIO]])[:-1]
    place_n = np.array([len(p) for p in _PLACES_BY_REGIO])
    place = place_off[regio] + (rng.random(n) * place_n[regio]).astype(np.int64)
    identifiers["Postcode"] = pl.Series([p[0] for p in place_flat]).gather(place)
    identifiers["Gemeente"] = pl.Series([p[1] for p in place_flat]).gather(place)
    phones = _phones(rng, n)
    identifiers["Telefoon"] = pl.select(
        pl.when(pl.Series(rng.random(n) < 0.08)).then(None).otherwise(phones)
    ).to_series()
    mail_num = pl.Series(rng.integers(1, 100, n)).cast(pl.String)
    mail = (
        pl.Series(_ascii(all_first)).gather(first_names)
        + "."
        + pl.Series(_ascii(_SURNAMES)).gather(surname)
        + pl.select(
            pl.when(pl.Series(rng.random(n) < 0.5)).then(mail_num).otherwise(pl.lit(""))
        ).to_series()
        + "@"
        + pl.Series(_MAIL_DOMAINS).gather(rng.integers(0, len(_MAIL_DOMAINS), n))
    )
    identifiers["E-mail"] = pl.select(
        pl.when(pl.Series(rng.random(n) < 0.15)).then(None).otherwise(mail)
    ).to_series()

    def ident(label: str) -> None:
        for key, values in identifiers.items():
            if key.casefold() == label.casefold():
                t.text(label, None, values)
                return
        t.text(label, None, pl.Series([None] * n, dtype=pl.String))

    for label in ids[:2]:
        ident(label)
    t.date(kbi_cols["geboortedatum"] + " ", "geboortedatum", birth, np.ones(n, bool))
    t.code(kbi_cols["geslacht"], "geslacht", _vocab("geslacht", _GESLACHT), sex)
    for label in ids[2:]:
        ident(label)
    t.code(
        kbi_cols["scholingsniveau"],
        "scholingsniveau",
        _vocab("scholingsniveau", _SCHOLING),
        scholing,
    )
    t.code(
        kbi_cols["oudste_nationaliteit"],
        "oudste_nationaliteit",
        _vocab(codes.NATIONALITY, nat_codes),
        nat,
    )
    valid_toeleiding = t.date(
        kbi_cols["datum_toeleiding_vdab"], "datum_toeleiding_vdab", toeleiding, has_toeleiding
    )
    t.code(kbi_cols["doelgroep"], "doelgroep", _vocab("doelgroep", _DOELGROEP), doelgroep)
    t.date(kbi_cols["datum_doelgroep"], "datum_doelgroep", doelgroep_date, doelgroep_date <= snap)
    valid_contract = t.date(
        kbi_cols["datum_inburgeringscontract"],
        "datum_inburgeringscontract",
        contract,
        np.ones(n, bool),
        empty=0.02,
    )
    valid_aanmelding = t.date(
        kbi_cols["datum_aanmelding"], "datum_aanmelding", aanmelding, aanmelding <= snap
    )
    t.code(kbi_cols["regio"].upper(), "regio", _vocab("regio", _REGIO), regio)
    t.boolean(
        kbi_cols["toeleiding_diplomagelijkschakeling"],
        "toeleiding_diplomagelijkschakeling",
        diploma,
    )
    t.code(
        kbi_cols["resultaat_diplomagelijkschakeling"],
        "resultaat_diplomagelijkschakeling",
        _vocab("resultaat_diplomagelijkschakeling", _RESULTAAT),
        resultaat,
        present=diploma,
    )
    t.code(kbi_cols["plo_besluit"], "plo_besluit", _vocab("plo_besluit", _PLO), plo, empty=0.02)
    reden, pii = _reasons(rng, plo, first_s, last_s, phones, mail, insz)
    t.text(kbi_cols["plo_reden"], "plo_reden", reden)
    for k, kind in enumerate(_PII_KINDS):
        t.check(f"free_text_{kind}", pii == k)
    t.code(
        kbi_cols["taalleervermogen"], "taalleervermogen", _vocab("taalleervermogen", _TAAL), taal
    )
    t.code(kbi_cols["nt2_niveau"], "nt2_niveau", _vocab("nt2_niveau", _NT2), nt2, empty=0.05)
    t.code(kbi_cols["trajecttype"], "trajecttype", _vocab("trajecttype", _TRAJECT), traject)
    t.boolean(kbi_cols["ocmw_leefloon"], "ocmw_leefloon", leefloon)
    t.date(
        kbi_cols["datum_laatste_nt2_activiteit"], "datum_laatste_nt2_activiteit", nt2_date, has_nt2
    )
    t.code(
        kbi_cols["verblijfsstatus"],
        "verblijfsstatus",
        _vocab("verblijfsstatus", _VERBLIJF),
        verblijf,
    )
    both = valid_contract & valid_aanmelding
    t.check("contract_before_aanmelding", both & (contract < aanmelding))
    t.check(
        "toeleiding_before_aanmelding",
        valid_toeleiding & valid_aanmelding & (toeleiding < aanmelding),
    )
    t.always |= {"contract_before_aanmelding", "toeleiding_before_aanmelding"}
    if not (t.valid_insz & in_kbi).any():
        raise SynthError(
            "No person with a valid INSZ signed a contract by the peildatum; ask for more "
            "persons or a later peildatum."
        )
    tables["kbi"] = t
    keeps["kbi"] = in_kbi
    orders["kbi"] = rng.permutation(n).astype(np.int64)

    # ------------------------------------------------------------------ werkzoekenden
    wz_cols = {c.name: c.labels[0] for c in proto.extracts["werkzoekenden"].columns}
    who = np.flatnonzero(in_vdab)
    extra = round(VDAB_ONLY_SHARE * len(who))
    # People known to VDAB but not in the KBI extract: the link step ignores them.
    extra_birth = peil - (rng.uniform(18, 60, extra) * 365.25).astype(np.int64)
    extra_male = rng.random(extra) < 0.5
    extra_insz = _make_insz(rng, extra_birth, extra_male, ~extra_male)
    clash = np.isin(extra_insz // 100, insz // 100)
    extra_insz = extra_insz[~clash]
    extra = len(extra_insz)
    w_insz = np.concatenate([insz[who], extra_insz])
    w_eerste = np.concatenate([eerste[who], peil - rng.integers(30, 900, extra)])
    w_recent = np.concatenate([recentste[who], w_eerste[len(who) :]])
    w_work = np.concatenate([work[who], np.zeros(extra, np.int64)])
    w_has_work = np.concatenate([has_work[who], np.zeros(extra, bool)])
    w_known = np.concatenate([in_snap[who], w_eerste[len(who) :] <= snap])
    w_not_in_kbi = np.concatenate([~in_kbi[who], np.ones(extra, bool)])
    rows = len(w_insz)
    cat_p_no = (0.35, 0.04, 0.25, 0.03, 0.20, 0.04, 0.02, 0.02, 0.02, 0.02, 0.01)
    cat_p_work = (0.05, 0.0, 0.05, 0.0, 0.02, 0.01, 0.40, 0.0, 0.25, 0.15, 0.07)
    w_cat = _choice_by(rng, (cat_p_no, cat_p_work), w_has_work.astype(np.int64))
    w_status = _choice_by(
        rng, ((0.55, 0.30, 0.10, 0.05), (0.30, 0.10, 0.10, 0.50)), w_has_work.astype(np.int64)
    )
    # Duplicate rows: the same person, spelled otherwise, with an older recentste
    # inschrijving; the original row wins the deterministic resolution.
    dup = np.flatnonzero(rng.random(rows) < DUPLICATE_SHARE)
    d_recent = w_recent[dup] - rng.integers(1, 300, len(dup))
    w_insz = np.concatenate([w_insz, w_insz[dup]])
    w_eerste = np.concatenate([w_eerste, np.minimum(w_eerste[dup], d_recent)])
    w_recent = np.concatenate([w_recent, d_recent])
    w_work = np.concatenate([w_work, w_work[dup]])
    w_has_work = np.concatenate([w_has_work, w_has_work[dup]])
    w_cat = np.concatenate([w_cat, rng.integers(0, len(_CATEGORIE), len(dup))])
    w_status = np.concatenate([w_status, w_status[dup]])
    w_known = np.concatenate([w_known, w_known[dup]])
    w_not_in_kbi = np.concatenate([w_not_in_kbi, np.zeros(len(dup), bool)])
    total = rows + len(dup)
    t = _Table("werkzoekenden", rng, total, snap)
    # The INSZ of an original that has a duplicate must be valid, or it would be no
    # duplicate; its spelling differs between the two rows.
    t.insz(wz_cols["insz"], "insz", w_insz)
    _fix_duplicates(t, wz_cols["insz"], w_insz, dup, rows)
    t.date(
        wz_cols["vdab_datum_eerste_inschrijving"],
        "vdab_datum_eerste_inschrijving",
        w_eerste,
        np.ones(total, bool),
        empty=0.005,
    )
    recent_present = np.ones(total, bool)
    t.date(
        wz_cols["vdab_datum_recentste_inschrijving"],
        "vdab_datum_recentste_inschrijving",
        w_recent,
        recent_present,
        empty=0.005,
        invalid=0.003,
    )
    t.code(
        wz_cols["vdab_categorie_werkzoekende"],
        "vdab_categorie_werkzoekende",
        _vocab("categorie_werkzoekende", _CATEGORIE),
        w_cat,
    )
    t.code(
        wz_cols["vdab_status_dienstverlening"],
        "vdab_status_dienstverlening",
        _vocab("status_dienstverlening", _STATUS),
        w_status,
    )
    valid_work = t.date(
        wz_cols["datum_uitstroom_werk"], "datum_uitstroom_werk", w_work, w_has_work, empty=0.0
    )
    copies = np.zeros(total, bool)
    copies[rows:] = True
    t.count(f"{quality.DUPLICATE_INSZ}:insz", copies)
    t.check("outflow_before_registration", valid_work & (w_work < w_eerste))
    # VDAB rows (duplicates not counted) of people absent from the KBI extract.
    t.check("vdab_not_in_kbi", w_not_in_kbi)
    t.always |= {f"{quality.DUPLICATE_INSZ}:insz", "outflow_before_registration", "vdab_not_in_kbi"}
    tables["werkzoekenden"] = t
    keeps["werkzoekenden"] = w_known
    orders["werkzoekenden"] = rng.permutation(total).astype(np.int64)

    # ------------------------------------------------------------------ acties
    ac_cols = {c.name: c.labels[0] for c in proto.extracts["acties"].columns}
    who = np.flatnonzero(in_vdab)
    per = rng.poisson(2.2, len(who))
    owner = np.repeat(who, per)
    m = len(owner)
    a_type = _choice(rng, (0.35, 0.20, 0.25, 0.20), m)
    a_date = np.maximum(eerste[owner], contract[owner]) + rng.exponential(90.0, m).astype(np.int64)
    a_late = rng.random(m) < LATE_SHARE
    keep = (a_date <= peil) | (a_late & (a_date <= peil + 30))
    owner, a_type = owner[keep], a_type[keep]
    start_day: IntArray = np.asarray(a_date[keep], dtype=np.int64)
    a_known = (start_day <= snap) | (a_late[keep] & (start_day <= snap + 30))
    m = len(owner)
    t = _Table("acties", rng, m, snap)
    t.insz(ac_cols["insz"], "insz", insz[owner])
    valid_type = t.code(
        ac_cols["actietype"],
        "actietype",
        _vocab("actietype", _ACTIE),
        a_type,
        empty=0.0,
        invalid=0.01,
    )
    t.date(ac_cols["startdatum"], "startdatum", start_day, np.ones(m, bool), empty=0.005)
    t.count(f"{quality.ACTION_UNKNOWN_TYPE}:actietype", ~valid_type)
    tables["acties"] = t
    keeps["acties"] = a_known
    orders["acties"] = rng.permutation(m).astype(np.int64)

    # The file order of the written rows: the permutation, without the rows left out.
    orders = {k: o[keeps[k][o]] for k, o in orders.items()}
    frames = {k: tab.frame(orders[k]) for k, tab in tables.items()}
    planted = {k: tab.planted(keeps[k]) for k, tab in tables.items()}
    return _Frames(tables, frames, orders, planted)


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


def _fix_duplicates(t: _Table, header: str, number: IntArray, dup: IntArray, rows: int) -> int:
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


def _reasons(
    rng: np.random.Generator,
    plo: IntArray,
    first: pl.Series,
    last: pl.Series,
    phones: pl.Series,
    mail: pl.Series,
    insz: IntArray,
) -> tuple[pl.Series, IntArray]:
    """The free-text reason of the PLO decision, with identifiers typed into a few.

    Also returns, per row, the index in ``_PII_KINDS`` of the identifier typed in, or -1.
    """
    n = len(plo)
    flat: list[str] = []
    off: list[int] = []
    size: list[int] = []
    for code in _PLO:
        off.append(len(flat))
        size.append(len(_REASONS[code]))
        flat.extend(_REASONS[code])
    # Most referrals carry no reason; the other decisions usually do.
    filled = rng.random(n) < np.where(plo == 0, 0.25, 0.9)
    pick = np.asarray(off)[plo] + (rng.random(n) * np.asarray(size)[plo]).astype(np.int64)
    base = pl.Series([*flat, None], dtype=pl.String).gather(np.where(filled, pick, len(flat)))
    pii = filled & (rng.random(n) < _PII_SHARE)
    kinds = rng.integers(0, len(_PII_KINDS), n)
    newline = filled & ~pii & (rng.random(n) < _NEWLINE_SHARE)
    values = base.to_list()
    firsts, lasts = first.to_list(), last.to_list()
    phone_l, mail_l = phones.to_list(), mail.to_list()
    for i in np.flatnonzero(pii | newline).tolist():
        text = values[i]
        if newline[i]:
            values[i] = f"{text}\nzie dossier"
            continue
        kind = _PII_KINDS[int(kinds[i])]
        if kind == "name":
            values[i] = f"Gesprek met {firsts[i]} {lasts[i]}: {text}"
        elif kind == "phone":
            values[i] = f"{text}; bereikbaar op {phone_l[i]}"
        elif kind == "email":
            values[i] = f"{text}, attest gemaild naar {mail_l[i]}"
        elif kind == "insz":
            s = f"{int(insz[i]):011d}"
            values[i] = f"{text} (RRN {s[:2]}.{s[2:4]}.{s[4:6]}-{s[6:9]}.{s[9:]})"
        else:
            values[i] = f"{text}; leefloon op rekening {_iban(rng)}"
    return pl.Series(values, dtype=pl.String), np.where(pii, kinds, -1).astype(np.int64)


# --------------------------------------------------------------------------- public API


def generate_frames(
    *,
    persons: int,
    peildatum: dt.date,
    seed: int,
    protocol: Protocol | None = None,
    population_end: dt.date | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict[str, Planted]]:
    """The three extracts as string tables (header labels as column names), and the plant.

    With ``population_end``, the extracts are the snapshot at ``peildatum`` of the
    ``persons`` people drawn for ``population_end`` (see :func:`generate`).
    """
    proto = protocol or protocol_mod.load()
    f = _generate(persons, peildatum, seed, proto, population_end)
    return f.frames["kbi"], f.frames["werkzoekenden"], f.frames["acties"], f.planted


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[IO[bytes]]:
    """A file that appears at ``path`` complete or not at all."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def _write_csv(df: pl.DataFrame, path: Path, encoding: str, delimiter: str) -> None:
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    with _atomic(path) as fh:
        if encoding == "utf-8-sig":
            fh.write(b"\xef\xbb\xbf")
        for start in range(0, max(df.height, 1), _CHUNK):
            text = df.slice(start, _CHUNK).write_csv(
                include_header=start == 0,
                separator=delimiter,
                line_terminator="\r\n",
                quote_style="necessary",
                null_value="",
            )
            fh.write(text.encode(codec))


def _write_xlsx(
    df: pl.DataFrame, table: _Table, order: IntArray, path: Path, rng: np.random.Generator
) -> None:
    """Write one extract as XLSX: text cells, and native date cells for 70% of valid dates.

    The workbook is built in memory and then written atomically; its creation date is
    fixed so that the same arguments give the same bytes.
    """
    import xlsxwriter

    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buffer,
        {
            "constant_memory": True,
            # Everything is text as exported: "00" stays "00", an INSZ keeps its zeros.
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    wb.set_properties({"created": dt.datetime(2024, 1, 1), "author": "pijler3 synth"})
    date_fmt = wb.add_format({"num_format": "dd/mm/yyyy"})
    ws = wb.add_worksheet("Extract")
    for c, name in enumerate(df.columns):
        ws.write_string(0, c, name)
    native: dict[int, list[dt.date | None]] = {}
    for c, name in enumerate(df.columns):
        if name in table.native_dates:
            pick = table.native_dates[name][order] & (rng.random(df.height) < 0.7)
            native[c] = [
                codes.parse_date(v) if p else None
                for v, p in zip(df[name].to_list(), pick.tolist(), strict=True)
            ]
    columns = [df[name].to_list() for name in df.columns]
    for r in range(df.height):
        for c, col in enumerate(columns):
            day = native[c][r] if c in native else None
            if day is not None:
                ws.write_datetime(r + 1, c, day, date_fmt)
            elif col[r]:
                ws.write_string(r + 1, c, col[r])
    wb.close()
    with _atomic(path) as fh:
        fh.write(buffer.getvalue())


def generate(
    out_dir: Path,
    *,
    persons: int,
    peildatum: dt.date,
    seed: int,
    fmt: Literal["csv", "xlsx"] = "csv",
    encoding: str = "utf-8",
    delimiter: str = ";",
    protocol: Protocol | None = None,
    population_end: dt.date | None = None,
) -> SynthResult:
    """Write the three extracts and ``planted.json`` into ``out_dir``.

    With ``population_end`` (on or after ``peildatum``), ``persons`` people are drawn as
    for a delivery at ``population_end`` and the extracts are their snapshot at
    ``peildatum``: the people with a contract by then, the VDAB registrations and actions
    known by then. Deliveries with the same seed and ``population_end`` are snapshots of
    one growing population (same INSZ, birth date, nationality, ... per person); the
    planted counts are those of the rows written.
    """
    if fmt not in ("csv", "xlsx"):
        raise SynthError(f"--format must be csv or xlsx, not {fmt!r}.")
    if encoding not in ENCODINGS:
        raise SynthError(f"--encoding must be one of {', '.join(ENCODINGS)}.")
    if delimiter not in DELIMITERS:
        raise SynthError("--delimiter must be ';' or ','.")
    proto = protocol or protocol_mod.load()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    f = _generate(persons, peildatum, seed, proto, population_end)
    paths: dict[str, Path] = {}
    xlsx_rng = np.random.Generator(np.random.PCG64([seed, 1]))
    for key, base in FILE_NAMES.items():
        path = out / f"{base}.{fmt}"
        if fmt == "csv":
            _write_csv(f.frames[key], path, encoding, delimiter)
        else:
            _write_xlsx(f.frames[key], f.tables[key], f.orders[key], path, xlsx_rng)
        paths[key] = path
    meta = {
        "format": FORMAT,
        "note": "Synthetic data: what the generator planted, for tests and benchmarks.",
        "persons": persons,
        "peildatum": peildatum.isoformat(),
        "seed": seed,
        # Only snapshots name it, so that the files of a plain run stay as they were.
        **({"population_end": population_end.isoformat()} if population_end else {}),
        "file_format": fmt,
        "encoding": encoding if fmt == "csv" else None,
        "delimiter": delimiter if fmt == "csv" else None,
        "extracts": {k: {"file": paths[k].name, **p.to_dict()} for k, p in f.planted.items()},
    }
    planted_path = out / PLANTED_FILE
    with _atomic(planted_path) as fh:
        fh.write((json.dumps(meta, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    return SynthResult(
        kbi=paths["kbi"],
        werkzoekenden=paths["werkzoekenden"],
        acties=paths["acties"],
        planted=f.planted,
        planted_path=planted_path,
    )
