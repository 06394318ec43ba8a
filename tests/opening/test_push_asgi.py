"""The phones' pushed feed on the ASGI server (``loupan.asgi``, ``opening/push_asgi.py``),
driven as an ASGI server drives it (asgiref's ``ApplicationCommunicator``): the same
frames as the WSGI stream, a change once the hub reads it, the error shape for a bad
``since``, another method, a full process and an unknown event; the slot back when the
phone goes; every other path answered by Django."""

import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from asgiref.testing import ApplicationCommunicator

from loupan.asgi import application
from loupan.opening import push
from tests.opening.test_push import frame
from tests.opening.test_screen import pick_next, running

pytestmark = pytest.mark.django_db


@pytest.fixture
def hub(monkeypatch):
    mine = push.Hub(autostart=False)
    monkeypatch.setattr(push, "hub", mine)
    return mine


def scope(path, method="GET", query=b"", headers=()):
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def opened(path, **kwargs):
    phone = ApplicationCommunicator(application, scope(path, **kwargs))
    await phone.send_input({"type": "http.request", "body": b""})
    start = await phone.receive_output(timeout=10)
    return phone, start


async def body_of(phone) -> bytes:
    chunks = []
    while True:
        message = await phone.receive_output(timeout=10)
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def test_a_phone_holds_the_feed_on_the_asgi_server(demo, hub):
    event = running()
    hub.held(event.pk)  # read here: the test's own database connection

    async def scenario():
        phone, start = await opened(f"/opening/{event.pk}/feed/stream/")
        assert start["status"] == 200
        assert dict(start["headers"])[b"content-type"] == b"text/event-stream"
        data, fields = frame((await phone.receive_output(timeout=10))["body"])
        assert data["counts"]["picked"] == 2 and fields["retry"] == "3000"
        assert fields["id"] == str(data["last_pick"])
        pick = await sync_to_async(pick_next)(event)
        await sync_to_async(hub.reread)(event.pk)
        data, fields = frame((await phone.receive_output(timeout=10))["body"])
        assert data["picked_units"] == [pick.unit_id]
        assert fields["id"] == str(pick.pk)
        # the phone goes: the stream ends and gives its slot back
        await phone.send_input({"type": "http.disconnect"})
        await phone.wait(timeout=10)
        return pick

    pick = async_to_sync(scenario)()
    assert hub.take_slot()  # not leaked

    async def resumed():
        phone, start = await opened(
            f"/opening/{event.pk}/feed/stream/", headers=[(b"last-event-id", str(pick.pk).encode())]
        )
        data, _fields = frame((await phone.receive_output(timeout=10))["body"])
        await phone.send_input({"type": "http.disconnect"})
        await phone.wait(timeout=10)
        return data

    assert async_to_sync(resumed)()["picked_units"] == []


def test_refusals_in_the_error_shape(demo, hub, settings):
    event = running()
    hub.held(event.pk)

    async def answer(path, **kwargs):
        phone, start = await opened(path, **kwargs)
        body = json.loads(await body_of(phone))
        await phone.wait(timeout=10)
        return start["status"], body

    status, body = async_to_sync(answer)(f"/opening/{event.pk}/feed/stream/", query=b"since=x")
    assert status == 400 and body["code"] == "invalid" and "since" in body["fields"]
    status, body = async_to_sync(answer)(f"/opening/{event.pk}/feed/stream/", method="POST")
    assert status == 405 and body["code"] == "method_not_allowed"
    status, body = async_to_sync(answer)("/opening/999999/feed/stream/")
    assert status == 404 and body["code"] == "not_found"
    settings.LOUPAN_LIVE_STREAMS = 0
    status, body = async_to_sync(answer)(f"/opening/{event.pk}/feed/stream/")
    assert status == 503 and body["code"] == "streams_full" and body["message"]


def test_every_other_path_is_djangos(demo, hub):
    event = running()

    async def get(path):
        phone, start = await opened(path)
        body = await body_of(phone)
        await phone.wait(timeout=10)
        return start["status"], body

    status, body = async_to_sync(get)("/healthz")
    assert status == 200
    status, body = async_to_sync(get)(f"/opening/{event.pk}/feed/")
    assert status == 200 and json.loads(body)["counts"]["picked"] == 2
