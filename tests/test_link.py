"""The link step's pure parts: age categories, duplicates, actions (DATA.md §2-3)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pijler3.steps import link

D = dt.date


def test_age_category_uses_completed_years_and_refuses_a_birth_after_the_date() -> None:
    frame = pl.DataFrame(
        {
            "geboortedatum": [D(2005, 3, 2), D(2005, 3, 1), D(1958, 1, 1), D(2030, 1, 1), None],
            "ref": [D(2023, 3, 1)] * 4 + [D(2023, 3, 1)],
        }
    )
    got = frame.select(link.age_category_expr("geboortedatum", pl.col("ref")))[:, 0].to_list()
    assert got == ["<18", "18-24", "65+", None, None]


@pytest.mark.parametrize(
    ("birth", "on", "category"),
    [
        (D(2005, 3, 2), D(2023, 3, 1), "<18"),
        (D(2005, 3, 1), D(2023, 3, 1), "18-24"),
        (D(1998, 3, 2), D(2023, 3, 1), "18-24"),
        (D(1958, 1, 1), D(2023, 1, 1), "65+"),
        (None, D(2023, 1, 1), None),
    ],
)
def test_age_category_counts_completed_years(
    birth: dt.date | None, on: dt.date, category: str | None
) -> None:
    """The day before an 18th or 25th birthday is still the lower band (moved here from
    test_codes, which tested a copy in codes.py that nothing used)."""
    frame = pl.DataFrame(
        {"geboortedatum": [birth], "ref": [on]}, schema={"geboortedatum": pl.Date, "ref": pl.Date}
    )
    got = frame.select(link.age_category_expr("geboortedatum", pl.col("ref")))[:, 0].to_list()
    assert [category] == got


def test_duplicates_keep_the_latest_registration_then_the_later_row() -> None:
    rows = pl.DataFrame(
        {
            "insz": ["1", "1", "2", "2", "3"],
            "vdab_datum_recentste_inschrijving": [D(2023, 1, 1), D(2022, 1, 1), None, None, None],
            "_row": [2, 3, 4, 5, 6],
        }
    )
    kept, duplicates = link.dedupe_jobseekers(rows)
    assert duplicates == 2
    assert {("1", 2), ("2", 5), ("3", 6)} == set(kept.select("insz", "_row").rows())


def test_actions_count_unknown_types_but_not_empty_ones() -> None:
    acties = pl.DataFrame(
        {
            "insz": ["1", "1", "1", "2", "2"],
            "actietype": ["ORIENTATIE", None, None, "SOLLICITEREN", "CONTEXT"],
            "startdatum": [D(2023, 1, 1), D(2023, 1, 1), D(2023, 1, 1), D(2024, 1, 1), None],
        }
    )
    # One of the two empty types was an empty cell (missing), the other an unknown label.
    flags, unknown = link.actions_per_person(acties, D(2023, 6, 30), missing_type=1)
    assert unknown == 1
    by_person = {r["insz"]: r for r in flags.to_dicts()}
    assert by_person["1"]["vdab_actie_orientatie"] is True
    assert "2" not in by_person  # after the peildatum, or without a start date


def test_persons_are_told_apart_by_number_only_when_that_is_one_to_one() -> None:
    """Eleven digits join as numbers; "+1234567890" would become the number of
    "01234567890", so then the INSZ stays text and the two stay two persons."""
    digits = pl.DataFrame({"insz": ["01234567890", "85073003328", None]})
    assert pl.Int64 == digits.select(link._person_key(digits)).to_series().dtype
    clash = pl.DataFrame({"insz": ["+1234567890", "01234567890"]})
    key = link._person_key(digits, clash)
    assert pl.String == clash.select(key).to_series().dtype
    assert clash.select(key.n_unique()).item() == 2
