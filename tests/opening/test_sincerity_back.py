"""A pick's deal that ends before its deposit is confirmed gives the sincerity deposit
back to the entry (issue 16 "refunds of sincerity deposits through the ledger"): the
reservation lapses in ``loupan run-due`` or the deal is withdrawn, the carried money
comes back under the entry's reference (``sincerity_by_entry`` counts it again) and
finance refunds it in full. Taking the deposit is decided under the entry's row lock:
two cashiers at once take it once (PostgreSQL, real threads)."""

import datetime

import pytest
from django.utils import timezone

from loupan.core import due
from loupan.core.errors import DomainError
from loupan.deals import services as deal_services
from loupan.deals.models import DealStatus
from loupan.opening import services as s
from loupan.opening.models import Entry, EventStatus
from loupan.payments.models import LedgerEntry, Receipt
from tests.deals.helpers import user
from tests.opening.test_services import buyer, make_event, selecting
from tests.testing import race

pytestmark = pytest.mark.django_db


def picked(numbers, **kw):
    """An event with a sincerity deposit, ``numbers`` buyers paid and drawn, selecting;
    the first in order has picked and finance carried the sincerity into the deal."""
    manager, finance = user("manager"), user("finance")
    event = s.event_open(actor=manager, event=make_event(sincerity_amount="20000", **kw))
    entries = []
    for n in numbers:
        entry, _code = s.entry_register(actor=manager, event=event, customer=buyer(n))
        s.entry_qualify(actor=manager, entry=entry)
        s.entry_pay(actor=finance, entry=entry, method="cash")
        entries.append(entry)
    event = s.event_close(actor=manager, event=event)
    event = s.event_draw(actor=manager, event=event, public_value="1618")
    event = selecting(event, [Entry.objects.get(pk=e.pk) for e in entries])
    first = Entry.objects.get(event=event, position=1)
    pick = s.unit_pick(
        actor=None, event=event, entry=first, unit=event.units.order_by("pk")[0].unit, via="api"
    )
    s.pick_to_deposit(actor=finance, pick=pick)
    assert s.sincerity_by_entry(event)[first.pk] == 0
    return event, first, pick


def test_a_lapsed_reservation_gives_the_sincerity_back_in_run_due(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    event, entry, pick = picked((300, 301))
    with pytest.raises(DomainError) as err:  # the deal is live: the money is its deposit
        s.entry_refund(actor=user("finance"), entry=entry, method="cash")
    assert err.value.code == "event_status"
    later = pick.deal.reservation_expires_at + datetime.timedelta(minutes=1)
    done = due.run_due(now=later)
    assert done["reservations_expired"] >= 1 and done["sincerity_returned"] >= 1
    pick.deal.refresh_from_db()
    assert pick.deal.status == DealStatus.EXPIRED
    # refundable again, under the entry's reference; the deal holds nothing
    assert s.sincerity_by_entry(event)[entry.pk] == 20000
    assert sum(e.amount for e in LedgerEntry.objects.filter(deal=pick.deal)) == 0
    assert due.run_due(now=later)["sincerity_returned"] == 0  # once
    s.event_finish(actor=user("manager"), event=event)
    s.entry_refund(actor=user("finance"), entry=entry, method="cash")
    assert s.sincerity_by_entry(event)[entry.pk] == 0
    refund = LedgerEntry.objects.get(reference=s.entry_reference(entry), kind="refund")
    assert refund.amount == -20000


def test_a_withdrawn_deal_gives_it_back_at_once_to_the_refund(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    event, entry, pick = picked((310,))
    deal_services.deal_release(actor=user("manager"), deal=pick.deal, reason="买受人放弃")
    s.event_finish(actor=user("manager"), event=event)
    # no run-due in between: the refund brings the carried money back first
    s.entry_refund(actor=user("finance"), entry=entry, method="cash")
    assert s.sincerity_by_entry(event)[entry.pk] == 0
    kinds = list(
        LedgerEntry.objects.filter(reference=s.entry_reference(entry))
        .order_by("pk")
        .values_list("kind", "amount")
    )
    assert [k for k, _a in kinds] == ["receipt", "carry", "carry", "carry", "carry", "refund"]
    assert sum(a for _k, a in kinds) == 0


def test_a_reservation_past_its_time_is_ended_by_the_refund_itself(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    event, entry, pick = picked((320,))
    s.event_finish(actor=user("manager"), event=event)
    deal = pick.deal
    # its time has run out; run-due has not run yet
    type(deal).objects.filter(pk=deal.pk).update(
        reservation_expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    # who may not refund writes nothing, not even the lapse
    with pytest.raises(DomainError) as err:
        s.entry_refund(actor=user("manager"), entry=entry, method="cash")
    assert err.value.code == "permission_denied"
    deal.refresh_from_db()
    assert deal.status == DealStatus.RESERVED
    s.entry_refund(actor=user("finance"), entry=entry, method="cash")
    deal.refresh_from_db()
    assert deal.status == DealStatus.EXPIRED
    assert s.sincerity_by_entry(event)[entry.pk] == 0


def test_a_confirmed_deposit_stays_with_the_deal(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    event, entry, pick = picked((330,))
    deal = deal_services.deal_subscribe(
        actor=user("manager"),
        deal=pick.deal,
        buyers=[(entry.customer, "100")],
        payment_method="one_off",
        deposit="50000",
    )
    deal_services.deal_confirm_deposit(actor=user("finance"), deal=deal, method="cash")
    assert due.run_due()["sincerity_returned"] == 0
    s.event_finish(actor=user("manager"), event=event)
    with pytest.raises(DomainError) as err:
        s.entry_refund(actor=user("finance"), entry=entry, method="cash")
    assert err.value.code == "event_status"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_cashiers_take_the_sincerity_deposit_once(demo):
    event = s.event_open(actor=user("manager"), event=make_event(sincerity_amount="20000"))
    entry, _code = s.entry_register(actor=user("manager"), event=event, customer=buyer(340))
    results = race(4, lambda i: s.entry_pay(actor=user("finance"), entry=entry, method="cash"))
    assert sorted(results) == ["event_status"] * 3 + ["ok"], results
    assert Receipt.objects.filter(reference=s.entry_reference(entry)).count() == 1
    assert s.sincerity_by_entry(event)[entry.pk] == 20000
    assert event.status == EventStatus.REGISTERING
