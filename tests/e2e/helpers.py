"""Shared steps of the browser tests."""

from django.conf import settings
from playwright.sync_api import expect


def log_in(page, username, *, home=True):
    """Log in as a demo user through the login form; ``home``: wait for the home page."""
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", settings.LOUPAN_DEMO_PASSWORD)
    page.click("#login-form button[type=submit]")
    if home:
        expect(page.locator("h1")).to_contain_text("您好")
