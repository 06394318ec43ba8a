"""Commissions 佣金 (issue 13 "Commissions"; seed 001 结佣函, seed 002 协助人): stage
amounts to the fen with the assisting colleague's split, the events and thresholds, the
daily job's idempotence, clawback on cancellation, the monthly statement built and
confirmed (frozen; later entries go to a later month), and who may do what."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from loupan.approvals import services as approvals
from loupan.approvals.models import ApprovalStatus
from loupan.audit.models import AuditEntry
from loupan.core.errors import DomainError
from loupan.core.money import money
from loupan.deals import changes
from loupan.deals import services as deal_services
from loupan.inventory.models import Project, Unit, UnitStatus
from loupan.payments import commissions as c
from loupan.payments import services as pay
from loupan.payments.models import (
    CommissionAssist,
    CommissionEntry,
    CommissionPlan,
    CommissionStage,
    CommissionStatement,
    Mortgage,
    MortgageStage,
)
from tests.deals.helpers import customer_of, free_unit, project, sign, user

pytestmark = pytest.mark.django_db

STAGES = [
    {"name": "回款达30%", "event": "received_pct", "threshold_pct": "30", "share_pct": "70"},
    {"name": "贷款放款", "event": "loan_disbursed", "share_pct": "20"},
    {"name": "交付", "event": "delivered", "share_pct": "10"},
]


def refused(code, call, field=None):
    with pytest.raises(DomainError) as exc:
        call()
    assert exc.value.code == code, exc.value.message
    if field:
        assert field in (exc.value.fields or {}), exc.value.fields
    return exc.value


@pytest.fixture
def office(demo):
    """The main project with no commission rows of the demo, and the demo plan
    (3‰; 70% at 30% received, 20% at loan disbursement, 10% at delivery; assist 30%)."""
    main = project()
    CommissionEntry.objects.filter(project=main).delete()
    CommissionStatement.objects.filter(project=main).delete()
    CommissionAssist.objects.filter(deal__project=main).delete()
    c.commission_plan_set(
        actor=user("director"),
        project=main,
        rate_permille="3",
        assist_share_pct="30",
        stages=STAGES,
    )
    # the demo's delivered home (after sales) back to 签约: these tests deliver their own
    Unit.objects.filter(project=main, status="delivered").update(status="contracted")
    # what the demo's deals earn is settled long ago: the tests see only their own deals
    c.commissions_due()
    for earner_id in set(
        CommissionEntry.objects.filter(project=main).values_list("earner_id", flat=True)
    ):
        settled = CommissionStatement.objects.create(
            project=Project.objects.get(code="YQF"),  # out of the main project's lists
            consultant_id=earner_id,
            month=datetime.date(2000, 1, 1),
            status="confirmed",
        )
        CommissionEntry.objects.filter(project=main, earner_id=earner_id).update(statement=settled)
    return main


def make_deal(offset=0, phone="13700005555", method="one_off", contract=True):
    """A deal of ``consultant``: subscribed (deposit 50,000 confirmed) and signed."""
    buyer = customer_of(phone=phone)
    deal = deal_services.deal_reserve(
        actor=user("consultant"), unit=free_unit(offset), customer=buyer
    )
    deal = deal_services.deal_subscribe(
        actor=user("consultant"),
        deal=deal,
        buyers=[(buyer, "100")],
        payment_method=method,
        deposit="50000",
    )
    deal = deal_services.deal_confirm_deposit(actor=user("finance"), deal=deal)
    if contract:
        deal = sign(deal)
    return deal


def pay_up_to(deal, target: Decimal):
    """Cash from finance so that the deal has received exactly ``target``."""
    missing = target - pay.received_of(deal)
    if missing > 0:
        pay.payment_record(actor=user("finance"), deal=deal, amount=missing, method="cash")


def entries(deal, **kw):
    return list(CommissionEntry.objects.filter(deal=deal, **kw).order_by("pk"))


# --- amounts ------------------------------------------------------------------------------


def test_stage_parts_to_the_fen_the_last_taking_the_remainder():
    plan = CommissionPlan(rate_permille=Decimal("3"), assist_share_pct=Decimal("30"))
    stages = [
        CommissionStage(pk=1, share_pct=Decimal("70")),
        CommissionStage(pk=2, share_pct=Decimal("20")),
        CommissionStage(pk=3, share_pct=Decimal("10")),
    ]
    base = Decimal("1234567.89")
    assert c.full_commission(plan, base) == Decimal("3703.70")
    parts = [c.stage_part(plan, stages, s, base) for s in stages]
    assert parts == [Decimal("2592.59"), Decimal("740.74"), Decimal("370.37")]
    assert sum(parts) == Decimal("3703.70")
    # the colleague's 30% of 2,592.59 is 777.777 → 777.78; the consultant the rest
    assert c.split_assist(parts[0], plan.assist_share_pct) == (
        Decimal("1814.81"),
        Decimal("777.78"),
    )


@settings(max_examples=200, deadline=None)
@given(
    base=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2),
    rate=st.decimals(min_value=Decimal("0.001"), max_value=Decimal("100"), places=3),
    cut=st.integers(min_value=1, max_value=9999),
    assist=st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2),
)
def test_parts_always_sum_to_the_full_commission_and_the_split_to_the_part(base, rate, cut, assist):
    plan = CommissionPlan(rate_permille=rate, assist_share_pct=assist)
    first = Decimal(cut) / 100
    stages = [
        CommissionStage(pk=1, share_pct=first),
        CommissionStage(pk=2, share_pct=Decimal("100") - first),
    ]
    parts = [c.stage_part(plan, stages, s, base) for s in stages]
    assert sum(parts) == c.full_commission(plan, base)
    for part in parts:
        mine, theirs = c.split_assist(part, assist)
        assert mine + theirs == part
        assert theirs == money(part * assist / 100)


# --- the plan -----------------------------------------------------------------------------


def test_plan_rules_name_the_field(office):
    director = user("director")

    def set_plan(stages, **kw):
        return c.commission_plan_set(
            actor=director,
            project=office,
            rate_permille=kw.get("rate", "3"),
            assist_share_pct=kw.get("assist", "30"),
            stages=stages,
        )

    bad = [dict(STAGES[0]), dict(STAGES[1], share_pct="25"), dict(STAGES[2])]
    refused("stages_sum", lambda: set_plan(bad), "stages")
    refused(
        "invalid",
        lambda: set_plan([dict(STAGES[0], threshold_pct=""), STAGES[1], STAGES[2]]),
        "stages[0].threshold_pct",
    )
    refused(
        "invalid",
        lambda: set_plan([dict(STAGES[0], threshold_pct="120"), STAGES[1], STAGES[2]]),
        "stages[0].threshold_pct",
    )
    refused(
        "invalid",
        lambda: set_plan([STAGES[0], dict(STAGES[1], share_pct="0"), STAGES[2]]),
        "stages[1].share_pct",
    )
    refused(
        "invalid",
        lambda: set_plan([STAGES[0], dict(STAGES[1], event="moon"), STAGES[2]]),
        "stages[1].event",
    )
    refused("invalid", lambda: set_plan(STAGES, rate="0"), "rate_permille")
    refused("invalid", lambda: set_plan(STAGES, assist="101"), "assist_share_pct")
    refused(
        "permission_denied",
        lambda: c.commission_plan_set(
            actor=user("consultant"), project=office, rate_permille="3", stages=STAGES
        ),
    )
    # a stage given with its id is changed in place; the plan is audited
    stages = c.stages_of(office)
    kept = [
        {**STAGES[0], "id": stages[0].pk, "threshold_pct": "40", "share_pct": "60"},
        {**STAGES[1], "id": stages[1].pk, "share_pct": "40"},
    ]
    set_plan(kept, rate="2.5")
    after = c.stages_of(office)
    assert [s.pk for s in after] == [stages[0].pk, stages[1].pk]
    assert after[0].threshold_pct == Decimal("40") and after[1].share_pct == Decimal("40")
    assert after[1].threshold_pct is None
    assert c.plan_of(office).rate_permille == Decimal("2.5")
    assert AuditEntry.objects.filter(object_type="payments.commissionplan").exists()


def test_a_stage_with_entries_cannot_be_removed(office):
    deal = make_deal()
    pay_up_to(deal, money(deal.total * Decimal("0.3")))
    c.commissions_due()
    assert entries(deal)
    refused(
        "stage_in_use",
        lambda: c.commission_plan_set(
            actor=user("director"),
            project=office,
            rate_permille="3",
            stages=[{"name": "签约", "event": "contracted", "share_pct": "100"}],
        ),
        "stages",
    )


def test_assist_rules(office):
    deal = make_deal()
    manager = user("manager")
    refused(
        "invalid",
        lambda: c.commission_assist_set(actor=manager, deal=deal, colleague=user("consultant")),
        "colleague",
    )
    refused(
        "invalid",
        lambda: c.commission_assist_set(actor=manager, deal=deal, colleague=user("finance")),
        "colleague",
    )
    refused(
        "permission_denied",
        lambda: c.commission_assist_set(
            actor=user("consultant"), deal=deal, colleague=user("consultant2")
        ),
    )
    assist = c.commission_assist_set(actor=manager, deal=deal, colleague=user("consultant2"))
    assert assist.colleague == user("consultant2")
    assert c.commission_assist_set(actor=manager, deal=deal, colleague=None) is None
    assert not CommissionAssist.objects.filter(deal=deal).exists()


# --- the daily job ------------------------------------------------------------------------


def test_the_received_threshold_to_the_fen_with_the_assist_split(office):
    deal = make_deal()
    c.commission_assist_set(actor=user("manager"), deal=deal, colleague=user("consultant2"))
    target = money(deal.total * Decimal("0.3"))
    pay_up_to(deal, target - Decimal("0.01"))
    c.commissions_due()
    assert entries(deal) == []  # one fen short
    pay_up_to(deal, target)
    done = c.commissions_due()
    assert done["commissions_earned"] >= 2
    full = money(deal.total * Decimal("3") / 1000)
    part = money(deal.total * Decimal("3") / 1000 * Decimal("0.7"))
    theirs = money(part * Decimal("0.3"))
    mine, colleague = entries(deal)
    assert (mine.earner, mine.assist, mine.amount) == (user("consultant"), False, part - theirs)
    assert (colleague.earner, colleague.assist, colleague.amount) == (
        user("consultant2"),
        True,
        theirs,
    )
    assert mine.amount + colleague.amount == part
    assert mine.base == deal.total and mine.earned_on == timezone.localdate()
    assert mine.stage.name == "回款达30%" and full > part
    # idempotent: nothing new the second time
    assert c.commissions_due() == {"commissions_earned": 0, "commissions_clawed": 0}
    assert len(entries(deal)) == 2


def test_a_deal_without_a_loan_earns_the_loan_stage_when_fully_paid_and_delivery_later(office):
    deal = make_deal()
    pay_up_to(deal, deal.total)
    c.commissions_due()
    names = [e.stage.name for e in entries(deal)]
    assert names == ["回款达30%", "贷款放款"]
    assert all(e.earner == user("consultant") and not e.assist for e in entries(deal))
    # delivery: the unit turns 交付 (after-sales will do this)
    deal.unit.status = UnitStatus.DELIVERED
    deal.unit.save(update_fields=["status"])
    c.commissions_due()
    got = entries(deal)
    assert [e.stage.name for e in got] == ["回款达30%", "贷款放款", "交付"]
    assert sum(e.amount for e in got) == money(deal.total * Decimal("3") / 1000)


def test_a_subscribed_deal_earns_nothing_until_signed(office):
    deal = make_deal(contract=False)
    pay_up_to(deal, money(deal.total * Decimal("0.3")))
    c.commissions_due()
    assert entries(deal) == []
    deal = sign(deal)
    c.commissions_due()
    assert [e.stage.name for e in entries(deal)] == ["回款达30%"]


def test_the_loan_stage_waits_for_the_mortgage_disbursement(office):
    deal = make_deal(method="commercial")
    pay.payment_record(
        actor=user("finance"),
        deal=deal,
        amount=money(deal.total * Decimal("0.3")) - pay.received_of(deal),
        method="mortgage",
        bank_reference="LOAN-1",
    )
    mortgage = Mortgage.objects.create(
        project=deal.project,
        deal=deal,
        bank="建设银行",
        loan_type="commercial",
        commercial_amount=Decimal("100000"),
        years=30,
        stage=MortgageStage.APPROVED,
        stage_since=deal.subscribed_at,
    )
    c.commissions_due()
    assert [e.stage.name for e in entries(deal)] == ["回款达30%"]
    mortgage.stage = MortgageStage.DISBURSED
    mortgage.disbursed_on = timezone.localdate()
    mortgage.save()
    c.commissions_due()
    assert [e.stage.name for e in entries(deal)] == ["回款达30%", "贷款放款"]


def test_cancellation_claws_back_every_earned_entry_once(office):
    deal = make_deal()
    c.commission_assist_set(actor=user("manager"), deal=deal, colleague=user("consultant2"))
    pay_up_to(deal, money(deal.total * Decimal("0.3")))
    c.commissions_due()
    earned = entries(deal)
    assert len(earned) == 2
    request = changes.cancel_request(
        actor=user("consultant"),
        deal=deal,
        cancel_reason="personal",
        detail="工作调动",
        deposit_treatment="forfeit",
    )
    while request.status == ApprovalStatus.PENDING:
        request = approvals.approval_decide(
            actor=user(request.level), request=request, approve=True
        )
    deal.refresh_from_db()
    assert deal.status == "cancelled"
    done = c.commissions_due()
    assert done["commissions_clawed"] == 2
    clawed = entries(deal, clawback=True)
    assert sorted(e.amount for e in clawed) == sorted(-e.amount for e in earned)
    assert {(e.earner_id, e.stage_id, e.assist) for e in clawed} == {
        (e.earner_id, e.stage_id, e.assist) for e in earned
    }
    assert all(e.earned_on == timezone.localdate(deal.cancellation.cancelled_at) for e in clawed)
    assert c.commissions_due()["commissions_clawed"] == 0
    assert sum(e.amount for e in entries(deal)) == 0


# --- statements ---------------------------------------------------------------------------


def test_build_and_confirm_a_statement_then_later_entries_go_to_the_next_month(office, monkeypatch):
    deal = make_deal()
    pay_up_to(deal, money(deal.total * Decimal("0.3")))
    c.commissions_due()
    manager, consultant = user("manager"), user("consultant")
    month = timezone.localdate().replace(day=1)
    refused(
        "permission_denied",
        lambda: c.statement_build(actor=consultant, project=office, month=month),
    )
    refused(
        "invalid",
        lambda: c.statement_build(
            actor=manager, project=office, month=month + datetime.timedelta(days=40)
        ),
        "month",
    )
    built = c.statement_build(actor=manager, project=office, month=f"{month:%Y-%m}")
    statement = next(s for s in built if s.consultant == consultant)
    assert statement.status == "draft" and statement.month == month
    assert statement.total == sum(e.amount for e in entries(deal))
    assert {e.statement_id for e in entries(deal)} == {statement.pk}
    # the consultant may not confirm; nobody confirms their own statement
    refused("permission_denied", lambda: c.statement_confirm(actor=consultant, statement=statement))
    own = CommissionStatement.objects.create(project=office, consultant=manager, month=month)
    refused("self_confirm", lambda: c.statement_confirm(actor=manager, statement=own))
    confirmed = c.statement_confirm(actor=manager, statement=statement)
    assert confirmed.status == "confirmed" and confirmed.confirmed_by == manager
    refused("statement_confirmed", lambda: c.statement_confirm(actor=manager, statement=confirmed))
    # a later event of the same month: the confirmed statement takes nothing more
    pay_up_to(deal, deal.total)
    c.commissions_due()
    later = entries(deal, stage__name="贷款放款")[0]
    c.statement_build(actor=manager, project=office, month=month)
    later.refresh_from_db()
    confirmed.refresh_from_db()
    assert later.statement is None
    assert confirmed.total == statement.total and confirmed.entries.count() == 1
    # … it goes onto next month's statement
    next_month = (month + datetime.timedelta(days=32)).replace(day=1)
    monkeypatch.setattr(c, "_today", lambda now=None: next_month)
    built = c.statement_build(actor=manager, project=office, month=next_month)
    later.refresh_from_db()
    assert later.statement.month == next_month and later.statement.status == "draft"
    assert later.statement.total == later.amount
    assert AuditEntry.objects.filter(object_type="payments.commissionstatement").count() >= 3


def test_an_empty_statement_is_not_confirmed(office):
    statement = CommissionStatement.objects.create(
        project=office, consultant=user("consultant"), month=timezone.localdate().replace(day=1)
    )
    refused(
        "statement_empty", lambda: c.statement_confirm(actor=user("manager"), statement=statement)
    )


def test_a_consultant_sees_only_their_own(office):
    month = timezone.localdate().replace(day=1)
    mine = CommissionStatement.objects.create(
        project=office, consultant=user("consultant"), month=month
    )
    theirs = CommissionStatement.objects.create(
        project=office, consultant=user("consultant2"), month=month
    )
    assert list(c.statements_for(user("consultant"), office)) == [mine]
    assert set(c.statements_for(user("manager"), office)) == {mine, theirs}
    assert set(c.statements_for(user("finance"), office)) == {mine, theirs}
    assert list(c.statements_for(user("planner"), office)) == []


def test_the_demo_builds_the_plan_and_is_idempotent(demo):
    from loupan.payments.commissions_demo import demo_commissions

    context = {"main": demo["main"], "users": demo["users"]}
    demo_commissions(context)
    plan = c.plan_of(demo["main"])
    assert plan.rate_permille == Decimal("3") and plan.assist_share_pct == Decimal("30")
    assert [s.share_pct for s in c.stages_of(demo["main"])] == [
        Decimal("70"),
        Decimal("20"),
        Decimal("10"),
    ]
    assert CommissionAssist.objects.filter(deal__project=demo["main"]).count() == 1
    before = (
        CommissionEntry.objects.count(),
        CommissionStatement.objects.count(),
        CommissionStage.objects.count(),
    )
    demo_commissions(context)
    assert before == (
        CommissionEntry.objects.count(),
        CommissionStatement.objects.count(),
        CommissionStage.objects.count(),
    )
