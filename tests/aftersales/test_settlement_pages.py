"""Settlement pages, the printable notice and the API (incl. the calculator) as the
roles: service staff act, finance pays refunds, a consultant reads their own buyers'
settlements, a planner sees nothing (404); floats refused; the schema has no warning."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from loupan.aftersales import settlement as s
from loupan.aftersales.models import MeasuredArea, Settlement
from tests.deals.helpers import client_of, project, subscribed, user

pytestmark = pytest.mark.django_db
D = Decimal


def url(name, *args):
    return reverse(f"aftersales:{name}", args=[project().pk, *args])


@pytest.fixture
def deal(demo):
    deal = subscribed(0, "13700007001", contract=True)
    MeasuredArea.objects.create(
        unit=deal.unit,
        gross_area=(deal.area * D("0.95")).quantize(D("0.01")),
        imported_by=user("service"),
        imported_at=timezone.now(),
    )
    return deal


def test_the_list_filters_bands_and_computes(deal):
    service = client_of("service")
    page = service.get(url("settlement_list"))
    assert page.status_code == 200 and "settlement-awaiting" in page.content.decode()
    done = service.post(url("settlement_compute", deal.pk))
    assert done.status_code == 302
    x = Settlement.objects.get(deal=deal)
    below = service.get(url("settlement_list") + "?band=below").content.decode()
    assert f"/settlements/{x.pk}/" in below
    within = service.get(url("settlement_list") + "?band=within").content.decode()
    assert f"/settlements/{x.pk}/" not in within
    exported = service.post(url("settlement_list") + "?format=xlsx")
    assert exported.status_code == 200 and exported["Content-Type"].startswith("application/vnd")


def test_detail_notice_and_the_roles(deal):
    x = s.settlement_compute(actor=user("service"), deal=deal)
    detail = client_of("service").get(url("settlement_detail", x.pk))
    text = detail.content.decode()
    assert detail.status_code == 200 and "notify-form" in text and "may-cancel" in text
    notice = client_of("service").get(url("settlement_notice", x.pk))
    text = notice.content.decode()
    assert notice.status_code == 200 and "面积补差通知书" in text
    assert "双倍返还" in text and "人民币" in text and "第二十条" in text
    for line in x.workings:
        assert line in text
    # the deal's consultant reads; a colleague's buyer and a planner: 404
    mine = client_of("consultant").get(url("settlement_detail", x.pk))
    assert mine.status_code == 200 and "notify-form" not in mine.content.decode()
    assert client_of("consultant").post(url("settlement_notify", x.pk)).status_code == 403
    assert client_of("consultant2").get(url("settlement_detail", x.pk)).status_code == 404
    assert client_of("planner").get(url("settlement_list")).status_code == 404
    assert client_of("planner").get(url("settlement_notice", x.pk)).status_code == 404
    # service notifies, finance pays the refund
    assert (
        client_of("service").post(url("settlement_notify", x.pk), {"n-due_days": "30"}).status_code
        == 302
    )
    x.refresh_from_db()
    assert x.status == "refund"
    assert client_of("service").post(url("settlement_refund", x.pk), {}).status_code == 403
    paid = client_of("finance").post(
        url("settlement_refund", x.pk),
        {"r-method": "transfer", "r-bank_reference": "TK9"},
    )
    assert paid.status_code == 302
    x.refresh_from_db()
    assert x.status == "refunded"


def test_the_api(api, deal):
    client = api("service")
    created = client.post("/api/v1/settlements/", {"deal": deal.pk}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["band"] == "below" and body["buyer_may_cancel"] is True and body["workings"]
    assert D(body["amount"]) < 0
    floats = client.post("/api/v1/settlements/", {"deal": deal.pk, "threshold": 1.0}, format="json")
    assert floats.status_code == 400 and floats.json()["code"] == "invalid"
    notified = client.post(f"/api/v1/settlements/{body['id']}/notify/", {}, format="json")
    assert notified.status_code == 200 and notified.json()["status"] == "refund"
    denied = client.post(f"/api/v1/settlements/{body['id']}/refund-paid/", {}, format="json")
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    paid = api("finance").post(
        f"/api/v1/settlements/{body['id']}/refund-paid/", {"bank_reference": "T1"}, format="json"
    )
    assert paid.status_code == 200 and paid.json()["status"] == "refunded"
    listing = client.get(f"/api/v1/settlements/?project={project().pk}&band=below").json()
    assert body["id"] in [x["id"] for x in listing["results"]]
    assert api("consultant2").get(f"/api/v1/settlements/{body['id']}/").status_code == 404


def test_the_api_refuses_without_measured_area(api, demo):
    deal = subscribed(1, "13700007002", contract=True)
    answer = api("service").post("/api/v1/settlements/", {"deal": deal.pk}, format="json")
    assert answer.status_code == 409 and answer.json()["code"] == "no_measured_area"


CALC = "/api/v1/calculators/area-settlement/"


def test_calculator_open_to_every_signed_in_user(api, client, demo):
    body = {"contract_area": "100.00", "measured_area": "105.00", "unit_price": "20000.00"}
    for name in ("planner", "consultant", "auditor"):
        answer = api(name).post(CALC, body, format="json")
        assert answer.status_code == 200
        data = answer.json()
        assert {
            k: data[k] for k in ("error_ratio", "amount", "developer_bears", "buyer_may_cancel")
        } == {
            "error_ratio": "5.00",
            "amount": "60000.00",
            "developer_bears": "40000.00",
            "buyer_may_cancel": True,
        }
    anonymous = client.post(CALC, body, content_type="application/json")
    assert anonymous.status_code == 401
    floats = api("planner").post(CALC, {**body, "measured_area": 105.0}, format="json")
    assert floats.status_code == 400 and floats.json()["code"] == "invalid"
    assert "measured_area" in floats.json()["fields"]
    zero = api("planner").post(CALC, {**body, "contract_area": "0"}, format="json")
    assert zero.status_code == 400 and "contract_area" in zero.json()["fields"]


def test_the_calculator_writes_nothing(api, demo):
    before = Settlement.objects.count()
    api("planner").post(
        CALC,
        {"contract_area": "100.00", "measured_area": "95.00", "unit_price": "20000.00"},
        format="json",
    )
    assert Settlement.objects.count() == before
