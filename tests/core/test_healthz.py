"""/healthz: 200 while the database answers, 503 when it does not."""

import copy

import pytest
from django.db import OperationalError, connection
from django.db.utils import load_backend


def test_healthy(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_needs_no_login_and_only_get(client, db):
    assert client.get("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_cursor_failure_is_503(client, db, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:
        patch.setattr("loupan.core.views.connection.cursor", refuse)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "database": "unreachable",
        "detail": "OperationalError",
    }


@pytest.fixture
def unreachable_database():
    """A real connection to a database that is not there: a SQLite file in a missing
    directory, or a PostgreSQL server on a closed port."""
    settings_dict = copy.deepcopy(connection.settings_dict)
    if connection.vendor == "sqlite":
        settings_dict["NAME"] = "/nonexistent-loupan-dir/missing.sqlite3"
    else:
        settings_dict["HOST"], settings_dict["PORT"] = "127.0.0.1", "1"
        settings_dict.setdefault("OPTIONS", {})["connect_timeout"] = 2
    backend = load_backend(settings_dict["ENGINE"])
    broken = backend.DatabaseWrapper(settings_dict, alias="broken")
    yield broken
    broken.close()


def test_unreachable_database_is_503(client, db, monkeypatch, unreachable_database):
    with pytest.raises(OperationalError):
        unreachable_database.ensure_connection()
    monkeypatch.setattr("loupan.core.views.connection", unreachable_database)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert response.json()["database"] == "unreachable"
    assert response.json()["detail"] == "OperationalError"
