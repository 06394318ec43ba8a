"""A consultant never receives a floor price (底价) in any response: every page, every
API list and detail, every export (issue Inventory)."""

import io

import pytest
from django.test import Client
from openpyxl import load_workbook
from rest_framework.test import APIClient

from loupan.accounts.models import User
from loupan.api_urls import router
from loupan.inventory.models import PriceListItem, Unit
from tests.core.test_offline import _fill, _ui_routes

pytestmark = pytest.mark.django_db

ROLES_WITHOUT = ["consultant", "salesadmin", "supervisor", "finance", "auditor"]


def floor_price_strings(project):
    """The floor prices of the project as they would print, minus any amount that is
    also some list or unit price (which the viewer may see)."""
    floors, visible = set(), set()
    for unit_price, list_price, floor_price in Unit.objects.filter(project=project).values_list(
        "unit_price", "list_price", "floor_price"
    ):
        for value, bucket in ((floor_price, floors), (list_price, visible), (unit_price, visible)):
            if value is not None:
                bucket |= {f"{value:.2f}", f"{value:,.2f}"}
    for item in PriceListItem.objects.filter(price_list__project=project):
        if item.floor_price is not None:
            floors |= {f"{item.floor_price:.2f}", f"{item.floor_price:,.2f}"}
        for value in (item.list_price, item.unit_price, item.old_list_price):
            if value is not None:
                visible |= {f"{value:.2f}", f"{value:,.2f}"}
    return floors - visible


def leaks(text, secrets):
    return sorted(s for s in secrets if s in text)


@pytest.mark.parametrize("username", ROLES_WITHOUT)
def test_no_page_shows_a_floor_price(demo, username):
    secrets = floor_price_strings(demo["main"])
    assert len(secrets) > 100
    client = Client()
    client.force_login(User.objects.get(username=username))
    seen = 0
    for route, _name in _ui_routes():
        url = _fill(route, demo)
        response = client.get(url)
        if response.status_code != 200 or response.streaming:
            continue
        seen += 1
        if response["Content-Type"].startswith("text/"):
            text = response.content.decode()
            assert not leaks(text, secrets), (url, leaks(text, secrets)[:3])
            assert "底价" not in text or "unit.view_floor_price" in text, url
    assert seen >= 10


@pytest.mark.parametrize("username", ROLES_WITHOUT)
def test_no_api_response_carries_a_floor_price(demo, username):
    secrets = floor_price_strings(demo["main"])
    user = User.objects.get(username=username)
    client = APIClient()
    client.force_authenticate(user)
    project = demo["main"]
    urls = [
        f"/api/v1/{prefix}/"
        for prefix, _viewset, _basename in router.registry
        if "(?P" not in prefix
    ]
    urls += [f"/api/v1/projects/{project.pk}/sales-control/"]
    unit = Unit.objects.filter(project=project).first()
    urls += [f"/api/v1/units/{unit.pk}/", f"/api/v1/units/?project={project.pk}&page_size=1000"]
    pl_items = PriceListItem.objects.filter(price_list__project=project).values_list(
        "price_list_id", flat=True
    )
    for pl in set(pl_items):
        urls += [f"/api/v1/price-lists/{pl}/", f"/api/v1/price-lists/{pl}/items/?page_size=1000"]
    checked = 0
    for url in urls:
        response = client.get(url)
        if response.status_code != 200:
            continue
        checked += 1
        text = response.content.decode()
        assert '"floor_price"' not in text, url
        assert not leaks(text, secrets), (url, leaks(text, secrets)[:3])
    assert checked >= 8


def test_exports_leave_out_the_floor_price(demo):
    project = demo["main"]
    client = Client()
    client.force_login(User.objects.get(username="salesadmin"))
    response = client.post(f"/projects/{project.pk}/units/import/export/")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    header = [c for c in next(sheet.iter_rows(values_only=True)) if c]
    assert "底价" not in "".join(header)
    client.force_login(User.objects.get(username="planner"))
    response = client.post(f"/projects/{project.pk}/units/import/export/")
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    assert "底价" in "".join(c for c in next(sheet.iter_rows(values_only=True)) if c)
