"""Fixtures of the account, role, scoping and login-security tests."""

import pytest
from django.contrib.auth import base_user
from django.contrib.auth.hashers import make_password
from django.db import connection

from loupan.core import demo as demo_module

# One Argon2 hash of the demo password per test session: hashing it for eleven demo
# users in every test would cost seconds; the hash is real (login checks it).
_HASHES: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _postgres_only(request):
    """``@pytest.mark.postgres`` tests skip on SQLite (the SQLite pass deselects them;
    this keeps a plain ``pytest tests/accounts`` green there too)."""
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")


@pytest.fixture(autouse=True)
def _fast_demo(monkeypatch, settings):
    """The demo office without its ~600 units (no account test needs them), and the demo
    password hashed once per session instead of once per user and test."""
    monkeypatch.setattr(demo_module, "demo_inventory", lambda project, users: None)

    def cached_make_password(password, salt=None, hasher="default"):
        if password == settings.LOUPAN_DEMO_PASSWORD and salt is None and hasher == "default":
            if password not in _HASHES:
                _HASHES[password] = make_password(password)
            return _HASHES[password]
        return make_password(password, salt, hasher)

    monkeypatch.setattr(base_user, "make_password", cached_make_password)
