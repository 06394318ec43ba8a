"""The office's steps of an opening event in the API (``/api/v1/opening-events/{id}/…``):
the same services as the event's page, ``opening.manage`` to act, a 404 outside the
project, refusals in the one error shape."""

import datetime

import pytest
from django.utils import timezone

from loupan.opening import lottery
from loupan.opening.models import Entry, EventStatus, OpeningEvent
from tests.deals.helpers import user
from tests.opening.test_services import buyer, make_event
from tests.testing import api_client

pytestmark = pytest.mark.django_db


def shape(response, status, code):
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"code", "message", "fields"} and body["code"] == code, body
    return body


def test_the_office_runs_an_event_through_the_api(demo):
    event = make_event()
    base = f"/api/v1/opening-events/{event.pk}/"
    api = api_client(user("manager"))
    shape(api.post(base + "close/"), 409, "event_status")
    opened = api.post(base + "open/")
    assert opened.status_code == 200 and opened.json()["status"] == EventStatus.REGISTERING
    people = [buyer(n) for n in (500, 501, 502)]
    numbers = []
    for i, person in enumerate(people):
        done = api.post(
            base + "entries/", {"customer": person.pk, "first_home": i == 0}, format="json"
        )
        assert done.status_code == 201, done.json()
        body = done.json()
        assert len(body["code"]) == 8 and body["status"] == "active"
        numbers.append(body["number"])
    shape(
        api.post(base + "entries/", {"customer": people[0].pk}, format="json"), 409, "entry_exists"
    )
    body = shape(api.post(base + "entries/", {"customer": "x"}, format="json"), 400, "invalid")
    assert "customer" in body["fields"]
    for number in numbers[:2]:
        qualified = api.post(base + "entries/qualify/", {"entry": number}, format="json")
        assert qualified.status_code == 200 and qualified.json()["qualified"] is True
    withdrawn = api.post(base + "entries/withdraw/", {"entry": numbers[2]}, format="json")
    assert withdrawn.json()["status"] == "withdrawn"
    shape(api.post(base + "entries/qualify/", {"entry": "9999"}, format="json"), 400, "invalid")
    listed = api.get(base + "entries/").json()
    assert [e["number"] for e in listed] == numbers
    assert all(p.name not in str(listed) for p in people)
    assert api.post(base + "close/").json()["list_hash"]
    body = shape(api.post(base + "draw/", {}, format="json"), 400, "invalid")
    assert "public_value" in body["fields"]
    drawn = api.post(base + "draw/", {"public_value": "314159"}, format="json").json()
    assert drawn["status"] == EventStatus.DRAWN and drawn["seed"]
    assert lottery.verify(OpeningEvent.objects.get(pk=event.pk).package)[0]
    now = timezone.now()
    window = {
        "starts_at": now.isoformat(),
        "ends_at": (now + datetime.timedelta(hours=1)).isoformat(),
    }
    body = shape(
        api.post(
            base + "batches/", {"batches": [{"first": 1, "last": 1, **window}]}, format="json"
        ),
        400,
        "invalid",
    )
    assert "batches" in body["fields"]
    cut = api.post(
        base + "batches/", {"batches": [{"first": 1, "last": 2, **window}]}, format="json"
    )
    assert cut.status_code == 200 and cut.json()[0]["last"] == 2
    assert api.post(base + "start/").json()["status"] == EventStatus.SELECTING
    assert api.post(base + "finish/").json()["status"] == EventStatus.FINISHED
    assert Entry.objects.filter(event=event, position__isnull=False).count() == 2


def test_permissions(demo):
    event = make_event()
    base = f"/api/v1/opening-events/{event.pk}/"
    # a consultant sees the event and picks for buyers, but does not run it
    consultant = api_client(user("consultant"))
    assert consultant.get(base + "entries/").status_code == 200
    shape(consultant.post(base + "open/"), 403, "permission_denied")
    assert OpeningEvent.objects.get(pk=event.pk).status == EventStatus.DRAFT
    # another project's member: no such event
    shape(api_client(user("service")).post(base + "open/"), 404, "not_found")
