"""Status: term, deliveries and expiry, breaches, pending notifications, audit log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from test_retention import NOW0, World, deliver, make_world, pseudonyms

from pijler3.contract.errors import ProtocolError
from pijler3.exchange import _crypto
from pijler3.governance import breaches, copies, onward, share_records, status, termination


@pytest.fixture()
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def test_fresh_workspace_is_in_force_until_the_term_end_with_nothing_held(world: World) -> None:
    s = status.status(world.abb, now=NOW0)
    assert s.in_force and dt.date(2028, 9, 19) == s.last_day
    assert s.deliveries == () and s.breaches == () and s.audit_ok and not s.problems
    assert not world.abb.store_path.exists()  # status reads only
    assert "IN FORCE: packages may be produced and accepted until 19/09/2028" in status.render(s)


def test_status_flags_expired_deliveries_overdue_breaches_pending_notifications(
    world: World,
) -> None:
    r = deliver(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    onward.notify(
        world.abb, recipient="Univ X", recipient_key=_crypto.new_identity()[1], purpose="Analyse",
        fields=["regio"], deliveries=[r.delivery_id], now=NOW0,
    )  # fmt: skip
    breaches.report_breach(
        world.abb, discovered=NOW0, description="Verloren usb-stick", affects_other_party=True,
        now=NOW0,
    )  # fmt: skip
    day_before = dt.datetime(2029, 2, 28, 12, tzinfo=dt.UTC)
    s = status.status(world.abb, now=day_before)
    assert [d.expired for d in s.deliveries] == [False]
    assert not s.in_force  # the term ended on 19/09/2028
    s2 = status.status(world.abb, now=day_before + dt.timedelta(days=1))
    assert [d.expired for d in s2.deliveries] == [True]
    data = s2.to_dict()
    assert r.delivery_id == data["deliveries"][0]["delivery_id"]
    assert [b["overdue"] for b in data["breaches"]] == [True]
    assert len(data["pending_notifications"]) == 1
    text = status.render(s2)
    assert "EXPIRED: purge" in text and "OVERDUE" in text and "awaiting AgII: 1" in text


def test_status_shows_termination_and_a_broken_audit_log(world: World) -> None:
    now = dt.datetime(2025, 1, 31, tzinfo=dt.UTC)
    termination.terminate(world.abb, notice_date=now.date(), now=now)
    s = status.status(world.abb, now=now)
    assert s.in_force and dt.date(2025, 2, 27) == s.last_day
    assert "effective 28/02/2025" in status.render(s)
    later = status.status(world.abb, now=now + dt.timedelta(days=28))
    assert not later.in_force and "art. 12" in (later.in_force_problem or "")
    lines = world.abb.audit_path.read_text().splitlines(keepends=True)
    world.abb.audit_path.write_text("".join(lines[:-2] + lines[-1:]))
    broken = status.status(world.abb, now=now)
    assert not broken.audit_ok
    assert "Audit log: DOES NOT VERIFY" in status.render(broken)


def test_status_warns_that_the_protocol_file_names_no_dpo_contact_for_agii(world: World) -> None:
    """AgII's DPO is not in the signed protocol: status shows the warning line (art. 9)
    without counting it as a problem of the chain."""
    s = status.status(world.abb, now=NOW0)
    line = "the protocol file names no DPO contact for AgII: fill it in (art. 9)"
    assert s.warnings == (line,) and not s.problems
    assert f"  - {line}" in status.render(s)
    assert s.to_dict()["warnings"] == [line]


def test_status_shows_an_art8_termination_effective_on_the_notice_date(world: World) -> None:
    """The day before AgII's art. 8 notice the protocol is in force until that day; on
    the notice date it is not, and the message names art. 8."""
    notice = dt.date(2025, 3, 10)
    at = dt.datetime(2025, 3, 10, 9, tzinfo=dt.UTC)
    termination.terminate(world.agii, notice_date=notice, now=at, kind="art8")
    before = status.status(world.agii, now=at - dt.timedelta(days=1))
    assert before.in_force and dt.date(2025, 3, 9) == before.last_day
    assert "effective immediately (art. 8)" in status.render(before)
    on = status.status(world.agii, now=at)
    assert not on.in_force and "art. 8" in (on.in_force_problem or "")
    assert on.to_dict()["protocol"]["termination"]["kind"] == "art8"


def test_status_and_a_step_agree_when_the_termination_record_is_deleted(world: World) -> None:
    """One in-force check: with termination.json deleted but the termination in the
    audit log, status says NOT IN FORCE and ingest refuses, for the same reason."""
    notice = dt.date(2025, 1, 31)
    now = dt.datetime.combine(notice, dt.time(10), dt.UTC)
    termination.terminate(world.abb, notice_date=notice, now=now)
    termination.termination_path(world.abb).unlink()
    s = status.status(world.abb, now=now)
    assert not s.in_force
    assert s.in_force_problem is not None and "termination.json" in s.in_force_problem
    with pytest.raises(ProtocolError) as refused:
        deliver(world, dt.date(2024, 12, 31), pseudonyms("x"), now)
    assert refused.value.message == s.in_force_problem


def test_status_lists_notifications_acknowledgements_and_shares_side_by_side(
    world: World,
) -> None:
    """Three notifications in three states (waiting, acknowledged, shared): ABB's status
    shows each on one line with its acknowledgement and share; AgII's shows the two it
    acknowledged, and the share once recorded."""
    r = deliver(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    _, key = _crypto.new_identity()
    made = []
    for purpose in ("Eerste analyse", "Tweede analyse", "Derde analyse"):
        made.append(
            onward.notify(
                world.abb,
                recipient="Univ X",
                recipient_key=key,
                purpose=purpose,
                fields=["regio"],
                deliveries=["2024-02-29"],
                now=NOW0,
            )
        )
    for n in made[1:]:
        onward.record_ack(world.abb, onward.acknowledge(world.agii, n.path, now=NOW0), now=NOW0)
    shared = onward.share(
        world.abb, notification_id=made[2].id, recipient_key=key, out=world.root / "s.p3pkg",
        now=NOW0,
    )  # fmt: skip
    share_records.record_share(world.agii, shared.record, now=NOW0)
    rows = {
        d["notification_id"]: d for d in status.status(world.abb, now=NOW0).to_dict()["disclosures"]
    }
    assert rows[made[0].id]["acknowledged"] is None and rows[made[0].id]["shared"] is None
    assert rows[made[1].id]["acknowledged"] is not None and rows[made[1].id]["shared"] is None
    assert rows[made[2].id]["shared"]["rows"] == 6
    assert rows[made[2].id]["shared"]["deliveries"] == [r.delivery_id]
    text = status.render(status.status(world.abb, now=NOW0))
    assert f"  {made[0].id}  Univ X     1       29/02/2024  no            no" in text
    assert (
        f"  {made[2].id}  Univ X     1       29/02/2024  01/03/2024    01/03/2024, 6 rows" in text
    )
    at_agii = status.status(world.agii, now=NOW0).to_dict()["disclosures"]
    assert [d["notification_id"] for d in at_agii] == sorted(n.id for n in made[1:])
    assert [d["shared"] is not None for d in at_agii] == [
        n.id == made[2].id for n in sorted(made[1:], key=lambda n: n.id)
    ]


def test_status_at_agii_flags_copies_past_their_expiry(world: World) -> None:
    """AgII's outbox copy of a delivery made on 01/03/2024 is kept on 28/02/2029 and is a
    problem ('run purge') from 01/03/2029; after the purge the problem is gone."""
    r = deliver(world, dt.date(2024, 2, 29), pseudonyms("a"), NOW0)
    kept = status.status(world.agii, now=dt.datetime(2029, 2, 28, 12, tzinfo=dt.UTC))
    assert [(c.delivery_id, c.expires_at) for c in kept.copies] == [
        (r.delivery_id, dt.date(2029, 3, 1))
    ]
    assert not any("copies" in p for p in kept.problems)
    late_at = dt.datetime(2029, 3, 1, 12, tzinfo=dt.UTC)
    late = status.status(world.agii, now=late_at)
    assert any("copies of 1 delivery/deliveries past expiry" in p for p in late.problems)
    assert f"  {r.delivery_id}  1      01/03/2029  EXPIRED: purge" in status.render(late)
    copies.purge(world.agii, now=late_at)
    assert status.status(world.agii, now=late_at).copies == ()
