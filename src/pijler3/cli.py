"""The command line: parses, calls one library function, prints.

A :class:`~pijler3.errors.UserError` becomes a one-line ``Error: …`` on stderr and
exit code 1, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pijler3 import __version__
from pijler3 import protocol as protocol_mod
from pijler3.errors import UserError

PROTOCOL_OPTION = click.option(
    "--protocol",
    "protocol_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Protocol file (TOML). Default: the workspace's, else the shipped protocol of 20/09/2023.",
)


@click.group()
@click.version_option(__version__, prog_name="pijler3")
def cli() -> None:
    """pijler3: the AgII-ABB protocol for monitoring the third pillar of inburgering."""


@cli.group()
def protocol() -> None:
    """Check, render and manage protocol files."""


@protocol.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def protocol_check(file: Path) -> None:
    """Validate a protocol file and summarise it."""
    p = protocol_mod.load(file)
    click.echo(f"{file}: valid protocol {p.identifier}")
    click.echo(f"  signed {p.signed:%d/%m/%Y}, in force until {p.term_end:%d/%m/%Y}")
    click.echo(f"  {len(p.fields)} fields, {len(p.recipients)} recipient(s) with keys")


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except UserError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
