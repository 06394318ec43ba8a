"""The sealer process (``LOUPAN_PICK_SEAL=process``, ``loupan seal-picks``): a pick
answers at its claim and nothing in the server seals it; the process sees the picks come
(the latest pick id, read every ``quiet`` seconds) and writes their reservations once
the rush has passed."""

import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from loupan.deals.models import Deal
from loupan.inventory.models import Unit, UnitStatus
from loupan.opening import live, sealer
from loupan.opening import services as s
from loupan.opening.models import Pick
from tests.opening.test_services import _race, buyer, drawn, make_event, selecting

pytestmark = pytest.mark.django_db


def _event(settings, first: int, count: int, units: int):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    settings.LOUPAN_PICK_SEAL = "process"
    event, entries = drawn(
        make_event(unit_count=units, max_units=1), [buyer(i) for i in range(first, first + count)]
    )
    return selecting(event, entries), entries


@pytest.mark.django_db(transaction=True)  # the loop gives its connection back
def test_a_pick_in_process_mode_is_left_to_the_sealer_process(demo, settings):
    event, entries = _event(settings, 120, 2, 2)
    woken = []
    settings_wake, sealer.wake = sealer.wake, woken.append
    try:
        unit = event.units.order_by("pk").first().unit
        pick = s.unit_pick(actor=None, event=event, entry=entries[0], unit=unit, via="phone")
    finally:
        sealer.wake = settings_wake
    pick.refresh_from_db()
    # no deal written by the request, no thread woken: the process's work
    assert pick.deal_id is None and woken == []
    assert Unit.objects.get(pk=unit.pk).status == UnitStatus.HELD

    # one round of the process's loop (SQLite: the poll, which says "look again")
    stop = threading.Event()
    rounds = []

    def seal():
        rounds.append(s.picks_seal())
        stop.set()

    sealer.follow(seal, stop=stop, interval=0.01)
    assert rounds == [{"picks_sealed": 1, "picks_unsealable": 0}]
    pick.refresh_from_db()
    assert Deal.objects.get(pk=pick.deal_id).status == "reserved"
    assert Unit.objects.get(pk=unit.pk).status == UnitStatus.RESERVED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_sealer_process_sees_the_picks_and_seals_them_soon(demo, settings):
    event, entries = _event(settings, 130, 8, 4)
    targets = [eu.unit for eu in event.units.order_by("pk")]
    stop = threading.Event()
    rounds = []

    def seal():
        rounds.append(s.picks_seal())

    # a long interval: only its look for new picks every ``quiet`` seals them in time
    follower = threading.Thread(
        target=sealer.follow, args=(seal,), kwargs={"stop": stop, "interval": 30, "quiet": 0.2}
    )
    follower.start()
    try:
        deadline = time.monotonic() + 10
        while not rounds:  # its first look, before any pick
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert rounds == [{"picks_sealed": 0, "picks_unsealable": 0}]
        outcome = _race(
            8,
            lambda i: s.unit_pick(
                actor=None, event=event, entry=entries[i], unit=targets[i % 4], via="api"
            ),
        )
        assert outcome.count("ok") == 4, outcome
        deadline = time.monotonic() + 20
        while Pick.objects.filter(event=event, deal__isnull=True).exists():
            assert time.monotonic() < deadline, "the sealer process did not see the picks"
            time.sleep(0.02)
    finally:
        stop.set()
        follower.join(10)
    assert not follower.is_alive()
    assert sum(r["picks_sealed"] for r in rounds) == 4
    assert {u.status for u in Unit.objects.filter(pk__in=[u.pk for u in targets])} == {
        UnitStatus.RESERVED
    }
    connection.close()


def test_seal_picks_refuses_an_interval_of_nothing():
    with pytest.raises(CommandError, match="--interval"):
        call_command("seal-picks", "--interval", "0", "--nice", "0")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_sealer_process_lets_a_rush_pass_but_not_for_ever(demo, settings):
    """While picks keep coming (one every 0.1 s, by another thread) the sealing waits
    until ``quiet`` seconds bring none; a rush that does not end holds it ``at_most``."""
    event, entries = _event(settings, 140, 40, 40)
    targets = iter([eu.unit for eu in event.units.order_by("pk")])
    buyers = iter(entries)

    def rush(seconds):
        end = time.monotonic() + seconds
        try:
            while time.monotonic() < end:
                s.unit_pick(
                    actor=None, event=event, entry=next(buyers), unit=next(targets), via="api"
                )
                time.sleep(0.1)
        finally:
            connection.close()

    never = threading.Event()
    start = time.monotonic()
    threading.Thread(target=rush, args=(0.8,)).start()
    time.sleep(0.05)
    sealer.after_the_rush(0.3, 10.0, never, live.latest_pick())
    waited = time.monotonic() - start
    assert 0.8 <= waited < 3, waited  # the rush, then 0.3 s without a pick
    start = time.monotonic()
    long_rush = threading.Thread(target=rush, args=(2.5,))
    long_rush.start()
    time.sleep(0.05)
    sealer.after_the_rush(0.3, 1.0, never, live.latest_pick())
    assert 0.95 <= time.monotonic() - start < 2
    long_rush.join()
    assert sealer.after_the_rush(0, 10.0, never, 7) == 7  # no quiet asked: at once
    connection.close()
