"""The sales admin opens the board, holds a unit, and a second window sees it change colour."""

import re

from playwright.sync_api import expect

from loupan.inventory.models import Unit, UnitStatus
from tests.e2e.helpers import log_in


def test_hold_on_the_board_shows_in_a_second_window(browser, live_server, office):
    project = office["main"]
    building = project.buildings.get(name="2栋")
    unit = (
        Unit.objects.filter(building=building, status=UnitStatus.AVAILABLE)
        .order_by("-floor", "room")
        .first()
    )
    board_url = f"/projects/{project.pk}/board/?building={building.pk}"

    windows = []
    for username in ("salesadmin", "manager"):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1400, "height": 900}
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        log_in(page, username)
        page.goto(board_url)
        windows.append((context, page))
    admin, watcher = windows[0][1], windows[1][1]
    cell = f"#unit-{unit.pk}"
    expect(watcher.locator(cell)).to_have_attribute("data-status", "available")

    admin.click(cell)
    expect(admin.locator("#unit-modal")).to_be_visible()
    expect(admin.locator("#unit-card")).to_contain_text(unit.number)
    admin.fill("#hold-form input[name=reason]", "二次开盘预留")
    admin.click("#hold-form button")
    expect(admin.locator("#unit-card .badge").first).to_have_text("销控保留")

    # The other window changes colour by itself, without a reload.
    expect(watcher.locator(cell)).to_have_attribute("data-status", "held", timeout=10_000)
    expect(watcher.locator(cell)).to_have_class(re.compile(r"status-held"))
    held_legend = watcher.locator('#board-legend .legend-item[data-status="held"] .count')
    expect(held_legend).to_have_text(
        str(Unit.objects.filter(project=project, status=UnitStatus.HELD).count())
    )
    assert watcher.evaluate("performance.getEntriesByType('navigation').length") == 1
    for context, _page in windows:
        context.close()
