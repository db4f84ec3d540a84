"""The protocol file: loaded into frozen objects; a bad file is refused naming the key."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import cli_error

from pijler3.cli.commands import cli
from pijler3.contract import dates, protocol, protocol_keys
from pijler3.contract.errors import ProtocolError


def test_the_shipped_protocol_says_what_the_signed_text_says() -> None:
    p = protocol.load()
    assert p.signed == dt.date(2023, 9, 20)
    assert (p.term_years, p.notice_months, p.retention_years) == (5, 1, 5)
    assert p.term_end == dt.date(2028, 9, 19)
    assert p.recipients_max == 2
    assert p.parties["abb"].dpo_name == "Yves Andriessen"
    assert p.field_names[:3] == ("pseudoniem", "peildatum", "leeftijdscategorie")
    assert "insz" not in p.field_names and "geboortedatum" not in p.field_names
    assert (p.disclosure.min_numerator, p.disclosure.min_denominator) == (5, 10)


def test_the_shipped_protocol_names_and_pins_its_signed_text() -> None:
    """The signed text lies beside the shipped protocol file, with the pinned hash."""
    import hashlib
    from importlib import resources

    p = protocol.load()
    assert p.signed_text == "protocol-2023-09-20.signed.md"
    data = resources.files("pijler3").joinpath("data", p.signed_text).read_bytes()
    assert hashlib.sha256(data).hexdigest() == p.signed_text_sha256


def test_protocol_objects_are_frozen() -> None:
    p = protocol.load()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.retention_years = 10  # type: ignore[misc]


def _broken(old: str, new: str) -> str:
    text = protocol.default_text()
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("retention_years = 5", 'retention_years = "vijf"', "protocol.retention_years"),
        ("retention_years = 5", "", "protocol.retention_years"),
        ('name = "Agentschap Binnenlands Bestuur"', "", "parties.abb.name"),
        ("min_numerator = 5", "min_numerator = 0", "disclosure.min_numerator"),
        ('action = "warn"', 'action = "maybe"', "risk.action"),
        ('format = "pijler3-protocol/1"', 'format = "other/9"', "format"),
        ('codelist = "geslacht"\nsource', "source", "fields[3].codelist"),
        ("bits = 128", "bits = 64", "pseudonym.bits"),
        ("[steps]", "typo = 1\n[steps]", "recipients.typo"),
        ("min_persons = 10", "min_persons = 0", "free_text.min_persons"),
        ("min_persons = 10", 'min_persons = "tien"', "free_text.min_persons"),
        ("min_persons = 10", "min_persons = 10\nmin_person = 3", "free_text.min_person"),
        ('signed_text = "protocol-', 'signed_text = "../protocol-', "protocol.signed_text"),
        (
            'signed_text_sha256 = "2110',
            'signed_text_sha256 = "x2110',
            "protocol.signed_text_sha256",
        ),
        ('signed_text = "protocol-2023-09-20.signed.md"', "", "protocol.signed_text"),
        (
            'signed_text = "protocol-2023-09-20.signed.md"',
            'signed_text = "audit.jsonl"',
            "protocol.signed_text",
        ),
    ],
)
def test_a_malformed_protocol_is_refused_naming_the_key(old: str, new: str, key: str) -> None:
    with pytest.raises(ProtocolError) as err:
        protocol.loads(_broken(old, new), "p.toml")
    assert f"'{key}'" in str(err.value) or key in str(err.value)
    assert str(err.value).startswith("p.toml")


def test_free_text_min_persons_is_read_and_defaults_to_ten() -> None:
    """free_text.min_persons comes from the file; a file without the table gets 10."""
    assert protocol.load().free_text.min_persons == 10
    four = protocol.loads(_broken("min_persons = 10", "min_persons = 4"))
    assert four.free_text.min_persons == 4
    without = re.sub(r"(?m)^\[free_text\]\nmin_persons = 10\n", "", protocol.default_text())
    assert "[free_text]" not in without
    assert protocol.loads(without).free_text.min_persons == 10


def test_unknown_top_level_key_is_refused() -> None:
    with pytest.raises(ProtocolError, match="'retention'"):
        protocol.loads("retention = 3\n" + protocol.default_text(), "p.toml")


def test_not_toml_is_refused() -> None:
    with pytest.raises(ProtocolError, match="not valid TOML"):
        protocol.loads("[protocol\n", "p.toml")


def test_keys_are_registered_and_more_than_two_researchers_refused() -> None:
    text = protocol_keys.with_party_keys(
        protocol.default_text(), "vdab", age_recipient="age1vdab", signing_key="sig-vdab"
    )
    for name in ("A", "B"):
        text = protocol_keys.with_recipient(
            text, name=name, age_recipient=f"age1{name}", signing_key=name
        )
    p = protocol.loads(text)
    assert p.parties["vdab"].age_recipient == "age1vdab"
    assert [r.name for r in p.recipients] == ["A", "B"]
    # Registering A again replaces A's keys; a third person exceeds art. 4.
    text = protocol_keys.with_recipient(text, name="A", age_recipient="age1A2", signing_key="A2")
    assert [r.age_recipient for r in protocol.loads(text).recipients] == ["age1B", "age1A2"]
    with pytest.raises(ProtocolError, match=r"art\. 4"):
        protocol_keys.with_recipient(text, name="C", age_recipient="age1C", signing_key="C")


def test_key_setup_changes_only_the_key_lines_and_keeps_every_comment() -> None:
    """Registering keys edits the signed file in place: the two key lines of the party
    and the ``people`` list change, every comment and every other line stays."""
    import difflib

    original = protocol.default_text()
    text = protocol_keys.with_party_keys(
        original, "agii", age_recipient="age1agii", signing_key="sig-agii"
    )
    text = protocol_keys.with_recipient(text, name="A", age_recipient="age1A", signing_key="A")
    before, after = original.splitlines(), text.splitlines()
    removed = [line[2:] for line in difflib.ndiff(before, after) if line.startswith("- ")]
    people_line = next(line for line in before if line.startswith("people = []"))
    assert removed == ['age_recipient = ""', 'signing_key = ""', people_line]
    comments = [line for line in before if line.lstrip().startswith("#")]
    assert comments == [line for line in after if line.lstrip().startswith("#")]
    # The comment after the emptied list survives too, after the list's new last line.
    assert people_line.split("#", 1)[1] in text
    p = protocol.loads(text)
    assert (p.parties["agii"].age_recipient, p.parties["agii"].signing_key) == (
        "age1agii",
        "sig-agii",
    )
    assert p.parties["vdab"].age_recipient == ""


def test_key_setup_refuses_a_file_without_the_key_lines() -> None:
    """A protocol text whose party table lacks the key lines is refused, not extended."""
    text = protocol.default_text().replace('age_recipient = ""\nsigning_key = ""\n', "", 1)
    with pytest.raises(ProtocolError, match=r"no key lines in \[parties\.agii\]"):
        protocol_keys.with_party_keys(text, "agii", age_recipient="age1x", signing_key="x")


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert dates.add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert dates.add_months(dt.date(2026, 12, 15), 1) == dt.date(2027, 1, 15)
    assert dates.add_years(dt.date(2024, 2, 29), 5) == dt.date(2029, 2, 28)


def test_protocol_check_command(tmp_path: Path) -> None:
    good = tmp_path / "p.toml"
    good.write_text(protocol.default_text(), "utf-8")
    result = CliRunner().invoke(cli, ["protocol", "check", str(good)])
    assert result.exit_code == 0
    assert "valid protocol agii-abb-pijler3-2023-09-20 v1" in result.output
    assert re.search(r"term ends 19/09/2028", result.output)
    assert "signed text: protocol-2023-09-20.signed.md, SHA-256 as pinned" in result.output


def test_every_command_can_be_pointed_at_another_protocol_file(tmp_path: Path) -> None:
    """``pijler3 --protocol FILE`` replaces the workspace's own protocol for any command."""
    import json

    from pijler3.exchange import workspace

    ws = workspace.init("agii", tmp_path / "agii", now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    other = tmp_path / "next.toml"
    other.write_text(
        protocol.default_text().replace('id = "agii-abb-pijler3-2023-09-20"', 'id = "next"'),
        "utf-8",
    )
    runner = CliRunner()
    own = runner.invoke(cli, ["status", "--ws", str(ws.root), "--json", "--now", "2026-02-01"])
    moved = runner.invoke(
        cli,
        ["--protocol", str(other), "status", "--ws", str(ws.root), "--json", "--now", "2026-02-01"],
    )
    assert own.exit_code == 0 and moved.exit_code == 0, (own.output, moved.output)
    assert json.loads(own.output)["protocol"]["id"] == "agii-abb-pijler3-2023-09-20 v1"
    assert json.loads(moved.output)["protocol"]["id"] == "next v1"
    # The override lasts for one invocation only.
    again = runner.invoke(cli, ["status", "--ws", str(ws.root), "--json", "--now", "2026-02-01"])
    assert json.loads(again.output)["protocol"]["id"] == "agii-abb-pijler3-2023-09-20 v1"


def test_another_protocol_file_may_not_bring_other_keys(tmp_path: Path) -> None:
    """Keys decide who may open, sign and acknowledge: an override with other keys is
    refused until it is installed, and installing is recorded in the audit log."""
    from pijler3.exchange import audit, workspace

    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    ws = workspace.init("abb", tmp_path / "abb", name="A", now=now)
    forged = tmp_path / "forged.toml"
    forged.write_text(
        protocol_keys.with_party_keys(
            protocol.default_text(), "agii", age_recipient="age1fake", signing_key="ZmFrZQ=="
        ),
        "utf-8",
    )
    runner = CliRunner()
    refused = runner.invoke(cli, ["--protocol", str(forged), "status", "--ws", str(ws.root)])
    cli_error(refused, "other keys")
    installed = runner.invoke(cli, ["protocol", "install", str(forged), "--ws", str(ws.root)])
    assert installed.exit_code == 0, installed.output
    events = [r["event"] for r in audit.events(ws.audit_path)]
    assert events[-1] == "protocol.installed"
