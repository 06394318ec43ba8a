"""Fixtures of the account, role, scoping and login-security tests."""

import pytest
from django.contrib.auth import base_user
from django.contrib.auth.hashers import make_password

# One Argon2 hash of the demo password per test session: hashing it for eleven demo
# users in every test would cost seconds; the hash is real (login checks it).
_HASHES: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _fast_demo(monkeypatch, settings):
    """The demo password hashed once per session instead of once per user and test (the
    demo office is rebuilt after a transactional test)."""

    def cached_make_password(password, salt=None, hasher="default"):
        if password == settings.LOUPAN_DEMO_PASSWORD and salt is None and hasher == "default":
            if password not in _HASHES:
                _HASHES[password] = make_password(password)
            return _HASHES[password]
        return make_password(password, salt, hasher)

    monkeypatch.setattr(base_user, "make_password", cached_make_password)
