"""Mortgage pages through the real URLs, as the roles that use them: the pipeline (a
consultant sees only their own deals'), its xlsx, the mortgage's page with the checklist,
the moves and finance's disbursement, opening a deal's mortgage, the reconciliation; a
GET writes nothing; another project's or another consultant's mortgage is a 404."""

import pytest
from django.urls import reverse

from loupan.audit.models import AuditEntry
from loupan.deals.models import Deal
from loupan.payments.models import LedgerEntry, Mortgage, Receipt
from tests.deals.helpers import client_of

from .test_mortgage_helpers import at_stage, loan_deal, opened, project, tick_all, user

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"payments:{name}", args=[project().pk, *args])


def demo_of(username):
    return Mortgage.objects.filter(project=project(), deal__consultant__username=username)


def test_the_pipeline_shows_a_consultant_only_their_own():
    response = client_of("consultant").get(url("mortgage_list"))
    assert response.status_code == 200
    page = response.content.decode()
    own = demo_of("consultant")
    assert own.exists()
    for x in own:
        assert f"/mortgages/{x.pk}/" in page
    for x in demo_of("consultant2"):
        assert f"/mortgages/{x.pk}/" not in page
    assert "export-link" not in page  # the file is the office's


def test_the_pipeline_filters_and_counts_the_stages():
    client = client_of("manager")
    response = client.get(url("mortgage_list"), {"stage": "rejected"})
    assert response.status_code == 200
    rejected = Mortgage.objects.get(project=project(), stage="rejected")
    rows = response.context["rows"]
    assert [row[0].pk for row in rows] == [rejected.pk]
    assert dict((code, n) for code, _label, n in response.context["counts"])["rejected"] == 1
    response = client.get(url("mortgage_list"), {"bank": "工商"})
    assert all("工商" in x.bank for x, *_rest in response.context["rows"])


def test_the_pipeline_lists_loan_deals_waiting_for_a_mortgage():
    deal = loan_deal()
    response = client_of("consultant").get(url("mortgage_list"))
    assert deal in response.context["awaiting"]
    assert url("mortgage_open", deal.pk) in response.content.decode()


def test_the_pipeline_query_count_does_not_grow_with_rows(django_assert_max_num_queries):
    for _ in range(3):
        opened(follower=user("salesadmin"))
    client = client_of("finance")
    client.get(url("mortgage_list"))  # warm the session
    # 12: the export button asks the project's export-consent setting (customers.exports)
    with django_assert_max_num_queries(12):
        response = client.get(url("mortgage_list"))
    assert response.status_code == 200
    assert len(response.context["rows"]) >= 8


def test_the_office_exports_the_pipeline_and_a_consultant_may_not():
    client = client_of("finance")
    response = client.post(url("mortgage_list") + "?stage=disbursed&format=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert AuditEntry.objects.filter(action="export", actor=user("finance")).exists()
    response = client_of("consultant").post(url("mortgage_list") + "?format=xlsx")
    assert response.status_code == 403


def test_a_get_never_writes():
    mortgage = opened()
    deal = loan_deal()
    client, finance = client_of("consultant"), client_of("finance")  # (logging in is audited)
    before = (AuditEntry.objects.count(), Mortgage.objects.count(), LedgerEntry.objects.count())
    for path in (
        url("mortgage_list"),
        url("mortgage_detail", mortgage.pk),
        url("mortgage_open", deal.pk),
    ):
        assert client.get(path).status_code == 200, path
    assert finance.get(url("mortgage_reconcile")).status_code == 200
    after = (AuditEntry.objects.count(), Mortgage.objects.count(), LedgerEntry.objects.count())
    assert after == before
    for name in ("mortgage_move", "mortgage_document", "mortgage_disburse", "mortgage_update"):
        assert client.get(url(name, mortgage.pk)).status_code == 405


def test_another_consultants_or_projects_mortgage_is_not_found():
    theirs = demo_of("consultant2").first()
    assert client_of("consultant").get(url("mortgage_detail", theirs.pk)).status_code == 404
    assert client_of("consultant2").get(url("mortgage_detail", theirs.pk)).status_code == 200
    from tests.other_project import second

    other = reverse("payments:mortgage_detail", args=[second().pk, theirs.pk])
    assert client_of("finance").get(other).status_code == 404
    assert client_of("planner").get(url("mortgage_list")).status_code == 404


def test_a_consultant_opens_a_mortgage_from_the_form():
    deal = loan_deal()
    client = client_of("consultant")
    response = client.get(url("mortgage_open", deal.pk))
    assert response.status_code == 200
    data = {
        "bank": "中国银行",
        "loan_type": "commercial",
        "commercial_amount": "600000",
        "provident_amount": "",
        "years": "30",
        "commercial_rate": "3.5",
        "provident_rate": "",
        "home": "first",
        "follower": str(user("salesadmin").pk),
        "note": "",
    }
    response = client.post(url("mortgage_open", deal.pk), {**data, "commercial_amount": "9999999"})
    assert response.status_code == 400
    assert "可贷上限" in response.content.decode()
    response = client.post(url("mortgage_open", deal.pk), data)
    mortgage = Mortgage.objects.get(deal=deal)
    assert response.status_code == 302
    assert response["Location"] == url("mortgage_detail", mortgage.pk)
    assert mortgage.follower == user("salesadmin")
    # a deal that has one leads to it
    assert client.get(url("mortgage_open", deal.pk))["Location"] == url(
        "mortgage_detail", mortgage.pk
    )


def test_opening_on_a_deal_not_paid_by_a_loan_shows_why():
    deal = Deal.objects.filter(
        project=project(), payment_method="one_off", consultant=user("consultant")
    ).first()
    response = client_of("consultant").get(url("mortgage_open", deal.pk))
    assert response.status_code == 200
    assert "open-refusal" in response.content.decode()
    assert client_of("auditor").get(url("mortgage_open", deal.pk)).status_code == 403


def test_the_checklist_toggles_in_place_and_the_moves_follow_the_table():
    mortgage = opened()
    client = client_of("consultant")
    response = client.post(
        url("mortgage_document", mortgage.pk),
        {"name": "身份证", "done": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "mortgage-documents" in response.content.decode()
    mortgage.refresh_from_db()
    assert mortgage.documents[0]["done"] is True

    response = client.post(url("mortgage_move", mortgage.pk), {"move-to_stage": "submitted"})
    assert response.status_code == 400
    assert "资料未收齐" in response.content.decode()
    tick_all(mortgage)
    response = client.post(url("mortgage_move", mortgage.pk), {"move-to_stage": "submitted"})
    assert response.status_code == 302
    mortgage.refresh_from_db()
    assert mortgage.stage == "submitted"
    response = client.post(url("mortgage_move", mortgage.pk), {"move-to_stage": "rejected"})
    assert response.status_code == 400
    response = client.post(
        url("mortgage_move", mortgage.pk),
        {"move-to_stage": "rejected", "move-rejection_next": "other_bank"},
    )
    assert response.status_code == 302
    response = client.get(url("mortgage_detail", mortgage.pk))
    assert "转其他银行" in response.content.decode()
    assert client_of("auditor").post(url("mortgage_move", mortgage.pk)).status_code == 403


def test_finance_records_the_disbursement():
    mortgage = at_stage("approved", full=True)
    page = client_of("consultant").get(url("mortgage_detail", mortgage.pk)).content.decode()
    assert "disburse-form" not in page
    response = client_of("consultant").post(
        url("mortgage_disburse", mortgage.pk),
        {"pay-amount": "1000", "pay-bank_reference": "X1"},
    )
    assert response.status_code == 403
    client = client_of("finance")
    assert "disburse-form" in client.get(url("mortgage_detail", mortgage.pk)).content.decode()
    response = client.post(
        url("mortgage_disburse", mortgage.pk),
        {"pay-amount": str(mortgage.loan_total + 1), "pay-bank_reference": "X1"},
    )
    assert response.status_code == 400
    response = client.post(
        url("mortgage_disburse", mortgage.pk),
        {"pay-amount": str(mortgage.loan_total), "pay-bank_reference": "X1"},
    )
    assert response.status_code == 302
    mortgage.refresh_from_db()
    assert mortgage.stage == "disbursed"
    assert Receipt.objects.filter(deal=mortgage.deal, method="mortgage").count() == 1


def test_the_edit_form_saves_the_terms():
    mortgage = opened()
    response = client_of("salesadmin").post(
        url("mortgage_update", mortgage.pk),
        {
            "edit-bank": "新银行",
            "edit-loan_type": "commercial",
            "edit-commercial_amount": "420000",
            "edit-years": "20",
            "edit-commercial_rate": "3.4",
            "edit-home": "first",
        },
    )
    assert response.status_code == 302
    mortgage.refresh_from_db()
    assert (mortgage.bank, mortgage.years, str(mortgage.commercial_amount)) == (
        "新银行",
        20,
        "420000.00",
    )


def test_the_reconciliation_page_is_the_offices():
    response = client_of("finance").get(url("mortgage_reconcile"))
    assert response.status_code == 200
    disbursed = Mortgage.objects.get(project=project(), stage="disbursed")
    month = f"{disbursed.disbursed_on:%Y-%m}"
    response = client_of("finance").get(url("mortgage_reconcile"), {"month": month})
    assert disbursed.bank in response.content.decode()
    assert client_of("finance").get(url("mortgage_reconcile"), {"month": "x"}).status_code == 400
    assert client_of("consultant").get(url("mortgage_reconcile")).status_code == 404


@pytest.mark.parametrize("who", ["manager", "finance", "salesadmin", "auditor"])
def test_every_demo_mortgage_page_draws_for_the_office(who):
    client = client_of(who)
    for mortgage in Mortgage.objects.filter(project=project()):
        response = client.get(url("mortgage_detail", mortgage.pk))
        assert response.status_code == 200, (who, mortgage.stage)
        page = response.content.decode()
        assert ("move-form" in page) == (
            who != "auditor" and mortgage.stage not in ("approved", "disbursed")
        ), (who, mortgage.stage)
        assert ("disburse-form" in page) == (who == "finance" and mortgage.stage == "approved")
