"""Deal services: reserve → subscribe → deposit confirmed → contract, the discount
authority and the approval chain, the deposit cap, shares, expiry, gapless numbers and
one live deal per unit under concurrency (issue Deals)."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from loupan.approvals import services as approvals
from loupan.approvals.models import ApprovalRequest, ApprovalStatus
from loupan.core.errors import DomainError
from loupan.customers import services as customer_services
from loupan.customers.models import Customer, Stage
from loupan.deals import contracts, services
from loupan.deals.models import Deal, DealStatus, DealUnit, DiscountType
from loupan.deals.pricing import quote
from loupan.inventory.models import Unit, UnitStatus
from tests.deals.helpers import customer_of, free_unit, project, sign, user
from tests.testing import race

pytestmark = pytest.mark.django_db


def discount(name, kind="percent", value="1", order=0, variable=False):
    return DiscountType.objects.get_or_create(
        project=project(),
        name=name,
        defaults={"kind": kind, "value": Decimal(value), "sort_order": order, "variable": variable},
    )[0]


def subscribe(deal, actor="consultant", discounts=(), deposit="50000", **kw):
    return services.deal_subscribe(
        actor=user(actor),
        deal=deal,
        buyers=[(deal.customer, "100")],
        payment_method="commercial",
        deposit=deposit,
        discounts=discounts,
        **kw,
    )


def test_the_whole_path_moves_the_unit_and_keeps_the_terms(demo):
    unit, buyer = free_unit(), customer_of()
    deal = services.deal_reserve(actor=user("consultant"), unit=unit, customer=buyer)
    unit.refresh_from_db()
    assert unit.status == UnitStatus.RESERVED and deal.status == DealStatus.RESERVED
    assert deal.reservation_number.startswith("BL-CHW-")
    assert deal.reservation_expires_at > timezone.now() + datetime.timedelta(hours=23)

    deal = subscribe(deal)
    unit.refresh_from_db()
    assert deal.status == DealStatus.PENDING and unit.status == UnitStatus.RESERVED  # not yet 认购
    assert deal.number.startswith("RG-CHW-") and deal.total == unit.list_price
    assert deal.signing_deadline == timezone.localdate() + datetime.timedelta(days=7)

    with pytest.raises(DomainError) as exc:
        services.deal_confirm_deposit(actor=user("consultant"), deal=deal)
    assert exc.value.code == "permission_denied"
    deal = services.deal_confirm_deposit(actor=user("finance"), deal=deal)
    unit.refresh_from_db()
    assert deal.status == DealStatus.SUBSCRIBED and unit.status == UnitStatus.SUBSCRIBED
    assert Customer.objects.get(pk=buyer.pk).stage == Stage.DEAL

    # a later price change of the unit never changes the deal's agreed price
    Unit.objects.filter(pk=unit.pk).update(list_price=unit.list_price + 100000)
    deal = sign(deal)
    unit.refresh_from_db()
    assert deal.status == DealStatus.CONTRACTED and unit.status == UnitStatus.CONTRACTED
    assert deal.contract_number.startswith("HT-CHW-") and deal.total != unit.list_price


def test_reserve_refusals(demo):
    buyer = customer_of()
    other = customer_of("consultant2", "13700002222", "别人的客户")
    unit = free_unit()
    with pytest.raises(DomainError) as exc:
        services.deal_reserve(actor=user("consultant"), unit=unit, customer=other)
    # a colleague's customer reads as an unknown one (issue 12)
    assert exc.value.code == "invalid" and "customer" in exc.value.fields
    assert exc.value.message == services.CUSTOMER_REFUSED
    with pytest.raises(DomainError) as exc:
        services.deal_reserve(actor=user("consultant"), unit=unit, customer=None)
    assert exc.value.code == "invalid" and exc.value.message == services.CUSTOMER_REFUSED
    with pytest.raises(DomainError) as exc:
        services.deal_reserve(actor=user("finance"), unit=unit, customer=buyer)
    assert exc.value.code == "permission_denied"
    held = Unit.objects.filter(project=project(), status=UnitStatus.HELD).first()
    with pytest.raises(DomainError) as exc:
        services.deal_reserve(actor=user("consultant"), unit=held, customer=buyer)
    assert exc.value.code == "conflict" and "unit" in exc.value.fields
    Unit.objects.filter(pk=unit.pk).update(sellable=False, unsellable_reason="抵押")
    unit.refresh_from_db()
    with pytest.raises(DomainError) as exc:
        services.deal_reserve(actor=user("consultant"), unit=unit, customer=buyer)
    assert exc.value.code == "conflict"
    assert not Deal.objects.filter(customer=buyer).exists()


def test_second_reservation_of_a_unit_is_a_conflict(demo):
    unit = free_unit()
    services.deal_reserve(actor=user("consultant"), unit=unit, customer=customer_of())
    with pytest.raises(DomainError) as exc:
        services.deal_reserve(
            actor=user("consultant2"),
            unit=Unit.objects.get(pk=unit.pk),
            customer=customer_of("consultant2", "13700002222"),
        )
    assert exc.value.code == "conflict"
    assert DealUnit.objects.filter(unit=unit, live=True).count() == 1


def test_expired_reservation_returns_the_unit_and_cannot_be_subscribed(demo):
    unit = free_unit()
    deal = services.deal_reserve(actor=user("consultant"), unit=unit, customer=customer_of())
    Deal.objects.filter(pk=deal.pk).update(
        reservation_expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    deal.refresh_from_db()
    with pytest.raises(DomainError) as exc:
        subscribe(deal)
    assert exc.value.code == "reservation_expired"
    # the refused subscription ended the reservation itself (an action may write, a GET
    # never does), so the sweep of run-due finds nothing left to do
    assert services.deals_expire() == 0
    deal.refresh_from_db(), unit.refresh_from_db()
    assert deal.status == DealStatus.EXPIRED and unit.status == UnitStatus.AVAILABLE
    assert not DealUnit.objects.filter(unit=unit, live=True).exists()
    # and the unit can be reserved again
    services.deal_reserve(actor=user("consultant"), unit=unit, customer=deal.customer)


def test_deposit_cap_and_shares(demo):
    deal = services.deal_reserve(actor=user("consultant"), unit=free_unit(), customer=customer_of())
    cap = (deal.unit.list_price * Decimal("0.2")).quantize(Decimal("0.01"))
    with pytest.raises(DomainError) as exc:
        subscribe(deal, deposit=str(cap + Decimal("0.01")))
    assert exc.value.code == "deposit_over_cap" and "deposit" in exc.value.fields
    subscribe_ok = subscribe(deal, deposit=str(cap))
    assert subscribe_ok.deposit == cap
    deal2 = services.deal_reserve(
        actor=user("consultant"), unit=free_unit(), customer=customer_of(phone="13700003333")
    )
    spouse = customer_of(phone="13700004444", name="配偶")
    for shares in (("60", "30"), ("60", "50"), ("100", "0")):
        with pytest.raises(DomainError) as exc:
            services.deal_subscribe(
                actor=user("consultant"),
                deal=deal2,
                buyers=[(deal2.customer, shares[0]), (spouse, shares[1])],
                payment_method="one_off",
                deposit="10000",
            )
        assert exc.value.code == "invalid" and "buyers" in exc.value.fields
    deal2 = services.deal_subscribe(
        actor=user("consultant"),
        deal=deal2,
        buyers=[(deal2.customer, "50"), (spouse, "50")],
        payment_method="one_off",
        deposit="10000",
    )
    assert deal2.buyers.count() == 2


def test_discounts_apply_in_order_and_within_authority_need_no_approval(demo):
    amount = discount("测试减免", "amount", "10000", order=2)
    pct = discount("测试折扣", "percent", "0.5", order=1)
    deal = services.deal_reserve(actor=user("consultant"), unit=free_unit(), customer=customer_of())
    deal = subscribe(deal, discounts=[(amount, None), (pct, None)], reason="测试")
    steps = list(deal.discounts.order_by("sort_order"))
    assert [s.name for s in steps] == ["测试折扣", "测试减免"]  # the set order, not the given
    after_pct = (deal.list_total * Decimal("0.995")).quantize(Decimal("0.01"))
    assert steps[0].total_after == after_pct and steps[1].total_after == after_pct - 10000
    assert deal.total == after_pct - 10000
    expected = deal.discount_pct <= 1
    assert (deal.status == DealStatus.PENDING) == expected


def test_discount_beyond_authority_climbs_the_chain_level_by_level(demo):
    special = discount("特批", "percent", "0", order=9, variable=True)  # the demo's
    deal = services.deal_reserve(actor=user("consultant"), unit=free_unit(), customer=customer_of())
    deal = subscribe(deal, discounts=[(special, "2.5")], reason="客户一次性付款，老业主")
    assert deal.status == DealStatus.APPROVAL and deal.unit.status == UnitStatus.RESERVED
    request = ApprovalRequest.objects.get(deal=deal)
    assert request.level == "supervisor" and request.final_level == "manager"  # 2.5% > 2%
    # the manager cannot skip the supervisor
    with pytest.raises(DomainError) as exc:
        approvals.approval_decide(actor=user("manager"), request=request, approve=True)
    assert exc.value.code == "permission_denied"
    with pytest.raises(DomainError) as exc:
        approvals.approval_decide(actor=user("consultant"), request=request, approve=True)
    assert exc.value.code == "permission_denied"
    approvals.approval_decide(
        actor=user("supervisor"), request=request, approve=True, reason="同意"
    )
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING and request.level == "manager"
    assert request in approvals.pending_for(user("manager"), project())
    assert request not in approvals.pending_for(user("supervisor"), project())
    approvals.approval_decide(actor=user("manager"), request=request, approve=True)
    request.refresh_from_db(), deal.refresh_from_db()
    assert request.status == ApprovalStatus.APPROVED and deal.status == DealStatus.PENDING
    assert [s.decision for s in request.steps.all()] == ["forward", "approve"]


def test_rejection_returns_the_deal_to_its_reservation(demo):
    special = discount("特批", "percent", "0", order=9, variable=True)  # the demo's
    deal = services.deal_reserve(actor=user("consultant"), unit=free_unit(), customer=customer_of())
    deal = subscribe(deal, discounts=[(special, "1.5")], reason="竞品价格")
    request = ApprovalRequest.objects.get(deal=deal)
    assert request.final_level == "supervisor"
    with pytest.raises(DomainError) as exc:
        approvals.approval_decide(actor=user("supervisor"), request=request, approve=False)
    assert exc.value.code == "invalid" and "reason" in exc.value.fields
    approvals.approval_decide(
        actor=user("supervisor"), request=request, approve=False, reason="超出开盘政策"
    )
    deal.refresh_from_db()
    assert deal.status == DealStatus.RESERVED
    assert subscribe(deal).status == DealStatus.PENDING  # within authority now


def test_below_floor_price_needs_the_director(demo):
    unit = free_unit()
    Unit.objects.filter(pk=unit.pk).update(floor_price=unit.list_price)
    deal = services.deal_reserve(
        actor=user("manager"), unit=Unit.objects.get(pk=unit.pk), customer=customer_of("manager")
    )
    one_off = discount("一次性付款", value="1")
    with pytest.raises(DomainError) as exc:
        subscribe(deal, actor="manager", discounts=[(one_off, None)])
    assert exc.value.code == "discount_beyond_authority" and "reason" in exc.value.fields
    deal = subscribe(deal, actor="manager", discounts=[(one_off, None)], reason="尾盘清货")
    request = ApprovalRequest.objects.get(deal=deal)
    assert request.final_level == "director" and request.level == "director"
    assert request.payload["below_floor"] is True


def test_special_clause_needs_the_director_before_signing(demo):
    deal = services.deal_reserve(actor=user("consultant"), unit=free_unit(), customer=customer_of())
    deal = services.deal_confirm_deposit(actor=user("finance"), deal=subscribe(deal))
    services.clause_add(actor=user("consultant"), deal=deal, text="交房时赠送地下储藏室使用权一年")
    with pytest.raises(DomainError) as exc:
        services.deal_contract(actor=user("salesadmin"), deal=deal)
    assert exc.value.code == "contract_not_reviewed"
    # finance reviews the contract with its clauses decided
    with pytest.raises(DomainError) as exc:
        contracts.contract_submit_review(actor=user("salesadmin"), deal=deal)
    assert exc.value.code == "clauses_pending" and "clauses" in exc.value.fields
    request = ApprovalRequest.objects.get(deal=deal, kind="clause")
    assert request.level == "director"
    approvals.approval_decide(actor=user("director"), request=request, approve=True)
    assert sign(deal).status == "contracted"


def test_release_before_deposit(demo):
    unit = free_unit()
    deal = services.deal_reserve(actor=user("consultant"), unit=unit, customer=customer_of())
    with pytest.raises(DomainError) as exc:
        services.deal_release(actor=user("consultant"), deal=deal, reason="")
    assert exc.value.code == "invalid"
    services.deal_release(actor=user("consultant"), deal=deal, reason="客户放弃")
    unit.refresh_from_db()
    assert unit.status == UnitStatus.AVAILABLE
    deal = services.deal_reserve(actor=user("consultant"), unit=unit, customer=deal.customer)
    deal = services.deal_confirm_deposit(actor=user("finance"), deal=subscribe(deal))
    with pytest.raises(DomainError) as exc:
        services.deal_release(actor=user("consultant"), deal=deal, reason="客户放弃")
    assert exc.value.code == "conflict"


@given(
    list_total=st.decimals(min_value=1, max_value=10**8, places=2),
    steps=st.lists(
        st.tuples(
            st.sampled_from(["percent", "amount"]),
            st.decimals(min_value=0, max_value=50, places=2),
        ),
        max_size=5,
    ),
)
def test_quote_never_goes_negative_and_adds_up(list_total, steps):
    q = quote(list_total, [(f"d{i}", kind, value) for i, (kind, value) in enumerate(steps)])
    assert q.total >= 0
    assert q.list_total - sum(s.amount for s in q.steps) == q.total
    assert q.discount_amount == q.list_total - q.total
    assert all(s.amount == s.amount.quantize(Decimal("0.01")) for s in q.steps)


# --- concurrency (PostgreSQL) ---------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_consultants_reserving_one_unit_give_one_deal(demo):
    assert connection.vendor == "postgresql"
    unit = free_unit()
    customers = [customer_of("consultant", f"1370001{i:04d}", f"客户{i}") for i in range(50)]

    def work(i):
        services.deal_reserve(
            actor=user("consultant"), unit=Unit.objects.get(pk=unit.pk), customer=customers[i]
        )

    results = race(50, work)
    assert results.count("ok") == 1 and results.count("conflict") == 49
    assert DealUnit.objects.filter(unit=unit, live=True).count() == 1
    assert Unit.objects.get(pk=unit.pk).status == UnitStatus.RESERVED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_get_gapless_numbers(demo):
    units = [free_unit(i) for i in range(20)]
    customers = [customer_of("consultant", f"1370002{i:04d}", f"客户{i}") for i in range(20)]
    start = Deal.objects.filter(project=project()).count()

    numbers = []

    def work(i):
        deal = services.deal_reserve(actor=user("consultant"), unit=units[i], customer=customers[i])
        numbers.append(deal.reservation_number)

    assert race(20, work) == ["ok"] * 20
    serials = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert serials == list(range(start + 1, start + 21))


def test_a_co_buyer_is_family_or_the_consultants_own_customer(demo):
    deal = services.deal_reserve(actor=user("consultant"), unit=free_unit(), customer=customer_of())
    stranger = customer_of("consultant2", "13700005555", "别人的客户")
    with pytest.raises(DomainError) as exc:
        services.deal_subscribe(
            actor=user("consultant"),
            deal=deal,
            buyers=[(deal.customer, "50"), (stranger, "50")],
            payment_method="one_off",
            deposit="10000",
        )
    assert exc.value.code == "invalid" and "buyers" in exc.value.fields
    assert "别人的客户" not in str(exc.value.message)
    customer_services.household_link(actor=user("supervisor"), customers=[deal.customer, stranger])
    deal.refresh_from_db()
    subscribed = services.deal_subscribe(
        actor=user("consultant"),
        deal=deal,
        buyers=[(deal.customer, "50"), (stranger, "50")],
        payment_method="one_off",
        deposit="10000",
    )
    assert subscribed.buyers.count() == 2


def test_the_subscription_keeps_the_area_the_unit_is_priced_by(demo):
    """``priced_area``: a unit priced by 套内面积 is subscribed with its internal area, one
    priced by 建筑面积 with its gross area (the two differ here)."""
    from loupan.inventory.models import PricingBasis

    for phone, basis, field in (
        ("13700002221", PricingBasis.INTERNAL_AREA, "internal_area"),
        ("13700002222", PricingBasis.GROSS_AREA, "gross_area"),
    ):
        unit = free_unit()
        Unit.objects.filter(pk=unit.pk).update(
            pricing_basis=basis, gross_area=Decimal("100.00"), internal_area=Decimal("81.50")
        )
        unit.refresh_from_db()
        assert services.priced_area(unit) == getattr(unit, field)
        buyer = customer_of(phone=phone)
        deal = services.deal_reserve(actor=user("consultant"), unit=unit, customer=buyer)
        deal = subscribe(deal)
        assert deal.pricing_basis == basis
        assert deal.area == getattr(unit, field), basis


def test_a_discount_of_another_project_or_switched_off_is_refused(demo):
    """``_discount_steps``: a discount type applies only on its own project and while it
    is active; either refusal names the field ``discounts`` and the discount."""
    from loupan.inventory.models import Project

    main, second = project(), Project.objects.get(code="YQF")
    other = DiscountType.objects.create(
        project=second, name="乙项目折扣", kind="percent", value=Decimal("1"), is_active=True
    )
    off = DiscountType.objects.create(
        project=main, name="停用折扣", kind="percent", value=Decimal("1"), is_active=False
    )
    live = discount("在用折扣", value="0.5")
    assert services._discount_steps(main, [(live, None)]) == [(live, Decimal("0.5"))]
    for refused in (other, off):
        with pytest.raises(DomainError) as exc:
            services._discount_steps(main, [(live, None), (refused, None)])
        assert exc.value.fields == {"discounts": [f"折扣「{refused.name}」不适用于本项目"]}


def test_discount_steps_take_the_values_in_the_set_order_and_refuse_each_bad_one(demo):
    """``_discount_steps``: a fixed type takes its own value, a variable one (特批) the
    value given, zero included; the steps come in the project's set order (then by
    creation); each refusal names the field ``discounts`` with its exact reason."""
    main = project()
    late = discount("后用折扣", value="2", order=5)
    first = discount("先用减免", kind="amount", value="3000", order=1)
    tie = discount("同序折扣", value="1.5", order=1)
    special = discount("测试特批", value="0", order=9, variable=True)
    steps = services._discount_steps(
        main, [(special, "0.5"), (late, None), (tie, "9"), (first, None)]
    )
    assert steps == [
        (first, Decimal("3000")),
        (tie, Decimal("1.5")),
        (late, Decimal("2")),
        (special, Decimal("0.5")),
    ]
    assert services._discount_steps(main, [(special, "0")]) == [(special, Decimal("0"))]
    assert services._discount_steps(main, [(special, " 1.25 ")]) == [(special, Decimal("1.25"))]
    for value, reason in (
        (None, "请填写「测试特批」的折扣值"),
        ("", "请填写「测试特批」的折扣值"),
        ("一点五", "「测试特批」的折扣值必须是数字"),
        ("-0.01", "「测试特批」的折扣值不能为负数"),
    ):
        with pytest.raises(DomainError) as exc:
            services._discount_steps(main, [(first, None), (special, value)])
        assert exc.value.fields == {"discounts": [reason]}, value
    with pytest.raises(DomainError) as exc:
        services._discount_steps(main, [(first, None), (late, None), (first, None)])
    assert exc.value.fields == {"discounts": ["同一折扣只能使用一次"]}


def test_quote_takes_each_discount_off_the_running_total_rounded_to_the_fen():
    """``quote``: a percentage of the running total, an amount as given, each step
    rounded half up to the fen, an amount beyond what is left takes what is left; every
    step keeps its name, kind, value, what it took and the total after it."""
    from loupan.deals.pricing import Step

    q = quote(
        "1000000.005",
        [
            ("一次性付款", "percent", Decimal("1")),
            ("减免", "amount", "5000.004"),
            ("特批", "percent", "0.5"),
            ("清盘", "amount", Decimal("99999999")),
        ],
    )
    assert q.list_total == Decimal("1000000.01")
    assert q.steps == [
        Step("一次性付款", "percent", Decimal("1"), Decimal("10000.00"), Decimal("990000.01")),
        Step("减免", "amount", Decimal("5000.004"), Decimal("5000.00"), Decimal("985000.01")),
        Step("特批", "percent", Decimal("0.5"), Decimal("4925.00"), Decimal("980075.01")),
        Step("清盘", "amount", Decimal("99999999"), Decimal("980075.01"), Decimal("0.00")),
    ]
    assert q.total == Decimal("0.00")
    plain = quote(Decimal("500"), [])
    assert (plain.list_total, plain.steps, plain.total) == (
        Decimal("500.00"),
        [],
        Decimal("500.00"),
    )
