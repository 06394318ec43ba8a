"""The mortgages API ``/api/v1/mortgages/``: list and detail restricted to what the caller
may see, filters, opening, editing and the actions (move, check-document, disburse), the
reconciliation, the one error shape, amounts as strings (a float is refused), the query
count of the list and a schema without warnings of ours."""

from decimal import Decimal

import pytest

from loupan.deals.models import Deal
from loupan.payments.models import LedgerEntry, Mortgage
from tests.testing import api_client, assert_error

from .test_mortgage_helpers import at_stage, loan_deal, opened, project, tick_all, user

pytestmark = pytest.mark.django_db

API = "/api/v1/mortgages/"


def client(name):
    return api_client(user(name))


def test_the_list_shows_a_consultant_only_their_own():
    mine = opened()
    body = client("consultant").get(API, {"project": project().pk}).json()
    ids = {row["id"] for row in body["results"]}
    assert mine.pk in ids
    assert ids == set(
        Mortgage.objects.filter(deal__consultant=user("consultant")).values_list("pk", flat=True)
    )
    theirs = Mortgage.objects.filter(deal__consultant=user("consultant2")).first()
    assert_error(client("consultant").get(f"{API}{theirs.pk}/"), 404, "not_found")
    row = next(r for r in body["results"] if r["id"] == mine.pk)
    assert row["commercial_amount"] == "500000.00" and row["loan_total"] == "500000.00"
    assert row["stage"] == "collecting" and row["days_in_stage"] == 0
    assert row["documents"][0] == {"name": "身份证", "done": False, "on": None}


def test_the_list_filters(django_assert_max_num_queries):
    finance = client("finance")
    body = finance.get(API, {"project": project().pk, "stage": "rejected"}).json()
    assert [r["stage"] for r in body["results"]] == ["rejected"]
    bank = body["results"][0]["bank"]
    body = finance.get(API, {"bank": bank[-4:]}).json()
    assert bank in {r["bank"] for r in body["results"]}
    assert_error(finance.get(API, {"stage": "nope"}), 400, "invalid", fields=["stage"])
    for _ in range(3):
        opened()
    finance.get(API)
    with django_assert_max_num_queries(5):
        response = finance.get(API)
    assert response.status_code == 200 and response.json()["count"] >= 8


def test_open_edit_and_move_through_the_api():
    deal = loan_deal()
    consultant = client("consultant")
    data = {
        "deal": deal.pk,
        "bank": "建设银行",
        "loan_type": "commercial",
        "commercial_amount": "500000.00",
        "years": 30,
        "commercial_rate": "3.45",
        "follower": user("salesadmin").pk,
    }
    body = assert_error(
        consultant.post(API, {**data, "commercial_amount": 500000.5}, format="json"),
        400,
        "invalid",
        fields=["commercial_amount"],
    )
    assert "字符串" in body["message"]
    response = consultant.post(API, data, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["stage"] == "collecting" and body["follower"] == user("salesadmin").pk
    assert body["can"] == {
        "change": True,
        "move": True,
        "disburse": False,
        "next_stages": ["submitted"],
    }
    pk = body["id"]
    assert_error(consultant.post(API, data, format="json"), 409, "mortgage_exists", fields=["deal"])

    response = consultant.patch(f"{API}{pk}/", {"years": 25}, format="json")
    assert response.status_code == 200 and response.json()["years"] == 25
    assert response.json()["bank"] == "建设银行"

    assert_error(
        consultant.post(f"{API}{pk}/move/", {"to_stage": "submitted"}, format="json"),
        409,
        "documents_missing",
        fields=["documents"],
    )
    response = consultant.post(
        f"{API}{pk}/check-document/", {"name": "身份证", "done": True}, format="json"
    )
    assert response.json()["documents"][0]["done"] is True
    tick_all(Mortgage.objects.get(pk=pk))
    response = consultant.post(f"{API}{pk}/move/", {"to_stage": "submitted"}, format="json")
    assert response.status_code == 200 and response.json()["stage"] == "submitted"
    assert_error(
        consultant.post(f"{API}{pk}/move/", {"to_stage": "rejected"}, format="json"),
        400,
        "rejection_next_required",
        fields=["rejection_next"],
    )
    assert_error(
        client("consultant2").post(f"{API}{pk}/move/", {"to_stage": "approved"}, format="json"),
        404,
        "not_found",
    )
    response = consultant.post(f"{API}{pk}/move/", {"to_stage": "approved"}, format="json")
    events = response.json()["events"]
    assert [e["to_stage"] for e in events] == ["collecting", "submitted", "approved"]


def test_open_refusals_have_the_one_shape():
    one_off = Deal.objects.filter(
        project=project(),
        payment_method="one_off",
        status="contracted",
        consultant=user("consultant"),
    ).first()
    base = {"bank": "x", "loan_type": "commercial", "commercial_amount": "1000", "years": 10}
    base["commercial_rate"] = "3.5"
    consultant = client("consultant")
    assert_error(
        consultant.post(API, {**base, "deal": one_off.pk}, format="json"), 409, "not_a_loan"
    )
    assert_error(consultant.post(API, {**base, "deal": 999999}, format="json"), 400, "invalid")
    deal = loan_deal()
    assert_error(
        consultant.post(
            API, {**base, "deal": deal.pk, "commercial_amount": "99999999"}, format="json"
        ),
        400,
        "loan_too_high",
        fields=["commercial_amount"],
    )
    assert_error(
        client("auditor").post(API, {**base, "deal": deal.pk}, format="json"),
        403,
        "permission_denied",
    )


def test_finance_disburses_through_the_api():
    mortgage = at_stage("approved", full=True)
    path = f"{API}{mortgage.pk}/disburse/"
    data = {"amount": str(mortgage.loan_total), "bank_reference": "API-1"}
    assert_error(client("consultant").post(path, data, format="json"), 403, "permission_denied")
    assert_error(
        client("finance").post(path, {**data, "amount": 1.5}, format="json"), 400, "invalid"
    )
    response = client("finance").post(path, data, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["amount"] == str(mortgage.loan_total)
    assert body["receipt_number"].startswith("SJ-")
    assert body["mortgage"]["stage"] == "disbursed"
    assert body["mortgage"]["disbursed"] == str(mortgage.loan_total)
    assert LedgerEntry.objects.filter(receipt_id=body["receipt"], method="mortgage").exists()
    assert_error(client("finance").post(path, data, format="json"), 409, "not_approved")


def test_reconciliation_through_the_api():
    disbursed = Mortgage.objects.get(project=project(), stage="disbursed")
    path = f"{API}reconciliation/"
    month = f"{disbursed.disbursed_on:%Y-%m}"
    response = client("finance").get(path, {"project": project().pk, "month": month})
    assert response.status_code == 200
    body = response.json()
    assert body["month"] == month and body["project"] == project().pk
    row = next(r for r in body["rows"] if r["bank"] == disbursed.bank)
    assert Decimal(row["received"]) >= disbursed.loan_total
    assert isinstance(row["expected"], str) and isinstance(body["totals"]["difference"], str)
    assert_error(
        client("finance").get(path, {"project": project().pk, "month": "13"}), 400, "invalid"
    )
    assert_error(client("finance").get(path), 400, "invalid", fields=["project"])
    assert_error(
        client("consultant").get(path, {"project": project().pk}), 403, "permission_denied"
    )
    assert_error(client("manager").get(path, {"project": 999999}), 404, "not_found")


def test_the_schema_has_no_warning_of_ours():
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    ours = [
        w
        for w in GENERATOR_STATS._warn_cache
        if any(k in w.lower() for k in ("mortgage", "stage", "loan", "rejection", "disburse"))
    ]
    GENERATOR_STATS.reset()
    assert not ours, ours
    paths = schema["paths"]
    for path in (
        "/api/v1/mortgages/",
        "/api/v1/mortgages/{id}/",
        "/api/v1/mortgages/{id}/move/",
        "/api/v1/mortgages/{id}/check-document/",
        "/api/v1/mortgages/{id}/disburse/",
        "/api/v1/mortgages/reconciliation/",
    ):
        assert path in paths, path
    assert "MortgageStage" in schema["components"]["schemas"]
