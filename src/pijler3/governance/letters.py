"""The Dutch letters of governance, rendered from the Jinja templates in
``data/templates/letters/``: the destruction records' letters for AgII's DPO (ABB's
purge and the senders' copies) and the notification of a breach to the other party's
DPO. The words are in the templates; this module gives them their values and the nl-BE
formatters (:mod:`pijler3.contract.fmt`) as filters.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from pijler3.contract import words
from pijler3.contract.fmt import fmt_iso_date, fmt_moment
from pijler3.governance.common import templates

if TYPE_CHECKING:
    import jinja2

DESTRUCTION = "destruction.txt.j2"
DESTRUCTION_COPIES = "destruction-copies.txt.j2"
BREACH_NOTIFICATION = "breach-notification.txt.j2"


def _minute(iso: str) -> str:
    """An ISO moment to the minute as the destruction letters write it
    (``2026-10-15 09:00``)."""
    return iso[:16].replace("T", " ")


@cache
def _env() -> jinja2.Environment:
    # Plain text: a value is written as it is.
    env = templates("data/templates/letters", autoescape=False)
    env.filters["date_nl"] = fmt_iso_date
    env.filters["moment"] = fmt_moment
    env.filters["minute"] = _minute
    env.globals["missing"] = words.word("breach", "missing_contact")
    return env


def render(template: str, **values: Any) -> str:
    """The letter ``template`` with ``values`` filled in; a value the template names but
    is not given fails (StrictUndefined) rather than leaving a blank in a letter."""
    return _env().get_template(template).render(**values)
