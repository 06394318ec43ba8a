"""Settlement services: compute (refusals with exact codes), the contract's agreed
rule, recompute until notified, notify (a schedule item for an amount due, a refund to
finance), the refund through the ledger by finance only, the building's computation;
the demo has settlements in every band it can."""

from decimal import Decimal

import pytest
from django.utils import timezone

from loupan.aftersales import settlement as s
from loupan.aftersales.errors import AftersalesError
from loupan.aftersales.models import MeasuredArea, Settlement
from loupan.audit.models import AuditEntry
from loupan.core.errors import DomainError
from loupan.deals.models import SpecialClause
from loupan.payments.models import EntryKind, LedgerEntry, ScheduleItem
from tests.deals.helpers import subscribed, user

pytestmark = pytest.mark.django_db
D = Decimal


def measure(deal, ratio=None, gross=None, internal=None):
    gross = gross if gross is not None else (deal.area * D(ratio)).quantize(D("0.01"))
    return MeasuredArea.objects.update_or_create(
        unit=deal.unit,
        defaults={
            "gross_area": gross,
            "internal_area": internal,
            "imported_by": user("service"),
            "imported_at": timezone.now(),
        },
    )[0]


def code_of(call):
    with pytest.raises(DomainError) as info:
        call()
    return info.value.code


@pytest.fixture
def deal(demo):
    return subscribed(0, "13700009001", contract=True)


def test_compute_needs_a_measured_area(deal):
    assert code_of(lambda: s.settlement_compute(actor=user("service"), deal=deal)) == (
        AftersalesError.NO_MEASURED_AREA
    )


def test_compute_needs_a_contract(demo):
    deal = subscribed(1, "13700009002")
    measure(deal, "1.01")
    code = code_of(lambda: s.settlement_compute(actor=user("service"), deal=deal))
    assert code == AftersalesError.NOT_CONTRACTED


def test_compute_needs_the_permission(deal):
    measure(deal, "1.01")
    for name in ("consultant", "finance", "planner"):
        code = code_of(lambda name=name: s.settlement_compute(actor=user(name), deal=deal))
        assert code == "permission_denied"
    assert not Settlement.objects.filter(deal=deal).exists()


def test_compute_within_and_recompute_until_notified(deal):
    measure(deal, "1.01")
    settlement = s.settlement_compute(actor=user("service"), deal=deal)
    assert settlement.rule == "legal" and settlement.status == "computed"
    assert settlement.contract_area == deal.area
    expected = s.settle(deal.area, settlement.measured_area, deal.unit_price)
    assert settlement.amount == expected.amount and settlement.workings
    assert AuditEntry.objects.filter(object_type="aftersales.settlement").exists()
    measure(deal, "1.05")
    again = s.settlement_compute(actor=user("service"), deal=deal)
    assert again.pk == settlement.pk and again.buyer_may_cancel and again.developer_bears > 0
    s.settlement_notify(actor=user("service"), settlement=again)
    code = code_of(lambda: s.settlement_compute(actor=user("service"), deal=deal))
    assert code == s.SettlementError.ALREADY_NOTIFIED


def test_the_contracts_agreed_rule(deal):
    clause = SpecialClause.objects.create(
        deal=deal, text="面积误差比绝对值在1%以内据实结算，超出部分……", approved=True
    )
    pending = SpecialClause.objects.create(deal=deal, text="未批准", approved=False)
    measure(deal, "0.98")
    code = code_of(
        lambda: s.settlement_compute(
            actor=user("service"), deal=deal, clause=pending.pk, threshold="1"
        )
    )
    assert code == "invalid"
    x = s.settlement_compute(
        actor=user("service"), deal=deal, clause=clause.pk, threshold="1", double_refund=False
    )
    assert x.rule == "contract" and x.clause == clause.text and x.buyer_may_cancel
    assert x.amount == s.settle(deal.area, x.measured_area, deal.unit_price, 1, False).amount
    # a recomputation keeps the agreed rule; ``legal`` goes back to the law's
    again = s.settlement_compute(actor=user("service"), deal=deal)
    assert again.rule == "contract" and s.contract_terms(again) == (D("1"), False)
    legal = s.settlement_compute(actor=user("service"), deal=deal, legal=True)
    assert legal.rule == "legal" and not legal.buyer_may_cancel


def test_an_amount_due_becomes_a_schedule_item(deal):
    measure(deal, "1.02")
    x = s.settlement_compute(actor=user("service"), deal=deal)
    seqs = list(ScheduleItem.objects.filter(deal=deal).values_list("seq", flat=True))
    x = s.settlement_notify(actor=user("service"), settlement=x, due_days=15)
    item = x.schedule_item
    assert x.status == "scheduled" and x.notified_at
    assert item.kind == "settlement" and item.name == "面积补差款" and item.amount == x.amount
    assert item.seq == max(seqs) + 1 and item.live
    assert item.due_date == timezone.localdate() + timezone.timedelta(days=15)
    assert AuditEntry.objects.filter(object_type="payments.scheduleitem", object_id=str(item.pk))
    code = code_of(lambda: s.settlement_notify(actor=user("service"), settlement=x))
    assert code == s.SettlementError.NOT_COMPUTED


def test_a_refund_goes_to_finance_through_the_ledger(deal):
    measure(deal, "0.95")
    x = s.settlement_compute(actor=user("service"), deal=deal)
    assert x.amount < 0
    x = s.settlement_notify(actor=user("service"), settlement=x)
    assert x.status == "refund" and x.schedule_item is None
    # only finance pays money out
    for name in ("service", "manager", "consultant"):
        code = code_of(
            lambda name=name: s.settlement_refund_paid(
                actor=user(name), settlement=x, bank_reference="R1"
            )
        )
        assert code == "permission_denied"
    before = LedgerEntry.objects.filter(deal=deal).count()
    x = s.settlement_refund_paid(
        actor=user("finance"), settlement=x, method="transfer", bank_reference="TK0001"
    )
    assert x.status == "refunded"
    entry = LedgerEntry.objects.filter(deal=deal).order_by("-pk").first()
    assert LedgerEntry.objects.filter(deal=deal).count() == before + 1
    assert entry.kind == EntryKind.REFUND and entry.amount == x.amount  # negative
    code = code_of(
        lambda: s.settlement_refund_paid(actor=user("finance"), settlement=x, bank_reference="2")
    )
    assert code == s.SettlementError.NOT_REFUND


def test_the_building_in_one_action(deal):
    other = subscribed(2, "13700009003", contract=True)
    measure(deal, "1.01")
    MeasuredArea.objects.filter(unit=other.unit).delete()
    run = s.settlement_compute_building(
        actor=user("service"), project=deal.project, building=deal.unit.building
    )
    assert deal.pk in [x.deal_id for x in run.computed]
    if other.unit.building_id == deal.unit.building_id:
        assert other.pk in [d.pk for d, _reason in run.skipped]
    code = code_of(
        lambda: s.settlement_compute_building(
            actor=user("consultant"), project=deal.project, building=deal.unit.building
        )
    )
    assert code == "permission_denied"


def test_the_demo_has_settlements_in_the_bands(demo):
    bands = {s.band_of(x) for x in Settlement.objects.filter(project=demo["main"])}
    assert {s.Band.WITHIN, s.Band.ABOVE, s.Band.BELOW} <= bands
    statuses = set(Settlement.objects.filter(project=demo["main"]).values_list("status", flat=True))
    assert {"computed", "scheduled", "refund"} <= statuses
