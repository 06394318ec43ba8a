"""Shared test helpers of the customers tests."""

import datetime

from django.utils import timezone

from loupan.customers.models import Customer


def make_customer(project, owner, phone="+8619912340001", name="老王", layout="三室两厅"):
    """A customer registered three days ago, written directly (no service, no audit)."""
    return Customer.objects.create(
        project=project,
        owner=owner,
        name=name,
        phone=phone,
        phone_tail=phone[-4:],
        wanted_layout=layout,
        registered_at=timezone.now() - datetime.timedelta(days=3),
        registered_by=owner,
    )
