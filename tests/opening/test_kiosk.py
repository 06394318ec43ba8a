"""The hall's terminals (issue 16 "on the hall's terminals"): a buyer signs in with the
entry number and code, picks, gets the 选房确认书 to print, and the terminal forgets
them — after the pick, after the idle time, or on 退出; nothing of the buyer stays in
the terminal's session."""

import time

import pytest
from django.test import Client

from loupan.opening import selectors
from loupan.opening import services as s
from loupan.opening.models import Entry, OpeningEvent, Pick
from tests.deals.helpers import project, user

pytestmark = pytest.mark.django_db


def waiting_entry():
    live = OpeningEvent.objects.get(project=project(), status="selecting")
    entry = next(e for e in live.entries.order_by("position")[:4] if not e.picks.exists())
    return live, entry, s.entry_code_reset(actor=user("manager"), entry=entry)


def sign_in(terminal, event, entry, code):
    response = terminal.post(f"/opening/{event.pk}/kiosk/", {"number": entry.number, "code": code})
    assert response.status_code == 302
    return response


def test_a_buyer_picks_at_the_terminal_and_is_signed_out(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    live, entry, code = waiting_entry()
    terminal = Client()
    home = f"/opening/{live.pk}/kiosk/"
    assert 'id="kiosk-login"' in terminal.get(home).content.decode()
    wrong = terminal.post(home, {"number": entry.number, "code": "nope"})
    assert wrong.status_code == 400
    assert Entry.objects.get(pk=entry.pk).code_failures == 1
    sign_in(terminal, live, entry, code)
    signed_in = terminal.cookies["sessionid"].value
    page = terminal.get(home).content.decode()
    assert f'action="/opening/{live.pk}/kiosk/pick/"' in page and entry.number in page
    free = next(u for u in selectors.event_units(live) if not u["picked"])
    done = terminal.post(f"/opening/{live.pk}/kiosk/pick/", {"unit": free["id"]})
    html = done.content.decode()
    # the 选房确认书 at once, printed, and a way back for the next buyer
    assert done.status_code == 200 and free["number"] in html and "window.print()" in html
    assert 'id="kiosk-done"' in html
    pick = Pick.objects.get(entry=entry)
    assert pick.via == "terminal" and pick.actor is None
    # signed out under a new session key: the terminal shows the sign-in again, a second
    # pick goes nowhere
    assert terminal.cookies["sessionid"].value != signed_in
    assert f"opening_kiosk_{live.pk}" not in terminal.session
    assert 'id="kiosk-login"' in terminal.get(home).content.decode()
    other = next(u for u in selectors.event_units(live) if not u["picked"])
    terminal.post(f"/opening/{live.pk}/kiosk/pick/", {"unit": other["id"]})
    assert Pick.objects.filter(entry=entry).count() == 1


def test_the_terminal_forgets_an_idle_buyer(demo, settings):
    settings.LOUPAN_KIOSK_IDLE_SECONDS = 60
    live, entry, code = waiting_entry()
    terminal = Client()
    sign_in(terminal, live, entry, code)
    session = terminal.session
    key = f"opening_kiosk_{live.pk}"
    session[key] = {"entry": entry.pk, "at": time.time() - 61}
    session.save()
    free = next(u for u in selectors.event_units(live) if not u["picked"])
    refused = terminal.post(f"/opening/{live.pk}/kiosk/pick/", {"unit": free["id"]})
    assert refused.status_code == 302 and not Pick.objects.filter(entry=entry).exists()
    page = terminal.get(f"/opening/{live.pk}/kiosk/").content.decode()
    assert 'id="kiosk-login"' in page and "长时间未操作" in page
    assert key not in terminal.session
    # 退出 at once
    sign_in(terminal, live, entry, code)
    page = terminal.get(f"/opening/{live.pk}/kiosk/").content.decode()
    assert 'data-idle="60"' in page
    terminal.post(f"/opening/{live.pk}/kiosk/logout/")
    assert key not in terminal.session
    # the phone's sign-in is another key: the terminal never signed the phone in
    assert f"opening_entry_{live.pk}" not in terminal.session
