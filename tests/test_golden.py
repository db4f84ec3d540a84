"""Results are unchanged by the speed work (issue 13): golden files of three test datasets.

Three small synthetic deliveries (``synth.generate`` with fixed seeds; CSV UTF-8 with
``;``, CSV Windows-1252 with ``,``, XLSX) go through the real chain export → link →
publish → ingest, with a fixed pseudonymisation master key written into VDAB's
workspace. The generator plants broken rows (missing, malformed, wrong check digits,
serial 000/999 INSZs) that export quarantines, and identifiers (the person's own name,
phone, e-mail, INSZ, IBAN) typed into ``plo_reden`` that export scrubs. For each dataset
``tests/data/golden/<name>.json`` holds:

- ``quarantine``: every quarantined KBI row with its reason, as export writes them;
- ``quality``: the quality counts of the export and of the published package's manifest;
- ``pseudonyms``: their number and the SHA-256 of the sorted pseudonym column;
- ``free_text``: the SHA-256 of the sorted ``pseudoniem<TAB>plo_reden`` lines ABB holds;

and ``tests/data/golden/<name>-indicators.csv`` the raw indicator counts (denominator,
numerator, censored, exempt of every indicator x breakdown x category, before disclosure
control, from :func:`pijler3.analysis.indicators.compute_raw` on ABB's stored dataset).

The golden files were produced once, by the code of commit 23b6012 (before any speed
change of issue 13), with ``python tests/test_golden.py --write``. Their indicator counts
were checked then, and are checked again by
:func:`test_golden_indicator_counts_agree_with_an_independent_computation`, against
DuckDB SQL written from INDICATORS.md alone (populations B and E, windows, actions) on
the stored dataset, for the ``totaal``, ``geslacht``, ``ocmw_leefloon`` and ``cohort``
breakdowns of every proportion indicator. The quarantine reasons were checked against
what the generator planted (:func:`test_golden_quarantine_matches_what_was_planted`).
"""

# STYLE.md asks for `assert expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from conftest import SETUP, protocol_text

from pijler3 import demo
from pijler3.analysis import indicators
from pijler3.analysis.store import Store
from pijler3.contract import insz
from pijler3.exchange import package, transfer
from pijler3.extracts import synth
from pijler3.steps import export, ingest, link, publish

GOLDEN = Path(__file__).parent / "data" / "golden"
MASTER_KEY = bytes(range(32))  # fixed, so that pseudonyms are reproducible
POPULATION_END = dt.date(2026, 9, 30)
# name -> (persons, seed, peildatum, format, encoding, delimiter)
DATASETS: dict[str, tuple[int, int, dt.date, str, str, str]] = {
    "csv-utf8": (600, 11, dt.date(2026, 6, 30), "csv", "utf-8", ";"),
    "csv-cp1252": (400, 23, dt.date(2026, 9, 30), "csv", "cp1252", ","),
    "xlsx": (300, 5, dt.date(2026, 9, 30), "xlsx", "utf-8", ";"),
}
COUNT_COLUMNS = ("indicator", "breakdown", "category", "denominator", "numerator")
COUNT_COLUMNS += ("censored", "exempt")


def _valid(first9: str, *, born_2000: bool = False) -> str:
    return first9 + insz.check_digits(first9, born_2000_or_later=born_2000)


_DOTTED = _valid("640730033")
_SLASHED = _valid("644512037")
_WRONG = _valid("650101040")
# Odd rows appended to the CSV extracts: (INSZ cell, plo_reden with {placeholders} of the
# row's own values, the reason export must quarantine it for, or None when valid). Valid
# INSZs in odd spellings carry texts holding the person's own values.
_ODD: tuple[tuple[str, str, str | None], ...] = (
    (
        f"{_DOTTED[:2]}.{_DOTTED[2:4]}.{_DOTTED[4:6]}-{_DOTTED[6:9]}.{_DOTTED[9:]}",
        "{Voornaam} {Naam} wil eerst Nederlands leren, zegt {NAAM}",
        None,
    ),
    (_valid("642730034"), "bel {Telefoon} of mail {E-mail} voor {Voornaam}", None),
    (
        _valid("050730035", born_2000=True),
        "geboren {Geboortedatum} in de {Straat} {Huisnummer}",
        None,
    ),
    (_valid("640000036"), "woont {Huisnummer} {Straat}, {Straat} is druk", None),
    (f"{_SLASHED[:6]} / {_SLASHED[6:]}", "x" * 3000 + " {Naam}", None),
    (_valid("650101000"), "serial 000 {Naam}", "insz_serial"),
    (_valid("650101999"), "serial 999", "insz_serial"),
    (_WRONG[:-1] + str((int(_WRONG[-1]) + 1) % 10), "checksum", "insz_checksum"),
    (_valid("651301041"), "month 13", "insz_checksum"),
    (_valid("650101042")[:-1], "ten digits", "insz_format"),
    ("65010104A12", "a letter", "insz_format"),
    ("   ", "only spaces", "insz_missing"),
)


def _add_odd_rows(kbi: Path, encoding: str, delimiter: str) -> None:
    """Append :data:`_ODD` to a CSV KBI extract, each on a copy of a generated row."""
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    frame = pl.read_csv(
        io.StringIO(kbi.read_bytes().decode(encoding)), separator=delimiter, infer_schema_length=0
    )
    template = frame.head(len(_ODD)).to_dicts()
    rows = []
    for row, (number, text, _) in zip(template, _ODD, strict=True):
        own = {k.strip(): v or "" for k, v in row.items()}
        own["NAAM"] = own["Naam"].upper()
        rows.append({**row, "Rijksregisternummer": number, "Reden besluit PLO": text.format(**own)})
    out = pl.concat([frame, pl.DataFrame(rows, schema=frame.schema)])
    kbi.write_bytes(out.write_csv(separator=delimiter).encode(codec))


def _sha(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()


def run(name: str, root: Path) -> tuple[dict[str, Any], pl.DataFrame, pl.DataFrame, dict[str, int]]:
    """One dataset through the chain: its golden record, raw counts, stored dataset and
    what the generator planted in the KBI extract."""
    persons, seed, day, fmt, encoding, delimiter = DATASETS[name]
    spaces = demo.setup(root, SETUP, protocol_text())
    (spaces["vdab"].keys / "pseudonym.key").write_bytes(MASTER_KEY)
    ex = synth.generate(
        root / "extracts",
        persons=persons,
        peildatum=day,
        seed=seed,
        fmt=fmt,  # type: ignore[arg-type]
        encoding=encoding,
        delimiter=delimiter,
        population_end=POPULATION_END,
    )
    if fmt == "csv":
        _add_odd_rows(ex.kbi, encoding, delimiter)
    at = dt.datetime.combine(day + dt.timedelta(days=7), dt.time(9), tzinfo=dt.UTC)
    exported = export.export(spaces["agii"], ex.kbi, peildatum=day, now=at)
    linked = link.link(spaces["vdab"], exported.package, ex.werkzoekenden, ex.acties, now=at)
    published = publish.publish(spaces["agii"], linked.package, now=at)
    got = ingest.ingest(spaces["abb-1"], published.package, now=at)
    ws = spaces["abb-1"]
    protocol = ws.protocol()
    manifest, _ = package.open_package(
        published.package,
        identity=ws.identity(),
        sender_key=transfer.sender_key(protocol, "publish"),
        expected_step="publish",
    )
    with Store(ws.store_path, protocol) as store:
        data = store.dataset(got.delivery_id)
    rows = list(csv.reader(io.StringIO(exported.quarantine.read_text("utf-8")), delimiter=";"))
    texts = [
        f"{p}\t{t}" for p, t in data.select("pseudoniem", "plo_reden").iter_rows() if t is not None
    ]
    record = {
        "quarantine": rows,
        "quality": {
            "export": {
                "rows_read": exported.rows_read,
                "rows_sent": exported.rows_sent,
                "quarantined": dict(sorted(exported.quarantined.items())),
                "identifiers_removed": exported.identifiers_removed,
                "words_removed": exported.words_removed,
            },
            "manifest": manifest.quality,
            "linkage": linked.report,
        },
        "pseudonyms": {"count": data.height, "sha256": _sha(data["pseudoniem"].to_list())},
        "free_text": {"count": len(texts), "sha256": _sha(texts)},
    }
    raw = indicators.compute_raw(data, day).select(COUNT_COLUMNS)
    return json.loads(json.dumps(record)), raw, data, ex.planted["kbi"].counts


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return {name: run(name, tmp_path_factory.mktemp(name)) for name in DATASETS}


@pytest.mark.parametrize("name", list(DATASETS))
def test_chain_results_equal_the_golden_files(runs: dict[str, Any], name: str) -> None:
    """Pseudonyms, quarantine reasons per row, quality counts, scrubbed free text and the
    raw indicator counts are those the code of commit 23b6012 produced."""
    record, raw, _, _ = runs[name]
    expected = json.loads((GOLDEN / f"{name}.json").read_text("utf-8"))
    assert expected["quarantine"] == record["quarantine"]
    assert expected["quality"] == record["quality"]
    assert expected["pseudonyms"] == record["pseudonyms"]
    assert expected["free_text"] == record["free_text"]
    expected_raw = pl.read_csv(GOLDEN / f"{name}-indicators.csv", schema=raw.schema)
    assert expected_raw.to_dicts() == raw.to_dicts()


@pytest.mark.parametrize("name", list(DATASETS))
def test_golden_quarantine_matches_what_was_planted(runs: dict[str, Any], name: str) -> None:
    """The golden quarantine reasons are the refused INSZs the generator planted, and the
    datasets hold every kind of refusal (so the golden files cover them)."""
    record, _, _, planted = runs[name]
    reasons = Counter(reason for _, reason in record["quarantine"][1:])
    odd = Counter(r for _, _, r in _ODD if r) if DATASETS[name][3] == "csv" else Counter()
    assert {r: planted.get(f"{r}:insz", 0) + odd[r] for r in reasons} == dict(reasons)
    if odd:
        assert {"insz_format", "insz_checksum", "insz_serial", "insz_missing"} <= set(reasons)
    assert reasons == Counter(record["quality"]["export"]["quarantined"])
    assert record["quality"]["export"]["identifiers_removed"] > 0


_SQL = """
with b as (
  select *,
    coalesce(plo_besluit in ('WERKT_AL', 'GEEN_TOEGANG_ARBEIDSMARKT'), false) as ex,
    case when datum_toeleiding_vdab <= $pd then datum_toeleiding_vdab end as toel,
    case when vdab_datum_eerste_inschrijving <= $pd
         then vdab_datum_eerste_inschrijving end as insch,
    case when datum_uitstroom_werk <= $pd then datum_uitstroom_werk end as werk,
    {category} as cat
  from data
  where datum_inburgeringscontract >= date '2022-03-01'
    and datum_inburgeringscontract <= $pd
)
select cat, indicator, count(*) filter (where pop) as den,
  count(*) filter (where pop and hit) as num
from (
  select cat, 'toeleiding' as indicator, true as pop, toel is not null as hit from b
  union all
  select cat, 'inschrijving_60d', not ex and datum_inburgeringscontract + 60 <= $pd,
         insch is not null and insch <= datum_inburgeringscontract + 60 from b
  union all
  select cat, 'werk_6m', not ex and datum_inburgeringscontract + 182 <= $pd,
         werk is not null and werk <= datum_inburgeringscontract + 182 from b
  union all
  select cat, 'werk_12m', not ex and datum_inburgeringscontract + 365 <= $pd,
         werk is not null and werk <= datum_inburgeringscontract + 365 from b
  union all
  select cat, 'actie_orientatie', insch is not null, coalesce(vdab_actie_orientatie, false) from b
  union all
  select cat, 'actie_context', insch is not null, coalesce(vdab_actie_context, false) from b
  union all
  select cat, 'actie_competentieversterking', insch is not null,
         coalesce(vdab_actie_competentieversterking, false) from b
  union all
  select cat, 'actie_solliciteren', insch is not null, coalesce(vdab_actie_solliciteren, false)
  from b
) group by all
"""
_CATEGORIES = {
    "totaal": "'totaal'",
    "geslacht": "coalesce(geslacht, 'ONBEKEND')",
    "ocmw_leefloon": "case when ocmw_leefloon is null then 'ONBEKEND' "
    "when ocmw_leefloon then 'true' else 'false' end",
    "cohort": "year(datum_inburgeringscontract) || '-Q' || quarter(datum_inburgeringscontract)",
}


@pytest.mark.parametrize("name", list(DATASETS))
def test_golden_indicator_counts_agree_with_an_independent_computation(
    runs: dict[str, Any], name: str
) -> None:
    """The golden raw counts equal plain DuckDB SQL written from INDICATORS.md."""
    _, _, data, _ = runs[name]
    day = DATASETS[name][2]
    golden = pl.read_csv(GOLDEN / f"{name}-indicators.csv", infer_schema_length=0)
    con = duckdb.connect()
    con.register("data", data.to_arrow())
    for breakdown, category in _CATEGORIES.items():
        sql = _SQL.format(category=category)
        got = {
            (ind, str(cat)): (int(den), int(num))
            for cat, ind, den, num in con.execute(sql, {"pd": day}).fetchall()
        }
        rows = golden.filter(
            (pl.col("breakdown") == breakdown) & pl.col("indicator").is_in([i for i, _ in got])
        )
        table = {
            (ind, cat): (int(den), int(num))
            for ind, _, cat, den, num, _, _ in rows.iter_rows()
            if int(den) or (ind, cat) in got
        }
        assert got == table, breakdown
        assert len(got) > 4


def _write() -> None:
    import tempfile

    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name in DATASETS:
        with tempfile.TemporaryDirectory() as tmp:
            record, raw, _, _ = run(name, Path(tmp))
        text = json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        (GOLDEN / f"{name}.json").write_text(text, "utf-8")
        raw.write_csv(GOLDEN / f"{name}-indicators.csv")


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    _write()
