"""Option helpers shared by the command-line modules (:mod:`pijler3.cli.commands`,
:mod:`pijler3.cli.governance`): paths, ``--now``, ``--ws``, ``--protocol``, and the
parsing of dates that turns a bad value into a one-line error."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from pijler3.contract.errors import UserError

F = TypeVar("F", bound=Callable[..., Any])

FILE = click.Path(dir_okay=False, path_type=Path)
DIR = click.Path(file_okay=False, path_type=Path)


def moment(value: str | None, option: str = "--now") -> dt.datetime:
    """A date or date-time from the command line (UTC when no zone); None is the clock."""
    if value is None:
        return dt.datetime.now(dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise UserError(
            f"{option}: '{value}' is not a date or date-time.", hint="Use YYYY-MM-DD[THH:MM]."
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def day(value: str, option: str) -> dt.date:
    """A date (YYYY-MM-DD) from the command line."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{option}: '{value}' is not a date.", hint="Use YYYY-MM-DD.") from None


def now_option(f: F) -> F:
    return click.option(
        "--now",
        "now",
        default=None,
        metavar="DATETIME",
        help="Act as if it were this moment (ISO date or date-time). Default: the clock.",
    )(f)


def ws_option(f: F) -> F:
    return click.option(
        "--ws", "ws_path", type=DIR, required=True, help="The party's workspace directory."
    )(f)


def protocol_option(f: F) -> F:
    return click.option(
        "--protocol",
        "protocol_path",
        type=FILE,
        default=None,
        help="Protocol file (TOML). Default: the workspace's protocol.toml.",
    )(f)
