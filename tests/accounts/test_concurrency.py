"""The last-administrator rule under concurrency (PostgreSQL, real threads)."""

import threading

import pytest
from django.db import connection

from loupan.accounts import services
from loupan.accounts.models import Membership, User
from loupan.core.errors import DomainError, ErrorCode
from tests.testing import make_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_admins_revoking_each_other_leave_one(demo, monkeypatch):
    """Two administrators of a project revoke each other's role at the same moment:
    exactly one revocation succeeds, the other is refused with ``last_admin`` (no
    deadlock, no server error), and the project keeps one administrator."""
    main = demo["main"]
    # A second administrator; the demo one is the first.
    other = make_user("admin2", (main, "sysadmin"))
    first = User.objects.get(username="sysadmin")
    m_first = Membership.objects.get(user=first, project=main, role__code="sysadmin")
    m_other = Membership.objects.get(user=other, project=main, role__code="sysadmin")

    # Make both transactions hold their first row lock before either goes on, the
    # interleaving that a careless lock order turns into a deadlock.
    barrier = threading.Barrier(2, timeout=3)
    real_lock = services.lock

    def lock_then_wait(obj):
        locked = real_lock(obj)
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass  # the other transaction waits on our lock: go on alone
        return locked

    monkeypatch.setattr(services, "lock", lock_then_wait)

    outcomes = {}

    def revoke(actor, membership):
        try:
            services.membership_revoke(actor=actor, membership=membership)
            outcomes[actor.username] = "ok"
        except DomainError as exc:
            outcomes[actor.username] = exc.code
        except Exception as exc:  # a deadlock or any other database error
            outcomes[actor.username] = repr(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=revoke, args=(first, m_other)),
        threading.Thread(target=revoke, args=(other, m_first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values(), key=str) == sorted(["ok", ErrorCode.LAST_ADMIN], key=str), (
        outcomes
    )
    assert Membership.objects.filter(project=main, role__code="sysadmin").count() == 1
