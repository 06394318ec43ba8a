"""``POST /api/v1/calculators/mortgage/``: any signed-in user (token or session), the
response's shape and figures as strings to the fen, refusals in the one error shape, a
JSON float refused, nothing written."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.core.test_get_writes_nothing import business_writes
from tests.testing import api_client, assert_error, make_user

pytestmark = pytest.mark.django_db

URL = "/api/v1/calculators/mortgage/"
MILLION = {"principal": "1000000.00", "annual_rate": "4.9"}
BODY = {"method": "equal_installment", "years": 30, "commercial": MILLION}
FEN = re.compile(r"^\d+\.\d\d$")


def post(client, body):
    return client.post(URL, body, format="json")


def test_consultant_gets_the_schedule(api):
    response = post(api("consultant"), BODY)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"monthly_payment", "total_payment", "total_interest", "schedule"}
    assert body["monthly_payment"] == "5307.27"
    assert body["total_payment"] == "1910615.12"
    assert body["total_interest"] == "910615.12"
    assert len(body["schedule"]) == 360
    assert body["schedule"][0] == {
        "period": 1,
        "payment": "5307.27",
        "principal": "1223.94",
        "interest": "4083.33",
        "balance": "998776.06",
    }
    assert body["schedule"][-1]["balance"] == "0.00"
    for item in body["schedule"]:
        for key in ("payment", "principal", "interest", "balance"):
            assert isinstance(item[key], str) and FEN.match(item[key]), item


def test_equal_principal_and_combined(api):
    client = api("consultant")
    body = post(client, {**BODY, "method": "equal_principal"}).json()
    assert body["monthly_payment"] == "6861.11"
    # the example: a combined loan 组合贷; the commercial loan may be left out
    both = {**BODY, "provident": {"principal": "600000.00", "annual_rate": "2.85"}}
    assert post(client, both).json()["monthly_payment"] == "7788.61"
    alone = {"method": "equal_installment", "years": 30, "provident": both["provident"]}
    assert post(client, alone).json()["monthly_payment"] == "2481.34"
    assert post(client, {**alone, "commercial": None}).json()["monthly_payment"] == "2481.34"


@pytest.mark.parametrize("role", ["finance", "auditor", "planner"])
def test_open_to_every_role(api, role):
    assert post(api(role), BODY).status_code == 200


def test_open_to_a_user_of_no_project(demo):
    assert post(api_client(make_user()), BODY).status_code == 200


def test_session_login_works_too(login):
    response = login("consultant").post(URL, BODY, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["monthly_payment"] == "5307.27"


def test_anonymous_is_refused(demo):
    assert_error(post(api_client(), BODY), 401, "not_authenticated")


def test_a_float_is_refused(api):
    body = {**BODY, "commercial": {"principal": 1000000.0, "annual_rate": 4.9}}
    error = assert_error(
        post(api("consultant"), body),
        400,
        "invalid",
        fields=["commercial.principal", "commercial.annual_rate"],
    )
    assert "浮点数" in error["message"]
    # a whole number is exact: it may be sent as a JSON integer
    whole = {**BODY, "commercial": {"principal": 1000000, "annual_rate": "4.9"}}
    assert post(api("consultant"), whole).json()["monthly_payment"] == "5307.27"


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"years": 31}, "years"),
        ({"years": 0}, "years"),
        ({"method": "annuity"}, "method"),
        ({"commercial": None}, "commercial"),
        ({"commercial": {"principal": "0", "annual_rate": "4.9"}}, "commercial.principal"),
        (
            {"commercial": {"principal": "100000000.01", "annual_rate": "4.9"}},
            "commercial.principal",
        ),
        ({"commercial": {"principal": "1000.001", "annual_rate": "4.9"}}, "commercial.principal"),
        ({"commercial": {"principal": "1000"}}, "commercial.annual_rate"),
        ({"provident": {"principal": "1000", "annual_rate": "24.5"}}, "provident.annual_rate"),
    ],
)
def test_refusals_name_the_field(api, changes, field):
    error = assert_error(
        post(api("consultant"), {**BODY, **changes}), 400, "invalid", fields=[field]
    )
    assert list(error["fields"]) == [field]


def test_no_loan_at_all(api):
    body = {"method": "equal_installment", "years": 30}
    error = assert_error(post(api("consultant"), body), 400, "invalid", fields=["commercial"])
    assert error["message"] == "请至少填写商业贷款或公积金贷款中的一项"


def test_only_post(api):
    assert_error(api("consultant").get(URL), 405, "method_not_allowed")


def test_a_calculation_writes_nothing(api):
    client = api("consultant")
    post(client, BODY)  # the token exists before the count
    with CaptureQueriesContext(connection) as queries:
        assert post(client, BODY).status_code == 200
    assert business_writes(queries) == []
