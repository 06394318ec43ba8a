"""The purchase plan pages 置业计划 and ``POST /api/v1/purchase-plans/`` as the roles that
use them: the consultant computes and prints a plan (大写, date, their name, the note
that taxes are estimates), a GET writes nothing, the floor price never shows, a role
without ``unit.view`` does not see the page, and the API refuses floats."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loupan.deals.models import DiscountType
from loupan.inventory.models import Unit
from tests.core.test_get_writes_nothing import business_writes
from tests.testing import assert_error, assert_login_redirect

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit(demo):
    unit = (
        Unit.objects.open_for_sale()
        .filter(project=demo["main"], use="residential", gross_area=Decimal("118.52"))
        .order_by("pk")
        .first()
    )
    Unit.objects.filter(pk=unit.pk).update(
        list_price=Decimal("1993456.78"), floor_price=Decimal("1888777.66")
    )
    return unit


def url(demo, suffix=""):
    return f"/projects/{demo['main'].pk}/payments/plan/{suffix}"


def query(demo, unit, **changes):
    main = demo["main"]
    data = {
        "unit": unit.pk,
        "discounts": [
            DiscountType.objects.get(project=main, name=n).pk for n in ("按揭付款", "开盘优惠")
        ],
        "method": "commercial",
        "home": "first",
        "down_payment_pct": "30",
        "down_payment": "",
        "years": "30",
        "commercial_rate": "3.5",
        "provident_rate": "2.6",
        "provident_amount": "",
    }
    data.update(changes)
    return data


def test_anonymous_goes_to_login(demo, client):
    assert_login_redirect(client.get(url(demo)), url(demo))


def test_the_empty_form(login, demo, unit):
    page = login("consultant").get(url(demo)).content.decode()
    assert 'id="plan-form"' in page and 'id="plan-result"' in page
    assert "<optgroup" in page and unit.number in page
    assert "按揭付款（0.5%）" in page and "开盘优惠（减 20,000.00 元）" in page
    assert "特批" not in page  # a variable discount is never offered
    assert "首套 15%" in page
    assert 'id="to-settings"' not in page  # the consultant does not see the settings


def test_consultant_computes_a_plan(login, demo, unit):
    client = login("consultant")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url(demo), query(demo, unit))
    assert response.status_code == 200
    assert business_writes(queries) == []
    page = response.content.decode()
    assert 'id="plan-list-price">1,993,456.78<' in page
    assert 'id="plan-price">1,963,489.50<' in page
    assert "589,046.85" in page and 'id="plan-loan">1,374,442.65<' in page
    assert 'id="plan-monthly-installment">6,171.86<' in page
    assert 'id="plan-monthly-principal">7,826.69<' in page
    assert 'id="plan-fee-deed_tax">19,634.90<' in page
    assert 'id="plan-fee-maintenance">11,852.00<' in page
    assert 'id="plan-cash">620,533.75<' in page
    assert "1,888,777.66" not in page and "底价" not in page
    assert "按揭付款（0.5%）" in page and "商业贷款（3.5%）" in page
    assert 'id="plan-print"' in page


def test_down_payment_below_minimum_next_to_the_field(login, demo, unit):
    page = login("consultant").get(url(demo), query(demo, unit, down_payment_pct="10"))
    page = page.content.decode()
    assert "首付款不能低于成交总价的 15%" in page and 'id="plan-price"' not in page


def test_missing_fee_shows_not_set(login, demo, unit):
    from loupan.payments.models import FeeRate

    FeeRate.objects.filter(project=demo["main"], kind="deed_tax").delete()
    page = login("consultant").get(url(demo), query(demo, unit)).content.decode()
    assert "未设置" in page and 'id="plan-incomplete"' in page
    assert 'id="plan-cash">600,898.85<' in page  # 589,046.85 + 11,852.00


def test_printable_sheet(login, demo, unit):
    client = login("consultant")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url(demo, "print/"), query(demo, unit))
    assert response.status_code == 200
    assert business_writes(queries) == []
    page = response.content.decode()
    assert "置业计划书" in page and demo["main"].name in page and unit.number in page
    assert "118.52㎡" in page and "1,993,456.78" in page and "按揭付款" in page
    assert 'id="price-upper">人民币壹佰玖拾陆万叁仟肆佰捌拾玖元伍角整<' in page
    assert "人民币陆拾贰万零伍佰叁拾叁元柒角伍分" in page  # 620,533.75
    assert "6,171.86" in page and "7,826.69" in page and "19,634.90" in page
    assert "李顾问" in page and "估算" in page and "以税务机关" in page
    assert "1,888,777.66" not in page


def test_printable_without_a_valid_plan_shows_the_form(login, demo, unit):
    response = login("consultant").get(url(demo, "print/"), query(demo, unit, years="40"))
    assert response.status_code == 400 and 'id="plan-form"' in response.content.decode()


@pytest.mark.parametrize("username", ["manager", "planner", "finance", "salesadmin"])
def test_other_roles_with_unit_view(login, demo, unit, username):
    response = login(username).get(url(demo), query(demo, unit))
    assert (
        response.status_code == 200 and 'id="plan-price">1,963,489.50<' in response.content.decode()
    )


def test_without_unit_view_not_found(login, demo):
    assert login("sysadmin").get(url(demo)).status_code == 404
    assert login("service").get(url(demo, "print/")).status_code == 404


def test_post_not_allowed(login, demo):
    assert login("consultant").post(url(demo)).status_code == 405


# --- API ----------------------------------------------------------------------------------

API = "/api/v1/purchase-plans/"


def body(demo, unit, **changes):
    data = query(demo, unit, years=30)
    data.pop("down_payment")
    data.pop("provident_amount")
    data.update(changes)
    return data


def test_api_computes_a_plan(api, demo, unit):
    response = api("consultant").post(API, body(demo, unit), format="json")
    assert response.status_code == 200, response.json()
    plan = response.json()
    assert plan["price"] == "1963489.50" and plan["list_price"] == "1993456.78"
    assert plan["price_upper"] == "壹佰玖拾陆万叁仟肆佰捌拾玖元伍角整"
    assert [d["amount"] for d in plan["discounts"]] == ["9967.28", "20000.00"]
    assert plan["down_payment"] == "589046.85" and plan["loan"] == "1374442.65"
    assert plan["equal_installment"]["monthly_payment"] == "6171.86"
    assert plan["equal_principal"]["monthly_payment"] == "7826.69"
    assert plan["deed_tax"]["amount"] == "19634.90" and plan["deed_tax"]["rate"] == "1.0000"
    assert plan["maintenance"]["amount"] == "11852.00"
    assert plan["cash_needed"] == "620533.75" and plan["fees_incomplete"] is False
    assert "floor" not in str(plan)


def test_api_refusals(api, demo, unit):
    client = api("consultant")
    assert_error(
        client.post(API, body(demo, unit, down_payment_pct="10"), format="json"),
        400,
        "down_payment_too_low",
        fields=["down_payment_pct"],
    )
    assert_error(
        client.post(API, body(demo, unit, commercial_rate=3.5), format="json"),
        400,
        "invalid",
        fields=["commercial_rate"],
    )
    assert_error(
        client.post(API, body(demo, unit, years=31), format="json"),
        400,
        "invalid",
        fields=["years"],
    )
    assert_error(api("sysadmin").post(API, body(demo, unit), format="json"), 404, "not_found")
    Unit.objects.filter(pk=unit.pk).update(status="contracted")
    assert_error(client.post(API, body(demo, unit), format="json"), 400, "invalid", fields=["unit"])


def test_api_one_off_without_fees(api, demo, unit):
    from loupan.payments.models import FeeRate

    FeeRate.objects.filter(project=demo["main"]).delete()
    data = body(demo, unit, method="one_off", discounts=[])
    plan = api("consultant").post(API, data, format="json").json()
    assert plan["price"] == plan["down_payment"] == plan["cash_needed"] == "1993456.78"
    assert plan["equal_installment"] is None and plan["loan"] == "0.00"
    assert plan["deed_tax"]["amount"] is None and plan["deed_tax"]["is_set"] is False
    assert plan["fees_incomplete"] is True
