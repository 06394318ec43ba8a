"""Two people holding the same unit at the same moment on PostgreSQL: one wins."""

import pytest
from django.db import connection

from loupan.accounts.models import User
from loupan.inventory import services
from loupan.inventory.models import Unit, UnitStatus, UnitStatusChange
from tests.testing import race

from .board_data import small_building

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_holds_of_one_unit_one_wins(demo):
    assert connection.vendor == "postgresql"
    project, building, units = small_building()
    actors = [User.objects.get(username="salesadmin"), User.objects.get(username="manager")] * 5
    target = units[0].pk
    results = race(
        10,
        lambda i: services.units_hold(
            actor=actors[i], project=project, unit_ids=[target], reason=f"hold {i}"
        ),
    )
    assert results.count("ok") == 1
    assert results.count("conflict") == 9
    unit = Unit.objects.get(pk=target)
    assert unit.status == UnitStatus.HELD
    assert UnitStatusChange.objects.filter(unit=unit, to_status=UnitStatus.HELD).count() == 1


def test_overlapping_bulk_holds_never_half_apply(demo):
    project, building, units = small_building()
    admin = User.objects.get(username="salesadmin")
    a = [u.pk for u in units[:5]]
    b = [u.pk for u in units[3:]]
    results = race(
        2,
        lambda i: services.units_hold(actor=admin, project=project, unit_ids=[a, b][i], reason="x"),
    )
    assert sorted(results) == ["conflict", "ok"]
    held = set(
        Unit.objects.filter(building=building, status=UnitStatus.HELD).values_list("pk", flat=True)
    )
    assert held in (set(a), set(b))
