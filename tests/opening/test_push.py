"""The buyers' phones held by push (issue 16, ``opening/push.py``): a phone's stream starts
with what it lacks, resumes from the id EventSource sends back, learns of a pick when
the hub reads it; a process holds no more streams than it may and gives a slot back when
a stream closes; no personal data. The hub's own thread reads the events' versions once
a tick, and a pick committed by another thread (another worker) reaches every phone
stream within a second or so, with no query in the streams' threads."""

import json
import threading
import time

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from loupan.opening import push, screen
from loupan.opening.models import OpeningEvent
from tests.deals.helpers import project
from tests.opening.test_screen import _pick_in_thread, pick_next, running, strings
from tests.testing import web_client

pytestmark = pytest.mark.django_db


def stream_url(event):
    return f"/opening/{event.pk}/feed/stream/"


def frame(chunk: bytes) -> tuple[dict, dict]:
    """The event's data and its other fields (id, retry) of one SSE chunk."""
    fields, data = {}, None
    for line in chunk.decode().splitlines():
        key, _sep, value = line.partition(": ")
        if key == "data":
            data = json.loads(value)
        elif key:
            fields[key] = value
    return data, fields


def hang_up(response) -> None:
    """The phone goes away: the server closes the response (as Django's test client
    does at a stream's end, without closing the test's database connection)."""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


@pytest.fixture
def hub(monkeypatch):
    """A hub of this test's own whose listener thread is not started: the test reads
    the event again (``reread``) where the thread would after a notification."""
    mine = push.Hub(autostart=False)
    monkeypatch.setattr(push, "hub", mine)
    return mine


def test_a_stream_starts_with_the_picks_and_sends_each_change(demo, hub, monkeypatch):
    monkeypatch.setattr(screen, "KEEPALIVE", 0.05)
    event = running()
    response = web_client().get(stream_url(event))
    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache"
    chunks = response.streaming_content
    data, fields = frame(next(chunks))
    picked = set(event.picks.values_list("unit_id", flat=True))
    assert set(data["picked_units"]) == picked and data["counts"]["picked"] == 2
    assert fields["id"] == str(data["last_pick"]) and fields["retry"] == "3000"
    # nothing new: a comment, not a frame
    assert next(chunks) == b": keep-alive\n\n"
    pick = pick_next(event)
    hub.reread(event.pk)
    data, fields = frame(next(chunks))
    assert data["picked_units"] == [pick.unit_id]
    assert fields["id"] == str(pick.pk) and data["counts"]["picked"] == 3
    names = {pick.entry.customer.name, pick.entry.number, pick.entry.customer.phone}
    assert not names & set(strings(data))
    hang_up(response)


def test_reconnecting_resumes_from_the_last_event_id(demo, hub):
    event = running()
    last = event.picks.latest("pk").pk
    client = web_client()
    resumed = client.get(stream_url(event), HTTP_LAST_EVENT_ID=str(last))
    data, _fields = frame(next(resumed.streaming_content))
    assert data["picked_units"] == [] and data["last_pick"] == last
    hang_up(resumed)
    # the header wins over the query the page opened the stream with
    again = client.get(stream_url(event), {"since": "0"}, HTTP_LAST_EVENT_ID=str(last))
    assert frame(next(again.streaming_content))[0]["picked_units"] == []
    hang_up(again)


def test_a_process_holds_no_more_streams_than_it_may(demo, hub, settings):
    settings.LOUPAN_LIVE_STREAMS = 1
    event = running()
    phone = web_client()
    first = phone.get(stream_url(event))
    assert first.status_code == 200
    full = phone.get(stream_url(event))
    assert full.status_code == 503 and full.json()["code"] == "streams_full"
    assert full.json()["message"]
    hang_up(first)  # never read: the slot comes back all the same
    second = phone.get(stream_url(event))
    assert second.status_code == 200
    hang_up(second)
    # a refusal of another kind gives its slot back too
    assert phone.get(stream_url(event), {"since": "x"}).status_code == 400
    assert phone.get("/opening/999999/feed/stream/").status_code == 404
    third = phone.get(stream_url(event))
    assert third.status_code == 200
    hang_up(third)


def test_bad_input_and_unpublished_events_answer_in_the_error_shape(demo, hub):
    event = running()
    phone = web_client()
    bad = phone.get(stream_url(event), {"since": "-1"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    assert "since" in bad.json()["fields"]
    drafting = OpeningEvent.objects.filter(project=project()).exclude(
        status__in=["drawn", "selecting", "finished"]
    )
    for missing in [e.pk for e in drafting] + [999999]:
        answer = phone.get(f"/opening/{missing}/feed/stream/")
        assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    assert phone.post(stream_url(event)).status_code == 405


def test_the_buyer_page_holds_the_stream(demo):
    from tests.opening.test_favourites import registering_entry, signed_in

    event, entry, code = registering_entry()
    html = signed_in(event, entry, code).get(f"/opening/{event.pk}/").content.decode()
    assert f'data-stream="/opening/{event.pk}/feed/stream/"' in html
    assert f'data-live="/opening/{event.pk}/feed/"' in html  # the fallback


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_pick_by_another_worker_reaches_every_phone_stream(demo, settings):
    """The hub's thread reads the event's version every tick; twenty phone streams in
    their own threads wait on it; a pick committed in another thread (another worker)
    reaches each of them, and the streams' threads run no query while they wait."""
    settings.LOUPAN_LIVE_PUSH_MS = 100
    hub = push.Hub()
    original = push.hub
    push.hub = hub
    event = running()
    phones, received, queries, errors = 20, [], [], []
    ready = threading.Barrier(phones + 1)

    def phone(i):
        try:
            response = web_client().get(stream_url(event))
            chunks = response.streaming_content
            first, _fields = frame(next(chunks))
            ready.wait(10)
            with CaptureQueriesContext(connection) as ctx:
                while True:
                    chunk = next(chunks)
                    if chunk.startswith(b"data: "):
                        data, _fields = frame(chunk)
                        received.append((i, data, time.monotonic()))
                        break
            queries.append(len(ctx.captured_queries))
            response.close()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    try:
        threads = [threading.Thread(target=phone, args=(i,)) for i in range(phones)]
        for thread in threads:
            thread.start()
        ready.wait(30)
        picker = _pick_in_thread(event, 0.2, errors)
        picker.join()
        committed = time.monotonic()
        for thread in threads:
            thread.join(30)
    finally:
        push.hub = original
        hub.stop()
    assert errors == []
    assert len(received) == phones and set(queries) == {0}
    latest = event.picks.latest("pk")
    for _i, data, _at in received:
        assert data["picked_units"] == [latest.unit_id]
        assert data["last_pick"] == latest.pk
    assert max(at for _i, _d, at in received) - committed < 5


def test_the_hub_reads_which_watched_events_changed(demo):
    """Once a tick the hub reads the version of each event a stream waits on: a pick
    moves its event's, and the board read again brings it level; an event no stream
    waits on is not read at all."""
    event = running()
    mine = push.Hub(autostart=False)
    held = mine.held(event.pk)
    assert held is not None and mine._changed() == set()
    pick_next(event)
    assert mine._changed() == set() and mine._due(set()) == []  # nobody waits: not read
    held.waiting = 1  # a stream waits (``Hub.wait``)
    assert mine._changed() == {event.pk}
    mine.reread(event.pk)
    assert mine._changed() == set()
