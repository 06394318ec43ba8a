"""The units API, the sales-control endpoint and floor-price invisibility."""

import pytest

from loupan.inventory.models import Unit, UnitStatus

from .board_data import small_building

pytestmark = pytest.mark.django_db


def test_units_list_filters_and_scope(api, demo):
    project, building, units = small_building()
    client = api("consultant")
    body = client.get("/api/v1/units/", {"project": project.pk, "building": building.pk}).json()
    assert body["count"] == len(units)
    assert all("floor_price" not in row for row in body["results"])
    held = client.get("/api/v1/units/", {"project": project.pk, "status": "held"}).json()
    assert held["count"] == Unit.objects.filter(project=project, status=UnitStatus.HELD).count()
    # The second project's units are invisible to the consultant (not a member).
    other = api("director").get("/api/v1/units/", {"project": demo["second"].pk}).json()
    assert other["count"] == 0
    assert client.get(f"/api/v1/units/{units[0].pk}/").status_code == 200


def test_floor_price_only_for_pricing_roles(api, demo):
    project, building, units = small_building()
    for username in ("consultant", "salesadmin", "finance", "supervisor", "auditor"):
        detail = api(username).get(f"/api/v1/units/{units[0].pk}/")
        assert detail.status_code == 200
        assert "floor_price" not in detail.json(), username
        board = api(username).get(f"/api/v1/projects/{project.pk}/sales-control/").content.decode()
        assert 'floor_price":' not in board and '"900000.00"' not in board
    for username in ("planner", "manager", "director"):
        assert (
            api(username).get(f"/api/v1/units/{units[0].pk}/").json()["floor_price"] == "900000.00"
        )


def test_hold_unhold_release_endpoints(api, demo):
    project, building, units = small_building(release=False)
    admin = api("salesadmin")
    released = admin.post(
        "/api/v1/units/release/", {"project": project.pk, "units": [units[0].pk]}, format="json"
    )
    assert released.status_code == 200 and released.json()[0]["status"] == "available"
    held = admin.post(
        "/api/v1/units/hold/",
        {"project": project.pk, "units": [units[0].pk], "reason": "预留"},
        format="json",
    )
    assert held.json()[0]["status"] == "held"
    again = admin.post(
        "/api/v1/units/hold/",
        {"project": project.pk, "units": [units[0].pk], "reason": "预留"},
        format="json",
    )
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    no_reason = admin.post(
        "/api/v1/units/hold/", {"project": project.pk, "units": [units[1].pk]}, format="json"
    )
    assert no_reason.status_code == 400
    refused = api("consultant").post(
        "/api/v1/units/unhold/", {"project": project.pk, "units": [units[0].pk]}, format="json"
    )
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    other = api("consultant").post(
        "/api/v1/units/hold/",
        {"project": demo["second"].pk, "units": [units[0].pk], "reason": "x"},
        format="json",
    )
    assert other.status_code == 404


def test_sales_control_endpoint_shape(api, demo):
    project = demo["main"]
    body = api("consultant").get(f"/api/v1/projects/{project.pk}/sales-control/").json()
    assert body["floor_price_visible"] is False
    names = [b["name"] for b in body["buildings"]]
    assert "1栋" in names and "地下车库" in names
    first = body["buildings"][0]
    assert first["floors"][0]["floor"] > first["floors"][-1]["floor"]  # top floor first
    total = sum(len(f["units"]) for b in body["buildings"] for f in b["floors"])
    assert total == Unit.objects.filter(project=project).count()
    assert sum(item["count"] for item in body["legend"]) == total
    assert api("service").get(f"/api/v1/projects/{project.pk}/sales-control/").status_code == 403
    assert (
        api("consultant").get(f"/api/v1/projects/{demo['second'].pk}/sales-control/").status_code
        == 404
    )


def test_create_update_and_generate_through_the_api(api, demo):
    project = demo["main"]
    planner = api("planner")
    building = planner.post(
        "/api/v1/buildings/",
        {
            "project": project.pk,
            "name": "11栋",
            "floors_above": 2,
            "stairs": 1,
            "units_per_floor": 1,
        },
        format="json",
    )
    assert building.status_code == 201, building.content
    generated = planner.post(
        f"/api/v1/buildings/{building.json()['id']}/generate/",
        {"positions": [{"gross_area": "88.00", "internal_area": "70.00"}]},
        format="json",
    )
    assert generated.json() == {"created": 2}
    unit = Unit.objects.get(project=project, number="11栋101")
    bad = planner.patch(f"/api/v1/units/{unit.pk}/", {"internal_area": "99.00"}, format="json")
    assert bad.status_code == 400 and "internal_area" in bad.json()["fields"]
    ok = planner.patch(
        f"/api/v1/units/{unit.pk}/", {"view": "湖景", "list_price": "1200000.00"}, format="json"
    )
    assert ok.status_code == 200 and ok.json()["view"] == "湖景"
    status = planner.patch(f"/api/v1/units/{unit.pk}/", {"status": "held"}, format="json")
    unit.refresh_from_db()
    assert (
        status.status_code == 200 and unit.status == UnitStatus.NOT_RELEASED
    )  # status is read-only
    refused = api("consultant").patch(f"/api/v1/units/{unit.pk}/", {"view": "x"}, format="json")
    assert refused.status_code == 403


def test_units_list_query_count_is_flat(api, demo, django_assert_max_num_queries):
    project, building, units = small_building(name="98栋", floors=10, stairs=2, per_floor=4)
    client = api("planner")
    with django_assert_max_num_queries(10):
        response = client.get("/api/v1/units/", {"project": project.pk, "building": building.pk})
    assert response.json()["count"] == 80


def test_floor_price_is_accepted_only_where_the_caller_may_see_it(api, demo):
    """Writing a floor price follows the unit's project (or, on create, the project sent):
    a planner who only edits units on another project cannot set one there."""
    from loupan.accounts.access import clear_cache
    from loupan.accounts.models import Membership, Role, User
    from loupan.inventory import services

    second = demo["second"]
    planner = User.objects.get(username="planner")
    editor = Role.objects.create(
        code="unit_editor",
        name="房源录入",
        permissions=["project.view", "unit.view", "unit.change"],
    )
    Membership.objects.create(user=planner, project=second, role=editor)
    clear_cache(planner)
    building = services.building_create(
        actor=planner, project=second, data={"name": "T9栋", "floors_above": 2}
    )
    client = api("planner")
    created = client.post(
        "/api/v1/units/",
        {
            "project": second.pk,
            "building": building.pk,
            "floor": 1,
            "room": "01",
            "gross_area": "90.00",
            "list_price": "900000.00",
            "floor_price": "800000.00",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert "floor_price" not in created.json()
    unit = Unit.objects.get(pk=created.json()["id"])
    assert unit.floor_price is None
    edited = client.patch(f"/api/v1/units/{unit.pk}/", {"floor_price": "1.00"}, format="json")
    assert edited.status_code == 200 and "floor_price" not in edited.json()
    unit.refresh_from_db()
    assert unit.floor_price is None
    # On the main project, where the planner holds unit.view_floor_price, it is written.
    project, _building, units = small_building(name="T8栋", floors=1, per_floor=1)
    ok = client.patch(f"/api/v1/units/{units[0].pk}/", {"floor_price": "1.00"}, format="json")
    assert ok.status_code == 200 and ok.json()["floor_price"] == "1.00"
