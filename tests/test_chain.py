"""The whole chain on synthetic extracts: what ABB receives, and what never reaches it."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from importlib import resources
from pathlib import Path

import polars as pl
import pytest
from conftest import PEILDATUMS, ChainRun, abb_copy

from pijler3.analysis import dataset
from pijler3.analysis.store import Store
from pijler3.exchange import package, pseudonym, transfer
from pijler3.extracts import readers


def abb_dataset(run: ChainRun, day: dt.date, name: str = "abb-1") -> pl.DataFrame:
    ws = run.spaces[name]
    with Store(ws.store_path, ws.protocol()) as store:
        return store.dataset(run.ingested[day].delivery_id)


def test_abb_dataset_has_exactly_the_protocol_columns_and_types(chain: ChainRun) -> None:
    """DATA.md §3: the store and the published payload hold these columns and no others."""
    protocol = chain.spaces["abb-1"].protocol()
    expected = dataset.monitoring_schema(protocol)
    for day in PEILDATUMS:
        assert abb_dataset(chain, day).schema == expected
        ws = chain.spaces["abb-2"]
        _, payload = package.open_package(
            chain.published[day].package,
            identity=ws.identity(),
            sender_key=transfer.sender_key(protocol, "publish"),
            expected_step="publish",
        )
        assert dataset.from_parquet(payload, "monitoring").schema == expected


def test_every_valid_kbi_row_reaches_abb_once(chain: ChainRun) -> None:
    """Rows with a valid INSZ are all delivered; quarantined rows are not."""
    for day in PEILDATUMS:
        ex = chain.exports[day]
        data = abb_dataset(chain, day)
        assert data.height == ex.rows_sent == ex.rows_read - sum(ex.quarantined.values())
        assert data["pseudoniem"].n_unique() == data.height
        assert data["peildatum"].unique().to_list() == [day]


def _personal_values(run: ChainRun) -> dict[str, set[str]]:
    """Every INSZ, name, address, phone, e-mail and birth date of the synthetic persons."""
    protocol = run.spaces["agii"].protocol()
    values: dict[str, set[str]] = {"words": set(), "digits": set(), "emails": set(), "dates": set()}
    for ex in run.extracts.values():
        raw = pl.read_csv(ex.kbi, separator=";", infer_schema=False, encoding="utf8-lossy")
        table = readers.read_extract(ex.kbi, protocol.extracts["kbi"]).table
        for col in ("naam", "voornaam", "straat", "gemeente"):
            for v in table[col].drop_nulls().to_list():
                values["words"].update(w.casefold() for w in re.findall(r"[^\W\d_]{5,}", v))
        for v in table["insz"].drop_nulls().to_list():
            values["digits"].add(v)
        for col in ("Rijksregisternummer", "Telefoon"):
            for v in raw[col].drop_nulls().to_list():
                digits = re.sub(r"\D", "", v)
                if len(digits) >= 9:
                    values["digits"].add(digits)
        values["emails"].update(v.casefold() for v in table["e_mail"].drop_nulls().to_list())
        for d in table["geboortedatum"].drop_nulls().to_list():
            values["dates"].update({d.isoformat(), f"{d:%d/%m/%Y}", f"{d:%d-%m-%Y}"})
    # Place names and words that are also public vocabulary (the protocol text, the
    # code lists: "Brussel", "Antwerpen", "Lange" of NIET_INZETBAAR_LANGE_TERMIJN) are
    # not evidence of a leak; every other word of a name or address is.
    data = resources.files("pijler3").joinpath("data")
    public = " ".join(
        data.joinpath(n).read_text("utf-8")
        for n in ("protocol-2023-09-20.toml", "codelists.toml", "nationaliteit.toml")
    )
    values["words"] -= {w.casefold() for w in re.findall(r"[^\W\d_]{5,}", public)}
    # A word of the letters a-f only ("abebe") also occurs by chance inside hex
    # pseudonyms and hashes, so it cannot tell a leak from a pseudonym.
    values["words"] = {w for w in values["words"] if not re.fullmatch(r"[a-f]+", w)}
    return values


def _leaks(text: str, values: dict[str, set[str]]) -> list[str]:
    found = []
    words = {w.casefold() for w in re.findall(r"[^\W\d_]{5,}", text)}
    found += [f"word x{len(words & values['words'])}"] if words & values["words"] else []
    blob = "|".join(re.findall(r"\d{9,}", re.sub(r"(?<=\d)[\s./-](?=\d)", "", text)))
    digits = [d for d in values["digits"] if d in blob]
    found += [f"digits x{len(digits)}"] if digits else []
    emails = {e.casefold() for e in re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text)}
    found += [f"email x{len(emails & values['emails'])}"] if emails & values["emails"] else []
    dates = set(re.findall(r"\d{4}-\d{2}-\d{2}|\d{2}[/-]\d{2}[/-]\d{4}", text))
    found += [f"date x{len(dates & values['dates'])}"] if dates & values["dates"] else []
    return found


def test_no_personal_value_reaches_abb(chain: ChainRun) -> None:
    """No INSZ, name, address, phone, e-mail or birth date in any byte at ABB.

    Scans every file of both researchers' workspaces, and, because DuckDB compresses
    strings, also the store's content rendered as CSV text.
    """
    values = _personal_values(chain)
    assert all(values.values()), "the scan needs values to look for"
    leaks: dict[str, list[str]] = {}
    for name in ("abb-1", "abb-2"):
        for path in sorted(chain.spaces[name].root.rglob("*")):
            if path.is_file():
                found = _leaks(path.read_bytes().decode("latin-1"), values)
                if found:
                    leaks[str(path)] = found
        for day in PEILDATUMS:
            found = _leaks(abb_dataset(chain, day, name).write_csv(), values)
            if found:
                leaks[f"{name} dataset {day}"] = found
    assert leaks == {}


def test_the_leak_scan_finds_a_planted_value(chain: ChainRun, tmp_path: Path) -> None:
    """The scan above can fail: it finds an INSZ, a name and a birth date when present."""
    values = _personal_values(chain)
    insz = sorted(values["digits"])[0]
    word = sorted(values["words"])[0]
    date = sorted(values["dates"])[0]
    assert _leaks(f"x {insz[:6]}.{insz[6:]} y", values)
    assert _leaks(f"reden: {word.title()} belde", values)
    assert _leaks(f"geboren {date}", values)
    assert _leaks("niets 2026-06-30 persoonlijks", values) == []


def _insz_to_pseudonym(run: ChainRun, day: dt.date) -> dict[str, str]:
    """The mapping VDAB applied, recomputed from its key (the test plays VDAB)."""
    vdab = run.spaces["vdab"]
    key = pseudonym.derive_key(vdab.pseudonym_master(), vdab.protocol().id)
    protocol = vdab.protocol()
    table = readers.read_extract(run.extracts[day].kbi, protocol.extracts["kbi"]).table
    insz = table["insz"].drop_nulls().to_list()
    return dict(zip(insz, pseudonym.pseudonyms(key, insz), strict=True))


def test_pseudonyms_are_the_keyed_hmac_and_stable_across_deliveries(chain: ChainRun) -> None:
    """Same person, same pseudonym in every delivery; every pseudonym is VDAB's HMAC."""
    first, second = (_insz_to_pseudonym(chain, d) for d in PEILDATUMS)
    for day, mapping in zip(PEILDATUMS, (first, second), strict=True):
        assert set(abb_dataset(chain, day)["pseudoniem"].to_list()) == set(mapping.values())
    common = set(first) & set(second)
    assert len(common) > 100, "the two deliveries must share persons for this test to mean much"
    assert all(first[i] == second[i] for i in common)
    delivered = [set(abb_dataset(chain, d)["pseudoniem"].to_list()) for d in PEILDATUMS]
    assert {first[i] for i in common} <= delivered[0] & delivered[1]


def test_pseudonyms_differ_under_another_protocol_and_are_not_plain_hashes(
    chain: ChainRun,
) -> None:
    vdab = chain.spaces["vdab"]
    mapping = _insz_to_pseudonym(chain, PEILDATUMS[0])
    other = pseudonym.derive_key(vdab.pseudonym_master(), "another-protocol")
    others = dict(zip(mapping, pseudonym.pseudonyms(other, list(mapping)), strict=True))
    assert all(others[i] != p for i, p in mapping.items())
    delivered = set(abb_dataset(chain, PEILDATUMS[0])["pseudoniem"].to_list())
    plain = {hashlib.sha256(i.encode()).hexdigest() for i in mapping}
    assert not any(p[:32] in delivered for p in plain)
    assert all(len(p) == 32 and re.fullmatch(r"[0-9a-f]{32}", p) for p in delivered)


def test_manifest_names_the_pseudonym_key_without_revealing_it(chain: ChainRun) -> None:
    vdab = chain.spaces["vdab"]
    key = pseudonym.derive_key(vdab.pseudonym_master(), vdab.protocol().id)
    m = package.read_manifest(chain.published[PEILDATUMS[0]].package)
    assert m.pseudonym_key_id == pseudonym.key_id(key)
    assert key.hex() not in m.to_json().decode()
    assert vdab.pseudonym_master().hex() not in m.to_json().decode()


def test_ingesting_the_same_package_twice_changes_nothing(chain: ChainRun, tmp_path: Path) -> None:
    from pijler3.steps import ingest

    # A copy: the ingest appends to the audit log, which never goes back in time, and
    # the tests that write reports on the shared chain do so at earlier moments.
    ws = abb_copy(chain, tmp_path / "abb")
    day = PEILDATUMS[0]
    before = [d.delivery_id for d in Store(ws.store_path, ws.protocol()).deliveries()]
    again = ingest.ingest(
        ws,
        chain.published[day].package,
        now=chain.ingested[day].expires_at and dt.datetime(2026, 10, 20, tzinfo=dt.UTC),
    )
    assert again.outcome == "unchanged"
    with Store(ws.store_path, ws.protocol()) as store:
        assert [d.delivery_id for d in store.deliveries()] == before


@pytest.mark.parametrize("name", ["abb-1", "abb-2"])
def test_both_researchers_hold_the_same_data(chain: ChainRun, name: str) -> None:
    for day in PEILDATUMS:
        assert abb_dataset(chain, day, name).equals(abb_dataset(chain, day, "abb-1"))


def test_publish_refuses_a_dataset_that_fails_the_risk_gate(tmp_path: Path) -> None:
    """Under a protocol whose gate refuses, a realistic dataset (mostly unique on the
    quasi-identifiers) is refused, the message names the driving quasi-identifiers,
    and no package is written for ABB."""
    from conftest import SETUP, protocol_text

    from pijler3 import demo
    from pijler3.analysis import risk
    from pijler3.extracts import synth
    from pijler3.steps import export, link, publish

    spaces = demo.setup(tmp_path, SETUP, protocol_text("refuse"))
    day = PEILDATUMS[0]
    at = dt.datetime(2026, 7, 7, tzinfo=dt.UTC)
    ex = synth.generate(tmp_path / "ex", persons=800, peildatum=day, seed=5)
    e = export.export(spaces["agii"], ex.kbi, peildatum=day, now=at)
    li = link.link(spaces["vdab"], e.package, ex.werkzoekenden, ex.acties, now=at)
    before = sorted(p.name for p in spaces["agii"].outbox.iterdir())
    with pytest.raises(risk.RiskGateError) as refused:
        publish.publish(spaces["agii"], li.package, now=at)
    message = str(refused.value)
    assert "datum_inburgeringscontract" in message
    assert "risk.max_sample_unique_share" in message
    assert sorted(p.name for p in spaces["agii"].outbox.iterdir()) == before
    events = [
        line
        for line in spaces["agii"].audit_path.read_text().splitlines()
        if "publish.refused" in line
    ]
    assert len(events) == 1 and "risk_gate" in events[0]


def test_a_second_package_for_a_peildatum_needs_supersede(chain: ChainRun, tmp_path: Path) -> None:
    """Refused without --supersede; with it, the old delivery's rows and package go."""
    import shutil

    from pijler3.contract.errors import UserError
    from pijler3.exchange import workspace
    from pijler3.steps import export, ingest, link, publish

    day = PEILDATUMS[0]
    # After everything the shared chain's logs hold: a log never goes back in time.
    at = dt.datetime(2026, 10, 20, tzinfo=dt.UTC)
    ex = chain.extracts[day]
    # A copy of AgII's workspace: its second export for the day supersedes the first,
    # which other tests of the shared chain still read.
    shutil.copytree(chain.spaces["agii"].root, tmp_path / "agii")
    agii = workspace.open_workspace(tmp_path / "agii")
    e = export.export(agii, ex.kbi, peildatum=day, now=at, supersede=True)
    li = link.link(chain.spaces["vdab"], e.package, ex.werkzoekenden, ex.acties, now=at)
    p = publish.publish(agii, li.package, now=at)
    shutil.copytree(chain.spaces["abb-1"].root, tmp_path / "abb")
    ws = workspace.open_workspace(tmp_path / "abb")
    old = chain.ingested[day].delivery_id
    with pytest.raises(UserError, match="allowing it to supersede"):
        ingest.ingest(ws, p.package, now=at)
    result = ingest.ingest(ws, p.package, now=at, supersede=True)
    assert result.outcome == "superseded"
    with Store(ws.store_path, ws.protocol()) as store:
        held = [d.delivery_id for d in store.deliveries()]
    assert old not in held and result.delivery_id in held
    assert not (ws.archive / f"{old}.p3pkg").exists()


def test_rare_raw_codes_are_grouped_before_they_leave(chain: ChainRun) -> None:
    """A raw code text seen fewer than 5 times never travels: it arrives as 'overige'."""
    from pijler3.extracts import quality

    m = package.read_manifest(chain.published[PEILDATUMS[1]].package)
    labels = [
        (f["label"], f["count"])
        for extract in ("kbi", "werkzoekenden", "acties")
        for f in m.quality[extract]
        if f["reason"] == quality.CODE_INVALID
    ]
    assert labels, "the synthetic extracts plant invalid codes"
    assert all(n >= quality.RARE_LABEL_COUNT or label == "overige" for label, n in labels)
    # The reader itself saw rarer labels than that, so the grouping did something.
    protocol = chain.spaces["agii"].protocol()
    read = readers.read_extract(chain.extracts[PEILDATUMS[1]].kbi, protocol.extracts["kbi"])
    assert any(
        f.reason == quality.CODE_INVALID and f.count < quality.RARE_LABEL_COUNT
        for f in read.findings
    )
