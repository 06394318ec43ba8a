"""The office runs an opening event through its pages (issue 16): create it from a
building, open registrations, register and qualify buyers, close, draw with the public
value, cut the batches, start and finish; roles without ``opening.manage`` are refused."""

import datetime
import re

import pytest
from django.utils import timezone

from loupan.opening import lottery
from loupan.opening.models import OpeningEvent
from tests.deals.helpers import free_unit, project, user
from tests.opening.test_services import buyer
from tests.testing import web_client

pytestmark = pytest.mark.django_db


def test_the_office_runs_an_event_from_its_pages(demo):
    p = project()
    client = web_client(user("manager"))
    base = f"/projects/{p.pk}/opening/"
    assert client.get(base).status_code == 200
    assert client.get(base + "new/").status_code == 200
    unit = free_unit(40)
    closes = timezone.localtime() + datetime.timedelta(hours=1)
    done = client.post(
        base + "new/",
        {
            "name": "页面开盘",
            "buildings": [unit.building_id],
            "floor_from": unit.floor,
            "floor_to": unit.floor,
            "registration_closes_at": closes.strftime("%Y-%m-%dT%H:%M"),
            "selection_on": timezone.localdate().isoformat(),
            "max_units": 1,
            "requires_qualification": "on",
            "sincerity_amount": "0",
            "operator": user("manager").pk,
            "public_source": "现场摇号",
        },
    )
    assert done.status_code == 302, done.content.decode()[:2000]
    event = OpeningEvent.objects.get(name="页面开盘")
    url = f"{base}{event.pk}/"
    assert event.units.filter(unit=unit).exists()
    client.post(url + "open/")
    people = [buyer(n) for n in (90, 91)]
    for person in people:
        page = client.get(url + f"?q={person.phone_tail}")
        assert person.name in page.content.decode()
        registered = client.post(url + "entries/", {"customer": person.pk}, follow=True)
        assert re.search(r"选房码 \d{8}", registered.content.decode())
    for entry in event.entries.all():
        client.post(url + f"entries/{entry.pk}/qualify/")
    client.post(url + "close/")
    client.post(url + "draw/", {"public_value": "271828"})
    event.refresh_from_db()
    assert event.status == "drawn" and lottery.verify(event.package)[0]
    start = timezone.localtime() - datetime.timedelta(minutes=1)
    client.post(
        url + "batches/", {"size": 1, "minutes": 10, "starts_at": start.strftime("%Y-%m-%dT%H:%M")}
    )
    assert event.batches.count() == 2
    client.post(url + "start/")
    event.refresh_from_db()
    assert event.status == "selecting"
    client.post(url + "finish/")
    event.refresh_from_db()
    assert event.status == "finished"
    # a consultant reads but may not run the event
    consultant = web_client(user("consultant"))
    assert consultant.get(url).status_code == 200
    assert consultant.post(url + "finish/").status_code == 403
    assert consultant.get(base + "new/").status_code == 403
