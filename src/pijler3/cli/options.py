"""What every command shares: the error mapping, option helpers (paths, ``--now``,
``--ws``), opening a workspace under the global ``--protocol``, and the parsing of dates
that turns a bad value into a one-line error.

The error mapping lives in :class:`Command`, the class of every command: a
:class:`~pijler3.contract.errors.UserError` or an :class:`OSError` becomes click's own
``Error: …`` line with exit code 1, inside click, so that ``CliRunner`` tests see
exactly what a person sees. When the library names the parameter an error is about
(``UserError.param``), the message is prefixed with the option a person typed.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from pijler3.contract.errors import UserError
from pijler3.exchange import workspace

F = TypeVar("F", bound=Callable[..., Any])

FILE = click.Path(dir_okay=False, path_type=Path)
DIR = click.Path(file_okay=False, path_type=Path)


class CliError(click.ClickException):
    """A refusal, shown by click as ``Error: …`` on stderr with exit code 1."""

    exit_code = 1


def user_message(ctx: click.Context, exc: UserError) -> str:
    """The error line for ``exc``, naming the option a person typed for the library's
    parameter ``exc.param``: before the message when the error is about the option's
    value (``--notice-date: …``), after it when the option is a flag that would help
    (``… (--supersede)``)."""
    text = str(exc)
    for p in ctx.command.params if exc.param else ():
        if p.name != exc.param:
            continue
        if isinstance(p, click.Option):
            name = max(p.opts, key=len)
            return f"{text} ({name})" if p.is_flag else f"{name}: {text}"
        return f"{p.human_readable_name}: {text}"
    return text


# The end of a first sentence: a full stop before white space or the end, but not the
# one of an abbreviation the help texts use ("art. 4", "e.g.").
_SENTENCE_END = re.compile(r"(?<!\bart)(?<!\be\.g)\.(?=\s|$)")

# The order commands are listed in: the order of the chain, then what surrounds it.
CHAIN_ORDER = (
    "init",
    "protocol",
    "synth",
    "export",
    "link",
    "publish",
    "ingest",
    "receipt",
    "report",
    "risk",
    "disclosure",
    "share",
    "breach",
    "purge",
    "verify-destruction",
    "status",
    "audit",
    "demo",
)


def first_sentence(text: str | None) -> str:
    """The whole first sentence of a help text, on one line: the command's summary."""
    flat = " ".join(inspect.cleandoc(text or "").split())
    end = _SENTENCE_END.search(flat)
    return flat[: end.end()] if end else flat


class Command(click.Command):
    """A command whose domain errors become one ``Error:`` line (see the module doc)."""

    def get_short_help_str(self, limit: int = 45) -> str:
        """The full first sentence of the help, not click's cut at 45 characters."""
        return self.short_help or first_sentence(self.help)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            raise CliError(user_message(ctx, exc)) from None
        except OSError as exc:
            # A file that cannot be read or written (permissions, a full disk, a missing
            # folder) is the user's to mend, not a bug: one line, no traceback.
            where = f"{exc.filename}: " if exc.filename else ""
            raise CliError(f"{where}{exc.strerror or exc}.") from None


class Group(click.Group):
    """A group whose commands and subgroups are :class:`Command` and :class:`Group`."""

    command_class = Command

    def get_short_help_str(self, limit: int = 45) -> str:
        return self.short_help or first_sentence(self.help)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Commands in the order of the chain (:data:`CHAIN_ORDER`), others after."""
        rank = {name: i for i, name in enumerate(CHAIN_ORDER)}
        return sorted(self.commands, key=lambda n: (rank.get(n, len(rank)), n))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as exc:  # raised by a group callback, such as --protocol's check
            raise CliError(user_message(ctx, exc)) from None


Group.group_class = Group


@dataclass(frozen=True)
class CliState:
    """What the top-level options decide for every command."""

    protocol_path: Path | None = None


def protocol_override() -> Path | None:
    """The file given with ``pijler3 --protocol FILE``, if any."""
    state = click.get_current_context().find_object(CliState)
    return state.protocol_path if state else None


def open_ws(path: Path, role: str | None = None) -> workspace.Workspace:
    """Open the workspace at ``path`` under the global ``--protocol``, if one was given."""
    return workspace.open_workspace(path, role=role, protocol_file=protocol_override())


# How far a moment a command records may lie after this machine's clock (clocks and
# typing differ by seconds, not more). A record dated later would make every later
# command a clock error until that moment came: the audit log never goes back in time.
AHEAD = dt.timedelta(minutes=5)


def clock() -> dt.datetime:
    """This machine's clock, in UTC."""
    return dt.datetime.now(dt.UTC)


def moment(value: str | None, option: str = "--now", *, recorded: bool = True) -> dt.datetime:
    """A date or date-time from the command line (UTC when no zone); None is the clock.

    A command that records what it does (``recorded``) may be dated in the past (the
    audit log refuses a moment before its last record) but not in the future: one typo
    in a year would lock the workspace for years. Only a preview (``purge --dry-run``,
    ``status``) may look ahead.
    """
    if value is None:
        return clock()
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise UserError(
            f"{option}: '{value}' is not a date or date-time.", hint="Use YYYY-MM-DD[THH:MM]."
        ) from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    now = clock()
    if recorded and parsed > now + AHEAD:
        raise UserError(
            f"{option}: {parsed.astimezone(dt.UTC):%d/%m/%Y %H:%M} UTC lies after this"
            f" machine's clock ({now:%d/%m/%Y %H:%M} UTC). What this command does is"
            " recorded, and a record dated in the future would refuse every later command"
            " until then.",
            hint="Leave the option out to use the clock (a time without a zone is UTC). To"
            " look ahead, use 'pijler3 purge --dry-run' or 'pijler3 status'.",
        )
    return parsed


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
