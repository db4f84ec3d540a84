"""Fixed inputs for the Dutch letters of the governance modules, shared by
``tests/test_words.py`` and the one-off script that wrote ``tests/data/letters/``.

The expected letters in ``tests/data/letters/`` were written ONCE by the code as it was
before the letters moved to templates (commit "letters: expected output of today's
code"), so the templates are checked against an independent producer: the code they
replaced. Regenerate them only when a letter is meant to change, and read the diff.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from pijler3.contract import protocol as protocol_mod
from pijler3.contract.protocol import Protocol
from pijler3.exchange.workspace import Workspace
from pijler3.governance import breaches, copies, retention

LETTERS = Path(__file__).parent / "data" / "letters"
SIGNATURE = "c2lnbmF0dXJlLW9mLWEtZml4ZWQtdGVzdC1yZWNvcmQ="
KEY = "a2V5LW9mLWEtZml4ZWQtdGVzdC13b3Jrc3BhY2UtMDAwMDA="


def _shipped() -> Protocol:
    return protocol_mod.loads(protocol_mod.default_text())


def _filled() -> Protocol:
    """The shipped protocol with every DPO contact filled in (one without a phone)."""
    p = _shipped()
    parties = dict(p.parties)
    parties["agii"] = dataclasses.replace(
        parties["agii"],
        dpo_name="Anna Peeters",
        dpo_email="dpo@integratie-inburgering.be",
        dpo_phone="+32 2 205 00 00",
    )
    parties["vdab"] = dataclasses.replace(
        parties["vdab"], dpo_name="Bram Claes", dpo_email="dpo@vdab.be", dpo_phone=""
    )
    return dataclasses.replace(p, parties=parties)


def _retention_body(deliveries: int) -> dict[str, Any]:
    rows = [
        {
            "delivery_id": f"2021063{i}-0a1b2c3{i}",
            "peildatum": f"2021-0{6 + i}-30",
            "received_at": f"2021-0{7 + i}-15T09:30:00+00:00",
            "expires_at": f"2026-0{7 + i}-15",
            "rows": 1234 * (i + 1),
            "package_sha256": "0" * 64,
            "files": [f"archive/2021063{i}-0a1b2c3{i}.p3pkg"] * (i + 1),
        }
        for i in range(deliveries)
    ]
    return {
        "performed_at": "2026-10-15T09:00:00+00:00",
        "performed_by": {"role": "abb", "name": "ABB onderzoek", "signing_key": KEY},
        "deliveries": rows,
        "total_rows": sum(r["rows"] for r in rows),
    }


def _copies_body(party: str) -> dict[str, Any]:
    return {
        "performed_at": "2026-10-15T09:00:00+00:00",
        "performed_by": {"role": party.lower(), "party": party, "signing_key": KEY},
        "deliveries": [
            {
                "delivery_id": "20210630-0a1b2c30",
                "first_handled": "2021-07-01",
                "expires_at": "2026-07-01",
                "reason": "expired",
                "received_on": None,
                "files": ["outbox/a.p3pkg", "quarantine/20210630-0a1b2c30.csv"],
            },
            {
                "delivery_id": "20260630-0a1b2c31",
                "first_handled": "2026-07-02",
                "expires_at": "2031-07-02",
                "reason": "received",
                "received_on": "2026-07-20",
                "files": ["outbox/b.p3pkg"],
            },
        ],
    }


def _breach(role: str, affects: bool) -> breaches.Breach:
    found = dt.datetime(2026, 10, 14, 22, 15, tzinfo=dt.UTC)
    return breaches.Breach(
        id="B-20261015-001",
        discovered=found,
        reported_at=dt.datetime(2026, 10, 15, 9, 0, tzinfo=dt.UTC),
        description="Een laptop met een kopie van de werkmap werd gestolen.",
        affects_other_party=affects,
        other_party=breaches.OTHER_PARTY[role],
        authority_deadline=breaches.authority_deadline(found),
    )


def _reporter(role: str) -> Workspace:
    # draft_notification reads only the reporter's role.
    return cast(Workspace, SimpleNamespace(role=role))


def cases() -> dict[str, Callable[[], str]]:
    """File name -> the letter today's code writes for it."""
    out: dict[str, Callable[[], str]] = {}
    for name, proto in (("shipped", _shipped), ("filled", _filled)):
        for n in (1, 2):
            out[f"retention-{name}-{n}.txt"] = lambda proto=proto, n=n: (
                retention.destruction_letter(_retention_body(n), proto(), SIGNATURE)
            )
        for party in ("AgII", "VDAB"):
            out[f"copies-{name}-{party}.txt"] = lambda proto=proto, party=party: (
                copies.destruction_letter(_copies_body(party), proto(), SIGNATURE)
            )
        for role in ("abb", "agii", "vdab"):
            for affects in (True, False):
                out[f"breach-{name}-{role}-{'both' if affects else 'own'}.txt"] = (
                    lambda proto=proto, role=role, affects=affects: breaches.draft_notification(
                        _breach(role, affects), proto(), _reporter(role)
                    )
                )
    return out


if __name__ == "__main__":  # the one-off run that wrote the expected letters
    LETTERS.mkdir(parents=True, exist_ok=True)
    for file, make in cases().items():
        (LETTERS / file).write_bytes(make().encode("utf-8"))
