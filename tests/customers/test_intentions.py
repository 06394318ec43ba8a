"""Intended units 意向房源 and 撞车 (seed 002 二.2(2)): the rules with their error codes,
who sees which conflict, masking, the audit trail, the pages and the API through their
real URLs, and flat query counts (issue Customers)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loupan.accounts.models import Membership, Role, User
from loupan.audit.models import AuditEntry
from loupan.core.errors import DomainError
from loupan.customers import intentions, services
from loupan.customers.models import Customer, IntendedUnit
from loupan.inventory.models import Project, Unit, UnitStatus

pytestmark = pytest.mark.django_db

_phones = iter(range(1, 10_000))


def user(name):
    return User.objects.get(username=name)


def customer(username="consultant", grade="A", name=None, project=None):
    n = next(_phones)
    return services.customer_register(
        actor=user(username),
        project=project or Project.objects.get(code="CHW"),
        name=name or f"意向{n}",
        phone=f"1390001{n:04d}",
        wanted_layout="other",
        wanted_layout_other="B1 三室",
        data={"grade": grade},
    )


def want(c, unit, actor=None):
    return intentions.intended_unit_add(
        actor=actor or User.objects.get(pk=c.owner_id), customer=c, unit=unit
    )


@pytest.fixture(autouse=True)
def _without_the_demo_intentions(demo):
    """The demo office has a 撞车 of its own; these tests count theirs alone."""
    IntendedUnit.objects.all().delete()


@pytest.fixture
def units(demo):
    found = list(
        Unit.objects.filter(
            project=demo["main"], status=UnitStatus.AVAILABLE, sellable=True
        ).order_by("pk")[:8]
    )
    assert len(found) == 8
    return found


@pytest.fixture
def consultant3(demo):
    """A third consultant of the main project."""
    u = User.objects.create_user(
        username="consultant3", password="Consult3x2027", real_name="何顾问"
    )
    User.objects.filter(pk=u.pk).update(must_change_password=False)
    Membership.objects.create(
        user=u, project=demo["main"], role=Role.objects.get(code="consultant")
    )
    return u


@pytest.fixture
def other_unit(demo):
    """An available unit of the second project (the demo builds none there)."""
    from decimal import Decimal

    from loupan.inventory.models import Building

    building = Building.objects.create(project=demo["second"], name="1栋", floors_above=1)
    return Unit.objects.create(
        project=demo["second"],
        building=building,
        floor=1,
        room="01",
        number="1栋1单元101",
        gross_area=Decimal("89.50"),
        status=UnitStatus.AVAILABLE,
    )


def refused(exc_info, code, field):
    assert exc_info.value.code == code, exc_info.value.as_dict()
    assert field in exc_info.value.fields, exc_info.value.as_dict()
    return exc_info.value


# --- the rules ---------------------------------------------------------------------------


@pytest.mark.parametrize("grade", ["A", "B"])
def test_owner_records_a_wanted_unit_of_an_a_or_b_customer_and_it_is_audited(units, grade):
    c = customer(grade=grade)
    intended = want(c, units[0])
    assert IntendedUnit.objects.filter(customer=c, unit=units[0]).exists()
    entry = AuditEntry.objects.get(
        object_type="customers.intendedunit", object_id=str(intended.pk), action="create"
    )
    assert entry.project_id == c.project_id and entry.actor == user("consultant")
    assert entry.extra == {"customer": c.pk, "unit": units[0].number}


@pytest.mark.parametrize("grade", ["C", "D"])
def test_c_and_d_customers_are_refused_naming_the_grade(units, grade):
    c = customer(grade=grade)
    with pytest.raises(DomainError) as exc:
        want(c, units[0])
    error = refused(exc, "invalid", "grade")
    assert error.message.startswith("等级：") and f"{grade} 级" in error.message
    assert not IntendedUnit.objects.filter(customer=c).exists()


def test_a_unit_of_another_project_is_refused(units, other_unit):
    other = other_unit
    with pytest.raises(DomainError) as exc:
        want(customer(), other)
    error = refused(exc, "invalid", "unit")
    assert error.message == f"房间：{other.number} 不属于本项目"


@pytest.mark.parametrize(
    "status", [UnitStatus.SUBSCRIBED, UnitStatus.CONTRACTED, UnitStatus.DELIVERED]
)
def test_a_sold_unit_is_refused(units, status):
    Unit.objects.filter(pk=units[0].pk).update(status=status)
    units[0].refresh_from_db()
    with pytest.raises(DomainError) as exc:
        want(customer(), units[0])
    error = refused(exc, "invalid", "unit")
    assert error.message.startswith(f"房间：{units[0].number} 已{UnitStatus(status).label}")


def test_a_unit_not_for_sale_is_refused(units):
    Unit.objects.filter(pk=units[0].pk).update(sellable=False, unsellable_reason="抵债")
    units[0].refresh_from_db()
    with pytest.raises(DomainError) as exc:
        want(customer(), units[0])
    assert "不可售" in refused(exc, "invalid", "unit").message


@pytest.mark.parametrize("status", [UnitStatus.NOT_RELEASED, UnitStatus.HELD, UnitStatus.RESERVED])
def test_units_not_yet_sold_can_be_wanted(units, status):
    Unit.objects.filter(pk=units[0].pk).update(status=status)
    units[0].refresh_from_db()
    assert want(customer(), units[0]).pk


def test_a_duplicate_is_a_conflict(units):
    c = customer()
    want(c, units[0])
    with pytest.raises(DomainError) as exc:
        want(c, units[0])
    error = refused(exc, "conflict", "unit")
    assert error.status == 409 and IntendedUnit.objects.filter(customer=c).count() == 1


@pytest.mark.parametrize("actor", ["consultant2", "salesadmin", "finance"])
def test_only_the_owner_or_a_supervisor_records_and_removes(units, actor):
    c = customer()
    with pytest.raises(DomainError) as exc:
        want(c, units[0], actor=user(actor))
    assert exc.value.code == "permission_denied"
    intended = want(c, units[1], actor=user("supervisor"))
    with pytest.raises(DomainError) as exc:
        intentions.intended_unit_remove(actor=user(actor), intended=intended)
    assert exc.value.code == "permission_denied"
    assert IntendedUnit.objects.filter(pk=intended.pk).exists()


def test_the_permission_is_checked_before_the_rules(units):
    c = customer(grade="D")
    with pytest.raises(DomainError) as exc:
        want(c, units[0], actor=user("consultant2"))
    assert exc.value.code == "permission_denied"


def test_owner_removes_and_the_removal_is_audited(units):
    c = customer()
    intended = want(c, units[0])
    pk = intended.pk
    intentions.intended_unit_remove(actor=user("consultant"), intended=intended)
    assert not IntendedUnit.objects.filter(pk=pk).exists()
    entry = AuditEntry.objects.get(
        object_type="customers.intendedunit", object_id=str(pk), action="delete"
    )
    assert entry.extra["unit"] == units[0].number and entry.project_id == c.project_id
    with pytest.raises(DomainError) as exc:
        intentions.intended_unit_remove(actor=user("consultant"), intended=intended)
    assert exc.value.code == "conflict"


# --- 撞车 ----------------------------------------------------------------------------------


@pytest.fixture
def clash(demo, units, consultant3):
    """consultant's ``mine`` and consultant2's ``theirs`` want units[0] (a 撞车);
    two customers of consultant want units[1] (no 撞车: same consultant); consultant2's
    and consultant3's customers want units[2] (a 撞车 without consultant); consultant3's
    ``lone`` alone wants units[3]."""
    mine = customer("consultant", name="甲客户")
    mine2 = customer("consultant", grade="B", name="甲二客户")
    theirs = customer("consultant2", name="乙客户")
    third = customer("consultant3", name="丙客户")
    lone = customer("consultant3", name="丁客户")
    want(mine, units[0])
    want(theirs, units[0])
    want(mine, units[1])
    want(mine2, units[1])
    want(theirs, units[2])
    want(third, units[2])
    want(lone, units[3])
    return {
        "mine": mine,
        "mine2": mine2,
        "theirs": theirs,
        "third": third,
        "lone": lone,
        "units": units,
        "project": demo["main"],
    }


def conflicts_of(username, clash):
    """The conflicts on this test's units (the demo office has a 撞车 of its own)."""
    ours = {u.pk for u in clash["units"]}
    found = intentions.conflict_list(user=user(username), project=clash["project"])
    return {c.unit.pk: c for c in found if c.unit.pk in ours}


@pytest.mark.parametrize("username", ["salesadmin", "supervisor", "manager", "director"])
def test_the_office_sees_every_conflict_with_masked_numbers(clash, username):
    units = clash["units"]
    found = conflicts_of(username, clash)
    assert set(found) == {units[0].pk, units[2].pk}
    conflict = found[units[0].pk]
    assert {u.username for u in conflict.consultants} == {"consultant", "consultant2"}
    for side in conflict.sides:
        assert side.visible
        phone = side.customer.phone[3:]
        assert side.contact["phone"] == f"{phone[:3]}****{phone[-4:]}"


def test_a_consultant_sees_only_conflicts_of_their_own_customers(clash):
    units = clash["units"]
    found = conflicts_of("consultant", clash)
    assert set(found) == {units[0].pk}
    sides = {s.customer.name: s for s in found[units[0].pk].sides}
    assert sides["甲客户"].visible and sides["甲客户"].contact["phone"].endswith(
        clash["mine"].phone[-4:]
    )
    assert "****" not in sides["甲客户"].contact["phone"]
    other = sides["乙客户"]
    assert not other.visible and other.contact is None
    assert other.customer.owner.real_name == "周顾问"
    assert set(conflicts_of("consultant2", clash)) == {units[0].pk, units[2].pk}
    assert set(conflicts_of("consultant3", clash)) == {units[2].pk}


def test_a_consultant_without_a_conflict_sees_nothing(clash, demo):
    IntendedUnit.objects.filter(customer=clash["third"]).delete()
    assert conflicts_of("consultant3", clash) == {}
    # Roles without any customer permission see nothing either.
    assert conflicts_of("planner", clash) == {}


def test_conflict_since_is_when_the_second_consultant_came(clash):
    units = clash["units"]
    first = IntendedUnit.objects.get(customer=clash["mine"], unit=units[0])
    second = IntendedUnit.objects.get(customer=clash["theirs"], unit=units[0])
    early = timezone.now() - datetime.timedelta(days=5)
    IntendedUnit.objects.filter(pk=first.pk).update(created_at=early)
    IntendedUnit.objects.filter(pk=second.pk).update(created_at=early + datetime.timedelta(days=2))
    conflict = conflicts_of("salesadmin", clash)[units[0].pk]
    assert conflict.since == early + datetime.timedelta(days=2)


def test_a_downgraded_customer_a_sold_unit_or_the_pool_ends_the_conflict(clash):
    units = clash["units"]
    services.customer_set_grade(actor=user("consultant2"), customer=clash["theirs"], grade="C")
    assert units[0].pk not in conflicts_of("salesadmin", clash)
    assert units[2].pk not in conflicts_of("salesadmin", clash)
    services.customer_set_grade(actor=user("consultant2"), customer=clash["theirs"], grade="B")
    assert units[0].pk in conflicts_of("salesadmin", clash)
    Unit.objects.filter(pk=units[0].pk).update(status=UnitStatus.SUBSCRIBED)
    assert units[0].pk not in conflicts_of("salesadmin", clash)
    Customer.objects.filter(pk=clash["third"].pk).update(owner=None, in_pool=True)
    assert conflicts_of("salesadmin", clash) == {}


def test_customer_page_data_shows_rivals_by_name_and_owner(clash):
    data = intentions.customer_intentions(user=user("consultant"), customer=clash["mine"])
    rows = {r.intended.unit_id: r for r in data["rows"]}
    units = clash["units"]
    assert data["can_edit"] and data["conflict_count"] == 1
    assert [s.customer.name for s in rows[units[0].pk].rivals] == ["乙客户"]
    assert not rows[units[0].pk].rivals[0].visible
    assert rows[units[1].pk].rivals == []  # the same consultant's two customers
    assert units[0].number in data["units"]
    office = intentions.customer_intentions(user=user("salesadmin"), customer=clash["mine"])
    assert not office["can_edit"] and office["units"] == []
    assert office["rows"][0].rivals[0].visible


# --- pages --------------------------------------------------------------------------------


def test_customer_page_records_removes_and_shows_the_conflict(login, clash):
    client = login("consultant")
    mine, units = clash["mine"], clash["units"]
    html = client.get(mine.get_absolute_url()).content.decode()
    assert 'id="intended-units"' in html and 'id="intended-unit-form"' in html
    assert 'id="conflict-badge"' in html and "乙客户" in html and "周顾问" in html
    assert clash["theirs"].phone[-4:] not in html.split('id="intended-units"')[1]
    assert clash["theirs"].get_absolute_url() not in html
    url = f"{mine.get_absolute_url()}intended-units/"
    response = client.post(url, {"unit": units[4].number})
    assert response.status_code == 302 and response["Location"] == mine.get_absolute_url()
    assert IntendedUnit.objects.filter(customer=mine, unit=units[4]).exists()
    # Wanting a unit that another consultant's customer wants warns at once.
    response = client.post(url, {"unit": units[2].number}, follow=True)
    assert f"撞车：{units[2].number} 也是 何顾问、周顾问 的客户的意向房源" in (
        response.content.decode()
    )
    response = client.post(url, {"unit": units[4].number}, follow=True)
    assert "已是该客户的意向房源" in response.content.decode()
    response = client.post(url, {"unit": "不存在的房间"}, follow=True)
    assert "本项目没有房间" in response.content.decode()
    client.post(f"{url}{units[4].pk}/remove/")
    assert not IntendedUnit.objects.filter(customer=mine, unit=units[4]).exists()


def test_customer_page_refuses_a_c_customer_in_chinese(login, units):
    c = customer(grade="C")
    client = login("consultant")
    html = client.get(c.get_absolute_url()).content.decode()
    assert 'id="intended-unit-form"' not in html and "只有 A、B 级客户" in html
    response = client.post(
        f"{c.get_absolute_url()}intended-units/", {"unit": units[0].number}, follow=True
    )
    assert "等级：只有 A、B 级客户可以登记意向房源" in response.content.decode()
    assert not IntendedUnit.objects.filter(customer=c).exists()


def test_others_cannot_post_on_the_customer_page(login, clash):
    url = f"{clash['mine'].get_absolute_url()}intended-units/"
    assert login("consultant2").post(url, {"unit": clash["units"][5].number}).status_code == 404
    assert login("salesadmin").post(url, {"unit": clash["units"][5].number}).status_code == 403
    assert not IntendedUnit.objects.filter(unit=clash["units"][5]).exists()


def test_conflict_page_per_role(login, clash):
    url = f"/projects/{clash['project'].pk}/conflicts/"
    units = clash["units"]
    html = login("consultant").get(url).content.decode()
    assert f'id="conflict-{units[0].pk}"' in html and f'id="conflict-{units[2].pk}"' not in html
    assert "甲客户" in html and "乙客户" in html and "周顾问" in html and "李顾问" in html
    mine_phone = clash["mine"].phone[3:]
    assert mine_phone in html  # the owner's own customer, unmasked
    theirs = clash["theirs"].phone[3:]
    assert theirs[-4:] not in html and clash["theirs"].get_absolute_url() not in html
    html = login("consultant3").get(url).content.decode()
    assert f'id="conflict-{units[2].pk}"' in html and "甲客户" not in html
    html = login("salesadmin").get(url).content.decode()
    assert f'id="conflict-{units[0].pk}"' in html and f'id="conflict-{units[2].pk}"' in html
    assert f"{theirs[:3]}****{theirs[-4:]}" in html and theirs not in html
    assert login("planner").get(url).status_code == 404


def test_customer_list_links_to_the_conflicts(login, demo):
    html = login("consultant").get(f"/projects/{demo['main'].pk}/customers/").content.decode()
    assert 'id="conflict-link"' in html and 'id="problem-link"' not in html
    html = login("supervisor").get(f"/projects/{demo['main'].pk}/customers/").content.decode()
    assert 'id="conflict-link"' in html and 'id="problem-link"' in html


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("username", ["salesadmin", "consultant"])
def test_conflict_page_query_count_does_not_grow(login, clash, username):
    client = login(username)
    url = f"/projects/{clash['project'].pk}/conflicts/"
    client.get(url)
    before = _count(client, url)
    units = Unit.objects.filter(
        project=clash["project"], status=UnitStatus.AVAILABLE, sellable=True
    ).order_by("-pk")[:12]
    for unit in units:
        want(clash["mine"], unit)
        want(customer("consultant2"), unit)
    assert len(intentions.conflict_list(user=user(username), project=clash["project"])) >= 13
    assert _count(client, url) == before


# --- API ----------------------------------------------------------------------------------

API = "/api/v1/intended-units/"


def test_api_records_lists_and_removes(api, clash):
    rest = api("consultant")
    mine, units = clash["mine"], clash["units"]
    response = rest.post(API, {"customer": mine.pk, "unit": units[5].pk}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["unit_number"] == units[5].number and body["rivals"] == 0
    listed = rest.get(API, {"customer": mine.pk}).json()["results"]
    by_unit = {row["unit"]: row for row in listed}
    assert by_unit[units[0].pk]["rivals"] == 1 and by_unit[units[1].pk]["rivals"] == 0
    assert rest.delete(f"{API}{body['id']}/").status_code == 204
    assert not IntendedUnit.objects.filter(pk=body["id"]).exists()


def test_api_errors_come_in_the_one_shape(api, demo, clash):
    rest = api("consultant")
    units = clash["units"]
    c = customer(grade="D")
    response = rest.post(API, {"customer": c.pk, "unit": units[5].pk}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "grade" in body["fields"]
    assert body["message"].startswith("等级：")
    response = rest.post(API, {"customer": clash["mine"].pk, "unit": units[0].pk}, format="json")
    assert response.status_code == 409 and response.json()["fields"] == {"unit": ["已登记"]}
    response = rest.post(API, {"customer": clash["mine"].pk}, format="json")
    assert response.status_code == 400 and "unit" in response.json()["fields"]


def test_api_hides_what_the_caller_may_not_see(api, demo, clash, other_unit):
    units = clash["units"]
    # Another consultant's customer: 404, and no row is listed.
    rest = api("consultant2")
    response = rest.post(API, {"customer": clash["mine"].pk, "unit": units[5].pk}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    mine_row = IntendedUnit.objects.filter(customer=clash["mine"]).first()
    assert rest.delete(f"{API}{mine_row.pk}/").status_code == 404
    assert rest.get(f"{API}{mine_row.pk}/").status_code == 404
    listed = rest.get(API, {"project": demo["main"].pk}).json()["results"]
    assert {row["customer"] for row in listed} <= {clash["theirs"].pk}
    # A unit of a project the caller does not belong to: 404.
    rest = api("consultant")
    response = rest.post(API, {"customer": clash["mine"].pk, "unit": other_unit.pk}, format="json")
    assert response.status_code == 404
    # A unit of the caller's other project is refused by the rule.
    rest = api("director")
    response = rest.post(API, {"customer": clash["mine"].pk, "unit": other_unit.pk}, format="json")
    assert response.status_code == 400 and response.json()["fields"] == {"unit": ["不属于本项目"]}
    # The sales admin sees the rows but records nothing.
    rest = api("salesadmin")
    assert rest.get(f"{API}{mine_row.pk}/").status_code == 200
    response = rest.post(API, {"customer": clash["mine"].pk, "unit": units[5].pk}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert rest.delete(f"{API}{mine_row.pk}/").status_code == 403


CONFLICTS = "/api/v1/unit-conflicts/"


def test_api_conflicts_per_role(api, demo, clash):
    units = clash["units"]
    project = demo["main"].pk
    body = api("consultant").get(CONFLICTS, {"project": project}).json()
    assert [c["unit"]["id"] for c in body] == [units[0].pk]
    customers = {c["name"]: c for c in body[0]["customers"]}
    assert customers["甲客户"]["id"] == clash["mine"].pk
    assert "****" not in customers["甲客户"]["phone"]
    other = customers["乙客户"]
    assert other["id"] is None and other["phone"] is None and other["grade"] is None
    assert other["owner"]["name"] == "周顾问"
    assert {c["name"] for c in body[0]["consultants"]} == {"李顾问", "周顾问"}
    body = api("salesadmin").get(CONFLICTS, {"project": project}).json()
    assert {c["unit"]["id"] for c in body} == {units[0].pk, units[2].pk}
    assert all("****" in c["phone"] for conflict in body for c in conflict["customers"])
    body = api("consultant3").get(CONFLICTS, {"project": project}).json()
    assert [c["unit"]["id"] for c in body] == [units[2].pk]


def test_api_conflicts_needs_a_visible_project(api, demo, clash):
    response = api("consultant").get(CONFLICTS)
    assert response.status_code == 400 and response.json()["fields"] == {"project": ["请指定项目"]}
    # consultant holds no role on the second project; the planner no customer permission.
    assert api("consultant").get(CONFLICTS, {"project": demo["second"].pk}).status_code == 404
    assert api("planner").get(CONFLICTS, {"project": demo["main"].pk}).status_code == 404


def test_api_conflicts_query_count_is_flat(api, demo, clash, django_assert_max_num_queries):
    rest = api("salesadmin")
    for unit in Unit.objects.filter(
        project=demo["main"], status=UnitStatus.AVAILABLE, sellable=True
    ).order_by("-pk")[:10]:
        want(customer("consultant"), unit)
        want(customer("consultant2"), unit)
    with django_assert_max_num_queries(6):
        body = rest.get(CONFLICTS, {"project": demo["main"].pk}).json()
    assert len(body) == 12


def test_api_intended_units_query_count_is_flat(api, demo, clash, django_assert_max_num_queries):
    rest = api("salesadmin")
    with django_assert_max_num_queries(5):
        response = rest.get(API, {"project": demo["main"].pk})
    assert response.json()["count"] == 7
