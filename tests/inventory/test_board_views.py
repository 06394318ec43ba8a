"""The board, unit pages and bulk actions through the real URLs, as the roles that use them."""

import datetime
import re

import pytest
from django.utils import timezone

from loupan.accounts.models import User
from loupan.inventory import services
from loupan.inventory.models import Unit, UnitStatus

from .board_data import small_building

pytestmark = pytest.mark.django_db


def test_board_draws_every_unit_coloured_by_status(login, demo):
    project = demo["main"]
    client = login("consultant")
    response = client.get(f"/projects/{project.pk}/board/")
    assert response.status_code == 200
    html = response.content.decode()
    units = Unit.objects.filter(project=project)
    assert html.count('class="cell status-') == units.count()
    held = units.filter(status=UnitStatus.HELD).first()
    assert re.search(rf'id="unit-{held.pk}" class="cell status-held', html)
    assert "内部资料" in html  # never for customers
    assert "底价" not in html


def test_board_filters_dim_the_other_units(login, demo):
    project = demo["main"]
    client = login("salesadmin")
    response = client.get(f"/projects/{project.pk}/board/", {"status": "held"})
    html = response.content.decode()
    held = Unit.objects.filter(project=project, status=UnitStatus.HELD).count()
    assert html.count('class="cell status-held') == held
    assert html.count(" dim") == Unit.objects.filter(project=project).count() - held


def test_board_per_building_and_statistics(login, demo):
    project = demo["main"]
    building = project.buildings.get(name="5栋")
    response = login("manager").get(f"/projects/{project.pk}/board/", {"building": building.pk})
    html = response.content.decode()
    assert html.count('class="cell status-') == building.units.count()
    assert 'id="board-stats"' in html and "面积段" in html and "楼层段" in html and "总价段" in html
    assert "保留比例" in html


def test_board_query_count_does_not_grow_with_units(login, demo, django_assert_max_num_queries):
    project = demo["main"]
    client = login("salesadmin")
    client.get(f"/projects/{project.pk}/board/")  # warm caches (session, grants)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        client.get(f"/projects/{project.pk}/board/")
    small_building(name="99栋", floors=30, stairs=2, per_floor=4)
    with CaptureQueriesContext(connection) as after:
        response = client.get(f"/projects/{project.pk}/board/")
    assert response.status_code == 200
    assert len(after.captured_queries) == len(before.captured_queries)
    assert len(after.captured_queries) <= 15


def test_board_is_confidential(client, login, demo):
    project = demo["main"]
    assert client.get(f"/projects/{project.pk}/board/").status_code == 302  # login first
    assert login("service").get(f"/projects/{project.pk}/board/").status_code == 404
    assert login("consultant").get(f"/projects/{demo['second'].pk}/board/").status_code == 404


def test_board_changes_returns_only_changed_cells_and_the_legend(login, demo):
    project, building, units = small_building()
    client = login("salesadmin")
    since = timezone.now()
    services.units_hold(
        actor=User.objects.get(username="salesadmin"),
        project=project,
        unit_ids=[units[0].pk],
        reason="测试",
    )
    response = client.get(f"/projects/{project.pk}/board/changes/", {"since": since.isoformat()})
    html = response.content.decode()
    assert f'id="unit-{units[0].pk}" class="cell status-held' in html
    assert 'hx-swap-oob="true"' in html and 'id="board-legend"' in html
    assert f'id="unit-{units[1].pk}"' not in html
    later = timezone.now() + datetime.timedelta(seconds=1)
    quiet = client.get(
        f"/projects/{project.pk}/board/changes/", {"since": later.isoformat()}
    ).content.decode()
    assert "unit-" not in quiet and 'id="board-poll"' in quiet


@pytest.mark.parametrize("path", ["board/", "board/changes/"])
@pytest.mark.parametrize("value", ["abc", "1.5", "5栋", "1;drop", "9" * 30])
def test_a_malformed_building_filter_is_a_bad_request_not_a_server_error(login, demo, path, value):
    project = demo["main"]
    client = login("salesadmin")
    response = client.get(f"/projects/{project.pk}/{path}", {"building": value})
    assert response.status_code == 400
    # still confidential: the guard answers before the filter is read
    assert (
        login("service").get(f"/projects/{project.pk}/{path}", {"building": value}).status_code
        == 404
    )


def test_the_building_filter_of_the_board_and_its_feed(login, demo):
    project = demo["main"]
    other = demo["second"].buildings.first()
    building = project.buildings.get(name="5栋")
    client = login("salesadmin")
    board = f"/projects/{project.pk}/board/"
    assert client.get(board, {"building": building.pk}).status_code == 200
    assert client.get(board, {"building": ""}).status_code == 200  # no filter
    assert client.get(board, {"building": 999999}).status_code == 404
    if other is not None:  # another project's building is not found here
        assert client.get(board, {"building": other.pk}).status_code == 404
    changes = f"/projects/{project.pk}/board/changes/"
    assert client.get(changes, {"building": building.pk}).status_code == 200
    assert client.get(changes, {"building": 999999}).status_code == 200  # nothing changed


def test_an_impossible_cursor_restarts_the_feed(login, demo):
    project = demo["main"]
    url = f"/projects/{project.pk}/board/changes/"
    for since in ("2024-13-45T00:00:00", "yesterday", ""):
        response = login("salesadmin").get(url, {"since": since})
        assert response.status_code == 200
        assert 'id="board-poll"' in response.content.decode()


def test_card_shows_floor_price_only_to_pricing_roles(login, demo):
    project, building, units = small_building()
    url = f"/projects/{project.pk}/units/{units[0].pk}/card/"
    assert "floor-price" not in login("consultant").get(url).content.decode()
    assert "900,000.00" in login("planner").get(url).content.decode()


def test_hold_from_the_card_and_unhold(login, demo):
    project, building, units = small_building()
    client = login("salesadmin")
    response = client.post(
        f"/projects/{project.pk}/units/{units[0].pk}/hold/",
        {"reason": "客户预约"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and "销控保留" in response.content.decode()
    units[0].refresh_from_db()
    assert units[0].status == UnitStatus.HELD
    client.post(f"/projects/{project.pk}/units/{units[0].pk}/unhold/")
    units[0].refresh_from_db()
    assert units[0].status == UnitStatus.AVAILABLE


def test_consultant_cannot_hold_from_the_card(login, demo):
    project, building, units = small_building()
    response = login("consultant").post(
        f"/projects/{project.pk}/units/{units[0].pk}/hold/", {"reason": "x"}
    )
    assert response.status_code == 403
    units[0].refresh_from_db()
    assert units[0].status == UnitStatus.AVAILABLE


def test_bulk_hold_release_plan_and_edit_from_the_unit_list(login, demo):
    project, building, units = small_building()
    client = login("salesadmin")
    ids = [u.pk for u in units[:3]]
    client.post(
        f"/projects/{project.pk}/units/bulk/",
        {"action": "hold", "units": ids, "reason": "二次开盘"},
    )
    assert set(Unit.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        UnitStatus.HELD
    }
    when = (timezone.localtime() + datetime.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    client.post(
        f"/projects/{project.pk}/units/bulk/",
        {"action": "plan", "units": ids, "name": "周末加推", "release_at": when},
    )
    page = client.get(f"/projects/{project.pk}/release-plans/").content.decode()
    assert "周末加推" in page and units[0].number in page
    # The sales admin may not edit unit data; planning may.
    response = client.post(
        f"/projects/{project.pk}/units/bulk/",
        {"action": "edit", "units": ids, "field": "view", "value": "湖景"},
    )
    assert response.status_code == 403
    login("planner").post(
        f"/projects/{project.pk}/units/bulk/",
        {"action": "edit", "units": ids, "field": "orientation", "value": "南北通透"},
    )
    assert set(Unit.objects.filter(pk__in=ids).values_list("orientation", flat=True)) == {"SN"}


def test_unit_list_and_detail(login, demo):
    project, building, units = small_building()
    client = login("consultant")
    listing = client.get(
        f"/projects/{project.pk}/units/", {"building": building.pk}
    ).content.decode()
    assert all(u.number in listing for u in units) and "底价" not in listing
    services.unit_update(
        actor=User.objects.get(username="planner"), unit=units[0], data={"list_price": "1050000.00"}
    )
    detail = client.get(units[0].get_absolute_url()).content.decode()
    assert (
        'id="price-history"' in detail
        and "1,050,000.00" in detail
        and 'id="status-history"' in detail
    )
    assert "900,000.00" not in detail
    assert "900,000.00" in login("manager").get(units[0].get_absolute_url()).content.decode()


def test_generate_page_creates_units(login, demo):
    project = demo["main"]
    client = login("planner")
    client.post(
        f"/projects/{project.pk}/buildings/new/",
        {
            "name": "10栋",
            "floors_above": 3,
            "floors_below": 0,
            "stairs": 1,
            "units_per_floor": 2,
            "has_elevator": "on",
            "sort_order": 10,
        },
    )
    building = project.buildings.get(name="10栋")
    response = client.post(
        f"/projects/{project.pk}/buildings/{building.pk}/generate/",
        {
            "floor_from": 1,
            "floor_to": 3,
            "pos-TOTAL_FORMS": 2,
            "pos-INITIAL_FORMS": 0,
            "pos-MIN_NUM_FORMS": 1,
            "pos-MAX_NUM_FORMS": 1000,
            "pos-0-gross_area": "95.5",
            "pos-0-use": "residential",
            "pos-1-gross_area": "120",
            "pos-1-internal_area": "130",
            "pos-1-use": "residential",
        },
    )
    # Internal area larger than gross: refused with the reason, nothing created.
    assert response.status_code == 200 and "套内面积不能大于建筑面积" in response.content.decode()
    assert building.units.count() == 0
    client.post(
        f"/projects/{project.pk}/buildings/{building.pk}/generate/",
        {
            "floor_from": 1,
            "floor_to": 3,
            "pos-TOTAL_FORMS": 2,
            "pos-INITIAL_FORMS": 0,
            "pos-MIN_NUM_FORMS": 1,
            "pos-MAX_NUM_FORMS": 1000,
            "pos-0-gross_area": "95.5",
            "pos-0-use": "residential",
            "pos-1-gross_area": "120",
            "pos-1-internal_area": "100",
            "pos-1-use": "residential",
        },
    )
    assert sorted(building.units.values_list("number", flat=True)) == [
        "10栋101",
        "10栋102",
        "10栋201",
        "10栋202",
        "10栋301",
        "10栋302",
    ]
    assert (
        login("consultant")
        .get(f"/projects/{project.pk}/buildings/{building.pk}/generate/")
        .status_code
        == 403
    )
