"""Browser tests: the real pages in Debian's headless Chromium, driven by Playwright.

They run against pytest-django's live server with the demo office loaded; no browser is
downloaded (``executable_path`` points at the system Chromium).
"""

import os
import shutil

import pytest
from playwright.sync_api import sync_playwright

from loupan.core.demo import build_demo

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests
# make there are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("LOUPAN_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def office(transactional_db, settings):
    """The demo office, with demo mode on (the demo accounts skip the forced change)."""
    settings.LOUPAN_DEMO = True
    return build_demo()


@pytest.fixture
def page(browser, live_server, office):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    # Closed network: any request that leaves the live server fails the test.
    outside = []
    page.on(
        "request",
        lambda r: (
            outside.append(r.url)
            if not r.url.startswith(live_server.url) and not r.url.startswith("data:")
            else None
        ),
    )
    yield page
    context.close()
    assert not outside, f"page requested outside resources: {outside}"


@pytest.fixture
def phone(browser, live_server, office):
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 375, "height": 740},
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()
