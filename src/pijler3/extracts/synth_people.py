"""The people behind the synthetic extracts: who they are and what happened to them when.

Everyone is drawn from distributions that look like the published figures (nationality
mix, education, region, target group), with planted differences between groups that the
disparities analysis should find (lower education and Brussels register less and later
and find work later). Dates are whole days since 1970-01-01. The draws are made in a
fixed order from the generator's one ``numpy.random.Generator``: moving a draw changes
every file written, so :func:`draw_people` calls the stages in the order they are
listed. Synthetic data only: every INSZ is made up (unique, valid, some BIS numbers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pijler3.contract.errors import UserError
from pijler3.extracts.synth_cells import BoolArray, IntArray

CONTRACT_START = dt.date(2022, 3, 1)
_EPOCH = dt.date(1970, 1, 1)


class SynthError(UserError):
    """The generator was asked for something it cannot make."""


# Shares of people and rows with a planted peculiarity.
BIS_SHARE = 0.04
DUPLICATE_SHARE = 0.01
VDAB_ONLY_SHARE = 0.005
PRE_REFORM_SHARE = 0.03
LATE_SHARE = 0.003  # dates just after the peildatum (a later export)

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
GESLACHT = ("M", "V", "X")
SCHOLING = ("LAAG", "MIDDEN", "HOOG", "ONBEKEND")
DOELGROEP = ("VERPLICHT", "RECHTHEBBEND", "ONBEPAALD")
REGIO = (
    "ANTWERPEN_STAD", "GENT_STAD", "PROVINCIE_ANTWERPEN", "LIMBURG", "OOST_VLAANDEREN",
    "VLAAMS_BRABANT", "WEST_VLAANDEREN", "BRUSSEL",
)  # fmt: skip
_REGIO_P = (0.18, 0.08, 0.14, 0.10, 0.12, 0.14, 0.10, 0.14)
PLO = (
    "TOELEIDING_VDAB", "WERKT_AL", "STUDEERT", "GEEN_TOEGANG_ARBEIDSMARKT",
    "TIJDELIJK_NIET_INZETBAAR", "ZELFSTANDIGE",
)  # fmt: skip
_PLO_P = (0.81, 0.06, 0.03, 0.045, 0.04, 0.015)
RESULTAAT = (
    "LOPEND", "GELIJKWAARDIG_NIVEAU", "GELIJKWAARDIG_SPECIFIEK", "LAGER_NIVEAU",
    "NIET_GELIJKWAARDIG", "STOPGEZET",
)  # fmt: skip
TAAL = ("LAAG", "GEMIDDELD", "HOOG", "ONBEKEND")
NT2 = ("GEEN", "A1", "A2", "B1", "B2", "C1")
TRAJECT = ("STANDAARD", "ALFA", "INTENSIEF", "MAATWERK")
VERBLIJF = (
    "GEZINSHERENIGER", "ERKEND_VLUCHTELING", "SUBSIDIAIR_BESCHERMD", "ARBEIDSMIGRANT",
    "EU_BURGER", "STUDENT", "TIJDELIJK_BESCHERMD", "REGULARISATIE", "ANDERE",
)  # fmt: skip
CATEGORIE = ("00", "02", "03", "04", "05", "06", "10", "14", "80", "82", "93")
STATUS = (
    "IN_BEMIDDELING", "IN_OPLEIDING_OF_VOORTRAJECT", "NIET_INZETBAAR_LANGE_TERMIJN",
    "UITGESCHREVEN",
)  # fmt: skip
ACTIE = ("ORIENTATIE", "CONTEXT", "COMPETENTIEVERSTERKING", "SOLLICITEREN")

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


# --------------------------------------------------------------------------- people


def days(d: dt.date) -> int:
    return (d - _EPOCH).days


def choice(rng: np.random.Generator, p: Sequence[float], n: int) -> IntArray:
    probs = np.asarray(p, dtype=float)
    return rng.choice(len(probs), size=n, p=probs / probs.sum()).astype(np.int64)


def choice_by(
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


def make_insz(
    rng: np.random.Generator,
    birth: IntArray,
    male: BoolArray,
    female: BoolArray,
    taken: IntArray | None = None,
) -> IntArray:
    """Unique valid INSZs (as integers) for birth dates; a share are BIS numbers.

    ``taken``: the first nine digits already given to people of earlier chunks of a
    large population (see :mod:`pijler3.extracts.synth`); none of them is given again.
    Past a million people the serial numbers of a birth day run out, so in a later chunk
    a person whose number keeps colliding gets a BIS number (month plus 20 or 40, the
    day unknown as a last resort), as people without a national register number do.
    Without ``taken`` the draws are exactly those of a population drawn in one piece.
    """
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
    for attempt in range(50 if taken is None else 400):
        _, first, inverse, counts = np.unique(
            first9, return_index=True, return_inverse=True, return_counts=True
        )
        dup = counts[inverse] > 1
        dup[first] = False
        if taken is not None:
            dup |= np.isin(first9, taken)
        if not dup.any():
            break
        k = int(dup.sum())
        if taken is not None and attempt >= 10:
            # Serial numbers of that day used up: a BIS number instead.
            base = month[dup] % 20
            month[dup] = base + np.where(rng.random(k) < 0.5, 20, 40)
            if attempt >= 40:
                day[dup] = np.where(rng.random(k) < 0.5, 0, day[dup])
            head[dup] = (year[dup] % 100) * 10_000 + month[dup] * 100 + day[dup]
        first9[dup] = head[dup] * 1000 + draw_serial(k, male[dup], female[dup])
    else:  # pragma: no cover - would need tens of millions of people per birth day
        raise SynthError("could not draw unique INSZs; ask for fewer persons.")
    cc = 97 - (first9 + np.where(y2k, 2_000_000_000, 0)) % 97
    return np.asarray(first9 * 100 + cc, dtype=np.int64)


# --------------------------------------------------------------------------- the draws


@dataclass(frozen=True)
class Who:
    """Origin, sex, education, target group, region and residence status, as code indices."""

    nat: IntArray  # index into NATIONALITY_CODES
    group: IntArray  # 0 refugee, 1 EU, 2 Ukraine, 3 other
    sex: IntArray
    scholing: IntArray
    verplicht: BoolArray
    doelgroep: IntArray
    regio: IntArray
    verblijf: IntArray

    @property
    def male(self) -> BoolArray:
        return np.asarray(self.sex == 0)

    @property
    def female(self) -> BoolArray:
        return np.asarray(self.sex == 1)


@dataclass(frozen=True)
class When:
    """Contract, sign-up, target-group and birth dates, and the INSZ that goes with them."""

    contract: IntArray
    aanmelding: IntArray
    doelgroep_date: IntArray
    birth: IntArray
    insz: IntArray  # the 11 digits of a valid INSZ


@dataclass(frozen=True)
class Kbi:
    """What the KBI extract says about each person besides who they are."""

    plo: IntArray
    toeleiding: IntArray
    has_toeleiding: BoolArray
    diploma: BoolArray
    resultaat: IntArray
    taal: IntArray
    nt2: IntArray
    traject: IntArray
    leefloon: BoolArray
    nt2_date: IntArray
    has_nt2: BoolArray


@dataclass(frozen=True)
class Vdab:
    """Registration with VDAB and outflow to work, as known at the snapshot's peildatum."""

    eerste: IntArray
    recentste: IntArray
    in_vdab: BoolArray  # registered by the population's peildatum (or planted just after)
    in_snap: BoolArray  # the same, by the snapshot's peildatum
    work: IntArray
    has_work: BoolArray


@dataclass(frozen=True)
class People:
    """Everyone drawn for a delivery at ``peil``, seen at the snapshot's ``snap``."""

    peil: int
    snap: int
    who: Who
    when: When
    kbi: Kbi
    vdab: Vdab

    @property
    def n(self) -> int:
        return len(self.who.nat)

    @property
    def in_kbi(self) -> BoolArray:
        """Who signed a contract by the snapshot's peildatum."""
        return np.asarray(self.when.contract <= self.snap)


NATIONALITY_CODES = tuple(c for c, _ in _NATIONALITIES)


def draw_people(
    rng: np.random.Generator, n: int, peil: int, snap: int, taken: IntArray | None = None
) -> People:
    """Draw ``n`` people for a delivery at ``peil`` and what is known of them at ``snap``;
    ``taken``: INSZs (first nine digits) of earlier chunks, see :func:`make_insz`."""
    who = _draw_who(rng, n)
    when = _draw_when(rng, n, peil, who, taken)
    kbi = _draw_kbi(rng, n, snap, who, when)
    vdab = _draw_vdab(rng, n, peil, snap, who, when, kbi)
    return People(peil, snap, who, when, kbi, vdab)


def _draw_who(rng: np.random.Generator, n: int) -> Who:
    nat = choice(rng, [w for _, w in _NATIONALITIES], n)
    group_of = np.array(
        [
            0 if c in _REFUGEE else 1 if c in _EU else 2 if c == "UKR" else 3
            for c in NATIONALITY_CODES
        ]
    )
    group = group_of[nat]
    sex = choice(rng, (0.55, 0.445, 0.005), n)
    scholing = choice_by(rng, _SCHOLING_BY_GROUP, group)
    verplicht = rng.random(n) < np.asarray(_VERPLICHT_BY_GROUP)[group]
    doelgroep = np.where(verplicht, 0, 1)
    doelgroep = np.where(rng.random(n) < 0.01, 2, doelgroep)
    regio = choice(rng, _REGIO_P, n)
    verblijf = choice_by(rng, _VERBLIJF_BY_GROUP, group)
    return Who(nat, group, sex, scholing, verplicht, doelgroep, regio, verblijf)


def _draw_when(
    rng: np.random.Generator, n: int, peil: int, who: Who, taken: IntArray | None
) -> When:
    start = days(CONTRACT_START)
    contract = rng.integers(start, peil + 1, n)
    pre = rng.random(n) < PRE_REFORM_SHARE
    contract = np.where(pre, start - rng.integers(1, 180, n), contract)
    aanmelding = contract - rng.exponential(30.0, n).astype(np.int64)
    late_signup = rng.random(n) < 0.01
    aanmelding = np.where(
        late_signup, np.minimum(contract + rng.integers(1, 20, n), peil), aanmelding
    )
    doelgroep_date = aanmelding - rng.exponential(120.0, n).astype(np.int64)
    age_band = choice(rng, (0.02, 0.16, 0.36, 0.26, 0.13, 0.05, 0.02), n)
    low = np.array([16, 18, 25, 35, 45, 55, 65])[age_band]
    high = np.array([18, 25, 35, 45, 55, 65, 80])[age_band]
    age_days = (rng.uniform(low, high) * 365.25).astype(np.int64)
    birth = contract - age_days
    insz = make_insz(rng, birth, who.male, who.female, taken)
    return When(contract, aanmelding, doelgroep_date, birth, insz)


def _draw_kbi(rng: np.random.Generator, n: int, snap: int, who: Who, when: When) -> Kbi:
    # PLO decision; exempt persons (WERKT_AL, GEEN_TOEGANG) register rarely.
    contract = when.contract
    plo = choice(rng, _PLO_P, n)
    exempt = (plo == 1) | (plo == 3)
    referred_p = np.where(exempt, 0.15, np.where(who.verplicht, 0.85, 0.55))
    referred = rng.random(n) < referred_p
    toeleiding = contract + rng.gamma(2.0, 12.0, n).astype(np.int64)
    toeleiding = np.where(rng.random(n) < 0.02, contract - rng.integers(1, 60, n), toeleiding)
    has_toeleiding = referred & (toeleiding <= snap)

    scholing = who.scholing
    diploma = rng.random(n) < np.array([0.03, 0.12, 0.35, 0.05])[scholing]
    resultaat = choice(rng, (0.35, 0.2, 0.1, 0.15, 0.1, 0.1), n)
    taal_p = (
        (0.45, 0.40, 0.05, 0.10),
        (0.2, 0.5, 0.2, 0.1),
        (0.05, 0.40, 0.45, 0.10),
        (0.2, 0.5, 0.2, 0.1),
    )
    taal = choice_by(rng, taal_p, scholing)
    nt2 = choice(rng, (0.10, 0.28, 0.34, 0.17, 0.08, 0.03), n)
    traject_p = ((0.55, 0.30, 0.08, 0.07), (0.78, 0.03, 0.11, 0.08), (0.78, 0.03, 0.11, 0.08),
                 (0.70, 0.12, 0.10, 0.08))  # fmt: skip
    traject = choice_by(rng, traject_p, scholing)
    leefloon = rng.random(n) < np.where(who.group == 0, 0.45, 0.2)
    nt2_date = contract + rng.integers(10, 600, n)
    nt2_late = rng.random(n) < LATE_SHARE
    has_nt2 = (nt2_date <= snap) | nt2_late
    nt2_date = np.where(nt2_late, snap + rng.integers(1, 30, n), nt2_date)
    return Kbi(
        plo, toeleiding, has_toeleiding, diploma, resultaat, taal, nt2, traject, leefloon,
        nt2_date, has_nt2,
    )  # fmt: skip


def _draw_vdab(
    rng: np.random.Generator, n: int, peil: int, snap: int, who: Who, when: When, kbi: Kbi
) -> Vdab:
    # Registration (some before the contract), outflow to work.
    scholing, regio, plo, contract = who.scholing, who.regio, kbi.plo, when.contract
    reg_p = np.minimum(
        np.asarray(_REG_P_BY_SCHOLING)[scholing]
        * np.asarray(_REG_P_BY_REGIO)[regio]
        * np.where(who.verplicht, 1.05, 0.93),
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
    return Vdab(eerste, recentste, in_vdab, in_snap, np.asarray(work, dtype=np.int64), has_work)
