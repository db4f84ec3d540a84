"""Step 2 (VDAB): link AgII's export with VDAB's extracts on the INSZ, pseudonymise.

Duplicates in ``vdab_werkzoekenden`` are resolved as DATA.md §2 says (the whole row
with the latest ``Datum recentste inschrijving`` wins; on a tie the later row). Actions
become four booleans. The INSZ is replaced by the keyed pseudonym and the INSZ and the
birth date are dropped. Only VDAB's workspace holds the pseudonymisation key.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl

from pijler3.analysis import dataset
from pijler3.contract.codes import AGE_BANDS
from pijler3.exchange import pseudonym, transfer
from pijler3.exchange.package import Manifest
from pijler3.exchange.workspace import Workspace
from pijler3.extracts import quality, readers
from pijler3.steps.receive import receive

STEP = "link"
ACTION_COLUMNS = {
    "ORIENTATIE": "vdab_actie_orientatie",
    "CONTEXT": "vdab_actie_context",
    "COMPETENTIEVERSTERKING": "vdab_actie_competentieversterking",
    "SOLLICITEREN": "vdab_actie_solliciteren",
}


@dataclass(frozen=True)
class LinkResult:
    package: Path
    delivery_id: str
    persons: int
    matched: int
    duplicates: int
    report: dict[str, Any]


def age_category_expr(birth: str, on: pl.Expr) -> pl.Expr:
    """``leeftijdscategorie``: age in completed years on the reference date."""
    b = pl.col(birth)
    age = (
        on.dt.year()
        - b.dt.year()
        - (
            (on.dt.month() < b.dt.month())
            | ((on.dt.month() == b.dt.month()) & (on.dt.day() < b.dt.day()))
        ).cast(pl.Int32)
    )
    # A birth date after the reference date is a data error: no category, not "<18".
    expr: Any = pl.when(b.is_null() | on.is_null() | (age < 0)).then(None)
    for upper, label in AGE_BANDS:
        expr = expr.when(age < upper).then(pl.lit(label))
    result: pl.Expr = expr.otherwise(pl.lit("65+"))
    return result


def dedupe_jobseekers(table: pl.DataFrame, key: str = "insz") -> tuple[pl.DataFrame, int]:
    """One row per INSZ: the latest recentste inschrijving wins, ties to the later row.

    ``key`` names the column that tells persons apart (see :func:`_person_key`). Only
    the persons with several rows need a choice; the rows that lose it are dropped and
    the others keep their order.
    """
    valid = table.filter(pl.col(key).is_not_null())
    date = "vdab_datum_recentste_inschrijving"
    losers = (
        valid.lazy()
        .select(key, date, "_row")
        .with_row_index("_i")
        .filter(pl.col(key).is_duplicated())
        .sort([key, date, "_row"], nulls_last=False)
        .filter(~pl.col(key).is_last_distinct())
        .select("_i")
        .collect()
    )
    if losers.height == 0:
        return valid, 0
    kept = (
        valid.lazy()
        .with_row_index("_i")
        .filter(~pl.col("_i").is_in(losers["_i"].implode()))
        .drop("_i")
        .collect()
    )
    return kept, valid.height - kept.height


def actions_per_person(
    acties: pl.DataFrame, peildatum: dt.date, missing_type: int = 0, key: str = "insz"
) -> tuple[pl.DataFrame, int]:
    """The four action booleans per INSZ; rows of unknown type are ignored and counted.

    ``missing_type`` is the number of rows whose type cell was empty (the reader counts
    those as missing); they are not "of unknown type" and are not counted here again.
    ``key`` names the column that tells persons apart (see :func:`_person_key`).
    """
    unknown = acties.select(pl.col("actietype").is_null().sum()).item() - missing_type
    flags = (
        acties.lazy()
        .filter(
            pl.col(key).is_not_null()
            & pl.col("actietype").is_not_null()
            & pl.col("startdatum").is_not_null()
            & (pl.col("startdatum") <= peildatum)
        )
        .group_by(key)
        .agg(
            [(pl.col("actietype") == code).any().alias(col) for code, col in ACTION_COLUMNS.items()]
        )
        .collect()
    )
    return flags, unknown


def _person_key(*frames: pl.DataFrame) -> pl.Expr:
    """What tells persons apart in joins and groups: the INSZ as a number when every INSZ
    of ``frames`` is eleven digits (the readers normalise them so), else the INSZ itself.

    Numbers join and group several times faster than text. Eleven digits without a sign
    (Polars reads ``+1234567890`` as a number too) make a number of only one INSZ.
    """
    insz = pl.col("insz")
    number = insz.cast(pl.Int64, strict=False)
    odd = insz.is_not_null() & (
        number.is_null() | (insz.str.len_bytes() != 11) | insz.str.starts_with("+")
    )
    if any(f.lazy().select(odd.any()).collect().item() for f in frames):
        return insz
    return number


def link(
    ws: Workspace,
    export_package: Path,
    werkzoekenden: Path,
    acties: Path,
    *,
    now: dt.datetime,
    progress: transfer.Progress = transfer.quiet,
) -> LinkResult:
    """Link AgII's export with VDAB's extracts and seal the result for AgII; a refusal is
    recorded in the audit log with its reason code."""
    with transfer.refusals(ws, "link", now, file=export_package.name):
        return _link(ws, export_package, werkzoekenden, acties, now=now, progress=progress)


def _link(
    ws: Workspace,
    export_package: Path,
    werkzoekenden: Path,
    acties: Path,
    *,
    now: dt.datetime,
    progress: transfer.Progress = transfer.quiet,
) -> LinkResult:
    protocol = ws.protocol()
    got = receive(
        ws, protocol, export_package, sent_by="export", sends_on=STEP, now=now, progress=progress
    )
    manifest, kbi, peildatum = got.manifest, got.frame, got.peildatum
    log = ws.audit()
    key = pseudonym.derive_key(ws.pseudonym_master(), protocol.id)
    # The pseudonyms (a Python loop over C's SHA-256, holding the interpreter) are
    # computed while Polars reads VDAB's extracts (which lets it go): each takes a core.
    # A refusal meanwhile is not held up by them (only the process's exit waits).
    pool = ThreadPoolExecutor(1)
    pseudonyms = pool.submit(
        pseudonym.pseudonym_series, key, kbi["insz"], bits=protocol.pseudonym_bits
    )
    pool.shutdown(wait=False)

    progress(f"reading {werkzoekenden.name} and {acties.name}")
    wz = readers.read_extract(
        werkzoekenden, protocol.extracts["werkzoekenden"], limits=protocol.limits, today=now.date()
    )
    ac = readers.read_extract(
        acties, protocol.extracts["acties"], limits=protocol.limits, today=now.date()
    )
    vdab_cols = [
        f.name
        for f in protocol.fields
        if f.source == "VDAB" and f.name not in ACTION_COLUMNS.values()
    ]
    person = _person_key(kbi, wz.table, ac.table).alias("_person")
    # Only the columns that are used go through the deduplication (the INSZ as text not).
    used = dict.fromkeys(["vdab_datum_recentste_inschrijving", "_row", *vdab_cols])
    jobseekers, duplicates = dedupe_jobseekers(
        wz.table.lazy().select(person, *used).collect(), key="_person"
    )
    missing_type = sum(
        f.count for f in ac.findings if f.reason == quality.MISSING and f.column == "actietype"
    )
    flags, unknown_actions = actions_per_person(
        ac.table.with_columns(person), peildatum, missing_type, key="_person"
    )

    progress("linking on the INSZ and pseudonymising")
    reference = pl.coalesce(
        pl.col("datum_inburgeringscontract"), pl.col("datum_aanmelding"), pl.lit(peildatum)
    )
    # Each KBI row meets at most one jobseeker and one row of flags (both deduplicated):
    # the joins carry only the key and VDAB's columns, put back in the order of the KBI
    # rows (sorting on the row number is cheaper than joins that keep the order), and
    # then stand beside the KBI's columns as they are.
    vdab = (
        kbi.lazy()
        .select(person)
        .with_row_index("_i")
        .join(
            jobseekers.lazy().select("_person", *vdab_cols, pl.lit(True).alias("_matched")),
            on="_person",
            how="left",
        )
        .join(flags.lazy(), on="_person", how="left")
        .sort("_i")
        .select(
            *vdab_cols,
            pl.col("_matched").fill_null(False),
            *[pl.col(c).fill_null(False) for c in ACTION_COLUMNS.values()],
        )
        .collect()
    )
    matched = int(vdab["_matched"].sum())
    age = age_category_expr("geboortedatum", reference)
    schema = dataset.monitoring_schema(protocol)
    linked = (
        pl.concat([kbi, vdab], how="horizontal")
        .lazy()
        .with_columns(
            pseudonyms.result(),
            pl.lit(peildatum).alias("peildatum"),
            age.alias("leeftijdscategorie"),
        )
        .collect()
    )
    out = linked.lazy().select([pl.col(n).cast(t) for n, t in schema.items()]).collect()
    dataset.check_schema(out, schema, "linked dataset")

    linkage = quality.Linkage(
        persons=kbi.height,
        matched=matched,
        match_rate=matched / kbi.height if kbi.height else 0.0,
        duplicates_resolved=duplicates,
        actions_unknown_type=unknown_actions,
        werkzoekenden_rows=wz.table.height,
        acties_rows=ac.table.height,
        acties_after_peildatum=int((ac.table["startdatum"] > peildatum).fill_null(False).sum()),
        geboortedatum_after_reference=int(
            linked.lazy()
            .select(
                (
                    pl.col("geboortedatum").is_not_null() & pl.col("leeftijdscategorie").is_null()
                ).sum()
            )
            .collect()
            .item()
        ),
    )
    report = linkage.to_dict()
    q = replace(
        quality.Quality.from_manifest(manifest.quality),
        werkzoekenden=quality.for_transfer(
            [*wz.findings, quality.Finding(quality.DUPLICATE_INSZ, "insz", duplicates)]
        ),
        acties=quality.for_transfer(
            [
                *ac.findings,
                quality.Finding(quality.ACTION_UNKNOWN_TYPE, "actietype", unknown_actions),
            ]
        ),
        linkage=linkage,
    )

    def record(path: Path, sealed: Manifest) -> None:
        log.append(
            "link.sealed",
            {
                "delivery_id": manifest.delivery_id,
                "from_package": export_package.name,
                "from_payload_sha256": manifest.payload_sha256,
                "package": path.name,
                "payload_sha256": sealed.payload_sha256,
                **{k: v for k, v in report.items()},
            },
            now=now,
        )

    out_path, _ = transfer.seal_delivery(
        ws,
        protocol,
        STEP,
        dataset.to_parquet(out, "monitoring"),
        peildatum=peildatum,
        delivery_id=manifest.delivery_id,
        now=now,
        row_count=out.height,
        schema_hash=dataset.schema_hash(schema),
        quality=q.to_manifest(),
        pseudonym_key_id=pseudonym.key_id(key),
        extra={"linkage": report, "sender_checkpoint": manifest.audit_checkpoint},
        progress=progress,
        record=record,
    )
    return LinkResult(out_path, manifest.delivery_id, kbi.height, matched, duplicates, report)
