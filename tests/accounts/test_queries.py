"""The user list page and /api/v1/users/ cost the same number of queries for 11 users
as for 31 (no N+1 over users or their roles)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.testing import make_user


def _add_staff(demo, count=20):
    for n in range(count):
        make_user(
            f"staff{n:02d}",
            (demo["main"], "consultant"),
            (demo["main"], "sales_admin"),
            (demo["second"], "finance"),
        )


def _count(client, url) -> int:
    client.get(url)  # warm up: the session's activity stamp, caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("url", ["/users/", "/api/v1/users/"])
def test_user_list_queries_do_not_grow(url, demo, login, api, django_assert_max_num_queries):
    client = api("sysadmin") if url.startswith("/api/") else login("sysadmin")
    baseline = _count(client, url)
    _add_staff(demo)
    with django_assert_max_num_queries(baseline):
        response = client.get(url)
    body = response.json()["results"] if url.startswith("/api/") else None
    if body is not None:
        assert len(body) == 31
        staff = next(u for u in body if u["username"] == "staff00")
        assert len(staff["memberships"]) == 3
    else:
        assert response.content.decode().count("staff") >= 20


@pytest.mark.parametrize("url", ["/users/", "/api/v1/users/"])
def test_user_list_query_ceiling(url, demo, login, api, django_assert_max_num_queries):
    _add_staff(demo)
    client = api("sysadmin") if url.startswith("/api/") else login("sysadmin")
    client.get(url)
    with django_assert_max_num_queries(10):
        assert client.get(url).status_code == 200


def test_membership_list_queries_do_not_grow(demo, api, django_assert_max_num_queries):
    client = api("sysadmin")
    baseline = _count(client, "/api/v1/memberships/")
    _add_staff(demo)
    with django_assert_max_num_queries(baseline):
        response = client.get("/api/v1/memberships/")
    assert response.json()["count"] >= 60
