"""Problem customers 问题客户 (seed 002 二.6): flagged by the owner or a supervisor with the
problem, escalated to the 问题客户一览表 of the supervisors, the manager and the director,
resolved by the manager with a note; audited; pages and API (issue Customers)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loupan.accounts.models import User
from loupan.audit.models import AuditEntry
from loupan.core.errors import DomainError
from loupan.customers import intentions, services
from loupan.inventory.models import Project

pytestmark = pytest.mark.django_db

_phones = iter(range(1, 10_000))


def user(name):
    return User.objects.get(username=name)


def customer(username="consultant", name=None):
    n = next(_phones)
    return services.customer_register(
        actor=user(username),
        project=Project.objects.get(code="CHW"),
        name=name or f"问题{n}",
        phone=f"1390002{n:04d}",
        wanted_layout="other",
        wanted_layout_other="B1 三室",
        data={"grade": "B"},
    )


def flag(c, problem="客户要求退还定金并投诉", actor="consultant"):
    return intentions.problem_flag(actor=user(actor), customer=c, problem=problem)


def entries(c, event):
    return AuditEntry.objects.filter(
        object_type="customers.customer", object_id=str(c.pk), extra__event=event
    )


# --- services -----------------------------------------------------------------------------


def test_owner_flags_with_the_problem_and_it_is_audited(demo):
    c = flag(customer(), problem="  对面积有异议，情绪激动  ")
    c.refresh_from_db()
    assert c.problem == "对面积有异议，情绪激动" and c.problem_at is not None
    entry = entries(c, "problem_flag").get()
    assert entry.action == "update" and entry.actor == user("consultant")
    assert entry.changes["problem"] == ["", "对面积有异议，情绪激动"]
    assert entry.project_id == c.project_id


@pytest.mark.parametrize("text", ["", "   "])
def test_the_problem_is_required(demo, text):
    c = customer()
    with pytest.raises(DomainError) as exc:
        flag(c, problem=text)
    assert exc.value.code == "invalid" and exc.value.fields == {"problem": ["请填写问题说明"]}
    assert exc.value.message.startswith("问题：")
    c.refresh_from_db()
    assert not c.problem and c.problem_at is None


def test_the_problem_fits_the_field(demo):
    with pytest.raises(DomainError) as exc:
        flag(customer(), problem="长" * 201)
    assert exc.value.code == "invalid" and "problem" in exc.value.fields


def test_a_flagged_customer_is_not_flagged_twice(demo):
    c = flag(customer())
    with pytest.raises(DomainError) as exc:
        flag(c, problem="另一个问题", actor="supervisor")
    assert exc.value.code == "conflict" and "problem" in exc.value.fields
    c.refresh_from_db()
    assert c.problem == "客户要求退还定金并投诉"


@pytest.mark.parametrize("actor", ["consultant2", "salesadmin", "finance"])
def test_only_the_owner_or_a_supervisor_flags(demo, actor):
    c = customer()
    with pytest.raises(DomainError) as exc:
        flag(c, actor=actor)
    assert exc.value.code == "permission_denied"
    flag(c, actor="supervisor")
    assert entries(c, "problem_flag").get().actor == user("supervisor")


@pytest.mark.parametrize("actor", ["manager", "director"])
def test_the_manager_resolves_with_a_note_and_it_is_audited(demo, actor):
    c = flag(customer())
    intentions.problem_resolve(
        actor=user(actor), customer=c, resolution="已与客户面谈，同意按合同处理"
    )
    c.refresh_from_db()
    assert c.problem == "" and c.problem_at is None
    entry = entries(c, "problem_resolve").get()
    assert entry.actor == user(actor) and entry.action == "update"
    assert entry.extra["resolution"] == "已与客户面谈，同意按合同处理"
    assert entry.extra["problem"] == "客户要求退还定金并投诉" and entry.extra["flagged_at"]
    assert entry.changes["problem"] == ["客户要求退还定金并投诉", ""]


@pytest.mark.parametrize("actor", ["supervisor", "consultant", "salesadmin"])
def test_only_the_manager_or_director_resolves(demo, actor):
    c = flag(customer())
    with pytest.raises(DomainError) as exc:
        intentions.problem_resolve(actor=user(actor), customer=c, resolution="x")
    assert exc.value.code == "permission_denied"
    c.refresh_from_db()
    assert c.problem


def test_resolution_needs_a_note_and_a_flag(demo):
    c = flag(customer())
    with pytest.raises(DomainError) as exc:
        intentions.problem_resolve(actor=user("manager"), customer=c, resolution=" ")
    assert exc.value.code == "invalid" and exc.value.fields == {"resolution": ["请填写处理结果"]}
    intentions.problem_resolve(actor=user("manager"), customer=c, resolution="已处理")
    with pytest.raises(DomainError) as exc:
        intentions.problem_resolve(actor=user("manager"), customer=c, resolution="再处理")
    assert exc.value.code == "conflict"
    # Once resolved, it can be flagged again.
    flag(c, problem="新问题")
    c.refresh_from_db()
    assert c.problem == "新问题"


def test_the_list_holds_flagged_customers_of_the_visible_projects(demo):
    a, b, clean = customer(), customer("consultant2"), customer()
    flag(a)
    flag(b, actor="consultant2")
    listed = list(intentions.problem_customers(user=user("manager"), project=demo["main"]))
    assert [c.pk for c in listed if c.pk in {a.pk, b.pk, clean.pk}] == [a.pk, b.pk]
    assert list(intentions.problem_customers(user=user("consultant"), project=demo["main"])) == []
    assert list(intentions.problem_customers(user=user("salesadmin"))) == []
    assert {c.pk for c in intentions.problem_customers(user=user("supervisor"))} >= {a.pk, b.pk}
    by = intentions.flagged_by(listed)
    assert by[a.pk] == "李顾问" and by[b.pk] == "周顾问"


# --- pages --------------------------------------------------------------------------------


def test_owner_flags_from_the_customer_page(login, demo):
    c = customer()
    client = login("consultant")
    html = client.get(c.get_absolute_url()).content.decode()
    assert 'id="problem-flag-form"' in html and 'id="customer-problem"' not in html
    response = client.post(f"{c.get_absolute_url()}problem/", {"problem": ""}, follow=True)
    assert "问题：请填写问题说明" in response.content.decode()
    response = client.post(f"{c.get_absolute_url()}problem/", {"problem": "拒绝签约并要求退款"})
    assert response.status_code == 302 and response["Location"] == c.get_absolute_url()
    html = client.get(c.get_absolute_url()).content.decode()
    assert 'id="customer-problem"' in html and "拒绝签约并要求退款" in html
    assert 'id="problem-resolve-form"' not in html and 'id="problem-flag-form"' not in html
    # Another consultant cannot even reach the customer.
    other = login("consultant2").post(f"{c.get_absolute_url()}problem/", {"problem": "x"})
    assert other.status_code == 404


def test_the_manager_resolves_from_the_list_page(login, demo):
    c = flag(customer(name="问题甲"))
    url = f"/projects/{demo['main'].pk}/problem-customers/"
    html = login("supervisor").get(url).content.decode()
    assert f'id="problem-{c.pk}"' in html and "客户要求退还定金并投诉" in html
    assert "李顾问" in html and timezone.localtime(c.problem_at).strftime("%Y-%m-%d %H:%M") in html
    assert "problem/resolve/" not in html  # the supervisor sees, the manager resolves
    phone = c.phone[3:]
    assert f"{phone[:3]}****{phone[-4:]}" in html and phone not in html
    client = login("manager")
    html = client.get(url).content.decode()
    assert f"{c.get_absolute_url()}problem/resolve/" in html
    response = client.post(
        f"{c.get_absolute_url()}problem/resolve/", {"resolution": "", "next": "list"}, follow=True
    )
    assert "处理结果：请填写处理结果" in response.content.decode()
    response = client.post(
        f"{c.get_absolute_url()}problem/resolve/",
        {"resolution": "经理约谈，客户接受", "next": "list"},
    )
    assert response.status_code == 302 and response["Location"] == url
    html = client.get(url).content.decode()
    assert f'id="problem-{c.pk}"' not in html and "经理约谈，客户接受" in html
    page = login("consultant").get(c.get_absolute_url()).content.decode()
    assert 'id="problem-resolved"' in page and "经理约谈，客户接受" in page


def test_supervisor_cannot_resolve_through_the_url(login, demo):
    c = flag(customer())
    response = login("supervisor").post(
        f"{c.get_absolute_url()}problem/resolve/", {"resolution": "x"}
    )
    assert response.status_code == 403
    c.refresh_from_db()
    assert c.problem


@pytest.mark.parametrize("username", ["consultant", "salesadmin", "finance", "planner"])
def test_the_list_page_is_for_supervisors_and_managers(login, demo, username):
    url = f"/projects/{demo['main'].pk}/problem-customers/"
    assert login(username).get(url).status_code == 404


def test_the_list_page_query_count_does_not_grow(login, demo):
    client = login("manager")
    url = f"/projects/{demo['main'].pk}/problem-customers/"
    flag(customer())
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for _n in range(8):
        flag(customer("consultant2"), actor="consultant2")
    with CaptureQueriesContext(connection) as nine:
        html = client.get(url).content.decode()
    assert html.count('id="problem-') >= 9
    assert len(nine) == len(one)


# --- API ----------------------------------------------------------------------------------

API = "/api/v1/problem-customers/"


def test_api_flag_list_and_resolve(api, demo):
    c = customer()
    response = api("consultant").post(
        API, {"customer": c.pk, "problem": "要求更换楼层"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["problem"] == "要求更换楼层" and body["flagged_by"] == "李顾问"
    assert body["problem_at"] and "****" not in body["phone"]
    listed = api("supervisor").get(API, {"project": demo["main"].pk}).json()["results"]
    row = next(r for r in listed if r["id"] == c.pk)
    assert row["owner_name"] == "李顾问" and "****" in row["phone"]
    assert row["flagged_by"] == "李顾问"
    response = api("supervisor").post(f"{API}{c.pk}/resolve/", {"resolution": "x"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    response = api("manager").post(f"{API}{c.pk}/resolve/", {"resolution": ""}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "message": "处理结果：请填写处理结果",
        "fields": {"resolution": ["请填写处理结果"]},
    }
    response = api("manager").post(
        f"{API}{c.pk}/resolve/", {"resolution": "已协调换房"}, format="json"
    )
    assert response.status_code == 200 and response.json()["problem"] == ""
    assert api("manager").get(f"{API}{c.pk}/").status_code == 404


def test_api_errors_and_what_stays_hidden(api, demo):
    c = customer()
    rest = api("consultant2")
    response = rest.post(API, {"customer": c.pk, "problem": "x"}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    rest = api("consultant")
    response = rest.post(API, {"customer": c.pk, "problem": ""}, format="json")
    assert response.status_code == 400 and response.json()["fields"] == {
        "problem": ["请填写问题说明"]
    }
    rest.post(API, {"customer": c.pk, "problem": "投诉"}, format="json")
    response = rest.post(API, {"customer": c.pk, "problem": "再次"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    # The consultant has no 问题客户 list: nothing listed, the resolve URL is a 404.
    assert rest.get(API).json()["results"] == []
    assert rest.post(f"{API}{c.pk}/resolve/", {"resolution": "x"}, format="json").status_code == 404
    assert api("salesadmin").get(f"{API}{c.pk}/").status_code == 404


def test_api_list_query_count_is_flat(api, demo, django_assert_max_num_queries):
    for _n in range(6):
        flag(customer())
    rest = api("manager")
    with django_assert_max_num_queries(6):
        body = rest.get(API, {"project": demo["main"].pk}).json()
    assert body["count"] >= 6 and all(r["flagged_by"] for r in body["results"])
