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


def test_api_units_package_and_picks(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    settings.LOUPAN_PICK_ADDRESS_INTERVAL_MS = 0
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


def test_a_buyer_picks_on_a_phone_with_the_code(demo, settings):
    from loupan.opening import selectors
    from loupan.opening import services as s

    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    settings.LOUPAN_PICK_ADDRESS_INTERVAL_MS = 0
    live = events()["selecting"]
    entry = next(e for e in live.entries.order_by("position")[:4] if not e.picks.exists())
    code = s.entry_code_reset(actor=user("manager"), entry=entry)
    phone = Client()
    page = phone.get(f"/opening/{live.pk}/")
    assert page.status_code == 200 and 'id="buyer-login"' in page.content.decode()
    wrong = phone.post(f"/opening/{live.pk}/", {"number": entry.number, "code": "x"})
    assert wrong.status_code == 400 and "选房码不正确" in wrong.content.decode()
    signed = phone.post(f"/opening/{live.pk}/", {"number": entry.number, "code": code})
    assert signed.status_code == 302
    html = phone.get(f"/opening/{live.pk}/").content.decode()
    assert "pick-button" in html and 'id="countdown"' in html
    free = next(u for u in selectors.event_units(live) if not u["picked"])
    bad = phone.post(f"/opening/{live.pk}/pick/", {"unit": "abc"})
    assert bad.status_code == 302
    done = phone.post(f"/opening/{live.pk}/pick/", {"unit": free["id"]})
    assert done.status_code == 302 and "/confirmation/" in done["Location"]
    confirmation = phone.get(done["Location"])
    assert confirmation.status_code == 200 and free["number"] in confirmation.content.decode()
    pick = live.picks.get(entry=entry)
    assert pick.via == "phone" and pick.actor is None
    # another phone without the code sees no confirmation
    assert Client().get(done["Location"]).status_code == 404
    # the office prints the same 选房确认书
    office = web_client(user("salesadmin")).get(
        f"/projects/{project().pk}/opening/{live.pk}/picks/{pick.pk}/confirmation/"
    )
    assert office.status_code == 200 and pick.deal.reservation_number in office.content.decode()


def test_finance_takes_and_returns_the_sincerity_deposit_from_the_page(demo):
    from loupan.opening import services as s
    from tests.opening.test_services import buyer, make_event

    event = s.event_open(actor=user("manager"), event=make_event(sincerity_amount="10000"))
    entry, _code = s.entry_register(actor=user("manager"), event=event, customer=buyer(120))
    url = f"/projects/{project().pk}/opening/{event.pk}/"
    finance = web_client(user("finance"))
    html = finance.get(url).content.decode()
    assert "entry-pay" in html
    finance.post(url + f"entries/{entry.pk}/pay/", {"method": "cash"})
    assert s.sincerity_by_entry(event) == {entry.pk: 10000}
    # withdrawn: refunded in full
    s.entry_withdraw(actor=user("manager"), entry=entry)
    finance.post(
        url + f"entries/{entry.pk}/refund/", {"method": "transfer", "bank_reference": "R1"}
    )
    assert s.sincerity_by_entry(event) == {entry.pk: 0}
    # a consultant may do neither
    assert (
        web_client(user("consultant"))
        .post(url + f"entries/{entry.pk}/pay/", {"method": "cash"})
        .status_code
        == 403
    )
