"""The command line as a newcomer meets it: summaries, order, help, set-up warnings,
packages that are plainly the wrong file, and a purge that asks first."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import cli_error, set_clock

from pijler3.cli.commands import cli
from pijler3.cli.options import CHAIN_ORDER, first_sentence
from pijler3.contract import protocol as protocol_mod
from pijler3.exchange import workspace


def own_copy(chain, name: str, tmp_path: Path) -> workspace.Workspace:  # type: ignore[no-untyped-def]
    """A private copy of a chain workspace: refusals and purges here are recorded in the
    copy's audit log, never in the shared fixture's."""
    root = tmp_path / name
    shutil.copytree(chain.spaces[name].root, root)
    return workspace.open_workspace(root)


def walk(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    """Every command and group below ``group``, with its full name."""
    out: list[tuple[str, click.Command]] = []
    for name, cmd in group.commands.items():
        out.append((f"{prefix}{name}", cmd))
        if isinstance(cmd, click.Group):
            out += walk(cmd, f"{prefix}{name} ")
    return out


def test_every_option_has_help() -> None:
    missing = [
        f"{name} {max(p.opts, key=len)}"
        for name, cmd in walk(cli)
        for p in cmd.params
        if isinstance(p, click.Option) and not p.help
    ]
    assert missing == []


def test_summaries_are_whole_first_sentences() -> None:
    """click cuts a summary at 45 characters or at 'art.'; ours is the first sentence."""
    assert first_sentence("The breach register (art. 9). More.") == "The breach register (art. 9)."
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    flat = " ".join(result.output.split("Commands:", 1)[1].split())
    assert "..." not in flat
    assert "Onward disclosure of microdata: notify AgII first (art. 4)." in flat


def test_commands_are_listed_in_chain_order() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    listed = [
        line.split()[0]
        for line in result.output.split("Commands:", 1)[1].splitlines()
        if line.startswith("  ") and not line.startswith("    ")
    ]
    known = [n for n in listed if n in CHAIN_ORDER]
    assert known == sorted(known, key=CHAIN_ORDER.index)
    assert listed[:7] == ["init", "protocol", "synth", "export", "link", "publish", "ingest"]


def test_install_and_check_warn_while_keys_are_missing(tmp_path: Path) -> None:
    ws = workspace.init("agii", tmp_path / "agii", now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    proto = tmp_path / "protocol.toml"
    proto.write_text(protocol_mod.default_text(), "utf-8")
    runner = CliRunner()
    installed = runner.invoke(cli, ["protocol", "install", str(proto), "--ws", str(ws.root)])
    assert installed.exit_code == 0
    assert "Warning: no keys registered for AgII" in installed.stderr
    assert "protocol add-keys FILE --from WS" in installed.stderr
    checked = runner.invoke(cli, ["protocol", "check", str(proto)])
    assert checked.exit_code == 0
    assert "ABB: no" not in checked.stdout
    assert "no researcher of ABB has keys registered" in checked.stderr


def test_a_complete_protocol_gives_no_warning(chain) -> None:  # type: ignore[no-untyped-def]
    proto = chain.spaces["agii"].protocol_path
    checked = CliRunner().invoke(cli, ["protocol", "check", str(proto)])
    assert checked.exit_code == 0
    assert checked.stderr == ""
    assert "ABB: no" not in checked.stdout


def test_a_missing_package_path_is_named_plainly(chain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    abb = own_copy(chain, "abb-1", tmp_path)
    r = CliRunner().invoke(
        cli, ["ingest", "--ws", str(abb.root), "--package", str(tmp_path / "typo.p3pkg")]
    )
    cli_error(r, "typo.p3pkg: no such file", "published package")


def test_a_file_that_is_no_package_is_named_plainly(chain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    abb = own_copy(chain, "abb-1", tmp_path)
    csv = tmp_path / "kbi.p3pkg"
    csv.write_text("Rijksregisternummer;Naam\n", "utf-8")
    r = CliRunner().invoke(cli, ["ingest", "--ws", str(abb.root), "--package", str(csv)])
    cli_error(r, "kbi.p3pkg: not a pijler3 package")


def test_a_package_of_another_step_says_what_it_is(chain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    abb = own_copy(chain, "abb-1", tmp_path)
    link_pkg = next(iter(chain.links.values())).package
    r = CliRunner().invoke(cli, ["ingest", "--ws", str(abb.root), "--package", str(link_pkg)])
    cli_error(r, "VDAB's linked package for AgII", "not AgII's published package")


def test_purge_asks_at_a_terminal(  # type: ignore[no-untyped-def]
    chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a terminal, purge shows what it would destroy and asks; 'n' keeps everything."""
    abb = own_copy(chain, "abb-1", tmp_path)
    monkeypatch.setattr("pijler3.cli.governance.at_terminal", lambda: True)
    later = "2040-01-01"
    set_clock(monkeypatch, later)
    r = CliRunner().invoke(cli, ["purge", "--ws", str(abb.root), "--now", later], input="n\n")
    assert r.exit_code == 1
    assert "for good? [y/N]" in r.output
    assert "Aborted" in r.output + r.stderr
    kept = CliRunner().invoke(cli, ["purge", "--ws", str(abb.root), "--dry-run", "--now", later])
    assert "Would purge" in kept.output
    assert (abb.root / "store" / "analysis.duckdb").exists()


def test_a_second_export_for_a_peildatum_needs_supersede(chain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The second export for one peildatum is refused, naming --supersede; with it, the
    new package replaces the old one in the outbox, so the README's glob finds one."""
    agii = own_copy(chain, "agii", tmp_path)
    day = next(iter(chain.extracts))
    kbi = chain.extracts[day].kbi
    args = ["export", "--ws", str(agii.root), "--kbi", str(kbi), "--peildatum", day.isoformat()]
    cli_error(CliRunner().invoke(cli, args), "exported already", "(--supersede)")
    again = CliRunner().invoke(cli, [*args, "--supersede"])
    assert again.exit_code == 0, again.output
    assert len(list(agii.outbox.glob(f"export-{day:%Y%m%d}-*.p3pkg"))) == 1
