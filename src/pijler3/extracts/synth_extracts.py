"""The three synthetic extracts as string tables: the people written out as KBI and VDAB
would export them, messy cells and all, with what is planted in each row.

:func:`build` draws the population (:mod:`pijler3.extracts.synth_people`), writes one
:class:`~pijler3.extracts.synth_cells.Table` per extract in the protocol's header labels
and column order, and keeps the rows a snapshot at its peildatum shows. The tables are
written in a fixed order (KBI, werkzoekenden, acties) because each draws from the same
random generator after the one before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from pijler3.contract import codes
from pijler3.contract.protocol import Protocol
from pijler3.extracts import quality
from pijler3.extracts.synth_cells import (
    BoolArray,
    IntArray,
    Planted,
    Table,
    respell_duplicates,
    vocab,
)
from pijler3.extracts.synth_identifiers import PII_KINDS, identifiers, reasons
from pijler3.extracts.synth_people import (
    ACTIE,
    CATEGORIE,
    CONTRACT_START,
    DOELGROEP,
    DUPLICATE_SHARE,
    GESLACHT,
    LATE_SHARE,
    NATIONALITY_CODES,
    NT2,
    PLO,
    REGIO,
    RESULTAAT,
    SCHOLING,
    STATUS,
    TAAL,
    TRAJECT,
    VDAB_ONLY_SHARE,
    VERBLIJF,
    People,
    SynthError,
    choice,
    choice_by,
    days,
    draw_people,
    make_insz,
)


@dataclass(frozen=True)
class Extract:
    """One extract's table, the rows the snapshot writes and their order in the file."""

    table: Table
    keep: BoolArray
    order: IntArray


@dataclass
class Frames:
    tables: dict[str, Table]
    frames: dict[str, pl.DataFrame]
    orders: dict[str, IntArray]
    planted: dict[str, Planted]
    # The first nine digits of every INSZ given out (people, and VDAB-only people).
    used: IntArray


def build(
    persons: int,
    peildatum: dt.date,
    seed: int,
    proto: Protocol,
    population_end: dt.date | None = None,
    *,
    chunk: int = 0,
    taken: IntArray | None = None,
) -> Frames:
    """Draw the population of ``population_end`` and write its snapshot at ``peildatum``.

    People, their attributes, their true event dates and every messy cell are drawn as
    for a delivery at ``population_end`` (the same random draws in the same order), for
    every row of that delivery. The snapshot then shows what is known at ``peildatum``:
    dates after it are left out (except the few planted late ones, placed just after
    ``peildatum``), and only the rows of people and events known by then are written. So
    the same seed and ``population_end`` give the same people in every snapshot, and
    without ``population_end`` (or with it equal to ``peildatum``) every row is written
    exactly as before.

    A large population is drawn in chunks (see :mod:`pijler3.extracts.synth`): chunk 0
    draws from ``PCG64(seed)`` as a population drawn in one piece, chunk ``i`` from
    ``PCG64([seed, 2, i])``, and ``taken`` holds the INSZs given in earlier chunks.
    """
    if persons < 1:
        raise SynthError("the number of persons must be at least 1.", param="persons")
    if peildatum <= CONTRACT_START:
        raise SynthError(
            f"the peildatum must be after {CONTRACT_START:%d/%m/%Y}, the start of the reform.",
            param="peildatum",
        )
    if population_end is not None and population_end < peildatum:
        raise SynthError("population_end must be on or after the peildatum.")
    rng = np.random.Generator(np.random.PCG64(seed if chunk == 0 else [seed, 2, chunk]))
    # The population is drawn at ``peil``; ``snap`` is the peildatum of the snapshot.
    people = draw_people(rng, persons, days(population_end or peildatum), days(peildatum), taken)
    extra: list[IntArray] = []
    extracts = {
        "kbi": _kbi(rng, proto, people),
        "werkzoekenden": _werkzoekenden(rng, proto, people, taken, extra),
        "acties": _acties(rng, proto, people),
    }
    tables = {k: e.table for k, e in extracts.items()}
    # The file order of the written rows: the permutation, without the rows left out.
    orders = {k: e.order[e.keep[e.order]] for k, e in extracts.items()}
    frames = {k: tab.frame(orders[k]) for k, tab in tables.items()}
    planted = {k: e.table.planted(e.keep) for k, e in extracts.items()}
    used = np.concatenate([people.when.insz, *extra]) // 100
    return Frames(tables, frames, orders, planted, used)


def _kbi(rng: np.random.Generator, proto: Protocol, p: People) -> Extract:
    n, snap, who, when, kbi = p.n, p.snap, p.who, p.when, p.kbi
    kbi_cols = {c.name: c.labels[0] for c in proto.extracts["kbi"].columns}
    ids = list(proto.extracts["kbi"].direct_identifiers)
    t = Table("kbi", rng, n, snap)
    t.insz(kbi_cols["insz"], "insz", when.insz)
    person = identifiers(rng, who.male, who.regio)

    def ident(label: str) -> None:
        for key, values in person.columns.items():
            if key.casefold() == label.casefold():
                t.text(label, None, values)
                return
        t.text(label, None, pl.Series([None] * n, dtype=pl.String))

    for label in ids[:2]:
        ident(label)
    t.date(kbi_cols["geboortedatum"] + " ", "geboortedatum", when.birth, np.ones(n, bool))
    t.code(kbi_cols["geslacht"], "geslacht", vocab("geslacht", GESLACHT), who.sex)
    for label in ids[2:]:
        ident(label)
    t.code(
        kbi_cols["scholingsniveau"],
        "scholingsniveau",
        vocab("scholingsniveau", SCHOLING),
        who.scholing,
    )
    t.code(
        kbi_cols["oudste_nationaliteit"],
        "oudste_nationaliteit",
        vocab(codes.NATIONALITY, NATIONALITY_CODES),
        who.nat,
    )
    valid_toeleiding = t.date(
        kbi_cols["datum_toeleiding_vdab"],
        "datum_toeleiding_vdab",
        kbi.toeleiding,
        kbi.has_toeleiding,
    )
    t.code(kbi_cols["doelgroep"], "doelgroep", vocab("doelgroep", DOELGROEP), who.doelgroep)
    t.date(
        kbi_cols["datum_doelgroep"],
        "datum_doelgroep",
        when.doelgroep_date,
        when.doelgroep_date <= snap,
    )
    valid_contract = t.date(
        kbi_cols["datum_inburgeringscontract"],
        "datum_inburgeringscontract",
        when.contract,
        np.ones(n, bool),
        empty=0.02,
    )
    valid_aanmelding = t.date(
        kbi_cols["datum_aanmelding"], "datum_aanmelding", when.aanmelding, when.aanmelding <= snap
    )
    t.code(kbi_cols["regio"].upper(), "regio", vocab("regio", REGIO), who.regio)
    t.boolean(
        kbi_cols["toeleiding_diplomagelijkschakeling"],
        "toeleiding_diplomagelijkschakeling",
        kbi.diploma,
    )
    t.code(
        kbi_cols["resultaat_diplomagelijkschakeling"],
        "resultaat_diplomagelijkschakeling",
        vocab("resultaat_diplomagelijkschakeling", RESULTAAT),
        kbi.resultaat,
        present=kbi.diploma,
    )
    t.code(kbi_cols["plo_besluit"], "plo_besluit", vocab("plo_besluit", PLO), kbi.plo, empty=0.02)
    reden, pii = reasons(
        rng, kbi.plo, person.first, person.last, person.phones, person.mail, when.insz
    )
    t.text(kbi_cols["plo_reden"], "plo_reden", reden)
    for k, kind in enumerate(PII_KINDS):
        t.check(f"free_text_{kind}", pii == k)
    t.code(
        kbi_cols["taalleervermogen"], "taalleervermogen", vocab("taalleervermogen", TAAL), kbi.taal
    )
    t.code(kbi_cols["nt2_niveau"], "nt2_niveau", vocab("nt2_niveau", NT2), kbi.nt2, empty=0.05)
    t.code(kbi_cols["trajecttype"], "trajecttype", vocab("trajecttype", TRAJECT), kbi.traject)
    t.boolean(kbi_cols["ocmw_leefloon"], "ocmw_leefloon", kbi.leefloon)
    t.date(
        kbi_cols["datum_laatste_nt2_activiteit"],
        "datum_laatste_nt2_activiteit",
        kbi.nt2_date,
        kbi.has_nt2,
    )
    t.code(
        kbi_cols["verblijfsstatus"],
        "verblijfsstatus",
        vocab("verblijfsstatus", VERBLIJF),
        who.verblijf,
    )
    both = valid_contract & valid_aanmelding
    t.check("contract_before_aanmelding", both & (when.contract < when.aanmelding))
    t.check(
        "toeleiding_before_aanmelding",
        valid_toeleiding & valid_aanmelding & (kbi.toeleiding < when.aanmelding),
    )
    t.always |= {"contract_before_aanmelding", "toeleiding_before_aanmelding"}
    if not (t.valid_insz & p.in_kbi).any():
        raise SynthError(
            "No person with a valid INSZ signed a contract by the peildatum; ask for more "
            "persons or a later peildatum."
        )
    return Extract(t, p.in_kbi, rng.permutation(n).astype(np.int64))


def _werkzoekenden(
    rng: np.random.Generator,
    proto: Protocol,
    p: People,
    taken: IntArray | None,
    extra_out: list[IntArray],
) -> Extract:
    peil, snap, insz, v, in_kbi = p.peil, p.snap, p.when.insz, p.vdab, p.in_kbi
    wz_cols = {c.name: c.labels[0] for c in proto.extracts["werkzoekenden"].columns}
    who = np.flatnonzero(v.in_vdab)
    extra = round(VDAB_ONLY_SHARE * len(who))
    # People known to VDAB but not in the KBI extract: the link step ignores them.
    extra_birth = peil - (rng.uniform(18, 60, extra) * 365.25).astype(np.int64)
    extra_male = rng.random(extra) < 0.5
    extra_insz = make_insz(rng, extra_birth, extra_male, ~extra_male, taken)
    clash = np.isin(extra_insz // 100, insz // 100)
    extra_insz = extra_insz[~clash]
    extra_out.append(extra_insz)
    extra = len(extra_insz)
    w_insz = np.concatenate([insz[who], extra_insz])
    w_eerste = np.concatenate([v.eerste[who], peil - rng.integers(30, 900, extra)])
    w_recent = np.concatenate([v.recentste[who], w_eerste[len(who) :]])
    w_work = np.concatenate([v.work[who], np.zeros(extra, np.int64)])
    w_has_work = np.concatenate([v.has_work[who], np.zeros(extra, bool)])
    w_known = np.concatenate([v.in_snap[who], w_eerste[len(who) :] <= snap])
    w_not_in_kbi = np.concatenate([~in_kbi[who], np.ones(extra, bool)])
    rows = len(w_insz)
    cat_p_no = (0.35, 0.04, 0.25, 0.03, 0.20, 0.04, 0.02, 0.02, 0.02, 0.02, 0.01)
    cat_p_work = (0.05, 0.0, 0.05, 0.0, 0.02, 0.01, 0.40, 0.0, 0.25, 0.15, 0.07)
    w_cat = choice_by(rng, (cat_p_no, cat_p_work), w_has_work.astype(np.int64))
    w_status = choice_by(
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
    w_cat = np.concatenate([w_cat, rng.integers(0, len(CATEGORIE), len(dup))])
    w_status = np.concatenate([w_status, w_status[dup]])
    w_known = np.concatenate([w_known, w_known[dup]])
    w_not_in_kbi = np.concatenate([w_not_in_kbi, np.zeros(len(dup), bool)])
    total = rows + len(dup)
    t = Table("werkzoekenden", rng, total, snap)
    # The INSZ of an original that has a duplicate must be valid, or it would be no
    # duplicate; its spelling differs between the two rows.
    t.insz(wz_cols["insz"], "insz", w_insz)
    respell_duplicates(t, wz_cols["insz"], w_insz, dup, rows)
    t.date(
        wz_cols["vdab_datum_eerste_inschrijving"],
        "vdab_datum_eerste_inschrijving",
        w_eerste,
        np.ones(total, bool),
        empty=0.005,
    )
    t.date(
        wz_cols["vdab_datum_recentste_inschrijving"],
        "vdab_datum_recentste_inschrijving",
        w_recent,
        np.ones(total, bool),
        empty=0.005,
        invalid=0.003,
    )
    t.code(
        wz_cols["vdab_categorie_werkzoekende"],
        "vdab_categorie_werkzoekende",
        vocab("categorie_werkzoekende", CATEGORIE),
        w_cat,
    )
    t.code(
        wz_cols["vdab_status_dienstverlening"],
        "vdab_status_dienstverlening",
        vocab("status_dienstverlening", STATUS),
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
    return Extract(t, w_known, rng.permutation(total).astype(np.int64))


def _acties(rng: np.random.Generator, proto: Protocol, p: People) -> Extract:
    peil, snap = p.peil, p.snap
    ac_cols = {c.name: c.labels[0] for c in proto.extracts["acties"].columns}
    who = np.flatnonzero(p.vdab.in_vdab)
    per = rng.poisson(2.2, len(who))
    owner = np.repeat(who, per)
    m = len(owner)
    a_type = choice(rng, (0.35, 0.20, 0.25, 0.20), m)
    a_date = np.maximum(p.vdab.eerste[owner], p.when.contract[owner]) + rng.exponential(
        90.0, m
    ).astype(np.int64)
    a_late = rng.random(m) < LATE_SHARE
    keep = (a_date <= peil) | (a_late & (a_date <= peil + 30))
    owner, a_type = owner[keep], a_type[keep]
    start_day: IntArray = np.asarray(a_date[keep], dtype=np.int64)
    a_known = (start_day <= snap) | (a_late[keep] & (start_day <= snap + 30))
    m = len(owner)
    t = Table("acties", rng, m, snap)
    t.insz(ac_cols["insz"], "insz", p.when.insz[owner])
    valid_type = t.code(
        ac_cols["actietype"],
        "actietype",
        vocab("actietype", ACTIE),
        a_type,
        empty=0.0,
        invalid=0.01,
    )
    t.date(ac_cols["startdatum"], "startdatum", start_day, np.ones(m, bool), empty=0.005)
    t.count(f"{quality.ACTION_UNKNOWN_TYPE}:actietype", ~valid_type)
    return Extract(t, a_known, rng.permutation(m).astype(np.int64))
