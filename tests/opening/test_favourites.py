"""Favourites 收藏 (issue 16 "Favourites 收藏 before the event; a buyer sees what is still
free, live"): a buyer signed in with the code marks units before the draw, a consultant
marks them for a buyer from the office, the phone page lists them first with their
free or taken state, and a favourite never reserves anything."""

import pytest
from django.test import Client

from loupan.audit.models import AuditEntry
from loupan.core.errors import DomainError
from loupan.deals.models import Deal
from loupan.inventory.models import Unit
from loupan.opening import favourites as f
from loupan.opening import services as s
from loupan.opening.models import Favourite, OpeningEvent
from tests.deals.helpers import free_unit, project, user
from tests.opening.test_services import buyer, make_event
from tests.testing import web_client

pytestmark = pytest.mark.django_db


def registering_entry(n=400):
    event = s.event_open(actor=user("manager"), event=make_event())
    entry, code = s.entry_register(actor=user("manager"), event=event, customer=buyer(n))
    return event, entry, code


def signed_in(event, entry, code) -> Client:
    phone = Client()
    response = phone.post(f"/opening/{event.pk}/", {"number": entry.number, "code": code})
    assert response.status_code == 302
    return phone


def test_a_buyer_marks_favourites_on_the_phone_before_the_draw(demo):
    event, entry, code = registering_entry()
    phone = signed_in(event, entry, code)
    units = [eu.unit for eu in event.units.order_by("pk")]
    statuses = {u.pk: u.status for u in units}
    deals = Deal.objects.count()
    for unit in (units[2], units[0]):
        response = phone.post(f"/opening/{event.pk}/favourites/", {"unit": unit.pk, "on": "1"})
        assert response.status_code == 302
    # twice changes nothing
    phone.post(f"/opening/{event.pk}/favourites/", {"unit": units[0].pk, "on": "1"})
    assert list(Favourite.objects.filter(entry=entry).values_list("unit_id", flat=True)) == [
        units[2].pk,
        units[0].pk,
    ]
    html = phone.get(f"/opening/{event.pk}/").content.decode()
    # first, in the order marked, before the other units
    head = html[html.index('id="buyer-favourites"') : html.index('id="buyer-units"')]
    assert head.index(units[2].number) < head.index(units[0].number)
    assert units[1].number not in head
    # never reserves anything
    assert Deal.objects.count() == deals
    assert {u.pk: u.status for u in Unit.objects.filter(pk__in=statuses)} == statuses
    audit = AuditEntry.objects.filter(
        object_type="opening.entry", object_id=str(entry.pk), extra__action="favourite_add"
    )
    assert audit.count() == 2 and audit.first().actor_username == f"认筹号{entry.number}"
    phone.post(f"/opening/{event.pk}/favourites/", {"unit": units[2].pk, "on": "0"})
    assert list(Favourite.objects.filter(entry=entry).values_list("unit_id", flat=True)) == [
        units[0].pk
    ]
    # not signed in: nothing
    Client().post(f"/opening/{event.pk}/favourites/", {"unit": units[1].pk, "on": "1"})
    assert Favourite.objects.filter(entry=entry).count() == 1


def test_refusals(demo, monkeypatch):
    event, entry, _code = registering_entry(410)
    outside = free_unit(60)
    with pytest.raises(DomainError) as err:
        f.favourite_set(actor=None, entry=entry, unit=outside)
    assert err.value.code == "not_in_event"
    with pytest.raises(DomainError) as err:
        f.favourite_set(actor=None, entry=entry, unit="abc")
    assert err.value.code == "invalid" and "unit" in err.value.fields
    with pytest.raises(DomainError) as err:
        f.favourite_set(actor=user("finance"), entry=entry, unit=event.units.first().unit)
    assert err.value.code == "permission_denied"
    monkeypatch.setattr(f, "MAX_FAVOURITES", 1)
    units = [eu.unit for eu in event.units.order_by("pk")]
    f.favourite_set(actor=None, entry=entry, unit=units[0])
    with pytest.raises(DomainError) as err:
        f.favourite_set(actor=None, entry=entry, unit=units[1])
    assert err.value.code == "invalid"
    # a withdrawn entry marks nothing
    s.entry_withdraw(actor=user("manager"), entry=entry)
    with pytest.raises(DomainError) as err:
        f.favourite_set(actor=None, entry=entry, unit=units[1], on=False)
    assert err.value.code == "event_status"


def test_a_consultant_marks_favourites_for_a_buyer(demo):
    event, entry, _code = registering_entry(420)
    unit = event.units.order_by("pk").first().unit
    url = f"/projects/{project().pk}/opening/{event.pk}/entries/{entry.pk}/favourites/"
    client = web_client(user("consultant"))
    page = client.get(url)
    assert page.status_code == 200 and 'id="entry-favourites"' in page.content.decode()
    assert client.post(url, {"unit": unit.pk, "on": "1"}).status_code == 302
    favourite = Favourite.objects.get(entry=entry)
    assert favourite.unit_id == unit.pk and favourite.added_by == user("consultant")
    html = client.get(url).content.decode()
    assert unit.number in html[html.index('id="entry-favourites"') : html.index('id="entry-units"')]
    # the event page links to it for whoever may pick for a buyer
    detail = client.get(f"/projects/{project().pk}/opening/{event.pk}/").content.decode()
    assert url in detail
    assert web_client(user("finance")).post(url, {"unit": unit.pk, "on": "0"}).status_code == 403
    assert Favourite.objects.filter(entry=entry).count() == 1


def test_the_phone_shows_a_favourite_taken_and_no_more_after_the_event(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    live = OpeningEvent.objects.get(project=project(), status="selecting")
    entries = list(live.entries.order_by("position"))
    waiting, picker = entries[5], entries[2]  # second batch, first batch
    free = [eu.unit for eu in live.units.order_by("pk") if not live.picks.filter(unit=eu.unit)]
    f.favourite_set(actor=None, entry=waiting, unit=free[0])
    f.favourite_set(actor=user("consultant"), entry=waiting, unit=free[1])
    s.unit_pick(actor=None, event=live, entry=picker, unit=free[0], via="terminal")
    code = s.entry_code_reset(actor=user("manager"), entry=waiting)
    phone = signed_in(live, waiting, code)
    html = phone.get(f"/opening/{live.pk}/").content.decode()
    head = html[html.index('id="buyer-favourites"') : html.index('id="buyer-units"')]
    assert f'data-unit="{free[0].pk}" data-picked="1"' in head
    assert f'data-unit="{free[1].pk}" data-picked="0"' in head
    # the live view the page polls says the same
    snapshot = phone.get(f"/opening/{live.pk}/live/").json()
    picked = {u["id"]: u["picked"] for u in snapshot["units"]}
    assert picked[free[0].pk] and not picked[free[1].pk]
    s.event_finish(actor=user("manager"), event=live)
    with pytest.raises(DomainError) as err:
        f.favourite_set(actor=None, entry=waiting, unit=free[1], on=False)
    assert err.value.code == "event_status"
    assert "favourite-form" not in phone.get(f"/opening/{live.pk}/").content.decode()


def test_the_api_marks_favourites_for_a_buyer(demo):
    from tests.testing import api_client

    event, entry, _code = registering_entry(430)
    unit = event.units.order_by("pk").first().unit
    base = f"/api/v1/opening-events/{event.pk}/favourites/"
    consultant = api_client(user("consultant"))
    done = consultant.post(base, {"entry": entry.number, "unit": unit.pk}, format="json")
    assert done.status_code == 200 and [u["id"] for u in done.json()] == [unit.pk]
    assert consultant.get(base + f"?entry={entry.number}").json()[0]["picked"] is False
    refused = api_client(user("finance")).post(
        base, {"entry": entry.number, "unit": unit.pk, "on": False}, format="json"
    )
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert consultant.get(base + "?entry=9999").json()["code"] == "invalid"
    gone = consultant.post(
        base, {"entry": entry.number, "unit": unit.pk, "on": False}, format="json"
    )
    assert gone.json() == [] and not Favourite.objects.filter(entry=entry).exists()
