"""The typed hand-offs between steps: manifest dates, the quality summary and the risk
summary each serialise to the manifest's JSON and back to an equal value."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from test_risk import HAND, HAND_QIS, rules

from pijler3.analysis import risk
from pijler3.exchange.package import Manifest
from pijler3.extracts import quality
from pijler3.extracts.quality import Finding, Linkage, Quality

FULL = Quality(
    kbi=(
        Finding(quality.MISSING, "regio", 12, file="kbi.csv"),
        Finding(quality.CODE_INVALID, "regio", 7, file="kbi.csv", label="Antwerpn"),
        Finding(quality.DATE_INVALID, "datum_aanmelding", 1, file="kbi.csv", row=17),
    ),
    quarantined={"insz_checksum": 3, "insz_missing": 2},
    identifiers_removed=4,
    rows_read=1000,
    werkzoekenden=(Finding(quality.DUPLICATE_INSZ, "insz", 5),),
    acties=(Finding(quality.ACTION_UNKNOWN_TYPE, "actietype", 2),),
    linkage=Linkage(
        persons=995,
        matched=800,
        match_rate=800 / 995,
        duplicates_resolved=5,
        actions_unknown_type=2,
        werkzoekenden_rows=900,
        acties_rows=2000,
        acties_after_peildatum=1,
        geboortedatum_after_reference=0,
    ),
    consistency={"leeftijd_onder_18": 3, "duplicate_pseudonyms": 0},
    missing={"regio": 12, "geslacht": 0},
)


def through_json(value: object) -> object:
    """What the receiving step reads: the value written as JSON and parsed again."""
    return json.loads(json.dumps(value))


@pytest.mark.parametrize(
    "q",
    [
        Quality(),
        Quality(kbi=FULL.kbi, quarantined=FULL.quarantined, identifiers_removed=4, rows_read=9),
        FULL,
    ],
    ids=["empty", "after export", "after publish"],
)
def test_quality_round_trips_through_the_manifest(q: Quality) -> None:
    assert Quality.from_manifest(through_json(q.to_manifest())) == q  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "broken",
    [
        {"kbi": "not a list"},
        {"kbi": [{"reason": "missing", "column": "regio", "count": True}]},
        {"kbi": [{"reason": "missing", "count": 1, "value": "67052660359"}]},
        {"quarantined": {"insz_checksum": "3"}},
        {"linkage": {"match_rate": "high"}},
        {"surprise": 1},
    ],
)
def test_a_malformed_quality_summary_is_refused(broken: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Quality.from_manifest(broken)


def test_the_risk_summary_round_trips_through_the_manifest() -> None:
    report = risk.measure(HAND, rules("month", k_report=3), HAND_QIS, ["plo", "leefloon"])
    gate = risk.RiskGate(report, ("one warning",), "warn")
    again = risk.RiskGate.from_manifest(through_json(gate.to_manifest()))
    assert again == gate


def test_manifest_dates_are_dates_and_round_trip() -> None:
    m = Manifest(
        protocol_id="p",
        protocol_version=1,
        step="export",
        sender="agii",
        peildatum=dt.date(2026, 9, 30),
        delivery_id="20260930-0011aabb",
        created=dt.datetime(2026, 10, 7, 9, 30, tzinfo=dt.UTC),
        row_count=3,
        schema_hash="h",
        quality=FULL.to_manifest(),
    )
    again = Manifest.from_json(m.to_json())
    assert again == m
    assert isinstance(again.peildatum, dt.date) and again.peildatum == dt.date(2026, 9, 30)
    assert again.created == dt.datetime(2026, 10, 7, 9, 30, tzinfo=dt.UTC)
    assert json.loads(m.to_json())["peildatum"] == "2026-09-30"


def test_a_manifest_time_without_a_zone_is_refused() -> None:
    m = Manifest(
        protocol_id="p",
        protocol_version=1,
        step="export",
        sender="agii",
        peildatum=dt.date(2026, 9, 30),
        delivery_id="20260930-0011aabb",
        created=dt.datetime(2026, 10, 7, 9, 30, tzinfo=dt.UTC),
        row_count=3,
        schema_hash="h",
    )
    raw = json.loads(m.to_json())
    raw["created"] = "2026-10-07T09:30:00"
    with pytest.raises(ValueError):
        Manifest.from_json(json.dumps(raw).encode())
