"""Mortgage services (issue 13 "Mortgages"; seeds 001 按揭办理, 003 按揭协办): opening a
deal's mortgage, the checklist, the stage transitions, the disbursement into the ledger,
the reconciliation per bank per month and the demo; each refusal with its exact code."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from loupan.audit.models import AuditEntry
from loupan.deals import services as deal_services
from loupan.deals.models import Deal
from loupan.payments import mortgages as m
from loupan.payments.models import (
    LedgerEntry,
    Mortgage,
    MortgageEvent,
    PaymentSettings,
    Receipt,
    ScheduleItem,
)
from loupan.payments.mortgages_demo import demo_mortgages
from tests.deals.helpers import customer_of, free_unit

from .test_mortgage_helpers import at_stage, loan_deal, opened, project, refused, tick_all, user

pytestmark = pytest.mark.django_db


def audits(mortgage):
    return AuditEntry.objects.filter(object_type="payments.mortgage", object_id=str(mortgage.pk))


# --- open -------------------------------------------------------------------------------------


def test_open_starts_collecting_with_the_checklist_and_an_event():
    deal = loan_deal()
    mortgage = opened(deal, follower=user("salesadmin"), note="客户首套")
    assert mortgage.stage == "collecting"
    assert mortgage.project_id == deal.project_id
    assert mortgage.loan_total == Decimal("500000.00")
    assert mortgage.commercial_rate == Decimal("3.5")
    assert mortgage.provident_rate is None
    assert [d["name"] for d in mortgage.documents] == list(m.DEFAULT_DOCUMENTS)
    assert not any(d["done"] for d in mortgage.documents)
    assert mortgage.follower == user("salesadmin")
    event = mortgage.events.get()
    assert (event.from_stage, event.to_stage, event.by) == ("", "collecting", user("consultant"))
    assert audits(mortgage).filter(action="create").count() == 1


def test_a_provident_loan_also_asks_for_the_contribution_certificate():
    mortgage = opened(
        loan_type="combined",
        commercial_amount="300000",
        provident_amount="200000",
        provident_rate="2.85",
    )
    assert mortgage.documents[-1]["name"] == m.PROVIDENT_DOCUMENT
    assert mortgage.loan_total == Decimal("500000.00")


@pytest.mark.parametrize("who", ["supervisor", "salesadmin", "finance", "manager"])
def test_the_office_may_open_any_deals_mortgage(who):
    assert opened(actor=who).stage == "collecting"


@pytest.mark.parametrize("who", ["consultant2", "auditor", "planner"])
def test_others_may_not_open(who):
    deal = loan_deal()
    refused("permission_denied", lambda: opened(deal, actor=who))


def test_a_deal_not_paid_by_a_loan_is_refused():
    deal = Deal.objects.filter(project=project(), payment_method="one_off", status="contracted")
    deal = deal.filter(consultant=user("consultant")).first()
    refused("not_a_loan", lambda: opened(deal), "deal")


def test_a_deal_not_subscribed_is_refused():
    reserved = deal_services.deal_reserve(
        actor=user("consultant"), unit=free_unit(3), customer=customer_of(phone="13755551234")
    )
    refused("deal_not_paying", lambda: opened(reserved), "deal")


def test_a_deal_has_one_mortgage():
    deal = loan_deal()
    opened(deal)
    refused("mortgage_exists", lambda: opened(deal), "deal")


def test_the_loan_leaves_the_minimum_down_payment():
    deal = loan_deal()
    cap = m.loan_cap(deal)
    assert cap == deal.total - (deal.total * Decimal("0.15")).quantize(
        Decimal("0.01"), "ROUND_CEILING"
    )
    refused(
        "loan_too_high",
        lambda: opened(deal, commercial_amount=cap + Decimal("0.01")),
        "commercial_amount",
    )
    assert opened(deal, commercial_amount=cap).loan_total == cap


def test_a_second_home_uses_the_second_home_minimum():
    PaymentSettings.objects.update_or_create(
        project=project(), defaults={"min_down_pct_second": Decimal("40")}
    )
    deal = loan_deal()
    amount = m.loan_cap(deal, "first")
    assert m.loan_cap(deal, "second") < amount
    refused("loan_too_high", lambda: opened(deal, commercial_amount=amount, home="second"))
    refused("invalid", lambda: opened(deal, home="third"), "home")
    assert opened(deal, commercial_amount=amount, home="first").loan_total == amount


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"provident_amount": "100000"}, "provident_amount"),
        ({"commercial_amount": "0"}, "commercial_amount"),
        ({"loan_type": "provident", "provident_rate": "2.85"}, "provident_amount"),
        ({"loan_type": "combined"}, "provident_amount"),
    ],
)
def test_amounts_match_the_loan_type(kw, field):
    deal = loan_deal()
    refused("loan_type_mismatch", lambda: opened(deal, **kw), field)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"bank": " "}, "bank"),
        ({"loan_type": "cash"}, "loan_type"),
        ({"years": 31}, "years"),
        ({"years": 0}, "years"),
        ({"commercial_rate": None}, "commercial_rate"),
        ({"commercial_rate": "0"}, "commercial_rate"),
        ({"commercial_rate": "abc"}, "commercial_rate"),
        ({"commercial_amount": 500000.0}, "commercial_amount"),  # never a float
        ({"commercial_amount": "-1"}, "commercial_amount"),
        ({"follower": "consultant2"}, "follower"),  # sees only their own deals
    ],
)
def test_each_term_is_checked(kw, field):
    deal = loan_deal()
    if kw.get("follower"):
        kw["follower"] = user(kw["follower"])
    refused("invalid", lambda: opened(deal, **kw), field)


# --- the checklist ------------------------------------------------------------------------------


def test_ticking_a_document_records_the_day():
    mortgage = opened()
    mortgage = m.mortgage_check_document(
        actor=user("consultant"), mortgage=mortgage, name="身份证", done=True
    )
    first = mortgage.documents[0]
    assert first == {"name": "身份证", "done": True, "on": timezone.localdate().isoformat()}
    assert audits(mortgage).filter(action="update").count() == 1
    mortgage = m.mortgage_check_document(
        actor=user("consultant"), mortgage=mortgage, name="身份证", done=False
    )
    assert mortgage.documents[0]["done"] is False
    refused(
        "invalid",
        lambda: m.mortgage_check_document(
            actor=user("consultant"), mortgage=mortgage, name="护照", done=True
        ),
        "name",
    )
    refused(
        "permission_denied",
        lambda: m.mortgage_check_document(
            actor=user("consultant2"), mortgage=mortgage, name="身份证", done=True
        ),
    )


# --- stage transitions --------------------------------------------------------------------------


def move(mortgage, to_stage, who="consultant", **kw):
    return m.mortgage_move(actor=user(who), mortgage=mortgage, to_stage=to_stage, **kw)


def test_submitting_needs_every_document():
    mortgage = opened()
    error = refused("documents_missing", lambda: move(mortgage, "submitted"), "documents")
    assert "身份证" in error.message
    mortgage = tick_all(mortgage)
    mortgage = move(mortgage, "submitted", note="已交工行")
    assert mortgage.stage == "submitted"
    assert mortgage.submitted_on == timezone.localdate()
    event = mortgage.events.order_by("pk").last()
    assert (event.from_stage, event.to_stage, event.note) == ("collecting", "submitted", "已交工行")


@pytest.mark.parametrize(
    ("stage", "to_stage"),
    [
        ("collecting", "approved"),
        ("collecting", "rejected"),
        ("submitted", "collecting"),
        ("approved", "submitted"),
        ("approved", "rejected"),
        ("rejected", "approved"),
        ("approved", "disbursed"),  # only through a disbursement
        ("submitted", "disbursed"),
    ],
)
def test_moves_outside_the_table_are_refused(stage, to_stage):
    mortgage = at_stage(stage)
    refused(
        "stage_transition",
        lambda: move(mortgage, to_stage, rejection_next="undecided", bank="另一家银行"),
        "to_stage",
    )


def test_approval_records_the_day():
    mortgage = at_stage("submitted")
    mortgage = move(mortgage, "approved")
    assert (mortgage.stage, mortgage.approved_on) == ("approved", timezone.localdate())


def test_a_refusal_says_what_happens_next():
    mortgage = at_stage("submitted")
    refused("rejection_next_required", lambda: move(mortgage, "rejected"), "rejection_next")
    refused(
        "rejection_next_required",
        lambda: move(mortgage, "rejected", rejection_next="maybe"),
        "rejection_next",
    )
    mortgage = move(mortgage, "rejected", rejection_next="more_down", note="收入不足")
    assert mortgage.stage == "rejected"
    assert mortgage.rejection_next == "more_down"
    assert mortgage.rejected_on == timezone.localdate()


def test_after_a_refusal_another_bank_starts_again():
    mortgage = at_stage("rejected", bank="甲银行")
    refused("invalid", lambda: move(mortgage, "collecting"), "bank")
    refused("invalid", lambda: move(mortgage, "collecting", bank="甲银行"), "bank")
    mortgage = move(mortgage, "collecting", bank="乙银行")
    assert mortgage.stage == "collecting"
    assert mortgage.bank == "乙银行"
    assert mortgage.rejection_next == "" and mortgage.rejected_on is None
    assert mortgage.submitted_on is None
    event = mortgage.events.order_by("pk").last()
    assert "甲银行" in event.note and "乙银行" in event.note
    assert [e.to_stage for e in mortgage.events.order_by("at", "pk")] == [
        "collecting",
        "submitted",
        "rejected",
        "collecting",
    ]


def test_the_day_of_a_move_is_checked():
    mortgage = tick_all(opened())
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    refused("invalid", lambda: move(mortgage, "submitted", on=tomorrow), "on")
    long_ago = timezone.localdate() - datetime.timedelta(days=30)
    refused("invalid", lambda: move(mortgage, "submitted", on=long_ago), "on")
    refused("invalid", lambda: move(mortgage, "submitted", on="2026/01/01"), "on")


def test_a_move_recorded_afterwards_counts_its_days_from_that_day():
    mortgage = tick_all(opened())
    ten_days_ago = timezone.now() - datetime.timedelta(days=12)
    Mortgage.objects.filter(pk=mortgage.pk).update(stage_since=ten_days_ago)
    mortgage.refresh_from_db()
    assert m.days_in_stage(mortgage) == 12
    day = timezone.localdate() - datetime.timedelta(days=4)
    mortgage = move(mortgage, "submitted", on=day)
    assert mortgage.submitted_on == day
    assert m.days_in_stage(mortgage) == 4


def test_days_in_stage_are_read_without_writing():
    mortgage = opened()
    Mortgage.objects.filter(pk=mortgage.pk).update(
        stage_since=timezone.now() - datetime.timedelta(days=7)
    )
    before = Mortgage.objects.get(pk=mortgage.pk).stage_since
    rows = list(m.mortgages_of(user("finance"), project()).filter(pk=mortgage.pk))
    assert m.days_in_stage(rows[0]) == 7
    assert Mortgage.objects.get(pk=mortgage.pk).stage_since == before


def test_moves_need_the_permission():
    mortgage = tick_all(opened())
    refused("permission_denied", lambda: move(mortgage, "submitted", who="consultant2"))
    refused("permission_denied", lambda: move(mortgage, "submitted", who="auditor"))
    assert move(mortgage, "submitted", who="supervisor").stage == "submitted"


# --- update -------------------------------------------------------------------------------------


def test_update_changes_the_terms_and_keeps_the_rest():
    mortgage = opened()
    mortgage = m.mortgage_update(
        actor=user("salesadmin"), mortgage=mortgage, commercial_amount="450000", years=25
    )
    assert (mortgage.commercial_amount, mortgage.years, mortgage.bank) == (
        Decimal("450000.00"),
        25,
        "测试银行",
    )
    assert audits(mortgage).filter(action="update").exists()
    mortgage = m.mortgage_update(
        actor=user("consultant"),
        mortgage=mortgage,
        loan_type="combined",
        provident_amount="50000",
        provident_rate="2.85",
    )
    assert mortgage.loan_total == Decimal("500000.00")
    assert mortgage.documents[-1]["name"] == m.PROVIDENT_DOCUMENT


def test_the_bank_changes_only_while_collecting():
    mortgage = at_stage("submitted")
    refused(
        "mortgage_locked",
        lambda: m.mortgage_update(actor=user("consultant"), mortgage=mortgage, bank="别的银行"),
        "bank",
    )
    mortgage = m.mortgage_update(
        actor=user("consultant"), mortgage=mortgage, commercial_amount="480000"
    )
    assert mortgage.commercial_amount == Decimal("480000.00")


def test_update_respects_the_cap():
    mortgage = opened()
    cap = m.loan_cap(mortgage.deal)
    refused(
        "loan_too_high",
        lambda: m.mortgage_update(
            actor=user("consultant"), mortgage=mortgage, commercial_amount=cap + 1
        ),
    )


# --- disbursement -------------------------------------------------------------------------------


def disburse(mortgage, amount, who="finance", **kw):
    kw.setdefault("bank_reference", "FK0001")
    return m.mortgage_disburse(actor=user(who), mortgage=mortgage, amount=amount, **kw)


def test_only_finance_records_a_disbursement():
    mortgage = at_stage("approved")
    for who in ("consultant", "manager", "salesadmin"):
        refused("permission_denied", lambda who=who: disburse(mortgage, "1000", who))


def test_the_bank_pays_an_approved_loan_only():
    mortgage = at_stage("submitted")
    refused("not_approved", lambda: disburse(mortgage, "1000"), "stage")


def test_a_disbursement_is_a_ledger_entry_with_a_receipt_and_completes_the_loan():
    deal = loan_deal()
    mortgage = at_stage("approved", deal, full=True, bank="工商银行")
    loan_item = ScheduleItem.objects.get(deal=deal, kind="commercial_loan", live=True)
    assert mortgage.loan_total == loan_item.amount
    receipts = Receipt.objects.count()

    first = disburse(mortgage, "300000", bank_reference="ICBC-1")
    assert first.method == "mortgage" and first.amount == Decimal("300000.00")
    entry = LedgerEntry.objects.get(receipt=first)
    assert (entry.item_id, entry.method, entry.bank, entry.bank_reference) == (
        loan_item.pk,
        "mortgage",
        "工商银行",
        "ICBC-1",
    )
    mortgage.refresh_from_db()
    assert mortgage.stage == "approved"  # part of the loan only
    assert m.disbursed_of(mortgage) == Decimal("300000.00")

    rest = mortgage.loan_total - Decimal("300000.00")
    day = timezone.localdate() - datetime.timedelta(days=0)
    second = disburse(mortgage, rest, paid_on=day, bank_reference="ICBC-2")
    assert Receipt.objects.count() == receipts + 2
    mortgage.refresh_from_db()
    assert mortgage.stage == "disbursed"
    assert mortgage.disbursed_on == day
    event = MortgageEvent.objects.filter(mortgage=mortgage).order_by("pk").last()
    assert (event.from_stage, event.to_stage, event.by) == (
        "approved",
        "disbursed",
        user("finance"),
    )
    assert second.number in event.note
    assert m.disbursed_of(mortgage) == mortgage.loan_total
    assert m.loan_owed(deal) == 0


def test_a_disbursement_never_exceeds_the_loan():
    mortgage = at_stage("approved", commercial_amount="400000")
    refused("overpaid", lambda: disburse(mortgage, "400000.01"), "amount")
    refused("invalid", lambda: disburse(mortgage, "0"), "amount")
    refused("invalid", lambda: disburse(mortgage, "1000", bank_reference=""), "bank_reference")
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    refused("invalid", lambda: disburse(mortgage, "1000", paid_on=tomorrow), "paid_on")
    disburse(mortgage, "400000")
    mortgage.refresh_from_db()
    # the mortgage's whole amount received: disbursed, though the schedule's loan item
    # (the default, larger) still waits for the rest
    assert mortgage.stage == "disbursed"


def test_a_disbursed_mortgage_is_closed():
    mortgage = at_stage("approved", full=True)
    disburse(mortgage, mortgage.loan_total)
    mortgage.refresh_from_db()
    refused("not_approved", lambda: disburse(mortgage, "1"))
    refused("mortgage_locked", lambda: move(mortgage, "collecting", bank="x"), "stage")
    refused(
        "mortgage_locked",
        lambda: m.mortgage_update(actor=user("consultant"), mortgage=mortgage, years=20),
    )
    refused(
        "mortgage_locked",
        lambda: m.mortgage_check_document(
            actor=user("consultant"), mortgage=mortgage, name="身份证", done=False
        ),
    )


# --- reconciliation -----------------------------------------------------------------------------


def line(result, bank):
    return next((r for r in result["rows"] if r["bank"] == bank), None)


def test_reconciliation_compares_the_months_loan_items_with_the_banks_money():
    deal = loan_deal()
    mortgage = at_stage("approved", deal, full=True, bank="对帐银行")
    item = ScheduleItem.objects.get(deal=deal, kind="commercial_loan", live=True)
    due_month = f"{item.due_date:%Y-%m}"
    result = m.reconciliation(user("finance"), project(), due_month)
    row = line(result, "对帐银行")
    assert (row["expected"], row["items"], row["received"]) == (item.amount, 1, 0)
    assert row["difference"] == -item.amount

    disburse(mortgage, "100000")
    this_month = f"{timezone.localdate():%Y-%m}"
    result = m.reconciliation(user("finance"), project(), this_month)
    row = line(result, "对帐银行")
    assert (row["received"], row["entries"]) == (Decimal("100000.00"), 1)
    if this_month != due_month:
        assert row["expected"] == 0 and row["difference"] == Decimal("100000.00")
    assert result["totals"]["received"] == sum(r["received"] for r in result["rows"])
    assert result["totals"]["difference"] == (
        result["totals"]["received"] - result["totals"]["expected"]
    )


def test_a_refused_mortgage_expects_nothing_from_its_bank():
    deal = loan_deal()
    at_stage("rejected", deal, bank="拒贷银行")
    item = ScheduleItem.objects.get(deal=deal, kind="commercial_loan", live=True)
    result = m.reconciliation(user("finance"), project(), f"{item.due_date:%Y-%m}")
    assert line(result, "拒贷银行") is None


def test_reconciliation_reads_what_the_user_may_see():
    deal = loan_deal()
    at_stage("approved", deal, bank="顾问可见银行")
    month = f"{ScheduleItem.objects.get(deal=deal, kind='commercial_loan').due_date:%Y-%m}"
    assert line(m.reconciliation(user("consultant"), project(), month), "顾问可见银行")
    assert line(m.reconciliation(user("consultant2"), project(), month), "顾问可见银行") is None
    refused("invalid", lambda: m.reconciliation(user("finance"), project(), "2026-13"), "month")


# --- demo -----------------------------------------------------------------------------------------


def test_the_demo_has_a_mortgage_in_every_stage(demo):
    mortgages = Mortgage.objects.filter(project=demo["main"])
    assert set(mortgages.values_list("stage", flat=True)) == {
        "collecting",
        "submitted",
        "approved",
        "disbursed",
        "rejected",
    }
    disbursed = mortgages.get(stage="disbursed")
    assert m.disbursed_of(disbursed) == disbursed.loan_total
    assert LedgerEntry.objects.filter(
        deal=disbursed.deal, method="mortgage", bank=disbursed.bank
    ).exists()
    assert mortgages.get(stage="rejected").rejection_next
    count = mortgages.count()
    demo_mortgages({"main": demo["main"], "users": demo["users"]})
    assert Mortgage.objects.filter(project=demo["main"]).count() == count
