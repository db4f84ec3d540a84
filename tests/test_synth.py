"""The synthetic extract generator: determinism, INSZ validity, distributions, messiness.

These tests check the generator against the pure rules of :mod:`pijler3.contract.codes` and
:mod:`pijler3.contract.insz` only; ``test_synth_roundtrip.py`` checks it against the reader.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from functools import cache
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pijler3.contract import codes, insz, protocol
from pijler3.extracts import quality, synth

PEIL = dt.date(2024, 6, 30)


@cache
def frames(persons: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict]:
    return synth.generate_frames(persons=persons, peildatum=PEIL, seed=seed)


def header(df: pl.DataFrame, label: str) -> str:
    """The file's header cell for a label (the generator varies case and spaces)."""
    return next(c for c in df.columns if c.strip().casefold() == label.casefold())


def _recount_insz(raw: str | None, text: str | None, column: str) -> list[str]:
    """The count keys one INSZ cell adds: its problem, or formatted and BIS flags."""
    number, problem = insz.check(raw)
    if problem is not None:
        return [f"{problem.value}:{column}"]
    assert number is not None
    keys = []
    if number != text:
        keys.append(f"{quality.INSZ_FORMATTED}:{column}")
    if int(number[2:4]) >= 20:
        keys.append(f"{quality.INSZ_BIS}:{column}")
    return keys


def _recount(df: pl.DataFrame, extract: protocol.Extract) -> Counter[str]:
    """What a reader following DATA.md must find, computed with the pure rules cell by cell."""
    counts: Counter[str] = Counter()
    for column in extract.columns:
        values = df[header(df, column.labels[0])].to_list()
        for raw in values:
            text = None if raw is None or not raw.strip() else raw.strip()
            if column.type == "insz":
                counts.update(_recount_insz(raw, text, column.name))
            elif text is None:
                counts[f"{quality.MISSING}:{column.name}"] += 1
            elif column.type == "date" and codes.parse_date(text) is None:
                counts[f"{quality.DATE_INVALID}:{column.name}"] += 1
            elif column.type == "bool" and codes.parse_bool(text) is None:
                counts[f"{quality.BOOL_INVALID}:{column.name}"] += 1
            elif column.type == "code":
                assert column.codelist is not None
                if codes.match_code(column.codelist, text) is None:
                    counts[f"{quality.CODE_INVALID}:{column.name}:{text}"] += 1
    return counts


# --------------------------------------------------------------------------- determinism


def _write(tmp: Path, seed: int, **kw: object) -> dict[str, bytes]:
    r = synth.generate(tmp, persons=400, peildatum=PEIL, seed=seed, **kw)  # type: ignore[arg-type]
    return {p.name: p.read_bytes() for p in (r.kbi, r.werkzoekenden, r.acties, r.planted_path)}


def test_same_seed_gives_byte_identical_csv_files(tmp_path: Path) -> None:
    """Two runs with the same arguments write the same bytes, planted.json included."""
    assert _write(tmp_path / "a", 11) == _write(tmp_path / "b", 11)


def test_same_seed_gives_byte_identical_xlsx_files(tmp_path: Path) -> None:
    """XLSX output carries no timestamp: the same arguments give the same bytes."""
    assert _write(tmp_path / "a", 11, fmt="xlsx") == _write(tmp_path / "b", 11, fmt="xlsx")


def test_different_seeds_give_different_extracts(tmp_path: Path) -> None:
    """Another seed draws other people."""
    a, b = _write(tmp_path / "a", 11), _write(tmp_path / "b", 12)
    for name in ("kbi.csv", "vdab_werkzoekenden.csv", "vdab_acties.csv"):
        assert a[name] != b[name]


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    """Files are written through a temporary file and a rename; only the results remain."""
    synth.generate(tmp_path, persons=50, peildatum=PEIL, seed=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "kbi.csv",
        "planted.json",
        "vdab_acties.csv",
        "vdab_werkzoekenden.csv",
    ]


# --------------------------------------------------------------------------- INSZ


@cache
def valid_inszs() -> list[str]:
    kbi, wz, ac, _ = frames(2000, 3)
    out = set()
    for df, label in ((kbi, "Rijksregisternummer"), (wz, "INSZ"), (ac, "INSZ")):
        for raw in df[header(df, label)].to_list():
            number = insz.normalise(raw)
            if number is not None:
                out.add(number)
    return sorted(out)


def test_generated_inszs_include_bis_numbers_day_00_and_births_from_2000() -> None:
    """The valid INSZs cover the cases DATA.md names: BIS (+20/+40), day 00, born >= 2000."""
    numbers = valid_inszs()
    months = [int(n[2:4]) for n in numbers]
    assert any(20 <= m <= 32 for m in months)
    assert any(40 <= m <= 52 for m in months)
    assert any(m >= 20 and n[4:6] == "00" for m, n in zip(months, numbers, strict=True))
    # Born from 2000 on: only the 2000 branch of the check digits matches.
    assert any(97 - int(n[:9]) % 97 != int(n[9:]) for n in numbers)


def test_every_kbi_insz_is_valid_unless_planted_invalid() -> None:
    """insz.check accepts every INSZ the generator did not deliberately spoil."""
    kbi, _, _, planted = frames(2000, 3)
    problems = Counter(
        p.value for p in (insz.check(v)[1] for v in kbi["Rijksregisternummer"]) if p is not None
    )
    counts = planted["kbi"].counts
    expected = {
        reason: counts.get(f"{reason}:insz", 0)
        for reason in (
            quality.INSZ_MISSING,
            quality.INSZ_FORMAT,
            quality.INSZ_CHECKSUM,
            quality.INSZ_SERIAL,
        )
    }
    assert expected == {r: problems.get(r, 0) for r in expected}
    assert len({insz.normalise(v) for v in kbi["Rijksregisternummer"]} - {None}) == sum(
        1 for v in kbi["Rijksregisternummer"] if insz.is_valid(v)
    ), "two people share an INSZ"


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_single_digit_change_of_a_generated_insz_is_refused(data: st.DataObject) -> None:
    """Changing any one digit of a valid generated INSZ makes it invalid.

    The one exception is arithmetic, not a generator bug: 2*10^9 = 68 (mod 97), so moving
    a year digit (tens by 2, units by 6) can land exactly on the check digits of the
    *other* century branch. Such a number is then valid for someone born a century
    apart; the test asserts that this is the only way a changed number passes.
    """
    number = data.draw(st.sampled_from(valid_inszs()))
    pos = data.draw(st.integers(0, 10))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != number[pos]]))
    mutant = number[:pos] + digit + number[pos + 1 :]
    assert insz.check(number) == (number, None)
    _, problem = insz.check(mutant)
    if problem is None:
        born_2000 = 97 - int(number[:9]) % 97 != int(number[9:])
        other = int(mutant[:9]) + (0 if born_2000 else 2_000_000_000)
        assert pos in (0, 1)
        assert 97 - other % 97 == int(mutant[9:])


# --------------------------------------------------------------------------- distributions


@cache
def joined(persons: int = 20_000, seed: int = 7) -> pl.DataFrame:
    """KBI joined to the (deduplicated) VDAB registrations, typed with the pure rules."""
    kbi, wz, _, _ = frames(persons, seed)

    def norm(s: pl.Series) -> pl.Series:
        return s.map_elements(insz.normalise, return_dtype=pl.String)

    def date(s: pl.Series) -> pl.Series:
        return s.map_elements(codes.parse_date, return_dtype=pl.Date)

    def code(s: pl.Series, name: str) -> pl.Series:
        return s.map_elements(lambda v: codes.match_code(name, v), return_dtype=pl.String)

    k = pl.DataFrame(
        {
            "insz": norm(kbi["Rijksregisternummer"]),
            "contract": date(kbi["Datum inburgeringscontract"]),
            "doelgroep": code(kbi["Doelgroep"], "doelgroep"),
            "plo": code(kbi["Besluit PLO"], "plo_besluit"),
            "school": code(kbi["Scholingsniveau"], "scholingsniveau"),
            "regio": code(kbi[header(kbi, "Regio")], "regio"),
            "nat": code(kbi["Oudste nationaliteit"], "nationaliteit"),
        }
    )
    w = (
        pl.DataFrame(
            {
                "insz": norm(wz["INSZ"]),
                "eerste": date(wz["Datum eerste inschrijving"]),
                "recent": date(wz["Datum recentste inschrijving"]),
                "werk": date(wz["Datum uitstroom werk"]),
            }
        )
        .drop_nulls("insz")
        .sort("recent", nulls_last=False, maintain_order=True)
        .unique("insz", keep="last", maintain_order=True)
    )
    return k.join(w, on="insz", how="left")


def _base() -> pl.DataFrame:
    j = joined()
    return j.filter(pl.col("contract").is_between(synth.CONTRACT_START, PEIL))


EXEMPT = pl.col("plo").is_in(["WERKT_AL", "GEEN_TOEGANG_ARBEIDSMARKT"])
REG60 = pl.col("eerste").is_not_null() & (
    pl.col("eerste") <= pl.col("contract") + pl.duration(days=60)
)
WORK365 = (
    pl.col("werk").is_not_null()
    & (pl.col("werk") <= pl.col("contract") + pl.duration(days=365))
    & (pl.col("werk") <= PEIL)
)


def test_population_spreads_over_contracts_since_march_2022() -> None:
    """Most people signed between 01/03/2022 and the peildatum, a few before the reform."""
    j, b = joined(), _base()
    assert 0.9 < b.height / j.height < 0.98
    assert j.filter(pl.col("contract") < synth.CONTRACT_START).height > 0
    by_month = b.group_by(pl.col("contract").dt.truncate("1mo")).len()["len"]
    assert by_month.len() == 28 and by_month.min() > 0.7 * by_month.mean()


def test_doelgroep_is_about_half_verplicht_and_about_ten_percent_exempt() -> None:
    """About 50/50 verplicht/rechthebbend; about 10% WERKT_AL or GEEN_TOEGANG."""
    b = _base()
    verplicht = (b["doelgroep"] == "VERPLICHT").sum() / b["doelgroep"].is_not_null().sum()
    assert 0.42 < verplicht < 0.58
    assert 0.07 < b.filter(EXEMPT).height / b.height < 0.13


def test_registration_within_60_days_is_75_to_85_percent_with_planted_gaps() -> None:
    """75-85% of non-exempt people register within 60 days; LAAG and Brussels less so."""
    ne = _base().filter(~EXEMPT & (pl.col("contract") + pl.duration(days=60) <= PEIL))
    share = ne.select(REG60.mean()).item()
    assert 0.75 <= share <= 0.85

    def by(col: str, value: str) -> float:
        return float(ne.filter(pl.col(col) == value).select(REG60.mean()).item())

    assert by("school", "LAAG") < by("school", "HOOG") - 0.08
    assert by("regio", "BRUSSEL") < by("regio", "ANTWERPEN_STAD") - 0.08
    assert ne.filter(pl.col("eerste") < pl.col("contract")).height > 0.03 * ne.height


def test_outflow_to_work_within_a_year_is_30_to_45_percent() -> None:
    """30-45% of non-exempt people with a closed year reach work; LAAG clearly less."""
    ne = _base().filter(~EXEMPT & (pl.col("contract") + pl.duration(days=365) <= PEIL))
    assert 0.30 <= ne.select(WORK365.mean()).item() <= 0.45
    laag = ne.filter(pl.col("school") == "LAAG").select(WORK365.mean()).item()
    hoog = ne.filter(pl.col("school") == "HOOG").select(WORK365.mean()).item()
    assert laag < hoog - 0.1


def test_nationality_mix_looks_published() -> None:
    """The most frequent nationalities are the known ones, with stateless and unknown."""
    nat = _base()["nat"].drop_nulls()
    top = set(nat.value_counts(sort=True).head(10)["nat"].to_list())
    assert {"UKR", "SYR", "AFG", "MAR", "TUR", "ERI", "PSE"} <= top
    assert (nat == "XXA").sum() > 0 and (nat == "XXX").sum() > 0
    assert nat.n_unique() > 50


# --------------------------------------------------------------------------- messiness


@pytest.mark.parametrize("persons", [1, 2, 5, 2000])
def test_planted_counts_match_the_pure_rules(persons: int) -> None:
    """Every planted count equals what codes/insz find cell by cell, and nothing else is
    found; no coded, date or yes/no column holds values without a single valid one."""
    proto = protocol.load()
    dfs = frames(persons, 5)
    for df, key in zip(dfs[:3], ("kbi", "werkzoekenden", "acties"), strict=True):
        extract = proto.extracts[key]
        assert dict(_recount(df, extract)) == dfs[3][key].reader_counts(), key
        for column in extract.columns:
            values = df[header(df, column.labels[0])]
            if column.type in ("date", "bool", "code") and values.drop_nulls().len():
                invalid = sum(
                    v
                    for k, v in dfs[3][key].counts.items()
                    if k.split(":")[1] == column.name and k.split(":")[0] in quality.INVALID_REASONS
                )
                assert invalid < values.drop_nulls().len(), column.name


def test_messiness_of_data_md_is_all_there() -> None:
    """Mixed labels and cases, every date format, invalid dates and codes, formatted and
    invalid INSZs, duplicates and unknown action types all occur in 20,000 persons."""
    kbi, _, ac, planted = frames(20_000, 7)
    values = {v for c in kbi.columns for v in kbi[c].drop_nulls().unique().to_list()}
    values |= set(ac["Actietype"].drop_nulls().unique().to_list())
    for label in ("Man", "m", "MANNELIJK", "Atlas", "RG2", "oriëntatie", "palestina"):
        assert label in values, label
    counts = planted["kbi"].counts
    for key in (
        "code_invalid:regio:Antwerpen",
        "code_invalid:doelgroep:Vrijwillig",
        "code_invalid:geslacht:Amal",
        "insz_missing:insz",
        "insz_format:insz",
        "insz_checksum:insz",
        "insz_serial:insz",
        "insz_formatted:insz",
        "insz_bis:insz",
        "date_invalid:geboortedatum",
        "bool_invalid:ocmw_leefloon",
    ):
        assert counts.get(key, 0) > 0, key
    assert planted["werkzoekenden"].counts["duplicate_insz:insz"] > 0
    assert planted["acties"].counts["action_unknown_type:actietype"] > 0
    dates = kbi["Datum aanmelding"].drop_nulls().to_list()
    for pattern in (
        r"\d{2}/\d{2}/\d{4}",
        r"\d/\d{1,2}/\d{4}",
        r"\d{2}-\d{2}-\d{4}",
        r"\d{4}-\d{2}-\d{2}",
        r"\d{2}\.\d{2}\.\d{4}",
        r"\d{4}/\d{2}/\d{2}",
        r"\d{2}/\d{2}/\d{2}",
        r"31/02/\d{4}",
    ):
        assert pl.Series(dates).str.contains(f"^{pattern}$").any(), pattern
    assert kbi["Rijksregisternummer"].str.contains(r"^\d{2}\.\d{2}\.\d{2}-\d{3}\.\d{2}$").any()
    assert kbi["Rijksregisternummer"].str.contains(" ").any()
    for late in ("datum_laatste_nt2_activiteit",):
        assert planted["kbi"].checks[f"after_peildatum:{late}"] > 0
    assert planted["werkzoekenden"].checks["after_peildatum:datum_uitstroom_werk"] > 0


def test_duplicate_vdab_rows_are_the_same_person_spelled_otherwise() -> None:
    """A duplicate has the same normalised INSZ, another spelling and an older
    recentste inschrijving."""
    _, wz, _, planted = frames(20_000, 7)
    df = wz.with_columns(
        n=pl.col("INSZ").map_elements(insz.normalise, return_dtype=pl.String),
        r=pl.col("Datum recentste inschrijving").map_elements(
            codes.parse_date, return_dtype=pl.Date
        ),
    ).filter(pl.col("n").is_not_null())
    groups = df.group_by("n").agg(pl.len(), pl.col("INSZ").n_unique().alias("spellings"))
    dups = groups.filter(pl.col("len") > 1)
    assert (dups["len"] - 1).sum() == planted["werkzoekenden"].counts["duplicate_insz:insz"]
    assert (dups["spellings"] == dups["len"]).all()


def test_free_text_holds_identifiers_delimiters_and_line_breaks() -> None:
    """plo_reden holds the person's own name, phones, e-mails, INSZs, IBANs, ';' and
    line breaks, as counted in the plant."""
    kbi, _, _, planted = frames(20_000, 7)
    checks = planted["kbi"].checks
    for kind in ("name", "phone", "email", "insz", "iban"):
        assert checks[f"free_text_{kind}"] > 0
    reden = kbi["Reden besluit PLO"]
    own = sum(
        1
        for text, first, last in kbi.select("Reden besluit PLO", "Voornaam", "Naam").iter_rows()
        if text is not None and text.startswith(f"Gesprek met {first} {last}:")
    )
    assert own == checks["free_text_name"]
    assert reden.str.contains(";").any() and reden.str.contains("\n").any()
    assert reden.str.contains(r"BE\d{2}( \d{4}){3}").sum() == checks["free_text_iban"]


# --------------------------------------------------------------------------- formats


def test_cp1252_comma_file_keeps_accents_and_uses_crlf(tmp_path: Path) -> None:
    """A cp1252 export decodes with é, ë, ï intact, has CRLF line ends and quotes the
    delimiter inside free text."""
    r = synth.generate(
        tmp_path, persons=3000, peildatum=PEIL, seed=2, encoding="cp1252", delimiter=","
    )
    raw = r.kbi.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("cp1252")
    for ch in "éëï":
        assert ch in text
    assert text.startswith("Rijksregisternummer,")
    assert text.count("\r\n") >= 3000
    df = pl.read_csv(io.BytesIO(text.encode()), infer_schema=False)
    assert df.height == 3000
    assert df["Reden besluit PLO"].str.contains(",").any()


def test_xlsx_has_native_date_cells_and_insz_as_text(tmp_path: Path) -> None:
    """The XLSX extract opens with openpyxl, has real date cells and keeps INSZ as text."""
    r = synth.generate(tmp_path, persons=300, peildatum=PEIL, seed=2, fmt="xlsx")
    wb = openpyxl.load_workbook(r.kbi, read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=False))
    head = [c.value for c in rows[0]]
    col = head.index("Rijksregisternummer")
    dates = head.index("Datum aanmelding")
    assert all(row[col].data_type == "s" for row in rows[1:] if row[col].value is not None)
    kinds = Counter(type(row[dates].value).__name__ for row in rows[1:])
    assert kinds["datetime"] > 0 and kinds["str"] > 0
    wb.close()


def test_refuses_what_it_cannot_make(tmp_path: Path) -> None:
    """No persons, a peildatum before the reform, or an unknown option is a user error."""
    with pytest.raises(synth.SynthError):
        synth.generate(tmp_path, persons=0, peildatum=PEIL, seed=1)
    with pytest.raises(synth.SynthError):
        synth.generate(tmp_path, persons=5, peildatum=dt.date(2022, 1, 1), seed=1)
    with pytest.raises(synth.SynthError):
        synth.generate(tmp_path, persons=5, peildatum=PEIL, seed=1, encoding="latin-9")
    with pytest.raises(synth.SynthError):
        synth.generate(tmp_path, persons=5, peildatum=PEIL, seed=1, delimiter="|")


def test_planted_json_is_written_next_to_the_extracts(tmp_path: Path) -> None:
    """planted.json carries the same counts as the result, per extract."""
    import json

    r = synth.generate(tmp_path, persons=200, peildatum=PEIL, seed=4)
    meta = json.loads(r.planted_path.read_text("utf-8"))
    assert meta["format"] == synth.FORMAT
    for key, planted in r.planted.items():
        assert meta["extracts"][key]["counts"] == planted.counts
        assert json.loads(planted.to_json())["counts"] == planted.counts


# --------------------------------------------------------------------------- snapshots

END = dt.date(2026, 9, 30)
SNAPS = (dt.date(2026, 3, 31), dt.date(2026, 6, 30))


@cache
def snapshot(peildatum: dt.date, persons: int = 3000, seed: int = 21) -> tuple:
    return synth.generate_frames(
        persons=persons, peildatum=peildatum, seed=seed, population_end=END
    )


def _people(kbi: pl.DataFrame) -> dict[str, tuple[object, object]]:
    """Valid normalised INSZ -> (parsed birth date, nationality code) of a KBI extract."""
    out: dict[str, tuple[object, object]] = {}
    birth = kbi[header(kbi, "Geboortedatum")].to_list()
    nat = kbi["Oudste nationaliteit"].to_list()
    for raw, b, n in zip(kbi["Rijksregisternummer"].to_list(), birth, nat, strict=True):
        number = insz.normalise(raw)
        if number is not None:
            out[number] = (
                None if b is None else codes.parse_date(b.strip()),
                None if n is None else codes.match_code("nationaliteit", n),
            )
    return out


def test_snapshots_of_one_population_keep_everyone_with_the_same_attributes() -> None:
    """With the same seed and population_end, every person of an earlier snapshot is in
    the later one with the same birth date and nationality, and the later one is larger."""
    early, later = (_people(snapshot(p)[0]) for p in SNAPS)
    last = _people(snapshot(END)[0])
    assert len(early) < len(later) < len(last)
    assert set(early) <= set(later) <= set(last)
    for number, attributes in early.items():
        assert later[number] == attributes
    assert len(early) > 2000


def test_snapshot_at_population_end_is_the_plain_run() -> None:
    """The snapshot at population_end holds all `persons` people and equals a run without
    population_end, row for row and count for count."""
    kbi, wz, ac, planted = snapshot(END)
    plain = synth.generate_frames(persons=3000, peildatum=END, seed=21)
    assert kbi.height == 3000
    for got, want in zip((kbi, wz, ac), plain[:3], strict=True):
        assert got.equals(want)
    assert planted == plain[3]


def test_snapshot_holds_no_vdab_event_after_its_peildatum_except_planted_ones() -> None:
    """Registration, outflow and action dates after the snapshot's peildatum occur only as
    the planted 'after peildatum' errors (a few, counted exactly); the later snapshot does
    hold events between the two peildatums."""
    early, later = SNAPS
    _, wz, ac, planted = snapshot(early)
    columns = {
        ("werkzoekenden", "Datum eerste inschrijving"): "vdab_datum_eerste_inschrijving",
        ("werkzoekenden", "Datum recentste inschrijving"): "vdab_datum_recentste_inschrijving",
        ("werkzoekenden", "Datum uitstroom werk"): "datum_uitstroom_werk",
        ("acties", "Startdatum"): "startdatum",
    }
    for (key, label), column in columns.items():
        df = wz if key == "werkzoekenden" else ac
        days = [codes.parse_date(v.strip()) for v in df[label].drop_nulls().to_list()]
        late = sum(1 for d in days if d is not None and d > early)
        assert late == planted[key].checks.get(f"after_peildatum:{column}", 0), column
        assert late <= 0.01 * df.height, column
    _, wz2, _, _ = snapshot(later)
    days2 = [codes.parse_date(v.strip()) for v in wz2["Datum eerste inschrijving"].drop_nulls()]
    assert sum(1 for d in days2 if d is not None and early + dt.timedelta(30) < d <= later) > 50


@pytest.mark.parametrize("peildatum", [*SNAPS, END])
def test_snapshot_planted_counts_match_the_pure_rules(peildatum: dt.date) -> None:
    """In a snapshot too, every planted count equals what codes/insz find cell by cell."""
    proto = protocol.load()
    dfs = snapshot(peildatum)
    for df, key in zip(dfs[:3], ("kbi", "werkzoekenden", "acties"), strict=True):
        assert dict(_recount(df, proto.extracts[key])) == dfs[3][key].reader_counts(), key
        assert dfs[3][key].rows == df.height


def test_population_end_before_the_peildatum_is_refused(tmp_path: Path) -> None:
    """A population that ends before the snapshot's peildatum is a user error."""
    with pytest.raises(synth.SynthError):
        synth.generate(
            tmp_path, persons=5, peildatum=END, seed=1, population_end=dt.date(2026, 6, 30)
        )
