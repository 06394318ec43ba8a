"""Opening day in the browser, the buyer's side before and at the pick: on a phone a
favourite turns taken by itself when someone else picks it (no reload), and at the
hall's terminal a buyer signs in, picks, gets the 选房确认书 and the terminal is back
at its sign-in for the next buyer."""

import re
import time

import pytest
from playwright.sync_api import expect

from loupan.opening import favourites, push
from loupan.opening import services as s
from loupan.opening.models import OpeningEvent


def _event(office):
    return OpeningEvent.objects.get(project=office["main"], status="selecting")


def _free(event):
    return [eu.unit for eu in event.units.order_by("pk") if not event.picks.filter(unit=eu.unit)]


@pytest.mark.parametrize("streams", [64, 0], ids=["pushed", "polled"])
def test_a_favourite_turns_taken_on_the_phone_without_a_reload(phone, office, settings, streams):
    """Pushed: the page holds the phones' stream (the server's hub counts it); polled:
    the server holds no stream (``streams_full``) and the page polls the feed."""
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    settings.LOUPAN_LIVE_STREAMS = streams
    event = _event(office)
    entries = list(event.entries.order_by("position"))
    waiting, picker = entries[6], entries[2]  # the second batch waits, the first picks
    code = s.entry_code_reset(actor=event.operator, entry=waiting)
    phone.goto(f"/opening/{event.pk}/")
    phone.fill("#id_number", waiting.number)
    phone.fill("#id_code", code)
    phone.click("#buyer-login button")
    unit = _free(event)[0]
    phone.locator(f'#buyer-units [data-unit="{unit.pk}"] .favourite-toggle').click()
    row = phone.locator(f'#buyer-favourites [data-unit="{unit.pk}"]')
    expect(row).to_have_attribute("data-picked", "0")
    expect(row.locator(".unit-state")).to_have_text(re.compile("可选"))
    if streams:  # the page's stream waits on the hub before anything changes
        deadline = time.monotonic() + 10
        while not push.hub.streams_of(event.pk) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert push.hub.streams_of(event.pk) >= 1
    s.unit_pick(actor=None, event=event, entry=picker, unit=unit, via="terminal")
    expect(row).to_have_attribute("data-picked", "1", timeout=10_000)
    if not streams:
        assert push.hub.streams_of(event.pk) == 0
    expect(row.locator(".unit-state")).to_have_text(re.compile("已选"))
    assert favourites.Favourite.objects.filter(entry=waiting, unit=unit).exists()


def test_a_buyer_picks_at_the_terminal(page, office, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    event = _event(office)
    entry = next(e for e in event.entries.order_by("position")[:4] if not e.picks.exists())
    code = s.entry_code_reset(actor=event.operator, entry=entry)
    page.goto(f"/opening/{event.pk}/kiosk/")
    page.fill("#id_number", entry.number)
    page.fill("#id_code", code)
    page.click("#kiosk-login button")
    expect(page.locator("#kiosk-number")).to_have_text(entry.number)
    expect(page.locator("#idle-left")).to_have_text(re.compile(r"\d+"))
    unit = _free(event)[0]
    page.evaluate("window.print = function () { window.printed = true; }")
    page.locator(f'#kiosk-units [data-unit="{unit.pk}"] .pick-button').click()
    expect(page.locator("#confirmation")).to_contain_text(unit.number)
    assert event.picks.filter(entry=entry, unit=unit, via="terminal").exists()
    page.click("#kiosk-done")
    expect(page.locator("#kiosk-login")).to_be_visible()
