"""The buyer API of opening day (issue 16 "by API too"): a buyer picks with the entry
number and the selection code, no account, token or session; the free-unit view anyone
may read (no personal data, a GET writes nothing); the per-address limit beside the
per-buyer one, with its own code, shared through the database (a burst from one address
on PostgreSQL gets exactly one request through per interval); the client address read
from X-Forwarded-For only behind a trusted proxy."""

import datetime
import json
import time

import pytest
from django.db import connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from loupan.audit.models import AuditEntry
from loupan.audit.services import verify_chain
from loupan.core.context import client_ip
from loupan.opening import live
from loupan.opening import services as s
from loupan.opening.models import Entry, Pick, PickAddress
from tests.deals.helpers import free_unit, user
from tests.opening.test_services import buyer, drawn, make_event, selecting
from tests.testing import race

pytestmark = pytest.mark.django_db


def open_event(numbers, unit_count=3, max_units=1, **kw):
    """An event selecting now, with ``numbers`` as buyers, and each entry's code."""
    buyers = [buyer(n) for n in numbers]
    event, entries = drawn(make_event(unit_count=unit_count, max_units=max_units, **kw), buyers)
    event = selecting(event, entries)
    entries = sorted((Entry.objects.get(pk=e.pk) for e in entries), key=lambda e: e.position)
    codes = {e.number: s.entry_code_reset(actor=user("manager"), entry=e) for e in entries}
    return event, entries, codes


def url(event, what="buyer-picks"):
    return f"/api/v1/opening-events/{event.pk}/{what}/"


def pick(client, event, entry, code, unit, **extra):
    body = {"entry": entry.number, "code": code, "unit": getattr(unit, "pk", unit)}
    return client.post(url(event), body, format="json", **extra)


def event_units(event):
    return [eu.unit for eu in event.units.order_by("unit_id")]


def test_a_buyer_picks_with_the_entry_number_and_code(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    settings.LOUPAN_PICK_ADDRESS_INTERVAL_MS = 0
    event, entries, codes = open_event(range(80, 84), unit_count=3)
    first, second, *_ = entries
    units = event_units(event)
    phone = APIClient()  # no account, no token, no session
    done = pick(phone, event, first, codes[first.number], units[0])
    assert done.status_code == 201, done.json()
    body = done.json()
    assert body["unit"] == units[0].pk and body["entry"] == first.number
    made = Pick.objects.get(pk=body["id"])
    assert made.entry == first and made.via == "api" and made.actor is None
    assert made.ip == "127.0.0.1"
    audited = AuditEntry.objects.filter(object_type="opening.pick", object_id=str(made.pk))
    assert audited.get().actor_username == f"认筹号{first.number}"
    assert verify_chain()[1] is None
    assert "sessionid" not in done.cookies
    # the refusals, each with its own code
    taken = pick(phone, event, second, codes[second.number], units[0])
    assert taken.status_code == 409 and taken.json()["code"] == "unit_taken"
    again = pick(phone, event, first, codes[first.number], units[1])
    assert again.status_code == 409 and again.json()["code"] == "quota_reached"
    outside = pick(phone, event, second, codes[second.number], free_unit(70))
    assert outside.status_code == 400 and outside.json()["code"] == "not_in_event"
    wrong = pick(phone, event, second, "00000000", units[1])
    assert wrong.status_code == 400 and wrong.json()["code"] == "code_invalid"
    assert "code" in wrong.json()["fields"]
    assert Entry.objects.get(pk=second.pk).code_failures == 1
    nobody = phone.post(url(event), {"entry": "9999", "code": "1", "unit": units[1].pk})
    assert nobody.status_code == 400 and nobody.json()["code"] == "code_invalid"
    missing = phone.post(url(event), {"entry": second.number, "unit": units[1].pk}, format="json")
    assert missing.status_code == 400 and missing.json()["code"] == "invalid"
    assert "code" in missing.json()["fields"]
    assert Pick.objects.filter(event=event).count() == 1
    # a token of someone else changes nothing: the buyer API reads no credentials
    token = APIClient()
    token.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    ok = pick(token, event, second, codes[second.number], units[1])
    assert ok.status_code == 201 and Pick.objects.get(pk=ok.json()["id"]).actor is None


def test_the_code_and_the_buyers_limit_in_one_update_and_each_refusal_said(demo, settings):
    """A buyer's pick signs in and moves the buyer's limit on in one UPDATE
    (``services._signed_in``); when that finds no row, the code and the limit are read
    on their own and the refusal says which: a wrong code (counted), the lock-out after
    five, a request too soon. A right code clears the wrong ones."""
    settings.LOUPAN_PICK_ADDRESS_INTERVAL_MS = 0
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 60_000
    event, entries, codes = open_event(range(40, 42), unit_count=3)
    first, second = entries
    units = event_units(event)
    phone = APIClient()
    wrong = pick(phone, event, first, "00000000", units[0])
    assert wrong.status_code == 400 and wrong.json()["code"] == "code_invalid"
    assert Entry.objects.get(pk=first.pk).code_failures == 1
    assert Entry.objects.get(pk=first.pk).tried_at is None  # a wrong code is no request
    done = pick(phone, event, first, f" {codes[first.number]} ", units[0])
    assert done.status_code == 201, done.json()
    signed = Entry.objects.get(pk=first.pk)
    assert signed.code_failures == 0 and signed.tried_at is not None
    soon = pick(phone, event, first, codes[first.number], units[1])
    assert soon.status_code == 429 and soon.json()["code"] == "too_fast"
    for _ in range(5):
        assert pick(phone, event, second, "00000000", units[1]).json()["code"] == "code_invalid"
    locked = pick(phone, event, second, codes[second.number], units[1])
    assert locked.status_code == 429 and locked.json()["code"] == "code_locked"
    assert Entry.objects.get(pk=second.pk).tried_at is None
    # the address's limit first: refused, the entry is not touched, its code not read
    settings.LOUPAN_PICK_ADDRESS_INTERVAL_MS = 60_000
    Entry.objects.filter(pk=second.pk).update(code_failures=0)
    assert pick(phone, event, second, codes[second.number], units[1]).status_code == 201
    refused = pick(APIClient(), event, first, "00000000", units[2])  # the same address
    assert refused.status_code == 429 and refused.json()["code"] == "address_too_fast"
    assert Entry.objects.get(pk=first.pk).code_failures == 0
    picked = Pick.objects.filter(event=event).order_by("pk").values_list("unit_id", flat=True)
    assert list(picked) == [units[0].pk, units[1].pk]


def test_outside_the_window_and_before_the_draw(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    settings.LOUPAN_PICK_ADDRESS_INTERVAL_MS = 0
    buyers = [buyer(n) for n in range(84, 88)]
    event, entries = drawn(make_event(unit_count=2), buyers)
    entries = sorted((Entry.objects.get(pk=e.pk) for e in entries), key=lambda e: e.position)
    selecting(event, entries, per_batch=2)
    late = entries[-1]  # the second batch, whose window opens in 29 minutes
    code = s.entry_code_reset(actor=user("manager"), entry=late)
    refused = pick(APIClient(), event, late, code, event_units(event)[0])
    assert refused.status_code == 409 and refused.json()["code"] == "not_your_turn"
    assert not Pick.objects.filter(event=event).exists()
    # an event not yet drawn is not there for anyone without an account
    draft = make_event(unit_count=1, name="二期开盘")
    gone = APIClient().post(url(draft), {"entry": "0001", "code": "1", "unit": 1}, format="json")
    assert gone.status_code == 404 and gone.json()["code"] == "not_found"
    assert APIClient().get(url(draft, "live")).status_code == 404


def test_one_request_per_address_and_per_buyer(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 60_000
    settings.LOUPAN_PICK_ADDRESS_INTERVAL_MS = 60_000
    settings.LOUPAN_TRUSTED_PROXIES = ["127.0.0.1"]
    event, entries, codes = open_event(range(88, 92), unit_count=3)
    first, second, third, _fourth = entries
    units = event_units(event)
    phone = APIClient()

    def via(address):
        return {"HTTP_X_FORWARDED_FOR": address}

    # a wrong code counts against the address too: guessing is as slow as picking
    wrong = pick(phone, event, first, "00000000", units[0], **via("10.1.0.1"))
    assert wrong.json()["code"] == "code_invalid"
    fast = pick(phone, event, first, codes[first.number], units[0], **via("10.1.0.1"))
    assert fast.status_code == 429 and fast.json()["code"] == "address_too_fast"
    assert "60 秒" in fast.json()["message"]
    # from another address the buyer goes through; the same buyer at once again is
    # refused by the buyer's own limit, from a third address
    ok = pick(phone, event, first, codes[first.number], units[0], **via("10.1.0.2"))
    assert ok.status_code == 201
    again = pick(phone, event, first, codes[first.number], units[1], **via("10.1.0.3"))
    assert again.status_code == 429 and again.json()["code"] == "too_fast"
    # another buyer from a fresh address is not slowed down by either
    other = pick(phone, event, second, codes[second.number], units[1], **via("10.1.0.4"))
    assert other.status_code == 201
    # a client that writes its own X-Forwarded-For gains nothing: the proxy's last hop
    # is the one believed
    forged = pick(phone, event, third, codes[third.number], units[2], **via("10.9.9.9, 10.1.0.4"))
    assert forged.json()["code"] == "address_too_fast"
    rows = dict(PickAddress.objects.filter(event=event).values_list("address", "tried_at"))
    assert set(rows) == {"10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4"}
    # the office picks for many buyers from one terminal: no address limit there
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    office = APIClient()
    office.force_authenticate(user("manager"))
    staff = office.post(
        url(event, "picks"), {"entry": third.number, "unit": units[2].pk}, format="json"
    )
    assert staff.status_code == 201, staff.json()
    assert Pick.objects.get(pk=staff.json()["id"]).ip == "127.0.0.1"


def test_an_interval_of_zero_turns_the_address_limit_off(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    settings.LOUPAN_PICK_ADDRESS_INTERVAL_MS = 0
    event, entries, codes = open_event(range(92, 94), unit_count=2)
    units = event_units(event)
    for entry, unit in zip(entries, units, strict=True):
        assert pick(APIClient(), event, entry, codes[entry.number], unit).status_code == 201
    assert not PickAddress.objects.exists()


def test_a_buyers_pick_is_one_transaction_of_short_statements(demo, settings):
    """The buyer API's pick (bench/opening's hot path): the event, then on PostgreSQL one
    call of the pick's database function; elsewhere one transaction (a savepoint in the
    test's) with the address's limit, the code and the buyer's limit in one UPDATE, the
    facts in one read and the INSERT. No statement compiled per pick by the ORM beyond
    the event's, no second transaction for a refusal."""
    event, entries, codes = open_event(range(90, 92), unit_count=2)
    units = event_units(event)
    with CaptureQueriesContext(connection) as queries:
        answer = pick(APIClient(), event, entries[0], codes[entries[0].number], units[0])
    assert answer.status_code == 201, answer.json()
    sql = [q["sql"] for q in queries.captured_queries]
    if connection.vendor == "postgresql":
        # the event's read, then the pick: one call of the database function made of
        # the Python path's statements (services._pick_function), one round trip
        call = next(i for i, q in enumerate(sql) if "loupan_opening_pick_" in q)
        claim = sql[: call + 1]
        assert len(claim) == 2 and claim[-1].startswith("SELECT * FROM loupan_opening_pick_")
        assert not any(q.startswith("SAVEPOINT") for q in claim)
    else:
        insert = next(i for i, q in enumerate(sql) if 'INSERT INTO "opening_pick"' in q)
        claim = sql[: insert + 1]
        assert len(claim) == 6, claim
        assert sum('UPDATE "opening_entry"' in q for q in claim) == 1
        assert sum('INTO "opening_pickaddress"' in q for q in claim) == 1
        assert sum(q.startswith("SAVEPOINT") for q in claim) == 1
        assert "ON CONFLICT (event_id, unit_id) DO NOTHING" in claim[-1]
    assert answer.json()["unit_number"] == units[0].number and answer.json()["deal"]
    # refused in the same transaction, the limits' writes kept (committed, not rolled back)
    again = pick(APIClient(), event, entries[0], codes[entries[0].number], units[1])
    assert again.status_code == 429 and again.json()["code"] == "address_too_fast"
    assert PickAddress.objects.filter(event=event).exists()
    settings.LOUPAN_PICK_ADDRESS_INTERVAL_MS = 0
    again = pick(APIClient(), event, entries[0], codes[entries[0].number], units[1])
    assert again.status_code == 429 and again.json()["code"] == "too_fast"
    assert Entry.objects.get(pk=entries[0].pk).tried_at is not None
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    over = pick(APIClient(), event, entries[0], codes[entries[0].number], units[1])
    assert over.status_code == 409 and over.json()["code"] == "quota_reached"
    taken = pick(APIClient(), event, entries[1], codes[entries[1].number], units[0])
    assert taken.json()["code"] == "unit_taken"
    assert Pick.objects.filter(event=event).count() == 1


def test_the_free_unit_view_is_public_and_writes_nothing(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    settings.LOUPAN_PICK_ADDRESS_INTERVAL_MS = 0
    settings.LOUPAN_LIVE_CACHE_MS = 0
    event, entries, codes = open_event(range(94, 97), unit_count=3)
    units = event_units(event)
    phone = APIClient()
    with CaptureQueriesContext(connection) as queries:
        full = phone.get(url(event, "live"))
    assert full.status_code == 200
    sql = " ".join(q["sql"].upper() for q in queries.captured_queries)
    assert not any(word in sql for word in ("INSERT", "UPDATE ", "DELETE"))
    data = full.json()
    assert data["counts"] == {
        "units": 3,
        "picked": 0,
        "free": 3,
        "entrants": 3,
        "entrants_picked": 0,
    }
    assert [u["id"] for u in data["units"]] and not any(u["picked"] for u in data["units"])
    assert data["last_pick"] == 0 and data["batch"] is not None
    assert full["Cache-Control"] == "no-cache"
    text = json.dumps(data, ensure_ascii=False)
    for entry in entries:
        assert entry.customer.name not in text and entry.id_number not in text
        assert entry.customer.phone[-8:] not in text
    # nothing new since: no units; one pick later, only that unit
    since = data["last_pick"]
    assert phone.get(url(event, "live"), {"since": since}).json()["picked_units"] == []
    assert pick(phone, event, entries[0], codes[entries[0].number], units[1]).status_code == 201
    with CaptureQueriesContext(connection) as queries:
        delta = phone.get(url(event, "live"), {"since": since}).json()
    # the event, counts, the last settled pick, the picks up to it, batches; on
    # PostgreSQL the last settled pick is read with the event held alone
    # (live.hold_event_alone), in a transaction of its own that ends before the picks
    sql = [q["sql"] for q in queries.captured_queries]
    extra = 3 if connection.vendor == "postgresql" else 0
    assert len(sql) == 5 + extra, sql
    if extra:
        lock = next(i for i, q in enumerate(sql) if "pg_advisory_xact_lock(" in q)
        assert "max(id)" in sql[lock + 1] and sql[lock + 2].startswith("RELEASE SAVEPOINT")
        assert 'FROM "opening_pick"' in sql[lock + 3]
    assert delta["picked_units"] == [units[1].pk] and "units" not in delta
    assert delta["counts"]["picked"] == 1 and delta["counts"]["free"] == 2
    assert delta["last_pick"] > since and delta["version"] != data["version"]
    assert delta["latest"][0]["number"] == units[1].number
    full_again = phone.get(url(event, "live")).json()
    assert full_again["version"] == delta["version"]
    assert {u["id"] for u in full_again["units"] if u["picked"]} == {units[1].pk}
    bad = phone.get(url(event, "live"), {"since": "abc"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    assert "since" in bad.json()["fields"]


def test_a_worker_reads_the_board_at_most_once_per_interval(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    settings.LOUPAN_PICK_ADDRESS_INTERVAL_MS = 0
    settings.LOUPAN_LIVE_CACHE_MS = 60_000
    event, entries, codes = open_event(range(97, 99), unit_count=2)
    units = event_units(event)
    phone = APIClient()
    live.changed_here(event.pk)  # nothing cached from an earlier test
    first = phone.get(url(event, "live"), {"since": 0}).json()
    with CaptureQueriesContext(connection) as queries:
        again = phone.get(url(event, "live"), {"since": 0}).json()
    assert not queries.captured_queries  # the event and the board are this worker's
    assert again["counts"] == first["counts"] and again["picked_units"] == []
    # a pick committed elsewhere shows once the interval has passed; one committed by
    # this worker at once (the pick's on_commit calls changed_here)
    s.unit_pick(actor=None, event=event, entry=entries[0], unit=units[0], via="phone")
    assert phone.get(url(event, "live"), {"since": 0}).json()["picked_units"] == []
    live.changed_here(event.pk)
    fresh = phone.get(url(event, "live"), {"since": 0}).json()
    assert fresh["picked_units"] == [units[0].pk]
    assert fresh["counts"]["picked"] == 1
    del codes


def test_the_client_address_behind_a_trusted_proxy_only(settings):
    factory = RequestFactory()

    def ip(remote, forwarded=None):
        extra = {"REMOTE_ADDR": remote}
        if forwarded is not None:
            extra["HTTP_X_FORWARDED_FOR"] = forwarded
        return client_ip(factory.get("/", **extra))

    settings.LOUPAN_TRUSTED_PROXIES = []
    assert ip("203.0.113.5", "10.0.0.1") == "203.0.113.5"  # nobody trusted: the peer
    settings.LOUPAN_TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    assert ip("203.0.113.5", "10.0.0.1") == "203.0.113.5"  # not from a proxy
    assert ip("127.0.0.1", "198.51.100.7") == "198.51.100.7"
    assert ip("127.0.0.1", "1.2.3.4, 198.51.100.7, 10.0.0.2") == "198.51.100.7"
    assert ip("127.0.0.1", "10.0.0.3, 10.0.0.2") == "127.0.0.1"  # only proxies
    assert ip("127.0.0.1", "not-an-address") == "127.0.0.1"
    assert ip("127.0.0.1") == "127.0.0.1"
    assert ip("127.0.0.1", "2001:db8::1") == "2001:db8::1"


def test_the_retired_forwarded_for_switch_stops_the_server_with_what_to_set_instead():
    """``LOUPAN_TRUST_X_FORWARDED_FOR`` believed a header any client writes: a server
    still configured with it refuses to start and names ``LOUPAN_TRUSTED_PROXIES``."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "LOUPAN_TRUST_X_FORWARDED_FOR": "1"}
    done = subprocess.run(
        [sys.executable, "-c", "import loupan.settings"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "LOUPAN_TRUSTED_PROXIES" in done.stderr
    env.pop("LOUPAN_TRUST_X_FORWARDED_FOR")
    assert subprocess.run([sys.executable, "-c", "import loupan.settings"], env=env).returncode == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_burst_from_one_address_gets_one_request_through(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    settings.LOUPAN_PICK_ADDRESS_INTERVAL_MS = 400
    event, entries, codes = open_event(range(60, 72), unit_count=12, max_units=1)
    units = event_units(event)

    def burst(offset):
        return race(
            6,
            lambda i: s.buyer_pick(
                event=event,
                number=entries[offset + i].number,
                code=codes[entries[offset + i].number],
                unit=units[offset + i],
                via="api",
                ip="198.51.100.20",
            ),
        )

    first = burst(0)
    assert first.count("ok") == 1 and set(first) == {"ok", "address_too_fast"}, first
    time.sleep(0.45)  # the next interval: again exactly one of a burst
    second = burst(6)
    assert second.count("ok") == 1 and set(second) == {"ok", "address_too_fast"}, second
    assert Pick.objects.filter(event=event).count() == 2
    assert PickAddress.objects.filter(event=event).count() == 1
    # four addresses at once: none slows another
    waiting = [e for e in entries if not Pick.objects.filter(entry=e).exists()][:4]
    free = [u for u in units if not Pick.objects.filter(unit=u).exists()][:4]
    spread = race(
        4,
        lambda i: s.buyer_pick(
            event=event,
            number=waiting[i].number,
            code=codes[waiting[i].number],
            unit=free[i],
            via="api",
            ip=f"198.51.100.{30 + i}",
        ),
    )
    assert spread == ["ok"] * 4, spread


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_picks_hold_the_event_together_and_a_change_of_it_waits_for_them(demo, settings):
    """A pick holds its event in shared mode (``live.hold_event``: an advisory lock, no
    row lock on the event written): another pick does not wait, nor does a lock of the
    event's row; a change of the event (``services._lock_event``) waits for the picks
    under way, and a pick that waited for it reads the event as it left it."""
    import threading

    from django.db import transaction

    from loupan.opening import live
    from loupan.opening.models import OpeningEvent

    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    settings.LOUPAN_PICK_ADDRESS_INTERVAL_MS = 0
    event, entries, codes = open_event(range(72, 75), unit_count=3)
    units = event_units(event)
    table = OpeningEvent._meta.db_table
    held, release = threading.Event(), threading.Event()

    def hold(take, then=None):
        try:
            with transaction.atomic():
                take()
                held.set()
                release.wait(10)
                if then:
                    then()
        finally:
            connection.close()

    # a pick under way holds the event: another pick does not wait, and the event's row
    # is not locked by it
    holder = threading.Thread(target=hold, args=(lambda: live.hold_event(event.pk),))
    holder.start()
    assert held.wait(10)
    started = time.monotonic()
    results = race(
        1,
        lambda i: s.unit_pick(actor=None, event=event, entry=entries[0], unit=units[0], via="api"),
    )
    assert results == ["ok"] and time.monotonic() - started < 5
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE NOWAIT", [event.pk])
    changing = []
    changer = threading.Thread(target=hold, args=(lambda: changing.append(s._lock_event(event)),))
    held.clear()
    changer.start()
    time.sleep(0.5)
    assert not changing  # the change waits for the pick under way
    release.set()
    holder.join()
    changer.join(10)
    assert changing and not changer.is_alive()
    # a change of the event holds it alone: a pick waits for it, then reads it finished
    held.clear()
    release.clear()

    def finish():
        OpeningEvent.objects.filter(pk=event.pk).update(status="finished")

    holder = threading.Thread(target=hold, args=(lambda: s._lock_event(event), finish))
    holder.start()
    assert held.wait(10)
    outcome = []
    picker = threading.Thread(
        target=lambda: outcome.extend(
            race(
                1,
                lambda i: s.unit_pick(
                    actor=None, event=event, entry=entries[1], unit=units[1], via="api"
                ),
            )
        )
    )
    # a buyer's own pick holds the event in its first statement (services._signed_in)
    buyer_outcome = []
    buyer = threading.Thread(
        target=lambda: buyer_outcome.extend(
            race(
                1,
                lambda i: s.buyer_pick(
                    event=event,
                    number=entries[2].number,
                    code=codes[entries[2].number],
                    unit=units[2],
                    via="api",
                    ip="198.51.100.77",
                ),
            )
        )
    )
    picker.start()
    buyer.start()
    time.sleep(0.5)
    assert picker.is_alive() and buyer.is_alive()  # waiting for the change of the event
    release.set()
    holder.join()
    picker.join(10)
    buyer.join(10)
    assert outcome == ["event_status"], outcome
    assert buyer_outcome == ["event_status"], buyer_outcome
    assert Pick.objects.filter(event=event).count() == 1


def test_a_pick_does_not_read_the_lottery_package(demo, settings):
    """The published package holds every entrant: a buyer's pick or a phone's poll
    reads the event without it (deferred; read when asked for)."""
    event, entries, codes = open_event(range(100, 102), unit_count=2)
    units = event_units(event)
    from loupan.opening import selectors

    public = selectors.public_event(event.pk)
    assert "package" in public.get_deferred_fields()
    assert public.status == event.status and public.project_id == event.project_id
    with CaptureQueriesContext(connection) as queries:
        answer = pick(APIClient(), event, entries[0], codes[entries[0].number], units[0])
    assert answer.status_code == 201
    assert not any('"package"' in q["sql"] for q in queries.captured_queries)
    assert public.package == event.__class__.objects.get(pk=event.pk).package  # on demand


@pytest.mark.postgres
def test_the_database_function_refuses_as_the_python_path_does(demo, settings):
    """On PostgreSQL a buyer's pick is one call of the pick's database function, made
    of the Python path's statements and its one decision (``services._refusal``): each
    refusal comes out the same as from the Python path (``services._claim``, which the
    office's picks take), with the same code, message and fields."""
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    settings.LOUPAN_PICK_ADDRESS_INTERVAL_MS = 0
    event, entries, codes = open_event(range(60, 64), unit_count=3, max_units=1)
    first, second, third, late = entries
    units = event_units(event)
    outside = free_unit()  # a unit of the project, not in the event
    now = timezone.now()

    def both(entry, unit):
        answers = []
        for way in ("database", "python"):
            try:
                with transaction.atomic():
                    if way == "database":
                        s._picked_by_database(
                            event, entry.number, codes[entry.number], unit.pk, "api", None, now
                        )
                    else:
                        s._claim(
                            actor=None,
                            event=event,
                            entry=Entry.objects.get(pk=entry.pk),
                            unit=unit.pk,
                            via="api",
                            ip=None,
                            now=now,
                        )
                    transaction.set_rollback(True)  # the pick undone: the other way tries
                answers.append("ok")
            except s.DomainError as refusal:
                answers.append(refusal.as_dict())
        assert answers[0] == answers[1], answers
        return answers[0] if answers[0] == "ok" else answers[0]["code"]

    assert both(first, outside) == "not_in_event"
    assert both(first, units[0]) == "ok"
    s.buyer_pick(
        event=event, number=first.number, code=codes[first.number], unit=units[0], via="api"
    )
    assert both(first, units[1]) == "quota_reached"
    assert both(second, units[0]) == "unit_taken"
    Entry.objects.filter(pk=third.pk).update(position=None)
    assert both(third, units[1]) == "not_your_turn"
    s.Batch.objects.filter(event=event).update(starts_at=now + datetime.timedelta(minutes=5))
    assert both(late, units[2]) == "not_your_turn"
    s.OpeningEvent.objects.filter(pk=event.pk).update(requires_qualification=True)
    Entry.objects.filter(pk=late.pk).update(qualified_at=None)
    assert both(late, units[2]) == "not_qualified"
    s.OpeningEvent.objects.filter(pk=event.pk).update(status="finished")
    assert both(late, units[2]) == "event_status"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_migrate_installs_the_pick_functions():
    """``migrate`` (as the tables' owner) creates the pick's database functions, so that
    an application role that may not create functions finds them (docs/operations.md)."""
    from django.core.management.sql import emit_post_migrate_signal

    from loupan.core import dbfunction

    names = [s._pick_function(with_address)[0] for with_address in (True, False)]
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"DROP FUNCTION IF EXISTS {name}")
            dbfunction.forget(name)
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    with connection.cursor() as cursor:
        cursor.execute("SELECT proname FROM pg_proc WHERE proname = ANY(%s)", [names])
        assert sorted(row[0] for row in cursor.fetchall()) == sorted(names)
