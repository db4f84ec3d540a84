"""A signed package is still checked: its manifest must fit the protocol and its data.

The signature proves who sent a package, not that the sender's software was right. The
tests play a faulty AgII that signs with its real key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest
from conftest import PEILDATUMS, ChainRun
from hypothesis import given
from hypothesis import strategies as st

from pijler3.analysis import dataset
from pijler3.contract.errors import UserError
from pijler3.exchange import package, transfer, workspace
from pijler3.extracts import quality
from pijler3.steps import ingest, publish

AT = dt.datetime(2026, 10, 20, tzinfo=dt.UTC)


def _fresh_abb(chain: ChainRun, tmp_path: Path) -> workspace.Workspace:
    """A researcher's workspace with the same keys but nothing ingested."""
    root = tmp_path / "abb"
    shutil.copytree(chain.spaces["abb-1"].root, root)
    shutil.rmtree(root / "store")
    shutil.rmtree(root / "archive")
    (root / "store").mkdir()
    (root / "archive").mkdir()
    (root / "audit.jsonl").unlink()
    return workspace.open_workspace(root)


def _resealed(chain: ChainRun, tmp_path: Path, *, frame=None, **changes) -> Path:  # type: ignore[no-untyped-def]
    """The published package of the second delivery, changed and signed again by AgII."""
    agii = chain.spaces["agii"]
    protocol = agii.protocol()
    m, payload = package.open_package(
        chain.published[PEILDATUMS[1]].package,
        identity=chain.spaces["abb-1"].identity(),
        sender_key=transfer.sender_key(protocol, "publish"),
        expected_step="publish",
    )
    if frame is not None:
        payload = dataset.to_parquet(frame, "monitoring")
    out = tmp_path / "faulty.p3pkg"
    package.seal(
        out,
        payload,
        dataclasses.replace(m, **changes),
        signing_key=agii.signing_key(),
        recipients=transfer.recipients_for(protocol, "publish"),
    )
    return out


def _payload(chain: ChainRun) -> pl.DataFrame:
    protocol = chain.spaces["agii"].protocol()
    _, payload = package.open_package(
        chain.published[PEILDATUMS[1]].package,
        identity=chain.spaces["abb-1"].identity(),
        sender_key=transfer.sender_key(protocol, "publish"),
        expected_step="publish",
    )
    return dataset.from_parquet(payload, "monitoring")


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"protocol_id": "another-protocol"}, "another-protocol"),
        ({"protocol_version": 7}, "v7"),
        ({"peildatum": dt.date(2019, 6, 30)}, "peildatum"),
        ({"delivery_id": "../../outside"}, "delivery id"),
        ({"row_count": 7}, "7"),
    ],
)
def test_a_manifest_that_does_not_fit_is_refused_and_nothing_is_kept(
    chain: ChainRun, tmp_path: Path, changes: dict[str, object], needle: str
) -> None:
    ws = _fresh_abb(chain, tmp_path)
    faulty = _resealed(chain, tmp_path, **changes)
    with pytest.raises(UserError, match=needle):
        ingest.ingest(ws, faulty, now=AT)
    assert list(ws.archive.iterdir()) == []
    assert not (tmp_path.parent / "outside.p3pkg").exists()


@pytest.mark.parametrize(
    ("column", "value", "needle"),
    [
        ("pseudoniem", "85073003328", "pseudonym"),
        ("regio", "Peeters Jan", "regio"),
    ],
)
def test_values_that_break_the_contract_are_refused(
    chain: ChainRun, tmp_path: Path, column: str, value: str, needle: str
) -> None:
    """A pseudonym column holding an INSZ, or a coded column holding a name: refused."""
    frame = _payload(chain).with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit(value))
        .otherwise(pl.col(column))
        .alias(column)
    )
    ws = _fresh_abb(chain, tmp_path)
    faulty = _resealed(chain, tmp_path, frame=frame)
    with pytest.raises(UserError, match=needle) as refused:
        ingest.ingest(ws, faulty, now=AT)
    assert value not in str(refused.value)
    assert list(ws.archive.iterdir()) == []


def test_rows_of_another_peildatum_than_the_manifest_are_refused(
    chain: ChainRun, tmp_path: Path
) -> None:
    """One row dated another day than the signed manifest says: refused, nothing kept
    (``transfer.check_rows``, the one place that checks it for every payload)."""
    frame = _payload(chain).with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.col("peildatum") - dt.timedelta(days=1))
        .otherwise(pl.col("peildatum"))
        .alias("peildatum")
    )
    ws = _fresh_abb(chain, tmp_path)
    faulty = _resealed(chain, tmp_path, frame=frame)
    with pytest.raises(UserError, match="peildatum differs from the manifest") as refused:
        ingest.ingest(ws, faulty, now=AT)
    assert refused.value.reason == "peildatum_mismatch"
    assert list(ws.archive.iterdir()) == []


def test_publish_refuses_a_link_package_with_an_insz_as_pseudonym(
    chain: ChainRun, tmp_path: Path
) -> None:
    """AgII's publish gate checks values: a faulty VDAB that signs INSZ numbers as
    pseudonyms is stopped before anything reaches ABB."""
    agii, vdab = chain.spaces["agii"], chain.spaces["vdab"]
    protocol = agii.protocol()
    m, payload = package.open_package(
        chain.links[PEILDATUMS[1]].package,
        identity=agii.identity(),
        sender_key=transfer.sender_key(protocol, "link"),
        expected_step="link",
    )
    frame = dataset.from_parquet(payload, "monitoring").with_columns(
        pl.format("{}", pl.int_range(pl.len()) + 85_073_003_328).alias("pseudoniem")
    )
    faulty = tmp_path / "link-faulty.p3pkg"
    package.seal(
        faulty,
        dataset.to_parquet(frame, "monitoring"),
        m,
        signing_key=vdab.signing_key(),
        recipients=transfer.recipients_for(protocol, "link"),
    )
    before = sorted(p.name for p in agii.outbox.iterdir())
    with pytest.raises(UserError, match="pseudonym") as refused:
        publish.publish(agii, faulty, now=AT)
    assert "85073003328" not in str(refused.value)
    assert sorted(p.name for p in agii.outbox.iterdir()) == before


def test_a_refused_second_package_leaves_no_archive_file(chain: ChainRun, tmp_path: Path) -> None:
    ws = _fresh_abb(chain, tmp_path)
    ingest.ingest(ws, chain.published[PEILDATUMS[1]].package, now=AT)
    archived = sorted(p.name for p in ws.archive.iterdir())
    other = _resealed(chain, tmp_path, delivery_id="20260930-00000000")
    with pytest.raises(UserError, match="allowing it to supersede"):
        ingest.ingest(ws, other, now=AT)
    assert sorted(p.name for p in ws.archive.iterdir()) == archived


def test_a_destroyed_delivery_is_not_loaded_again(chain: ChainRun, tmp_path: Path) -> None:
    from pijler3.governance import retention

    ws = _fresh_abb(chain, tmp_path)
    first = ingest.ingest(ws, chain.published[PEILDATUMS[1]].package, now=AT)
    later = dt.datetime.combine(first.expires_at, dt.time(9), tzinfo=dt.UTC)
    retention.purge(ws, now=later)
    with pytest.raises(UserError, match="destroyed"):
        ingest.ingest(ws, chain.published[PEILDATUMS[1]].package, now=AT)


def test_a_manifest_with_a_forged_sender_checkpoint_is_refused(
    chain: ChainRun, tmp_path: Path
) -> None:
    """The checkpoint a manifest carries is evidence only if the sender signed it."""
    m = package.read_manifest(chain.published[PEILDATUMS[1]].package)
    assert m.audit_checkpoint is not None
    forged = dict(m.audit_checkpoint) | {"size": int(m.audit_checkpoint["size"]) - 1}
    ws = _fresh_abb(chain, tmp_path)
    faulty = _resealed(chain, tmp_path, audit_checkpoint=forged)
    with pytest.raises(UserError, match="checkpoint"):
        ingest.ingest(ws, faulty, now=AT)
    assert list(ws.archive.iterdir()) == []


@given(st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=60))
def test_distinct_values_counted_on_hashes_first_are_counted_exactly(
    values: list[str | None],
) -> None:
    """n_distinct (hashes first, the values on a coincidence) equals Polars' exact count,
    with repeats, missing values and none at all; it decides 'pseudoniem repeats'."""
    series = pl.Series(values, dtype=pl.String)
    assert quality.n_distinct(series) == series.n_unique()
