"""Changes after subscription (issue Deals): exchange 换房, rename 更名, cancellation 退房
— requested, approved by the site manager or above, applied only when approved, each
kept as a ``DealChange`` with before and after; the refusals of each."""

from decimal import Decimal

import pytest

from loupan.approvals import services as approvals
from loupan.approvals.models import ApprovalStatus
from loupan.core.errors import DomainError
from loupan.customers.models import Customer, Stage
from loupan.deals import changes, services
from loupan.deals.models import Cancellation, ChangeKind, Deal, DealChange, DealStatus, DealUnit
from loupan.inventory.models import Unit, UnitStatus
from tests.deals.helpers import customer_of, free_unit, sign, subscribed, user
from tests.testing import race

pytestmark = pytest.mark.django_db


def refused(code, call, field=None):
    with pytest.raises(DomainError) as exc:
        call()
    assert exc.value.code == code, exc.value.message
    if field:
        assert field in (exc.value.fields or {}), exc.value.fields
    return exc.value


def approve_all(request):
    """Approve level by level up to the final one (manager, then director if asked)."""
    names = {"supervisor": "supervisor", "manager": "manager", "director": "director"}
    while request.status == ApprovalStatus.PENDING:
        request = approvals.approval_decide(
            actor=user(names[request.level]), request=request, approve=True
        )
    return request


# --- exchange ------------------------------------------------------------------------------


def test_exchange_waits_for_the_manager_then_moves_the_deal(demo):
    deal = subscribed(contract=True)
    old_unit = deal.unit
    target = free_unit(1)
    request = changes.exchange_request(
        actor=user("consultant"), deal=deal, unit=target, reason="客户想要高楼层"
    )
    # requested by a consultant: the supervisor first, the manager decides
    assert request.status == ApprovalStatus.PENDING and request.level == "supervisor"
    assert request.final_level == "manager"
    target.refresh_from_db()
    assert target.status == UnitStatus.RESERVED  # held while the request waits
    # nobody else can take the held unit meanwhile
    other = customer_of(phone="13700003333", name="别人")
    refused(
        "conflict",
        lambda: services.deal_reserve(actor=user("consultant"), unit=target, customer=other),
    )
    # a second change on the same deal waits for the first
    refused(
        "change_pending",
        lambda: changes.cancel_request(
            actor=user("consultant"),
            deal=deal,
            cancel_reason="funds",
            detail="资金",
            deposit_treatment="refund",
        ),
    )
    approve_all(request)

    deal.refresh_from_db()
    old_unit.refresh_from_db()
    target.refresh_from_db()
    assert deal.status == DealStatus.EXCHANGED
    assert old_unit.status == UnitStatus.AVAILABLE
    assert target.status == UnitStatus.SUBSCRIBED
    new = Deal.objects.get(exchanged_from=deal)
    assert new.status == DealStatus.SUBSCRIBED and new.unit == target
    assert new.number != deal.number and new.deposit == deal.deposit
    assert new.deposit_confirmed_at == deal.deposit_confirmed_at
    assert new.total == target.list_price
    assert list(new.buyers.values_list("customer_id", "share")) == list(
        deal.buyers.values_list("customer_id", "share")
    )
    change = DealChange.objects.get(deal=deal)
    assert change.kind == ChangeKind.EXCHANGE and change.new_deal == new
    assert change.before["unit_number"] == old_unit.number
    assert change.after["unit_number"] == target.number
    assert Decimal(change.after["difference"]) == target.list_price - deal.total
    # the old contract is void and kept; the old deal is not live
    assert deal.contract_number and not DealUnit.objects.filter(deal=deal, live=True).exists()
    assert "作废存档" in deal.end_reason
    # the new deal can be signed again
    new = sign(new)
    assert new.status == DealStatus.CONTRACTED


def test_a_rejected_exchange_releases_the_held_unit(demo):
    deal = subscribed()
    target = free_unit(1)
    request = changes.exchange_request(
        actor=user("supervisor"), deal=deal, unit=target, reason="换一套"
    )
    assert request.level == "manager"
    approvals.approval_decide(
        actor=user("manager"), request=request, approve=False, reason="不同意"
    )
    target.refresh_from_db()
    deal.refresh_from_db()
    assert target.status == UnitStatus.AVAILABLE and deal.status == DealStatus.SUBSCRIBED
    assert not DealChange.objects.filter(deal=deal).exists()


def test_a_withdrawn_exchange_releases_the_held_unit(demo):
    deal = subscribed()
    target = free_unit(1)
    request = changes.exchange_request(
        actor=user("consultant"), deal=deal, unit=target, reason="换一套"
    )
    refused(
        "permission_denied",
        lambda: approvals.approval_withdraw(actor=user("consultant2"), request=request),
    )
    approvals.approval_withdraw(actor=user("consultant"), request=request)
    request.refresh_from_db()
    target.refresh_from_db()
    assert request.status == ApprovalStatus.WITHDRAWN
    assert target.status == UnitStatus.AVAILABLE
    refused(
        "conflict", lambda: approvals.approval_withdraw(actor=user("consultant"), request=request)
    )


def test_the_manager_exchanges_within_their_level_at_once(demo):
    deal = subscribed()
    request = changes.exchange_request(
        actor=user("manager"), deal=deal, unit=free_unit(1), reason="客户要求"
    )
    assert request.status == ApprovalStatus.APPROVED and request.decided_by == user("manager")
    deal.refresh_from_db()
    assert deal.status == DealStatus.EXCHANGED


def test_exchange_refusals(demo):
    reserved = services.deal_reserve(
        actor=user("consultant"), unit=free_unit(0), customer=customer_of()
    )
    refused(
        "conflict",
        lambda: changes.exchange_request(
            actor=user("consultant"), deal=reserved, unit=free_unit(1), reason="x"
        ),
    )
    deal = subscribed(offset=1, phone="13700004444")
    refused(
        "invalid",
        lambda: changes.exchange_request(
            actor=user("consultant"), deal=deal, unit=free_unit(2), reason=" "
        ),
        "reason",
    )
    refused(
        "invalid",
        lambda: changes.exchange_request(
            actor=user("consultant"), deal=deal, unit=deal.unit, reason="x"
        ),
        "unit",
    )
    refused(
        "conflict",
        lambda: changes.exchange_request(
            actor=user("consultant"), deal=deal, unit=reserved.unit, reason="x"
        ),
        "unit",
    )
    # another consultant's deal: not theirs to change
    refused(
        "permission_denied",
        lambda: changes.exchange_request(
            actor=user("consultant2"), deal=deal, unit=free_unit(2), reason="x"
        ),
    )
    # finance cannot request changes
    refused(
        "permission_denied",
        lambda: changes.exchange_request(
            actor=user("finance"), deal=deal, unit=free_unit(2), reason="x"
        ),
    )


def test_exchange_to_a_cheaper_unit_keeps_the_deposit_within_the_cap(demo):
    deal = subscribed(deposit="50000")
    cheap = Unit.objects.get(pk=free_unit(1).pk)
    Unit.objects.filter(pk=cheap.pk).update(list_price=Decimal("200000"), floor_price=None)
    cheap.refresh_from_db()
    exc = refused(
        "deposit_over_cap",
        lambda: changes.exchange_request(
            actor=user("consultant"), deal=deal, unit=cheap, reason="预算"
        ),
        "unit",
    )
    assert "586" in exc.message
    cheap.refresh_from_db()
    assert cheap.status == UnitStatus.AVAILABLE  # nothing held after a refusal


# --- rename --------------------------------------------------------------------------------


def test_rename_needs_approval_and_replaces_the_buyers(demo):
    deal = subscribed()
    spouse = customer_of(phone="13700005555", name="配偶")
    request = changes.rename_request(
        actor=user("consultant"),
        deal=deal,
        buyers=[(deal.customer, "50"), (spouse, "50")],
        reason="加名配偶",
    )
    assert request.status == ApprovalStatus.PENDING  # never the consultant alone
    assert list(deal.buyers.values_list("customer_id", flat=True)) == [deal.customer_id]
    approve_all(request)
    assert sorted(deal.buyers.values_list("customer_id", "share")) == sorted(
        [(deal.customer_id, Decimal("50.00")), (spouse.pk, Decimal("50.00"))]
    )
    assert Customer.objects.get(pk=spouse.pk).stage == Stage.DEAL
    change = DealChange.objects.get(deal=deal, kind=ChangeKind.RENAME)
    assert [b["name"] for b in change.before["buyers"]] == [deal.customer.name]
    assert [b["name"] for b in change.after["buyers"]] == [deal.customer.name, "配偶"]


def test_rename_to_another_person_moves_the_deal_customer(demo):
    deal = subscribed()
    new_buyer = customer_of(phone="13700006666", name="新业主")
    changes.rename_request(
        actor=user("manager"), deal=deal, buyers=[(new_buyer, "100")], reason="更名"
    )
    deal.refresh_from_db()
    assert deal.customer == new_buyer
    assert list(deal.buyers.values_list("customer_id", flat=True)) == [new_buyer.pk]


def test_rename_refusals(demo):
    deal = subscribed()
    spouse = customer_of(phone="13700007777", name="配偶")
    refused(
        "invalid",
        lambda: changes.rename_request(
            actor=user("consultant"),
            deal=deal,
            buyers=[(deal.customer, "60"), (spouse, "30")],
            reason="x",
        ),
        "buyers",
    )
    refused(
        "invalid",
        lambda: changes.rename_request(
            actor=user("consultant"), deal=deal, buyers=[(deal.customer, "100")], reason="x"
        ),
        "buyers",
    )
    # another consultant's customer cannot be named a buyer
    stranger = customer_of("consultant2", phone="13700008888", name="别人的客户")
    refused(
        "invalid",
        lambda: changes.rename_request(
            actor=user("consultant"),
            deal=deal,
            buyers=[(deal.customer, "50"), (stranger, "50")],
            reason="x",
        ),
        "buyers",
    )


# --- cancellation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("treatment", "forfeited", "kept", "refund"),
    [
        ("refund", None, "0", "50000"),
        ("forfeit", None, "50000", "0"),
        ("part", "20000", "20000", "30000"),
        ("double", None, "0", "100000"),
    ],
)
def test_cancellation_settles_the_deposit_under_587(demo, treatment, forfeited, kept, refund):
    deal = subscribed(contract=True, deposit="50000")
    unit = deal.unit
    request = changes.cancel_request(
        actor=user("consultant"),
        deal=deal,
        cancel_reason="loan",
        detail="银行拒贷",
        deposit_treatment=treatment,
        forfeited=forfeited,
        originals_returned=True,
    )
    assert request.payload["refund"] == str(Decimal(refund).quantize(Decimal("0.01")))
    deal.refresh_from_db()
    assert deal.status == DealStatus.CONTRACTED  # nothing happens before approval
    approve_all(request)
    deal.refresh_from_db()
    unit.refresh_from_db()
    assert deal.status == DealStatus.CANCELLED and unit.status == UnitStatus.AVAILABLE
    c = Cancellation.objects.get(deal=deal)
    assert c.forfeited == Decimal(kept) and c.refund == Decimal(refund)
    assert deal.number in c.voided_documents and deal.contract_number in c.voided_documents
    assert c.originals_returned
    assert Customer.objects.get(pk=deal.customer_id).stage == Stage.INTENT
    assert DealChange.objects.filter(deal=deal, kind=ChangeKind.CANCEL).exists()


def test_cancellation_refusals_dispute_and_refund(demo):
    deal = subscribed()
    refused(
        "invalid",
        lambda: changes.cancel_request(
            actor=user("consultant"),
            deal=deal,
            cancel_reason="",
            detail="x",
            deposit_treatment="refund",
        ),
        "cancel_reason",
    )
    refused(
        "invalid",
        lambda: changes.cancel_request(
            actor=user("consultant"),
            deal=deal,
            cancel_reason="funds",
            detail="",
            deposit_treatment="refund",
        ),
        "detail",
    )
    for bad in ("0", "50000", "60000", "abc", None):
        refused(
            "invalid",
            lambda bad=bad: changes.cancel_request(
                actor=user("consultant"),
                deal=deal,
                cancel_reason="funds",
                detail="x",
                deposit_treatment="part",
                forfeited=bad,
            ),
            "forfeited",
        )
    refused(
        "conflict",
        lambda: changes.cancellation_dispute(
            actor=user("manager"), deal=deal, dispute="arbitration", note="x"
        ),
    )
    changes.cancel_request(
        actor=user("director"),
        deal=deal,
        cancel_reason="seller",
        detail="延期交付",
        deposit_treatment="double",
    )
    deal.refresh_from_db()
    assert deal.status == DealStatus.CANCELLED
    refused(
        "invalid",
        lambda: changes.cancellation_dispute(
            actor=user("manager"), deal=deal, dispute="litigation", note=""
        ),
        "dispute_note",
    )
    refused(
        "permission_denied",
        lambda: changes.cancellation_dispute(
            actor=user("consultant"), deal=deal, dispute="litigation", note="x"
        ),
    )
    c = changes.cancellation_dispute(
        actor=user("salesadmin"), deal=deal, dispute="litigation", note="（2026）某法院受理"
    )
    assert c.dispute == "litigation"
    refused(
        "permission_denied",
        lambda: changes.cancellation_refund_paid(actor=user("salesadmin"), deal=deal),
    )
    c = changes.cancellation_refund_paid(actor=user("finance"), deal=deal)
    assert c.refund_paid_at is not None and c.refund == Decimal("100000")
    refused("conflict", lambda: changes.cancellation_refund_paid(actor=user("finance"), deal=deal))
    # an ended deal takes no more changes
    refused(
        "conflict",
        lambda: changes.rename_request(
            actor=user("manager"), deal=deal, buyers=[(deal.customer, "100")], reason="x"
        ),
    )


def test_a_rejected_clause_no_longer_blocks_the_contract(demo):
    deal = subscribed()
    services.clause_add(actor=user("consultant"), deal=deal, text="赠送车位使用权一年")
    request = deal.approvals.get(kind="clause")
    approvals.approval_decide(actor=user("director"), request=request, approve=False, reason="不可")
    deal = sign(deal)
    assert deal.status == DealStatus.CONTRACTED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_many_exchanges_into_one_unit_at_once_one_wins(demo):
    deals = [subscribed(offset=i, phone=f"137000{i:05d}") for i in range(8)]
    target = free_unit(0)  # the first unit still available

    def work(i):
        changes.exchange_request(
            actor=user("manager"), deal=deals[i], unit=target, reason="抢同一套"
        )

    results = race(8, work)
    assert results.count("ok") == 1 and results.count("conflict") == 7
    assert DealUnit.objects.filter(unit=target, live=True).count() == 1
    assert (
        Deal.objects.filter(status=DealStatus.EXCHANGED, pk__in=[d.pk for d in deals]).count() == 1
    )


def test_nothing_is_signed_or_added_while_a_change_waits(demo):
    """A deal whose cancellation waits for approval is neither signed nor given a special
    clause: the page hides both, and the services refuse them (``change_pending``)."""
    from loupan.deals import rules

    deal = subscribed(offset=5, phone="13700005555")
    request = changes.cancel_request(
        actor=user("consultant"),
        deal=deal,
        cancel_reason="funds",
        detail="资金困难",
        deposit_treatment="refund",
    )
    assert request.status == ApprovalStatus.PENDING
    deal.refresh_from_db()
    can = rules.abilities(user("salesadmin"), deal)
    assert not can["contract"] and not can["clause"]
    refused("change_pending", lambda: services.deal_contract(actor=user("salesadmin"), deal=deal))
    refused(
        "change_pending",
        lambda: services.clause_add(actor=user("consultant"), deal=deal, text="赠送车位一年"),
    )
    # withdrawn, the deal may be signed again
    approvals.approval_withdraw(actor=user("consultant"), request=request)
    deal.refresh_from_db()
    assert rules.abilities(user("salesadmin"), deal)["review"]
    assert sign(deal).status == DealStatus.CONTRACTED
