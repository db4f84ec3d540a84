"""Step 1 (AgII): read the KBI extract, keep what may leave, seal it for VDAB.

Rows without a valid INSZ cannot be linked and never leave AgII: they go to a local
quarantine file by row number and reason only. Direct identifiers are dropped, and
``plo_reden`` is cleaned in two lines (see :mod:`pijler3.exchange.scrub`): anything
shaped like an INSZ, e-mail, phone number or IBAN and the person's own name, INSZ,
birth date, street, phone and e-mail are removed; then every word that fewer than
``free_text.min_persons`` persons of the delivery use, or that holds a digit, is removed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pijler3.analysis import dataset
from pijler3.contract.errors import ExtractError, UserError
from pijler3.exchange import peoplecsv, scrub, scrub_columns, transfer
from pijler3.exchange.atomic import write_atomic
from pijler3.exchange.package import Manifest
from pijler3.exchange.workspace import Workspace
from pijler3.extracts import quality, readers
from pijler3.governance import termination

STEP = "export"
# The person's own values removed from ``plo_reden``, in the order they are tried (a
# street with its house number before the street alone). The municipality and the postal
# code are deliberately *not* removed: "Gent" or "Antwerpen" in a counsellor's reason is
# usually where someone wants to work or move, the region is a column of the dataset
# anyway, and a municipality alone does not single a person out; a street does.
_OWN_VALUES = ("naam", "voornaam", "telefoon", "e_mail", "insz", "straat")
# The spellings of the birth date: DATA.md's date formats, plus the dotted form people
# type in free text.
_DATE_SPELLINGS = ("%d/%m/%Y", "%-d/%-m/%Y", "%d-%m-%Y", "%-d-%-m-%Y", "%Y-%m-%d", "%d.%m.%Y")


@dataclass(frozen=True)
class ExportResult:
    package: Path
    quarantine: Path
    delivery_id: str
    rows_read: int
    rows_sent: int
    quarantined: Counter[str]
    identifiers_removed: int
    # Words of plo_reden removed by the allow-list (rare, or holding a digit).
    words_removed: int = 0


def _own_values(table: pl.DataFrame) -> list[tuple[pl.Expr, bool]]:
    """Per row, the person's own values to remove from ``plo_reden``, longest first, each
    with whether it holds digits.

    Values with digits are only offered when the text holds a digit (the birth date
    only when it holds the year): :func:`scrub_free_text` computes them for those rows
    alone, so that most rows skip that work.
    """
    cols = set(table.columns)
    c = pl.col
    text = c("plo_reden")
    values: list[tuple[pl.Expr, bool]] = []
    if "straat" in cols and "huisnummer" in cols:
        street = c("straat").str.strip_chars()
        number = c("huisnummer").str.strip_chars()
        values += [
            (pl.concat_str(street, number, separator=" "), True),
            (pl.concat_str(number, street, separator=" "), True),
        ]
    values += [(c(name), False) for name in _OWN_VALUES if name in cols and name != "insz"]
    if "insz" in cols:
        # The normalised INSZ is in the table; its usual written form is added too.
        i = c("insz")
        formatted = pl.concat_str(
            i.str.slice(0, 2), pl.lit("."), i.str.slice(2, 2), pl.lit("."), i.str.slice(4, 2),
            pl.lit("-"), i.str.slice(6, 3), pl.lit("."), i.str.slice(9, 2),
        )  # fmt: skip
        values += [(i, True), (formatted, True)]
    if "geboortedatum" in cols and table.schema["geboortedatum"] == pl.Date:
        birth = c("geboortedatum")
        has_year = text.str.contains(birth.dt.year().cast(pl.String), literal=True)
        values += [
            (pl.when(has_year).then(birth.dt.strftime(f)).otherwise(None), True)
            for f in _DATE_SPELLINGS
        ]
    return values


def _kept(columns: list[pl.Series], keep: pl.Series) -> pl.DataFrame:
    """The rows of a table's ``columns`` where ``keep``, a column at a time, each column
    let go once filtered (when nothing else holds it): the table of 12 million persons
    is not held twice."""
    for k in range(len(columns)):
        columns[k] = columns[k].filter(keep)
    return pl.DataFrame(columns)


def _refuse_duplicates(good: pl.DataFrame, kbi: Path) -> None:
    """Refuse an extract that holds one person twice, naming the rows, never the INSZ.

    Link would carry both rows and publish would stop at the repeated pseudonym, where
    no row number is known any more; the KBI administrators can only mend it here.
    """
    # An INSZ is eleven digits: as numbers they are told apart far faster. Should some
    # not be (or two become one), the exact count below decides.
    numbers = good.select(pl.col("insz").cast(pl.Int64, strict=False).n_unique()).item()
    if numbers == good.height:
        return
    groups = (
        good.group_by("insz")
        .agg(pl.col("_row").sort())
        .filter(pl.col("_row").list.len() > 1)
        .sort(pl.col("_row").list.first())
    )
    if groups.height == 0:
        return
    shown = "; ".join(
        "rows " + ", ".join(str(r) for r in rows) for rows in groups["_row"].head(5).to_list()
    )
    more = f" (and {groups.height - 5} more)" if groups.height > 5 else ""
    raise ExtractError(
        f"{kbi}: {groups.height} person(s) appear more than once (the same INSZ): {shown}{more};"
        " nothing was exported.",
        hint="Keep one row per person in the KBI extract and export it again.",
        reason="duplicate_persons",
    )


def scrub_free_text(table: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Scrub ``plo_reden`` with each person's own values; count removals.

    Own values: name, first name, phone, e-mail, INSZ (normalised and written with dots
    and a dash), birth date (in the spellings of ``_DATE_SPELLINGS``) and street (with
    and without house number), each when the table has the column. The column is
    scrubbed at once (:func:`pijler3.exchange.scrub_columns.scrub_column`).
    """
    texts = table["plo_reden"]
    present = texts.is_not_null()
    values = _own_values(table)
    names = [f"own{k}" for k in range(len(values))]
    # Own values only for the rows that have a text (a third in a typical extract), and
    # those with digits only for the rows whose text holds one (a few in a hundred).
    rows = table.lazy().filter(present)
    digit = pl.col("plo_reden").str.contains(r"\d")
    plain = rows.select(
        digit.alias("_digit"),
        *[e.alias(n) for n, (e, d) in zip(names, values, strict=True) if not d],
    ).collect()
    gated = rows.filter(digit).select(
        [e.alias(n) for n, (e, d) in zip(names, values, strict=True) if d]
    )
    where = plain["_digit"].arg_true()
    with_digits = gated.collect()
    own = pl.DataFrame(
        [
            with_digits[n].clear(plain.height).scatter(where, with_digits[n]) if d else plain[n]
            for n, (_, d) in zip(names, values, strict=True)
        ]
    )
    cleaned, removed = scrub_columns.scrub_column(texts.filter(present), own)
    return table.with_columns(texts.clone().scatter(present.arg_true(), cleaned)), removed


def clean_free_text(table: pl.DataFrame, min_persons: int) -> tuple[pl.DataFrame, int, int]:
    """Both lines of defence on ``plo_reden``: identifiers removed, then rare words.

    Returns the table, the number of identifiers removed (shapes and own values) and the
    number of words removed by the allow-list. The allow-list counts words after the
    first line, so that a person's own name, removed from their own text, does not make
    the name common; persons are told apart by their INSZ.
    """
    table, identifiers = scrub_free_text(table)
    table, words = scrub.keep_common_words(
        table, person="insz", text="plo_reden", min_persons=min_persons
    )
    return table, identifiers, words


def export(
    ws: Workspace,
    kbi: Path,
    *,
    peildatum: dt.date,
    now: dt.datetime,
    delivery_id: str | None = None,
    supersede: bool = False,
    progress: transfer.Progress = transfer.quiet,
) -> ExportResult:
    """Read the KBI extract and seal what may leave for VDAB; a refusal is recorded in the
    audit log with its reason code.

    One export per peildatum: a second one is refused unless ``supersede`` says it
    replaces the first, whose package then leaves the outbox (recorded), so that VDAB
    is never handed two deliveries for one day.
    """
    with transfer.refusals(ws, "export", now, file=kbi.name):
        return _export(
            ws,
            kbi,
            peildatum=peildatum,
            now=now,
            delivery_id=delivery_id,
            supersede=supersede,
            progress=progress,
        )


def _export(
    ws: Workspace,
    kbi: Path,
    *,
    peildatum: dt.date,
    now: dt.datetime,
    delivery_id: str | None = None,
    supersede: bool = False,
    progress: transfer.Progress = transfer.quiet,
) -> ExportResult:
    protocol = ws.protocol()
    termination.check_in_force(ws, protocol, now.date())
    # Fail before any work when the protocol file lacks the recipients' keys.
    transfer.recipients_for(protocol, STEP)
    delivery_id = delivery_id or transfer.new_delivery_id(peildatum)
    progress(f"reading {kbi.name}")
    read = readers.read_extract(
        kbi, protocol.extracts["kbi"], limits=protocol.limits, today=now.date()
    )
    findings, identifiers, rows_read = read.findings, read.identifier_columns, read.table.height
    good = read.table
    del read

    bad = good.lazy().filter(pl.col("insz").is_null()).select("_row", "insz_problem").collect()
    reasons = Counter(bad["insz_problem"].to_list())
    # AgII's staff open the quarantine file in a spreadsheet: written as a CSV for people.
    quarantine_csv = peoplecsv.render(("rij", "reden"), bad.select("_row", "insz_problem").rows())
    if bad.height:
        keep = good["insz"].is_not_null()
        columns = good.get_columns()
        del good
        good = _kept(columns, keep)
    _refuse_duplicates(good, kbi)
    progress("removing identifiers from free text")
    good, removed, words_removed = clean_free_text(good, protocol.free_text.min_persons)
    schema = dataset.export_schema(protocol)
    # Lazily: an eager select would first align the chunks of the cleaned column and the rest.
    out = good.lazy().select(list(schema.names())).collect()
    dataset.check_schema(out, schema, f"{kbi}")
    payload = dataset.to_parquet(out, "export")

    dropped = [
        quality.Finding(quality.DIRECT_IDENTIFIER_DROPPED, c, rows_read) for c in identifiers
    ]
    q = quality.Quality(
        kbi=(*quality.for_transfer(findings), *dropped),
        quarantined=dict(reasons),
        identifiers_removed=removed,
        words_removed=words_removed,
        rows_read=rows_read,
    )
    earlier = sorted(ws.outbox.glob(f"{STEP}-{peildatum:%Y%m%d}-*.p3pkg"))
    if earlier and not supersede:
        raise UserError(
            f"a package for peildatum {peildatum:%d/%m/%Y} was exported already"
            f" ({earlier[0].name}); nothing was sealed.",
            hint="If this export replaces it, export again allowing it to supersede the one"
            " in the outbox.",
            param="supersede",
            reason="peildatum_exported",
        )
    log = ws.audit()
    quarantine_path = ws.quarantine / f"{delivery_id}.csv"
    write_atomic(quarantine_path, quarantine_csv, mode=0o600)

    def record(path: Path, sealed: Manifest) -> None:
        log.append(
            "export.sealed",
            {
                "delivery_id": delivery_id,
                "peildatum": peildatum.isoformat(),
                "package": path.name,
                "payload_sha256": sealed.payload_sha256,
                "rows_read": rows_read,
                "rows_sent": out.height,
                "quarantined": sum(reasons.values()),
                "identifiers_removed": removed,
                "words_removed": words_removed,
            },
            now=now,
        )

    out_path, _ = transfer.seal_delivery(
        ws,
        protocol,
        STEP,
        payload,
        peildatum=peildatum,
        delivery_id=delivery_id,
        now=now,
        row_count=out.height,
        schema_hash=dataset.schema_hash(schema),
        quality=q.to_manifest(),
        progress=progress,
        record=record,
    )
    for old in earlier:
        old.unlink()
        log.append(
            "export.superseded",
            {"package": old.name, "by": out_path.name, "peildatum": peildatum.isoformat()},
            now=now,
        )
    return ExportResult(
        out_path,
        quarantine_path,
        delivery_id,
        rows_read,
        out.height,
        reasons,
        removed,
        words_removed,
    )
