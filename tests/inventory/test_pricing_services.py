"""Price-list services: every transition and its permission, skipped units, price history,
scheduled apply, and the concurrency of two people pricing one unit (PostgreSQL)."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from loupan.audit.models import AuditEntry
from loupan.core.errors import DomainError, ErrorCode
from loupan.inventory import jobs, services
from loupan.inventory import pricelists as ps
from loupan.inventory.models import (
    PriceList,
    PriceListItem,
    PriceListStatus,
    Unit,
    UnitPriceChange,
    UnitStatus,
)

from . import pricing_helpers as helpers
from .pricing_helpers import approve_and_apply, build_data, generate, make_rule

# the fixtures of pricing_helpers
data = helpers.data
priced = helpers.priced

_generate = generate


def _raise(data, pct="3", unit_ids=None):
    ids = unit_ids or [u.pk for u in data["units"]]
    return ps.adjustment_create(
        actor=data["users"]["planner"],
        project=data["project"],
        name="调价",
        unit_ids=ids,
        mode="percent",
        value=pct,
    )


# --- generation ----------------------------------------------------------------------


def test_generate_draft_prices_every_unit_by_the_rule(data):
    pl = _generate(data)
    assert pl.status == PriceListStatus.DRAFT
    assert pl.items.count() == len(data["units"]) == 20
    unit = Unit.objects.get(project=data["project"], number="P1栋301")
    item = pl.items.get(unit=unit)
    # 12000 × (1 + 2% lake view) + 2 floors × 30 + 100 south = 12400 per ㎡ → 98.5 ㎡
    raw = Decimal("12000") * Decimal("1.02") + 60 + 100
    assert raw == Decimal("12400.00")
    assert item.list_price == Decimal("1221400.00")  # 1221400 already a multiple of 100
    assert item.floor_price == Decimal("1184800.00")  # 97 %, to 100 yuan
    assert item.unit_price == Decimal("12400.00")
    top = pl.items.get(unit__number="P1栋602")  # top floor exception −100, north −1 %
    # 12000 × (1 − 1 %) − 100 = 11780 per ㎡ × 76.3 ㎡ = 898814 → 898800
    assert (top.list_price, top.unit_price) == (Decimal("898800.00"), Decimal("11779.82"))
    low = pl.items.get(unit__number="P2栋101")  # floor 1 exception −200, south +100, view +2 %
    assert low.list_price == Decimal("1497200.00")  # (15300 − 200 + 100) × 98.5
    assert all(i.list_price % 100 == 0 for i in pl.items.all())


def test_versions_are_consecutive_per_project(data):
    first = _generate(data)
    second = _generate(data)
    assert second.version == first.version + 1


def test_generate_with_target_average(data):
    pl = _generate(data, target_average="13000")
    items = list(pl.items.select_related("unit"))
    avg = sum(i.list_price for i in items) / sum(i.unit.gross_area for i in items)
    assert abs(avg - Decimal("13000")) <= 1


def test_generate_refuses_units_without_base_price(data):
    rule = make_rule(data)
    rule["building_prices"] = {str(data["b1"].pk): "12000"}
    with pytest.raises(DomainError) as exc:
        _generate(data, rule=rule)
    assert exc.value.code == ErrorCode.INVALID
    assert "building_prices" in exc.value.fields
    # …unless only that building is priced
    pl = _generate(data, rule=rule, building_ids=[data["b1"].pk])
    assert pl.items.count() == 12


def test_generate_needs_pricelist_change(data):
    for name in ("consultant", "manager", "salesadmin", "director"):
        with pytest.raises(DomainError) as exc:
            ps.pricelist_generate(
                actor=data["users"][name],
                project=data["project"],
                name="x",
                rule=make_rule(data),
                building_ids=[data["b1"].pk],
            )
        assert exc.value.code == ErrorCode.PERMISSION_DENIED


def test_override_and_scale_keep_overrides(data):
    pl = _generate(data)
    unit = data["units"][0]
    ps.pricelist_set_override(
        actor=data["users"]["planner"], price_list=pl, unit_id=unit.pk, total="1000000"
    )
    result = ps.pricelist_scale_to_average(
        actor=data["users"]["planner"], price_list=pl, target="14000"
    )
    assert abs(result["reached"] - Decimal("14000")) <= 1
    item = pl.items.get(unit=unit)
    assert item.manual and item.list_price == Decimal("1000000.00")
    pl.refresh_from_db()
    assert pl.parameters["overrides"] == {str(unit.pk): {"total": "1000000.00"}}
    # clearing goes back to the rule
    ps.pricelist_set_override(
        actor=data["users"]["planner"], price_list=pl, unit_id=unit.pk, clear=True
    )
    item.refresh_from_db()
    assert not item.manual and item.list_price != Decimal("1000000.00")


def test_scale_refuses_the_impossible(data):
    pl = _generate(data)
    for unit in data["units"]:
        ps.pricelist_set_override(
            actor=data["users"]["planner"], price_list=pl, unit_id=unit.pk, unit_price="10000"
        )
    with pytest.raises(DomainError) as exc:
        ps.pricelist_scale_to_average(actor=data["users"]["planner"], price_list=pl, target="14000")
    assert exc.value.code == ErrorCode.INVALID and "target_average" in exc.value.fields


# --- the approval path -----------------------------------------------------------------


def test_opening_prices_need_the_director(data):
    users = data["users"]
    pl = ps.pricelist_submit(actor=users["planner"], price_list=_generate(data))
    assert pl.required_approver == "director" and pl.max_change_pct is None
    with pytest.raises(DomainError) as exc:
        ps.pricelist_approve(actor=users["manager"], price_list=pl)
    assert exc.value.code == ErrorCode.PERMISSION_DENIED
    pl = ps.pricelist_approve(actor=users["director"], price_list=pl, note="同意")
    assert pl.status == PriceListStatus.APPROVED and pl.decided_by == users["director"]


def test_manager_approves_within_threshold_not_beyond(priced, settings):
    data, users = priced, priced["users"]
    settings.LOUPAN_PRICE_MANAGER_MAX_CHANGE_PCT = Decimal("5")
    small = ps.pricelist_submit(actor=users["planner"], price_list=_raise(data, "3"))
    assert small.required_approver == "manager"
    assert Decimal("2.9") <= small.max_change_pct <= Decimal("3.1")
    ps.pricelist_approve(actor=users["manager"], price_list=small)
    # a second, larger adjustment of other… the same units (not yet applied: drafted
    # against the same current prices)
    big = ps.pricelist_submit(actor=users["planner"], price_list=_raise(data, "8"))
    assert big.required_approver == "director"
    with pytest.raises(DomainError) as exc:
        ps.pricelist_approve(actor=users["manager"], price_list=big)
    assert exc.value.code == ErrorCode.PERMISSION_DENIED
    assert "超过销售经理审批限额" in exc.value.message
    ps.pricelist_approve(actor=users["director"], price_list=big)


def test_threshold_is_a_setting(priced, settings):
    settings.LOUPAN_PRICE_MANAGER_MAX_CHANGE_PCT = Decimal("10")
    pl = ps.pricelist_submit(actor=priced["users"]["planner"], price_list=_raise(priced, "8"))
    assert pl.required_approver == "manager"


def test_drafter_cannot_approve_own_list(priced, demo):
    from loupan.accounts.models import Membership, Role

    users = priced["users"]
    # the planner also becomes director on the project: still not their own list
    Membership.objects.create(
        user=users["planner"], project=priced["project"], role=Role.objects.get(code="director")
    )
    planner = type(users["planner"]).objects.get(pk=users["planner"].pk)
    pl = ps.pricelist_submit(actor=planner, price_list=_raise(priced, "3"))
    with pytest.raises(DomainError) as exc:
        ps.pricelist_approve(actor=planner, price_list=pl)
    assert exc.value.code == ErrorCode.PERMISSION_DENIED
    assert "自己" in exc.value.message
    with pytest.raises(DomainError):
        ps.pricelist_reject(actor=planner, price_list=pl, note="x")


def test_reject_needs_a_note_and_reopens_to_draft(priced):
    users = priced["users"]
    pl = ps.pricelist_submit(actor=users["planner"], price_list=_raise(priced, "3"))
    with pytest.raises(DomainError) as exc:
        ps.pricelist_reject(actor=users["manager"], price_list=pl, note=" ")
    assert exc.value.fields == {"note": ["请填写驳回原因"]}
    pl = ps.pricelist_reject(actor=users["manager"], price_list=pl, note="涨幅过大")
    assert pl.status == PriceListStatus.REJECTED and pl.decision_note == "涨幅过大"
    with pytest.raises(DomainError) as exc:
        ps.pricelist_apply(actor=users["planner"], price_list=pl)
    assert exc.value.code == ErrorCode.CONFLICT
    pl = ps.pricelist_reopen(actor=users["planner"], price_list=pl)
    assert pl.status == PriceListStatus.DRAFT and pl.required_approver == ""


def test_transitions_follow_the_table(data):
    users = data["users"]
    pl = _generate(data)
    with pytest.raises(DomainError) as exc:
        ps.pricelist_approve(actor=users["director"], price_list=pl)
    assert exc.value.code == ErrorCode.CONFLICT
    with pytest.raises(DomainError) as exc:
        ps.pricelist_apply(actor=users["planner"], price_list=pl)
    assert exc.value.code == ErrorCode.CONFLICT
    with pytest.raises(DomainError) as exc:
        ps.pricelist_reopen(actor=users["planner"], price_list=pl)
    assert exc.value.code == ErrorCode.CONFLICT
    pl = ps.pricelist_submit(actor=users["planner"], price_list=pl)
    with pytest.raises(DomainError) as exc:
        ps.pricelist_submit(actor=users["planner"], price_list=pl)
    assert exc.value.code == ErrorCode.CONFLICT
    with pytest.raises(DomainError) as exc:  # only drafts are edited
        ps.pricelist_set_override(
            actor=users["planner"], price_list=pl, unit_id=data["units"][0].pk, total="1"
        )
    assert exc.value.code == ErrorCode.CONFLICT


def test_consultant_and_salesadmin_cannot_act(priced):
    users = priced["users"]
    pl = ps.pricelist_submit(actor=users["planner"], price_list=_raise(priced, "3"))
    for name in ("consultant", "salesadmin"):
        for call in (
            lambda u: ps.pricelist_approve(actor=u, price_list=pl),
            lambda u: ps.pricelist_reject(actor=u, price_list=pl, note="x"),
            lambda u: ps.pricelist_apply(actor=u, price_list=pl),
            lambda u: ps.adjustment_create(
                actor=u,
                project=priced["project"],
                name="x",
                unit_ids=[1],
                mode="percent",
                value="1",
            ),
        ):
            with pytest.raises(DomainError) as exc:
                call(users[name])
            assert exc.value.code == ErrorCode.PERMISSION_DENIED


# --- applying --------------------------------------------------------------------------


def test_apply_writes_units_history_and_audit(data):
    pl = _generate(data)
    items = {i.unit_id: i for i in pl.items.all()}
    approve_and_apply(data, pl)
    pl.refresh_from_db()
    assert pl.status == PriceListStatus.APPLIED and pl.applied_at is not None
    assert pl.parameters["apply_result"] == {"applied": 20, "skipped": []}
    for unit in Unit.objects.filter(pk__in=items):
        item = items[unit.pk]
        assert (unit.list_price, unit.unit_price, unit.floor_price) == (
            item.list_price,
            item.unit_price,
            item.floor_price,
        )
        assert unit.version == 2
        change = UnitPriceChange.objects.filter(unit=unit, price_list=pl).get()
        assert change.old_list_price is None and change.new_list_price == item.list_price
        assert change.actor == data["users"]["planner"]
    entries = AuditEntry.objects.filter(object_type="inventory.unit", extra__price_list=pl.pk)
    assert entries.count() == 20
    assert not any("floor_price" in e.changes for e in entries)


def test_apply_skips_units_reserved_or_sold(priced):
    data, users = priced, priced["users"]
    pl = _raise(data, "3")
    sold = Unit.objects.get(project=data["project"], number="P1栋101")
    held = Unit.objects.get(project=data["project"], number="P1栋102")
    services.units_hold(
        actor=users["salesadmin"], project=data["project"], unit_ids=[held.pk], reason="领导预留"
    )
    # the unit is sold after the adjustment was drafted
    Unit.objects.filter(pk=sold.pk).update(status=UnitStatus.SUBSCRIBED)
    old_price = sold.list_price
    pl = ps.pricelist_submit(actor=users["planner"], price_list=pl)
    ps.pricelist_approve(actor=users["manager"], price_list=pl)
    result = ps.pricelist_apply(actor=users["planner"], price_list=pl)
    assert result["applied"] == 19
    assert result["skipped"] == [["P1栋101", "已认购"]]
    sold.refresh_from_db()
    assert sold.list_price == old_price
    item = PriceListItem.objects.get(price_list=pl, unit=sold)
    assert item.skipped and item.skip_reason == "已认购"
    held.refresh_from_db()  # held by the office: priced like the others
    assert held.list_price != PriceListItem.objects.get(price_list=pl, unit=held).old_list_price


def test_adjustment_lists_locked_units_as_skipped_at_once(priced):
    data = priced
    unit = data["units"][0]
    Unit.objects.filter(pk=unit.pk).update(status=UnitStatus.CONTRACTED)
    pl = _raise(data, "-2")
    item = pl.items.get(unit=unit)
    assert item.skipped and item.skip_reason == "已签约"
    other = pl.items.exclude(unit=unit).select_related("unit").first()
    assert other.list_price < other.unit.list_price
    assert other.floor_price < other.unit.floor_price  # the floor price moves with it


def test_adjustment_by_amount_per_square_metre(priced):
    data = priced
    unit = Unit.objects.get(project=data["project"], number="P2栋101")
    pl = ps.adjustment_create(
        actor=data["users"]["planner"],
        project=data["project"],
        name="降价",
        unit_ids=[unit.pk],
        mode="amount",
        value="-200",
    )
    item = pl.items.get()
    assert item.list_price == (unit.list_price - 200 * unit.gross_area).quantize(Decimal("0.01"))


def test_apply_refuses_price_below_floor_price(priced):
    data, users = priced, priced["users"]
    unit = data["units"][0]
    rule = make_rule(data, floor_price={})
    rule["building_prices"] = {str(data["b1"].pk): "5000", str(data["b2"].pk): "5000"}
    pl = generate(data, name="无底价规则", rule=rule)
    with pytest.raises(DomainError) as exc:
        ps.pricelist_submit(actor=users["planner"], price_list=pl)
    assert exc.value.code == ErrorCode.INVALID and "底价" in exc.value.message
    assert unit


def test_stale_list_is_a_conflict(priced):
    data, users = priced, priced["users"]
    first = ps.pricelist_submit(actor=users["planner"], price_list=_raise(data, "2"))
    second = ps.pricelist_submit(actor=users["planner"], price_list=_raise(data, "3"))
    ps.pricelist_approve(actor=users["manager"], price_list=first)
    ps.pricelist_approve(actor=users["manager"], price_list=second)
    ps.pricelist_apply(actor=users["planner"], price_list=first)
    with pytest.raises(DomainError) as exc:
        ps.pricelist_apply(actor=users["planner"], price_list=second)
    assert exc.value.code == ErrorCode.CONFLICT
    assert "已被他人修改" in exc.value.message
    second.refresh_from_db()
    assert second.status == PriceListStatus.APPROVED


def test_scheduled_apply_runs_when_due(priced):
    data, users = priced, priced["users"]
    pl = ps.pricelist_submit(actor=users["planner"], price_list=_raise(data, "3"))
    ps.pricelist_approve(actor=users["manager"], price_list=pl)
    at = timezone.now() + datetime.timedelta(hours=2)
    assert ps.pricelist_apply(actor=users["planner"], price_list=pl, at=at) == {"scheduled_at": at}
    pl.refresh_from_db()
    assert pl.status == PriceListStatus.APPROVED and pl.scheduled_at == at
    assert ps.pricelist_apply_due(now=timezone.now()) == 0
    assert jobs.process_due(now=at + datetime.timedelta(minutes=1))["price_lists"] == 1
    pl.refresh_from_db()
    assert pl.status == PriceListStatus.APPLIED
    change = UnitPriceChange.objects.filter(price_list=pl).first()
    assert change is not None and change.actor is None
    assert ps.pricelist_apply_due(now=at + datetime.timedelta(hours=1)) == 0


def test_scheduled_apply_that_fails_is_recorded_not_retried(priced):
    data, users = priced, priced["users"]
    pl = ps.pricelist_submit(actor=users["planner"], price_list=_raise(data, "3"))
    ps.pricelist_approve(actor=users["manager"], price_list=pl)
    at = timezone.now() + datetime.timedelta(hours=1)
    ps.pricelist_apply(actor=users["planner"], price_list=pl, at=at)
    unit = Unit.objects.get(pk=data["units"][3].pk)
    services.unit_update(
        actor=users["planner"], unit=unit, data={"list_price": unit.list_price + 1000}
    )
    assert ps.pricelist_apply_due(now=at) == 0
    pl.refresh_from_db()
    assert pl.status == PriceListStatus.APPROVED and pl.scheduled_at is None
    assert "已被他人修改" in pl.parameters["apply_error"]


def test_unschedule(priced):
    data, users = priced, priced["users"]
    pl = ps.pricelist_submit(actor=users["planner"], price_list=_raise(data, "3"))
    ps.pricelist_approve(actor=users["manager"], price_list=pl)
    ps.pricelist_apply(
        actor=users["manager"], price_list=pl, at=timezone.now() + datetime.timedelta(days=1)
    )
    pl = ps.pricelist_unschedule(actor=users["planner"], price_list=pl)
    assert pl.scheduled_at is None
    assert ps.pricelist_apply_due(now=timezone.now() + datetime.timedelta(days=2)) == 0


def test_price_list_audit_never_holds_the_floor_discount(data):
    pl = _generate(data)
    entry = AuditEntry.objects.filter(object_type="inventory.pricelist", object_id=str(pl.pk)).get()
    assert "floor_price" not in str(entry.changes)


# --- concurrency (PostgreSQL, real threads) -------------------------------------------


def _run_concurrently(*calls):
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = ("ok", call())
        except DomainError as exc:
            results[index] = ("error", exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_lists_pricing_one_unit_at_once_one_wins(demo):
    assert connection.vendor == "postgresql"  # deselected on SQLite (tests/conftest.py)
    data_ = build_data(demo)
    first = approve_and_apply(data_, generate(data_, name="开盘价"))
    users = data_["users"]
    lists = []
    for pct in ("2", "4"):
        pl = ps.pricelist_submit(actor=users["planner"], price_list=_raise(data_, pct))
        lists.append(ps.pricelist_approve(actor=users["manager"], price_list=pl))
    results = _run_concurrently(
        *(lambda pl=pl: ps.pricelist_apply(actor=users["planner"], price_list=pl) for pl in lists)
    )
    outcomes = sorted(r[0] for r in results)
    assert outcomes == ["error", "ok"], results
    error = next(r[1] for r in results if r[0] == "error")
    assert error.code == ErrorCode.CONFLICT
    winner = lists[[r[0] for r in results].index("ok")]
    statuses = dict(
        PriceList.objects.filter(pk__in=[p.pk for p in lists]).values_list("pk", "status")
    )
    assert statuses[winner.pk] == PriceListStatus.APPLIED
    assert sorted(statuses.values()) == [PriceListStatus.APPLIED, PriceListStatus.APPROVED]
    for unit in Unit.objects.filter(pk__in=[u.pk for u in data_["units"]]):
        assert unit.list_price == PriceListItem.objects.get(price_list=winner, unit=unit).list_price
        assert UnitPriceChange.objects.filter(unit=unit).exclude(price_list=first).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_apply_and_manual_pricing_of_one_unit_at_once(demo):
    """A planner edits a unit's price while a list covering it is applied: whichever
    commits first wins; if the edit wins, the list is refused as a conflict."""
    assert connection.vendor == "postgresql"  # deselected on SQLite (tests/conftest.py)
    data_ = build_data(demo)
    users = data_["users"]
    approve_and_apply(data_, generate(data_, name="开盘价"))
    pl = ps.pricelist_submit(actor=users["planner"], price_list=_raise(data_, "2"))
    pl = ps.pricelist_approve(actor=users["manager"], price_list=pl)
    unit = Unit.objects.get(project=data_["project"], number="P1栋301")
    edited = unit.list_price + Decimal("5000")
    results = _run_concurrently(
        lambda: ps.pricelist_apply(actor=users["planner"], price_list=pl),
        lambda: services.unit_update(
            actor=users["planner"], unit=unit, data={"list_price": edited}
        ),
    )
    unit.refresh_from_db()
    pl.refresh_from_db()
    apply_outcome, edit_outcome = results
    assert edit_outcome[0] == "ok"  # the unit edit waits for the lock and then applies
    if apply_outcome[0] == "error":
        assert apply_outcome[1].code == ErrorCode.CONFLICT
        assert pl.status == PriceListStatus.APPROVED
        assert unit.list_price == edited
        assert not UnitPriceChange.objects.filter(price_list=pl).exists()
    else:  # the list won: the edit came after it, on top of the new price
        assert pl.status == PriceListStatus.APPLIED
        assert UnitPriceChange.objects.filter(price_list=pl, unit=unit).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_versions_under_concurrency(demo):
    assert connection.vendor == "postgresql"  # deselected on SQLite (tests/conftest.py)
    data_ = build_data(demo)
    start = PriceList.objects.filter(project=data_["project"]).count()
    results = _run_concurrently(*(lambda: generate(data_, name="并发") for _ in range(4)))
    assert all(r[0] == "ok" for r in results), results
    versions = sorted(
        PriceList.objects.filter(project=data_["project"]).values_list("version", flat=True)
    )
    assert versions[start:] == [start + 1, start + 2, start + 3, start + 4]
