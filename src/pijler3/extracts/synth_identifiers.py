"""Made-up direct identifiers for the synthetic KBI extract, and free text holding them.

Names, addresses, phone numbers and e-mail addresses fill the KBI extract's direct
identifier columns (which the export step drops). A few of the counsellors' free-text
reasons get one of them typed in, or an INSZ or an IBAN, so that the scrubber of
:mod:`pijler3.exchange.scrub` has something to find; :func:`reasons` says which.

Synthetic data only: every name, address, phone number, e-mail address, INSZ and IBAN
is made up (e-mail domains are the reserved ``example.*`` names).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from pijler3.contract import codes
from pijler3.extracts.synth_cells import BoolArray, IntArray
from pijler3.extracts.synth_people import PLO

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
PII_KINDS = ("name", "phone", "email", "insz", "iban")
_PII_SHARE = 0.03
_NEWLINE_SHARE = 0.002


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


# --------------------------------------------------------------------------- identifiers


@dataclass(frozen=True)
class Identifiers:
    """The direct identifiers of the KBI extract, by the label they are exported under."""

    columns: dict[str, pl.Series]
    first: pl.Series
    last: pl.Series
    phones: pl.Series  # every phone number, also those left out of ``Telefoon``
    mail: pl.Series  # every e-mail address, also those left out of ``E-mail``


def identifiers(rng: np.random.Generator, male: BoolArray, regio: IntArray) -> Identifiers:
    """Names, addresses, phone numbers and e-mail addresses, all made up."""
    n = len(male)
    first_names = np.where(
        male,
        rng.integers(0, len(_MALE_NAMES), n),
        len(_MALE_NAMES) + rng.integers(0, len(_FEMALE_NAMES), n),
    )
    all_first = (*_MALE_NAMES, *_FEMALE_NAMES)
    surname = rng.integers(0, len(_SURNAMES), n)
    first_s = pl.Series(all_first).gather(first_names)
    last_s = pl.Series(_SURNAMES).gather(surname)
    columns: dict[str, pl.Series] = {}
    columns["Naam"] = last_s
    columns["Voornaam"] = first_s
    columns["Straat"] = pl.Series(_STREETS).gather(rng.integers(0, len(_STREETS), n))
    number = pl.Series(rng.integers(1, 250, n)).cast(pl.String)
    suffix = pl.Series(["", "", "", "", "A", " bus 2", " bus 11", "B"]).gather(
        rng.integers(0, 8, n)
    )
    columns["Huisnummer"] = number + suffix
    place_flat = [p for places in _PLACES_BY_REGIO for p in places]
    place_off = np.cumsum([0, *[len(p) for p in _PLACES_BY_REGIO]])[:-1]
    place_n = np.array([len(p) for p in _PLACES_BY_REGIO])
    place = place_off[regio] + (rng.random(n) * place_n[regio]).astype(np.int64)
    columns["Postcode"] = pl.Series([p[0] for p in place_flat]).gather(place)
    columns["Gemeente"] = pl.Series([p[1] for p in place_flat]).gather(place)
    phones = _phones(rng, n)
    columns["Telefoon"] = pl.select(
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
    columns["E-mail"] = pl.select(
        pl.when(pl.Series(rng.random(n) < 0.15)).then(None).otherwise(mail)
    ).to_series()
    return Identifiers(columns, first_s, last_s, phones, mail)


def reasons(
    rng: np.random.Generator,
    plo: IntArray,
    first: pl.Series,
    last: pl.Series,
    phones: pl.Series,
    mail: pl.Series,
    insz: IntArray,
) -> tuple[pl.Series, IntArray]:
    """The free-text reason of the PLO decision, with identifiers typed into a few.

    Also returns, per row, the index in ``PII_KINDS`` of the identifier typed in, or -1.
    """
    n = len(plo)
    flat: list[str] = []
    off: list[int] = []
    size: list[int] = []
    for code in PLO:
        off.append(len(flat))
        size.append(len(_REASONS[code]))
        flat.extend(_REASONS[code])
    # Most referrals carry no reason; the other decisions usually do.
    filled = rng.random(n) < np.where(plo == 0, 0.25, 0.9)
    pick = np.asarray(off)[plo] + (rng.random(n) * np.asarray(size)[plo]).astype(np.int64)
    base = pl.Series([*flat, None], dtype=pl.String).gather(np.where(filled, pick, len(flat)))
    pii = filled & (rng.random(n) < _PII_SHARE)
    kinds = rng.integers(0, len(PII_KINDS), n)
    newline = filled & ~pii & (rng.random(n) < _NEWLINE_SHARE)
    values = base.to_list()
    firsts, lasts = first.to_list(), last.to_list()
    phone_l, mail_l = phones.to_list(), mail.to_list()
    for i in np.flatnonzero(pii | newline).tolist():
        text = values[i]
        if newline[i]:
            values[i] = f"{text}\nzie dossier"
            continue
        kind = PII_KINDS[int(kinds[i])]
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
