"""The buyer API's pick answered before Django's whole stack (``opening.pick_http``, the
WSGI application of ``loupan.wsgi``): the same answers as DRF's action, request for
request (the pick, each refusal, bad JSON, a missing field with its Chinese label, an
unknown event), the security headers, an unknown host refused, the audit context's
address, and everything else (another path, a form body) still Django's."""

import json

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory
from rest_framework.test import APIClient

from loupan.audit.models import AuditEntry
from loupan.opening import pick_http
from loupan.opening.models import Pick
from loupan.wsgi import application
from tests.opening.test_buyer_api import event_units, open_event, url

pytestmark = pytest.mark.django_db


class Answer:
    def __init__(self, status: str, headers: list, body: bytes):
        self.status_code = int(status.split()[0])
        self.headers = dict(headers)
        self.body = body

    def json(self):
        return json.loads(self.body)


def wsgi(path, body, content_type="application/json", **extra) -> Answer:
    """``loupan.wsgi.application`` called as a WSGI server calls it (in this thread, in
    the test's transaction: the connection is not closed at the request's ends, as
    Django's test client does)."""
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    environ = RequestFactory().generic("POST", path, data, content_type, **extra).environ
    got = {}

    def start_response(status, headers):
        got["status"], got["headers"] = status, headers

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = application(environ, start_response)
        content = b"".join(response)
        response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return Answer(got["status"], got["headers"], content)


def body(entry, code, unit):
    return {"entry": entry.number, "code": code, "unit": getattr(unit, "pk", unit)}


def test_the_lean_path_answers_as_drf_does(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    settings.LOUPAN_PICK_ADDRESS_INTERVAL_MS = 0
    event, entries, codes = open_event(range(60, 66), unit_count=4)
    units = event_units(event)
    drf = APIClient()

    def both(make, **extra):
        """The same request by DRF (the test client) and by the WSGI application."""
        one, two = make()
        left = drf.post(url(event), one, format="json", **extra)
        right = wsgi(url(event), two, **extra)
        return left, right

    # a pick each: same shape, the lean one by the lean handler
    a, b = both(
        lambda: (
            body(entries[0], codes[entries[0].number], units[0]),
            body(entries[1], codes[entries[1].number], units[1]),
        )
    )
    assert a.status_code == b.status_code == 201
    assert set(a.json()) == set(b.json()) == {"id", "entry", "unit", "unit_number", "deal", "at"}
    assert b.json()["unit_number"] == units[1].number and b.json()["entry"] == entries[1].number
    made = Pick.objects.get(pk=b.json()["id"])
    assert made.via == "api" and made.actor is None and made.ip == "127.0.0.1"
    assert b.headers["Content-Type"] == "application/json"
    assert b.headers["X-Frame-Options"] == "DENY"
    assert "Set-Cookie" not in b.headers
    # every refusal the same, code, message and fields
    cases = [
        lambda: (body(entries[2], codes[entries[2].number], units[0]),) * 2,  # unit_taken
        lambda: (body(entries[0], codes[entries[0].number], units[2]),) * 2,  # quota_reached
        lambda: (body(entries[2], "00000000", units[2]),) * 2,  # code_invalid
        lambda: ({"entry": entries[2].number, "unit": units[2].pk},) * 2,  # missing code
        lambda: ({"entry": entries[2].number, "code": "1", "unit": "x"},) * 2,  # bad unit
        lambda: (["not", "an", "object"],) * 2,
    ]
    seen = set()
    for case in cases:
        left, right = both(case)
        assert left.status_code == right.status_code >= 400
        assert left.json() == right.json()
        seen.add(right.json()["code"])
    assert seen == {"unit_taken", "quota_reached", "code_invalid", "invalid"}
    missing = wsgi(url(event), {"entry": entries[2].number, "unit": units[2].pk}).json()
    assert "code" in missing["fields"] and missing["message"].startswith("选房码")
    broken = wsgi(url(event), '{"entry": ')
    by_drf = drf.post(url(event), '{"entry": ', content_type="application/json")
    assert broken.status_code == by_drf.status_code == 400
    assert broken.json()["code"] == by_drf.json()["code"] == "invalid"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in broken.json()["message"])
    nan = wsgi(url(event), '{"entry": "1", "code": "1", "unit": NaN}')
    assert nan.status_code == 400 and nan.json()["code"] == "invalid"
    nul = wsgi(url(event), {"entry": "\x00", "code": "1", "unit": 1})
    assert nul.status_code == 400 and nul.json()["code"] == "invalid"
    unknown = wsgi(
        f"/api/v1/opening-events/{event.pk + 1000}/buyer-picks/", body(entries[2], "1", 1)
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    # the pick's audit entry, sealed behind it, names the buyer and no account
    audited = AuditEntry.objects.filter(object_type="opening.pick", object_id=str(made.pk)).get()
    assert audited.actor_username == f"认筹号{entries[1].number}"
    assert Pick.objects.filter(event=event).count() == 2


def test_only_the_pick_takes_the_lean_path(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    settings.LOUPAN_PICK_ADDRESS_INTERVAL_MS = 0
    event, entries, codes = open_event(range(66, 68), unit_count=2)
    units = event_units(event)
    assert pick_http._is_pick(RequestFactory().post(url(event), "{}", "application/json").environ)
    assert pick_http._is_pick(
        RequestFactory().post(url(event), "{}", "application/json; charset=utf-8").environ
    )
    assert not pick_http._is_pick(RequestFactory().get(url(event)).environ)
    assert not pick_http._is_pick(
        RequestFactory().post(url(event, "picks"), "{}", "application/json").environ
    )
    # a form body goes to Django: DRF's action picks just the same
    form = wsgi(
        url(event),
        f"entry={entries[0].number}&code={codes[entries[0].number]}&unit={units[0].pk}",
        content_type="application/x-www-form-urlencoded",
    )
    assert form.status_code == 201 and form.json()["unit"] == units[0].pk
    # a host the site does not serve is refused (Django's CommonMiddleware), nothing written
    before = Pick.objects.count()
    stranger = wsgi(
        url(event), body(entries[1], codes[entries[1].number], units[1]), HTTP_HOST="evil.example"
    )
    assert stranger.status_code == 400 and Pick.objects.count() == before


def test_behind_the_proxy_the_buyers_address_is_counted(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    settings.LOUPAN_TRUSTED_PROXIES = ["127.0.0.1"]
    event, entries, codes = open_event(range(68, 71), unit_count=3)
    units = event_units(event)
    first = wsgi(
        url(event),
        body(entries[0], codes[entries[0].number], units[0]),
        HTTP_X_FORWARDED_FOR="10.1.1.1",
    )
    assert first.status_code == 201
    assert Pick.objects.get(pk=first.json()["id"]).ip == "10.1.1.1"
    # the same address within the interval is refused; another one passes
    same = wsgi(
        url(event),
        body(entries[1], codes[entries[1].number], units[1]),
        HTTP_X_FORWARDED_FOR="10.1.1.1",
    )
    assert same.status_code == 429 and same.json()["code"] == "address_too_fast"
    other = wsgi(
        url(event),
        body(entries[1], codes[entries[1].number], units[1]),
        HTTP_X_FORWARDED_FOR="10.1.1.2",
    )
    assert other.status_code == 201


def test_the_lean_path_reads_the_event_once_per_cache_interval(demo, settings):
    """``live.event_to_pick``: the event a lean pick is in is read once per
    ``LOUPAN_LIVE_CACHE_MS`` by a process, again once it saved the event; 0 reads it for
    every pick. An event not public is not found, whatever was read before."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from loupan.opening import live

    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    settings.LOUPAN_PICK_ADDRESS_INTERVAL_MS = 0
    settings.LOUPAN_LIVE_CACHE_MS = 60_000
    event, entries, codes = open_event(range(110, 114), unit_count=4)
    units = event_units(event)
    table = '"opening_openingevent"'

    def reads_of_the_event(entry, unit) -> int:
        with CaptureQueriesContext(connection) as queries:
            answer = wsgi(url(event), body(entry, codes[entry.number], unit))
        assert answer.status_code == 201, answer.json()
        return sum(
            q["sql"].startswith("SELECT") and f"FROM {table}" in q["sql"]
            for q in queries.captured_queries
        )

    reads_of_the_event(entries[0], units[0])  # read now, if not before
    assert reads_of_the_event(entries[1], units[1]) == 0
    event.save(update_fields=["name"])  # this process saved it: read again
    assert reads_of_the_event(entries[2], units[2]) == 1
    settings.LOUPAN_LIVE_CACHE_MS = 0
    assert reads_of_the_event(entries[3], units[3]) == 1
    assert live.event_to_pick("x") is None and live.event_to_pick(0) is None
    assert Pick.objects.filter(event=event).count() == 4


def test_a_server_process_compiles_the_picks_reads_before_its_first_request():
    """``wrap`` (``loupan.wsgi``) warms the pick's path (``pick_http.warm``): every read
    compiled once per process (``core.prepared.compile_all``) is compiled before the
    first request, and no query is run for it (the database may not be up yet)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from loupan.core.prepared import Prepared
    from loupan.opening import selectors, services

    for prepared in Prepared.defined:
        prepared._compiled.clear()
    with CaptureQueriesContext(connection) as queries:
        pick_http.wrap(lambda environ, start_response: [])
    assert queries.captured_queries == []
    key = f"default:{connection.vendor}"
    hot = (selectors._PUBLIC_EVENT, services._ENTRY_BY_NUMBER, services._CLAIM_FACTS)
    assert all(key in prepared._compiled for prepared in hot)
    assert set(hot) <= set(Prepared.defined)
    # one a test makes is not the project's: compile_all leaves it alone
    made_here = Prepared(lambda pk: selectors.OpeningEvent.objects.filter(pk=pk).values("pk"), "x")
    assert made_here not in Prepared.defined
