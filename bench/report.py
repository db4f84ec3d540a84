"""Benchmark of the monitoring report (pijler3.report) at 100,000 and 1,000,000 persons.

Generates monitoring datasets directly with numpy and polars (fixed seed; no extracts,
no packages), loads three quarterly deliveries into an in-memory analysis store with
realistic manifests (quality and risk), and times ``build_report`` (indicators for every
delivery, disclosure control, curves, odds ratios) and the three renderers separately.
Target: the whole report under 20 s for 1,000,000 persons on 2 cores.

The data: this module's own generator, not synth -> chain (which would take minutes to
encrypt, link and ingest a million rows). Every coded field is drawn with skewed
frequencies like synth's (the tables below); the dates depend on region, target group,
schooling, Dutch level and sex, so that the indicators and odds ratios have something to
find. The profile fields are otherwise drawn independently of each other, which gives
more covariate patterns (about 1 per 2 rows at 1,000,000 persons) than correlated real
data would: the odds-ratio model is timed at its most expensive, not its most flattering.

    .venv/bin/python bench/report.py                     # 100,000 and 1,000,000 persons
    .venv/bin/python bench/report.py --persons 250000    # one size
    .venv/bin/python bench/report.py --persons 20000 --out out/bench-report  # keep files
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from pijler3.analysis import dataset, risk
from pijler3.analysis.store import Store
from pijler3.contract import protocol as protocol_mod
from pijler3.extracts import quality
from pijler3.report import data as report_data
from pijler3.report import files as report

NOW = dt.datetime(2026, 10, 15, 9, 0, tzinfo=dt.UTC)
PEILDATUMS = (dt.date(2026, 3, 31), dt.date(2026, 6, 30), dt.date(2026, 9, 30))
START = dt.date(2021, 11, 1)  # some contracts predate the reform on purpose
EPOCH = dt.date(1970, 1, 1)

AGE = (["<18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"],
       [0.01, 0.19, 0.38, 0.24, 0.11, 0.05, 0.02])  # fmt: skip
SEX = (["M", "V", "X"], [0.52, 0.478, 0.002])
SCHOOL = (["LAAG", "MIDDEN", "HOOG", "ONBEKEND"], [0.35, 0.30, 0.25, 0.10])
REGION = (
    ["ANTWERPEN_STAD", "GENT_STAD", "PROVINCIE_ANTWERPEN", "LIMBURG", "OOST_VLAANDEREN",
     "VLAAMS_BRABANT", "WEST_VLAANDEREN", "BRUSSEL"],
    [0.18, 0.09, 0.12, 0.10, 0.13, 0.11, 0.10, 0.17],
)  # fmt: skip
STATUS = (
    ["GEZINSHERENIGER", "ERKEND_VLUCHTELING", "SUBSIDIAIR_BESCHERMD", "ARBEIDSMIGRANT",
     "EU_BURGER", "STUDENT", "TIJDELIJK_BESCHERMD", "REGULARISATIE", "ANDERE"],
    [0.30, 0.20, 0.06, 0.08, 0.12, 0.04, 0.14, 0.02, 0.04],
)  # fmt: skip
NATIONALITY = (
    ["UKR", "SYR", "AFG", "MAR", "TUR", "ERI", "PSE", "IND", "ROU", "POL", "BRA", "COD",
     "GIN", "CMR", "RUS", "IRQ", "SOM", "NLD", "ESP", "XXA", "XXX", "NPL", "ISL"],
    [0.20, 0.11, 0.10, 0.09, 0.07, 0.06, 0.06, 0.05, 0.04, 0.04, 0.03, 0.03, 0.02, 0.02,
     0.02, 0.02, 0.015, 0.01, 0.01, 0.008, 0.005, 0.0045, 0.0005],
)  # fmt: skip
TARGET = (["VERPLICHT", "RECHTHEBBEND", "ONBEPAALD"], [0.72, 0.26, 0.02])
TRACK = (["STANDAARD", "ALFA", "INTENSIEF", "MAATWERK"], [0.62, 0.14, 0.16, 0.08])
LEARN = (["LAAG", "GEMIDDELD", "HOOG", "ONBEKEND"], [0.22, 0.45, 0.25, 0.08])
NT2 = (["GEEN", "A1", "A2", "B1", "B2", "C1"], [0.25, 0.30, 0.25, 0.13, 0.05, 0.02])
PLO = (
    ["TOELEIDING_VDAB", "WERKT_AL", "STUDEERT", "GEEN_TOEGANG_ARBEIDSMARKT",
     "TIJDELIJK_NIET_INZETBAAR", "ZELFSTANDIGE"],
    [0.70, 0.10, 0.05, 0.04, 0.09, 0.02],
)  # fmt: skip
DIPLOMA = (
    ["LOPEND", "GELIJKWAARDIG_NIVEAU", "GELIJKWAARDIG_SPECIFIEK", "LAGER_NIVEAU",
     "NIET_GELIJKWAARDIG", "STOPGEZET"],
    [0.4, 0.2, 0.1, 0.15, 0.1, 0.05],
)  # fmt: skip
CATEGORY = (["00", "02", "03", "05", "10"], [0.45, 0.05, 0.25, 0.15, 0.10])
SERVICE = (
    ["IN_BEMIDDELING", "IN_OPLEIDING_OF_VOORTRAJECT", "NIET_INZETBAAR_LANGE_TERMIJN",
     "UITGESCHREVEN"],
    [0.45, 0.25, 0.1, 0.2],
)  # fmt: skip
REASONS = ["Werkt reeds voltijds", "Volgt opleiding", "Medische redenen", "Zorgtaken"]


def _pick(rng: np.random.Generator, table: tuple[list[str], list[float]], n: int) -> Any:
    """Codes drawn with the given probabilities, about 1% left missing."""
    labels, p = table
    probs = np.asarray(p) / np.sum(p)
    out = np.asarray(labels, dtype=object)[rng.choice(len(labels), size=n, p=probs)]
    out[rng.random(n) < 0.01] = None
    return out


def _dates(days: Any) -> pl.Series:
    """Days since 1970-01-01 (NaN for missing) as a polars Date column."""
    arr = np.asarray(days, dtype=np.float64)
    s = pl.Series(np.where(np.isnan(arr), 0, arr).astype(np.int32)).cast(pl.Date)
    return s.set(pl.Series(np.isnan(arr)), None)  # type: ignore[arg-type]


def people(persons: int, seed: int) -> dict[str, Any]:
    """Everyone's whole history up to the last peildatum (dates as day numbers, NaN = none)."""
    rng = np.random.default_rng(seed)
    n = persons
    last = (PEILDATUMS[-1] - EPOCH).days
    first = (START - EPOCH).days
    contract = rng.integers(first, last + 1, size=n).astype(np.float64)
    region = _pick(rng, REGION, n)
    school = _pick(rng, SCHOOL, n)
    target = _pick(rng, TARGET, n)
    nt2 = _pick(rng, NT2, n)
    sex = _pick(rng, SEX, n)
    plo = _pick(rng, PLO, n)
    # Registration: most verplichte newcomers are referred and register within weeks;
    # the cities do a little better, rechthebbenden and people at work less often.
    p_reg = np.full(n, 0.82)
    p_reg[target == "RECHTHEBBEND"] = 0.62
    p_reg[np.isin(region, ["ANTWERPEN_STAD", "GENT_STAD"])] += 0.06
    p_reg[plo == "WERKT_AL"] = 0.3
    registers = rng.random(n) < p_reg
    registration = np.where(registers, contract + np.round(rng.gamma(1.3, 28, n)) - 10, np.nan)
    referred = np.where(rng.random(n) < 0.78, contract + np.round(rng.gamma(1.5, 12, n)), np.nan)
    # Work: higher schooling and better Dutch find work sooner; women later.
    hazard = np.full(n, 1 / 900)
    hazard[school == "HOOG"] *= 1.5
    hazard[school == "LAAG"] *= 0.7
    hazard[np.isin(nt2, ["B1", "B2", "C1"])] *= 1.4
    hazard[sex == "V"] *= 0.7
    work_delay = np.round(rng.exponential(1 / hazard))
    work = np.where(registers & (rng.random(n) < 0.8), registration + 20 + work_delay, np.nan)
    hexes = rng.bytes(16 * n).hex()
    return {
        "pseudoniem": [hexes[32 * i : 32 * i + 32] for i in range(n)],
        "leeftijdscategorie": _pick(rng, AGE, n),
        "geslacht": sex,
        "scholingsniveau": school,
        "oudste_nationaliteit": _pick(rng, NATIONALITY, n),
        "datum_toeleiding_vdab": referred,
        "doelgroep": target,
        "datum_doelgroep": contract - np.round(rng.gamma(2, 40, n)),
        "datum_inburgeringscontract": contract,
        "datum_aanmelding": contract - np.round(rng.gamma(1.5, 15, n)),
        "regio": region,
        "toeleiding_diplomagelijkschakeling": rng.random(n) < 0.2,
        "resultaat_diplomagelijkschakeling": _pick(rng, DIPLOMA, n),
        "plo_besluit": plo,
        "plo_reden": np.asarray(REASONS, dtype=object)[rng.integers(0, len(REASONS), n)],
        "taalleervermogen": _pick(rng, LEARN, n),
        "nt2_niveau": nt2,
        "trajecttype": _pick(rng, TRACK, n),
        "ocmw_leefloon": rng.random(n) < 0.3,
        "datum_laatste_nt2_activiteit": contract + np.round(rng.gamma(3, 60, n)),
        "verblijfsstatus": _pick(rng, STATUS, n),
        "vdab_datum_eerste_inschrijving": registration,
        "vdab_datum_recentste_inschrijving": registration + np.round(rng.gamma(1, 200, n)),
        "vdab_categorie_werkzoekende": _pick(rng, CATEGORY, n),
        "vdab_status_dienstverlening": _pick(rng, SERVICE, n),
        "datum_uitstroom_werk": work,
        "_actions": (rng.random((n, 4)) < np.array([0.7, 0.4, 0.5, 0.35])),
        "_action_day": registration + np.round(rng.gamma(1.5, 30, n)),
    }


ACTIONS = ("orientatie", "context", "competentieversterking", "solliciteren")


def snapshot(history: dict[str, Any], peildatum: dt.date, protocol: Any) -> pl.DataFrame:
    """The monitoring dataset at ``peildatum``: who had signed up by then, what was known.

    Events after the peildatum are unknown at the time, except a few "late" dates that a
    later export let slip in (the indicators count them as missing).
    """
    day = (peildatum - EPOCH).days
    known = history["datum_aanmelding"] <= day
    late_ok = np.zeros(len(known), dtype=bool)
    late_ok[::997] = True
    cols: dict[str, Any] = {}
    for field in protocol.fields:
        name = field.name
        if name == "peildatum":
            continue
        if name.startswith("vdab_actie_"):
            i = ACTIONS.index(name.removeprefix("vdab_actie_"))
            seen = history["_action_day"] <= day
            cols[name] = (history["_actions"][:, i] & seen)[known]
            continue
        values = history[name]
        if field.type == "date":
            arr = np.asarray(values, dtype=np.float64)
            arr = np.where((arr > day) & ~late_ok, np.nan, arr)
            cols[name] = _dates(arr[known])
        elif field.type == "bool":
            cols[name] = np.asarray(values)[known]
        else:
            cols[name] = pl.Series(
                name, np.asarray(values, dtype=object)[known].tolist(), dtype=pl.String
            )
    frame = pl.DataFrame(cols).with_columns(pl.lit(peildatum).alias("peildatum"))
    # VDAB columns of someone never registered stay empty, as in the real linked data.
    unregistered = pl.col("vdab_datum_eerste_inschrijving").is_null()
    frame = frame.with_columns(
        [
            pl.when(unregistered).then(None).otherwise(pl.col(c)).alias(c)
            for c in ("vdab_categorie_werkzoekende", "vdab_status_dienstverlening")
        ]
    )
    schema = dataset.monitoring_schema(protocol)
    return frame.select([pl.col(n).cast(t) for n, t in schema.items()])


def manifest(frame: pl.DataFrame, peildatum: dt.date, protocol: Any) -> dict[str, Any]:
    """A manifest as the publish step writes it: quality and risk, counts only."""
    rows = frame.height
    report_ = risk.measure(
        frame, protocol.risk, protocol.quasi_identifiers, protocol.sensitive_fields
    )
    findings = [
        {"reason": "date_invalid", "column": "datum_aanmelding", "count": rows // 400},
        {"reason": "code_invalid", "column": "regio", "count": rows // 900, "label": "Antwerpen"},
        {"reason": "code_invalid", "column": "regio", "count": 3, "label": "Amal"},
        {"reason": "code_invalid", "column": "doelgroep", "count": rows // 2000,
         "label": "Vrijwillig"},
        {"reason": "missing", "column": "geslacht", "count": rows // 150},
    ]  # fmt: skip
    return {
        "delivery_id": f"{peildatum:%Y%m%d}-bench",
        "peildatum": peildatum.isoformat(),
        "quality": {
            "kbi": findings,
            "quarantined": {"insz_checksum": rows // 300, "insz_missing": rows // 500},
            "identifiers_removed": rows // 1000,
            "rows_read": rows + rows // 300 + rows // 500,
            "werkzoekenden": [{"reason": "duplicate_insz", "column": "insz", "count": 12}],
            "acties": [{"reason": "action_unknown_type", "column": "actietype", "count": 4}],
            "linkage": {
                "persons": rows,
                "matched": int(frame["vdab_datum_eerste_inschrijving"].is_not_null().sum()),
                "match_rate": float(frame["vdab_datum_eerste_inschrijving"].is_not_null().mean()),
                "duplicates_resolved": 12,
                "actions_unknown_type": 4,
            },
            "consistency": quality.consistency(frame, peildatum),
            "missing": quality.column_profile(frame),
        },
        "risk": report_.to_dict()
        | {"warnings": risk.gate(report_, protocol.risk), "action": protocol.risk.action},
    }


def build_store(persons: int, seed: int = 2023, path: Path | None = None) -> Store:
    """An analysis store holding three quarterly deliveries of ``persons`` people."""
    protocol = protocol_mod.load()
    history = people(persons, seed)
    store = Store(path, protocol)
    for day in PEILDATUMS:
        frame = snapshot(history, day, protocol)
        store.load_delivery(
            frame,
            delivery_id=f"{day:%Y%m%d}-bench",
            peildatum=day,
            received_at=dt.datetime.combine(day + dt.timedelta(days=7), dt.time(9)),
            expires_at=day.replace(year=day.year + 5),
            package_sha256=f"bench-{day:%Y%m%d}",
            manifest=manifest(frame, day, protocol),
        )
    return store


def run(persons: int, out: Path | None) -> None:
    t0 = time.perf_counter()
    store = build_store(persons)
    t1 = time.perf_counter()
    with store:
        data = report_data.build_report(store, store.protocol, now=NOW)
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        target = out or Path(tmp)
        target.mkdir(parents=True, exist_ok=True)
        result = report.render(data, target)
        t3 = time.perf_counter()
        size = result.html.stat().st_size
    print(
        f"{persons:>9,} persons x {len(PEILDATUMS)} deliveries: data {t1 - t0:5.1f} s (not"
        f" timed), build_report {t2 - t1:5.1f} s, render {t3 - t2:4.1f} s,"
        f" report {t3 - t1:5.1f} s; HTML {size / 1e6:.1f} MB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, action="append", help="(repeatable)")
    parser.add_argument("--out", type=Path, default=None, help="keep the report files here")
    args = parser.parse_args(argv)
    for persons in args.persons or [100_000, 1_000_000]:
        run(persons, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
