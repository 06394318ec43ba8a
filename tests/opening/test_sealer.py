"""A pick is a claim first and a reservation second (issue 16 "Load"): the event holds
its units while buyers pick, the claim answers at once, the sealer (in the request, in
the process's thread or in ``loupan run-due``) writes the deal and the pick's audit
entry, and a pick whose deal cannot be made keeps the reason for the office."""

import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from loupan.audit.models import AuditEntry
from loupan.audit.services import verify_chain
from loupan.core.errors import DomainError
from loupan.deals import services as deal_services
from loupan.deals.models import Deal
from loupan.inventory import services as inventory_services
from loupan.inventory.models import Unit, UnitStatus
from loupan.opening import live, results, sealer
from loupan.opening import services as s
from loupan.opening.api.views import PickSerializer
from loupan.opening.buyer import confirmation_context
from loupan.opening.models import EventUnit, Pick
from tests.deals.helpers import customer_of, project, user
from tests.opening.test_services import _race, buyer, drawn, make_event, selecting

pytestmark = pytest.mark.django_db


def _status(unit) -> str:
    return Unit.objects.get(pk=getattr(unit, "pk", unit)).status


def _audited(pick) -> list[dict]:
    return [
        e.extra
        for e in AuditEntry.objects.filter(object_type="opening.pick", object_id=str(pick.pk))
    ]


def test_the_event_holds_its_units_while_buyers_pick_and_releases_the_rest(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    event, entries = drawn(make_event(unit_count=4), [buyer(i) for i in range(70, 72)])
    event_units = [eu.unit for eu in event.units.order_by("pk")]
    assert {_status(u) for u in event_units} == {UnitStatus.AVAILABLE}
    # the office holds one back for another reason before selection starts
    inventory_services.units_hold(
        actor=user("manager"), project=project(), unit_ids=[event_units[3].pk], reason="二期"
    )
    event = selecting(event, entries)
    # 销控: held for the event, so no reservation outside it can take one
    assert {_status(u) for u in event_units} == {UnitStatus.HELD}
    assert EventUnit.objects.filter(event=event, held=True).count() == 3
    last = max(entries, key=lambda e: e.position)
    with pytest.raises(DomainError) as err:  # the office's own hold is not the event's
        s.unit_pick(actor=None, event=event, entry=last, unit=event_units[3], via="phone")
    assert err.value.code == "unit_taken"
    outsider = customer_of(phone="13700007777", name="场外客户")
    with pytest.raises(DomainError) as err:
        deal_services.deal_reserve(
            actor=user("consultant"), unit=Unit.objects.get(pk=event_units[0].pk), customer=outsider
        )
    assert err.value.code == "conflict"
    first = min(entries, key=lambda e: e.position)
    pick = s.unit_pick(actor=None, event=event, entry=first, unit=event_units[0], via="phone")
    assert pick.deal_id and _status(event_units[0]) == UnitStatus.RESERVED
    assert _audited(pick)[0]["deal"] == pick.deal_id
    s.event_finish(actor=user("manager"), event=event)
    # the two the event held and nobody picked are on sale again; the picked one stays
    # reserved, the office's own hold stays
    assert [_status(u) for u in event_units] == [
        UnitStatus.RESERVED,
        UnitStatus.AVAILABLE,
        UnitStatus.AVAILABLE,
        UnitStatus.HELD,
    ]


def test_a_claim_answers_before_its_reservation_and_run_due_writes_it(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    settings.LOUPAN_PICK_SEAL = "background"  # the thread is woken on commit: never here
    event, entries = drawn(make_event(unit_count=3), [buyer(i) for i in range(73, 75)])
    event = selecting(event, entries)
    unit = event.units.order_by("pk").first().unit
    first = min(entries, key=lambda e: e.position)
    pick = s.unit_pick(actor=None, event=event, entry=first, unit=unit, via="phone")
    # the claim: the unit is the buyer's (nobody else can pick it), its deal comes next
    assert pick.deal_id is None and _status(unit) == UnitStatus.HELD
    assert PickSerializer(pick).data["deal"] is None
    assert _audited(pick) == []
    other = max(entries, key=lambda e: e.position)
    with pytest.raises(DomainError) as err:
        s.unit_pick(actor=None, event=event, entry=other, unit=unit, via="phone")
    assert err.value.code == "unit_taken"
    page = render_to_string("opening/confirmation.html", confirmation_context(event, pick))
    assert "正在生成保留单或认购书" in page
    [row] = results.results(event, user("manager"))
    assert row["deal_id"] is None and row["deal_status"] == "交易生成中"
    assert Pick.objects.get(pk=pick.pk) in Pick.objects.filter(pk__in=results._live_picks(event))

    call_command("run-due")  # what a stopped server left

    pick.refresh_from_db()
    deal = Deal.objects.get(pk=pick.deal_id)
    assert deal.customer_id == first.customer_id and deal.status == "reserved"
    assert _status(unit) == UnitStatus.RESERVED
    assert [a["deal"] for a in _audited(pick)] == [deal.pk]
    page = render_to_string("opening/confirmation.html", confirmation_context(event, pick))
    assert deal.reservation_number in page and "正在生成" not in page


def test_a_pick_whose_unit_was_sold_outside_the_event_keeps_the_reason(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    settings.LOUPAN_PICK_SEAL = "background"
    event, entries = drawn(make_event(unit_count=3, max_units=2), [buyer(i) for i in range(76, 78)])
    event = selecting(event, entries)
    a, b, c = [eu.unit for eu in event.units.order_by("pk")]
    first, second = sorted(entries, key=lambda e: e.position)
    lost = s.unit_pick(actor=None, event=event, entry=first, unit=a, via="phone")
    kept = s.unit_pick(actor=None, event=event, entry=second, unit=b, via="phone")
    # the office releases a held unit by hand and sells it before the sealer ran
    inventory_services.units_unhold(
        actor=user("manager"), project=project(), unit_ids=[a.pk], reason="误操作"
    )
    outside = deal_services.deal_reserve(
        actor=user("consultant"),
        unit=Unit.objects.get(pk=a.pk),
        customer=customer_of(phone="13700008888", name="场外客户"),
    )
    # a claim on a unit no longer for sale is refused at once
    inventory_services.units_unhold(
        actor=user("manager"), project=project(), unit_ids=[c.pk], reason="误操作"
    )
    deal_services.deal_reserve(
        actor=user("consultant"),
        unit=Unit.objects.get(pk=c.pk),
        customer=customer_of(phone="13700009999", name="场外客户二"),
    )
    with pytest.raises(DomainError) as err:
        s.unit_pick(actor=None, event=event, entry=first, unit=c, via="phone")
    assert err.value.code == "unit_taken"

    assert s.picks_seal() == {"picks_sealed": 1, "picks_unsealable": 1}

    lost.refresh_from_db()
    kept.refresh_from_db()
    assert kept.deal_id and lost.deal_id is None and lost.seal_error
    assert Deal.objects.get(pk=outside.pk).units.get().live  # the outside deal stands
    [audit] = _audited(lost)
    assert audit["seal_error"] == lost.seal_error and "deal" not in audit
    rows = {r["id"]: r for r in results.results(event, user("manager"))}
    assert rows[lost.pk]["deal_status"].startswith("未能生成交易")
    page = render_to_string("opening/confirmation.html", confirmation_context(event, lost))
    assert "未能生成交易" in page and "自动刷新" not in page
    # nothing is left to seal: run again, nothing moves
    assert s.picks_seal() == {"picks_sealed": 0, "picks_unsealable": 0}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_sealer_thread_writes_every_reservation_behind_concurrent_claims(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    settings.LOUPAN_PICK_SEAL = "background"
    buyers = [buyer(i) for i in range(80, 92)]
    event, entries = drawn(make_event(unit_count=6, max_units=1), buyers)
    event = selecting(event, entries)
    targets = [eu.unit for eu in event.units.order_by("pk")]
    # twelve buyers at once, two on each unit: six claims win, answered before their deals
    outcome = _race(
        12,
        lambda i: s.unit_pick(
            actor=None, event=event, entry=entries[i], unit=targets[i % 6], via="api"
        ),
    )
    assert outcome.count("ok") == 6 and set(outcome) == {"ok", "unit_taken"}, outcome
    deadline = time.monotonic() + 30
    while Pick.objects.filter(event=event, deal__isnull=True).exists():
        assert time.monotonic() < deadline, "the sealer thread did not seal every pick"
        time.sleep(0.05)
    picks = list(Pick.objects.filter(event=event).select_related("deal"))
    assert len(picks) == 6 and not any(p.seal_error for p in picks)
    for pick in picks:
        assert pick.deal.customer_id == pick.entry.customer_id
        assert Deal.objects.filter(units__unit=pick.unit, units__live=True).count() == 1
        assert [a["deal"] for a in _audited(pick)] == [pick.deal_id]
    assert {_status(u) for u in targets} == {UnitStatus.RESERVED}
    checked, broken, _reason = verify_chain()
    assert broken is None and checked
    assert sealer.settle()  # and its connection is given back


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_board_never_shows_a_pick_while_a_lower_one_is_still_uncommitted(demo, settings):
    """A phone's cursor is a pick id: a board read between a later pick's commit and an
    earlier-numbered pick's commit would let the phone pass the earlier one for ever
    (bench/opening saw 27 picks no phone ever got). The read waits for it instead."""
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    event, entries = drawn(make_event(unit_count=3, max_units=1), [buyer(i) for i in range(93, 95)])
    event = selecting(event, entries)
    first, second = entries
    u1, u2 = [eu.unit for eu in event.units.order_by("pk")][:2]
    inserted, go = threading.Event(), threading.Event()

    def slow_claim():  # a claim between its INSERT and its commit, as the service holds it
        try:
            with transaction.atomic():
                live.hold_event(event.pk)
                assert s._insert_pick(
                    Pick(event=event, entry=first, seq=1, unit=u1, via="api", at=timezone.now())
                )
                inserted.set()
                go.wait(20)
        finally:
            connection.close()

    boards = []

    def read():
        try:
            boards.append(live.read_board(event))
        finally:
            connection.close()

    slow = threading.Thread(target=slow_claim)
    slow.start()
    assert inserted.wait(20)
    later = s.unit_pick(actor=None, event=event, entry=second, unit=u2, via="api")
    reader = threading.Thread(target=read)
    reader.start()
    reader.join(0.5)
    assert reader.is_alive(), "the board was read with a lower pick still uncommitted"
    go.set()
    slow.join(20)
    reader.join(20)
    [board] = boards
    ids = board["ids"]
    assert len(ids) == 2 and ids[-1] == later.pk and ids[0] < later.pk
    phone = live.changes(event, board, timezone.now(), ids[0] - 1)
    assert set(phone["picked_units"]) == {u1.pk, u2.pk}
