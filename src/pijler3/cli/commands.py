"""The command line: parses, calls one library function, prints.

A :class:`~pijler3.contract.errors.UserError` becomes a one-line ``Error: …`` on stderr and
exit code 1, never a traceback. Every command that acts takes ``--now`` so that time is
injectable; by default it is the clock.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from pijler3 import __version__
from pijler3.cli.demo import demo as demo_command
from pijler3.cli.governance import register as register_governance
from pijler3.cli.options import (
    DIR,
    FILE,
    CliState,
    Group,
    day,
    moment,
    now_option,
    open_ws,
    protocol_override,
    ws_option,
)
from pijler3.contract import protocol as protocol_mod
from pijler3.contract.errors import UserError


def _progress(message: str) -> None:
    """Progress on long work, on stderr, only for a person at a terminal."""
    if sys.stderr.isatty():
        click.echo(f"  … {message}", err=True)


@click.group(cls=Group)
@click.version_option(__version__, prog_name="pijler3")
@click.option(
    "--protocol",
    "protocol_path",
    type=FILE,
    default=None,
    help="Work under this protocol file instead of each workspace's protocol.toml.",
)
@click.pass_context
def cli(ctx: click.Context, protocol_path: Path | None) -> None:
    """pijler3: the AgII-ABB protocol for monitoring the third pillar of inburgering."""
    if protocol_path is not None:
        protocol_mod.load(protocol_path)  # a bad file fails here, before any command
    ctx.obj = CliState(protocol_path)


# -- keys and workspaces ------------------------------------------------------------------


@cli.command()
@click.argument("role", type=click.Choice(["agii", "vdab", "abb"]))
@click.option("--dir", "root", type=DIR, required=True, help="Where to create the workspace.")
@click.option("--name", default="", help="ABB: the researcher this workspace belongs to.")
@now_option
def init(role: str, root: Path, name: str, now: str | None) -> None:
    """Create a party's workspace with fresh keys (owner-only files), under the shipped
    protocol of 20/09/2023 or the file given with 'pijler3 --protocol FILE'."""
    from pijler3.exchange import workspace

    ws = workspace.init(role, root, name=name, protocol_path=protocol_override(), now=moment(now))
    pub = ws.public()
    click.echo(f"Created the {role} workspace {root}")
    click.echo(f"  age recipient:  {pub.age_recipient}")
    click.echo(f"  signing key:    {pub.signing_key}")
    click.echo("Register these public keys in the protocol file every party uses:")
    click.echo(f"  pijler3 protocol add-keys PROTOCOL.toml --from {root}")


# -- the protocol file ---------------------------------------------------------------------


@cli.group()
def protocol() -> None:
    """Check protocol files and register keys in them."""


@protocol.command("check")
@click.argument("file", type=FILE)
def protocol_check(file: Path) -> None:
    """Validate a protocol file and summarise it."""
    p = protocol_mod.load(file)
    click.echo(f"{file}: valid protocol {p.identifier}")
    click.echo(f"  signed {p.signed:%d/%m/%Y}, term ends {p.term_end:%d/%m/%Y}")
    click.echo(f"  {len(p.fields)} fields, retention {p.retention_years} years")
    # ABB holds no party key: its researchers do, as the protocol's named recipients.
    keys = [
        f"{x.short}: {'yes' if x.signing_key else 'no'}"
        for role, x in p.parties.items()
        if role != "abb"
    ]
    click.echo(f"  party keys registered: {', '.join(keys)}")
    click.echo(f"  ABB's researchers with keys: {len(p.recipients)} of at most {p.recipients_max}")
    for warning in _missing_keys(p):
        click.echo(f"Warning: {warning}", err=True)
    if p.signed_text:
        from pijler3.contract import signed_text

        click.echo(f"  signed text: {signed_text.read(p).name}, SHA-256 as pinned")
    else:
        click.echo("  signed text: none named, so it cannot be published (art. 10)")


@protocol.command("add-keys")
@click.argument("file", type=FILE)
@click.option(
    "--from",
    "sources",
    type=DIR,
    multiple=True,
    required=True,
    help="A workspace whose public keys to register (repeatable).",
)
def protocol_add_keys(file: Path, sources: tuple[Path, ...]) -> None:
    """Write workspaces' public keys into a protocol file (parties and recipients)."""
    from pijler3.exchange import workspace

    for src in sources:
        ws = open_ws(src)
        workspace.register_keys(file, ws.public())
        who = f"recipient {ws.name}" if ws.role == "abb" else ws.role
        click.echo(f"Registered the keys of {who} in {file}")


def _missing_keys(p: protocol_mod.Protocol) -> list[str]:
    """What a protocol file still lacks before the chain can run: keys to register."""
    out = [
        f"no keys registered for {x.short}: run 'pijler3 protocol add-keys FILE --from WS'"
        " with its workspace"
        for role, x in p.parties.items()
        if role != "abb" and not (x.signing_key and x.age_recipient)
    ]
    if not p.recipients:
        out.append(
            "no researcher of ABB has keys registered: run 'pijler3 protocol add-keys FILE"
            " --from WS' with each researcher's workspace"
        )
    return out


@protocol.command("install")
@click.argument("file", type=FILE)
@click.option(
    "--ws",
    "ws_paths",
    type=DIR,
    multiple=True,
    required=True,
    help="A workspace to install FILE in (repeatable).",
)
def protocol_install(file: Path, ws_paths: tuple[Path, ...]) -> None:
    """Make FILE the protocol of the given workspaces (after all keys are registered).

    The signed text FILE names is copied along, from beside FILE.
    """
    from pijler3.exchange import workspace

    for p in ws_paths:
        proto = workspace.install_protocol(open_ws(p), file, now=moment(None))
        click.echo(f"Installed {file} in {p}")
    for warning in _missing_keys(proto):
        click.echo(f"Warning: {warning}; then install it again.", err=True)


# -- synthetic data ------------------------------------------------------------------------


@cli.command()
@click.option(
    "--persons",
    type=click.IntRange(min=1),
    default=20_000,
    show_default=True,
    help="How many persons the KBI extract holds.",
)
@click.option(
    "--peildatum",
    required=True,
    metavar="YYYY-MM-DD",
    help="The reference date of the extracts: nothing after it is written.",
)
@click.option(
    "--seed", type=int, default=1, show_default=True, help="The same seed gives the same files."
)
@click.option("-o", "--out", "out", type=DIR, required=True, help="Folder to write the files to.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "xlsx"]),
    default="csv",
    show_default=True,
    help="CSV as the source systems export it, or an XLSX workbook.",
)
@click.option(
    "--encoding",
    type=click.Choice(["utf-8", "cp1252"]),
    default="utf-8",
    show_default=True,
    help="The CSV's character encoding (cp1252 is Windows' Western European).",
)
@click.option(
    "--delimiter",
    type=click.Choice([";", ","]),
    default=";",
    show_default=True,
    help="The CSV's field separator.",
)
def synth(
    persons: int, peildatum: str, seed: int, out: Path, fmt: str, encoding: str, delimiter: str
) -> None:
    """Write synthetic KBI and VDAB extracts, messy as the real ones."""
    from pijler3.extracts import synth as synth_mod

    result = synth_mod.generate(
        out,
        persons=persons,
        peildatum=day(peildatum, "--peildatum"),
        seed=seed,
        fmt=fmt,  # type: ignore[arg-type]
        encoding=encoding,
        delimiter=delimiter,
    )
    for p in (result.kbi, result.werkzoekenden, result.acties):
        click.echo(str(p))


# -- the chain -----------------------------------------------------------------------------


@cli.command()
@ws_option
@click.option("--kbi", type=FILE, required=True, help="The KBI extract (CSV or XLSX).")
@click.option(
    "--peildatum", required=True, metavar="YYYY-MM-DD", help="The extract's reference date."
)
@click.option(
    "--supersede", is_flag=True, help="Replace the package already exported for that peildatum."
)
@now_option
def export(ws_path: Path, kbi: Path, peildatum: str, supersede: bool, now: str | None) -> None:
    """AgII: read the KBI extract and seal what may leave for VDAB."""
    from pijler3.steps import export as step

    ws = open_ws(ws_path, "agii")
    r = step.export(
        ws,
        kbi,
        peildatum=day(peildatum, "--peildatum"),
        now=moment(now),
        supersede=supersede,
        progress=_progress,
    )
    click.echo(f"Read {r.rows_read} rows; sealed {r.rows_sent} for VDAB: {r.package}")
    click.echo(
        f"Quarantined {sum(r.quarantined.values())} rows without a valid INSZ "
        f"(kept here, by row number and reason): {r.quarantine}"
    )
    click.echo(
        f"Removed {r.identifiers_removed} identifiers and {r.words_removed} uncommon words "
        "from free text."
    )


@cli.command()
@ws_option
@click.option("--package", "pkg", type=FILE, required=True, help="AgII's export package.")
@click.option(
    "--werkzoekenden", type=FILE, required=True, help="VDAB's jobseekers extract (CSV or XLSX)."
)
@click.option("--acties", type=FILE, required=True, help="VDAB's actions extract (CSV or XLSX).")
@now_option
def link(
    ws_path: Path,
    pkg: Path,
    werkzoekenden: Path,
    acties: Path,
    now: str | None,
) -> None:
    """VDAB: link on the INSZ, pseudonymise, seal for AgII."""
    from pijler3.steps import link as step

    ws = open_ws(ws_path, "vdab")
    r = step.link(
        ws,
        pkg,
        werkzoekenden,
        acties,
        now=moment(now),
        progress=_progress,
    )
    click.echo(
        f"Linked {r.persons} persons, {r.matched} known at VDAB "
        f"({r.report['match_rate']:.1%}); {r.duplicates} duplicate rows resolved."
    )
    click.echo(f"Sealed for AgII: {r.package}")


@cli.command()
@ws_option
@click.option("--package", "pkg", type=FILE, required=True, help="VDAB's linked package.")
@now_option
def publish(ws_path: Path, pkg: Path, now: str | None) -> None:
    """AgII: check the linked dataset against the protocol and seal it for ABB."""
    from pijler3.steps import publish as step

    ws = open_ws(ws_path, "agii")
    r = step.publish(ws, pkg, now=moment(now), progress=_progress)
    click.echo(
        f"Checked {r.rows} rows: columns and types as the protocol says, "
        "no identifiers or uncommon words in free text."
    )
    click.echo(
        f"Re-identification risk: k = {r.risk.k}, "
        f"{r.risk.sample_unique_share:.1%} sample-unique, mean risk {r.risk.mean_risk:.3f}."
    )
    for w in r.warnings:
        click.echo(f"Warning (recorded): {w}")
    click.echo(f"Sealed for ABB's researchers: {r.package}")


@cli.command()
@ws_option
@click.option("--package", "pkg", type=FILE, required=True, help="AgII's published package.")
@click.option("--supersede", is_flag=True, help="Replace a delivery held for the same peildatum.")
@now_option
def ingest(ws_path: Path, pkg: Path, supersede: bool, now: str | None) -> None:
    """ABB: open a published package and load it into the analysis store."""
    from pijler3.steps import ingest as step

    ws = open_ws(ws_path, "abb")
    r = step.ingest(
        ws,
        pkg,
        now=moment(now),
        supersede=supersede,
        progress=_progress,
    )
    words = {
        "loaded": "Loaded",
        "unchanged": "Already held, nothing changed:",
        "superseded": "Loaded, replacing the earlier delivery for that peildatum:",
    }
    click.echo(
        f"{words[r.outcome]} delivery {r.delivery_id} (peildatum "
        f"{r.peildatum:%d/%m/%Y}, {r.rows} rows), kept until {r.expires_at:%d/%m/%Y}."
    )
    if r.receipt is not None:
        click.echo(f"Receipt for AgII (record it with 'pijler3 receipt record'): {r.receipt}")


# -- risk and report -----------------------------------------------------------------------


@cli.command()
@click.argument("file", type=FILE)
@click.option(
    "--ws",
    "ws_path",
    type=DIR,
    default=None,
    help="Workspace whose key opens FILE when it is a package (.p3pkg).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def risk(file: Path, ws_path: Path | None, as_json: bool) -> None:
    """Print the re-identification risk report of a monitoring dataset (Parquet or package)."""
    import polars as pl

    from pijler3.analysis import dataset
    from pijler3.analysis import risk as risk_mod
    from pijler3.exchange import transfer

    if file.suffix == ".p3pkg":
        if ws_path is None:
            raise UserError(f"{file}: a package opens only with a workspace key: give --ws.")
        ws = open_ws(ws_path)
        proto = ws.protocol()
        _, payload = transfer.open_received(ws, file, proto, now=moment(None))
        frame = dataset.from_parquet(payload, "monitoring")
    else:
        proto = protocol_mod.load(
            protocol_override() or (ws_path / "protocol.toml" if ws_path else None)
        )
        try:
            frame = pl.read_parquet(file)
        except dataset.PARQUET_ERRORS:  # several kinds, for a file that is not Parquet
            raise UserError(f"{file}: not a Parquet file or a package.") from None
    report = risk_mod.measure(frame, proto.risk, proto.quasi_identifiers, proto.sensitive_fields)
    breaches = risk_mod.gate(report, proto.risk)
    if as_json:
        click.echo(json.dumps(report.to_dict() | {"breaches": breaches}, indent=2))
        return
    click.echo(
        f"{file}: {report.records:,} records; quasi-identifiers "
        f"{', '.join(report.quasi_identifiers)} (dates by {report.date_granularity})"
    )
    click.echo(f"  k-anonymity            {report.k}")
    click.echo(f"  equivalence classes    {report.classes:,}")
    click.echo(
        f"  sample-unique records  {report.sample_uniques:,} ({report.sample_unique_share:.1%})"
    )
    click.echo(f"  re-identification risk mean {report.mean_risk:.3f}, max {report.max_risk:.3f}")
    click.echo(f"  records in classes < {report.k_report}  {report.records_below_k_report:,}")
    for name, l_value in report.l_diversity.items():
        click.echo(f"  l-diversity of {name}: {l_value}")
    click.echo("  uniques that disappear when a quasi-identifier is left out:")
    for name, n in report.contributions:
        click.echo(f"    {name:32s} {n:,}")
    if breaches:
        click.echo(f"Gate ({proto.risk.action}): {len(breaches)} threshold(s) exceeded:")
        for line in breaches:
            click.echo(f"  - {line}")
    else:
        click.echo("Gate: within the protocol's thresholds.")


@cli.command()
@ws_option
@click.option("-o", "--out", type=DIR, required=True, help="Folder for the report files.")
@click.option(
    "--earlier",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    multiple=True,
    help="A report folder this workspace did not write (another researcher's); its counts"
    " count as published for this and every later report. Repeatable.",
)
@now_option
def report(ws_path: Path, out: Path, earlier: tuple[Path, ...], now: str | None) -> None:
    """ABB: write report.html, report.xlsx, indicators.csv and the fact sheet from the
    analysis store."""
    from pijler3.report import files as report_mod

    ws = open_ws(ws_path, "abb")
    r = report_mod.write_report(ws, out, now=moment(now), earlier=earlier)
    if r.expired_left_out:
        click.echo(
            f"Warning: {r.expired_left_out} delivery(ies) past their retention were left out;"
            " destroy them with 'pijler3 purge'.",
            err=True,
        )
    click.echo(f"Wrote {r.csv} and {r.xlsx}")
    click.echo(f"Report: {r.html}")
    if r.factsheet is not None:
        printed = (
            f" and {r.factsheet_pdf.name}" if r.factsheet_pdf else f" (no PDF: {r.no_pdf_reason})"
        )
        click.echo(f"Fact sheet: {r.factsheet}{printed}")


@cli.command("audit-disclosure")
@click.argument("folder", type=DIR)
def audit_disclosure(folder: Path) -> None:
    """Re-run the disclosure audit on a report folder (no raw counts needed); exit 1 on a leak."""
    from pijler3.report import files as report_mod

    check = report_mod.audit_published(folder)
    r = check.result
    click.echo(
        f"{folder}: {r.cells:,} published counts; hidden by rules 1-2: {r.hidden_rules12:,},"
        f" by rule 3: {r.hidden_rule3:,}, by rule 6: {r.hidden_rule6:,}."
    )
    if r.hidden_earlier:
        click.echo(
            f"Of the hidden counts, {r.hidden_earlier:,} were shown by an earlier report;"
            " the audit takes the values disclosure.json gives for them as known."
        )
    if r.narrowest is not None and r.narrowest_cell is not None:
        c = r.narrowest_cell
        click.echo(
            f"Narrowest range left: {r.narrowest.width:g} ({c.table} {c.breakdown} {c.category}"
            f" {c.kind}, {c.peildatum:%d/%m/%Y})."
        )
    for f in r.failures[:20]:
        c = f.cell
        click.echo(
            f"  LEAK: {c.table} {c.breakdown} {c.category} {c.kind} of {c.peildatum:%d/%m/%Y}"
            f" lies between {f.range.low:g} and {f.range.high:g} (needs a range of"
            f" {f.threshold})."
        )
    for line in check.mismatches[:20]:
        click.echo(f"  NOT IN disclosure.json: {line}")
    if not check.passed:
        click.echo(
            f"Audit FAILED: {len(r.failures)} hidden count(s) can be narrowed down,"
            f" {len(check.mismatches)} published count(s) differ from the document."
        )
        raise SystemExit(1)
    click.echo("Audit passed: no hidden count can be narrowed below the protocol's thresholds.")


# -- audit ---------------------------------------------------------------------------------


@cli.group()
def audit() -> None:
    """Verify a workspace's audit log and export checkpoints."""


@audit.command("verify")
@ws_option
@click.option(
    "--checkpoint",
    type=FILE,
    default=None,
    help="A checkpoint held elsewhere (JSON), or an ingest receipt or destruction record"
    " carrying one, to detect a cut-off or rewritten log.",
)
def audit_verify(ws_path: Path, checkpoint: Path | None) -> None:
    """Check the hash chain (and a checkpoint held elsewhere)."""
    from pijler3.exchange import audit as audit_mod

    ws = open_ws(ws_path)
    cp = None
    if checkpoint is not None:
        from pijler3.exchange.package import loads_strict

        try:
            cp = audit_mod.checkpoint_of(loads_strict(checkpoint.read_bytes()))
        except ValueError:
            raise UserError(f"{checkpoint}: not a JSON checkpoint.") from None
    result = audit_mod.verify(ws.audit_path, public_key=ws.public().signing_key, checkpoint=cp)
    click.echo(
        f"{ws.audit_path}: {result.records} records, chain intact"
        + (", checkpoint matches" if cp else "")
        + "."
    )
    if result.torn_tail and result.torn_tail_complete:
        click.echo(
            "Warning: the last record lacks its final newline (a crash while writing, or an"
            " edit); the next append restores the newline and records the repair."
        )
    elif result.torn_tail:
        click.echo(
            "Warning: the last line is a torn append (a crash while writing); it is not a"
            " record, and the next append sets it aside in a side file and records that."
        )


@audit.command("checkpoint")
@ws_option
@click.option("-o", "--out", type=FILE, required=True, help="The checkpoint file to write.")
@now_option
def audit_checkpoint(ws_path: Path, out: Path, now: str | None) -> None:
    """Write a signed checkpoint (size and head hash) to hand to another party."""
    from pijler3.exchange.atomic import write_atomic

    ws = open_ws(ws_path)
    cp = ws.audit().checkpoint(now=moment(now))
    write_atomic(out, (json.dumps(cp, indent=2, sort_keys=True) + "\n").encode())
    click.echo(f"Wrote checkpoint of {cp['size']} records to {out}")


# -- receipts ------------------------------------------------------------------------------


@cli.group()
def receipt() -> None:
    """AgII: keep the researchers' receipts, which witness their audit logs."""


@receipt.command("record")
@ws_option
@click.argument("files", type=FILE, nargs=-1, required=True)
@now_option
def receipt_record(ws_path: Path, files: tuple[Path, ...], now: str | None) -> None:
    """AgII: check researchers' ingest receipts or destruction records and keep their
    checkpoints (FILES in the order they were made)."""
    from pijler3.exchange import workspace
    from pijler3.governance import receipts

    ws = workspace.open_workspace(ws_path, role="agii")
    for file in files:
        r = receipts.record(ws, file, now=moment(now))
        click.echo(
            f"Recorded the {r.kind} {file.name}: the researcher's log held {r.size} records."
        )
        click.echo(f"  kept as {r.kept}")
    click.echo(
        "Check a researcher's log against one: pijler3 audit verify --ws WS --checkpoint KEPT"
    )


cli.add_command(demo_command)
register_governance(cli)


def main() -> None:
    """The console script: click prints every refusal as one ``Error:`` line."""
    cli.main(prog_name="pijler3")
