"""Checks every governance command shares: the workspace's role and free text."""

from __future__ import annotations

from pijler3.contract.errors import GovernanceError
from pijler3.exchange import scrub
from pijler3.exchange.workspace import Workspace


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
    found = scrub.find_identifiers(value)
    if found:
        article = "an" if found[0] in ("iban", "insz", "email") else "a"
        raise GovernanceError(
            f"{what} holds something shaped like {article} {found[0]}.",
            hint="Governance records never hold a person's data; describe without it.",
            param=param,
        )
    return value.strip()
