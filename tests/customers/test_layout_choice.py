"""意向户型 at registration (issue 12): one of the project's layouts, or 其他 with the
layout in words; anything else is refused naming the field; older free text stays."""

import datetime

import pytest
from django.utils import timezone

from loupan.customers.models import Customer
from tests.testing import assert_error

pytestmark = pytest.mark.django_db


def register_url(demo):
    return f"/projects/{demo['main'].pk}/customers/register/"


def test_the_page_offers_the_projects_layouts_and_other(login, demo):
    client = login("consultant")
    html = client.get(register_url(demo)).content.decode()
    assert '<select name="wanted_layout"' in html
    assert '<option value="B1">B1</option>' in html and '<option value="other">' in html
    form = {"name": "王五", "phone": "13812340001", "grade": "B"}
    # 其他 without words: refused next to the words' field, nothing written
    response = client.post(register_url(demo), {**form, "wanted_layout": "other"})
    html = response.content.decode()
    assert response.status_code == 200 and "请填写户型" in html
    assert not Customer.objects.filter(phone="+8613812340001").exists()
    # a layout the project does not have: refused naming the field
    response = client.post(register_url(demo), {**form, "wanted_layout": "Z9"})
    assert "不是本项目的户型" in response.content.decode()
    assert not Customer.objects.filter(phone="+8613812340001").exists()
    response = client.post(
        register_url(demo), {**form, "wanted_layout": "other", "wanted_layout_other": "跃层"}
    )
    assert response.status_code == 302
    assert Customer.objects.get(phone="+8613812340001").wanted_layout == "跃层"
    response = client.post(
        register_url(demo), {**form, "phone": "13812340002", "wanted_layout": "C1"}
    )
    assert response.status_code == 302
    assert Customer.objects.get(phone="+8613812340002").wanted_layout == "C1"


def test_the_api_takes_a_layout_or_other_with_words(api, demo):
    client = api("consultant")
    body = {"project": demo["main"].pk, "name": "赵六", "phone": "13812340003"}
    assert_error(
        client.post("/api/v1/customers/", {**body, "wanted_layout": "三室"}, format="json"),
        400,
        "layout_unknown",
        fields=["wanted_layout"],
    )
    assert_error(
        client.post("/api/v1/customers/", {**body, "wanted_layout": "other"}, format="json"),
        400,
        "invalid",
        fields=["wanted_layout_other"],
    )
    assert_error(
        client.post(
            "/api/v1/customers/",
            {**body, "wanted_layout": "B1", "wanted_layout_other": "三室"},
            format="json",
        ),
        400,
        "invalid",
        fields=["wanted_layout_other"],
    )
    assert not Customer.objects.filter(phone="+8613812340003").exists()
    response = client.post(
        "/api/v1/customers/",
        {**body, "wanted_layout": "other", "wanted_layout_other": "三室"},
        format="json",
    )
    assert response.status_code == 201 and response.json()["wanted_layout"] == "三室"
    response = client.post(
        "/api/v1/customers/",
        {**body, "phone": "13812340004", "wanted_layout": "A1"},
        format="json",
    )
    assert response.status_code == 201 and response.json()["wanted_layout"] == "A1"


def test_older_free_text_stays_readable_and_editable(login, demo):
    from loupan.customers import services

    consultant = demo["users"]["consultant"]
    customer = Customer.objects.create(
        project=demo["main"],
        owner=consultant,
        registered_by=consultant,
        name="老登记",
        phone="+8613812340005",
        phone_tail="0005",
        wanted_layout="两房一厅",
        registered_at=timezone.now() - datetime.timedelta(days=2),
    )
    assert "两房一厅" in login("consultant").get(customer.get_absolute_url()).content.decode()
    # an edit that keeps it is fine; a new layout must be the project's or 其他
    services.customer_update(
        actor=consultant, customer=customer, data={"wanted_layout": "两房一厅", "timing": "年内"}
    )
    with pytest.raises(Exception) as refused:
        services.customer_update(actor=consultant, customer=customer, data={"wanted_layout": "X"})
    assert refused.value.code == "layout_unknown" and "wanted_layout" in refused.value.fields
    services.customer_update(actor=consultant, customer=customer, data={"wanted_layout": "B2"})
    customer.refresh_from_db()
    assert customer.wanted_layout == "B2"
