"""Governance: termination (art. 12), onward disclosure and share (art. 4), breaches (art. 9)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from test_retention import World, deliver, make_world, pseudonyms

from pijler3.analysis import dataset
from pijler3.contract import protocol as protocol_mod
from pijler3.contract import terms
from pijler3.contract.errors import GovernanceError, PackageError, ProtocolError, UserError
from pijler3.exchange import _crypto, audit, documents, package
from pijler3.governance import breaches, onward, share_records, termination


@pytest.fixture()
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), dt.UTC)


# -- termination -----------------------------------------------------------------------------


def test_termination_takes_effect_one_month_after_notice(world: World) -> None:
    """Notice on 31/01/2025: the steps still work on 27/02/2025 and refuse from
    28/02/2025 (one month later, clamped), naming the date and art. 12."""
    notice = dt.date(2025, 1, 31)
    t = termination.terminate(world.agii, notice_date=notice, now=at(dt.date(2025, 2, 3)))
    assert dt.date(2025, 2, 28) == t.effective
    assert notice == termination.termination(world.agii).notice_date  # type: ignore[union-attr]
    protocol = world.agii.protocol()
    termination.check_in_force(world.agii, protocol, dt.date(2025, 2, 27))
    with pytest.raises(ProtocolError, match=r"effective 28/02/2025 \(art\. 12\)"):
        termination.check_in_force(world.agii, protocol, dt.date(2025, 2, 28))


def test_after_termination_ingest_refuses_a_package(world: World) -> None:
    """A delivery is accepted the day before the termination takes effect, and refused
    on the day itself."""
    termination.terminate(world.abb, notice_date=dt.date(2025, 5, 15), now=at(dt.date(2025, 5, 15)))
    deliver(world, dt.date(2025, 6, 13), pseudonyms("a"), at(dt.date(2025, 6, 14)))
    with pytest.raises(ProtocolError, match=r"effective 15/06/2025 \(art\. 12\)"):
        deliver(world, dt.date(2025, 6, 14), pseudonyms("b"), at(dt.date(2025, 6, 15)))


def test_termination_is_signed_audited_and_cannot_be_replaced(world: World) -> None:
    """The record verifies; the audit log has it; another notice date is refused; an
    edited notice date is detected."""
    now = at(dt.date(2025, 1, 31))
    termination.terminate(world.abb, notice_date=dt.date(2025, 1, 31), now=now)
    assert termination.termination(world.abb) is not None
    events = [json.loads(x)["event"] for x in world.abb.audit_path.read_text().splitlines()]
    assert events[-1] == "protocol.terminated"
    with pytest.raises(UserError, match="recorded already"):
        termination.terminate(world.abb, notice_date=dt.date(2025, 1, 30), now=now)
    path = termination.termination_path(world.abb)
    doc = json.loads(path.read_text())
    doc["body"]["notice_date"] = "2026-01-31"
    path.write_text(json.dumps(doc))
    with pytest.raises(UserError, match="the document was changed"):
        termination.termination(world.abb)


def test_termination_refuses_a_notice_in_the_future_or_outside_the_term(world: World) -> None:
    now = at(dt.date(2025, 1, 31))
    with pytest.raises(UserError, match="after today"):
        termination.terminate(world.abb, notice_date=dt.date(2025, 2, 1), now=now)
    with pytest.raises(UserError, match="outside the protocol's term"):
        termination.terminate(world.abb, notice_date=dt.date(2023, 1, 1), now=now)


def test_art8_termination_by_agii_takes_effect_on_the_notice_date_itself(world: World) -> None:
    """AgII ends the protocol under art. 8 on 10/03/2025: governance steps still work on
    09/03/2025 and are refused on 10/03/2025, with a message naming art. 8."""
    notice = dt.date(2025, 3, 10)
    t = termination.terminate(world.agii, notice_date=notice, now=at(notice), kind="art8")
    assert (t.kind, t.effective, t.article) == ("art8", notice, "art. 8")
    assert termination.termination(world.agii) == t
    protocol = world.agii.protocol()
    termination.check_in_force(world.agii, protocol, dt.date(2025, 3, 9))
    with pytest.raises(ProtocolError, match=r"10/03/2025.*art\. 8, in derogation of art\. 5"):
        termination.check_in_force(world.agii, protocol, notice)
    events = [json.loads(x) for x in world.agii.audit_path.read_text().splitlines()]
    assert events[-1]["event"] == "protocol.terminated"
    assert events[-1]["details"]["kind"] == "art8"


def test_terms_honour_the_kind_at_the_boundary() -> None:
    """The day before the notice date is in force for every kind; on the notice date an
    art. 8 or legal-basis end is refused while ordinary notice runs for a month."""
    p = protocol_mod.load()
    notice = dt.date(2025, 3, 10)
    for kind in ("notice", "art8", "legal-basis"):
        terms.check_in_force(p, dt.date(2025, 3, 9), notice_date=notice, kind=kind)
    terms.check_in_force(p, notice, notice_date=notice, kind="notice")
    with pytest.raises(ProtocolError, match=r"art\. 8"):
        terms.check_in_force(p, notice, notice_date=notice, kind="art8")
    with pytest.raises(ProtocolError, match=r"operation of law on 10/03/2025.*art\. 12"):
        terms.check_in_force(p, notice, notice_date=notice, kind="legal-basis")
    assert dt.date(2025, 4, 10) == terms.termination_effective(notice, p, "notice")
    assert notice == terms.termination_effective(notice, p, "legal-basis")


def test_only_agii_may_record_an_art8_termination(world: World) -> None:
    """ABB and VDAB are refused with a message naming art. 8; nothing is written."""
    now = at(dt.date(2025, 3, 10))
    for ws in (world.abb, world.vdab):
        with pytest.raises(GovernanceError, match=r"only AgII may end the protocol.*art\. 8"):
            termination.terminate(ws, notice_date=now.date(), now=now, kind="art8")
        assert not termination.termination_path(ws).exists()


def test_any_party_records_the_end_by_operation_of_law(world: World) -> None:
    """The end of the legal basis (art. 12) is recorded by ABB and by VDAB alike, and
    takes effect on the date itself."""
    day = dt.date(2026, 1, 1)
    for ws in (world.abb, world.vdab):
        t = termination.terminate(ws, notice_date=day, now=at(day), kind="legal-basis")
        assert (t.effective, t.article) == (day, "art. 12")
        termination.check_in_force(ws, ws.protocol(), day - dt.timedelta(days=1))
        with pytest.raises(ProtocolError, match="no longer a legal basis"):
            termination.check_in_force(ws, ws.protocol(), day)


def test_an_immediate_end_during_a_notice_period_supersedes_the_notice(world: World) -> None:
    """Notice on 31/01/2025 (effective 28/02); AgII's art. 8 termination on 10/02 takes
    effect earlier and replaces it, naming the record it supersedes; a later-effective
    termination cannot replace an earlier one."""
    termination.terminate(world.agii, notice_date=dt.date(2025, 1, 31), now=at(dt.date(2025, 2, 1)))
    first = termination.termination_path(world.agii).read_text()
    t = termination.terminate(
        world.agii, notice_date=dt.date(2025, 2, 10), now=at(dt.date(2025, 2, 10)), kind="art8"
    )
    assert t.effective == dt.date(2025, 2, 10)
    doc = json.loads(termination.termination_path(world.agii).read_text())
    assert doc["body"]["supersedes"] == documents.document_sha256(json.loads(first))
    with pytest.raises(GovernanceError, match="recorded already"):
        termination.terminate(
            world.agii, notice_date=dt.date(2025, 2, 11), now=at(dt.date(2025, 2, 11))
        )


def test_the_chain_refuses_packages_from_the_art8_notice_date(world: World) -> None:
    """After AgII's art. 8 termination the chain's own gate refuses on the notice date."""
    notice = dt.date(2025, 3, 10)
    termination.terminate(world.agii, notice_date=notice, now=at(notice), kind="art8")
    with pytest.raises(ProtocolError, match=r"art\. 8"):
        termination.check_in_force(world.agii, world.agii.protocol(), notice)


# -- onward disclosure and share ------------------------------------------------------------


def notified_and_acknowledged(
    world: World,
    now: dt.datetime,
    deliveries: list[str],
    key: str,
    fields: tuple[str, ...] = ("geslacht", "pseudoniem", "regio"),
) -> onward.Notification:
    n = onward.notify(
        world.abb,
        recipient="Universiteit X, onderzoeksgroep Y",
        recipient_key=key,
        purpose="Verdiepende analyse van de toeleiding naar werk",
        fields=list(fields),
        deliveries=deliveries,
        now=now,
    )
    ack = onward.acknowledge(world.agii, n.path, now=now)
    return onward.record_ack(world.abb, ack, now=now)


def test_share_without_a_recorded_acknowledgement_is_refused_naming_art_4(world: World) -> None:
    """No notification, or a notification AgII has not acknowledged: no package."""
    r = deliver(world, dt.date(2025, 1, 31), pseudonyms("a"), at(dt.date(2025, 2, 1)))
    _, key = _crypto.new_identity()
    out = world.root / "share.p3pkg"
    now = at(dt.date(2025, 2, 2))
    with pytest.raises(UserError, match=r"art\. 4"):
        onward.share(world.abb, notification_id="N-x", recipient_key=key, out=out, now=now)
    n = onward.notify(
        world.abb, recipient="Universiteit X", recipient_key=key, purpose="Analyse",
        fields=["regio"], deliveries=[r.delivery_id], now=now,
    )  # fmt: skip
    with pytest.raises(UserError, match=r"no recorded acknowledgement from AgII.*art\. 4"):
        onward.share(world.abb, notification_id=n.id, recipient_key=key, out=out, now=now)
    assert not out.exists()


def test_two_identical_notifications_in_one_second_are_two(world: World) -> None:
    """The same onward communication notified twice in the same second (the id holds the
    date and a hash of the content, which has the time to the second) gives two
    notifications, two files and two ids: neither overwrites the other."""
    r = deliver(world, dt.date(2025, 1, 31), pseudonyms("a"), at(dt.date(2025, 2, 1)))
    _, key = _crypto.new_identity()
    now = at(dt.date(2025, 2, 2))
    made = [
        onward.notify(
            world.abb,
            recipient="Universiteit X",
            recipient_key=key,
            purpose="Analyse",
            fields=["regio"],
            deliveries=[r.delivery_id],
            now=now,
        )
        for _ in range(2)
    ]
    assert made[0].id != made[1].id
    assert made[0].path != made[1].path
    assert made[0].path.exists() and made[1].path.exists()
    assert {n.id for n in onward.notifications(world.abb)} >= {n.id for n in made}


def test_share_after_acknowledgement_opens_for_the_recipient_only_with_notified_fields(
    world: World,
) -> None:
    """The recipient's identity opens the package and finds exactly the notified fields;
    a researcher's identity (a protocol recipient) cannot open it."""
    r = deliver(world, dt.date(2025, 1, 31), pseudonyms("a"), at(dt.date(2025, 2, 1)))
    now = at(dt.date(2025, 2, 2))
    identity, key = _crypto.new_identity()
    n = notified_and_acknowledged(world, now, [r.delivery_id], key)
    out = world.root / "share.p3pkg"
    result = onward.share(world.abb, notification_id=n.id, recipient_key=key, out=out, now=now)
    assert (r.delivery_id,) == result.delivery_ids
    manifest, payload = package.open_package(
        out,
        identity=identity,
        sender_key=world.abb.public().signing_key,
        expected_step="share",
    )
    frame = dataset.from_parquet(payload, "share")
    assert frame.columns == ["pseudoniem", "geslacht", "regio"]
    assert frame.height == 6
    assert n.id == manifest.extra["notification_id"]
    for researcher in (world.abb, world.abb2):
        with pytest.raises(PackageError):
            package.open_package(
                out,
                identity=researcher.identity(),
                sender_key=world.abb.public().signing_key,
                expected_step="share",
            )
    events = [json.loads(x)["event"] for x in world.abb.audit_path.read_text().splitlines()]
    assert events[-1] == "share.sealed"


def test_a_notification_by_peildatum_covers_several_deliveries_in_one_package(
    world: World,
) -> None:
    """Two deliveries named by peildatum leave in one package holding both deliveries'
    rows; its manifest carries the delivery that expires first (so ABB's purge takes the
    package with it) and lists both."""
    a = deliver(world, dt.date(2025, 1, 31), pseudonyms("a"), at(dt.date(2025, 2, 1)))
    b = deliver(world, dt.date(2025, 4, 30), pseudonyms("b", 4), at(dt.date(2025, 5, 2)))
    now = at(dt.date(2025, 5, 3))
    identity, key = _crypto.new_identity()
    n = notified_and_acknowledged(world, now, ["2025-01-31", "2025-04-30"], key, ("regio",))
    out = world.root / "share.p3pkg"
    result = onward.share(world.abb, notification_id=n.id, recipient_key=key, out=out, now=now)
    assert result.rows == 6 + 4
    manifest, _ = package.open_package(
        out, identity=identity, sender_key=world.abb.public().signing_key, expected_step="share"
    )
    assert manifest.delivery_id == a.delivery_id and a.expires_at < b.expires_at
    listed = [d["delivery_id"] for d in manifest.extra["deliveries"]]
    assert listed == [a.delivery_id, b.delivery_id]


def test_a_second_share_under_the_same_acknowledgement_is_refused(world: World) -> None:
    """One notification, one communication: the second share is refused, also when the
    researcher deletes the first share's record (the audit log still holds the share)."""
    r = deliver(world, dt.date(2025, 1, 31), pseudonyms("a"), at(dt.date(2025, 2, 1)))
    now = at(dt.date(2025, 2, 2))
    _, key = _crypto.new_identity()
    n = notified_and_acknowledged(world, now, [r.delivery_id], key)
    first = onward.share(
        world.abb, notification_id=n.id, recipient_key=key, out=world.root / "1.p3pkg", now=now
    )
    second = world.root / "2.p3pkg"
    with pytest.raises(GovernanceError, match=r"used for a share already.*art\. 4"):
        onward.share(world.abb, notification_id=n.id, recipient_key=key, out=second, now=now)
    first.record.unlink()
    with pytest.raises(GovernanceError, match="used for a share already"):
        onward.share(world.abb, notification_id=n.id, recipient_key=key, out=second, now=now)
    assert not second.exists()


def test_an_interrupted_share_leaves_its_record_and_no_package(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing leaves ABB unrecorded (art. 4, SYSTEM.md guarantee 3). A share interrupted
    after its audit record (here while writing the share record) leaves no package and
    no temporary file, and the notification counts as used. A share whose audit record is
    refused leaves nothing, and the notification can still be used."""
    r = deliver(world, dt.date(2025, 1, 31), pseudonyms("a"), at(dt.date(2025, 2, 1)))
    now = at(dt.date(2025, 2, 2))
    _, key = _crypto.new_identity()
    out = world.root / "share" / "s.p3pkg"
    out.parent.mkdir()

    class Interrupted(Exception):
        pass

    def refuse(*_: object, **__: object) -> None:
        raise Interrupted

    n = notified_and_acknowledged(world, now, [r.delivery_id], key)
    with monkeypatch.context() as m:
        m.setattr(audit.AuditLog, "append", refuse)
        with pytest.raises(Interrupted):
            onward.share(world.abb, notification_id=n.id, recipient_key=key, out=out, now=now)
    assert list(out.parent.iterdir()) == []
    assert not onward.share_record_path(world.abb, n.id).exists()
    onward.share(world.abb, notification_id=n.id, recipient_key=key, out=out, now=now)
    assert out.exists()

    later = at(dt.date(2025, 2, 2), hour=11)
    n2 = notified_and_acknowledged(world, later, [r.delivery_id], key)
    out2 = out.with_name("s2.p3pkg")
    with monkeypatch.context() as m:
        m.setattr(onward, "write_document", refuse)
        with pytest.raises(Interrupted):
            onward.share(world.abb, notification_id=n2.id, recipient_key=key, out=out2, now=later)
    assert sorted(p.name for p in out.parent.iterdir()) == ["s.p3pkg"]
    logged = [e for e in audit.events(world.abb.audit_path) if e["event"] == onward.SHARED]
    assert [e["details"]["notification_id"] for e in logged] == [n.id, n2.id]
    with pytest.raises(GovernanceError, match="used for a share already") as e:
        onward.share(world.abb, notification_id=n2.id, recipient_key=key, out=out2, now=later)
    assert "interrupted" in (e.value.hint or "")


def test_share_refuses_a_delivery_key_or_field_the_notification_does_not_name(
    world: World,
) -> None:
    """Each refusal writes no package and leaves the notification unused: the share that
    stays within it succeeds afterwards."""
    a = deliver(world, dt.date(2025, 1, 31), pseudonyms("a"), at(dt.date(2025, 2, 1)))
    b = deliver(world, dt.date(2025, 4, 30), pseudonyms("b"), at(dt.date(2025, 5, 2)))
    now = at(dt.date(2025, 5, 3))
    _, key = _crypto.new_identity()
    _, other = _crypto.new_identity()
    n = notified_and_acknowledged(world, now, [a.delivery_id], key, ("regio",))
    out = world.root / "s.p3pkg"

    def attempt(**kw: object) -> None:
        onward.share(world.abb, notification_id=n.id, out=out, now=now, **kw)  # type: ignore[arg-type]

    with pytest.raises(GovernanceError, match=f"delivery {b.delivery_id} is not named") as e:
        attempt(recipient_key=key, deliveries=[b.delivery_id])
    assert e.value.param == "deliveries"
    with pytest.raises(GovernanceError, match=r"delivery .* is not named"):
        attempt(recipient_key=key, deliveries=["2025-04-30"])
    with pytest.raises(GovernanceError, match="not the key notified") as e:
        attempt(recipient_key=other)
    assert e.value.param == "recipient_key"
    with pytest.raises(GovernanceError, match="field 'geslacht' is not named") as e:
        attempt(recipient_key=key, fields=["regio", "geslacht"])
    assert e.value.param == "fields"
    assert not out.exists()
    assert not onward.share_record_path(world.abb, n.id).exists()
    assert attempt(recipient_key=key, deliveries=[a.delivery_id]) is None
    assert out.exists()


def test_notify_refuses_a_notification_without_recipient_key_or_deliveries(
    world: World,
) -> None:
    """The recipient's key and the deliveries are required: without them, or with a
    delivery not held, nothing is written and nothing is audited."""
    r = deliver(world, dt.date(2025, 1, 31), pseudonyms("a"), at(dt.date(2025, 2, 1)))
    now = at(dt.date(2025, 2, 2))
    _, key = _crypto.new_identity()
    before = world.abb.audit_path.read_bytes()
    common = {"recipient": "Universiteit X", "purpose": "Analyse", "fields": ["regio"], "now": now}
    for missing in (None, "  "):
        with pytest.raises(GovernanceError, match="names the recipient's age key") as e:
            onward.notify(world.abb, recipient_key=missing, deliveries=[r.delivery_id], **common)  # type: ignore[arg-type]
        assert e.value.param == "recipient_key"
    with pytest.raises(GovernanceError, match="name the deliveries") as e:
        onward.notify(world.abb, recipient_key=key, deliveries=[], **common)  # type: ignore[arg-type]
    assert e.value.param == "deliveries"
    with pytest.raises(GovernanceError, match="no delivery 2024-12-31 is held"):
        onward.notify(world.abb, recipient_key=key, deliveries=["2024-12-31"], **common)  # type: ignore[arg-type]
    with pytest.raises(GovernanceError, match=r"neither a delivery id .* nor a peildatum"):
        onward.notify(world.abb, recipient_key=key, deliveries=["laatste"], **common)  # type: ignore[arg-type]
    assert not onward.disclosures_dir(world.abb).exists()
    assert world.abb.audit_path.read_bytes() == before


def test_acknowledge_refuses_a_notification_not_signed_by_a_named_researcher(
    world: World,
) -> None:
    """A notification changed after signing, or signed by a key outside the protocol,
    is refused by AgII."""
    r = deliver(world, dt.date(2025, 1, 31), pseudonyms("a"), at(dt.date(2025, 2, 1)))
    now = at(dt.date(2025, 2, 2))
    _, key = _crypto.new_identity()
    n = onward.notify(
        world.abb, recipient="Universiteit X", recipient_key=key, purpose="Analyse",
        fields=["regio"], deliveries=[r.delivery_id], now=now,
    )  # fmt: skip
    doc = json.loads(n.path.read_text())
    doc["body"]["fields"] = ["regio", "ocmw_leefloon"]
    forged = world.root / "forged.json"
    forged.write_text(json.dumps(doc))
    with pytest.raises(UserError, match="does not verify"):
        onward.acknowledge(world.agii, forged, now=now)
    outsider, _ = _crypto.new_signing_key()
    stranger = documents.sign_document(json.loads(n.path.read_text())["body"], outsider)
    forged.write_text(json.dumps(stranger))
    with pytest.raises(UserError, match="does not name"):
        onward.acknowledge(world.agii, forged, now=now)


def test_record_ack_refuses_an_acknowledgement_not_signed_by_agii(world: World) -> None:
    r = deliver(world, dt.date(2025, 1, 31), pseudonyms("a"), at(dt.date(2025, 2, 1)))
    now = at(dt.date(2025, 2, 2))
    _, key = _crypto.new_identity()
    n = onward.notify(
        world.abb, recipient="Universiteit X", recipient_key=key, purpose="Analyse",
        fields=["regio"], deliveries=[r.delivery_id], now=now,
    )  # fmt: skip
    ack = onward.acknowledge(world.agii, n.path, now=now)
    body = json.loads(ack.read_text())["body"]
    fake = world.root / "fake-ack.json"
    fake.write_text(json.dumps(documents.sign_document(body, world.vdab.signing_key())))
    with pytest.raises(UserError, match="does not name"):
        onward.record_ack(world.abb, fake, now=now)


def test_notify_refuses_fields_outside_art_3_and_personal_data_in_text(world: World) -> None:
    r = deliver(world, dt.date(2025, 1, 31), pseudonyms("a"), at(dt.date(2025, 2, 1)))
    now = at(dt.date(2025, 2, 2))
    _, key = _crypto.new_identity()
    d = [r.delivery_id]
    with pytest.raises(UserError, match=r"'insz' is not a field of the protocol \(art\. 3\)"):
        onward.notify(
            world.abb, recipient="X", recipient_key=key, purpose="Y", fields=["insz"],
            deliveries=d, now=now,
        )  # fmt: skip
    with pytest.raises(UserError, match="shaped like an email"):
        onward.notify(
            world.abb, recipient="jan@example.org", recipient_key=key, purpose="Y",
            fields=["regio"], deliveries=d, now=now,
        )  # fmt: skip


def test_agii_records_one_share_record_per_share_and_audit_verify_detects_a_removed_one(
    world: World,
) -> None:
    """Two shares under two notifications: AgII's log holds exactly two share records,
    each with the record's SHA-256. Removing the last one leaves a chain that verifies
    on its own but fails against a checkpoint taken before; removing the first breaks
    the chain. A second, different record under one notification is refused."""
    r = deliver(world, dt.date(2025, 1, 31), pseudonyms("a"), at(dt.date(2025, 2, 1)))
    _, key = _crypto.new_identity()
    records = []
    for day in (2, 3):
        now = at(dt.date(2025, 2, day))
        n = notified_and_acknowledged(world, now, [r.delivery_id], key, ("regio",))
        res = onward.share(
            world.abb, notification_id=n.id, recipient_key=key,
            out=world.root / f"s{day}.p3pkg", now=now,
        )  # fmt: skip
        share_records.record_share(world.agii, res.record, now=now)
        records.append(res.record)
    # The same record again changes nothing.
    share_records.record_share(world.agii, records[0], now=at(dt.date(2025, 2, 4)))
    lines = world.agii.audit_path.read_text().splitlines(keepends=True)
    shares = [json.loads(x) for x in lines if share_records.RECORDED in x]
    assert [s["details"]["record_sha256"] for s in shares] == [
        documents.document_sha256(json.loads(p.read_text())) for p in records
    ]
    checkpoint = world.agii.audit().checkpoint(now=at(dt.date(2025, 2, 4)))
    assert lines[-1] == [x for x in lines if share_records.RECORDED in x][-1]
    world.agii.audit_path.write_text("".join(lines[:-1]))
    audit.verify(world.agii.audit_path)  # the chain alone cannot see a cut-off tail
    with pytest.raises(audit.AuditError, match="records were cut off"):
        audit.verify(world.agii.audit_path, checkpoint=checkpoint)
    first = lines.index(next(x for x in lines if share_records.RECORDED in x))
    world.agii.audit_path.write_text("".join(lines[:first] + lines[first + 1 :]))
    with pytest.raises(audit.AuditError, match=f"line {first + 1}"):
        audit.verify(world.agii.audit_path)
    world.agii.audit_path.write_text("".join(lines))
    doc = json.loads(records[0].read_text())
    doc["body"]["rows"] = 1
    other = world.root / "other.json"
    other.write_text(json.dumps(documents.sign_document(doc["body"], world.abb.signing_key())))
    with pytest.raises(GovernanceError, match="a second share under notification"):
        share_records.record_share(world.agii, other, now=at(dt.date(2025, 2, 5)))


def test_record_share_refuses_a_record_beyond_the_acknowledged_notification(
    world: World,
) -> None:
    """A share record naming a field AgII did not acknowledge is refused, even signed by
    the researcher; so is one changed after signing."""
    r = deliver(world, dt.date(2025, 1, 31), pseudonyms("a"), at(dt.date(2025, 2, 1)))
    now = at(dt.date(2025, 2, 2))
    _, key = _crypto.new_identity()
    n = notified_and_acknowledged(world, now, [r.delivery_id], key, ("regio",))
    res = onward.share(
        world.abb, notification_id=n.id, recipient_key=key, out=world.root / "s.p3pkg", now=now
    )
    body = json.loads(res.record.read_text())["body"]
    body["fields"] = ["regio", "geslacht"]
    wider = world.root / "wider.json"
    wider.write_text(json.dumps(documents.sign_document(body, world.abb.signing_key())))
    with pytest.raises(GovernanceError, match="field 'geslacht' was not notified"):
        share_records.record_share(world.agii, wider, now=now)
    changed = json.loads(res.record.read_text())
    changed["body"]["rows"] = 2
    wider.write_text(json.dumps(changed))
    with pytest.raises(GovernanceError, match="does not verify"):
        share_records.record_share(world.agii, wider, now=now)
    assert share_records.RECORDED not in world.agii.audit_path.read_text()


# -- breaches --------------------------------------------------------------------------------


def test_breach_deadline_is_72_hours_and_overdue_only_after_the_72nd_hour(world: World) -> None:
    """At discovered + 72 h the notification is still in time; a second later it is late."""
    discovered = dt.datetime(2025, 3, 3, 14, 30, tzinfo=dt.UTC)
    b = breaches.report_breach(
        world.abb,
        discovered=discovered,
        description="Laptop met werkkopie gestolen",
        affects_other_party=True,
        now=discovered + dt.timedelta(hours=1),
    )
    assert dt.datetime(2025, 3, 6, 14, 30, tzinfo=dt.UTC) == b.authority_deadline
    assert not b.overdue(discovered + dt.timedelta(hours=71, minutes=59))
    assert not b.overdue(discovered + dt.timedelta(hours=72))
    assert b.overdue(discovered + dt.timedelta(hours=72, seconds=1))
    done = breaches.record_notification(
        world.abb, b.id, target="authority", at=discovered + dt.timedelta(hours=80),
        now=discovered + dt.timedelta(hours=80),
    )  # fmt: skip
    assert not done.overdue(discovered + dt.timedelta(hours=100))


def test_breach_report_drafts_a_dutch_notification_to_the_other_partys_dpo(
    world: World,
) -> None:
    """ABB's breach goes to AgII's DPO, AgII's to ABB's, VDAB's to AgII's. AgII's contact
    is not in the signed protocol, so drafts to AgII say so and ask to fill it in; the
    draft to ABB's DPO carries the contact the protocol names and no such warning."""
    now = at(dt.date(2025, 3, 3))
    for ws in (world.abb, world.agii, world.vdab):
        b = breaches.report_breach(
            ws, discovered=now, description="Verkeerd gedeelde map", affects_other_party=True,
            now=now,
        )  # fmt: skip
        assert b.draft is not None
        text = (ws.root / b.draft).read_text("utf-8")
        assert "artikel 9 van het protocol" in text
        assert "06/03/2025 10:00 UTC" in text
        if ws is world.agii:
            assert "E-mail: yves.andriessen@vlaanderen.be, telefoon +32 484 339 699" in text
            assert "Aan: Yves Andriessen" in text
            assert "van ABB" not in text.split("Aan:")[0]
        else:
            assert text.startswith(
                "LET OP: het protocolbestand vermeldt geen contactgegevens van de"
                " functionaris voor gegevensbescherming van AgII"
            )
            assert "vóór u deze melding verstuurt" in text
            assert f"E-mail: {breaches.MISSING_CONTACT}" in text
        audit.verify(ws.audit_path)


def test_dpo_contact_warnings_name_the_party_and_art_9(world: World) -> None:
    """ABB needs AgII's contact; AgII needs its own; VDAB needs AgII's and its own. A
    filled-in contact silences the warning."""
    p = world.abb.protocol()
    line = "the protocol file names no DPO contact for {}: fill it in (art. 9)"
    assert breaches.dpo_contact_warnings(p, "abb") == [line.format("AgII")]
    assert breaches.dpo_contact_warnings(p, "agii") == [line.format("AgII")]
    assert breaches.dpo_contact_warnings(p, "vdab") == [line.format("AgII"), line.format("VDAB")]
    agii = dataclasses.replace(p.parties["agii"], dpo_email="dpo@example.org")
    filled = dataclasses.replace(p, parties={**p.parties, "agii": agii})
    assert breaches.dpo_contact_warnings(filled, "abb") == []


def test_breach_register_refuses_personal_data_and_closing_without_authority_decision(
    world: World,
) -> None:
    now = at(dt.date(2025, 3, 3))
    with pytest.raises(UserError, match="shaped like an insz"):
        breaches.report_breach(
            world.abb, discovered=now, description="Betreft 85.07.30-033.28",
            affects_other_party=False, now=now,
        )  # fmt: skip
    b = breaches.report_breach(
        world.abb, discovered=now, description="Mail naar verkeerde collega",
        affects_other_party=False, now=now,
    )  # fmt: skip
    with pytest.raises(UserError, match=r"AVG art\. 33"):
        breaches.close_breach(world.abb, b.id, resolution="Mail gewist", now=now)
    closed = breaches.close_breach(
        world.abb, b.id, resolution="Mail gewist", now=now,
        authority_not_required="Versleutelde bijlage, geen risico",
    )  # fmt: skip
    assert not closed.is_open
    assert [closed] == breaches.breaches(world.abb)
    assert "Versleutelde" not in world.abb.audit_path.read_text()


def test_deleting_the_termination_record_does_not_lift_the_termination(world: World) -> None:
    """The audit log remembers the termination: without its signed record, the steps
    refuse until it is restored."""
    notice = dt.date(2025, 1, 31)
    termination.terminate(world.agii, notice_date=notice, now=at(notice))
    protocol = world.agii.protocol()
    termination.check_in_force(world.agii, protocol, dt.date(2025, 2, 27))  # still in force
    termination.termination_path(world.agii).unlink()
    with pytest.raises(ProtocolError, match=r"termination\.json"):
        termination.check_in_force(world.agii, protocol, dt.date(2025, 2, 27))
