"""Shared fixtures: the demo office, clients logged in as each demo role, API clients."""

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from loupan.accounts.models import User
from loupan.core.demo import build_demo
from loupan.inventory.models import Building, Company, Project


@pytest.fixture(autouse=True)
def _demo_mode(settings):
    """Tests run with demo mode off unless a test turns it on, so that the forced
    first-login change applies; the fixtures below mark their users as changed."""
    settings.LOUPAN_DEMO = False
    settings.AXES_ENABLED = True
    # An import page's job runs in the request: the test's transaction is not visible
    # to another thread (tests/core/test_import_jobs.py runs them in the background).
    settings.LOUPAN_IMPORT_BACKGROUND = False


def _load_demo():
    build_demo()
    # The demo accounts have "changed" their password: no forced change in tests.
    User.objects.filter(is_demo=True).update(must_change_password=False)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The demo office is built once per test database; every test's transaction rolls
    back its own changes. (A transactional test flushes the database: ``demo`` then
    builds it again.) A database kept with ``--reuse-db`` (scripts/mutate.sh) has it
    already."""
    with django_db_blocker.unblock():
        if not Building.objects.filter(project__code="CHW").exists():  # --reuse-db keeps it
            _load_demo()


@pytest.fixture
def demo(db):
    if not Building.objects.filter(project__code="CHW").exists():
        _load_demo()  # a transactional test flushed it (build_demo is idempotent)
    return {
        "company": Company.objects.get(name="锦城置业有限公司"),
        "main": Project.objects.get(code="CHW"),
        "second": Project.objects.get(code="YQF"),
        "users": {u.username: u for u in User.objects.filter(is_demo=True)},
    }


@pytest.fixture
def demo_password():
    return settings.LOUPAN_DEMO_PASSWORD


@pytest.fixture
def login(client, demo):
    """``login("consultant")`` logs the Django test client in as that demo user."""

    def _login(username):
        client.force_login(
            User.objects.get(username=username),
            backend="loupan.accounts.backends.ProjectRoleBackend",
        )
        return client

    return _login


@pytest.fixture
def api(demo):
    """``api("auditor")`` returns an APIClient authenticated with that user's token."""
    from rest_framework.authtoken.models import Token

    def _api(username):
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=User.objects.get(username=username))
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return _api


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` need PostgreSQL (concurrency, triggers): on SQLite they
    are deselected, not skipped; ``make test`` runs them in its PostgreSQL pass."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("postgres") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
