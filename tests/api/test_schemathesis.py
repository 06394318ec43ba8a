"""Schemathesis over the whole OpenAPI schema (issue 12): every operation, with inputs
generated from the schema and against it (wrong types, missing fields, NUL characters,
huge numbers, ids that do not exist), as the consultant and as the manager of the demo
office, with token authentication. No answer may be a server error, and every error
answer is the one error shape ``{"code", "message", "fields"}``.

The requests go straight to the WSGI application inside the test's transaction (the
demo office as built for the test database; what a request writes is rolled back with
the test). It runs in both passes of ``make test`` (SQLite and PostgreSQL find different
faults: an integer overflow on one, a NUL or a type on the other), one test per
operation spread over the workers. Bounded and deterministic, so that CI neither flakes
nor waits: a fixed number of generated requests per operation and role
(``LOUPAN_SCHEMATHESIS_EXAMPLES``, 3 by default: about a minute of a 2-core machine per
pass), derandomized from a fixed seed, with no example database.
"""

import json
import os

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from schemathesis.config import SchemathesisConfig

from loupan.accounts.models import User

ROLES = ("consultant", "manager")
EXAMPLES = int(os.environ.get("LOUPAN_SCHEMATHESIS_EXAMPLES", "3"))
ERROR_KEYS = {"code", "message", "fields"}

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20261206,
        # The test's transaction carries over between examples on purpose (what one
        # example wrote is there for the next); a slow or filtered operation is fine.
        "suppress-health-check": ["all"],
        "generation": {
            "max-examples": EXAMPLES,
            "deterministic": True,
            "mode": "all",
            "database": "none",
        },
        "phases": {
            "examples": {"enabled": False},
            "coverage": {"enabled": False},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
    }
)

schema = schemathesis.openapi.from_dict(
    SchemaGenerator().get_schema(request=None, public=True), config=CONFIG
)
schema.app = WSGIHandler()


@pytest.fixture
def tokens(demo):
    """The role's API token (the demo users have changed their password)."""
    return {
        role: Token.objects.get_or_create(user=User.objects.get(username=role))[0].key
        for role in ROLES
    }


@pytest.fixture
def in_test_transaction(db):
    """Django closes the database connection after each request; the test client keeps
    it, and so must the WSGI application here (the test's transaction is on it)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _describe(case, role, response) -> str:
    return f"{role}: {case.as_curl_command()} → {response.status_code} {response.text[:400]}"


@schema.parametrize()
def test_no_server_error_and_one_error_shape(case, tokens, in_test_transaction):
    for role in ROLES:
        response = case.call(headers={"Authorization": f"Token {tokens[role]}"})
        assert response.status_code < 500, _describe(case, role, response)
        if response.status_code >= 400:
            try:
                body = json.loads(response.content)
            except ValueError:
                body = None
            assert isinstance(body, dict) and set(body) == ERROR_KEYS, _describe(
                case, role, response
            )
            assert isinstance(body["code"], str) and body["code"], _describe(case, role, response)
            assert isinstance(body["message"], str), _describe(case, role, response)
            assert isinstance(body["fields"], dict), _describe(case, role, response)
