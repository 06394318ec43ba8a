"""Opening day's pages and API on the demo's events (issue 16): the event page shows
the public lottery data and masked names only, the package downloads and verifies on
the verification page (a tampered one is refused), the API's units, package and picks."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from loupan.opening import lottery
from loupan.opening.models import OpeningEvent
from tests.deals.helpers import project, user
from tests.testing import api_client, web_client

pytestmark = pytest.mark.django_db


def events():
    return {e.status: e for e in OpeningEvent.objects.filter(project=project())}


def test_event_pages_and_package(demo):
    live = events()["selecting"]
    client = web_client(user("consultant"))
    page = client.get(f"/projects/{project().pk}/opening/")
    assert page.status_code == 200 and live.name in page.content.decode()
    html = client.get(f"/projects/{project().pk}/opening/{live.pk}/").content.decode()
    assert live.seed_commitment in html and live.package_digest in html
    entry = live.entries.select_related("customer").first()
    assert entry.customer.name not in html  # names masked
    package = client.get(f"/projects/{project().pk}/opening/{live.pk}/package/")
    assert package.status_code == 200
    body = package.content
    assert lottery.verify(json.loads(body))[0]
    # the verification page: anyone, no account
    anonymous = Client()
    ok = anonymous.post("/lottery/verify/", {"package": SimpleUploadedFile("p.json", body)})
    assert ok.status_code == 200 and 'data-ok="1"' in ok.content.decode()
    tampered = json.loads(body)
    tampered["public_value"]["value"] = "000000"
    bad = anonymous.post(
        "/lottery/verify/",
        {"package": SimpleUploadedFile("p.json", json.dumps(tampered).encode())},
    )
    assert bad.status_code == 400 and 'data-ok="0"' in bad.content.decode()
    # another project's member sees nothing
    assert web_client(user("service")).get(f"/projects/{project().pk}/opening/").status_code == 404


def test_api_units_package_and_picks(demo):
    live = events()["selecting"]
    client = api_client(user("consultant"))
    listed = client.get(f"/api/v1/opening-events/?project={project().pk}").json()
    assert {e["id"] for e in listed["results"]} >= {live.pk}
    units = client.get(f"/api/v1/opening-events/{live.pk}/units/").json()
    assert sum(u["picked"] for u in units) == live.picks.count()
    assert "customer" not in json.dumps(units)
    package = client.get(f"/api/v1/opening-events/{live.pk}/package/").json()
    assert lottery.verify(package)[0]
    free = next(u for u in units if not u["picked"])
    taken = next(u for u in units if u["picked"])
    entries = list(live.entries.order_by("position"))
    waiting = next(e for e in entries[:4] if not e.picks.exists())
    refused = client.post(
        f"/api/v1/opening-events/{live.pk}/picks/",
        {"entry": waiting.number, "unit": taken["id"]},
        format="json",
    )
    assert refused.status_code == 409 and refused.json()["code"] == "unit_taken"
    later = client.post(
        f"/api/v1/opening-events/{live.pk}/picks/",
        {"entry": entries[-1].number, "unit": free["id"]},
        format="json",
    )
    assert later.status_code == 409 and later.json()["code"] == "not_your_turn"
    done = client.post(
        f"/api/v1/opening-events/{live.pk}/picks/",
        {"entry": waiting.number, "unit": free["id"]},
        format="json",
    )
    assert done.status_code == 201, done.json()
    assert done.json()["unit"] == free["id"]
    nobody = client.post(
        f"/api/v1/opening-events/{live.pk}/picks/",
        {"entry": "9999", "unit": free["id"]},
        format="json",
    )
    assert nobody.status_code == 400 and "entry" in nobody.json()["fields"]
    finance = api_client(user("finance")).post(
        f"/api/v1/opening-events/{live.pk}/picks/",
        {"entry": waiting.number, "unit": free["id"]},
        format="json",
    )
    assert finance.status_code == 403
    assert client.get("/api/v1/opening-events/?project=abc").json()["code"] == "invalid"
