"""Pages read the board as of now: a reservation or hold past its time reads 可售 before
``loupan run-due`` writes it (a GET never writes), and the next action on the unit ends
it first."""

import datetime

from django.utils import timezone

from loupan.deals import services
from loupan.deals.models import Deal, DealStatus
from loupan.inventory import board
from loupan.inventory import services as inventory
from loupan.inventory.models import Unit, UnitStatus
from tests.deals.helpers import customer_of, free_unit, project, user


def _past():
    return timezone.now() - datetime.timedelta(minutes=1)


def test_a_reservation_that_ran_out_reads_available_and_can_be_taken(demo):
    unit = free_unit()
    first = services.deal_reserve(actor=user("consultant"), unit=unit, customer=customer_of())
    unit.refresh_from_db()
    assert unit.status == UnitStatus.RESERVED and unit.hold_until == first.reservation_expires_at
    Deal.objects.filter(pk=first.pk).update(reservation_expires_at=_past())
    Unit.objects.filter(pk=unit.pk).update(hold_until=_past())
    # the board reads it as available, without writing
    row = next(r for r in board.unit_rows(project()) if r["id"] == unit.pk)
    assert row["status"] == UnitStatus.AVAILABLE
    unit.refresh_from_db()
    assert unit.status == UnitStatus.RESERVED and unit.status_now == UnitStatus.AVAILABLE
    assert Unit.objects.open_for_sale().filter(pk=unit.pk).exists()
    # the deal reads 已过期 as of now, in the API too, still without a write
    first.refresh_from_db()
    assert first.status == DealStatus.RESERVED and first.status_now == DealStatus.EXPIRED
    from tests.testing import api_client

    body = api_client(user("consultant")).get(f"/api/v1/deals/{first.pk}/").json()
    assert body["status"] == "expired"
    # another consultant reserves it: the old reservation ends first
    other = customer_of(username="consultant2", phone="13700007777", name="另一位")
    second = services.deal_reserve(actor=user("consultant2"), unit=unit, customer=other)
    first.refresh_from_db()
    assert first.status == DealStatus.EXPIRED and second.status == DealStatus.RESERVED


def test_a_subscription_waiting_for_the_deposit_does_not_run_out(demo):
    unit = free_unit(1)
    deal = services.deal_reserve(actor=user("consultant"), unit=unit, customer=customer_of())
    services.deal_subscribe(
        actor=user("consultant"),
        deal=deal,
        buyers=[(deal.customer, "100")],
        payment_method="commercial",
        deposit="50000",
    )
    unit.refresh_from_db()
    assert unit.status == UnitStatus.RESERVED and unit.hold_until is None
    assert unit.status_now == UnitStatus.RESERVED


def test_a_hold_that_ran_out_reads_available_and_can_be_reserved(demo):
    unit = free_unit(2)
    inventory.units_hold(
        actor=user("salesadmin"),
        project=project(),
        unit_ids=[unit.pk],
        reason="领导预留",
        until=timezone.now() + datetime.timedelta(hours=1),
    )
    Unit.objects.filter(pk=unit.pk).update(hold_until=_past())
    unit.refresh_from_db()
    assert unit.status == UnitStatus.HELD and unit.is_open_for_sale
    deal = services.deal_reserve(actor=user("consultant"), unit=unit, customer=customer_of())
    unit.refresh_from_db()
    assert deal.status == DealStatus.RESERVED and unit.status == UnitStatus.RESERVED
