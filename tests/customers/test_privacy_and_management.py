"""Anonymization and retention, the audit trail's masked numbers, the supervisor's actions
(reassign, household, anonymize) on the page and the API, the shared filters, and the
registration that nobody back-dates or deletes (issue Customers)."""

import datetime

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from loupan.accounts.models import User
from loupan.audit.models import AuditEntry
from loupan.core.errors import DomainError
from loupan.customers import services
from loupan.customers.models import Customer, FollowUp, Stage
from loupan.inventory.models import Project

pytestmark = pytest.mark.django_db


def user(name):
    return User.objects.get(username=name)


def register(phone="13912345601", username="consultant", name="王小明", **kw):
    return services.customer_register(
        actor=user(username),
        project=Project.objects.get(code="CHW"),
        name=name,
        phone=phone,
        wanted_layout="B1",
        **kw,
    )


def entries(customer):
    return AuditEntry.objects.filter(object_type="customers.customer", object_id=str(customer.pk))


# --- the audit trail keeps numbers masked ----------------------------------------------


def test_audit_trail_never_holds_a_full_phone_or_id_number(demo):
    from loupan.core.identity import id_check_digit

    body = "11010519900307123"
    id_number = body + id_check_digit(body)
    customer = register(id_number=id_number, consent=True, data={"phone2": "13912345602"})
    changes = entries(customer).get(action="create").changes
    assert changes["phone"] == [None, "139****5601"]
    assert changes["phone2"] == [None, "139****5602"]
    assert changes["id_number"] == [None, "110105********1234"[:6] + "********" + id_number[-4:]]
    for entry in entries(customer):
        assert "13912345601" not in str(entry.changes) and id_number not in str(entry.changes)


# --- anonymization ---------------------------------------------------------------------


def test_anonymize_erases_personal_data_keeps_the_row_and_frees_the_number(demo):
    customer = register()
    services.follow_up_add(
        actor=user("consultant"), customer=customer, way="phone", content="王先生说周末来"
    )
    project = customer.project
    total = Customer.objects.filter(project=project).count()
    services.customer_anonymize(actor=user("supervisor"), customer=customer, reason="客户申请删除")
    customer.refresh_from_db()
    assert customer.name == "已匿名" and customer.phone == "" and customer.phone_tail == ""
    assert customer.anonymized_at is not None and customer.grade and customer.wanted_layout
    assert FollowUp.objects.get(customer=customer).content == ""
    # statistics still count the row; lists and search no longer show it
    assert Customer.objects.filter(project=project).count() == total
    assert customer.visits.count() == 1
    assert not Customer.objects.filter(project=project, phone_tail="5601", anonymized_at=None)
    entry = entries(customer).filter(action="update").latest("id")
    assert entry.extra["reason"] == "客户申请删除" and entry.actor_username == "supervisor"
    # the number may be registered again, as a new customer
    again = register(username="consultant2")
    assert again.pk != customer.pk and again.owner.username == "consultant2"


def test_anonymize_refusals(demo):
    customer = register()
    with pytest.raises(DomainError) as exc:
        services.customer_anonymize(actor=user("consultant"), customer=customer, reason="x")
    assert exc.value.code == "permission_denied"
    with pytest.raises(DomainError) as exc:
        services.customer_anonymize(actor=user("supervisor"), customer=customer, reason=" ")
    assert exc.value.code == "invalid" and "reason" in exc.value.fields
    Customer.objects.filter(pk=customer.pk).update(stage=Stage.DEAL)
    with pytest.raises(DomainError) as exc:
        services.customer_anonymize(actor=user("supervisor"), customer=customer, reason="申请")
    assert exc.value.code == "conflict" and "stage" in exc.value.fields
    assert Customer.objects.get(pk=customer.pk).phone == "+8613912345601"
    Customer.objects.filter(pk=customer.pk).update(stage=Stage.INTENT)
    services.customer_anonymize(actor=user("supervisor"), customer=customer, reason="申请")
    with pytest.raises(DomainError) as exc:
        services.customer_anonymize(actor=user("supervisor"), customer=customer, reason="申请")
    assert exc.value.code == "customer_anonymized" and exc.value.status == 409


@override_settings(LOUPAN_RETENTION_DAYS=365)
def test_retention_anonymizes_old_prospects_but_never_buyers(demo):
    old, buyer, recent = register(), register("13912345602"), register("13912345603")
    long_ago = timezone.now() - datetime.timedelta(days=400)
    Customer.objects.filter(pk__in=[old.pk, buyer.pk]).update(last_follow_up_at=long_ago)
    Customer.objects.filter(pk=buyer.pk).update(stage=Stage.DEAL)
    assert services.anonymize_expired() >= 1
    old.refresh_from_db(), buyer.refresh_from_db(), recent.refresh_from_db()
    assert old.anonymized_at and not buyer.anonymized_at and not recent.anonymized_at
    assert entries(old).latest("id").extra["reason"] == "超过保存期限自动匿名化"


@override_settings(LOUPAN_RETENTION_DAYS=0)
def test_retention_zero_keeps_everyone(demo):
    old = register()
    Customer.objects.filter(pk=old.pk).update(
        last_follow_up_at=timezone.now() - datetime.timedelta(days=4000)
    )
    assert services.anonymize_expired() == 0


def test_run_due_moves_expired_customers_to_the_pool(demo, capsys):
    customer = register()
    Customer.objects.filter(pk=customer.pk).update(
        ownership_expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    call_command("run-due")
    customer.refresh_from_db()
    assert customer.in_pool and customer.owner is None
    assert "转入公客池" in capsys.readouterr().out


# --- household: one customer, the earliest registration's consultant ------------------


def test_household_members_move_to_the_consultant_of_the_first_registration(demo):
    wife = register(name="刘女士")
    husband = register("13912345602", username="consultant2", name="陈先生")
    services.household_link(actor=user("supervisor"), customers=[husband, wife])
    husband.refresh_from_db()
    assert husband.household_id == wife.household_id or husband.household_id
    assert husband.owner.username == "consultant"
    assert "同一家庭" in entries(husband).latest("id").extra["reason"]
    # a third member joins the same household
    child = register("13912345603", username="consultant2", name="陈小朋友")
    services.household_link(actor=user("supervisor"), customers=[child, husband])
    child.refresh_from_db(), wife.refresh_from_db()
    assert child.household_id == wife.household_id and child.owner.username == "consultant"


# --- pages ----------------------------------------------------------------------------


def page(demo, customer, action=""):
    return f"/projects/{demo['main'].pk}/customers/{customer.pk}/{action}"


def test_supervisor_reassigns_links_and_anonymizes_from_the_page(login, demo):
    customer = register()
    other = register("13912345602", username="consultant2", name="孙女士")
    client = login("supervisor")
    html = client.get(page(demo, customer)).content.decode()
    assert 'id="customer-manage"' in html
    refused = client.post(
        page(demo, customer, "assign/"), {"to_user": user("consultant2").pk, "reason": ""}
    )
    assert refused.status_code == 302
    assert Customer.objects.get(pk=customer.pk).owner.username == "consultant"
    client.post(
        page(demo, customer, "assign/"), {"to_user": user("consultant2").pk, "reason": "调岗"}
    )
    assert Customer.objects.get(pk=customer.pk).owner.username == "consultant2"
    client.post(page(demo, customer, "household/"), {"phone": "139 1234 5602"})
    assert Customer.objects.get(pk=customer.pk).household_id == (
        Customer.objects.get(pk=other.pk).household_id
    )
    response = client.post(page(demo, customer, "anonymize/"), {"reason": "客户申请"})
    assert response.status_code == 302 and response["Location"].endswith("/customers/")
    assert Customer.objects.get(pk=customer.pk).anonymized_at is not None
    assert client.get(page(demo, customer)).status_code == 404


def test_consultant_has_no_supervisor_actions(login, demo):
    customer = register()
    client = login("consultant")
    assert 'id="customer-manage"' not in client.get(page(demo, customer)).content.decode()
    response = client.post(
        page(demo, customer, "assign/"), {"to_user": user("consultant2").pk, "reason": "x"}
    )
    assert response.status_code == 403
    assert client.post(page(demo, customer, "anonymize/"), {"reason": "x"}).status_code == 403
    assert Customer.objects.get(pk=customer.pk).owner.username == "consultant"
    # another consultant's customer is a 404, whatever the action
    assert login("consultant2").post(page(demo, customer, "anonymize/")).status_code == 404


def test_list_filters_by_owner_and_last_follow_up(login, demo):
    mine = register(name="甲客户")
    theirs = register("13912345602", username="consultant2", name="乙客户")
    Customer.objects.filter(pk=theirs.pk).update(
        last_follow_up_at=timezone.now() - datetime.timedelta(days=10)
    )
    client = login("supervisor")
    base = f"/projects/{demo['main'].pk}/customers/"
    html = client.get(base, {"owner": user("consultant2").pk, "q": "客户"}).content.decode()
    assert "乙客户" in html and "甲客户" not in html
    cutoff = (timezone.localdate() - datetime.timedelta(days=5)).isoformat()
    html = client.get(base, {"followed_before": cutoff, "q": "乙"}).content.decode()
    assert "乙客户" in html
    html = client.get(base, {"followed_after": cutoff, "q": "客户"}).content.decode()
    assert "甲客户" in html and "乙客户" not in html
    # a consultant has no owner filter: their list is their own
    own = login("consultant").get(base).content.decode()
    assert 'name="owner"' not in own and mine.name in own


# --- API ------------------------------------------------------------------------------


def test_api_filters_assign_household_anonymize(api, demo):
    mine = register(name="甲客户")
    theirs = register("13912345602", username="consultant2", name="乙客户")
    sup = api("supervisor")
    listed = sup.get(
        "/api/v1/customers/", {"owner": user("consultant2").pk, "project": demo["main"].pk}
    ).json()
    names = [c["name"] for c in listed["results"]] if "results" in listed else listed
    assert "乙客户" in names and "甲客户" not in names
    bad = sup.get("/api/v1/customers/", {"followed_after": "not-a-date"})
    assert bad.status_code == 400 and "followed_after" in bad.json()["fields"]

    refused = api("consultant").post(
        f"/api/v1/customers/{mine.pk}/assign/",
        {"to_user": user("consultant2").pk, "reason": "x"},
        format="json",
    )
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    not_staff = sup.post(
        f"/api/v1/customers/{mine.pk}/assign/",
        {"to_user": user("finance").pk, "reason": "x"},
        format="json",
    )
    assert not_staff.status_code == 400 and "to_user" in not_staff.json()["fields"]
    moved = sup.post(
        f"/api/v1/customers/{mine.pk}/assign/",
        {"to_user": user("consultant2").pk, "reason": "调岗"},
        format="json",
    )
    assert moved.status_code == 200 and moved.json()["owner"] == user("consultant2").pk

    linked = sup.post(
        f"/api/v1/customers/{mine.pk}/household/", {"members": [theirs.pk]}, format="json"
    )
    assert linked.status_code == 200 and linked.json()["household"]

    gone = sup.post(f"/api/v1/customers/{theirs.pk}/anonymize/", {"reason": "申请"}, format="json")
    assert gone.status_code == 204
    assert sup.get(f"/api/v1/customers/{theirs.pk}/").status_code == 404


# --- registration is not back-dated, edited or deleted --------------------------------


def test_registration_date_cannot_be_set_or_changed(demo, api):
    with pytest.raises(DomainError) as exc:
        register(data={"registered_at": "2020-01-01T00:00:00+08:00"})
    assert exc.value.code == "invalid" and "registered_at" in exc.value.fields
    before = timezone.now()
    customer = register()
    assert customer.registered_at >= before  # the server stamps the time
    for name in ("consultant", "supervisor"):
        with pytest.raises(DomainError) as exc:
            services.customer_update(
                actor=user(name),
                customer=customer,
                data={"registered_at": "2020-01-01T00:00:00+08:00", "note": "改备注"},
            )
        assert exc.value.code == "invalid" and "registered_at" in exc.value.fields
    customer.refresh_from_db()
    assert customer.registered_at >= before and customer.note == ""
    body = {
        "project": demo["main"].pk,
        "name": "钱七",
        "phone": "13912345609",
        "wanted_layout": "A1",
        "data": {"registered_at": "2020-01-01T00:00:00+08:00"},
    }
    response = api("consultant").post("/api/v1/customers/", body, format="json")
    assert response.status_code == 400 and "registered_at" in response.json()["fields"]
    assert not Customer.objects.filter(phone="+8613912345609").exists()


def test_nobody_deletes_a_registration(api, login, demo):
    customer = register()
    for name in ("consultant", "supervisor", "manager"):
        response = api(name).delete(f"/api/v1/customers/{customer.pk}/")
        assert response.status_code in (403, 404, 405)
        patched = api(name).patch(
            f"/api/v1/customers/{customer.pk}/", {"registered_at": "2020-01-01"}, format="json"
        )
        assert patched.status_code in (403, 404, 405)
    assert login("consultant").post(page(demo, customer, "delete/")).status_code == 404
    assert Customer.objects.filter(pk=customer.pk, anonymized_at=None).exists()
