"""The big screen 大屏 and the live feed (issue 16): the page and the JSON snapshot for
the hall's staff (a 404 for a role without ``opening.view``), no personal data in what
the screen and the phones get, a query count that does not grow with the picks, the
Server-Sent Events stream (a snapshot at once, another after a pick, comments while
idle), and the change seen through the database, which every thread, worker and server
shares: each waiter reads the event's version again (``live.poll_for_change``)."""

import json
import re
import threading
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loupan.opening import live, screen
from loupan.opening import services as s
from loupan.opening.models import OpeningEvent
from tests.deals.helpers import project, user
from tests.testing import web_client

pytestmark = pytest.mark.django_db

WRITE = re.compile(r'^\s*(INSERT|UPDATE|DELETE)\b(?:.*?)"(\w+)"', re.I | re.S)


def running():
    """The demo's event in progress: six units, batch 1 (positions 1–4) picking now,
    the first two entrants have picked."""
    return OpeningEvent.objects.get(project=project(), status="selecting")


def urls(event):
    base = f"/projects/{event.project_id}/opening/{event.pk}/"
    return base + "screen/", base + "live/", base + "stream/"


def pick_next(event):
    """The next entrant of the running batch without a pick takes the first free unit."""
    picked = set(event.picks.values_list("unit_id", flat=True))
    entry = next(e for e in event.entries.order_by("position")[:4] if not e.picks.exists())
    unit = next(eu.unit for eu in event.units.order_by("pk") if eu.unit_id not in picked)
    return s.unit_pick(actor=None, event=event, entry=entry, unit=unit, via="terminal")


def strings(value):
    """Every string and number in a JSON document, keys included."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)
    elif value is not None:
        yield str(value)


def test_screen_and_live_for_the_hall_without_personal_data(demo):
    event = running()
    page, live_url, _stream = urls(event)
    client = web_client(user("consultant"))
    html = client.get(page)
    assert html.status_code == 200
    body = html.content.decode()
    assert event.name in body and 'id="unit-grid"' in body
    assert "/static/bootstrap/css/bootstrap.min.css" in body and "/static/opening/screen.js" in body
    assert body.count("data-unit=") == event.units.count()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(live_url)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    writes = [
        m.group(2)
        for q in ctx.captured_queries
        if (m := WRITE.match(q["sql"])) and not m.group(2).startswith(("django_session", "axes_"))
    ]
    assert writes == []  # a GET writes nothing
    data = response.json()
    assert data["version"] == live.version(event.pk)
    assert data["counts"] == {
        "units": 6,
        "picked": 2,
        "free": 4,
        "entrants": event.entries.filter(position__isnull=False).count(),
        "entrants_picked": 2,
    }
    assert data["batch"]["number"] == 1 and data["next_batch"]["number"] == 2
    assert data["batch"]["starts_ms"] <= data["server_ms"] < data["batch"]["ends_ms"]
    assert {u["id"] for u in data["units"] if u["picked"]} == set(
        event.picks.values_list("unit_id", flat=True)
    )
    assert set(data["units"][0]) >= {"id", "number", "picked"}
    numbers = {u["number"] for u in data["units"]}
    assert len(data["latest"]) == 2 and all(p["number"] in numbers for p in data["latest"])
    # no customer names (full or masked), entry numbers, phones or ID numbers
    values = set(strings(data))
    text = json.dumps(data, ensure_ascii=False)
    for entry in event.entries.select_related("customer"):
        customer = entry.customer
        assert customer.name not in text and customer.name not in body
        assert entry.number not in values
        assert customer.phone[-11:] not in text and customer.phone[-11:] not in body
        assert customer.id_number not in text
    assert not {"customer", "entry", "phone", "id_number"} & values


def test_a_role_without_opening_view_gets_a_404(demo):
    event = running()
    client = web_client(user("planner"))  # a member of the project, without opening.view
    for url in urls(event):
        assert client.get(url).status_code == 404, url
    anonymous = web_client()
    assert anonymous.get(urls(event)[1]).status_code == 302  # to the login page


def test_live_costs_the_same_queries_whatever_the_picks(demo):
    event = running()
    live_url = urls(event)[1]
    client = web_client(user("consultant"))
    client.get(live_url)  # warm the session
    counts = []
    for _ in range(3):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(live_url).status_code == 200
        counts.append(len(ctx.captured_queries))
        if len(counts) < 3:
            pick_next(event)
    assert counts[0] == counts[1] == counts[2] <= 10, counts
    assert client.get(live_url).json()["counts"]["picked"] == 4


def test_a_buyer_signed_in_on_a_phone_reads_the_snapshot(demo):
    event = running()
    url = f"/opening/{event.pk}/live/"
    phone = web_client()
    assert phone.get(url).status_code == 404  # not signed in
    session = phone.session
    session[f"opening_entry_{event.pk}"] = event.entries.order_by("position").first().pk
    session.save()
    response = phone.get(url)
    assert response.status_code == 200 and response.json()["counts"]["picked"] == 2


def test_the_stream_starts_with_a_snapshot(demo, monkeypatch):
    # a short stream, read to its end: the test client then closes it its own way
    monkeypatch.setattr(screen, "LIFETIME", 0.3)
    monkeypatch.setattr(screen, "KEEPALIVE", 0.1)
    event = running()
    response = web_client(user("consultant")).get(urls(event)[2])
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    assert response["Cache-Control"] == "no-cache" and response["X-Accel-Buffering"] == "no"
    chunks = response.streaming_content
    first = next(chunks).decode()
    assert set(chunks) == {b": keep-alive\n\n"}  # then it ends; EventSource reconnects
    assert first.startswith("data: ") and first.endswith("\n\n")
    data = json.loads(first.splitlines()[0].removeprefix("data: "))
    assert data["version"] == live.version(event.pk) and data["counts"]["picked"] == 2


def test_the_stream_sends_a_snapshot_after_a_pick_and_comments_while_idle(demo):
    event = running()
    chunks = screen.events(event, keepalive=0.2, lifetime=30)
    try:
        first = json.loads(next(chunks).decode().splitlines()[0][6:])
        pick = pick_next(event)
        second = next(chunks).decode()
        assert second.startswith("data: ")
        data = json.loads(second.splitlines()[0][6:])
        assert data["version"] != first["version"] and data["counts"]["picked"] == 3
        assert data["latest"][0]["number"] == pick.unit.number
        assert next(chunks) == b": keep-alive\n\n"  # nothing new within keepalive
    finally:
        chunks.close()  # the browser went away


def test_the_stream_ends_after_its_lifetime(demo):
    chunks = list(screen.events(running(), keepalive=0.1, lifetime=0.3))
    assert (
        chunks[0].startswith(b"data: ") and chunks[1:] and set(chunks[1:]) == {b": keep-alive\n\n"}
    )


def test_polling_returns_when_the_version_changes(demo, monkeypatch):
    """``poll_for_change`` reads the version every half second until it moves."""
    event = running()
    before = live.version(event.pk)
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 2:
            pick_next(event)  # a pick lands between two polls

    monkeypatch.setattr(live, "_sleep", sleep)
    wait = live.poll_for_change
    after = wait(event.pk, before, timeout=30)
    assert after != before and after == live.version(event.pk)
    assert sleeps == [live.POLL_INTERVAL] * 2
    # nothing changes: back after the timeout with the same version
    sleeps.clear()
    monkeypatch.setattr(
        live, "_sleep", lambda seconds: sleeps.append(seconds) or time.sleep(seconds)
    )
    started = time.monotonic()
    assert wait(event.pk, after, timeout=0.3) == after
    assert time.monotonic() - started >= 0.3 and sleeps


def test_version_follows_picks_and_status(demo):
    event = running()
    first = live.version(event.pk)
    assert first == live.snapshot(event)["version"]
    pick_next(event)
    second = live.version(event.pk)
    assert second != first and second == live.snapshot(event)["version"]
    s.event_finish(actor=user("manager"), event=event)
    event.refresh_from_db()
    assert live.version(event.pk) not in (first, second)
    assert live.version(10**9) == 0


def _pick_in_thread(event, delay, errors):
    """Another worker: picks after ``delay`` seconds and commits."""

    def run():
        try:
            time.sleep(delay)
            pick_next(event)  # its own transaction, committed on return
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_pick_committed_by_another_thread_is_seen_by_the_poll(demo):
    event = running()
    before = live.version(event.pk)
    errors = []
    thread = _pick_in_thread(event, 0.5, errors)
    started = time.monotonic()
    after = live.poll_for_change(event.pk, before, 30)
    elapsed = time.monotonic() - started
    thread.join()
    assert errors == []
    assert after != before and after == live.version(event.pk)
    assert 0.4 < elapsed < 5  # at the first read after its commit, not at the timeout
    connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_stream_pushes_a_pick_made_by_another_worker(demo, monkeypatch):
    monkeypatch.setattr(screen, "LIFETIME", 3)
    event = running()
    response = web_client(user("consultant")).get(urls(event)[2])
    chunks = response.streaming_content
    errors = []
    try:
        first = json.loads(next(chunks).decode().splitlines()[0][6:])
        thread = _pick_in_thread(event, 0.3, errors)
        started = time.monotonic()
        second = next(chunks).decode()
        thread.join()
    finally:
        list(chunks)  # the rest, until the stream's end
    assert errors == []
    assert second.startswith("data: ") and time.monotonic() - started < 10
    data = json.loads(second.splitlines()[0][6:])
    assert data["version"] != first["version"] and data["counts"]["picked"] == 3


def test_the_phones_feed_is_public_and_says_only_what_changed(demo, settings):
    """``/opening/<id>/feed/?since=`` (what a buyer's page polls): no session, the units
    picked after ``since``, no personal data; a bad ``since`` is a 400 naming the field,
    an event not yet drawn or unknown a 404, both in the API's error shape."""
    settings.LOUPAN_LIVE_CACHE_MS = 0  # read the picks at every request here
    event = running()
    phone = web_client()
    url = f"/opening/{event.pk}/feed/"
    first = phone.get(url).json()
    assert first["picked_units"] == list(
        event.picks.order_by("pk").values_list("unit_id", flat=True)
    )
    assert first["counts"]["picked"] == 2 and first["last_pick"] == event.picks.latest("pk").pk
    assert phone.get(url, {"since": first["last_pick"]}).json()["picked_units"] == []
    pick = pick_next(event)
    later = phone.get(url, {"since": first["last_pick"]}).json()
    assert later["picked_units"] == [pick.unit_id] and later["last_pick"] == pick.pk
    assert later["counts"]["picked"] == 3 and later["version"] == live.version(event.pk)
    names = {event.entries.first().customer.name, event.entries.first().number}
    assert not names & set(strings(later))
    bad = phone.get(url, {"since": "x"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    assert "since" in bad.json()["fields"]
    drafting = OpeningEvent.objects.exclude(status__in=["drawn", "selecting", "finished"]).first()
    for missing in ([drafting.pk] if drafting else []) + [999999]:
        answer = phone.get(f"/opening/{missing}/feed/")
        assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    assert phone.post(url).status_code == 405
