"""SYSTEM.md guarantee 2: each bad input gives one line naming file/row/column, exit 1.

The commands run in-process through click's CliRunner, which shows stdout, stderr and
the exit code exactly as a person sees them (an escaped exception would be a traceback:
:func:`conftest.cli_error` asserts the command ended through SystemExit instead). One
test runs the real console entry point as a process, for its exit code. After each
refusal the workspace's outbox is as before: nothing half-written.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import click
import click.testing
import polars as pl
import pytest
from click.testing import CliRunner
from conftest import SETUP, cli_error, protocol_text, set_clock

from pijler3 import demo
from pijler3.cli.commands import cli
from pijler3.exchange import workspace
from pijler3.extracts import synth
from pijler3.steps import export

PEILDATUM = "2026-09-30"


@pytest.fixture(scope="module")
def setup(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, workspace.Workspace], Path]:
    root = tmp_path_factory.mktemp("cli")
    spaces = demo.setup(root, SETUP, protocol_text())
    ex = synth.generate(root / "ex", persons=300, peildatum=dt.date(2026, 9, 30), seed=3)
    return root, spaces, ex.kbi


def run(*args: str | Path) -> click.testing.Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


assert_one_line_error = cli_error


def kbi_frame(kbi: Path) -> pl.DataFrame:
    return pl.read_csv(kbi, separator=";", infer_schema=False)


def export_cmd(ws: workspace.Workspace, kbi: Path, *extra: str) -> click.testing.Result:
    return run(
        "export",
        "--ws",
        ws.root,
        "--kbi",
        kbi,
        "--peildatum",
        PEILDATUM,
        "--now",
        "2026-10-07",
        *extra,
    )


def outbox(ws: workspace.Workspace) -> list[str]:
    return sorted(p.name for p in ws.outbox.iterdir())


def test_wrong_encoding_names_the_file(setup, tmp_path: Path) -> None:
    _, spaces, kbi = setup
    bad = tmp_path / "kbi-utf16.csv"
    bad.write_bytes(kbi.read_text("utf-8").encode("utf-16"))
    before = outbox(spaces["agii"])
    assert_one_line_error(export_cmd(spaces["agii"], bad), "kbi-utf16.csv")
    assert outbox(spaces["agii"]) == before


def test_wrong_delimiter_names_the_file(setup, tmp_path: Path) -> None:
    _, spaces, kbi = setup
    bad = tmp_path / "kbi-tab.csv"
    bad.write_text(kbi.read_text("utf-8").replace(";", "\t"), "utf-8")
    assert_one_line_error(export_cmd(spaces["agii"], bad), "kbi-tab.csv")


def test_unknown_column_names_file_and_column(setup, tmp_path: Path) -> None:
    _, spaces, kbi = setup
    bad = tmp_path / "kbi-extra.csv"
    kbi_frame(kbi).with_columns(pl.lit("x").alias("Godsdienst")).write_csv(bad, separator=";")
    assert_one_line_error(export_cmd(spaces["agii"], bad), "kbi-extra.csv", "Godsdienst")


def test_missing_column_names_file_and_column(setup, tmp_path: Path) -> None:
    _, spaces, kbi = setup
    bad = tmp_path / "kbi-missing.csv"
    kbi_frame(kbi).drop("Doelgroep").write_csv(bad, separator=";")
    assert_one_line_error(export_cmd(spaces["agii"], bad), "kbi-missing.csv", "Doelgroep")


def test_no_valid_insz_names_the_column(setup, tmp_path: Path) -> None:
    _, spaces, kbi = setup
    bad = tmp_path / "kbi-insz.csv"
    kbi_frame(kbi).with_columns(pl.lit("12345678901").alias("Rijksregisternummer")).write_csv(
        bad, separator=";"
    )
    line = assert_one_line_error(
        export_cmd(spaces["agii"], bad), "kbi-insz.csv", "Rijksregisternummer"
    )
    assert "12345678901" not in line


def test_dates_that_do_not_parse_name_the_column(setup, tmp_path: Path) -> None:
    _, spaces, kbi = setup
    bad = tmp_path / "kbi-dates.csv"
    kbi_frame(kbi).with_columns(pl.lit("15.03.2023").alias("Datum aanmelding")).write_csv(
        bad, separator=";"
    )
    assert_one_line_error(export_cmd(spaces["agii"], bad), "kbi-dates.csv", "Datum aanmelding")


def test_a_row_with_too_many_fields_is_named(setup, tmp_path: Path) -> None:
    _, spaces, kbi = setup
    lines = kbi.read_text("utf-8").splitlines(keepends=True)
    lines[5] = lines[5].rstrip("\r\n") + ";extra\r\n"
    bad = tmp_path / "kbi-fields.csv"
    bad.write_text("".join(lines), "utf-8")
    assert_one_line_error(export_cmd(spaces["agii"], bad), "kbi-fields.csv", "6")


def test_protocol_expired_names_date_and_article(
    setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, spaces, kbi = setup
    set_clock(monkeypatch, "2028-09-20T12:00")
    # A copy: the refusal is recorded at the moment given, after which the shared
    # workspace could record nothing earlier.
    ws = tmp_path / "agii"
    shutil.copytree(spaces["agii"].root, ws)
    proc = run(
        "export",
        "--ws",
        ws,
        "--kbi",
        kbi,
        "--peildatum",
        PEILDATUM,
        "--now",
        "2028-09-20",
    )
    assert_one_line_error(proc, "19/09/2028", "art. 5")


def test_a_moment_after_the_clock_is_refused_before_anything_is_recorded(
    setup, tmp_path: Path
) -> None:
    """A year typed wrong (2062 for 2026) once locked a workspace until then: the refusal
    was recorded at that moment, and the log refuses every record before its last one.
    Now a command that records refuses a --now after the clock, records nothing, and the
    next command at the clock's time works."""
    _, spaces, kbi = setup
    ws = tmp_path / "agii"
    shutil.copytree(spaces["agii"].root, ws)
    log = (ws / "audit.jsonl").read_bytes()
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    for args in (
        ["export", "--ws", ws, "--kbi", kbi, "--peildatum", PEILDATUM, "--now", "2062-10-07"],
        ["export", "--ws", ws, "--kbi", tmp_path / "missing.csv", "--peildatum", PEILDATUM,
         "--now", later],
        ["audit", "checkpoint", "--ws", ws, "-o", tmp_path / "cp.json", "--now", "2062-10-07"],
        ["purge", "--ws", ws, "--now", "2062-10-07"],
    ):  # fmt: skip
        assert_one_line_error(run(*args), "--now", "lies after this machine's clock", "--dry-run")
    assert (ws / "audit.jsonl").read_bytes() == log
    assert not (tmp_path / "cp.json").exists()
    # Previews may look ahead; a moment within minutes of the clock is the clock's.
    assert run("purge", "--ws", ws, "--dry-run", "--now", "2062-10-07").exit_code == 0
    assert run("status", "--ws", ws, "--now", "2062-10-07").exit_code == 0
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)).isoformat()
    cp = run("audit", "checkpoint", "--ws", ws, "-o", tmp_path / "cp.json", "--now", soon)
    assert cp.exit_code == 0, cp.output
    # The log still takes a record at the clock's time (a refusal here, not a clock error).
    missing = run("export", "--ws", ws, "--kbi", tmp_path / "missing.csv", "--peildatum", PEILDATUM)
    assert_one_line_error(missing, "file not found")
    assert len((ws / "audit.jsonl").read_bytes().splitlines()) == len(log.splitlines()) + 1


@pytest.fixture(scope="module")
def export_package(setup) -> Path:
    _, spaces, kbi = setup
    result = export.export(
        spaces["agii"],
        kbi,
        peildatum=dt.date(2026, 9, 30),
        now=dt.datetime(2026, 10, 7, tzinfo=dt.UTC),
    )
    return result.package


def test_tampered_package_is_refused_and_nothing_written(
    setup, export_package: Path, tmp_path: Path
) -> None:
    root, spaces, _ = setup
    data = bytearray(export_package.read_bytes())
    data[len(data) // 2] ^= 0x01
    bad = tmp_path / "tampered.p3pkg"
    bad.write_bytes(bytes(data))
    ex = root / "ex"
    before = outbox(spaces["vdab"])
    proc = run(
        "link",
        "--ws",
        spaces["vdab"].root,
        "--package",
        bad,
        "--werkzoekenden",
        ex / "vdab_werkzoekenden.csv",
        "--acties",
        ex / "vdab_acties.csv",
        "--now",
        "2026-10-08",
    )
    assert_one_line_error(proc, "tampered.p3pkg")
    assert outbox(spaces["vdab"]) == before


def test_a_key_that_is_not_a_recipient_is_refused(setup, export_package: Path) -> None:
    root, spaces, _ = setup
    # AgII's export is for VDAB only: an ABB researcher's key cannot open it, and the
    # error says so without telling which check failed.
    stranger = workspace.init("vdab", root / "stranger", now=SETUP)
    stranger.protocol_path.write_bytes(spaces["vdab"].protocol_path.read_bytes())
    ex = root / "ex"
    proc = run(
        "link",
        "--ws",
        stranger.root,
        "--package",
        export_package,
        "--werkzoekenden",
        ex / "vdab_werkzoekenden.csv",
        "--acties",
        ex / "vdab_acties.csv",
        "--now",
        "2026-10-08",
    )
    assert_one_line_error(proc, export_package.name)
    assert outbox(stranger) == []


def test_synth_names_the_option_and_the_library_names_the_parameter(tmp_path: Path) -> None:
    """A peildatum before the reform: the command line prefixes the option a person typed,
    while the library's own message names no option (it names its parameter)."""
    result = run("synth", "--persons", "10", "--peildatum", "2021-12-31", "-o", tmp_path / "x")
    line = cli_error(result, "--peildatum: the peildatum must be after 01/03/2022")
    assert line.count("--") == 1
    with pytest.raises(synth.SynthError) as err:
        synth.generate(tmp_path / "y", persons=10, peildatum=dt.date(2021, 12, 31), seed=1)
    assert (err.value.param, "--" in str(err.value)) == ("peildatum", False)


def test_a_missing_workspace_is_a_clear_error(tmp_path: Path) -> None:
    assert_one_line_error(run("audit", "verify", "--ws", tmp_path / "nowhere"), "workspace")


def test_a_folder_that_cannot_be_written_is_a_one_line_error() -> None:
    """An OSError (permissions, a missing or read-only folder) is the user's to mend."""
    proc = run("synth", "--persons", "10", "--peildatum", PEILDATUM, "-o", "/proc/pijler3-test")
    assert_one_line_error(proc, "/proc/pijler3-test")


def test_the_console_script_exits_1_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    """The real process, through ``python -m pijler3``: exit code 1, one ``Error:`` line."""
    proc = subprocess.run(
        [sys.executable, "-m", "pijler3", "audit", "verify", "--ws", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"Error: {tmp_path / 'nowhere'}: not a pijler3 workspace (no workspace.toml)."
        " Create one with 'pijler3 init'."
    ]


def test_the_cli_names_the_option_the_library_error_is_about() -> None:
    """The library names its parameter (``UserError.param``), never a flag; the CLI puts
    the option a person types before a value's error and after a flag's hint."""
    from pijler3.cli.options import user_message
    from pijler3.contract.errors import UserError

    ingest_cmd = cli.commands["ingest"]
    ctx = click.Context(ingest_cmd)
    held = UserError("a delivery is held already.", param="supersede")
    assert user_message(ctx, held) == "a delivery is held already. (--supersede)"
    wrong = UserError("not a package.", param="pkg")
    assert user_message(ctx, wrong) == "--package: not a package."
    plain = UserError("nothing to name.")
    assert user_message(ctx, plain) == "nothing to name."
