"""The governance commands through click's CliRunner on real workspaces."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import cli_error, set_clock
from test_retention import NOW0, World, deliver, make_world, pseudonyms

from pijler3.cli import governance as cli_governance
from pijler3.cli.commands import cli, main
from pijler3.exchange import _crypto, package

if "purge" not in cli.commands:
    cli_governance.register(cli)


@pytest.fixture()
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def run(*args: str | Path) -> click.testing.Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)


def test_register_adds_the_commands_to_the_main_group() -> None:
    protocol = cli.commands["protocol"]
    assert isinstance(protocol, click.Group)
    assert {"terminate", "render"} <= set(protocol.commands)
    assert {"purge", "verify-destruction", "disclosure", "share", "breach", "status"} <= set(
        cli.commands
    )


def test_terminate_then_status_reports_the_termination(world: World) -> None:
    r = run("protocol", "terminate", "--ws", world.abb.root, "--notice-date", "2025-01-31",
            "--now", "2025-02-01")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "effective 28/02/2025 (art. 12)" in r.output
    s = run("status", "--ws", world.abb.root, "--now", "2025-03-01", "--json")
    data = json.loads(s.output)
    assert not data["protocol"]["in_force"]
    assert data["protocol"]["termination"]["effective"] == "2025-02-28"


def test_terminate_immediate_art8_in_agii_and_refused_elsewhere(world: World) -> None:
    """AgII records an art. 8 termination effective on the notice date; ABB is refused
    with a message naming art. 8; --immediate without --reason is refused."""
    r = run("protocol", "terminate", "--ws", world.abb.root, "--notice-date", "2025-03-10",
            "--immediate", "--reason", "art8", "--now", "2025-03-10")  # fmt: skip
    cli_error(r, "only AgII may end the protocol")
    r = run("protocol", "terminate", "--ws", world.agii.root, "--notice-date", "2025-03-10",
            "--immediate", "--now", "2025-03-10")  # fmt: skip
    cli_error(r, "--reason")
    r = run("protocol", "terminate", "--ws", world.agii.root, "--notice-date", "2025-03-10",
            "--immediate", "--reason", "art8", "--now", "2025-03-10")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "with immediate effect (art. 8)" in r.output
    day_before = run("status", "--ws", world.agii.root, "--now", "2025-03-09", "--json")
    assert json.loads(day_before.output)["protocol"]["in_force"]
    on_day = run("status", "--ws", world.agii.root, "--now", "2025-03-10", "--json")
    assert not json.loads(on_day.output)["protocol"]["in_force"]


def test_terminate_immediate_legal_basis_in_abb(world: World) -> None:
    r = run("protocol", "terminate", "--ws", world.abb.root, "--notice-date", "2026-01-01",
            "--immediate", "--reason", "legal-basis", "--now", "2026-01-02")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "by operation of law on 01/01/2026" in r.output and "(art. 12)" in r.output


def test_breach_report_and_status_warn_about_the_missing_agii_dpo_contact(world: World) -> None:
    line = "the protocol file names no DPO contact for AgII: fill it in (art. 9)"
    r = run("breach", "report", "--ws", world.abb.root, "--discovered", "2025-03-03T10:00",
            "--description", "Verkeerd gedeelde map", "--now", "2025-03-03T11:00")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert f"Warning: {line}" in r.output
    s = run("status", "--ws", world.abb.root, "--now", "2025-03-03")
    assert line in s.output


def test_render_writes_markdown_and_html(world: World, tmp_path: Path) -> None:
    r = run("protocol", "render", "--ws", world.abb.root, "-o", tmp_path / "pub")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "pub" / "protocol.md").exists()
    assert '<html lang="nl">' in (tmp_path / "pub" / "protocol.html").read_text()


def test_purge_dry_run_then_purge_on_the_expiry_day(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = deliver(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    set_clock(monkeypatch, "2029-03-01T12:00")
    r = run("purge", "--ws", world.abb.root, "--now", "2029-02-28")
    assert r.output == "Nothing to purge on 28/02/2029.\n"
    r = run("purge", "--ws", world.abb.root, "--dry-run", "--now", "2029-03-01")
    assert r.output.startswith("Would purge 1 delivery(ies), 6 rows, on 01/03/2029:")
    r = run("purge", "--ws", world.abb.root, "--now", "2029-03-01")
    assert r.exit_code == 0, r.output
    assert f"  {d.delivery_id}  peildatum 29/02/2024  expired 01/03/2029  6 rows" in r.output
    assert "For AgII's DPO:" in r.output
    # AgII checks the signed record against the protocol's researcher keys.
    record = next((world.abb.root / "destruction").glob("*.json"))
    v = run("verify-destruction", record, "--ws", world.agii.root)
    assert v.exit_code == 0, v.output
    assert f"destroyed {d.delivery_id} (peildatum 29/02/2024, 6 rows)" in v.output
    forged = record.with_name("forged.json")
    forged.write_text(record.read_text().replace('"rows": 6', '"rows": 1'))
    assert run("verify-destruction", forged, "--ws", world.agii.root).exit_code == 1


def test_disclosure_round_trip_share_and_record_share(world: World, tmp_path: Path) -> None:
    """notify (ABB) -> acknowledge (AgII) -> record-ack (ABB) -> share to one key ->
    record-share (AgII); a second share under the same notification is refused; status
    shows the notification with its acknowledgement and share."""
    d = deliver(
        world, dt.date(2025, 1, 31), pseudonyms("a"), dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
    )
    now = ("--now", "2025-02-02")
    identity, key = _crypto.new_identity()
    out = tmp_path / "share.p3pkg"
    r = run("share", "--ws", world.abb.root, "--notification-id", "N-1", "--recipient-key", key,
            "-o", out, *now)  # fmt: skip
    cli_error(r, "art. 4")
    r = run("disclosure", "notify", "--ws", world.abb.root, "--recipient", "Universiteit X",
            "--recipient-key", key, "--purpose", "Analyse", "--fields", "regio,geslacht",
            "--deliveries", "2025-01-31", "--recipient-protocol", "Protocol ABB-UX 2025/1",
            *now)  # fmt: skip
    assert r.exit_code == 0, r.output
    notification = Path(r.output.split("Send this file to AgII: ")[1].strip())
    nid = notification.name.split(".")[0]
    r = run("disclosure", "acknowledge", "--ws", world.agii.root, "--notification",
            notification, *now)  # fmt: skip
    assert r.exit_code == 0, r.output
    ack = Path(r.output.split("Send this acknowledgement back: ")[1].strip())
    r = run("disclosure", "record-ack", "--ws", world.abb.root, "--ack", ack, *now)
    assert r.exit_code == 0, r.output
    r = run("share", "--ws", world.abb.root, "--notification-id", nid, "--recipient-key", key,
            "-o", out, "--fields", "regio,ocmw_leefloon", *now)  # fmt: skip
    cli_error(r, "--fields: field 'ocmw_leefloon' is not named in notification")
    r = run("share", "--ws", world.abb.root, "--notification-id", nid, "--recipient-key", key,
            "-o", out, *now)  # fmt: skip
    assert r.exit_code == 0, r.output
    record = Path(r.output.split("Send this share record to AgII: ")[1].strip())
    manifest, _ = package.open_package(
        out, identity=identity, sender_key=world.abb.public().signing_key, expected_step="share"
    )
    assert manifest.extra["fields"] == ["geslacht", "regio"]
    r = run("share", "--ws", world.abb.root, "--notification-id", nid, "--recipient-key", key,
            "-o", tmp_path / "again.p3pkg", *now)  # fmt: skip
    cli_error(r, "used for a share already")
    r = run("disclosure", "record-share", "--ws", world.agii.root, "--record", record, *now)
    assert r.exit_code == 0, r.output
    assert f"Recorded the share under {nid}: 6 rows, 2 field(s) of {d.delivery_id}" in r.output
    s = json.loads(run("status", "--ws", world.agii.root, "--json", *now).output)
    assert [(x["notification_id"], x["shared"]["rows"]) for x in s["disclosures"]] == [(nid, 6)]
    # AgII's log holds the share record; cut off, 'audit verify' with a checkpoint sees it.
    cp = tmp_path / "agii-checkpoint.json"
    assert run("audit", "checkpoint", "--ws", world.agii.root, "-o", cp, *now).exit_code == 0
    assert run("audit", "verify", "--ws", world.agii.root, "--checkpoint", cp).exit_code == 0
    lines = world.agii.audit_path.read_text().splitlines(keepends=True)
    assert '"event":"disclosure.share_recorded"' in lines[-1]
    world.agii.audit_path.write_text("".join(lines[:-1]))
    assert run("audit", "verify", "--ws", world.agii.root).exit_code == 0
    r = run("audit", "verify", "--ws", world.agii.root, "--checkpoint", cp)
    cli_error(r, "records were cut off")


def test_notify_without_recipient_key_or_deliveries_names_the_option(world: World) -> None:
    """A notification without the recipient's key, or without deliveries, is refused at
    notify with one line naming the option; nothing is written."""
    deliver(world, dt.date(2025, 1, 31), pseudonyms("a"), dt.datetime(2025, 2, 1, tzinfo=dt.UTC))
    _, key = _crypto.new_identity()
    base = ("disclosure", "notify", "--ws", world.abb.root, "--recipient", "Universiteit X",
            "--purpose", "Analyse", "--fields", "regio", "--now", "2025-02-02")  # fmt: skip
    cli_error(run(*base, "--deliveries", "2025-01-31"), "--recipient-key: a notification names")
    cli_error(run(*base, "--recipient-key", key), "--deliveries: name the deliveries")
    assert not (world.abb.root / "disclosures").exists()


def test_breach_report_list_and_close(world: World) -> None:
    r = run("breach", "report", "--ws", world.abb.root, "--discovered", "2025-03-03T14:30",
            "--description", "Laptop gestolen", "--affects-other-party",
            "--now", "2025-03-03T16:00")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "by 06/03/2025 14:30 UTC" in r.output
    r = run("breach", "list", "--ws", world.abb.root, "--now", "2025-03-06T14:30")
    assert "B-20250303-001  open " in r.output
    r = run("breach", "list", "--ws", world.abb.root, "--now", "2025-03-06T14:31")
    assert "B-20250303-001  OVERDUE " in r.output
    r = run("breach", "notify-authority", "--ws", world.abb.root, "B-20250303-001",
            "--now", "2025-03-06T15:00")  # fmt: skip
    assert "AFTER the 72 hours" in r.output
    r = run("breach", "close", "--ws", world.abb.root, "B-20250303-001", "--resolution",
            "Sleutels ingetrokken", "--now", "2025-03-07")  # fmt: skip
    assert r.exit_code == 0, r.output
    data = json.loads(run("breach", "list", "--ws", world.abb.root, "--json").output)
    assert data[0]["closed_at"] is not None and not data[0]["overdue"]


def test_status_table_shows_deliveries(world: World) -> None:
    d = deliver(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    r = run("status", "--ws", world.abb.root, "--now", "2024-06-01")
    assert r.exit_code == 0, r.output
    assert f"  {d.delivery_id}  29/02/2024  6     01/03/2029  kept" in r.output
    assert "OK" in r.output


def test_main_prints_a_one_line_error_and_exits_1(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through the real entry point: a refused share is 'Error: …', no traceback."""
    _, key = _crypto.new_identity()
    monkeypatch.setattr(
        sys, "argv", ["pijler3", "share", "--ws", str(world.abb.root), "--notification-id",
                      "N-1", "--recipient-key", key, "-o", str(world.root / "x.p3pkg"),
                      "--now", "2025-02-02"],
    )  # fmt: skip
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: microdata may leave ABB only after a notification to AgII")
    assert "Traceback" not in err


def test_purge_in_agiis_workspace_removes_its_copies_and_the_record_verifies(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AgII's outbox copy of a delivery made on 29/02/2024 stays on 28/02/2029 and is
    removed on 01/03/2029 (five years, as at ABB); verify-destruction checks the record."""
    d = deliver(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    set_clock(monkeypatch, "2029-03-01T12:00")
    outbox = sorted(world.agii.outbox.glob("*.p3pkg"))
    assert outbox
    r = run("purge", "--ws", world.agii.root, "--now", "2029-02-28")
    assert r.output == "Nothing to purge on 28/02/2029.\n"
    r = run("purge", "--ws", world.agii.root, "--now", "2029-03-01")
    assert r.exit_code == 0, r.output
    assert f"  {d.delivery_id}  first handled 01/03/2024  expired 01/03/2029  1 file(s)" in r.output
    assert not any(p.exists() for p in outbox)
    record = Path(r.output.split("Destruction record (signed): ")[1].splitlines()[0])
    v = run("verify-destruction", record, "--ws", world.agii.root)
    assert v.exit_code == 0, v.output
    assert f"removed the copies of {d.delivery_id} (1 file(s))" in v.output
