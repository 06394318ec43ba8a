"""The calculator page ``/calculator/``: any signed-in user, the form, the result rendered
by the server (whole page and htmx partial), the reasons next to the fields, the link in
the navigation, and a GET that writes nothing."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loupan.accounts.models import User
from tests.core.test_get_writes_nothing import business_writes
from tests.testing import assert_login_redirect, make_user, web_client

pytestmark = pytest.mark.django_db

URL = "/calculator/"
QUERY = {
    "method": "equal_installment",
    "years": "30",
    "commercial_principal": "1000000",
    "commercial_rate": "4.9",
    "provident_principal": "",
    "provident_rate": "",
}


def text(response):
    return response.content.decode()


def test_anonymous_goes_to_login(demo, client):
    assert_login_redirect(client.get(URL), URL)


def test_the_empty_form(login):
    response = login("consultant").get(URL)
    assert response.status_code == 200
    page = text(response)
    assert 'id="calculator-form"' in page and "<html" in page
    assert 'name="commercial_principal"' in page and 'name="provident_rate"' in page
    assert 'id="monthly-payment"' not in page


def test_values_show_the_monthly_payment_and_the_schedule(login):
    page = text(login("consultant").get(URL, QUERY))
    assert '<div class="fs-3 fw-semibold" id="monthly-payment">5,307.27</div>' in page
    assert "910,615.12" in page and "1,910,615.12" in page
    # the first year and the last month, then all 360 behind <details>
    assert page.count("<td>12</td>") == 2 and page.count("<td>13</td>") == 1
    assert page.count("<td>360</td>") == 2
    assert 'id="schedule-all"' in page and "显示全部 360 期" in page
    assert "省略 347 期" in page


def test_equal_principal_and_combined(login):
    client = login("consultant")
    page = text(client.get(URL, {**QUERY, "method": "equal_principal"}))
    assert 'id="monthly-payment">6,861.11<' in page and "2,788.32" in page  # first and last
    both = {**QUERY, "provident_principal": "600000", "provident_rate": "2.85"}
    assert 'id="monthly-payment">7,788.61<' in text(client.get(URL, both))


def test_htmx_gets_the_part_only(login):
    response = login("consultant").get(URL, QUERY, HTTP_HX_REQUEST="true")
    page = text(response)
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="calculator"') and "<html" not in page
    assert 'id="monthly-payment">5,307.27<' in page
    # back in the browser's history, htmx asks for the whole page
    restored = login("consultant").get(
        URL, QUERY, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in text(restored)


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"years": "31"}, "贷款年限须在 1 至 30 年之间"),
        (
            {"commercial_principal": "", "commercial_rate": ""},
            "请至少填写商业贷款或公积金贷款中的一项",
        ),
        ({"commercial_rate": ""}, "此项为必填项"),
        ({"commercial_rate": "25"}, "年利率须在 0% 至 24% 之间"),
        ({"commercial_principal": "100000000.01"}, "贷款金额不能超过 100,000,000.00 元"),
    ],
)
def test_reasons_next_to_the_fields(login, changes, reason):
    response = login("consultant").get(URL, {**QUERY, **changes})
    assert response.status_code == 200
    page = text(response)
    assert reason in page and "invalid-feedback" in page
    assert 'id="monthly-payment"' not in page


def test_a_user_of_no_project_may_use_it(demo):
    client = web_client(make_user())
    assert 'id="monthly-payment">5,307.27<' in text(client.get(URL, QUERY))


def test_the_navigation_links_it_for_everyone(login):
    for username in ("consultant", "finance", "auditor"):
        page = text(login(username).get("/"))
        assert f'href="{URL}" id="nav-calculator">房贷计算器<' in page, username


def test_in_english(demo):
    user = make_user()
    User.objects.filter(pk=user.pk).update(language="en")
    page = text(web_client(user).get(URL, {**QUERY, "method": "equal_principal"}))
    assert "Mortgage calculator" in page and "Equal principal" in page
    assert 'id="monthly-payment">6,861.11<' in page


def test_a_get_writes_nothing(login):
    client = login("consultant")
    client.get(URL)  # the session exists before the count
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL, QUERY).status_code == 200
        assert client.get(URL, {**QUERY, "years": "99"}).status_code == 200
    assert business_writes(queries) == []
