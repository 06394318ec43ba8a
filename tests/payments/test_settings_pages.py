"""The payment settings page 收款设置 and its API, as the roles that use them: the manager
and director save; finance, the supervisor and the auditor read (read-only page, GET
API); the consultant and the planner do not see the project's money settings (404)."""

from decimal import Decimal

import pytest

from loupan.payments.models import FeeRate, PaymentSettings
from tests.testing import assert_error, assert_login_redirect

pytestmark = pytest.mark.django_db


def url(demo, suffix=""):
    return f"/projects/{demo['main'].pk}/payments/settings/{suffix}"


FORM = {
    "min_down_pct_first": "20",
    "min_down_pct_second": "30",
    "down_payment_days": "15",
    "full_payment_days": "30",
    "loan_days": "90",
    "late_fee_daily_pct": "0.05",
    "late_fee_grace_days": "3",
}


def test_anonymous_goes_to_login(demo, client):
    assert_login_redirect(client.get(url(demo)), url(demo))


@pytest.mark.parametrize("username", ["manager", "director"])
def test_manager_and_director_edit(login, demo, username):
    client = login(username)
    page = client.get(url(demo)).content.decode()
    assert 'id="settings-form"' in page and 'id="fee-rate-form"' in page
    assert "契税" in page and "0.00–140.00㎡（含）" in page and "140.00㎡ 以上" in page
    response = client.post(url(demo), FORM)
    assert response.status_code == 302
    row = PaymentSettings.objects.get(project=demo["main"])
    assert (row.min_down_pct_second, row.down_payment_days) == (Decimal("30.00"), 15)


def test_refused_value_shows_next_to_its_field(login, demo):
    response = login("manager").post(url(demo), {**FORM, "late_fee_daily_pct": "2"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "滞纳金日费率须在 0 到 1%/日 之间" in page
    assert PaymentSettings.objects.get(project=demo["main"]).late_fee_daily_pct == Decimal("0.05")


@pytest.mark.parametrize("username", ["finance", "supervisor", "auditor"])
def test_readers_see_read_only_and_cannot_save(login, demo, username):
    client = login(username)
    page = client.get(url(demo)).content.decode()
    assert 'id="value-min_down_pct_first">15%<' in page and "100 元/㎡" in page
    assert 'id="settings-values"' in page and 'id="read-only-note"' in page
    assert 'id="settings-form"' not in page and 'id="fee-rate-form"' not in page
    assert 'id="value-late_fee_daily_pct">0.05%/日<' in page
    assert client.post(url(demo), FORM).status_code == 403
    row = FeeRate.objects.filter(project=demo["main"]).first()
    assert client.post(url(demo, f"fee-rates/{row.pk}/delete/")).status_code == 403
    assert FeeRate.objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("username", ["consultant", "planner"])
def test_consultant_and_planner_do_not_see_it(login, demo, username):
    client = login(username)
    assert client.get(url(demo)).status_code == 404
    assert client.post(url(demo), FORM).status_code == 404
    assert PaymentSettings.objects.get(project=demo["main"]).min_down_pct_first == 15


def test_fee_rate_add_and_delete_on_the_page(login, demo):
    client = login("manager")
    main = demo["main"]
    FeeRate.objects.filter(project=main, kind="maintenance").delete()
    data = {
        "kind": "maintenance",
        "home": "any",
        "area_min": "0",
        "area_max": "",
        "basis": "per_sqm",
        "rate": "80",
    }
    assert client.post(url(demo, "fee-rates/"), data).status_code == 302
    row = FeeRate.objects.get(project=main, kind="maintenance")
    assert row.rate == Decimal("80") and row.area_max is None
    # the same band again overlaps
    response = client.post(url(demo, "fee-rates/"), data)
    assert response.status_code == 400 and "重叠" in response.content.decode()
    assert client.post(url(demo, f"fee-rates/{row.pk}/delete/")).status_code == 302
    assert not FeeRate.objects.filter(pk=row.pk).exists()
    other = FeeRate.objects.filter(project=demo["second"]).first()
    assert client.post(url(demo, f"fee-rates/{other.pk}/delete/")).status_code == 404


# --- API --------------------------------------------------------------------------------


def api_url(demo, project=None):
    return f"/api/v1/payment-settings/{(project or demo['main']).pk}/"


def test_api_get_and_put(api, demo):
    body = api("finance").get(api_url(demo)).json()
    assert body["min_down_pct_first"] == "15.00" and body["late_fee_daily_pct"] == "0.0500"
    client = api("manager")
    response = client.put(api_url(demo), {"min_down_pct_second": "25"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["min_down_pct_second"] == "25.00"
    assert response.json()["min_down_pct_first"] == "15.00"


def test_api_refusals(api, demo):
    client = api("manager")
    body = assert_error(
        client.put(api_url(demo), {"min_down_pct_first": "101"}, format="json"),
        400,
        "invalid",
        fields=["min_down_pct_first"],
    )
    assert "首套最低首付比例" in body["message"]
    assert_error(
        client.put(api_url(demo), {"late_fee_daily_pct": 0.05}, format="json"),
        400,
        "invalid",
        fields=["late_fee_daily_pct"],
    )
    assert_error(
        api("supervisor").put(api_url(demo), {"loan_days": 1}, format="json"),
        403,
        "permission_denied",
    )
    assert_error(api("consultant").get(api_url(demo)), 404, "not_found")
    # the manager is not a member of the second project
    assert_error(client.get(api_url(demo, demo["second"])), 404, "not_found")


def test_fee_rates_list_has_no_n_plus_one(api, demo):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api("auditor")
    counts = []
    for project in (demo["second"], demo["main"]):
        FeeRate.objects.create(
            project=project, kind="deed_tax", home="any", area_min="500", basis="percent", rate="3"
        )
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/fee-rates/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_fee_rates_api(api, demo):
    main = demo["main"]
    body = api("auditor").get("/api/v1/fee-rates/", {"project": main.pk}).json()
    rows = body["results"] if isinstance(body, dict) else body
    assert len(rows) == 5 and {r["project"] for r in rows} == {main.pk}
    client = api("manager")
    created = client.post(
        "/api/v1/fee-rates/",
        {
            "project": main.pk,
            "kind": "deed_tax",
            "home": "any",
            "area_min": "0",
            "area_max": None,
            "basis": "percent",
            "rate": "3",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert_error(
        client.post(
            "/api/v1/fee-rates/",
            {
                "project": main.pk,
                "kind": "deed_tax",
                "home": "any",
                "area_min": "100",
                "basis": "percent",
                "rate": "3",
            },
            format="json",
        ),
        400,
        "invalid",
        fields=["area_min"],
    )
    assert_error(
        client.post(
            "/api/v1/fee-rates/",
            {
                "project": main.pk,
                "kind": "deed_tax",
                "home": "second",
                "area_min": "0",
                "basis": "percent",
                "rate": 3.0,
            },
            format="json",
        ),
        400,
        "invalid",
        fields=["rate"],
    )
    assert_error(api("finance").delete(f"/api/v1/fee-rates/{pk}/"), 403, "permission_denied")
    assert_error(api("consultant").delete(f"/api/v1/fee-rates/{pk}/"), 404, "not_found")
    assert client.delete(f"/api/v1/fee-rates/{pk}/").status_code == 204
    assert not FeeRate.objects.filter(pk=pk).exists()
