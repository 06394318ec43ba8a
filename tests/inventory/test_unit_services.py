"""Units: creation rules, generation, bulk edit, release, holds, release plans, due runs."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from loupan.accounts.models import User
from loupan.audit.models import AuditEntry
from loupan.core.errors import DomainError
from loupan.inventory import jobs, services
from loupan.inventory.models import ReleasePlan, Unit, UnitPriceChange, UnitStatus, UnitStatusChange

from .board_data import small_building

pytestmark = pytest.mark.django_db


def user(name):
    return User.objects.get(username=name)


def test_generation_numbers_units_as_the_office_writes_them(demo):
    project, building, units = small_building(
        name="9栋", floors=3, stairs=2, per_floor=2, release=False
    )
    assert len(units) == 12
    numbers = {u.number for u in units}
    assert {"9栋1单元101", "9栋2单元302", "9栋1单元202"} <= numbers
    assert all(u.status == UnitStatus.NOT_RELEASED for u in units)
    # Price history starts with the generated prices.
    assert UnitPriceChange.objects.filter(unit__building=building).count() == 12


def test_generation_refuses_existing_positions_and_writes_nothing(demo):
    project, building, units = small_building(release=False)
    before = Unit.objects.count()
    with pytest.raises(DomainError) as exc:
        services.building_generate_units(
            actor=user("planner"), building=building, positions=[{"gross_area": Decimal("90")}]
        )
    assert exc.value.code == "conflict"
    assert Unit.objects.count() == before


def test_generation_needs_unit_change(demo):
    project, building, units = small_building(release=False)
    with pytest.raises(DomainError) as exc:
        services.building_generate_units(
            actor=user("consultant"),
            building=building,
            positions=[{"gross_area": Decimal("90")}],
            floors=[9],
        )
    assert exc.value.code == "permission_denied"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"gross_area": Decimal("0")}, "gross_area"),
        ({"internal_area": Decimal("120")}, "internal_area"),
        ({"list_price": Decimal("100"), "floor_price": Decimal("200")}, "list_price"),
        ({"sellable": False, "unsellable_reason": ""}, "unsellable_reason"),
        ({"unit_price": Decimal("-1")}, "unit_price"),
    ],
)
def test_unit_update_rules_name_the_field(demo, data, field):
    project, building, units = small_building()
    with pytest.raises(DomainError) as exc:
        services.unit_update(actor=user("planner"), unit=units[0], data=data)
    assert exc.value.code == "invalid"
    assert field in exc.value.fields
    units[0].refresh_from_db()
    assert units[0].gross_area == Decimal("100.00")


def test_price_edit_writes_history_and_audit(demo):
    project, building, units = small_building()
    unit = services.unit_update(
        actor=user("planner"), unit=units[0], data={"list_price": Decimal("1100000.00")}
    )
    change = UnitPriceChange.objects.filter(unit=unit).first()
    assert (change.old_list_price, change.new_list_price) == (
        Decimal("1000000.00"),
        Decimal("1100000.00"),
    )
    entry = AuditEntry.objects.filter(
        object_type="inventory.unit", object_id=str(unit.pk), action="update"
    ).first()
    assert entry.changes["list_price"] == ["1000000.00", "1100000.00"]


def test_parking_attaches_only_to_a_home(demo):
    project, building, units = small_building()
    with pytest.raises(DomainError) as exc:
        services.unit_update(actor=user("planner"), unit=units[0], data={"attached_to": units[1]})
    assert "attached_to" in exc.value.fields


def test_bulk_edit_is_all_or_nothing(demo):
    project, building, units = small_building()
    ids = [u.pk for u in units]
    assert services.units_bulk_update(
        actor=user("planner"), project=project, unit_ids=ids, data={"view": "湖景"}
    ) == len(ids)
    assert set(Unit.objects.filter(pk__in=ids).values_list("view", flat=True)) == {"湖景"}
    with pytest.raises(DomainError):
        services.units_bulk_update(
            actor=user("planner"),
            project=project,
            unit_ids=ids,
            data={"internal_area": Decimal("150")},
        )
    assert set(Unit.objects.filter(pk__in=ids).values_list("internal_area", flat=True)) == {
        Decimal("80.00")
    }
    with pytest.raises(DomainError) as exc:
        services.units_bulk_update(
            actor=user("planner"), project=project, unit_ids=ids, data={"status": "held"}
        )
    assert "status" in exc.value.fields


def test_release_is_for_admin_and_manager_not_consultant(demo):
    project, building, units = small_building(release=False)
    with pytest.raises(DomainError) as exc:
        services.units_release(actor=user("consultant"), project=project, unit_ids=[units[0].pk])
    assert exc.value.code == "permission_denied"
    services.units_release(actor=user("manager"), project=project, unit_ids=[units[0].pk])
    units[0].refresh_from_db()
    assert units[0].status == UnitStatus.AVAILABLE


def test_hold_and_unhold_with_history(demo):
    project, building, units = small_building()
    held = services.units_hold(
        actor=user("salesadmin"), project=project, unit_ids=[units[0].pk], reason="领导预留"
    )
    assert held[0].status == UnitStatus.HELD and held[0].hold_reason == "领导预留"
    assert held[0].held_by == user("salesadmin")
    services.units_unhold(actor=user("manager"), project=project, unit_ids=[units[0].pk])
    units[0].refresh_from_db()
    assert units[0].status == UnitStatus.AVAILABLE and units[0].hold_reason == ""
    steps = list(
        UnitStatusChange.objects.filter(unit=units[0])
        .order_by("id")
        .values_list("from_status", "to_status")
    )
    assert steps[-2:] == [("available", "held"), ("held", "available")]


@pytest.mark.parametrize("username", ["consultant", "planner", "finance", "auditor"])
def test_hold_refused_for_roles_without_it(demo, username):
    project, building, units = small_building()
    with pytest.raises(DomainError) as exc:
        services.units_hold(
            actor=user(username), project=project, unit_ids=[units[0].pk], reason="x"
        )
    assert exc.value.code == "permission_denied"


def test_hold_needs_reason_and_future_expiry(demo):
    project, building, units = small_building()
    with pytest.raises(DomainError) as exc:
        services.units_hold(
            actor=user("salesadmin"), project=project, unit_ids=[units[0].pk], reason=" "
        )
    assert "reason" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        services.units_hold(
            actor=user("salesadmin"),
            project=project,
            unit_ids=[units[0].pk],
            reason="x",
            until=timezone.now() - datetime.timedelta(hours=1),
        )
    assert "until" in exc.value.fields


def test_hold_of_a_held_or_unreleased_or_unsellable_unit_is_a_conflict(demo):
    project, building, units = small_building()
    services.units_hold(
        actor=user("salesadmin"), project=project, unit_ids=[units[0].pk], reason="x"
    )
    with pytest.raises(DomainError) as exc:
        services.units_hold(
            actor=user("salesadmin"),
            project=project,
            unit_ids=[units[0].pk, units[1].pk],
            reason="y",
        )
    assert exc.value.code == "conflict"
    units[1].refresh_from_db()
    assert units[1].status == UnitStatus.AVAILABLE  # all or nothing
    services.unit_update(
        actor=user("planner"),
        unit=units[1],
        data={"sellable": False, "unsellable_reason": "样板间"},
    )
    with pytest.raises(DomainError) as exc:
        services.units_hold(
            actor=user("salesadmin"), project=project, unit_ids=[units[1].pk], reason="y"
        )
    assert exc.value.code == "conflict" and "不可售" in exc.value.message


def test_open_for_sale_is_available_and_sellable(demo):
    project, building, units = small_building(release=False)
    services.units_release(
        actor=user("salesadmin"), project=project, unit_ids=[u.pk for u in units[:3]]
    )
    services.units_hold(
        actor=user("salesadmin"), project=project, unit_ids=[units[0].pk], reason="x"
    )
    services.unit_update(
        actor=user("planner"),
        unit=units[1],
        data={"sellable": False, "unsellable_reason": "样板间"},
    )
    mine = Unit.objects.filter(building=building)
    expected = {units[2].pk}  # held, 不可售, and the unreleased ones are not open for sale
    assert set(mine.open_for_sale().values_list("pk", flat=True)) == expected
    assert {u.pk for u in mine if u.is_open_for_sale} == expected


def test_units_of_another_project_are_refused(demo):
    project, building, units = small_building()
    from loupan.inventory.models import Project

    other = Project.objects.get(code="YQF")
    with pytest.raises(DomainError) as exc:
        services.units_hold(
            actor=user("director"), project=other, unit_ids=[units[0].pk], reason="x"
        )
    assert exc.value.code == "not_found"


def test_expired_hold_and_due_release_plan_run_by_themselves(demo):
    project, building, units = small_building()
    admin = user("salesadmin")
    soon = timezone.now() + datetime.timedelta(minutes=5)
    services.units_hold(
        actor=admin, project=project, unit_ids=[units[0].pk], reason="短期", until=soon
    )
    services.units_hold(
        actor=admin, project=project, unit_ids=[units[1].pk, units[2].pk], reason="滚动"
    )
    plan = services.release_plan_create(
        actor=admin,
        project=project,
        name="第一批",
        release_at=soon,
        unit_ids=[units[1].pk, units[2].pk],
    )
    # A unit of the plan released by hand before the plan runs is skipped, not an error.
    services.units_unhold(actor=admin, project=project, unit_ids=[units[2].pk])
    assert jobs.process_due(now=timezone.now())["plans"] == 0
    result = jobs.process_due(now=soon + datetime.timedelta(seconds=1))
    assert result["holds_expired"] == 1 and result["plans"] == 1
    statuses = set(
        Unit.objects.filter(pk__in=[u.pk for u in units[:3]]).values_list("status", flat=True)
    )
    assert statuses == {UnitStatus.AVAILABLE}
    plan.refresh_from_db()
    assert plan.executed_at is not None and plan.result == {
        "released": 1,
        "skipped": [units[2].number],
    }
    # Running again does nothing.
    assert jobs.process_due(now=soon + datetime.timedelta(minutes=1)) == {
        "holds_expired": 0,
        "plans": 0,
        "price_lists": 0,
    }
    assert ReleasePlan.objects.get(pk=plan.pk).result["released"] == 1


def test_release_plan_only_for_held_units_in_the_future(demo):
    project, building, units = small_building()
    admin = user("salesadmin")
    with pytest.raises(DomainError) as exc:
        services.release_plan_create(
            actor=admin,
            project=project,
            name="x",
            release_at=timezone.now() + datetime.timedelta(days=1),
            unit_ids=[units[0].pk],
        )
    assert "units" in exc.value.fields
    services.units_hold(actor=admin, project=project, unit_ids=[units[0].pk], reason="x")
    with pytest.raises(DomainError) as exc:
        services.release_plan_create(
            actor=admin,
            project=project,
            name="x",
            release_at=timezone.now() - datetime.timedelta(days=1),
            unit_ids=[units[0].pk],
        )
    assert "release_at" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        services.release_plan_create(
            actor=user("consultant"),
            project=project,
            name="x",
            release_at=timezone.now() + datetime.timedelta(days=1),
            unit_ids=[units[0].pk],
        )
    assert exc.value.code == "permission_denied"


def test_status_table_refuses_skipping_steps(demo):
    project, building, units = small_building(release=False)
    with pytest.raises(DomainError) as exc:
        services.units_hold(
            actor=user("salesadmin"), project=project, unit_ids=[units[0].pk], reason="x"
        )
    assert exc.value.code == "conflict" and "未推" in exc.value.message


def test_demo_office_has_buildings_layouts_held_units(demo):
    project = demo["main"]
    assert project.buildings.count() == 7
    homes = Unit.objects.filter(project=project, use="residential").count()
    assert 550 <= homes <= 650
    assert Unit.objects.filter(project=project, use="parking").count() == 120
    assert Unit.objects.filter(project=project, status=UnitStatus.HELD).count() > 0
    assert project.layouts.count() >= 4


def test_an_edit_that_changes_nothing_writes_nothing(demo):
    project, building, units = small_building()
    unit = Unit.objects.get(pk=units[0].pk)
    entries = AuditEntry.objects.count()
    same = services.unit_update(
        actor=user("planner"), unit=unit, data={"view": unit.view, "list_price": "1000000"}
    )
    assert same.version == unit.version
    assert AuditEntry.objects.count() == entries


def test_model_validation_message_names_the_field(demo):
    project, building, units = small_building()
    with pytest.raises(DomainError) as exc:
        services.unit_update(actor=user("planner"), unit=units[0], data={"room": ""})
    assert exc.value.message.startswith("房号：")
