"""The demo office's dates obey the rules the system itself enforces (issue 12): nothing
in the future, nothing before the customer it belongs to was registered, each deal's
steps in their order and within their deadlines, and the deals spread over the weeks
before today instead of all made at the same minute. Counted from the raw rows."""

import pytest
from django.db.models import F
from django.db.models.functions import TruncMinute
from django.utils import timezone

from loupan.customers.models import CallRecord, Customer, FollowUp, Visit
from loupan.deals.models import Deal, DealStatus

pytestmark = pytest.mark.django_db


def test_the_demo_office_lives_on_one_timeline(demo):
    now = timezone.now()
    assert not Customer.objects.filter(registered_at__gt=now).exists()
    assert not FollowUp.objects.filter(at__gt=now).exists()
    assert not Visit.objects.filter(visited_at__gt=now).exists()
    assert not CallRecord.objects.filter(called_at__gt=now).exists()
    assert not FollowUp.objects.filter(at__lt=F("customer__registered_at")).exists()
    assert not Visit.objects.filter(visited_at__lt=F("customer__registered_at")).exists()

    deals = list(Deal.objects.select_related("customer").order_by("pk"))
    assert len(deals) >= 10
    for deal in deals:
        where = f"deal {deal.pk} ({deal.note or deal})"
        assert deal.customer.registered_at <= deal.reserved_at <= now, where
        if deal.reservation_expires_at:
            assert deal.reservation_expires_at > deal.reserved_at, where
        if deal.status == DealStatus.RESERVED:
            assert deal.reservation_expires_at > now, where  # not run out unnoticed
        if deal.subscribed_at:
            assert deal.reserved_at <= deal.subscribed_at <= now, where
            subscribed_on = timezone.localtime(deal.subscribed_at).date()
            if deal.signing_deadline:
                assert deal.signing_deadline >= subscribed_on, where
            if deal.signed_on:
                assert subscribed_on <= deal.signed_on <= timezone.localdate(), where
            # an exchange carries the old deal's confirmed deposit over
            if deal.deposit_confirmed_at and deal.exchanged_from_id is None:
                assert deal.deposit_confirmed_at >= deal.subscribed_at, where
        if deal.ended_at:
            assert deal.reserved_at <= deal.ended_at <= now, where

    # the office's deals were made over weeks, not in one minute
    minutes = Deal.objects.annotate(m=TruncMinute("reserved_at")).values("m").distinct()
    assert minutes.count() >= len(deals) // 2
    first = min(d.reserved_at for d in deals)
    assert (now - first).days >= 14
