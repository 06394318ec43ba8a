"""The password policy, Argon2, and the forced change at first login and after expiry."""

import datetime
import re

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from loupan.accounts.models import User
from tests.testing import assert_error, assert_login_redirect, make_user, web_client

NEW_PASSWORD = "Cuihu2026wan"
CJK = re.compile(r"[\u4e00-\u9fff]")

# password → a word of the Chinese reason (the user is "consultant", 李顾问)
WEAK_PASSWORDS = [
    pytest.param("Ab3defg", "太短", id="shorter-than-10"),
    pytest.param("abcdefghijkl", "字母和数字", id="no-digit"),
    pytest.param("3141592653589", "字母和数字", id="no-letter"),
    pytest.param("consultant1", "相似", id="like-username"),
    pytest.param("password123", "太常见", id="common"),
]


def test_policy_is_configured():
    names = [v["NAME"].rsplit(".", 1)[-1] for v in django_settings.AUTH_PASSWORD_VALIDATORS]
    assert names == [
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "LettersAndDigitsValidator",
    ]
    assert django_settings.AUTH_PASSWORD_VALIDATORS[1]["OPTIONS"]["min_length"] == 10


@pytest.mark.parametrize(("password", "reason"), WEAK_PASSWORDS)
def test_weak_password_refused_by_page(password, reason, login, demo_password):
    client = login("consultant")
    before = User.objects.get(username="consultant").password
    response = client.post(
        "/accounts/password/",
        {"old_password": demo_password, "new_password": password, "new_password2": password},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["new_password"], errors
    assert any(reason in message for message in errors["new_password"]), errors
    assert all(CJK.search(message) for message in errors["new_password"]), errors
    # The reason is shown next to the field.
    assert reason in response.content.decode()
    assert User.objects.get(username="consultant").password == before


@pytest.mark.parametrize(("password", "reason"), WEAK_PASSWORDS)
def test_weak_password_refused_by_api(password, reason, api, demo_password):
    response = api("consultant").post(
        "/api/v1/auth/password/",
        {"old_password": demo_password, "new_password": password},
        format="json",
    )
    body = assert_error(response, 400, "invalid", fields=["new_password"])
    assert list(body["fields"]) == ["new_password"]
    assert any(reason in message for message in body["fields"]["new_password"]), body
    assert CJK.search(body["message"]), body
    assert User.objects.get(username="consultant").check_password(demo_password)


def test_weak_password_refused_when_creating_user(demo, api):
    response = api("sysadmin").post(
        "/api/v1/users/",
        {
            "username": "newhire",
            "real_name": "新员工",
            "project": demo["main"].pk,
            "role_code": "consultant",
            "password": "short1",
        },
        format="json",
    )
    body = assert_error(response, 400, "invalid", fields=["password"])
    assert "太短" in body["fields"]["password"][0]
    assert not User.objects.filter(username="newhire").exists()


def test_wrong_old_password_refused(api, login):
    response = api("consultant").post(
        "/api/v1/auth/password/",
        {"old_password": "Wrong2026pass", "new_password": NEW_PASSWORD},
        format="json",
    )
    assert_error(response, 400, "invalid", fields=["old_password"])
    page = login("consultant").post(
        "/accounts/password/",
        {
            "old_password": "Wrong2026pass",
            "new_password": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert "old_password" in page.context["form"].errors


def test_same_password_refused(api, demo_password):
    response = api("consultant").post(
        "/api/v1/auth/password/",
        {"old_password": demo_password, "new_password": demo_password},
        format="json",
    )
    assert_error(response, 400, "invalid", fields=["new_password"])


def test_confirmation_must_match(login, demo_password):
    page = login("consultant").post(
        "/accounts/password/",
        {
            "old_password": demo_password,
            "new_password": NEW_PASSWORD,
            "new_password2": "Other2026pw",
        },
    )
    assert "new_password2" in page.context["form"].errors


def test_good_password_accepted_and_hashed_with_argon2(login, demo_password):
    client = login("consultant")
    response = client.post(
        "/accounts/password/",
        {
            "old_password": demo_password,
            "new_password": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get(username="consultant")
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(NEW_PASSWORD)
    assert not user.must_change_password
    assert timezone.now() - user.password_changed_at < datetime.timedelta(minutes=1)


def test_hasher_is_argon2(demo):
    assert django_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    assert User.objects.get(username="director").password.startswith("argon2")
    user = make_user("hashed", password=NEW_PASSWORD)
    assert User.objects.get(pk=user.pk).password.startswith("argon2")


def test_password_change_through_api(api, demo_password):
    rest = api("consultant")
    response = rest.post(
        "/api/v1/auth/password/",
        {"old_password": demo_password, "new_password": NEW_PASSWORD},
        format="json",
    )
    assert response.status_code == 204
    assert User.objects.get(username="consultant").check_password(NEW_PASSWORD)


# --- forced change -------------------------------------------------------------------


@pytest.fixture
def fresh(demo):
    """A new account straight from the administrator: must change its password."""
    user = make_user("fresh", (demo["main"], "consultant"), password="Linshi2026ab")
    user.must_change_password = True
    user.save()
    return user


def _real_login(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_first_login_leads_to_password_change(fresh):
    client = web_client()
    response = _real_login(client, "fresh", "Linshi2026ab")
    assert response.status_code == 302
    for url in ("/", "/projects/", "/users/", f"/users/{fresh.pk}/", "/audit/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == "/accounts/password/", url
    page = client.get("/accounts/password/")
    assert page.status_code == 200
    assert "首次登录或密码被重置后" in page.content.decode()

    response = client.post(
        "/accounts/password/",
        {
            "old_password": "Linshi2026ab",
            "new_password": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/projects/").status_code == 200


def test_htmx_request_redirected_by_header(fresh):
    client = web_client(fresh)
    response = client.get("/projects/", HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == "/accounts/password/"


def test_logout_and_language_stay_open_during_forced_change(fresh):
    client = web_client(fresh)
    response = client.post("/accounts/language/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert User.objects.get(pk=fresh.pk).language == "en"
    assert client.post("/accounts/logout/").status_code == 302
    assert_login_redirect(client.get("/accounts/password/"))


def test_api_refuses_until_password_changed(fresh):
    from tests.testing import api_client

    rest = api_client()
    token = rest.post(
        "/api/v1/auth/token/", {"username": "fresh", "password": "Linshi2026ab"}, format="json"
    ).json()["token"]
    rest.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    for url in ("/api/v1/projects/", "/api/v1/users/", f"/api/v1/users/{fresh.pk}/"):
        body = assert_error(rest.get(url), 403, "password_change_required")
        assert "/api/v1/auth/password/" in body["message"]
    # Its own account stays readable, and the change itself is allowed.
    assert rest.get("/api/v1/me/").json()["must_change_password"] is True
    response = rest.post(
        "/api/v1/auth/password/",
        {"old_password": "Linshi2026ab", "new_password": NEW_PASSWORD},
        format="json",
    )
    assert response.status_code == 204
    # The change ended every token, this one included: a new one works.
    assert_error(rest.get("/api/v1/projects/"), 401, "not_authenticated")
    token = rest.post(
        "/api/v1/auth/token/", {"username": "fresh", "password": NEW_PASSWORD}, format="json"
    ).json()["token"]
    rest.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert rest.get("/api/v1/projects/").status_code == 200


def test_reset_password_forces_change_again(demo, api):
    consultant = demo["users"]["consultant"]
    temporary = (
        api("sysadmin")
        .post(f"/api/v1/users/{consultant.pk}/reset-password/")
        .json()["temporary_password"]
    )
    client = web_client()
    assert _real_login(client, "consultant", temporary).status_code == 302
    assert client.get("/")["Location"] == "/accounts/password/"


def _age_password(username, days):
    User.objects.filter(username=username).update(
        password_changed_at=timezone.now() - datetime.timedelta(days=days)
    )


def test_expired_password_forces_change(demo, login, api, settings):
    settings.LOUPAN_PASSWORD_MAX_AGE_DAYS = 90
    _age_password("consultant", 91)
    client = login("consultant")
    assert client.get("/")["Location"] == "/accounts/password/"
    assert "密码已过期" in client.get("/accounts/password/").content.decode()
    assert_error(api("consultant").get("/api/v1/projects/"), 403, "password_change_required")


def test_password_within_max_age_is_fine(demo, login, settings):
    settings.LOUPAN_PASSWORD_MAX_AGE_DAYS = 90
    _age_password("consultant", 89)
    assert login("consultant").get("/").status_code == 200


def test_max_age_follows_setting(demo, login, settings):
    _age_password("consultant", 31)
    settings.LOUPAN_PASSWORD_MAX_AGE_DAYS = 30
    assert login("consultant").get("/").status_code == 302
    settings.LOUPAN_PASSWORD_MAX_AGE_DAYS = 0  # never expires
    assert login("consultant").get("/").status_code == 200


def test_demo_accounts_exempt_only_in_demo_mode(demo, login, settings, api):
    User.objects.filter(username="consultant").update(must_change_password=True)
    _age_password("director", 400)
    settings.LOUPAN_DEMO = False
    assert login("consultant").get("/")["Location"] == "/accounts/password/"
    assert login("director").get("/")["Location"] == "/accounts/password/"
    assert_error(api("consultant").get("/api/v1/projects/"), 403, "password_change_required")

    settings.LOUPAN_DEMO = True
    assert login("consultant").get("/").status_code == 200
    assert login("director").get("/").status_code == 200
    assert api("consultant").get("/api/v1/projects/").status_code == 200


def test_demo_mode_does_not_exempt_real_accounts(fresh, settings):
    settings.LOUPAN_DEMO = True
    client = web_client(fresh)
    assert client.get("/")["Location"] == "/accounts/password/"
