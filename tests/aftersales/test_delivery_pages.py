"""Delivery and repairs pages through the real URLs, as the roles that use them: customer
service acts (creates a batch, books, inspects with a photo, hands over with the flags
shown); a consultant reads their own buyers' files only; a planner gets a 404; the
notices print one letter per owner; the xlsx leave audited; a GET writes nothing."""

import pytest
from django.urls import reverse

from loupan.aftersales import delivery as s
from loupan.aftersales.models import Delivery, DeliveryBatch, RepairOrder
from loupan.audit.models import AuditEntry
from loupan.inventory.models import Unit, UnitStatus
from tests.deals.helpers import client_of, project, subscribed, user

from .test_delivery_services import PNG, SLOTS, fresh, inspected, pay_all, workday

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"aftersales:{name}", args=[project().pk, *args])


def demo_batch():
    return DeliveryBatch.objects.filter(project=project()).order_by("pk").first()


def test_service_lists_and_creates_a_batch():
    client = client_of("service")
    response = client.get(url("delivery_batch_list"))
    assert response.status_code == 200
    assert demo_batch().name in response.content.decode()
    deal = subscribed(phone="13700005001", contract=True)
    assert client.get(url("delivery_batch_create")).status_code == 200
    data = {
        "building": deal.unit.building_id,
        "name": "二批交房",
        "starts_on": "2030-03-04",
        "ends_on": "2030-03-20",
        "slots": "09:00-12:00\n14:00-17:00",
        "slot_capacity": "4",
        "requirements": "身份证\n购房合同",
        "notice": "",
    }
    response = client.post(url("delivery_batch_create"), {**data, "ends_on": "2030-03-01"})
    assert response.status_code == 400 and "结束日期不能早于开始日期" in response.content.decode()
    response = client.post(url("delivery_batch_create"), data)
    batch = DeliveryBatch.objects.get(name="二批交房")
    assert response.status_code == 302 and response.url == url("delivery_batch_detail", batch.pk)
    assert batch.slots == SLOTS and batch.requirements == ["身份证", "购房合同"]
    assert Delivery.objects.filter(batch=batch, deal=deal).exists()


def test_the_batch_page_shows_status_flags_and_slot_counts_without_writing():
    client = client_of("service")
    batch = demo_batch()
    before = AuditEntry.objects.count()
    response = client.get(url("delivery_batch_detail", batch.pk))
    assert response.status_code == 200
    page = response.content.decode()
    assert "slot-grid" in page and "export-link" in page
    for d in Delivery.objects.filter(batch=batch):
        assert url("delivery_detail", d.pk) in page
    assert sum(n for _day, cells in response.context["grid"] for _slot, n in cells) == (
        Delivery.objects.filter(batch=batch).exclude(appointment_on=None).count()
    )
    for d in Delivery.objects.filter(batch=batch):
        client.get(url("delivery_detail", d.pk))
    client.get(url("delivery_notices", batch.pk))
    client.get(url("repair_list"))
    assert AuditEntry.objects.count() == before


def test_service_books_inspects_with_a_photo_and_hands_over():
    from django.core.files.uploadedfile import SimpleUploadedFile

    delivery, batch = fresh("13700005002", capacity=3)
    client = client_of("service")
    page = client.get(url("delivery_detail", delivery.pk)).content.decode()
    assert "book-form" in page and "handover-form" not in page
    response = client.post(
        url("delivery_book", delivery.pk),
        {"book-day": workday(batch).isoformat(), "book-slot": SLOTS[1]},
    )
    assert response.status_code == 302
    response = client.post(
        url("delivery_book", delivery.pk),
        {"book-day": "1999-01-01", "book-slot": SLOTS[1]},
    )
    assert response.status_code == 400 and "预约日期须在批次期间" in response.content.decode()
    photo = SimpleUploadedFile("wall.png", PNG, content_type="image/png")
    response = client.post(
        url("delivery_inspect", delivery.pk),
        {
            "inspect-note": "两处问题",
            "defect-TOTAL_FORMS": "2",
            "defect-INITIAL_FORMS": "0",
            "defect-0-room": "主卧",
            "defect-0-item": "墙面",
            "defect-0-description": "裂缝",
            "defect-0-photo": photo,
            "defect-1-room": "",
            "defect-1-item": "",
            "defect-1-description": "",
        },
    )
    assert response.status_code == 302
    repair = RepairOrder.objects.get(defect__delivery=delivery)
    photo_url = url("delivery_defect_photo", repair.defect.pk)
    page = client.get(url("delivery_detail", delivery.pk)).content.decode()
    assert repair.number in page and photo_url in page and "delivery-flags" in page
    assert client.get(photo_url)["Content-Type"] == "image/png"
    assert client_of("planner").get(photo_url).status_code == 404
    handover = {
        "handover-quality_guarantee": "on",
        "handover-user_manual": "on",
        "handover-keys": "2",
    }
    response = client.post(url("delivery_handover", delivery.pk), handover)
    assert (
        response.status_code == 400
        and "房款未付清" not in ""
        and "放行原因" in response.content.decode()
    )
    assert Delivery.objects.get(pk=delivery.pk).status == "inspected"
    response = client.post(
        url("delivery_handover", delivery.pk),
        {**handover, "handover-override_reason": "经理批准先行交付"},
    )
    assert response.status_code == 302
    assert Delivery.objects.get(pk=delivery.pk).status == "delivered"
    assert Unit.objects.get(pk=delivery.unit_id).status == UnitStatus.DELIVERED


def test_a_consultant_reads_their_own_buyers_deliveries_only():
    delivery, batch = fresh("13700005003")
    client = client_of("consultant")
    assert client.get(url("delivery_batch_list")).status_code == 200
    page = client.get(url("delivery_detail", delivery.pk)).content.decode()
    assert "book-form" not in page and "inspect-form" not in page
    response = client.post(
        url("delivery_book", delivery.pk),
        {"book-day": workday(batch).isoformat(), "book-slot": SLOTS[0]},
    )
    assert response.status_code == 403
    assert Delivery.objects.get(pk=delivery.pk).status == "notified"
    assert client_of("consultant2").get(url("delivery_detail", delivery.pk)).status_code == 404
    notices = client.get(url("delivery_notices", batch.pk))
    assert notices.status_code == 200
    assert all(d.deal.consultant == user("consultant") for d, _n in notices.context["letters"])
    response = client.post(url("delivery_batch_detail", batch.pk) + "?format=xlsx")
    assert response.status_code == 403


def test_a_planner_sees_nothing():
    planner = client_of("planner")
    batch = demo_batch()
    delivery = Delivery.objects.filter(batch=batch).first()
    repair = RepairOrder.objects.filter(project=project()).first()
    for path in (
        url("delivery_batch_list"),
        url("delivery_batch_detail", batch.pk),
        url("delivery_notices", batch.pk),
        url("delivery_detail", delivery.pk),
        url("repair_list"),
        url("repair_detail", repair.pk),
    ):
        assert planner.get(path).status_code == 404, path


def test_the_notices_print_one_letter_per_owner():
    batch = demo_batch()
    response = client_of("service").get(url("delivery_notices", batch.pk))
    assert response.status_code == 200
    page = response.content.decode()
    deliveries = list(Delivery.objects.filter(batch=batch).select_related("deal__customer"))
    assert page.count('class="letter"') == len(deliveries)
    for d in deliveries:
        assert d.deal.customer.name in page and d.unit.number in page
    for item in batch.requirements:
        assert item in page
    assert "入伙通知书" in page and batch.starts_on.strftime("%Y") in page
    one = client_of("service").get(
        url("delivery_notices", batch.pk), {"delivery": deliveries[0].pk}
    )
    assert one.content.decode().count('class="letter"') == 1


def test_the_notice_list_and_repairs_export_as_xlsx_audited():
    from io import BytesIO

    from openpyxl import load_workbook

    client = client_of("service")
    batch = demo_batch()
    response = client.post(url("delivery_batch_detail", batch.pk) + "?format=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(BytesIO(response.content)).active
    rows = list(sheet.values)
    assert rows[0][:3] == ("交房批次", "楼栋", "房间")
    assert len(rows) - 1 == Delivery.objects.filter(batch=batch).count()
    assert AuditEntry.objects.filter(action="export", object_type="aftersales.delivery").exists()
    response = client.post(url("repair_list") + "?format=xlsx&overdue=true")
    assert response.status_code == 200
    rows = list(load_workbook(BytesIO(response.content)).active.values)
    assert rows[0][0] == "维修单号"
    assert len(rows) - 1 == s.overdue_repairs(user("service"), project()).count()
    assert client_of("consultant").post(url("repair_list") + "?format=xlsx").status_code in (
        302,
        403,
    )


def test_the_repairs_list_filters_and_the_repair_page_acts():
    client = client_of("service")
    response = client.get(url("repair_list"), {"overdue": "true"})
    assert response.status_code == 200
    rows = response.context["rows"]
    assert rows and all(late > 0 for _r, _c, late in rows)
    response = client.get(url("repair_list"), {"status": "closed"})
    assert all(r.status == "closed" for r, *_rest in response.context["rows"])
    deal = subscribed(phone="13700005004", contract=True)
    response = client.post(
        url("repair_create"),
        {"unit": deal.unit_id, "description": "入户门锁损坏", "source": "owner", "team": "repair"},
    )
    repair = RepairOrder.objects.get(description="入户门锁损坏")
    assert response.status_code == 302 and response.url == url("repair_detail", repair.pk)
    page = client.get(url("repair_detail", repair.pk)).content.decode()
    assert "assign-form" in page and "visit-form" not in page
    assert (
        client.post(
            url("repair_assign", repair.pk),
            {"assign-assigned_to": user("service").pk, "assign-team": "repair"},
        ).status_code
        == 302
    )
    response = client.post(url("repair_done", repair.pk), {"done-note": ""})
    assert response.status_code == 400
    assert client.post(url("repair_done", repair.pk), {"done-note": "已换锁"}).status_code == 302
    assert (
        client.post(
            url("repair_visit", repair.pk), {"visit-note": "满意", "visit-satisfaction": "5"}
        ).status_code
        == 302
    )
    assert RepairOrder.objects.get(pk=repair.pk).status == "closed"
    # the consultant whose buyer it is reads it; acting is a 403
    consultant = client_of("consultant")
    page = consultant.get(url("repair_detail", repair.pk)).content.decode()
    assert "assign-form" not in page
    assert (
        consultant.post(
            url("repair_assign", repair.pk),
            {"assign-assigned_to": user("service").pk, "assign-team": "repair"},
        ).status_code
        == 403
    )


def test_a_paid_home_hands_over_without_a_reason():
    delivery, batch = fresh("13700005005")
    pay_all(delivery.deal)
    inspected(delivery, batch)
    page = client_of("service").get(url("delivery_detail", delivery.pk)).content.decode()
    assert "delivery-flags" not in page and "override_reason" not in page
    response = client_of("service").post(
        url("delivery_handover", delivery.pk),
        {"handover-quality_guarantee": "on", "handover-user_manual": "on", "handover-keys": "2"},
    )
    assert response.status_code == 302
    assert Delivery.objects.get(pk=delivery.pk).status == "delivered"
