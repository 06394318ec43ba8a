"""Opening day's services (issue 16): the event from preparation to the end, the
registration rules (one entry per buyer, ID number and household), the frozen list, the
draw that anyone can verify, the batches, and the pick's refusals — then the invariants
under real concurrency on PostgreSQL: a unit picked once, a buyer never over quota."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from loupan.audit.models import AuditEntry
from loupan.core.errors import DomainError
from loupan.core.identity import id_check_digit
from loupan.customers import services as customer_services
from loupan.deals.models import Deal
from loupan.inventory.models import Unit, UnitStatus
from loupan.opening import lottery
from loupan.opening import services as s
from loupan.opening.models import Entry, EventStatus, Pick
from tests.deals.helpers import free_unit, project, user

pytestmark = pytest.mark.django_db


def id_number(n: int) -> str:
    body = f"51010419900101{n:03d}"
    return body + id_check_digit(body)


def buyer(n: int, owner="consultant"):
    return customer_services.customer_register(
        actor=user(owner),
        project=project(),
        name=f"买家{n:03d}",
        phone=f"1390000{n:04d}",
        id_number=id_number(n),
        wanted_layout="B1",
        consent=True,
    )


def units(n: int, start: int = 20):
    return [free_unit(start + i) for i in range(n)]


def make_event(unit_count=4, **kw):
    now = timezone.now()
    return s.event_create(
        actor=user("manager"),
        project=project(),
        name=kw.pop("name", "一期开盘"),
        units=kw.pop("units", None) or units(unit_count),
        registration_closes_at=kw.pop("closes", now + datetime.timedelta(hours=1)),
        selection_on=timezone.localdate(),
        operator=user("manager"),
        public_source="公证员现场摇出的六位数字",
        **kw,
    )


def drawn(event, buyers, public_value="483920", first_home=()):
    event = s.event_open(actor=user("manager"), event=event)
    entries = []
    for b in buyers:
        entry, code = s.entry_register(
            actor=user("manager"), event=event, customer=b, first_home=b.pk in first_home
        )
        assert len(code) == 8
        s.entry_qualify(actor=user("manager"), entry=entry)
        entries.append(entry)
    event = s.event_close(actor=user("manager"), event=event)
    event = s.event_draw(actor=user("manager"), event=event, public_value=public_value)
    return event, [Entry.objects.get(pk=e.pk) for e in entries]


def selecting(event, entries, per_batch=None, start=None, minutes=30):
    start = start or timezone.now() - datetime.timedelta(minutes=1)
    n = len(entries)
    per_batch = per_batch or n
    batches, first = [], 1
    at = start
    while first <= n:
        last = min(n, first + per_batch - 1)
        batches.append((first, last, at, at + datetime.timedelta(minutes=minutes)))
        at += datetime.timedelta(minutes=minutes)
        first = last + 1
    s.batches_set(actor=user("manager"), event=event, batches=batches)
    return s.selection_start(actor=user("manager"), event=event)


def test_the_draw_is_published_and_verifies(demo):
    buyers = [buyer(i) for i in range(1, 7)]
    event, entries = drawn(make_event(), buyers, first_home={buyers[4].pk, buyers[5].pk})
    assert event.status == EventStatus.DRAWN
    positions = sorted(e.position for e in entries)
    assert positions == list(range(1, 7))
    # first-home families draw first
    first_home = {e.number for e in entries if e.first_home}
    assert {e.number for e in entries if e.position <= 2} == first_home
    ok, problems = lottery.verify(event.package)
    assert ok, problems
    assert event.package["package_digest"] == event.package_digest
    # the published list shows masked names only
    text = lottery.dumps(event.package)
    assert "买家001" not in text and "买家***" in text
    assert AuditEntry.objects.filter(
        object_type="opening.openingevent", object_id=str(event.pk), extra__action="event_draw"
    ).exists()
    # the draw happens once
    with pytest.raises(DomainError) as err:
        s.event_draw(actor=user("manager"), event=event, public_value="1")
    assert err.value.code == "event_status"


def test_registration_rules(demo):
    event = s.event_open(actor=user("manager"), event=make_event())
    first, spouse = buyer(10), buyer(11)
    # a household counts once: the spouse cannot register beside the buyer
    customer_services.household_link(actor=user("manager"), customers=[first, spouse])
    first.refresh_from_db()
    spouse.refresh_from_db()
    s.entry_register(actor=user("manager"), event=event, customer=first)
    for again in (first, spouse):
        with pytest.raises(DomainError) as err:
            s.entry_register(actor=user("manager"), event=event, customer=again)
        assert err.value.code == "entry_exists"
    with pytest.raises(DomainError) as err:
        s.entry_register(actor=user("consultant"), event=event, customer=buyer(12))
    assert err.value.code == "permission_denied"
    nobody = customer_services.customer_register(
        actor=user("consultant"),
        project=project(),
        name="无证",
        phone="13900009999",
        wanted_layout="B1",
    )
    with pytest.raises(DomainError) as err:
        s.entry_register(actor=user("manager"), event=event, customer=nobody)
    assert err.value.code == "invalid" and "customer" in err.value.fields


def test_no_money_before_the_presale_permit(demo):
    unreleased = Unit.objects.filter(
        project=project(), building__permit__isnull=True, status=UnitStatus.AVAILABLE
    ).first()
    if unreleased is None:
        unit = free_unit(30)
        building = unit.building
        building.permit = None
        building.save(update_fields=["permit"])
    else:
        unit = unreleased
    with pytest.raises(DomainError) as err:
        make_event(units=[unit], sincerity_amount="20000")
    assert err.value.code == "no_permit"


def test_the_list_cannot_change_after_it_is_frozen(demo):
    buyers = [buyer(i) for i in range(20, 23)]
    event = s.event_open(actor=user("manager"), event=make_event())
    for b in buyers:
        entry, _code = s.entry_register(actor=user("manager"), event=event, customer=b)
        s.entry_qualify(actor=user("manager"), entry=entry)
    event = s.event_close(actor=user("manager"), event=event)
    with pytest.raises(DomainError) as err:
        s.entry_register(actor=user("manager"), event=event, customer=buyer(24))
    assert err.value.code == "event_status"
    # a row changed behind the services' back is caught at the draw
    Entry.objects.filter(event=event, number="0001").update(first_home=True)
    with pytest.raises(DomainError) as err:
        s.event_draw(actor=user("manager"), event=event, public_value="7")
    assert err.value.code == "list_changed"


def test_picks_and_their_refusals(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    buyers = [buyer(i) for i in range(30, 34)]
    event, entries = drawn(make_event(unit_count=5, max_units=1), buyers)
    by_position = sorted(entries, key=lambda e: e.position)
    now = timezone.now()
    s.batches_set(
        actor=user("manager"),
        event=event,
        batches=[
            (1, 2, now - datetime.timedelta(minutes=1), now + datetime.timedelta(minutes=10)),
            (3, 4, now + datetime.timedelta(minutes=10), now + datetime.timedelta(minutes=20)),
        ],
    )
    event_units = [eu.unit for eu in event.units.select_related("unit").order_by("pk")]
    with pytest.raises(DomainError) as err:
        s.unit_pick(actor=None, event=event, entry=by_position[0], unit=event_units[0], via="phone")
    assert err.value.code == "event_status"
    event = s.selection_start(actor=user("manager"), event=event)
    pick = s.unit_pick(
        actor=None, event=event, entry=by_position[0], unit=event_units[0], via="phone"
    )
    deal = Deal.objects.get(pk=pick.deal_id)
    assert deal.customer_id == by_position[0].customer_id and deal.status == "reserved"
    assert Unit.objects.get(pk=event_units[0].pk).status == UnitStatus.RESERVED
    assert AuditEntry.objects.filter(object_type="opening.pick", object_id=str(pick.pk)).exists()
    cases = [
        (by_position[0], event_units[1], "quota_reached"),
        (by_position[1], event_units[0], "unit_taken"),
        (by_position[2], event_units[1], "not_your_turn"),
        (by_position[1], free_unit(60), "not_in_event"),
    ]
    for entry, unit, code in cases:
        with pytest.raises(DomainError) as err:
            s.unit_pick(actor=None, event=event, entry=entry, unit=unit, via="phone")
        assert err.value.code == code, (code, err.value.message)
    # a consultant picks for a buyer
    done = s.unit_pick(
        actor=user("consultant"),
        event=event,
        entry=by_position[1],
        unit=event_units[1],
        via="consultant",
    )
    assert done.actor == user("consultant")
    with pytest.raises(DomainError) as err:
        s.unit_pick(
            actor=user("finance"), event=event, entry=by_position[1], unit=event_units[2], via="api"
        )
    assert err.value.code == "permission_denied"


def _race(n, fn):
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        try:
            barrier.wait()
            fn(i)
            results[i] = "ok"
        except DomainError as exc:
            results[i] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_picks_never_sell_a_unit_twice_or_beyond_quota(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    buyers = [buyer(i) for i in range(40, 52)]
    event, entries = drawn(make_event(unit_count=3, max_units=2), buyers)
    event = selecting(event, entries)
    target = event.units.order_by("pk").first().unit
    # twelve buyers at once on one unit: one wins
    results = _race(
        12, lambda i: s.unit_pick(actor=None, event=event, entry=entries[i], unit=target, via="api")
    )
    assert results.count("ok") == 1 and set(results) == {"ok", "unit_taken"}, results
    assert Deal.objects.filter(units__unit=target, units__live=True).count() == 1
    # one buyer on every unit at once (quota 2): two win
    others = [eu.unit for eu in event.units.order_by("pk")][1:]
    entry = next(e for e in entries if not Pick.objects.filter(entry=e).exists())
    results = _race(
        len(others),
        lambda i: s.unit_pick(actor=None, event=event, entry=entry, unit=others[i], via="api"),
    )
    assert Pick.objects.filter(entry=entry).count() == min(2, len(others)) == results.count("ok")


def test_the_demo_has_a_finished_and_a_running_event(demo):
    from loupan.opening.models import OpeningEvent

    events = {e.status: e for e in OpeningEvent.objects.filter(project=project())}
    assert {"finished", "selecting"} <= set(events)
    for event in events.values():
        assert lottery.verify(event.package)[0]
    assert events["finished"].picks.count() == 4
    assert events["selecting"].picks.count() == 2


def test_a_script_gains_nothing_over_a_person(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 60_000
    buyers = [buyer(i) for i in range(60, 62)]
    event, entries = drawn(make_event(unit_count=3, max_units=2), buyers)
    event = selecting(event, entries)
    first, second = sorted(entries, key=lambda e: e.position)
    units_ = [eu.unit for eu in event.units.order_by("pk")]
    # a refused request counts too: the second one within the minute is refused
    with pytest.raises(DomainError) as err:
        s.unit_pick(actor=None, event=event, entry=first, unit=free_unit(70), via="phone")
    assert err.value.code == "not_in_event"
    with pytest.raises(DomainError) as err:
        s.unit_pick(actor=None, event=event, entry=first, unit=units_[0], via="phone")
    assert err.value.code == "too_fast" and err.value.status == 429
    # another buyer is not slowed down
    assert s.unit_pick(actor=None, event=event, entry=second, unit=units_[0], via="phone")


def test_the_phone_code(demo):
    event = s.event_open(actor=user("manager"), event=make_event())
    entry, code = s.entry_register(actor=user("manager"), event=event, customer=buyer(80))
    assert s.entry_by_code(event, entry.number, code) == entry
    for _i in range(s.MAX_CODE_FAILURES):
        with pytest.raises(DomainError) as err:
            s.entry_by_code(event, entry.number, "00000000" if code != "00000000" else "1")
        assert err.value.code == "code_invalid"
    with pytest.raises(DomainError) as err:
        s.entry_by_code(event, entry.number, code)
    assert err.value.code == "code_locked"
    new = s.entry_code_reset(actor=user("manager"), entry=entry)
    assert s.entry_by_code(event, entry.number, new) == entry
    with pytest.raises(DomainError) as err:
        s.entry_by_code(event, entry.number, code)
    assert err.value.code == "code_invalid"


def test_the_sincerity_deposit_goes_through_the_ledger(demo, settings):
    from loupan.payments import services as payment_services
    from loupan.payments.models import LedgerEntry

    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    people = [buyer(n) for n in (100, 101, 102)]
    event = s.event_open(actor=user("manager"), event=make_event(sincerity_amount="20000"))
    entries = []
    for person in people:
        entry, _code = s.entry_register(actor=user("manager"), event=event, customer=person)
        s.entry_qualify(actor=user("manager"), entry=entry)
        entries.append(entry)
    with pytest.raises(DomainError) as err:
        s.entry_pay(actor=user("manager"), entry=entries[0], method="cash")
    assert err.value.code == "permission_denied"
    for entry in entries[:2]:
        s.entry_pay(actor=user("finance"), entry=entry, method="cash")
    with pytest.raises(DomainError) as err:
        s.entry_pay(actor=user("finance"), entry=entries[0], method="cash")
    assert err.value.code == "event_status"
    held = s.sincerity_by_entry(event)
    assert held == {entries[0].pk: 20000, entries[1].pk: 20000}
    # only entrants whose deposit the ledger holds take part in the draw
    event = s.event_close(actor=user("manager"), event=event)
    event = s.event_draw(actor=user("manager"), event=event, public_value="9")
    drawn = {
        e["entry_number"] if isinstance(e, dict) else e[0]
        for r in event.package["rounds"]
        for e in r["entrants"]
    }
    assert drawn == {entries[0].number, entries[1].number}
    event = selecting(event, [e for e in entries[:2]])
    first = Entry.objects.get(event=event, position=1)
    pick = s.unit_pick(
        actor=None, event=event, entry=first, unit=event.units.first().unit, via="api"
    )
    with pytest.raises(DomainError) as err:
        s.entry_refund(actor=user("finance"), entry=first, method="cash")
    assert err.value.code == "event_status"
    s.pick_to_deposit(actor=user("finance"), pick=pick)
    assert payment_services.received_of(pick.deal) == 20000
    s.event_finish(actor=user("manager"), event=event)
    other = Entry.objects.get(event=event, position=2)
    s.entry_refund(actor=user("finance"), entry=other, method="cash")
    assert s.sincerity_by_entry(event) == {first.pk: 0, other.pk: 0}
    assert LedgerEntry.objects.filter(reference=s.entry_reference(other), kind="refund").exists()
