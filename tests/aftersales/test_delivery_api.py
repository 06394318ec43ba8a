"""The delivery and repairs API: ``/api/v1/delivery-batches/``, ``/deliveries/`` (book,
inspect, handover) and ``/repairs/`` (create, assign, done, visit): restricted lists and
details, the one error shape, floats refused, consultants read-only."""

import pytest
from django.utils import timezone

from loupan.aftersales.models import Delivery, DeliveryBatch, RepairOrder
from loupan.inventory.models import Unit, UnitStatus
from tests.deals.helpers import project, subscribed, user
from tests.testing import api_client, assert_error

from .test_delivery_services import SLOTS, fresh, workday

pytestmark = pytest.mark.django_db


def client(name):
    return api_client(user(name))


def test_batches_list_create_and_detail():
    deal = subscribed(phone="13700006001", contract=True)
    service = client("service")
    body = {
        "project": project().pk,
        "building": deal.unit.building_id,
        "name": "API 批次",
        "starts_on": "2030-03-04",
        "ends_on": "2030-03-29",
        "slots": SLOTS,
        "slot_capacity": 3,
        "requirements": ["身份证"],
    }
    response = service.post("/api/v1/delivery-batches/", body, format="json")
    assert response.status_code == 201, response.content
    batch = response.json()
    assert batch["slots"] == SLOTS and batch["bookings"] == []
    assert Delivery.objects.filter(batch_id=batch["id"], deal=deal).exists()
    listed = service.get("/api/v1/delivery-batches/", {"project": project().pk}).json()
    assert batch["id"] in {b["id"] for b in listed["results"]}
    assert service.get(f"/api/v1/delivery-batches/{batch['id']}/").status_code == 200
    assert_error(
        service.post("/api/v1/delivery-batches/", {**body, "ends_on": "2030-03-01"}, format="json"),
        400,
        "invalid",
        fields=["ends_on"],
    )
    assert_error(
        service.post("/api/v1/delivery-batches/", {**body, "slot_capacity": 2.5}, format="json"),
        400,
        "invalid",
    )
    assert_error(
        client("consultant").post("/api/v1/delivery-batches/", body, format="json"),
        403,
        "permission_denied",
    )
    assert_error(
        client("planner").get(f"/api/v1/delivery-batches/{batch['id']}/"), 404, "not_found"
    )


def test_book_inspect_and_handover_through_the_api():
    delivery, batch = fresh("13700006002", capacity=2)
    service = client("service")
    base = f"/api/v1/deliveries/{delivery.pk}/"
    detail = service.get(base).json()
    assert detail["status"] == "notified" and detail["can"]["book"] is True
    assert [f["code"] for f in detail["current_flags"]] == ["money_owed"]
    assert_error(
        service.post(base + "book/", {"day": "1999-01-01", "slot": SLOTS[0]}, format="json"),
        400,
        "invalid",
        fields=["day"],
    )
    response = service.post(
        base + "book/", {"day": workday(batch).isoformat(), "slot": SLOTS[0]}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "booked"
    response = service.post(
        base + "inspect/",
        {
            "note": "一处问题",
            "defects": [{"room": "卫生间", "item": "防水", "description": "渗水"}],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "inspected" and body["defects"][0]["repair_number"].startswith("WX-")
    handover = {"quality_guarantee": True, "user_manual": True, "keys": 2}
    err = assert_error(
        service.post(base + "handover/", handover, format="json"),
        409,
        "money_outstanding",
        fields=["override_reason"],
    )
    assert "尚欠" in err["message"]
    response = service.post(
        base + "handover/", {**handover, "override_reason": "经理批准"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "delivered" and body["flags"][-1]["code"] == "override"
    assert Unit.objects.get(pk=delivery.unit_id).status == UnitStatus.DELIVERED


def test_inspect_with_photos_in_multipart():
    from django.core.files.uploadedfile import SimpleUploadedFile

    from .test_delivery_services import PNG, booked

    delivery, batch = fresh("13700006003")
    booked(delivery, batch)
    photo = SimpleUploadedFile("a.png", PNG, content_type="image/png")
    response = client("service").post(
        f"/api/v1/deliveries/{delivery.pk}/inspect/",
        {
            "note": "x",
            "defects": '[{"room": "主卧", "item": "墙面", "description": "裂缝"}]',
            "photo_0": photo,
        },
        format="multipart",
    )
    assert response.status_code == 200, response.content
    assert response.json()["defects"][0]["has_photo"] is True


def test_a_consultant_reads_their_own_deliveries_only():
    delivery, batch = fresh("13700006004")
    mine = client("consultant").get("/api/v1/deliveries/", {"project": project().pk}).json()
    ids = {d["id"] for d in mine["results"]}
    assert delivery.pk in ids
    assert ids == set(
        Delivery.objects.filter(deal__consultant=user("consultant")).values_list("pk", flat=True)
    )
    assert_error(
        client("consultant").post(
            f"/api/v1/deliveries/{delivery.pk}/book/",
            {"day": workday(batch).isoformat(), "slot": SLOTS[0]},
            format="json",
        ),
        403,
        "permission_denied",
    )
    assert_error(client("consultant2").get(f"/api/v1/deliveries/{delivery.pk}/"), 404, "not_found")
    batches = client("consultant").get("/api/v1/delivery-batches/").json()
    assert batch.pk in {b["id"] for b in batches["results"]}


def test_repairs_through_the_api():
    deal = subscribed(phone="13700006005", contract=True)
    service = client("service")
    response = service.post(
        "/api/v1/repairs/",
        {"project": project().pk, "deal": deal.pk, "description": "空调孔漏水"},
        format="json",
    )
    assert response.status_code == 201, response.content
    repair = response.json()
    assert repair["status"] == "open" and repair["source"] == "owner" and repair["overdue"] is False
    base = f"/api/v1/repairs/{repair['id']}/"
    assert_error(
        service.post(base + "done/", {"note": "x"}, format="json"), 409, "stage_transition"
    )
    assert (
        service.post(
            base + "assign/",
            {"assigned_to": user("service").pk, "team": "construction"},
            format="json",
        ).json()["status"]
        == "assigned"
    )
    assert (
        service.post(base + "done/", {"note": "已封堵"}, format="json").json()["status"] == "done"
    )
    assert_error(
        service.post(base + "visit/", {"note": "x", "satisfaction": 9}, format="json"),
        400,
        "invalid",
        fields=["satisfaction"],
    )
    body = service.post(base + "visit/", {"note": "满意", "satisfaction": 5}, format="json").json()
    assert body["status"] == "closed" and body["satisfaction"] == 5
    overdue = service.get("/api/v1/repairs/", {"project": project().pk, "overdue": "true"}).json()
    today = timezone.localdate().isoformat()
    assert overdue["results"] and all(
        r["overdue"] and r["due_on"] < today for r in overdue["results"]
    )
    assert_error(
        client("consultant").post(
            "/api/v1/repairs/",
            {"project": project().pk, "deal": deal.pk, "description": "x"},
            format="json",
        ),
        403,
        "permission_denied",
    )
    assert_error(client("planner").get(base), 404, "not_found")
    assert RepairOrder.objects.filter(pk=repair["id"], status="closed").exists()
    assert DeliveryBatch.objects.exists()
