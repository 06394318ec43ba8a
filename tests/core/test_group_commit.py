"""``core.group_commit.standing``: a work's refusal stands, and on PostgreSQL the works
of concurrent callers (real threads) share one transaction, each caller getting its own
result or refusal, in its own context; a group that fails runs each work again alone."""

import datetime
import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone, translation

from loupan.core import context
from loupan.core.errors import DomainError, ErrorCode
from loupan.core.group_commit import group, standing
from loupan.core.models import CalendarDay

DAY = datetime.date(2031, 1, 1)


def _txid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT txid_current()")
        return cursor.fetchone()[0]


def _day(n: int) -> None:
    CalendarDay.objects.create(day=DAY + datetime.timedelta(days=n), name=f"d{n}")


def _days() -> set[int]:
    return {
        (d - DAY).days
        for d in CalendarDay.objects.filter(day__gte=DAY).values_list("day", flat=True)
    }


@pytest.mark.django_db(transaction=True)
def test_a_refusal_stands_and_is_raised_after_the_commit(settings):
    def refuse():
        _day(0)
        raise DomainError(ErrorCode.INVALID, "no")

    for size in (1, 32):
        settings.LOUPAN_GROUP_COMMIT = size
        CalendarDay.objects.filter(day__gte=DAY).delete()
        with pytest.raises(DomainError):
            standing(refuse)
        assert _days() == {0}
        assert standing(lambda: _day(1) or "done") == "done"
        assert _days() == {0, 1}


def _grouped(n, work):
    """``n`` threads call ``standing``: the first one's work holds the group it leads
    until the ``n - 1`` others are queued, so that they make the next group together.
    Each thread's result or exception, by index."""
    leading = threading.Event()
    results: list = [None] * n
    shared = group()

    def lead():
        leading.set()
        deadline = time.monotonic() + 20
        while shared.queued() < n - 1 and time.monotonic() < deadline:
            time.sleep(0.005)
        return work(0)

    def call(i):
        try:
            results[i] = standing(lead if i == 0 else (lambda: work(i)), order=-i)
        except Exception as exc:  # noqa: BLE001  (what the caller got)
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(0,))]
    threads[0].start()
    assert leading.wait(20)
    threads += [threading.Thread(target=call, args=(i,)) for i in range(1, n)]
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_share_one_transaction_each_with_its_own_outcome():
    before = group().groups, group().works

    def work(i):
        _day(i)
        if i == 3:
            raise DomainError(ErrorCode.INVALID, f"refused {i}")
        return i, _txid(), threading.get_ident()

    results = _grouped(6, work)
    assert isinstance(results[3], DomainError) and results[3].message == "refused 3"
    # every caller but the refused one got its own result ...
    assert [r[0] for i, r in enumerate(results) if i != 3] == [0, 1, 2, 4, 5]
    # ... the five queued behind the first in one transaction, led by one of them
    txids = {results[i][1] for i in (1, 2, 4, 5)}
    assert len(txids) == 1 and results[0][1] not in txids
    assert len({results[i][2] for i in (1, 2, 4, 5)}) == 1
    # the refusal's row stands with the others
    assert _days() == {0, 1, 2, 3, 4, 5}
    assert group().groups - before[0] == 2 and group().works - before[1] == 6


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_group_that_fails_runs_each_work_again_alone():
    runs = []

    def work(i):
        runs.append(i)
        _day(i)
        if i == 2:
            raise ValueError("a bug in one work")
        return _txid()

    results = _grouped(4, work)
    assert isinstance(results[2], ValueError)
    # the others went in, each in a transaction of its own, after the group rolled back
    assert _days() == {0, 1, 3}
    assert len({results[i] for i in (1, 3)}) == 2
    # in the group (sorted by ``order``, -i) 3 ran, then 2 failed and 1 never ran
    assert sorted(runs) == [0, 1, 2, 2, 3, 3]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_callback_that_fails_after_the_commit_leaves_the_outcomes_standing(caplog):
    runs = []

    def work(i):
        runs.append(i)
        _day(i)
        if i == 2:
            transaction.on_commit(lambda: 1 / 0)
        return i

    results = _grouped(4, work)
    # committed once each: nothing ran again alone (it would have found its row taken)
    assert results == [0, 1, 2, 3] and sorted(runs) == [0, 1, 2, 3]
    assert _days() == {0, 1, 2, 3}
    assert "a callback after a group commit failed" in caplog.text


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_work_runs_in_its_callers_context_on_the_leaders_connection():
    def work(i):
        return (
            translation.get_language(),
            str(timezone.get_current_timezone()),
            context.current().ip,
            threading.get_ident(),
            connection.in_atomic_block,
        )

    callers = {}

    def in_context(i):
        callers[i] = threading.get_ident()
        zone = "UTC" if i % 2 else "Asia/Shanghai"
        with translation.override("en" if i % 2 else "zh-hans"), timezone.override(zone):
            token = context.set_current(context.RequestInfo(ip=f"10.0.0.{i}"))
            try:
                return standing(lambda: work(i))
            finally:
                context.reset(token)

    results = [None] * 4
    leading = threading.Event()
    release = threading.Event()

    def lead():
        def hold():
            leading.set()
            release.wait(20)
            return work(0)

        results[0] = standing(hold)
        connection.close()

    def call(i):
        results[i] = in_context(i)
        connection.close()

    threads = [threading.Thread(target=lead)]
    threads[0].start()
    assert leading.wait(20)
    threads += [threading.Thread(target=call, args=(i,)) for i in (1, 2, 3)]
    for thread in threads[1:]:
        thread.start()
    deadline = time.monotonic() + 20
    while group().queued() < 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    release.set()
    for thread in threads:
        thread.join(60)
    for i in (1, 2, 3):
        language, zone, ip, _ran_on, atomic = results[i]
        assert (language, zone) == ("en", "UTC") if i % 2 else ("zh-hans", "Asia/Shanghai")
        assert (ip, atomic) == (f"10.0.0.{i}", True)
    # one of the three led the group and ran the others' works on its thread
    assert len({results[i][3] for i in (1, 2, 3)}) == 1
    assert results[1][3] in {callers[1], callers[2], callers[3]}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_caller_in_its_own_transaction_runs_alone_inside_it(settings):
    with transaction.atomic():
        outer = _txid()
        assert standing(_txid) == outer
        assert group().queued() == 0
    settings.LOUPAN_GROUP_COMMIT = 1
    before = group().groups
    standing(_txid)
    assert group().groups == before
