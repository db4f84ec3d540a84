"""Free text is scrubbed of the person's own values and of every identifier shape."""

from __future__ import annotations

import pytest

from pijler3 import scrub

R = scrub.REMOVED


@pytest.mark.parametrize(
    ("text", "own", "expected", "removed"),
    [
        ("Jan belde", ["Jan"], f"{R} belde", 1),
        ("met PEETERS gesproken", ["Peeters"], f"met {R} gesproken", 1),
        ("Janssens is iemand anders", ["Jan"], "Janssens is iemand anders", 0),
        ("gsm 0470 12 34 56", [], f"gsm {R}", 1),
        ("tel 02/123.45.67", [], f"tel {R}", 1),
        ("bel +32 470 12 34 56", [], f"bel {R}", 1),
        ("mail jan@x.be", ["Jan"], f"mail {R}", 1),
        ("rr 85.07.30-033.28 ok", [], f"rr {R} ok", 1),
        ("rr 85073003328", [], f"rr {R}", 1),
        ("iban BE68 5390 0754 7034", [], f"iban {R}", 1),
        ("gestart op 15/03/2023, 3 dagen", [], "gestart op 15/03/2023, 3 dagen", 0),
        ("werkt al sinds 2021", [], "werkt al sinds 2021", 0),
        ("Zoë heeft werk", ["Zoë"], f"{R} heeft werk", 1),
    ],
)
def test_scrub(text: str, own: list[str], expected: str, removed: int) -> None:
    assert (expected, removed) == scrub.scrub(text, own)


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("mail a.b@vdab.be", ["email"]),
        ("0470123456", ["phone"]),
        ("85.07.30-033.28", ["insz"]),
        ("BE68539007547034", ["iban"]),
        ("Werkt al als kok sinds 01/02/2023", []),
    ],
)
def test_find_identifiers(text: str, kinds: list[str]) -> None:
    assert kinds == scrub.find_identifiers(text)
