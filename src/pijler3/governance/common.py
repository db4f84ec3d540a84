"""What every governance command shares: the checks of the workspace's role and of free
text, and the settings of the templates it renders (letters, the published protocol).

Jinja and the identifier scrubber are imported where they are used: every step imports
governance, and most runs render no template and check no text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pijler3.contract.errors import GovernanceError
from pijler3.exchange.workspace import Workspace

if TYPE_CHECKING:
    import jinja2


def require_role(ws: Workspace, role: str, command: str) -> None:
    """Raise unless ``ws`` is the workspace of ``role``, which does ``command``."""
    if ws.role != role:
        raise GovernanceError(
            f"{ws.root}: '{command}' is done in the {role} workspace, this is the {ws.role} one."
        )


def check_text(value: str, param: str, what: str) -> str:
    """``value`` stripped; refused when empty or when it holds an identifier's shape.

    ``what`` names the text in words ("the purpose"); ``param`` is the parameter's name,
    for the command line to name its option.
    """
    if not value.strip():
        raise GovernanceError(f"{what} must not be empty.", param=param)
    from pijler3.exchange import scrub

    found = scrub.find_identifiers(value)
    if found:
        article = "an" if found[0] in ("iban", "insz", "email") else "a"
        raise GovernanceError(
            f"{what} holds something shaped like {article} {found[0]}.",
            hint="Governance records never hold a person's data; describe without it.",
            param=param,
        )
    return value.strip()


def templates(folder: str, *, autoescape: bool) -> jinja2.Environment:
    """The Jinja environment of the package's templates in ``folder``: a missing value
    is an error, block tags leave no blank lines, the last newline is kept."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("pijler3", folder),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
