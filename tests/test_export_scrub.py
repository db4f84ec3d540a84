"""What leaves AgII: plo_reden without the person's own values, findings without data.

``export.scrub_free_text`` removes the person's own name, INSZ, birth date and street
from the free text; ``quality.for_transfer`` keeps labels that have an identifier
shape, and local paths, out of the manifest.
"""

# STYLE.md asks for `assert expected == actual`, which ruff calls a Yoda condition.
# ruff: noqa: SIM300

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from pijler3.exchange import scrub
from pijler3.extracts import quality
from pijler3.extracts.quality import Finding
from pijler3.steps import export

R = scrub.REMOVED
PERSON: dict[str, Any] = {
    "insz": "85073003328",
    "geboortedatum": dt.date(1985, 7, 3),
    "naam": "Ben Haddou",
    "voornaam": "Aïcha",
    "straat": "Kerkstraat",
    "huisnummer": "12",
    "gemeente": "Gent",
    "telefoon": "0470 12 34 56",
    "e_mail": "a@example.org",
}


def scrubbed(text: str, **person: Any) -> tuple[str, int]:
    values = {**PERSON, **person, "plo_reden": text}
    table = pl.DataFrame([values], schema_overrides={"geboortedatum": pl.Date})
    out, removed = export.scrub_free_text(table)
    return out["plo_reden"][0], removed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Aicha wil eerst Nederlands leren", f"{R} wil eerst Nederlands leren"),
        ("ben haddou belde", f"{R} belde"),
        ("geboren 03/07/1985", f"geboren {R}"),
        ("geboren 3/7/1985", f"geboren {R}"),
        ("geboren 03-07-1985", f"geboren {R}"),
        ("geboren 3-7-1985", f"geboren {R}"),
        ("geboren 1985-07-03", f"geboren {R}"),
        ("geboren 03.07.1985", f"geboren {R}"),
        ("woont Kerkstraat 12", f"woont {R}"),
        ("woont 12 Kerkstraat", f"woont {R}"),
        ("woont in de kerkstraat", f"woont in de {R}"),
        ("rr 85/07/30/033/28", f"rr {R}"),
        ("rr 85073003328", f"rr {R}"),
    ],
)
def test_own_values_are_removed_from_plo_reden(text: str, expected: str) -> None:
    """Own name (accent-blind), birth date in each spelling, street and INSZ go."""
    assert expected == scrubbed(text)[0]


def test_other_dates_and_the_municipality_stay() -> None:
    """Another date, the birth year alone, and the municipality are not removed.

    A municipality is kept on purpose: it is usually where someone wants to work, and
    alone it does not single a person out (see export._OWN_VALUES).
    """
    text = "sinds 03/07/2023 in Gent, 1985 was lang geleden"
    assert (text, 0) == scrubbed(text)


def test_removals_are_counted_once_each() -> None:
    """Every removal counts once: name, street with number, birth date."""
    assert (f"{R} van de {R} ({R})", 3) == scrubbed("Aïcha van de Kerkstraat 12 (3/7/1985)")


def test_missing_own_values_and_columns_are_no_trouble() -> None:
    """Null own values are skipped; a table with only plo_reden still scrubs shapes."""
    assert ("Aïcha belde", 0) == scrubbed("Aïcha belde", voornaam=None, geboortedatum=None)
    table = pl.DataFrame({"plo_reden": ["gsm 0470123456", None]})
    out, removed = export.scrub_free_text(table)
    assert ([f"gsm {R}", None], 1) == (out["plo_reden"].to_list(), removed)


# ---------------------------------------------------------------- findings


def labels(findings: list[Finding]) -> dict[str | None, int]:
    out = quality.for_transfer(findings)
    return {f.label: f.count for f in out if f.reason == quality.CODE_INVALID}


@pytest.mark.parametrize(
    "label",
    [
        "85.07.30-033.28",
        "85073003328",
        "jan@example.org",
        "0470 12 34 56",
        "BE68 5390 0754 7034",
        "klant 1234567",
        "iemand@thuis",
        "een hele zin die iemand in het veld regio heeft getypt",
    ],
)
def test_labels_with_an_identifier_shape_travel_as_overige(label: str) -> None:
    """Seen often or not, a label shaped like an identifier leaves only as 'overige'."""
    findings = [Finding(quality.CODE_INVALID, "regio", 50, file="/k.csv", label=label)]
    assert {quality.OTHER_LABEL: 50} == labels(findings)


def test_ordinary_frequent_labels_still_travel() -> None:
    """A frequent, code-like label is still named; rare and shaped ones are grouped."""
    findings = [
        Finding(quality.CODE_INVALID, "regio", 40, file="/k.csv", label="Antwerpen"),
        Finding(quality.CODE_INVALID, "regio", 3, file="/k.csv", label="Gentt"),
        Finding(quality.CODE_INVALID, "regio", 7, file="/k.csv", label="0470123456"),
        Finding(quality.CODE_INVALID, "regio", 5, file="/k.csv", label="Regio 2"),
    ]
    assert {"Antwerpen": 40, "Regio 2": 5, quality.OTHER_LABEL: 10} == labels(findings)


@pytest.mark.parametrize(
    "path",
    ["/home/agii/Documenten/extracten/kbi maart.csv", "C:\\Users\\agii\\kbi maart.csv"],
)
def test_findings_carry_only_the_base_name_of_the_file(path: str) -> None:
    """The sender's local folder never travels: only the file's own name does."""
    findings = [
        Finding(quality.MISSING, "plo_reden", 2, file=path),
        Finding(quality.CODE_INVALID, "regio", 9, file=path, label="Antwerpen"),
        Finding(quality.CODE_INVALID, "regio", 1, file=path, label="x"),
    ]
    assert ["kbi maart.csv"] * 3 == [f.file for f in quality.for_transfer(findings)]


# ---------------------------------------------------------------- the allow-list


def test_own_names_do_not_make_a_name_common() -> None:
    """Ten persons named Peeters each mention their own name, an eleventh mentions
    Peeters too: own values go first, so 'Peeters' is used by one person and goes.
    'belde' is used by all eleven and stays (k = 10)."""
    rows = [
        {**PERSON, "insz": f"850730033{i:02d}", "naam": "Peeters", "plo_reden": "Peeters belde"}
        for i in range(10)
    ]
    rows.append({**PERSON, "insz": "85073003399", "plo_reden": "Peeters belde"})
    table = pl.DataFrame(rows, schema_overrides={"geboortedatum": pl.Date})
    out, identifiers, words = export.clean_free_text(table, min_persons=10)
    assert ([f"{R} belde"] * 11, 10, 1) == (out["plo_reden"].to_list(), identifiers, words)
