"""The README's walkthrough is true: every ``$`` line of it runs and succeeds.

The commands run in order in a fresh folder, through bash (for the globs), with the
virtualenv's ``pijler3`` first on PATH and ``src`` linked so that the ``cp`` of the
shipped protocol works as it does in a checkout.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def walkthrough_commands() -> list[str]:
    text = (ROOT / "README.md").read_text("utf-8")
    section = text.split("## Walkthrough", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```console\n(.*?)```", section, re.S)
    return [line[2:] for block in blocks for line in block.splitlines() if line.startswith("$ ")]


def test_the_walkthrough_has_the_whole_chain() -> None:
    commands = " ".join(walkthrough_commands())
    for step in (
        "init",
        "export",
        "link",
        "publish",
        "ingest",
        "report",
        "audit verify",
        "disclosure notify",
        "breach report",
        "purge",
        "status",
    ):
        assert f"pijler3 {step}" in commands, step


def test_every_walkthrough_command_succeeds(tmp_path: Path) -> None:
    (tmp_path / "src").symlink_to(ROOT / "src")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for command in walkthrough_commands():
        proc = subprocess.run(
            ["bash", "-c", command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, (command, proc.stderr)
        assert "Traceback" not in proc.stderr, command
    assert (tmp_path / "report" / "report.html").exists()
