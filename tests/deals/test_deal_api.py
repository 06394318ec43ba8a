"""Deals API through the real URLs, as the roles that use it: the whole path (consultant
reserves and subscribes, finance confirms the deposit, the sales admin contracts), every
refusal with its exact code, the approval chain, what a caller may not see (404), and
flat query counts (issue Deals, "Lists and API")."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loupan.approvals.models import ApprovalRequest
from loupan.customers.models import Customer, Stage
from loupan.deals.models import Deal, DealStatus, DiscountType
from loupan.inventory.models import Unit, UnitStatus
from tests.deals.helpers import customer_of, free_unit, project, reviewed, user
from tests.testing import assert_error

pytestmark = pytest.mark.django_db

DEALS = "/api/v1/deals/"
APPROVALS = "/api/v1/approvals/"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def special():
    return DiscountType.objects.get(project=project(), name="特批")


def reserve(client, unit=None, customer=None):
    unit, customer = unit or free_unit(), customer or customer_of()
    response = client.post(DEALS, {"unit": unit.pk, "customer": customer.pk}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def subscribe_body(deal, **over):
    body = {
        "buyers": [{"customer": deal["customer"], "share": "100"}],
        "payment_method": "commercial",
        "deposit": "50000",
        "down_payment": "300000",
        "discounts": [],
    }
    body.update(over)
    return body


def post(client, deal_id, action, body=None, **kw):
    return client.post(f"{DEALS}{deal_id}/{action}/", body or {}, format="json", **kw)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


# --- the path ------------------------------------------------------------------------------


def test_the_whole_path_through_the_api(api, demo, media):
    consultant, finance, salesadmin = api("consultant"), api("finance"), api("salesadmin")
    unit, buyer = free_unit(), customer_of()
    spouse = customer_of(phone="13700005555", name="配偶")
    deal = reserve(consultant, unit, buyer)
    assert deal["status"] == "reserved" and deal["reservation_number"].startswith("BL-CHW-")
    assert deal["units"][0]["unit"] == unit.pk and deal["units"][0]["is_main"]
    assert Unit.objects.get(pk=unit.pk).status == UnitStatus.RESERVED

    opening = DiscountType.objects.get(project=project(), name="一次性付款")
    response = post(
        consultant,
        deal["id"],
        "subscribe",
        subscribe_body(
            deal,
            buyers=[
                {"customer": buyer.pk, "share": "60"},
                {"customer": spouse.pk, "share": "40"},
            ],
            payment_method="one_off",
            discounts=[{"discount_type": opening.pk}],
        ),
    )
    assert response.status_code == 200, response.json()
    deal = response.json()
    assert deal["status"] == "pending" and deal["number"].startswith("RG-CHW-")
    assert [(b["customer"], b["share"]) for b in deal["buyers"]] == [
        (buyer.pk, "60.00"),
        (spouse.pk, "40.00"),
    ]
    assert [d["name"] for d in deal["discounts"]] == ["一次性付款"]
    assert Decimal(deal["total"]) == Decimal(deal["discounts"][-1]["total_after"])
    assert Decimal(deal["list_total"]) - Decimal(deal["discount_amount"]) == Decimal(deal["total"])
    assert Unit.objects.get(pk=unit.pk).status == UnitStatus.RESERVED  # not 认购 yet

    assert_error(post(consultant, deal["id"], "confirm-deposit"), 403, "permission_denied")
    response = post(finance, deal["id"], "confirm-deposit")
    assert response.status_code == 200 and response.json()["status"] == "subscribed"
    assert response.json()["deposit_confirmed_by"] == user("finance").pk
    assert Unit.objects.get(pk=unit.pk).status == UnitStatus.SUBSCRIBED
    assert Customer.objects.get(pk=spouse.pk).stage == Stage.DEAL

    reviewed(Deal.objects.get(pk=deal["id"]))  # 计财部审核
    response = post(
        salesadmin,
        deal["id"],
        "contract",
        {"delivery_date": "2027-12-31", "filing_status": "signed", "filing_number": "WQ-1"},
    )
    assert response.status_code == 200, response.json()
    deal = response.json()
    assert deal["status"] == "contracted" and deal["contract_number"].startswith("HT-CHW-")
    assert deal["signed_on"] == timezone.localdate().isoformat()
    assert deal["delivery_date"] == "2027-12-31" and deal["filing_status"] == "signed"
    assert Unit.objects.get(pk=unit.pk).status == UnitStatus.CONTRACTED

    response = post(
        salesadmin, deal["id"], "filing", {"filing_status": "filed", "filing_number": "BA-2026-1"}
    )
    assert response.status_code == 200 and response.json()["filing_number"] == "BA-2026-1"

    scan = SimpleUploadedFile("合同.pdf", PDF, content_type="application/pdf")
    response = salesadmin.post(f"{DEALS}{deal['id']}/scan/", {"contract_scan": scan})
    assert response.status_code == 200, response.json()
    assert response.json()["has_contract_scan"] is True
    stored = Deal.objects.get(pk=deal["id"]).contract_scan.path
    assert stored.startswith(str(media))
    response = consultant.get(f"{DEALS}{deal['id']}/scan/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF


def test_detail_and_list_show_the_deal_to_its_consultant_and_the_office(api, demo):
    deal = reserve(api("consultant"))
    for name in ("consultant", "supervisor", "finance", "salesadmin", "manager", "auditor"):
        response = api(name).get(f"{DEALS}{deal['id']}/")
        assert response.status_code == 200, name
        assert response.json()["reservation_number"] == deal["reservation_number"]
    listed = api("consultant").get(DEALS, {"project": project().pk}).json()
    consultants = {row["consultant"] for row in listed["results"]}
    assert consultants == {user("consultant").pk}  # a consultant sees only their own
    assert deal["id"] in {row["id"] for row in listed["results"]}


def test_list_filters(api, demo):
    deal = reserve(api("consultant"))
    client = api("supervisor")

    def ids(**params):
        response = client.get(DEALS, params)
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    everything = ids(project=project().pk)
    assert deal["id"] in everything and len(everything) > 5
    assert ids(number=deal["reservation_number"]) == {deal["id"]}
    assert ids(unit=deal["unit"]) == set(
        Deal.objects.filter(units__unit_id=deal["unit"]).values_list("pk", flat=True)
    )
    assert deal["id"] in ids(customer=deal["customer"])
    assert ids(status="reserved") == set(
        Deal.objects.filter(project=project(), status="reserved").values_list("pk", flat=True)
    )
    assert ids(live="true", q=deal["reservation_number"]) == {deal["id"]}
    by_consultant2 = ids(consultant=user("consultant2").pk)
    assert by_consultant2 and deal["id"] not in by_consultant2
    assert ids(live="false") == set(
        Deal.objects.filter(status__in=["expired", "released", "exchanged", "cancelled"])
        .filter(project=project())
        .values_list("pk", flat=True)
    )
    assert_error(client.get(DEALS, {"status": "nonsense"}), 400, "invalid", fields=["status"])


# --- reservation refusals ------------------------------------------------------------------


def test_reserve_refusals(api, demo):
    client = api("consultant")
    unit, buyer = free_unit(), customer_of()
    other_project = customer_of("consultant2", "13700009999", "云栖府客户", where=demo["second"])
    others = customer_of("consultant2", "13700002222", "别人的客户")
    before = Deal.objects.count()

    def refused(body, status, code, field):
        assert_error(client.post(DEALS, body, format="json"), status, code, fields=[field])

    refused({"unit": 999999, "customer": buyer.pk}, 400, "invalid", "unit")
    refused({"unit": unit.pk, "customer": 999999}, 400, "invalid", "customer")
    refused({"unit": unit.pk, "customer": other_project.pk}, 400, "invalid", "customer")
    refused({"unit": unit.pk}, 400, "invalid", "customer")
    refused({"unit": "A", "customer": buyer.pk}, 400, "invalid", "unit")
    # a colleague's customer is refused as an unknown id is (issue 12)
    refused({"unit": unit.pk, "customer": others.pk}, 400, "invalid", "customer")
    held = Unit.objects.filter(project=project(), status=UnitStatus.HELD).first()
    refused({"unit": held.pk, "customer": buyer.pk}, 409, "conflict", "unit")
    assert_error(
        api("finance").post(DEALS, {"unit": unit.pk, "customer": buyer.pk}, format="json"),
        403,
        "permission_denied",
    )
    assert Deal.objects.count() == before
    reserve(client, unit, buyer)
    assert_error(
        api("consultant2").post(
            DEALS,
            {"unit": unit.pk, "customer": customer_of("consultant2", "13700003333").pk},
            format="json",
        ),
        409,
        "conflict",
        fields=["unit"],
    )


# --- subscription refusals -----------------------------------------------------------------


def test_subscribe_refusals(api, demo):
    client = api("consultant")
    deal = reserve(client)
    cap = (Unit.objects.get(pk=deal["unit"]).list_price * Decimal("0.2")).quantize(Decimal("0.01"))
    spouse = customer_of(phone="13700004444", name="配偶")
    elsewhere = customer_of("consultant2", "13700009999", "云栖府客户", where=demo["second"])
    foreign_type = DiscountType.objects.create(
        project=demo["second"], name="云栖府开盘", kind="percent", value=Decimal("1")
    )

    def refused(status, code, field, **over):
        response = post(client, deal["id"], "subscribe", subscribe_body(deal, **over))
        assert_error(response, status, code, fields=[field])

    refused(400, "deposit_over_cap", "deposit", deposit=str(cap + Decimal("0.01")))  # 民法典 586
    refused(400, "invalid", "deposit", deposit="0")
    refused(400, "invalid", "deposit", deposit="abc")
    for shares in (("60", "30"), ("60", "50")):
        refused(
            400,
            "invalid",
            "buyers",
            buyers=[
                {"customer": deal["customer"], "share": shares[0]},
                {"customer": spouse.pk, "share": shares[1]},
            ],
        )
    refused(400, "invalid", "buyers", buyers=[])
    refused(400, "invalid", "buyers", buyers=[{"customer": elsewhere.pk, "share": "100"}])
    refused(400, "invalid", "buyers", buyers=[{"customer": 999999, "share": "100"}])
    refused(400, "invalid", "discounts", discounts=[{"discount_type": foreign_type.pk}])
    refused(400, "invalid", "discounts", discounts=[{"discount_type": 999999}])
    refused(400, "invalid", "payment_method", payment_method="cash")
    refused(400, "invalid", "down_payment", down_payment="999999999")
    assert Deal.objects.get(pk=deal["id"]).status == DealStatus.RESERVED
    assert not Deal.objects.get(pk=deal["id"]).number

    # a role that may not subscribe; then wrong state
    assert_error(
        post(api("finance"), deal["id"], "subscribe", subscribe_body(deal)),
        403,
        "permission_denied",
    )
    response = post(client, deal["id"], "subscribe", subscribe_body(deal, deposit=str(cap)))
    assert response.status_code == 200 and response.json()["deposit"] == str(cap)
    assert_error(
        post(client, deal["id"], "subscribe", subscribe_body(deal)),
        409,
        "conflict",
        fields=["status"],
    )


def test_expired_reservation_cannot_be_subscribed(api, demo):
    client = api("consultant")
    deal = reserve(client)
    Deal.objects.filter(pk=deal["id"]).update(
        reservation_expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    response = post(client, deal["id"], "subscribe", subscribe_body(deal))
    assert_error(response, 409, "reservation_expired", fields=["reservation_expires_at"])
    # shown as it is: the reservation has ended and the unit is free (no run-due needed)
    detail = client.get(f"{DEALS}{deal['id']}/").json()
    assert detail["status"] == "expired" and detail["units"][0]["live"] is False
    assert Unit.objects.get(pk=deal["unit"]).status == UnitStatus.AVAILABLE
    assert_error(
        post(client, deal["id"], "release", {"reason": "客户放弃"}),
        409,
        "conflict",
        fields=["status"],
    )


def test_discount_beyond_authority_waits_for_the_supervisor_first(api, demo):
    consultant = api("consultant")
    deal = reserve(consultant)
    response = post(
        consultant,
        deal["id"],
        "subscribe",
        subscribe_body(
            deal,
            discounts=[{"discount_type": special().pk, "value": "2.5"}],
            reason="客户一次性付款，老业主",
        ),
    )
    assert response.status_code == 200, response.json()
    deal = response.json()
    assert deal["status"] == "approval" and Decimal(deal["discount_pct"]) == Decimal("2.50")
    [request] = deal["approvals"]
    assert request["kind"] == "discount" and request["status"] == "pending"
    assert request["level"] == "supervisor" and request["final_level"] == "manager"
    assert request["reason"] == "客户一次性付款，老业主"

    # 待我审批: the supervisor has it, the manager not yet
    mine = {"mine": "pending", "project": project().pk}
    supervisor, manager = api("supervisor"), api("manager")
    assert request["id"] in {r["id"] for r in supervisor.get(APPROVALS, mine).json()["results"]}
    assert request["id"] not in {r["id"] for r in manager.get(APPROVALS, mine).json()["results"]}
    detail = supervisor.get(f"{APPROVALS}{request['id']}/").json()
    assert detail["can_decide"] is True and detail["deal_summary"]["id"] == deal["id"]
    assert detail["level_display"] == "销售主管"

    # the manager cannot skip the supervisor; the consultant cannot decide at all
    url = f"{APPROVALS}{request['id']}/"
    assert manager.get(url).json()["can_decide"] is False
    assert_error(manager.post(url + "approve/", {}, format="json"), 403, "permission_denied")
    assert_error(consultant.post(url + "approve/", {}, format="json"), 403, "permission_denied")
    assert_error(
        supervisor.post(url + "reject/", {"reason": ""}, format="json"),
        400,
        "invalid",
        fields=["reason"],
    )
    response = supervisor.post(url + "approve/", {"reason": "同意"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["level"] == "manager" and response.json()["status"] == "pending"
    assert [s["decision"] for s in response.json()["steps"]] == ["forward"]
    assert request["id"] in {r["id"] for r in manager.get(APPROVALS, mine).json()["results"]}
    response = manager.post(url + "approve/", {"reason": "同意"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "approved"
    assert_error(manager.post(url + "approve/", {}, format="json"), 409, "conflict")
    assert consultant.get(f"{DEALS}{deal['id']}/").json()["status"] == "pending"


def test_a_rejected_discount_returns_the_deal_to_its_reservation(api, demo):
    consultant = api("consultant")
    deal = reserve(consultant)
    deal = post(
        consultant,
        deal["id"],
        "subscribe",
        subscribe_body(
            deal, discounts=[{"discount_type": special().pk, "value": "1.5"}], reason="竞品价格"
        ),
    ).json()
    request = ApprovalRequest.objects.get(subject_id=deal["id"])
    response = api("supervisor").post(
        f"{APPROVALS}{request.pk}/reject/", {"reason": "超出开盘政策"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert consultant.get(f"{DEALS}{deal['id']}/").json()["status"] == "reserved"
    # the consultant sees their own request, another consultant does not
    assert consultant.get(f"{APPROVALS}{request.pk}/").status_code == 200
    assert_error(api("consultant2").get(f"{APPROVALS}{request.pk}/"), 404, "not_found")
    assert_error(
        api("consultant2").post(f"{APPROVALS}{request.pk}/approve/", {}, format="json"),
        404,
        "not_found",
    )


def test_pending_for_me_needs_a_project(api, demo):
    assert_error(
        api("supervisor").get(APPROVALS, {"mine": "pending"}), 400, "invalid", fields=["project"]
    )
    assert_error(
        api("manager").get(APPROVALS, {"mine": "pending", "project": demo["second"].pk}),
        404,
        "not_found",
    )
    # a consultant has nothing to decide
    response = api("consultant").get(APPROVALS, {"mine": "pending", "project": project().pk})
    assert response.status_code == 200 and response.json()["results"] == []


# --- another consultant's deal -------------------------------------------------------------


def test_another_consultants_deal_is_not_found(api, demo, media):
    deal = reserve(api("consultant"))
    other = api("consultant2")
    assert_error(other.get(f"{DEALS}{deal['id']}/"), 404, "not_found")
    assert deal["id"] not in {r["id"] for r in other.get(DEALS).json()["results"]}
    for action, body in (
        ("subscribe", subscribe_body(deal)),
        ("release", {"reason": "抢单"}),
        ("confirm-deposit", {}),
        ("clauses", {"text": "条款"}),
        ("contract", {}),
        ("filing", {"filing_status": "signed", "filing_number": "1"}),
    ):
        assert_error(post(other, deal["id"], action, body), 404, "not_found")
    assert_error(other.get(f"{DEALS}{deal['id']}/scan/"), 404, "not_found")
    # a role outside the project (planner sees units, not deals)
    assert_error(api("planner").get(f"{DEALS}{deal['id']}/"), 404, "not_found")
    assert Deal.objects.get(pk=deal["id"]).status == DealStatus.RESERVED


# --- release, clauses, contract, filing, scan ----------------------------------------------


def test_release(api, demo):
    client = api("consultant")
    deal = reserve(client)
    assert_error(
        post(client, deal["id"], "release", {"reason": " "}), 400, "invalid", fields=["reason"]
    )
    response = post(client, deal["id"], "release", {"reason": "客户放弃"})
    assert response.status_code == 200 and response.json()["status"] == "released"
    assert response.json()["end_reason"] == "客户放弃"
    assert Unit.objects.get(pk=deal["unit"]).status == UnitStatus.AVAILABLE
    # a subscribed deal is cancelled, never released
    deal = reserve(
        client, Unit.objects.get(pk=deal["unit"]), Customer.objects.get(pk=deal["customer"])
    )
    post(client, deal["id"], "subscribe", subscribe_body(deal))
    post(api("finance"), deal["id"], "confirm-deposit")
    assert_error(post(client, deal["id"], "release", {"reason": "客户放弃"}), 409, "conflict")


def _subscribed(api):
    client = api("consultant")
    deal = reserve(client)
    post(client, deal["id"], "subscribe", subscribe_body(deal))
    return post(api("finance"), deal["id"], "confirm-deposit").json()


def test_contract_refusals_and_special_clauses(api, demo):
    consultant, salesadmin = api("consultant"), api("salesadmin")
    reserved = reserve(consultant, free_unit(1), customer_of(phone="13700006666"))
    assert_error(post(salesadmin, reserved["id"], "contract"), 409, "conflict", fields=["status"])
    assert_error(post(salesadmin, reserved["id"], "clauses", {"text": "赠送车位"}), 409, "conflict")

    deal = _subscribed(api)
    assert_error(post(api("finance"), deal["id"], "contract"), 403, "permission_denied")
    assert_error(
        post(consultant, deal["id"], "clauses", {"text": ""}), 400, "invalid", fields=["text"]
    )
    response = post(consultant, deal["id"], "clauses", {"text": "交房时赠送地下储藏室使用权一年"})
    assert response.status_code == 201, response.json()
    assert [c["approved"] for c in response.json()["clauses"]] == [False]
    assert_error(
        post(salesadmin, deal["id"], "contract"), 409, "contract_not_reviewed", fields=["review"]
    )
    assert_error(post(salesadmin, deal["id"], "review"), 409, "clauses_pending", fields=["clauses"])
    request = next(a for a in response.json()["approvals"] if a["kind"] == "clause")
    assert request["level"] == "director"
    assert_error(
        api("manager").post(f"{APPROVALS}{request['id']}/approve/", {}, format="json"),
        403,
        "permission_denied",
    )
    response = api("director").post(f"{APPROVALS}{request['id']}/approve/", {}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "approved"
    reviewed(Deal.objects.get(pk=deal["id"]))

    future = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    assert_error(
        post(salesadmin, deal["id"], "contract", {"signed_on": future}),
        400,
        "invalid",
        fields=["signed_on"],
    )
    assert_error(
        post(salesadmin, deal["id"], "contract", {"filing_status": "bogus"}),
        400,
        "invalid",
        fields=["filing_status"],
    )
    assert_error(
        post(salesadmin, deal["id"], "filing", {"filing_status": "signed", "filing_number": "X"}),
        409,
        "conflict",
    )
    response = post(salesadmin, deal["id"], "contract", {"contract_number": "CD-2026-0001"})
    assert response.status_code == 200 and response.json()["contract_number"] == "CD-2026-0001"
    assert response.json()["clauses"][0]["approved"] is True
    assert_error(post(salesadmin, deal["id"], "contract"), 409, "conflict")

    # the contract number is the project's: a second deal cannot take it
    other = _subscribed_second(api)
    reviewed(Deal.objects.get(pk=other["id"]))
    assert_error(
        post(salesadmin, other["id"], "contract", {"contract_number": "CD-2026-0001"}),
        400,
        "contract_number_taken",
        fields=["contract_number"],
    )
    assert_error(
        post(salesadmin, deal["id"], "filing", {"filing_status": "filed"}),
        400,
        "invalid",
        fields=["filing_number"],
    )
    assert_error(
        post(consultant, deal["id"], "filing", {"filing_status": "filed", "filing_number": "1"}),
        403,
        "permission_denied",
    )


def _subscribed_second(api):
    client = api("consultant")
    deal = reserve(client, free_unit(2), customer_of(phone="13700007777", name="第二位"))
    post(client, deal["id"], "subscribe", subscribe_body(deal))
    return post(api("finance"), deal["id"], "confirm-deposit").json()


def test_contract_scan_upload_and_download(api, demo, media):
    salesadmin = api("salesadmin")
    deal = _subscribed(api)
    url = f"{DEALS}{deal['id']}/scan/"
    pdf = SimpleUploadedFile("合同.pdf", PDF, content_type="application/pdf")
    assert_error(salesadmin.post(url, {"contract_scan": pdf}), 409, "conflict")
    reviewed(Deal.objects.get(pk=deal["id"]))
    post(salesadmin, deal["id"], "contract")
    assert_error(salesadmin.get(url), 404, "not_found")
    assert_error(salesadmin.post(url, {}), 400, "invalid", fields=["contract_scan"])
    fake = SimpleUploadedFile("合同.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    assert_error(
        salesadmin.post(url, {"contract_scan": fake}), 400, "invalid", fields=["contract_scan"]
    )
    exe = SimpleUploadedFile("合同.exe", PDF, content_type="application/octet-stream")
    assert_error(
        salesadmin.post(url, {"contract_scan": exe}), 400, "invalid", fields=["contract_scan"]
    )
    assert_error(
        api("finance").post(url, {"contract_scan": SimpleUploadedFile("a.pdf", PDF)}),
        403,
        "permission_denied",
    )
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    response = salesadmin.post(url, {"contract_scan": SimpleUploadedFile("scan.png", png)})
    assert response.status_code == 200, response.json()
    for name in ("consultant", "salesadmin", "manager"):
        response = api(name).get(url)
        assert response.status_code == 200 and response["Content-Type"] == "image/png", name
        assert b"".join(response.streaming_content) == png
    # the scan holds the buyers' ID numbers: not for everyone who sees the deal
    for name in ("finance", "auditor"):
        assert_error(api(name).get(url), 403, "permission_denied")
    for name in ("consultant2", "planner"):
        assert_error(api(name).get(url), 404, "not_found")


# --- discount types --------------------------------------------------------------------------


def test_discount_types_for_building_a_subscription(api, demo):
    DiscountType.objects.create(
        project=demo["second"], name="云栖府开盘", kind="percent", value=Decimal("1")
    )
    rows = api("consultant").get("/api/v1/discount-types/", {"project": project().pk}).json()
    names = [r["name"] for r in rows["results"]]
    assert "一次性付款" in names and "特批" in names and "云栖府开盘" not in names
    assert [r["sort_order"] for r in rows["results"]] == sorted(
        r["sort_order"] for r in rows["results"]
    )
    assert next(r for r in rows["results"] if r["name"] == "特批")["variable"] is True
    # consultant is not in the second project; consultant2 is
    everything = api("consultant").get("/api/v1/discount-types/").json()["results"]
    assert "云栖府开盘" not in [r["name"] for r in everything]
    assert "云栖府开盘" in [
        r["name"] for r in api("consultant2").get("/api/v1/discount-types/").json()["results"]
    ]
    assert api("planner").get("/api/v1/discount-types/").json()["results"] == []


# --- query counts --------------------------------------------------------------------------


def _count(client, url, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries), response.json()


def test_list_query_counts_are_flat(api, demo):
    client = api("manager")
    params = {"project": project().pk}
    few, body = _count(client, DEALS, params)
    consultant = api("consultant")
    for i in range(4):
        deal = reserve(consultant, free_unit(i), customer_of(phone=f"1370000800{i}", name=f"客{i}"))
        post(
            consultant,
            deal["id"],
            "subscribe",
            subscribe_body(deal, discounts=[{"discount_type": special().pk, "value": "1.5"}]),
        )
    many, body2 = _count(client, DEALS, params)
    assert body2["count"] == body["count"] + 4
    assert many == few and many <= 5
    approvals_few, _ = _count(client, APPROVALS, {})
    deal = reserve(consultant, free_unit(4), customer_of(phone="13700008009"))
    post(
        consultant,
        deal["id"],
        "subscribe",
        subscribe_body(deal, discounts=[{"discount_type": special().pk, "value": "1.5"}]),
    )
    approvals_many, body3 = _count(client, APPROVALS, {})
    # flat; the requests' subjects (deals) come in one prefetch of their own
    assert approvals_many == approvals_few and approvals_many <= 6
    pending, _ = _count(api("supervisor"), APPROVALS, {"mine": "pending", "project": project().pk})
    assert pending <= 7
    detail, _ = _count(client, f"{DEALS}{deal['id']}/")
    assert detail <= 10
