"""No input answers a server error (issue 12): ids that are not numbers, filter values
of the wrong type, OPTIONS, NUL characters, JSON nested without end, bodies over the
limit, budgets that are not money, and customer ids a consultant may not tell apart.
Each is refused where it stops everywhere (the router, ``core.api``, the request
middleware, the model), in the one error shape on the API and on a page that names the
field elsewhere."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from loupan.accounts.models import User
from loupan.api_urls import router
from loupan.customers.models import Customer
from tests.deals.helpers import customer_of, free_unit
from tests.testing import assert_error

pytestmark = pytest.mark.django_db

_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def _detail_routes():
    """``(path with {kwarg} holes, methods)`` of every router route that names an object."""
    for pattern in router.urls:
        regex = pattern.pattern.regex.pattern
        if "format" in regex or not _GROUP.search(regex):
            continue
        path = _GROUP.sub(lambda m: "{" + m.group(1) + "}", regex.strip("^$"))
        yield path, sorted(getattr(pattern.callback, "actions", {}))


DETAIL_ROUTES = list(_detail_routes())


def test_the_router_has_detail_routes():
    paths = [path for path, _ in DETAIL_ROUTES]
    assert "deals/{pk}/cancel/" in paths and "roles/{code}/" in paths
    assert len(paths) > 100


@pytest.mark.parametrize("path,methods", DETAIL_ROUTES, ids=[p for p, _ in DETAIL_ROUTES])
def test_an_id_that_is_not_a_number_is_404_on_every_detail_action(api, path, methods):
    """``/deals/abc/cancel/`` was a 500 for the 13 deal actions (and every other detail
    action of every viewset) while ``/deals/abc/`` was a 404."""
    client = api("manager")
    for value in ("abc", "null", "-1", "1.5", "１", "9" * 30):
        # (a role's ``code`` is text: an unknown one is the same 404)
        url = "/api/v1/" + re.sub(r"\{\w+\}", value, path)
        for method in methods:
            response = getattr(client, method)(url, {}, format="json")
            assert_error(response, 404, "not_found")


@pytest.mark.parametrize("url", ["/api/v1/roster/", "/api/v1/receptions/", "/api/v1/calls/"])
@pytest.mark.parametrize("value", ["abc", "null", "-1", "1.5"])
def test_a_project_filter_that_is_not_a_number_is_400_naming_it(api, url, value):
    assert_error(api("manager").get(url, {"project": value}), 400, "invalid", fields=["project"])


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/units/",
        "/api/v1/day-closes/",
        "/api/v1/handovers/",
        "/api/v1/roster/set/",
        "/api/v1/mortgages/reconciliation/",
    ],
)
def test_every_project_parameter_is_checked_alike(api, url):
    """The older apps' own ``_project`` helpers and hand-made filters are
    ``core.api.project_param`` / ``project_filtered`` now: ``abc`` is refused, never
    ignored (a list of everything) nor handed to the database."""
    client = api("manager")
    response = client.post(url, {"project": "abc"}, format="json") if "set" in url else None
    response = response or client.get(url, {"project": "abc"})
    assert_error(response, 400, "invalid", fields=["project"])


def test_a_visible_project_filter_still_narrows(api, demo):
    client = api("manager")
    main = demo["main"]
    rows = client.get("/api/v1/units/", {"project": main.pk}).json()["results"]
    assert rows and {row["project"] for row in rows} == {main.pk}


@pytest.mark.parametrize("tail", ["board/", "board/changes/"])
@pytest.mark.parametrize("value", ["abc", "null", "1e3"])
def test_the_board_refuses_a_building_that_is_not_a_number_naming_it(login, demo, tail, value):
    response = login("manager").get(f"/projects/{demo['main'].pk}/{tail}", {"building": value})
    assert response.status_code == 400
    page = response.content.decode()
    assert "building" in page and "应为编号" in page


# --- OPTIONS ------------------------------------------------------------------------------


def _api_paths():
    """Every API URL pattern as a path, ids filled with 1."""

    def walk(resolver, prefix):
        for entry in resolver.url_patterns:
            regex = prefix + entry.pattern.regex.pattern.lstrip("^")
            if isinstance(entry, URLResolver):
                yield from walk(entry, regex.rstrip("$"))
            elif isinstance(entry, URLPattern):
                yield regex

    for regex in walk(get_resolver(), "/"):
        if not regex.startswith("/api/v1/") or "format" in regex:
            continue
        path = _GROUP.sub("1", regex.rstrip("$"))
        path = re.sub(r"<(?:\w+:)?\w+>", "1", path).replace("\\", "")
        yield path


@pytest.mark.parametrize("role", ["manager", "consultant"])
def test_options_answers_on_every_endpoint(api, role):
    """``OPTIONS`` on the import endpoints was a 500 (no serializer for DRF's metadata)."""
    client = api(role)
    paths = sorted(set(_api_paths()))
    assert any(path.endswith("/import/") for path in paths)
    for path in paths:
        response = client.options(path)
        assert response.status_code < 500, (path, response.content[:300])
        if response.status_code >= 400:
            assert_error(response, response.status_code, response.json()["code"])


def test_options_on_an_import_endpoint_describes_it(api, demo):
    response = api("manager").options(f"/api/v1/projects/{demo['main'].pk}/units/import/")
    assert response.status_code == 200
    assert response.json()["name"]


# --- NUL characters -------------------------------------------------------------------------


def test_nul_in_a_field_is_400_naming_it(api, demo):
    """``role_code`` with a NUL was PostgreSQL's DataError (a 500)."""
    client = api("sysadmin")
    consultant = User.objects.get(username="consultant")
    body = {"user": consultant.pk, "project": demo["main"].pk, "role_code": "sales_admin\x00"}
    assert_error(
        client.post("/api/v1/memberships/", body, format="json"),
        400,
        "invalid",
        fields=["role_code"],
    )
    body = {
        "username": "nul",
        "real_name": "新员工",
        "project": demo["main"].pk,
        "role_code": "\x00",
        "password": "Xinyuan2026q",
    }
    assert_error(
        client.post("/api/v1/users/", body, format="json"), 400, "invalid", fields=["role_code"]
    )
    # nested, and in a key
    nested = {"project": demo["main"].pk, "name": "张", "data": {"note": "a\x00b"}}
    body = assert_error(
        client.post("/api/v1/customers/", nested, format="json"),
        400,
        "invalid",
        fields=["data.note"],
    )
    assert "data.note" in body["message"]
    assert_error(
        client.post("/api/v1/customers/", {"a\x00": 1}, format="json"),
        400,
        "invalid",
        fields=["a\\0"],
    )
    # a form body and a multipart body
    assert_error(
        client.post("/api/v1/memberships/", {"role_code": "x\x00"}),
        400,
        "invalid",
        fields=["role_code"],
    )
    assert_error(
        client.post("/api/v1/memberships/", {"role_code": "x\x00"}, format="multipart"),
        400,
        "invalid",
        fields=["role_code"],
    )


def test_nul_in_a_put_or_patch_form_is_400_naming_it(api):
    consultant = User.objects.get(username="consultant")
    response = api("sysadmin").generic(
        "PATCH",
        f"/api/v1/users/{consultant.pk}/",
        "real_name=a%00b",
        content_type="application/x-www-form-urlencoded",
    )
    assert_error(response, 400, "invalid", fields=["real_name"])
    consultant.refresh_from_db()
    assert "\x00" not in consultant.real_name


def test_nul_in_a_query_parameter_is_400_naming_it(api, login, demo):
    assert_error(
        api("manager").get("/api/v1/customers/", {"q": "\x00"}), 400, "invalid", fields=["q"]
    )
    page = login("consultant").get(f"/projects/{demo['main'].pk}/pool/", {"q": "a\x00"})
    assert page.status_code == 400
    assert "q" in page.content.decode() and "空字符" in page.content.decode()


def test_nul_in_a_page_form_is_400(login, demo):
    before = Customer.objects.count()
    response = login("consultant").post(
        f"/projects/{demo['main'].pk}/customers/register/",
        {"name": "张\x00三", "phone": "13812340001", "wanted_layout": "B1"},
    )
    assert response.status_code == 400
    assert "name" in response.content.decode()
    assert Customer.objects.count() == before


def test_nul_in_the_path_is_404(api):
    assert_error(api("manager").get("/api/v1/roles/%00/"), 404, "not_found")


# --- JSON nesting and body size -------------------------------------------------------------


@pytest.mark.parametrize("depth", [100_000, 65])
def test_json_nested_without_end_is_400(api, demo, depth):
    """100,000 levels ended in RecursionError in the JSON parser (a 500)."""
    body = "[" * depth + "]" * depth
    response = api("manager").generic(
        "POST", "/api/v1/customers/", body, content_type="application/json"
    )
    assert_error(response, 400, "invalid", fields=["body"])


def test_json_at_a_sane_depth_still_reaches_the_view(api, demo):
    body = {"project": demo["main"].pk, "data": {"note": "好"}}
    response = api("consultant").post("/api/v1/customers/", body, format="json")
    assert_error(response, 400, "invalid", fields=["name"])


def test_a_body_over_the_limit_is_the_error_shape(api, settings, demo):
    """Over ``DATA_UPLOAD_MAX_MEMORY_SIZE``: Django's HTML 400 page before."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client = api("manager")
    big = {"project": demo["main"].pk, "name": "x" * 20_000}
    assert_error(client.post("/api/v1/customers/", big, format="json"), 413, "too_large")
    assert_error(client.post("/api/v1/customers/", big), 413, "too_large")
    body = assert_error(
        client.post("/api/v1/customers/", big, format="multipart"), 413, "too_large"
    )
    assert "过大" in body["message"]


def test_a_page_body_over_the_limit_is_a_page(login, settings, demo):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = login("consultant").post(
        f"/projects/{demo['main'].pk}/customers/register/", {"name": "x" * 20_000}
    )
    assert response.status_code == 413
    assert "过大" in response.content.decode()


# --- budgets --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["-1", "NaN", "1e30", "Infinity", "abc"])
@pytest.mark.parametrize("field", ["budget_min", "budget_max"])
def test_a_budget_that_is_not_money_is_400_naming_it(api, demo, field, value):
    """They were dropped with a 201 (a top-level field the serializer did not know) or
    stored negative (inside ``data``)."""
    client = api("consultant")
    base = {"project": demo["main"].pk, "name": "预算", "wanted_layout": "B1"}
    before = Customer.objects.count()
    for n, body in enumerate([{**base, field: value}, {**base, "data": {field: value}}], start=1):
        body["phone"] = f"1381234{n:04d}"
        response = client.post("/api/v1/customers/", body, format="json")
        assert_error(response, 400, "invalid", fields=[field])
    assert Customer.objects.count() == before


def test_a_budget_is_stored_from_data_and_refused_beside_it(api, demo):
    body = {"project": demo["main"].pk, "name": "预算", "phone": "13812349999"}
    body.update(wanted_layout="B1", data={"budget_min": "120", "budget_max": "150.5"})
    client = api("consultant")
    beside = client.post("/api/v1/customers/", {**body, "budget_max": "150"}, format="json")
    assert_error(beside, 400, "invalid", fields=["budget_max"])
    response = client.post("/api/v1/customers/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["budget_max"] == "150.50"


@pytest.mark.parametrize("value", ["-1", "NaN", "1e30", 12.5])
def test_a_channel_spend_that_is_not_money_is_400_naming_it(api, demo, value):
    from loupan.customers.models import Channel

    channel = Channel.objects.filter(project=demo["main"]).first()
    body = {"project": demo["main"].pk, "channel": channel.pk, "month": "2031-07", "amount": value}
    assert_error(
        api("manager").post("/api/v1/channel-spends/", body, format="json"),
        400,
        "invalid",
        fields=["amount"],
    )


# --- customer ids ---------------------------------------------------------------------------


def test_a_consultant_cannot_tell_which_customer_ids_exist(api, demo):
    """A colleague's customer answered 403 "不是您的客户", an unknown id 400 "客户不存在"."""
    colleagues = customer_of("consultant2", "13700003333")
    unknown = Customer.objects.order_by("-pk").first().pk + 1000
    client = api("consultant")
    unit = free_unit()
    answers = [
        client.post("/api/v1/deals/", {"unit": unit.pk, "customer": pk}, format="json")
        for pk in (colleagues.pk, unknown)
    ]
    assert answers[0].status_code == answers[1].status_code == 400
    assert answers[0].json() == answers[1].json()
    assert_error(answers[0], 400, "invalid", fields=["customer"])


# --- id filters of the shared FilterSets ----------------------------------------------------


@pytest.mark.parametrize(
    "url,name",
    [
        ("/api/v1/complaint-categories/", "project"),
        ("/api/v1/deal-changes/", "deal"),
        ("/api/v1/deal-changes/", "project"),
        ("/api/v1/customers/", "project"),
        ("/api/v1/measured-areas/", "building"),  # unit__building: across a relation
        ("/api/v1/intended-units/", "unit"),  # the app's own parameter helper
    ],
)
@pytest.mark.parametrize("value", ["9.223372036854776e+18", "0.5", "abc", "99999999999999999999"])
def test_an_id_filter_takes_only_ids(api, url, name, value):
    """A float beyond the integer range was an OverflowError on SQLite (a 500)."""
    assert_error(api("manager").get(url, {name: value}), 400, "invalid", fields=[name])


def test_a_list_page_refuses_an_id_filter_that_is_not_an_id(login, demo):
    response = login("manager").get(f"/projects/{demo['main'].pk}/deals/", {"consultant": "9e99"})
    assert response.status_code == 400 and "consultant" in response.content.decode()


def test_days_in_stage_beyond_a_century_is_refused(api):
    response = api("manager").get("/api/v1/certificates/", {"min_days": "739957"})
    assert_error(response, 400, "invalid", fields=["min_days"])
