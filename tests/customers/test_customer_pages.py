"""Customer pages and API through the real URLs, as the roles that use them."""

import datetime

import pytest
from django.utils import timezone

from loupan.audit.models import AuditEntry
from loupan.customers.models import Customer, FollowUp, Visit

pytestmark = pytest.mark.django_db


def base(demo):
    return f"/projects/{demo['main'].pk}/customers/"


def test_register_page_refuses_missing_fields_in_chinese_and_writes_nothing(login, demo):
    client = login("consultant")
    before = Customer.objects.count()
    response = client.post(
        base(demo) + "register/", {"name": "王五", "phone": "", "wanted_layout": "", "grade": "B"}
    )
    html = response.content.decode()
    assert response.status_code == 200 and "请填写手机号" in html and "请填写意向户型" in html
    assert Customer.objects.count() == before


def test_register_then_duplicate_offers_a_claim(login, demo):
    client = login("consultant")
    response = client.post(
        base(demo) + "register/",
        {"name": "王五", "phone": "13812349876", "wanted_layout": "B1", "grade": "A"},
    )
    customer = Customer.objects.get(phone="+8613812349876")
    assert response.status_code == 302 and response["Location"] == customer.get_absolute_url()
    other = login("consultant2")
    response = other.post(
        base(demo) + "register/",
        {"name": "王先生", "phone": "138 1234 9876", "wanted_layout": "B1", "grade": "B"},
    )
    html = response.content.decode()
    assert 'id="customer-exists"' in html and "李顾问" in html and "13812349876" not in html
    other.post(f"{base(demo)}{customer.pk}/claim/", {"reason": "我接待的"})
    assert customer.claims.filter(claimant__username="consultant2").exists()
    # The other consultant cannot open the customer: 404.
    assert other.get(customer.get_absolute_url()).status_code == 404


def test_register_page_writes_the_companions_with_the_visit_and_nothing_when_refused(login, demo):
    form = {"name": "王五", "phone": "13812349875", "wanted_layout": "B1", "grade": "A"}
    login("consultant").post(base(demo) + "register/", {**form, "companions": "妻子"})
    customer = Customer.objects.get(phone="+8613812349875")
    assert customer.visits.get().companions == "妻子"
    before = Visit.objects.count()
    response = login("consultant2").post(
        base(demo) + "register/", {**form, "name": "王先生", "companions": "儿子"}
    )
    assert 'id="customer-exists"' in response.content.decode()
    assert Visit.objects.count() == before and not Visit.objects.filter(companions="儿子")


def test_follow_up_from_the_detail_page_shows_on_the_home_page(login, demo):
    client = login("consultant")
    customer = Customer.objects.filter(
        project=demo["main"], owner__username="consultant", in_pool=False
    ).first()
    today = timezone.localdate()
    client.post(
        f"{base(demo)}{customer.pk}/follow-up/",
        {
            "way": "phone",
            "content": "约周六看房",
            "next_step": "周六带看",
            "next_date": today.isoformat(),
        },
    )
    assert FollowUp.objects.filter(customer=customer, next_step="周六带看").exists()
    home = client.get("/").content.decode()
    assert 'id="due-follow-ups"' in home and customer.name in home and "周六带看" in home


def test_list_masks_numbers_except_for_the_owner(login, demo):
    customer = Customer.objects.filter(
        project=demo["main"], owner__username="consultant", in_pool=False
    ).first()
    shown = customer.phone[3:]
    own = login("consultant").get(base(demo), {"q": customer.phone_tail}).content.decode()
    assert shown in own
    supervisor = login("supervisor").get(base(demo), {"q": customer.phone_tail}).content.decode()
    assert shown not in supervisor and f"{shown[:3]}****{shown[-4:]}" in supervisor
    page = login("supervisor").post(f"{base(demo)}{customer.pk}/reveal/").content.decode()
    assert shown in page
    assert AuditEntry.objects.filter(action="reveal", object_id=str(customer.pk)).exists()
    assert login("finance").post(f"{base(demo)}{customer.pk}/reveal/").status_code == 403


def test_claims_page_for_supervisors_only(login, demo):
    assert login("consultant").get(f"/projects/{demo['main'].pk}/claims/").status_code == 404
    page = login("supervisor").get(f"/projects/{demo['main'].pk}/claims/").content.decode()
    assert 'id="open-claims"' in page and "客户首次来访由我接待" in page


def test_pool_page_and_take(login, demo):
    customer = Customer.objects.filter(project=demo["main"], in_pool=True).first()
    page = login("consultant2").get(f"/projects/{demo['main'].pk}/pool/").content.decode()
    assert customer.name in page
    login("consultant2").post(f"{base(demo)}{customer.pk}/take/")
    customer.refresh_from_db()
    assert customer.owner.username == "consultant2" and not customer.in_pool


def test_api_registration_201_then_409_with_masked_owner(api, demo):
    body = {
        "project": demo["main"].pk,
        "name": "赵六",
        "phone": "13812340077",
        "wanted_layout": "C1",
    }
    created = api("consultant").post("/api/v1/customers/", body, format="json")
    assert created.status_code == 201 and created.json()["phone"] == "13812340077"
    again = api("consultant2").post("/api/v1/customers/", {**body, "name": "赵先生"}, format="json")
    assert again.status_code == 409
    error = again.json()
    assert error["code"] == "customer_exists" and error["customer"]["owner"] == "李顾问"
    assert "13812340077" not in again.content.decode()
    bad = api("consultant").post("/api/v1/customers/", {**body, "phone": "12345"}, format="json")
    assert bad.status_code == 400 and "phone" in bad.json()["fields"]
    cid = created.json()["id"]
    assert api("consultant2").get(f"/api/v1/customers/{cid}/").status_code == 404
    masked = api("supervisor").get(f"/api/v1/customers/{cid}/").json()
    assert masked["phone"] == "138****0077"
    revealed = api("supervisor").post(f"/api/v1/customers/{cid}/reveal/")
    assert revealed.json()["phone"] == "13812340077"
    follow = api("consultant").post(
        f"/api/v1/customers/{cid}/follow-ups/",
        {
            "way": "wechat",
            "content": "发送户型图",
            "next_date": (timezone.localdate() + datetime.timedelta(days=2)).isoformat(),
        },
        format="json",
    )
    assert follow.status_code == 201
    claim = api("consultant2").post(
        f"/api/v1/customers/{cid}/claim/", {"reason": "x"}, format="json"
    )
    assert claim.status_code == 201


def test_customer_list_query_count_is_flat(login, demo, django_assert_max_num_queries):
    client = login("supervisor")
    client.get(base(demo))
    with django_assert_max_num_queries(14):
        response = client.get(base(demo))
    assert response.status_code == 200


def test_register_page_takes_every_optional_field_of_the_visit_form(login, demo):
    client = login("consultant")
    response = client.post(
        base(demo) + "register/",
        {
            "name": "欧阳先生",
            "phone": "13812340555",
            "wanted_layout": "C1",
            "grade": "B",
            "phone2": "028-8765 4321",
            "age_band": "36-45",
            "income_band": "30-50万",
            "work_district": "高新区",
            "family_size": "4",
            "budget_min": "180",
            "budget_max": "240",
            "floor_preference": "中高层",
            "timing": "三个月内",
            "motive": "改善学区",
            "purpose": "upgrade",
        },
    )
    assert response.status_code == 302
    customer = Customer.objects.get(phone="+8613812340555")
    assert customer.phone2 == "+862887654321" and customer.family_size == 4
    assert (customer.work_district, customer.timing, customer.motive) == (
        "高新区",
        "三个月内",
        "改善学区",
    )
    assert customer.name_initials == "oyxs"


def test_the_owner_moves_a_customer_between_potential_and_intent_by_hand(login, demo, api):
    """潜在 → 意向 without a visit (a call showed the intent), back again, with the reason
    in the audit trail; 成交 only by a deal; another consultant cannot; the API says the
    same with the field named."""
    client = login("consultant")
    client.post(
        base(demo) + "register/",
        {"name": "赵六", "phone": "13812340066", "wanted_layout": "B1", "grade": "B"},
    )
    customer = Customer.objects.get(phone="+8613812340066")
    customer.visits.all().delete()
    Customer.objects.filter(pk=customer.pk).update(stage="potential")
    page = client.get(customer.get_absolute_url()).content.decode()
    assert 'id="stage-form"' in page
    url = f"{base(demo)}{customer.pk}/stage/"
    client.post(url, {"stage": "intent", "reason": "电话确认有购买意向"})
    customer.refresh_from_db()
    assert customer.stage == "intent"
    entry = AuditEntry.objects.filter(object_id=str(customer.pk)).order_by("-id").first()
    assert entry.changes["stage"] == ["potential", "intent"]
    assert entry.extra["reason"] == "电话确认有购买意向"
    # 成交 is not set by hand, and nothing changes
    response = client.post(url, {"stage": "deal"}, follow=True)
    assert "只能设为潜在或意向" in response.content.decode()
    customer.refresh_from_db()
    assert customer.stage == "intent"
    # another consultant: not theirs (the page is a 404, the action changes nothing)
    login("consultant2").post(url, {"stage": "potential"})
    customer.refresh_from_db()
    assert customer.stage == "intent"
    client = login("consultant")
    owner = api("consultant")
    bad = owner.post(f"/api/v1/customers/{customer.pk}/stage/", {"stage": "deal"}, format="json")
    assert bad.status_code == 400 and "stage" in bad.json()["fields"]
    good = owner.post(
        f"/api/v1/customers/{customer.pk}/stage/", {"stage": "potential"}, format="json"
    )
    assert good.status_code == 200 and good.json()["stage"] == "potential"
    # a buyer's stage belongs to the deal
    Customer.objects.filter(pk=customer.pk).update(stage="deal")
    assert 'id="stage-form"' not in client.get(customer.get_absolute_url()).content.decode()
    refused = owner.post(
        f"/api/v1/customers/{customer.pk}/stage/", {"stage": "intent"}, format="json"
    )
    assert refused.status_code == 409 and refused.json()["fields"]["stage"]
