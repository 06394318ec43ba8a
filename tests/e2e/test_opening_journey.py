"""Opening day in the browser (issue 16 "Done when"): a buyer signs in on a phone-sized
page with the entry number and the selection code, picks a free unit and gets the
选房确认书, while the hall's big screen, open in another browser, turns that unit
picked without reloading; another buyer's pick meanwhile turns that unit taken on the
phone by itself."""

import re

from playwright.sync_api import expect

from loupan.opening import services as s
from loupan.opening.models import OpeningEvent
from tests.e2e.helpers import log_in


def test_a_buyer_picks_on_a_phone_while_the_big_screen_updates(
    browser, live_server, page, office, settings
):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    settings.LOUPAN_PICK_ADDRESS_INTERVAL_MS = 0
    project = office["main"]
    event = OpeningEvent.objects.get(project=project, status="selecting")
    entry, other = [e for e in event.entries.order_by("position")[:4] if not e.picks.exists()][:2]
    code = s.entry_code_reset(actor=event.operator, entry=entry)

    # the big screen, in the hall (a signed-in member of staff)
    log_in(page, "supervisor")
    page.goto(f"/projects/{project.pk}/opening/{event.pk}/screen/")
    expect(page.locator("#event-name")).to_have_text(event.name)
    free_id, taken_id = (
        page.locator("#unit-grid .unit.is-free").nth(i).get_attribute("data-unit") for i in (0, 1)
    )
    before = page.locator("#unit-grid .unit.is-picked").count()

    # the buyer's own phone: no account
    phone_context = browser.new_context(
        base_url=live_server.url, viewport={"width": 375, "height": 740}, is_mobile=True
    )
    phone = phone_context.new_page()
    phone.set_default_timeout(15_000)
    phone.goto(f"/opening/{event.pk}/")
    phone.fill("#id_number", entry.number)
    phone.fill("#id_code", code)
    phone.click("#buyer-login button")
    expect(phone.locator("#buyer-number")).to_have_text(entry.number)
    expect(phone.locator("#countdown")).to_have_text(re.compile(r"\d+:\d\d"))
    # another buyer's pick reaches the phone's list by itself (the pushed feed's ids)
    taken = phone.locator(f'#buyer-units [data-unit="{taken_id}"]')
    expect(taken.locator(".pick-button")).to_be_visible()
    s.unit_pick(actor=None, event=event, entry=other, unit=int(taken_id), via="phone")
    expect(taken.locator(".unit-state")).to_have_text("已选", timeout=10_000)
    expect(taken.locator(".pick-button")).to_have_count(0)
    phone.locator(f'#buyer-units [data-unit="{free_id}"] .pick-button').click()
    expect(phone.locator("#confirmation")).to_be_visible()
    assert event.picks.filter(entry=entry, unit_id=int(free_id)).exists()

    # the screen learns of it by itself (no reload)
    expect(page.locator(f'#unit-grid [data-unit="{free_id}"]')).to_have_class(
        re.compile(r"is-picked"), timeout=10_000
    )
    assert page.locator("#unit-grid .unit.is-picked").count() == before + 2
    expect(page.locator("#latest")).to_contain_text(
        event.units.get(unit_id=int(free_id)).unit.number
    )
    phone_context.close()
