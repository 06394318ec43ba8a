"""The demo office (`loupan demo`): built from nothing, idempotent, and it prints the
demo accounts."""

import io

import pytest
from django.conf import settings
from django.core.management import call_command

from loupan.accounts.demo import DEMO_USERNAMES, DEMO_USERS
from loupan.accounts.models import Membership, User
from loupan.audit.models import AuditEntry
from loupan.audit.services import verify_chain
from loupan.inventory.models import Company, PresalePermit, Project

USERNAMES = DEMO_USERNAMES


def _counts():
    return {
        "users": User.objects.count(),
        "companies": Company.objects.count(),
        "projects": Project.objects.count(),
        "permits": PresalePermit.objects.count(),
        "memberships": Membership.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def _run():
    out = io.StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_demo_from_an_empty_database_and_twice():
    # A transactional test starts from what the session left; empty it to build from nothing.
    call_command("flush", interactive=False, verbosity=0)
    assert Project.objects.count() == 0

    first_out = _run()
    first = _counts()
    assert first["projects"] == 2
    assert first["permits"] >= 2
    assert first["audit"] > 0
    assert set(USERNAMES) <= set(User.objects.values_list("username", flat=True))
    # Fresh demo accounts must change the public password, except in demo mode.
    assert not User.objects.filter(is_demo=True, must_change_password=False).exists()

    second_out = _run()
    assert _counts() == first
    assert first_out == second_out
    assert verify_chain() == (first["audit"], None, "")


def test_demo_again_on_the_session_office(demo):
    before = _counts()
    _run()
    assert _counts() == before


def test_demo_prints_the_accounts_table(db):
    out = _run()
    assert "演示数据就绪" in out
    assert "锦城·翠湖湾" in out and "锦城·云栖府" in out
    assert f"密码 password: {settings.LOUPAN_DEMO_PASSWORD}" in out
    lines = out.splitlines()
    for username, real_name, _main, _second in DEMO_USERS:
        assert any(line.split()[:2] == [username, real_name] for line in lines), username
    # The one consultant with both projects says so; the other does not.
    [c2] = [line for line in lines if line.split()[:1] == ["consultant2"]]
    [c1] = [line for line in lines if line.split()[:1] == ["consultant"]]
    assert "锦城·云栖府" in c2
    assert "锦城·云栖府" not in c1


def test_demo_office_shape(demo):
    main, second = demo["main"], demo["second"]
    assert (main.code, main.name) == ("CHW", "锦城·翠湖湾")
    assert (second.code, second.name) == ("YQF", "锦城·云栖府")
    assert set(USERNAMES) <= set(demo["users"])
    assert all(u.is_demo for u in demo["users"].values())
    assert demo["users"]["consultant"].check_password(settings.LOUPAN_DEMO_PASSWORD)
    # The demo consultant does not belong to the second project; consultant2 does.
    assert not Membership.objects.filter(user__username="consultant", project=second).exists()
    assert Membership.objects.filter(user__username="consultant2", project=second).exists()
    for username in USERNAMES:
        assert Membership.objects.filter(user__username=username, project=main).exists()


def test_home_as_consultant_shows_the_main_project_only(login):
    response = login("consultant").get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "锦城·翠湖湾" in html
    assert "锦城·云栖府" not in html  # the demo consultant does not belong to it
