"""Arrears and collection (issue 13): the overdue job, late fees computed from the ledger,
collection records, deferred payments through the approval engine."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from loupan.approvals import services as approvals
from loupan.core import due
from loupan.core.errors import DomainError
from loupan.core.money import money
from loupan.payments import arrears, selectors, services
from loupan.payments.models import Arrear, PaymentSettings, ScheduleItem
from tests.deals.helpers import project, subscribed, user


def past_due(deal, days=10):
    """Move the deal's first item ``days`` into the past (as if time had passed)."""
    item = ScheduleItem.objects.filter(deal=deal).order_by("seq").first()
    item.due_date = item.original_due_date = timezone.localdate() - datetime.timedelta(days=days)
    item.save()
    return item


def test_the_daily_job_opens_and_settles_arrears(demo):
    deal = subscribed(offset=0, phone="13710000001")
    item = past_due(deal)
    result = arrears.arrears_find()
    assert result["arrears_opened"] >= 1
    arrear = Arrear.objects.get(item=item, settled_on=None)
    assert arrear.found_on == timezone.localdate()
    assert arrears.arrears_find()["arrears_opened"] == 0  # idempotent
    owed = item.amount - Decimal("50000")
    services.payment_record(actor=user("finance"), deal=deal, amount=owed, method="cash")
    assert arrears.arrears_find()["arrears_settled"] >= 1
    assert Arrear.objects.get(pk=arrear.pk).settled_on == timezone.localdate()


def test_run_due_runs_the_arrears_job(demo):
    deal = subscribed(offset=1, phone="13710000002")
    past_due(deal)
    report = due.run_due()
    assert report["arrears_opened"] >= 1


def test_the_collection_list_holds_a_consultants_own_overdue_buyers(demo):
    deal = subscribed(offset=2, phone="13710000003")
    item = past_due(deal, days=5)
    mine = list(selectors.collection_items(user("consultant"), project()))
    assert item in mine
    assert item.pk not in [i.pk for i in selectors.collection_items(user("consultant2"), project())]
    row = next(i for i in mine if i.pk == item.pk)
    assert row.owed == item.amount - Decimal("50000")


def test_late_fees_are_computed_from_the_ledger_and_off_when_the_rate_is_0(demo):
    deal = subscribed(offset=3, phone="13710000004")
    item = past_due(deal, days=10)
    PaymentSettings.objects.update_or_create(
        project=project(), defaults={"late_fee_daily_pct": Decimal("0")}
    )
    assert arrears.late_fee_due(deal) == Decimal("0.00")
    PaymentSettings.objects.update_or_create(
        project=project(),
        defaults={"late_fee_daily_pct": Decimal("0.05"), "late_fee_grace_days": 0},
    )
    owed = item.amount - Decimal("50000")
    rate = Decimal("0.0005")
    # ten days past due, the fee runs from the day after (nine days before today, and
    # today): each day's unpaid amount × 0.05%; the deposit, received today (the test
    # moved the due date back), counts from today only
    expected = money((item.amount * 9 + owed) * rate)
    assert arrears.late_fee_due(deal) == expected
    # paid in full five days ago: the fee stops from that day
    today = timezone.localdate()
    state = arrears.schedule_state(deal, today)[0]
    assert state.overdue_days == 10 and state.late_fee == expected
    services.payment_record(
        actor=user("finance"),
        deal=deal,
        amount=owed,
        method="cash",
        paid_on=today - datetime.timedelta(days=5),
    )
    # the whole amount for four days, then the deposit still unpaid until today
    expected = money((item.amount * 4 + Decimal("50000") * 5) * rate)
    assert arrears.late_fee_due(deal) == expected
    fee = arrears.late_fee_due(deal)
    services.payment_record(
        actor=user("finance"), deal=deal, amount=fee, method="cash", late_fee=True
    )
    assert arrears.late_fee_due(deal) == Decimal("0.00")
    with pytest.raises(DomainError) as exc:
        services.payment_record(
            actor=user("finance"), deal=deal, amount="1", method="cash", late_fee=True
        )
    assert exc.value.code == "overpaid"


def test_a_collection_record_by_the_consultant(demo):
    deal = subscribed(offset=4, phone="13710000005")
    item = past_due(deal)
    record = arrears.collection_record(
        actor=user("consultant"),
        deal=deal,
        item=item,
        channel="phone",
        contact=deal.customer.name,
        note="答应下周付",
        promised_amount="10000",
        promised_on=timezone.localdate() + datetime.timedelta(days=7),
    )
    assert record.by == user("consultant")
    with pytest.raises(DomainError) as exc:
        arrears.collection_record(
            actor=user("consultant2"), deal=deal, channel="phone", contact="x", note="y"
        )
    assert exc.value.code == "permission_denied"
    with pytest.raises(DomainError) as exc:
        arrears.collection_record(
            actor=user("consultant"), deal=deal, channel="fax", contact="x", note="y"
        )
    assert exc.value.fields.keys() == {"channel"}


def test_a_deferral_moves_the_date_only_when_approved(demo):
    deal = subscribed(offset=5, phone="13710000006")
    item = past_due(deal, days=3)
    new_date = timezone.localdate() + datetime.timedelta(days=30)
    with pytest.raises(DomainError) as exc:
        arrears.deferral_request(
            actor=user("consultant"), deal=deal, item=item, new_due_date=item.due_date, reason="x"
        )
    assert exc.value.fields.keys() == {"new_due_date"}
    deferral = arrears.deferral_request(
        actor=user("consultant"),
        deal=deal,
        item=item,
        new_due_date=new_date,
        reason="年终奖发放后付",
    )
    assert ScheduleItem.objects.get(pk=item.pk).due_date == item.due_date
    with pytest.raises(DomainError):  # a consultant never decides
        approvals.approval_decide(actor=user("consultant"), request=deferral.request, approve=True)
    approvals.approval_decide(actor=user("manager"), request=deferral.request, approve=True)
    moved = ScheduleItem.objects.get(pk=item.pk)
    assert moved.due_date == new_date and moved.original_due_date == item.due_date
    assert item.pk not in [i.pk for i in selectors.collection_items(user("manager"), project())]
    assert deferral in selectors.deferrals_for(user("manager"), project())
