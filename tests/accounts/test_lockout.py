"""Login, API tokens and the lockout after repeated failures (django-axes)."""

import datetime

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings

from loupan.audit.models import AuditEntry
from tests.testing import api_client, assert_error, web_client

WRONG = "Wrong2026pass"
LOCKED_TEXT = "登录失败次数过多"


@pytest.fixture(autouse=True)
def _lockout_settings(settings):
    """The production values, whatever the environment says."""
    settings.AXES_FAILURE_LIMIT = 5
    settings.LOUPAN_LOCKOUT_ADDRESS_FAILURES = 50
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)


def _login(client, username, password, ip="10.0.0.1"):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def _token(username, password, ip="10.0.0.1"):
    return api_client().post(
        "/api/v1/auth/token/",
        {"username": username, "password": password},
        format="json",
        REMOTE_ADDR=ip,
    )


def _fail(username, times, ip="10.0.0.1"):
    client = web_client()
    for _ in range(times):
        response = _login(client, username, WRONG, ip)
        assert response.status_code in (200, 403)


def _assert_logged_in(response):
    assert response.status_code == 302, response.status_code
    assert response["Location"] == "/"


def _assert_locked_page(response):
    assert response.status_code == 403
    assert LOCKED_TEXT in response.content.decode()


def _cool_off_passes(minutes=16):
    AccessAttempt.objects.update(
        attempt_time=datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=minutes)
    )


def test_settings_follow_the_policy():
    assert django_settings.AXES_LOCKOUT_PARAMETERS == ["username", "ip_address"]
    assert django_settings.AXES_RESET_ON_SUCCESS is True


def test_wrong_password_shows_chinese_error(demo):
    response = _login(web_client(), "consultant", WRONG)
    assert response.status_code == 200
    assert "用户名或密码错误" in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_right_password_logs_in(demo, demo_password):
    client = web_client()
    _assert_logged_in(_login(client, "consultant", demo_password))
    assert client.get("/").status_code == 200


def test_five_failures_lock_the_account(demo, demo_password):
    _fail("consultant", 4)
    # Four are not enough.
    _assert_logged_in(_login(web_client(), "consultant", demo_password, ip="10.0.0.2"))
    AccessAttempt.objects.all().delete()

    _fail("consultant", 5)
    client = web_client()
    response = _login(client, "consultant", demo_password)
    _assert_locked_page(response)
    assert client.get("/").status_code == 302  # not logged in
    body = assert_error(_token("consultant", demo_password), 403, "locked_out")
    assert LOCKED_TEXT in body["message"]


def test_account_lock_holds_from_another_address(demo, demo_password):
    _fail("consultant", 5, ip="10.0.0.1")
    _assert_locked_page(_login(web_client(), "consultant", demo_password, ip="10.9.9.9"))
    assert_error(_token("consultant", demo_password, ip="10.9.9.9"), 403, "locked_out")
    # Another account from that other address is fine.
    _assert_logged_in(_login(web_client(), "planner", demo_password, ip="10.9.9.9"))


def test_one_persons_failures_do_not_lock_the_office(demo, demo_password):
    """An office behind one address: a consultant locked out by their own typos, and a
    few more failures of colleagues, leave everyone else at that address working."""
    _fail("consultant", 5, ip="10.0.0.7")
    for username in ("manager", "finance", "nosuchuser", "service"):
        _fail(username, 2, ip="10.0.0.7")
    _assert_locked_page(_login(web_client(), "consultant", demo_password, ip="10.0.0.7"))
    _assert_logged_in(_login(web_client(), "planner", demo_password, ip="10.0.0.7"))
    assert _token("supervisor", demo_password, ip="10.0.0.7").status_code == 200


def test_an_address_failing_across_many_accounts_is_locked(demo, demo_password):
    """Credential stuffing: fifty failures from one address over many accounts, none of
    them five times, lock the address for every account; elsewhere they log in."""
    for i in range(50):
        _fail(f"guess{i % 25}", 1, ip="10.0.0.9")
    _assert_locked_page(_login(web_client(), "planner", demo_password, ip="10.0.0.9"))
    assert_error(_token("planner", demo_password, ip="10.0.0.9"), 403, "locked_out")
    _assert_logged_in(_login(web_client(), "planner", demo_password, ip="10.0.0.8"))


def test_an_administrator_sees_and_lifts_a_lock(demo, demo_password):
    users = demo["users"]
    _fail("consultant", 5, ip="10.0.0.3")
    admin = web_client(users["sysadmin"])
    page = admin.get("/users/locks/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "consultant" in html and "已锁定" in html and "10.0.0.3" in html
    # nobody else may see or lift them
    assert web_client(users["manager"]).get("/users/locks/").status_code == 404
    refused = web_client(users["manager"]).post(
        "/users/locks/lift/", {"kind": "username", "value": "consultant"}
    )
    assert refused.status_code in (302, 403)
    _assert_locked_page(_login(web_client(), "consultant", demo_password, ip="10.0.0.4"))

    lifted = admin.post("/users/locks/lift/", {"kind": "username", "value": "consultant"})
    assert lifted.status_code == 302
    assert AuditEntry.objects.filter(
        object_type="axes.accessattempt", object_id="consultant", actor=users["sysadmin"]
    ).exists()
    _assert_logged_in(_login(web_client(), "consultant", demo_password, ip="10.0.0.4"))
    # a value that is not an account or an address kind is refused, nothing removed
    _fail("consultant", 1, ip="10.0.0.3")
    bad = admin.post("/users/locks/lift/", {"kind": "everything", "value": "consultant"})
    assert bad.status_code == 302
    assert AccessAttempt.objects.filter(username="consultant").exists()


def test_lock_ends_after_cool_off(demo, demo_password):
    _fail("consultant", 5)
    _assert_locked_page(_login(web_client(), "consultant", demo_password))
    _cool_off_passes(minutes=14)
    _assert_locked_page(_login(web_client(), "consultant", demo_password))
    _cool_off_passes(minutes=16)
    _assert_logged_in(_login(web_client(), "consultant", demo_password))


def test_cool_off_follows_setting(demo, demo_password, settings):
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=1)
    _fail("consultant", 5)
    assert_error(_token("consultant", demo_password), 403, "locked_out")
    _cool_off_passes(minutes=2)
    assert _token("consultant", demo_password).status_code == 200


def test_success_resets_failures(demo, demo_password):
    _fail("consultant", 4)
    _assert_logged_in(_login(web_client(), "consultant", demo_password))
    _fail("consultant", 4)
    # 8 failures in all, but never 5 since the last success.
    _assert_logged_in(_login(web_client(), "consultant", demo_password))


def test_fifth_failure_already_answers_locked(demo):
    client = web_client()
    for _ in range(4):
        assert _login(client, "consultant", WRONG).status_code == 200
    _assert_locked_page(_login(client, "consultant", WRONG))


def test_token_failures_count_too(demo, demo_password):
    for _ in range(4):
        assert_error(_token("consultant", WRONG), 400, "invalid_credentials")
    # The failure that reaches the limit already answers "locked".
    assert_error(_token("consultant", WRONG), 403, "locked_out")
    _assert_locked_page(_login(web_client(), "consultant", demo_password))


# --- the token endpoint ----------------------------------------------------------------


def test_token_for_right_credentials(demo, demo_password):
    response = _token("consultant", demo_password)
    assert response.status_code == 200
    token = response.json()["token"]
    assert list(response.json()) == ["token"] and len(token) == 40
    rest = api_client()
    rest.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert rest.get("/api/v1/me/").json()["username"] == "consultant"
    # The same token again, and the login is on the audit trail.
    assert _token("consultant", demo_password).json()["token"] == token
    assert AuditEntry.objects.filter(action="login", actor_username="consultant").exists()


def test_token_for_wrong_credentials(demo):
    body = assert_error(
        _token("consultant", WRONG), 400, "invalid_credentials", fields=["password"]
    )
    assert "用户名或密码错误" in body["message"]
    assert_error(_token("nosuchuser", WRONG), 400, "invalid_credentials")


def test_token_for_inactive_user(demo, demo_password):
    from loupan.accounts.models import User

    User.objects.filter(username="consultant").update(is_active=False)
    assert_error(_token("consultant", demo_password), 400, "invalid_credentials")


def test_token_request_needs_both_fields(demo):
    response = api_client().post("/api/v1/auth/token/", {"username": "consultant"}, format="json")
    assert_error(response, 400, "invalid", fields=["password"])


def test_bad_token_is_not_authenticated(demo):
    rest = api_client()
    rest.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert_error(rest.get("/api/v1/me/"), 401, "not_authenticated")
    assert_error(api_client().get("/api/v1/me/"), 401, "not_authenticated")
