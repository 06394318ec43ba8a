"""A pick becomes a reservation or a subscription per the event (issue 16 "whether a pick
becomes a reservation or a subscription"; "the sincerity deposit turns into the
deposit"): the subscription is the deals' own (``deal_subscribe``: number, total,
deposit within the cap), the sincerity deposit is carried into it and finance's
confirmation receipts only the rest; the 选房确认书 shows what the pick became."""

import datetime

import pytest
from django.utils import timezone

from loupan.core.errors import DomainError
from loupan.deals import services as deal_services
from loupan.deals.models import DealStatus
from loupan.inventory.models import Unit, UnitStatus
from loupan.opening import services as s
from loupan.opening.models import Entry, PickBecomes
from loupan.payments import services as payment_services
from loupan.payments.models import Receipt
from tests.deals.helpers import project, user
from tests.opening.test_services import buyer, make_event, selecting, units
from tests.testing import web_client

pytestmark = pytest.mark.django_db


def subscription_event(**kw):
    kw.setdefault("sincerity_amount", "20000")
    kw.setdefault("deposit_amount", "50000")
    return make_event(pick_becomes=PickBecomes.SUBSCRIPTION, **kw)


def drawn_with_methods(event, people, method="commercial"):
    manager = user("manager")
    event = s.event_open(actor=manager, event=event)
    entries = []
    for person in people:
        entry, _code = s.entry_register(
            actor=manager, event=event, customer=person, payment_method=method
        )
        s.entry_qualify(actor=manager, entry=entry)
        if event.sincerity_amount:
            s.entry_pay(actor=user("finance"), entry=entry, method="cash")
        entries.append(entry)
    event = s.event_close(actor=manager, event=event)
    event = s.event_draw(actor=manager, event=event, public_value="271828")
    return event, [Entry.objects.get(pk=e.pk) for e in entries]


def test_the_event_asks_for_a_deposit_the_deals_allow(demo):
    with pytest.raises(DomainError) as err:
        subscription_event(deposit_amount="0")
    assert err.value.code == "invalid" and "deposit_amount" in err.value.fields
    # the sincerity deposit turns into the deposit: it cannot be larger
    with pytest.raises(DomainError) as err:
        subscription_event(sincerity_amount="60000", deposit_amount="50000")
    assert "deposit_amount" in err.value.fields
    # beyond the deals' cap (20% of the price, 民法典 586) for one of the units
    cheapest = min(units(3), key=lambda u: u.list_price)
    too_much = cheapest.list_price  # 100% of a price is over any cap
    with pytest.raises(DomainError) as err:
        subscription_event(units=[cheapest], deposit_amount=str(too_much))
    assert err.value.code == "deposit_over_cap" and cheapest.number in err.value.message
    with pytest.raises(DomainError) as err:
        make_event(pick_becomes="contract")
    assert "pick_becomes" in err.value.fields
    # a reservation event keeps no deposit
    assert make_event(deposit_amount="50000").deposit_amount == 0


def test_a_subscription_event_asks_each_entry_for_its_payment_method(demo):
    event = s.event_open(actor=user("manager"), event=subscription_event())
    with pytest.raises(DomainError) as err:
        s.entry_register(actor=user("manager"), event=event, customer=buyer(200))
    assert err.value.code == "invalid" and "payment_method" in err.value.fields
    with pytest.raises(DomainError) as err:
        s.entry_register(
            actor=user("manager"), event=event, customer=buyer(201), payment_method="barter"
        )
    assert "payment_method" in err.value.fields
    assert not Entry.objects.filter(event=event).exists()
    entry, _code = s.entry_register(
        actor=user("manager"), event=event, customer=buyer(202), payment_method="one_off"
    )
    assert entry.payment_method == "one_off"


def test_a_pick_becomes_a_subscription_and_the_sincerity_its_deposit(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    event, entries = drawn_with_methods(subscription_event(), [buyer(210), buyer(211)])
    event = selecting(event, entries)
    first = Entry.objects.select_related("customer").get(event=event, position=1)
    unit = event.units.order_by("pk").first().unit
    pick = s.unit_pick(actor=None, event=event, entry=first, unit=unit, via="phone")
    deal = pick.deal
    deal.refresh_from_db()
    # the deals' subscription: number, total as priced, the event's deposit, the
    # buyer alone at 100%, waiting for finance to confirm the deposit
    assert deal.status == DealStatus.PENDING
    assert deal.number.startswith("RG") and deal.total == unit.list_price
    assert deal.deposit == 50000 and deal.payment_method == "commercial"
    assert list(deal.buyers.values_list("customer_id", "share")) == [(first.customer_id, 100)]
    assert Unit.objects.get(pk=unit.pk).status == UnitStatus.RESERVED
    # the 选房确认书 at once, for the office and the buyer: the subscription's terms
    office = web_client(user("manager")).get(
        f"/projects/{project().pk}/opening/{event.pk}/picks/{pick.pk}/confirmation/"
    )
    html = office.content.decode()
    assert office.status_code == 200 and deal.number in html and 'id="subscription-number"' in html
    assert "保留单号" not in html
    # finance: the sincerity deposit becomes part of the deposit, the confirmation
    # receipts only the rest
    s.pick_to_deposit(actor=user("finance"), pick=pick)
    assert s.sincerity_by_entry(event)[first.pk] == 0
    receipts = Receipt.objects.filter(deal=deal).count()
    deal = deal_services.deal_confirm_deposit(
        actor=user("finance"), deal=deal, method="transfer", bank_reference="ICBC-1"
    )
    assert deal.status == DealStatus.SUBSCRIBED
    assert Unit.objects.get(pk=unit.pk).status == UnitStatus.SUBSCRIBED
    assert Receipt.objects.filter(deal=deal).count() == receipts + 1
    assert Receipt.objects.filter(deal=deal).latest("pk").amount == 30000
    assert payment_services.received_of(deal) == 50000


def test_a_reservation_event_still_reserves(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    event, entries = drawn_with_methods(make_event(), [buyer(220)], method="")
    event = selecting(event, entries)
    pick = s.unit_pick(
        actor=None, event=event, entry=entries[0], unit=event.units.first().unit, via="api"
    )
    assert pick.deal.status == DealStatus.RESERVED and not pick.deal.number
    page = web_client(user("manager")).get(
        f"/projects/{project().pk}/opening/{event.pk}/picks/{pick.pk}/confirmation/"
    )
    assert pick.deal.reservation_number in page.content.decode()


def test_the_event_form_makes_a_subscription_event(demo):
    from loupan.opening.models import OpeningEvent

    unit = units(1, start=40)[0]
    client = web_client(user("manager"))
    closes = (timezone.localtime() + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        f"/projects/{project().pk}/opening/new/",
        {
            "name": "认购开盘",
            "buildings": [unit.building_id],
            "floor_from": unit.floor,
            "floor_to": unit.floor,
            "registration_closes_at": closes,
            "selection_on": timezone.localdate().isoformat(),
            "max_units": 1,
            "requires_qualification": "on",
            "sincerity_amount": "0",
            "pick_becomes": "subscription",
            "deposit_amount": "30000",
            "operator": user("manager").pk,
            "public_source": "公证员现场摇号",
        },
    )
    event = OpeningEvent.objects.get(name="认购开盘")
    assert response.status_code == 302
    assert event.pick_becomes == "subscription" and event.deposit_amount == 30000
    assert event.units.filter(unit=unit).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_subscription_picks_sell_a_unit_once(demo, settings):
    from loupan.deals.models import Deal
    from tests.testing import race

    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    people = [buyer(n) for n in range(230, 238)]
    event, entries = drawn_with_methods(subscription_event(unit_count=3), people)
    event = selecting(event, entries)
    target = event.units.order_by("pk").first().unit
    results = race(
        len(entries),
        lambda i: s.unit_pick(actor=None, event=event, entry=entries[i], unit=target, via="api"),
    )
    assert results.count("ok") == 1 and set(results) == {"ok", "unit_taken"}, results
    (deal,) = Deal.objects.filter(units__unit=target, units__live=True)
    assert deal.status == DealStatus.PENDING and deal.number
    # the losers left no subscription number behind: numbers stay gapless
    others = [eu.unit for eu in event.units.order_by("pk")][1:]
    waiting = [e for e in entries if not e.picks.exists()][: len(others)]
    results = race(
        len(others),
        lambda i: s.unit_pick(actor=None, event=event, entry=waiting[i], unit=others[i], via="api"),
    )
    assert results == ["ok"] * len(others), results
    numbers = sorted(
        int(n[-6:])
        for n in Deal.objects.filter(project=project(), number__startswith="RG").values_list(
            "number", flat=True
        )
    )
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
