"""Reusable access checks for pages and API endpoints (after NetBox's ViewTestCases and
APIViewTestCases, adapted to pytest and to project-scoped roles).

A model describes its pages or endpoints once, in a subclass of ``UIAccessCase`` or
``APIAccessCase``; the subclass, named ``Test…``, then gets these tests for free:

* anonymous: every page redirects to the login page, every endpoint answers 401
  ``not_authenticated``;
* a member of the object's project whose role lacks the permission: every write is
  refused (page 403 or 404; endpoint 403 ``permission_denied``) and changes nothing, while
  the reads the role allows still work;
* a user with the permission: every page and endpoint works and has its effect;
* the permitted role in another project only: the object is not found (404, endpoint
  ``not_found``), the list does not show it, and nothing changes;
* a user with the permission on the object's project, acting on the same kind of object
  in a project they are not a member of: 404 for every page and endpoint on it.

The actors are fresh accounts holding exactly one role on one project, so the checks do
not depend on which demo users happen to belong to both demo projects.

Models of other shapes add a mixin: ``ReadOnlyAPIMixin`` (an API that only reads: every
write method is a 405) and ``OwnObjectsMixin`` (a role that sees only the objects it owns,
as a consultant their customers: their own is found, a colleague's is a 404). Objects of
the same kind in the other demo project come from ``tests/other_project.py``.

Besides the cases, the helpers below (``assert_error``, ``assert_login_redirect``,
``make_user``, ``web_client``, ``api_client``, ``form_data``) are meant for any test.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.test import Client
from rest_framework.test import APIClient

LOGIN_URL = "/accounts/login/"
BACKEND = "loupan.accounts.backends.ProjectRoleBackend"
ERROR_KEYS = {"code", "message", "fields"}

# Statuses that mean "refused" for a server-rendered page: forbidden, or not found
# (a restricted queryset hides what the user may not see).
UI_REFUSED = (403, 404)


# --- assertions ----------------------------------------------------------------------


def race(n: int, action: Callable[[int], Any]) -> list[str]:
    """Run ``action(i)`` in ``n`` threads released at the same instant (PostgreSQL
    concurrency tests); each result is "ok" or the DomainError's code."""
    import threading

    from django.db import connection

    from loupan.core.errors import DomainError

    barrier = threading.Barrier(n)
    results: list[str] = []

    def worker(i):
        try:
            barrier.wait()
            action(i)
            results.append("ok")
        except DomainError as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def assert_error(response, status: int, code: str, *, fields: Iterable[str] = ()) -> dict:
    """The API's one error shape ``{"code", "message", "fields"}`` with this status and
    code; ``fields`` lists field names that must carry reasons. Returns the body."""
    assert response.status_code == status, (
        f"expected {status} {code}, got {response.status_code}: {_body(response)}"
    )
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"].strip(), body
    assert isinstance(body["fields"], dict), body
    for name in fields:
        assert body["fields"].get(name), f"no reason for field {name!r}: {body}"
        assert all(isinstance(reason, str) and reason for reason in body["fields"][name])
    return body


def assert_login_redirect(response, next_url: str | None = None) -> None:
    """A redirect to the login page (with ``?next=`` back to ``next_url`` when given)."""
    assert response.status_code == 302, f"expected a login redirect, got {response.status_code}"
    location = response["Location"]
    assert urlsplit(location).path == LOGIN_URL, location
    if next_url is not None:
        from urllib.parse import parse_qs

        assert parse_qs(urlsplit(location).query).get("next") == [next_url], location


def assert_ui_refused(response) -> None:
    assert response.status_code in UI_REFUSED, (
        f"expected 403 or 404, got {response.status_code}"
        + (f" → {response['Location']}" if response.status_code == 302 else "")
    )


def _body(response) -> str:
    try:
        return str(response.json())
    except Exception:  # not JSON: show the start of the page
        return response.content[:300].decode(errors="replace")


# --- actors and clients ----------------------------------------------------------------

_counter = itertools.count(1)


def make_user(username: str | None = None, *roles, password: str | None = None, **fields):
    """A ready-to-use staff account (no pending password change) holding ``roles``:
    ``make_user("a1", (project, "sysadmin"), (other, "consultant"))``. Without
    ``password`` the account has an unusable one (log in with ``force_login``)."""
    from loupan.accounts.models import Membership, Role, User

    n = next(_counter)
    username = username or f"user{n}"
    user = User(
        username=username,
        real_name=fields.pop("real_name", f"测试{n}"),
        must_change_password=False,
        **fields,
    )
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save()
    for project, role_code in roles:
        Membership.objects.create(user=user, project=project, role=Role.objects.get(code=role_code))
    return user


def web_client(user=None, **defaults) -> Client:
    """A Django test client logged in as ``user`` (anonymous when None)."""
    client = Client(**defaults)
    if user is not None:
        client.force_login(user, backend=BACKEND)
    return client


def api_client(user=None) -> APIClient:
    """An API client authenticated with ``user``'s token (anonymous when None)."""
    from rest_framework.authtoken.models import Token

    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def form_data(obj, fields, **changes) -> dict:
    """What an edit form of ``obj`` posts back unchanged (``fields`` of the form), with
    ``changes`` on top: ids for relations, "" for empty values, checkboxes as "on" or
    left out."""
    from django.forms.models import model_to_dict

    data = {}
    for name, value in {**model_to_dict(obj, fields=fields), **changes}.items():
        if value is None:
            value = ""
        if value is True:
            value = "on"
        if value is False:
            continue
        data[name] = getattr(value, "pk", value)
    return data


# --- the case description ---------------------------------------------------------------


@dataclass
class Endpoint:
    """One page or endpoint of a model.

    ``action`` is ``list``, ``detail`` (reads) or anything else (a write); ``scoped``
    says whether the URL (or the body) names the object or its project, so that another
    project's is a 404: a project's list page (``/projects/<id>/units/``) is a scoped
    ``list``. ``check`` (optional) asserts the effect after the permitted user called it.
    """

    action: str
    method: str
    url: str
    data: dict | None = None
    ok: tuple[int, ...] = (200,)
    scoped: bool = True
    check: Callable[[Any], None] | None = None

    @property
    def is_read(self) -> bool:
        return self.action in ("list", "detail")

    def call(self, client, *, api: bool):
        method = getattr(client, self.method)
        if self.data is None:
            return method(self.url)
        if api:
            return method(self.url, self.data, format="json")
        return method(self.url, self.data)


@dataclass
class Objects:
    """What a case works on: ``obj`` in ``project``, ``foreign`` (same kind) in ``other``;
    ``list_marker`` is a text that the list shows for ``obj`` (for the outsider's list)."""

    obj: Any
    foreign: Any
    project: Any
    other: Any
    list_marker: str = ""
    extra: dict = field(default_factory=dict)


class _AccessCase:
    """Shared machinery; subclass ``UIAccessCase`` or ``APIAccessCase`` instead."""

    api = False
    # The role that may do everything the endpoints do, and a role of the same project
    # that may read (or not) but not write.
    permitted_role = "sysadmin"
    unpermitted_role = "consultant"
    # Whether the unpermitted role may read (``list``/``detail``); when False, reads are
    # refused too (page 403/404; endpoint 404 for the detail).
    unpermitted_reads = True

    # -- to implement ------------------------------------------------------------------

    def objects(self, demo) -> Objects:
        raise NotImplementedError

    def endpoints(self, objs: Objects) -> list[Endpoint]:
        raise NotImplementedError

    # -- machinery -----------------------------------------------------------------------

    def _setup(self, demo):
        objs = self.objects(demo)
        actors = {
            "permitted": make_user(None, (objs.project, self.permitted_role)),
            "unpermitted": make_user(None, (objs.project, self.unpermitted_role)),
            # The permitted role, but only in the other project.
            "outsider": make_user(None, (objs.other, self.permitted_role)),
        }
        return objs, actors

    def client_for(self, user=None):
        return api_client(user) if self.api else web_client(user)

    @staticmethod
    def state(obj) -> tuple:
        """Everything a refused request must leave alone: the object's row and the
        number of rows of its model."""
        model = type(obj)
        return (
            model._base_manager.count(),
            model._base_manager.filter(pk=obj.pk).values().first(),
        )

    def assert_refused_write(self, response, endpoint: Endpoint) -> None:
        if self.api and endpoint.scoped and not self.unpermitted_reads:
            # An object the user may not even see is not found, whatever the action.
            assert_error(response, 404, "not_found")
        elif self.api:
            assert_error(response, 403, "permission_denied")
            assert response.json()["fields"] == {}
        else:
            assert_ui_refused(response)

    def assert_not_found(self, response) -> None:
        if self.api:
            assert_error(response, 404, "not_found")
        else:
            assert response.status_code == 404, response.status_code

    # -- the tests every case gets ---------------------------------------------------

    def test_anonymous_is_refused(self, demo):
        objs, _ = self._setup(demo)
        before = self.state(objs.obj)
        client = self.client_for(None)
        for endpoint in self.endpoints(objs):
            response = endpoint.call(client, api=self.api)
            if self.api:
                assert_error(response, 401, "not_authenticated")
            else:
                assert_login_redirect(response, next_url=endpoint.url)
        assert self.state(objs.obj) == before

    def test_without_permission_is_refused(self, demo):
        objs, actors = self._setup(demo)
        client = self.client_for(actors["unpermitted"])
        for endpoint in self.endpoints(objs):
            before = self.state(objs.obj)
            response = endpoint.call(client, api=self.api)
            if endpoint.is_read and self.unpermitted_reads:
                assert response.status_code == 200, (endpoint.action, response.status_code)
            elif endpoint.is_read:
                if self.api and endpoint.action == "list":
                    # The list answers, restricted: the object is not in it.
                    assert response.status_code == 200
                    assert objs.obj.pk not in _ids(response.json())
                elif self.api:
                    self.assert_not_found(response)
                else:
                    assert_ui_refused(response)
            else:
                self.assert_refused_write(response, endpoint)
            assert self.state(objs.obj) == before, endpoint.action

    def test_with_permission_works(self, demo):
        objs, actors = self._setup(demo)
        client = self.client_for(actors["permitted"])
        # Writes that remove the object come last.
        ordered = sorted(
            self.endpoints(objs), key=lambda e: e.method == "delete" or "delet" in e.action
        )
        for endpoint in ordered:
            response = endpoint.call(client, api=self.api)
            assert response.status_code in endpoint.ok, (
                f"{endpoint.action}: {response.status_code} {_body(response)}"
            )
            if endpoint.check is not None:
                endpoint.check(response)

    def test_outsider_does_not_see_object(self, demo):
        """The permitted role in another project only: the object is not found."""
        objs, actors = self._setup(demo)
        client = self.client_for(actors["outsider"])
        before = self.state(objs.obj)
        for endpoint in self.endpoints(objs):
            if not endpoint.scoped:
                continue
            response = endpoint.call(client, api=self.api)
            self.assert_not_found(response)
        assert self.state(objs.obj) == before
        for endpoint in self.endpoints(objs):
            # A list whose URL names the project (a project's list page) was a 404 above.
            if endpoint.action == "list" and not endpoint.scoped:
                response = endpoint.call(client, api=self.api)
                assert response.status_code == 200
                if self.api:
                    assert objs.obj.pk not in _ids(response.json())
                elif objs.list_marker:
                    assert objs.list_marker not in response.content.decode()

    def test_other_project_object_not_found(self, demo):
        """The permitted user on the same kind of object in a project they are not in."""
        objs, actors = self._setup(demo)
        client = self.client_for(actors["permitted"])
        foreign = Objects(objs.foreign, objs.foreign, objs.other, objs.other, extra=objs.extra)
        before = self.state(objs.foreign)
        for endpoint in self.endpoints(foreign):
            if not endpoint.scoped:
                continue
            response = endpoint.call(client, api=self.api)
            self.assert_not_found(response)
        assert self.state(objs.foreign) == before


def _ids(payload) -> set:
    rows = payload["results"] if isinstance(payload, dict) and "results" in payload else payload
    return {row["id"] for row in rows}


class UIAccessCase(_AccessCase):
    """Access checks of server-rendered pages (subclass as ``Test<Model>Pages``)."""

    api = False


class APIAccessCase(_AccessCase):
    """Access checks of REST endpoints (subclass as ``Test<Model>API``)."""

    api = True


# --- extensions for models of other shapes ----------------------------------------------


class ReadOnlyAPIMixin:
    """An API case whose endpoints only read (audit entries, deal changes): besides the
    common tests, every write method on the list and the detail answers 405
    ``method_not_allowed`` to the permitted user and changes nothing. ``read_only_urls``
    gives ``(list_url, detail_url)``."""

    def read_only_urls(self, objs: Objects) -> tuple[str, str]:
        raise NotImplementedError

    def test_writes_are_not_allowed(self, demo):
        objs, actors = self._setup(demo)
        client = self.client_for(actors["permitted"])
        list_url, detail_url = self.read_only_urls(objs)
        before = self.state(objs.obj)
        for method, url in [
            ("post", list_url),
            ("put", detail_url),
            ("patch", detail_url),
            ("delete", detail_url),
        ]:
            response = getattr(client, method)(url, {}, format="json")
            assert_error(response, 405, "method_not_allowed")
        assert self.state(objs.obj) == before


class OwnObjectsMixin:
    """For models a role sees only where it owns the object (``scope_owner_field``: a
    consultant's customers, calls and deals). ``objects().obj`` belongs to someone else;
    ``own_object(objs, user)`` makes one of the same kind owned by ``user`` in
    ``objs.project``. A member holding ``own_role`` there reads their own object (and
    finds it in the lists) while the colleague's is not found and not listed."""

    own_role = "consultant"

    def own_object(self, objs: Objects, user):
        raise NotImplementedError

    def list_text(self, obj) -> str:
        """A text a list page shows for ``obj`` and for no other object (empty: the
        page's list is not checked)."""
        return ""

    def test_own_role_sees_only_own_objects(self, demo):
        import dataclasses

        objs, _actors = self._setup(demo)
        owner = make_user(None, (objs.project, self.own_role))
        mine = self.own_object(objs, owner)
        client = self.client_for(owner)
        others = [e for e in self.endpoints(objs) if e.is_read]
        own = [e for e in self.endpoints(dataclasses.replace(objs, obj=mine)) if e.is_read]
        assert own, "no read endpoint to check"
        for endpoint in own:
            response = endpoint.call(client, api=self.api)
            assert response.status_code == 200, (endpoint.action, endpoint.url)
            if endpoint.action == "list" and self.api:
                ids = _ids(response.json())
                assert mine.pk in ids, endpoint.url
                assert objs.obj.pk not in ids, endpoint.url
            elif endpoint.action == "list" and self.list_text(mine):
                html = response.content.decode()
                assert self.list_text(mine) in html, endpoint.url
                if self.list_text(objs.obj):
                    assert self.list_text(objs.obj) not in html, endpoint.url
        for endpoint in others:
            if endpoint.action != "detail":
                continue
            response = endpoint.call(client, api=self.api)
            self.assert_not_found(response)
