"""Web sessions: the idle timeout, logging out everywhere on a password change, and the
interface language."""

import re
import time

import pytest
from django.db import connection
from django.http import HttpRequest
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from loupan.accounts.middleware import ACTIVITY_COOKIE, last_activity
from loupan.accounts.models import User
from tests.testing import api_client, assert_error, assert_login_redirect, web_client

NEW_PASSWORD = "Cuihu2026wan"
BACKEND = "loupan.accounts.backends.ProjectRoleBackend"

WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.I)


def _real_login(username, password):
    client = web_client()
    response = client.post("/accounts/login/", {"username": username, "password": password})
    assert response.status_code == 302, response.status_code
    return client


def _last_activity(client):
    """The session's activity stamp as the middleware reads it (session or cookie)."""
    request = HttpRequest()
    request.COOKIES = {k: v.value for k, v in client.cookies.items()}
    request.session = client.session
    return last_activity(request)


def _set_idle(client, seconds):
    session = client.session
    session["last_activity"] = int(time.time()) - seconds
    session.save()
    client.cookies.pop(ACTIVITY_COOKIE, None)


# --- idle timeout --------------------------------------------------------------------


def test_request_records_last_activity(login):
    client = login("consultant")
    assert _last_activity(client) is None
    client.get("/")
    last = _last_activity(client)
    assert isinstance(last, int)
    assert abs(last - time.time()) < 5


def test_idle_session_is_logged_out(login, settings):
    settings.LOUPAN_IDLE_TIMEOUT_MINUTES = 30
    client = login("consultant")
    client.get("/")
    _set_idle(client, 31 * 60)
    response = client.get("/projects/")
    assert_login_redirect(response)
    assert "_auth_user_id" not in client.session
    # Logged out for good, with the reason on the login page.
    page = client.get("/", follow=True)
    assert page.redirect_chain[-1][0].startswith("/accounts/login/")
    assert "您长时间未操作，已自动退出" in page.content.decode()


def test_idle_notice_speaks_users_language(login, settings):
    User.objects.filter(username="consultant").update(language="en")
    client = login("consultant")
    client.get("/")
    _set_idle(client, (settings.LOUPAN_IDLE_TIMEOUT_MINUTES + 1) * 60)
    page = client.get("/", follow=True).content.decode()
    assert "logged out after a period of inactivity" in page


def test_recent_session_is_kept(login, settings):
    settings.LOUPAN_IDLE_TIMEOUT_MINUTES = 30
    client = login("consultant")
    client.get("/")
    _set_idle(client, 29 * 60)
    assert client.get("/projects/").status_code == 200
    # The request counts as activity.
    assert time.time() - _last_activity(client) < 5
    assert client.get("/").status_code == 200


def test_a_get_records_activity_without_saving_the_session(login, settings):
    """A read writes nothing, not even the session: on SQLite a large import's commit
    holds the one write lock, and a page opened meanwhile would wait for it."""
    settings.LOUPAN_IDLE_TIMEOUT_MINUTES = 30
    client = login("consultant")
    _set_idle(client, 10 * 60)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/projects/").status_code == 200
    assert [q["sql"] for q in queries if WRITE.match(q["sql"])] == []
    assert time.time() - _last_activity(client) < 5
    assert client.get("/projects/").status_code == 200
    # The cookie counts for this session only: not for another one of the same user.
    other = web_client()
    other.force_login(User.objects.get(username="consultant"), backend=BACKEND)
    _set_idle(other, 31 * 60)
    other.cookies[ACTIVITY_COOKIE] = client.cookies[ACTIVITY_COOKIE].value
    assert_login_redirect(other.get("/projects/"))
    # A POST writes anyway: its stamp goes into the session.
    _set_idle(client, 10 * 60)
    assert client.post("/accounts/language/", {"language": "zh-hans"}).status_code == 302
    assert time.time() - client.session["last_activity"] < 5


def test_timeout_follows_setting(login, settings):
    settings.LOUPAN_IDLE_TIMEOUT_MINUTES = 5
    client = login("consultant")
    client.get("/")
    _set_idle(client, 6 * 60)
    assert_login_redirect(client.get("/"))


def test_idle_htmx_request_is_sent_to_login(login, settings):
    settings.LOUPAN_IDLE_TIMEOUT_MINUTES = 30
    client = login("consultant")
    client.get("/")
    _set_idle(client, 31 * 60)
    response = client.get("/projects/", HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == "/accounts/login/"


def test_idle_timeout_does_not_touch_token_clients(api, settings):
    settings.LOUPAN_IDLE_TIMEOUT_MINUTES = 1
    assert api("consultant").get("/api/v1/me/").status_code == 200


# --- logout everywhere ---------------------------------------------------------------


@pytest.mark.parametrize("via", ["page", "api"])
def test_password_change_logs_out_other_sessions(via, demo, demo_password):
    here = _real_login("consultant", demo_password)
    there = _real_login("consultant", demo_password)
    assert here.get("/").status_code == 200
    assert there.get("/").status_code == 200
    token = Token.objects.create(user=User.objects.get(username="consultant"))
    rest = api_client()
    rest.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert rest.get("/api/v1/me/").status_code == 200

    if via == "page":
        response = here.post(
            "/accounts/password/",
            {
                "old_password": demo_password,
                "new_password": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )
        assert response.status_code == 302
        # The client that changed it stays logged in.
        page = here.get("/")
        assert page.status_code == 200
        assert "密码已修改" in page.content.decode()
    else:
        response = here.post(
            "/api/v1/auth/password/",
            {"old_password": demo_password, "new_password": NEW_PASSWORD},
            content_type="application/json",
        )
        assert response.status_code == 204

    # The other browser is logged out at its next request, and the token is gone.
    assert_login_redirect(there.get("/projects/"), next_url="/projects/")
    assert "_auth_user_id" not in there.session
    assert_error(rest.get("/api/v1/me/"), 401, "not_authenticated")
    assert not Token.objects.filter(user__username="consultant").exists()
    # The new password works, the old one no longer does.
    _real_login("consultant", NEW_PASSWORD)
    failed = web_client().post(
        "/accounts/login/", {"username": "consultant", "password": demo_password}
    )
    assert failed.status_code == 200


def test_password_change_leaves_other_users_alone(demo, demo_password):
    other = _real_login("planner", demo_password)
    here = _real_login("consultant", demo_password)
    here.post(
        "/accounts/password/",
        {
            "old_password": demo_password,
            "new_password": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert other.get("/").status_code == 200


def test_reset_by_administrator_ends_sessions_and_tokens(demo, demo_password, api):
    there = _real_login("consultant", demo_password)
    rest = api("consultant")
    consultant = demo["users"]["consultant"]
    assert api("sysadmin").post(f"/api/v1/users/{consultant.pk}/reset-password/").status_code == 200
    assert_login_redirect(there.get("/"))
    assert_error(rest.get("/api/v1/me/"), 401, "not_authenticated")


def test_logout_ends_session(demo, demo_password):
    client = _real_login("consultant", demo_password)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert_login_redirect(client.get("/"))


# --- language ------------------------------------------------------------------------


def test_default_language_is_chinese(login):
    client = login("consultant")
    page = client.get("/").content.decode()
    assert '<html lang="zh-hans">' in page
    assert ">首页<" in page
    assert client.get("/")["Content-Language"] == "zh-hans"
    assert User.objects.get(username="consultant").language == "zh-hans"


def test_browser_language_is_ignored(login):
    client = login("consultant")
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in page


def test_switch_to_english(login):
    client = login("consultant")
    response = client.post("/accounts/language/", {"language": "en", "next": "/projects/"})
    assert response.status_code == 302
    assert response["Location"] == "/projects/"
    assert User.objects.get(username="consultant").language == "en"
    page = client.get("/").content.decode()
    assert '<html lang="en">' in page
    assert ">Home<" in page and ">首页<" not in page
    # The choice belongs to the account: another browser speaks English too.
    other = login("consultant")
    assert '<html lang="en">' in other.get("/").content.decode()
    # …and the login page after logout, through the cookie.
    assert response.cookies["django_language"].value == "en"
    client.post("/accounts/logout/")
    assert '<html lang="en">' in client.get("/accounts/login/").content.decode()

    client = login("consultant")
    client.post("/accounts/language/", {"language": "zh-hans"})
    assert '<html lang="zh-hans">' in client.get("/").content.decode()


def test_unknown_language_refused(login):
    client = login("consultant")
    response = client.post("/accounts/language/", {"language": "fr"}, follow=True)
    assert "不支持的语言" in response.content.decode()
    assert User.objects.get(username="consultant").language == "zh-hans"


def test_language_switch_next_stays_on_site(login):
    response = login("consultant").post(
        "/accounts/language/", {"language": "en", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_language_through_api(api, login):
    rest = api("consultant")
    assert rest.post("/api/v1/auth/language/", {"language": "en"}, format="json").status_code == 204
    assert User.objects.get(username="consultant").language == "en"
    assert '<html lang="en">' in login("consultant").get("/").content.decode()
    assert_error(
        rest.post("/api/v1/auth/language/", {"language": "fr"}, format="json"),
        400,
        "invalid",
        fields=["language"],
    )


def test_language_switch_needs_login(demo):
    assert_login_redirect(web_client().post("/accounts/language/", {"language": "en"}))
