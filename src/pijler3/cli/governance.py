"""Command-line commands for governance: termination (art. 8, 12), publication, purge, onward
disclosure, breaches and status.

Thin, like :mod:`pijler3.cli.commands`: each command parses, calls one library function and
prints. A :class:`~pijler3.contract.errors.UserError` propagates to
``pijler3.cli.commands.main``, which
prints ``Error: …`` and exits 1. :func:`register` adds the commands to the main group;
the option helpers live in :mod:`pijler3.cli.options`, shared with ``cli.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click

from pijler3.cli.options import (
    DIR,
    FILE,
    Command,
    Group,
    day,
    moment,
    now_option,
    open_ws,
    protocol_override,
    ws_option,
)
from pijler3.contract.errors import UserError
from pijler3.exchange.workspace import Workspace


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))


# -- protocol terminate / render --------------------------------------------------------


@click.command("terminate", cls=Command)
@ws_option
@click.option("--notice-date", required=True, metavar="YYYY-MM-DD", help="Day notice was given.")
@click.option(
    "--immediate",
    is_flag=True,
    help="End the protocol on the notice date itself (needs --reason).",
)
@click.option(
    "--reason",
    type=click.Choice(["art8", "legal-basis"]),
    default=None,
    help="With --immediate: art8 (AgII, simple notice) or legal-basis (art. 12).",
)
@now_option
def protocol_terminate(
    ws_path: Path, notice_date: str, immediate: bool, reason: str | None, now: str | None
) -> None:
    """Record the end of the protocol: written notice taking effect a month later
    (art. 12), or with --immediate, AgII's termination by simple notice (art. 8) or the
    end by operation of law when the legal basis disappears (art. 12)."""
    from pijler3.contract import terms
    from pijler3.governance import termination

    if immediate != (reason is not None):
        raise UserError(
            "--immediate and --reason go together: --immediate --reason art8 (AgII, art. 8)"
            " or --immediate --reason legal-basis (art. 12); without them the notice"
            " takes effect after the notice period (art. 12)."
        )
    kind: terms.TerminationKind = "notice"
    if reason == "art8":
        kind = "art8"
    elif reason == "legal-basis":
        kind = "legal-basis"
    ws = open_ws(ws_path)
    t = termination.terminate(
        ws, notice_date=day(notice_date, "--notice-date"), now=moment(now), kind=kind
    )
    if t.kind == "art8":
        click.echo(
            f"Recorded AgII's termination by simple notice on {t.notice_date:%d/%m/%Y}, with"
            " immediate effect (art. 8). From that day no package is produced or accepted."
        )
    elif t.kind == "legal-basis":
        click.echo(
            f"Recorded the end of the protocol by operation of law on {t.notice_date:%d/%m/%Y}:"
            " no legal basis any more (art. 12). From that day no package is produced or"
            " accepted."
        )
    else:
        click.echo(
            f"Recorded termination with notice on {t.notice_date:%d/%m/%Y}: effective"
            f" {t.effective:%d/%m/%Y} (art. 12). From that day no package is produced or"
            " accepted."
        )
    click.echo(f"Signed record: {t.path}")


@click.command("render", cls=Command)
@click.option("--ws", "ws_path", type=DIR, default=None, help="Render this workspace's protocol.")
@click.option("-o", "--out", "out", type=DIR, required=True, help="Directory to write to.")
def protocol_render(ws_path: Path | None, out: Path) -> None:
    """Write the protocol as Markdown and HTML for publication (art. 10): the one of
    --ws, or the file given with 'pijler3 --protocol FILE'."""
    from pijler3.contract import protocol as protocol_mod
    from pijler3.governance import publication

    if ws_path is not None:
        proto = open_ws(ws_path).protocol()
    elif (given := protocol_override()) is not None:
        proto = protocol_mod.load(given)
    else:
        raise UserError(
            "name the protocol to render: --ws WS, or 'pijler3 --protocol FILE protocol render'."
        )
    md, html = publication.write(proto, out)
    click.echo(f"Wrote {md}")
    click.echo(f"Wrote {html}")


# -- purge --------------------------------------------------------------------------------


def at_terminal() -> bool:
    """Whether a person types the answers (standard input is a terminal)."""
    return bool(sys.stdin.isatty())


@click.command(cls=Command)
@ws_option
@click.option("--dry-run", is_flag=True, help="Show what would be purged; change nothing.")
@click.option("--yes", is_flag=True, help="Destroy without asking (asked only at a terminal).")
@now_option
def purge(ws_path: Path, dry_run: bool, yes: bool, now: str | None) -> None:
    """Destroy what the retention no longer allows (art. 3 and 6): at ABB the expired
    deliveries; at AgII and VDAB their copies (packages, quarantine files)."""
    ws = open_ws(ws_path)
    if ws.role == "abb":
        _purge_store(ws, dry_run, yes, now)
    else:
        _purge_copies(ws, dry_run, yes, now)


def _purge_store(ws: Workspace, dry_run: bool, yes: bool, now: str | None) -> None:
    from pijler3.governance import retention

    when = moment(now, recorded=not dry_run)
    if not dry_run and not yes and at_terminal():
        # Destruction cannot be undone: a person at a terminal sees what goes first.
        plan = retention.purge(ws, now=when, dry_run=True)
        if plan.deliveries:
            names = ", ".join(d.delivery_id for d in plan.deliveries)
            click.confirm(
                f"Destroy {len(plan.deliveries)} delivery(ies) ({names}), {plan.rows} rows,"
                " for good?",
                abort=True,
            )
    r = retention.purge(ws, now=when, dry_run=dry_run)
    if not r.deliveries:
        click.echo(f"Nothing to purge on {r.today:%d/%m/%Y}.")
        return
    verb = "Would purge" if dry_run else "Purged"
    click.echo(f"{verb} {len(r.deliveries)} delivery(ies), {r.rows} rows, on {r.today:%d/%m/%Y}:")
    for p in r.deliveries:
        click.echo(
            f"  {p.delivery_id}  peildatum {dt.date.fromisoformat(p.peildatum):%d/%m/%Y}"
            f"  expired {dt.date.fromisoformat(p.expires_at):%d/%m/%Y}  {p.rows} rows"
            f"  {len(p.files)} package file(s)"
        )
    if r.record is not None:
        click.echo(f"Destruction record (signed): {r.record}")
        click.echo(f"For AgII's DPO: {r.letter}")


def _purge_copies(ws: Workspace, dry_run: bool, yes: bool, now: str | None) -> None:
    from pijler3.governance import copies

    when = moment(now, recorded=not dry_run)
    if not dry_run and not yes and at_terminal():
        # As at ABB: removal cannot be undone, so a person at a terminal sees it first.
        plan = copies.purge(ws, now=when, dry_run=True)
        if plan.deliveries:
            names = ", ".join(c.delivery_id for c in plan.deliveries)
            click.confirm(
                f"Remove the copies of {len(plan.deliveries)} delivery(ies) ({names}),"
                f" {plan.files} file(s), for good?",
                abort=True,
            )
    r = copies.purge(ws, now=when, dry_run=dry_run)
    if not r.deliveries:
        click.echo(f"Nothing to purge on {r.today:%d/%m/%Y}.")
        return
    verb = "Would remove" if dry_run else "Removed"
    click.echo(
        f"{verb} the copies of {len(r.deliveries)} delivery(ies), {r.files} file(s),"
        f" on {r.today:%d/%m/%Y}:"
    )
    for c in r.deliveries:
        why = (
            f"received by every researcher {c.received_on:%d/%m/%Y}"
            if c.reason == "received" and c.received_on
            else f"expired {c.expires_at:%d/%m/%Y}"
        )
        click.echo(
            f"  {c.delivery_id}  first handled {c.first_handled:%d/%m/%Y}  {why}"
            f"  {len(c.files)} file(s)"
        )
    if r.record is not None:
        click.echo(f"Destruction record (signed): {r.record}")
        click.echo(f"For AgII's DPO: {r.letter}")


@click.command("verify-destruction", cls=Command)
@click.argument("record", type=FILE)
@ws_option
def verify_destruction(record: Path, ws_path: Path) -> None:
    """AgII: check a destruction record's signature against the protocol's keys (a
    researcher's purge, or VDAB's or AgII's purge of its copies)."""
    from pijler3.exchange import documents
    from pijler3.governance import copies, retention

    ws = open_ws(ws_path)
    fmt = documents.read_document(record).get("body", {}).get("format")
    if fmt == copies.COPIES_FORMAT:
        body = copies.verify_record(record, ws.protocol())
        click.echo(f"{record}: signed by {body['performed_by']['party']}, a party to the protocol.")
        for c in body["deliveries"]:
            click.echo(f"  removed the copies of {c['delivery_id']} ({len(c['files'])} file(s))")
        return
    body = retention.verify_record(record, ws.protocol())
    by = body["performed_by"]
    click.echo(f"{record}: signed by {by['name']}, a researcher named in the protocol.")
    for d in body["deliveries"]:
        click.echo(
            f"  destroyed {d['delivery_id']} (peildatum "
            f"{dt.date.fromisoformat(d['peildatum']):%d/%m/%Y}, {d['rows']} rows)"
        )


# -- disclosure and share -----------------------------------------------------------------


@click.group(cls=Group)
def disclosure() -> None:
    """Onward disclosure of microdata: notify AgII first (art. 4)."""


def _split(value: str | None) -> list[str] | None:
    """A comma-separated option as a list (None when the option was not given)."""
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


@disclosure.command("notify")
@ws_option
@click.option("--recipient", required=True, help="Who would receive the data (organisation).")
@click.option("--recipient-key", default=None, help="The recipient's age key (age1…); required.")
@click.option("--purpose", required=True, help="Why, in a sentence.")
@click.option("--fields", required=True, help="Comma-separated protocol fields to disclose.")
@click.option(
    "--deliveries",
    default=None,
    help="Comma-separated delivery ids or peildatums (YYYY-MM-DD) to disclose; required.",
)
@click.option(
    "--recipient-protocol",
    default=None,
    help="Where the law requires one: the protocol with the recipient (a reference).",
)
@now_option
def disclosure_notify(
    ws_path: Path,
    recipient: str,
    recipient_key: str | None,
    purpose: str,
    fields: str,
    deliveries: str | None,
    recipient_protocol: str | None,
    now: str | None,
) -> None:
    """ABB: sign a notification of one intended communication, to send to AgII (art. 4)."""
    from pijler3.governance import onward

    ws = open_ws(ws_path, "abb")
    n = onward.notify(
        ws,
        recipient=recipient,
        recipient_key=recipient_key,
        purpose=purpose,
        fields=_split(fields) or [],
        deliveries=_split(deliveries) or [],
        recipient_protocol=recipient_protocol,
        now=moment(now),
    )
    click.echo(
        f"Notification {n.id}: {len(n.fields)} field(s) of {len(n.deliveries)} delivery(ies)"
        f" for {n.recipient}, one share."
    )
    click.echo(f"Send this file to AgII: {n.path}")


@disclosure.command("acknowledge")
@ws_option
@click.option("--notification", type=FILE, required=True, help="The researcher's notification.")
@now_option
def disclosure_acknowledge(ws_path: Path, notification: Path, now: str | None) -> None:
    """AgII: verify a notification and sign an acknowledgement of it."""
    from pijler3.governance import onward

    ws = open_ws(ws_path, "agii")
    path = onward.acknowledge(ws, notification, now=moment(now))
    click.echo("The notification is signed by a researcher named in the protocol.")
    click.echo(f"Send this acknowledgement back: {path}")


@disclosure.command("record-ack")
@ws_option
@click.option("--ack", "ack", type=FILE, required=True, help="AgII's acknowledgement.")
@now_option
def disclosure_record_ack(ws_path: Path, ack: Path, now: str | None) -> None:
    """ABB: record AgII's acknowledgement after checking its signature."""
    from pijler3.governance import onward

    ws = open_ws(ws_path, "abb")
    n = onward.record_ack(ws, ack, now=moment(now))
    click.echo(f"Recorded AgII's acknowledgement of {n.id}; 'pijler3 share' may use it once.")


@disclosure.command("record-share")
@ws_option
@click.option("--record", "record", type=FILE, required=True, help="The researcher's share record.")
@now_option
def disclosure_record_share(ws_path: Path, record: Path, now: str | None) -> None:
    """AgII: check a researcher's share record and record it in the audit log (art. 4)."""
    from pijler3.governance import share_records

    ws = open_ws(ws_path, "agii")
    r = share_records.record_share(ws, record, now=moment(now))
    click.echo(
        f"Recorded the share under {r.notification_id}: {r.rows} rows, {len(r.fields)} field(s)"
        f" of {', '.join(r.deliveries)} to {r.recipient} ({r.recipient_fingerprint}),"
        f" signed by {r.researcher}."
    )


@click.command(cls=Command)
@ws_option
@click.option(
    "--notification-id",
    required=True,
    help="The acknowledged notification: its id, or its file (N-….notification.json).",
)
@click.option("--recipient-key", required=True, help="The recipient's age key (age1…).")
@click.option("-o", "--out", "out", type=FILE, required=True, help="The package to write.")
@click.option(
    "--deliveries",
    default=None,
    help="Comma-separated delivery ids or peildatums. Default: all the notification names.",
)
@click.option(
    "--fields", default=None, help="Comma-separated fields. Default: all the notification names."
)
@now_option
def share(
    ws_path: Path,
    notification_id: str,
    recipient_key: str,
    out: Path,
    deliveries: str | None,
    fields: str | None,
    now: str | None,
) -> None:
    """ABB: the one share an acknowledged notification covers (art. 4)."""
    from pijler3.governance import onward

    ws = open_ws(ws_path, "abb")
    # The researcher holds the notification as a file; its name is the id.
    suffix = ".notification.json"
    if notification_id.endswith(suffix):
        notification_id = Path(notification_id).name.removesuffix(suffix)
    r = onward.share(
        ws,
        notification_id=notification_id,
        recipient_key=recipient_key,
        out=out,
        deliveries=_split(deliveries),
        fields=_split(fields),
        now=moment(now),
    )
    click.echo(
        f"Sealed {r.rows} rows, {len(r.fields)} field(s) of {', '.join(r.delivery_ids)}"
        f" for {r.recipient_fingerprint} only: {r.package}"
    )
    click.echo(f"Send this share record to AgII: {r.record}")


# -- breaches -----------------------------------------------------------------------------


@click.group(cls=Group)
def breach() -> None:
    """The breach register (art. 9; AVG art. 33: 72 hours)."""


@breach.command("report")
@ws_option
@click.option("--discovered", required=True, metavar="DATETIME", help="When it was found.")
@click.option("--description", required=True, help="What happened (no person's data).")
@click.option("--affects-other-party", is_flag=True, help="It touches the other party's data.")
@now_option
def breach_report(
    ws_path: Path, discovered: str, description: str, affects_other_party: bool, now: str | None
) -> None:
    """Record a breach and draft the notification to the other party's DPO."""
    from pijler3.governance import breaches

    ws = open_ws(ws_path)
    b = breaches.report_breach(
        ws,
        discovered=moment(discovered, "--discovered"),
        description=description,
        affects_other_party=affects_other_party,
        now=moment(now),
    )
    click.echo(f"Recorded breach {b.id}.")
    click.echo(
        f"Notify the supervisory authority by {b.authority_deadline:%d/%m/%Y %H:%M} UTC"
        " (AVG art. 33), or record why that is not required."
    )
    protocol = ws.protocol()
    other = protocol.parties[b.other_party].short
    click.echo(f"Draft for the DPO of {other}: {ws.root / (b.draft or '')}")
    for warning in breaches.dpo_contact_warnings(protocol, ws.role):
        click.echo(f"Warning: {warning}")


@breach.command("list")
@ws_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@now_option
def breach_list(ws_path: Path, as_json: bool, now: str | None) -> None:
    """Show the breach register; overdue items are flagged."""
    from pijler3.governance import breaches

    ws = open_ws(ws_path)
    when = moment(now)
    items = breaches.breaches(ws)
    if as_json:
        _echo_json([b.to_dict() | {"overdue": b.is_open and b.overdue(when)} for b in items])
        return
    if not items:
        click.echo("No breaches recorded.")
        return
    for b in items:
        if not b.is_open:
            state = "closed"
        elif b.overdue(when):
            state = "OVERDUE"
        elif b.authority_notified_at or b.authority_not_required:
            state = "open, authority settled"
        else:
            state = "open"
        click.echo(
            f"{b.id}  {state:<24}  discovered {b.discovered:%d/%m/%Y %H:%M}"
            f"  authority by {b.authority_deadline:%d/%m/%Y %H:%M} UTC"
        )


@breach.command("notify-authority")
@ws_option
@click.argument("breach_id")
@click.option("--at", "at", default=None, metavar="DATETIME", help="When. Default: --now.")
@now_option
def breach_notify_authority(ws_path: Path, breach_id: str, at: str | None, now: str | None) -> None:
    """Record that the supervisory authority was notified."""
    from pijler3.governance import breaches

    ws = open_ws(ws_path)
    when = moment(now)
    b = breaches.record_notification(
        ws, breach_id, target="authority", at=moment(at, "--at") if at else when, now=when
    )
    late = b.authority_notified_at is not None and b.authority_notified_at > b.authority_deadline
    click.echo(
        f"Recorded: authority notified of {b.id}"
        + (
            " AFTER the 72 hours; record the reasons for the delay (AVG art. 33(1))."
            if late
            else "."
        )
    )


@breach.command("notify-party")
@ws_option
@click.argument("breach_id")
@click.option("--at", "at", default=None, metavar="DATETIME", help="When. Default: --now.")
@now_option
def breach_notify_party(ws_path: Path, breach_id: str, at: str | None, now: str | None) -> None:
    """Record that the other party's DPO was notified (art. 9)."""
    from pijler3.governance import breaches

    ws = open_ws(ws_path)
    when = moment(now)
    b = breaches.record_notification(
        ws, breach_id, target="party", at=moment(at, "--at") if at else when, now=when
    )
    click.echo(f"Recorded: the DPO of {b.other_party} was notified of {b.id}.")


@breach.command("close")
@ws_option
@click.argument("breach_id")
@click.option("--resolution", required=True, help="What was done.")
@click.option(
    "--no-notification-reason",
    "authority_not_required",
    default=None,
    help="Why the authority was not notified (AVG art. 33(1): unlikely to be a risk).",
)
@now_option
def breach_close(
    ws_path: Path,
    breach_id: str,
    resolution: str,
    authority_not_required: str | None,
    now: str | None,
) -> None:
    """Close a breach once the authority was notified or that was shown not needed."""
    from pijler3.governance import breaches

    ws = open_ws(ws_path)
    b = breaches.close_breach(
        ws,
        breach_id,
        resolution=resolution,
        authority_not_required=authority_not_required,
        now=moment(now),
    )
    click.echo(f"Closed breach {b.id}.")


# -- status -------------------------------------------------------------------------------


@click.command(cls=Command)
@ws_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@now_option
def status(ws_path: Path, as_json: bool, now: str | None) -> None:
    """Protocol term, deliveries and expiry, breaches, notifications, audit log."""
    from pijler3.governance import status as status_mod

    ws = open_ws(ws_path)
    s = status_mod.status(ws, now=moment(now, recorded=False))
    if as_json:
        _echo_json(s.to_dict())
    else:
        click.echo(status_mod.render(s), nl=False)


def register(cli: click.Group) -> None:
    """Add the governance commands to the main ``pijler3`` group."""
    protocol_group = cli.commands["protocol"]
    assert isinstance(protocol_group, click.Group)
    protocol_group.add_command(protocol_terminate)
    protocol_group.add_command(protocol_render)
    for command in (purge, verify_destruction, disclosure, share, breach, status):
        cli.add_command(command)
