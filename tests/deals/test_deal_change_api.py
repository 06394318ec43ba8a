"""The changes after subscription through ``/api/v1/``: exchange, rename and cancel are
POSTs to their own actions answering the request (202 waiting, 200 applied), refused
with the one error shape; withdraw; dispute and refund; the owners' list and analysis,
the changes list and the cancellation summary; and an OpenAPI schema without warnings."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from loupan.approvals.models import ApprovalRequest
from loupan.deals.models import Deal
from loupan.inventory.models import UnitStatus
from tests.deals.helpers import customer_of, free_unit, project, subscribed, user
from tests.testing import assert_error

pytestmark = pytest.mark.django_db

DEALS = "/api/v1/deals/"


def post(client, deal, action, body=None):
    return client.post(f"{DEALS}{deal.pk}/{action}/", body or {}, format="json")


def test_exchange_by_api_waits_then_applies(api):
    deal = subscribed()
    target = free_unit(1)
    consultant = api("consultant")
    assert_error(
        post(consultant, deal, "exchange", {"unit": 999999, "reason": "x"}),
        400,
        "invalid",
        fields=["unit"],
    )
    assert_error(
        post(consultant, deal, "exchange", {"unit": target.pk, "reason": ""}),
        400,
        "invalid",
        fields=["reason"],
    )
    response = post(consultant, deal, "exchange", {"unit": target.pk, "reason": "高楼层"})
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["kind"] == "exchange" and body["level"] == "supervisor"
    assert body["payload"]["new"]["unit_number"] == target.number
    assert Decimal(body["payload"]["difference"]) == target.list_price - deal.total
    # a second change while the first waits: 409
    assert_error(
        post(
            consultant,
            deal,
            "cancel",
            {
                "cancel_reason": "funds",
                "detail": "x",
                "deposit_treatment": "refund",
            },
        ),
        409,
        "change_pending",
    )
    # the consultant cannot approve; the supervisor forwards, the manager approves
    request_url = f"/api/v1/approvals/{body['id']}/"
    assert_error(
        consultant.post(request_url + "approve/", {}, format="json"), 403, "permission_denied"
    )
    assert api("supervisor").post(request_url + "approve/", {}, format="json").status_code == 200
    answer = api("manager").post(request_url + "approve/", {}, format="json").json()
    assert answer["status"] == "approved"
    detail = consultant.get(f"{DEALS}{deal.pk}/").json()
    assert detail["status"] == "exchanged" and detail["exchanged_to"]
    assert detail["changes"][0]["kind"] == "exchange"
    new = consultant.get(f"{DEALS}{detail['exchanged_to']}/").json()
    assert new["exchanged_from"] == deal.pk and new["status"] == "subscribed"


def test_withdraw_by_api(api):
    deal = subscribed()
    target = free_unit(1)
    body = post(api("consultant"), deal, "exchange", {"unit": target.pk, "reason": "x"}).json()
    url = f"/api/v1/approvals/{body['id']}/withdraw/"
    assert api("consultant2").post(url, {}, format="json").status_code == 404
    answer = api("consultant").post(url, {}, format="json")
    assert answer.status_code == 200 and answer.json()["status"] == "withdrawn"
    target.refresh_from_db()
    assert target.status == UnitStatus.AVAILABLE
    assert_error(api("consultant").post(url, {}, format="json"), 409, "conflict")


def test_rename_by_api(api):
    deal = subscribed()
    spouse = customer_of(phone="13700031111", name="配偶")
    consultant = api("consultant")
    assert_error(
        post(
            consultant,
            deal,
            "rename",
            {
                "buyers": [
                    {"customer": deal.customer_id, "share": "50"},
                    {"customer": spouse.pk, "share": "40"},
                ],
                "reason": "加名",
            },
        ),
        400,
        "invalid",
        fields=["buyers"],
    )
    assert_error(
        post(
            consultant,
            deal,
            "rename",
            {"buyers": [{"customer": 99999999, "share": "100"}], "reason": "x"},
        ),
        400,
        "invalid",
        fields=["buyers"],
    )
    response = post(
        consultant,
        deal,
        "rename",
        {
            "buyers": [
                {"customer": deal.customer_id, "share": "50"},
                {"customer": spouse.pk, "share": "50"},
            ],
            "reason": "加名",
        },
    )
    assert response.status_code == 202
    assert [b["name"] for b in response.json()["payload"]["after"]] == [deal.customer.name, "配偶"]
    # the manager renames on their own authority at once
    other = subscribed(offset=1, phone="13700032222")
    response = post(
        api("manager"),
        other,
        "rename",
        {"buyers": [{"customer": spouse.pk, "share": "100"}], "reason": "更名"},
    )
    assert response.status_code == 200 and response.json()["status"] == "approved"
    assert api("manager").get(f"{DEALS}{other.pk}/").json()["buyers"][0]["customer"] == spouse.pk


def test_cancel_dispute_refund_by_api(api):
    deal = subscribed(contract=True, deposit="60000")
    consultant = api("consultant")
    assert_error(
        post(
            consultant,
            deal,
            "cancel",
            {"cancel_reason": "nonsense", "detail": "x", "deposit_treatment": "refund"},
        ),
        400,
        "code_unknown",
        fields=["cancel_reason"],
    )
    assert_error(
        post(
            consultant,
            deal,
            "cancel",
            {"cancel_reason": "funds", "detail": "x", "deposit_treatment": "part"},
        ),
        400,
        "invalid",
        fields=["forfeited"],
    )
    response = post(
        consultant,
        deal,
        "cancel",
        {
            "cancel_reason": "seller",
            "detail": "交付延期",
            "deposit_treatment": "double",
            "originals_returned": True,
        },
    )
    assert response.status_code == 202
    assert response.json()["payload"]["refund"] == "120000.00"
    request = ApprovalRequest.objects.get(pk=response.json()["id"])
    for who in ("supervisor", "manager"):
        assert (
            api(who).post(f"/api/v1/approvals/{request.pk}/approve/", {}, format="json").status_code
            == 200
        )
    body = consultant.get(f"{DEALS}{deal.pk}/").json()
    assert body["status"] == "cancelled"
    assert body["cancellation"]["refund"] == "120000.00"
    assert body["cancellation"]["compensation"] == "60000.00"
    assert deal.contract_number in body["cancellation"]["voided_documents"]
    assert_error(
        post(consultant, deal, "dispute", {"dispute": "arbitration", "dispute_note": "x"}),
        403,
        "permission_denied",
    )
    assert_error(
        post(api("salesadmin"), deal, "dispute", {"dispute": "arbitration"}),
        400,
        "invalid",
        fields=["dispute_note"],
    )
    body = post(
        api("salesadmin"), deal, "dispute", {"dispute": "arbitration", "dispute_note": "仲裁委受理"}
    ).json()
    assert body["cancellation"]["dispute"] == "arbitration"
    assert_error(post(api("salesadmin"), deal, "refund-paid"), 403, "permission_denied")
    body = post(api("finance"), deal, "refund-paid").json()
    assert body["cancellation"]["refund_paid_at"]
    assert_error(post(api("finance"), deal, "refund-paid"), 409, "conflict")
    # an ended deal takes no change
    assert_error(
        post(api("manager"), deal, "exchange", {"unit": free_unit(1).pk, "reason": "x"}),
        409,
        "conflict",
    )

    # the lists
    pid = project().pk
    changes = api("manager").get(f"/api/v1/deal-changes/?project={pid}&kind=cancel").json()
    assert any(c["deal"] == deal.pk for c in changes["results"])
    summary = api("manager").get(f"/api/v1/deal-changes/cancel-summary/?project={pid}").json()
    seller = next(r for r in summary["rows"] if r["reason"] == "seller")
    assert seller["count"] >= 1 and Decimal(seller["refund"]) >= Decimal("120000")
    assert_error(
        api("manager").get("/api/v1/deal-changes/cancel-summary/?project=x"),
        400,
        "invalid",
        fields=["project"],
    )
    # the consultant's own changes only
    mine = api("consultant2").get(f"/api/v1/deal-changes/?project={pid}").json()
    assert all(
        Deal.objects.get(pk=c["deal"]).consultant == user("consultant2") for c in mine["results"]
    )


def test_owners_and_analysis_by_api(api):
    deal = subscribed()
    pid = project().pk
    owners = api("salesadmin").get(f"{DEALS}owners/?project={pid}").json()
    ids = [d["id"] for d in owners["results"]]
    assert deal.pk in ids
    assert all(d["status"] in ("subscribed", "contracted") for d in owners["results"])
    analysis = api("salesadmin").get(f"{DEALS}owners/analysis/?project={pid}").json()
    assert [d["field"] for d in analysis["dimensions"]] == [
        "occupation",
        "income_band",
        "education",
        "residence_district",
        "channel",
        "motive",
    ]
    total = Deal.objects.filter(project_id=pid, status__in=("subscribed", "contracted")).count()
    assert all(d["total"] >= 1 for d in analysis["dimensions"]) and total >= 1
    assert_error(api("salesadmin").get(f"{DEALS}owners/"), 400, "invalid", fields=["project"])


def test_the_openapi_schema_has_no_warnings(tmp_path):
    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))


def test_owners_query_count_is_flat(api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api("manager")
    url = f"{DEALS}owners/?project={project().pk}"

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for i in range(3):
        subscribed(offset=i, phone=f"1370004000{i}")
    assert count() == few
