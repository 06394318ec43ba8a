"""The API's one error shape, ``{"code", "message", "fields"}``, for every refusal; a
refused request writes nothing."""

import pytest
from rest_framework.test import APIClient

from loupan.accounts.models import User
from loupan.audit.models import AuditEntry
from loupan.inventory.models import Company, Project


@pytest.fixture
def rows(db):
    """``rows()``: how many projects and audit entries exist now."""
    return lambda: (Project.objects.count(), AuditEntry.objects.count())


def _shape(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == code
    assert isinstance(body["fields"], dict)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"]), body["message"]
    return body


def _new_project(company, **over):
    body = {
        "company": company.pk,
        "name": "锦城·新苑",
        "code": "NEW",
        "city": "成都",
        "address": "成都市新路 1 号",
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


# --- 401 ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/projects/", "/api/v1/audit-entries/", "/api/v1/me/"])
def test_no_token_is_401(demo, url):
    body = _shape(APIClient().get(url), 401, "not_authenticated")
    assert body["fields"] == {}


def test_bad_token_is_401(demo):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef")
    response = client.get("/api/v1/projects/")
    _shape(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_no_token_write_is_401_and_writes_nothing(demo, rows):
    before = rows()
    response = APIClient().post("/api/v1/projects/", _new_project(demo["company"]), format="json")
    _shape(response, 401, "not_authenticated")
    assert rows() == before


# --- 404 ------------------------------------------------------------------------------


def test_unknown_id_is_404(api, demo):
    client = api("sysadmin")
    _shape(client.get("/api/v1/projects/987654/"), 404, "not_found")
    _shape(client.get("/api/v1/presale-permits/987654/"), 404, "not_found")
    _shape(client.get("/api/v1/audit-entries/987654/"), 404, "not_found")


def test_forbidden_object_is_the_same_404(api, demo):
    """A project the caller does not belong to looks exactly like one that does not exist."""
    client = api("consultant")
    hidden = client.get(f"/api/v1/projects/{demo['second'].pk}/").json()
    missing = client.get("/api/v1/projects/987654/").json()
    assert hidden == missing
    assert hidden["code"] == "not_found"


def test_unknown_api_url_is_404_json(api, demo):
    response = api("sysadmin").get("/api/v1/no-such-thing/")
    body = _shape(response, 404, "not_found")
    assert body["fields"] == {}


# --- 400 ------------------------------------------------------------------------------


def test_missing_field_is_400_naming_it(api, demo, rows):
    before = rows()
    response = api("sysadmin").post(
        "/api/v1/projects/", _new_project(demo["company"], name=None), format="json"
    )
    body = _shape(response, 400, "invalid")
    assert list(body["fields"]) == ["name"]
    assert body["fields"]["name"] == ["该字段是必填项。"]
    # The message names the field by its Chinese label.
    assert body["message"] == "项目名称：该字段是必填项。"
    assert rows() == before


def test_several_fields_are_all_listed(api, demo, rows):
    before = rows()
    response = api("sysadmin").post(
        "/api/v1/projects/",
        {"company": 987654, "code": "not a slug!", "city": "", "address": "x"},
        format="json",
    )
    body = _shape(response, 400, "invalid")
    assert {"company", "name", "code", "city"} <= set(body["fields"])
    assert rows() == before


def test_service_validation_is_400_and_writes_nothing(api, demo, rows):
    """A rule checked by the service (the project code is unique) answers in the same
    shape, field by field, and the project is left as it was."""
    main = demo["main"]
    before = rows()
    response = api("sysadmin").patch(f"/api/v1/projects/{main.pk}/", {"code": "YQF"}, format="json")
    body = _shape(response, 400, "invalid")
    assert "code" in body["fields"]
    assert rows() == before
    assert Project.objects.get(pk=main.pk).code == "CHW"


def test_rejected_permit_writes_nothing(api, demo):
    main = demo["main"]
    permits, entries = main.permits.count(), AuditEntry.objects.count()
    response = api("sysadmin").post(
        f"/api/v1/projects/{main.pk}/permits/", {"number": "", "area": "abc"}, format="json"
    )
    body = _shape(response, 400, "invalid")
    assert {"number", "buildings", "area"} <= set(body["fields"])
    assert body["message"].startswith(("预售许可证号：", "楼栋：", "预售面积"))
    assert (main.permits.count(), AuditEntry.objects.count()) == (permits, entries)


def test_duplicate_permit_number_is_refused(api, demo):
    main = demo["main"]
    existing = main.permits.first()
    entries = AuditEntry.objects.count()
    response = api("sysadmin").post(
        f"/api/v1/projects/{main.pk}/permits/",
        {"number": existing.number, "buildings": "1栋"},
        format="json",
    )
    assert response.status_code in (400, 409)
    assert response.json()["code"] in ("invalid", "conflict")
    assert main.permits.filter(number=existing.number).count() == 1
    assert AuditEntry.objects.count() == entries


def test_unparseable_body_is_400(api, demo, rows):
    before = rows()
    response = api("sysadmin").generic(
        "POST", "/api/v1/projects/", "{not json", content_type="application/json"
    )
    _shape(response, 400, "invalid")
    assert rows() == before


# --- 403, 405, password change --------------------------------------------------------


def test_permission_denied_is_403_and_writes_nothing(api, demo, rows):
    before = rows()
    response = api("consultant").post(
        "/api/v1/projects/", _new_project(demo["company"]), format="json"
    )
    _shape(response, 403, "permission_denied")
    response = api("consultant").patch(
        f"/api/v1/projects/{demo['main'].pk}/", {"name": "改名"}, format="json"
    )
    _shape(response, 403, "permission_denied")
    assert rows() == before
    assert Project.objects.get(pk=demo["main"].pk).name == "锦城·翠湖湾"


def test_method_not_allowed_is_405(api, demo):
    company = Company.objects.first()
    response = api("sysadmin").delete(f"/api/v1/companies/{company.pk}/")
    _shape(response, 405, "method_not_allowed")
    assert Company.objects.filter(pk=company.pk).exists()


def test_pending_password_change_is_403(api, demo):
    User.objects.filter(username="finance").update(must_change_password=True)
    response = api("finance").get("/api/v1/projects/")
    body = _shape(response, 403, "password_change_required")
    assert "/api/v1/auth/password/" in body["message"]


def test_wrong_credentials_shape(demo):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "finance", "password": "nope-123456"}, format="json"
    )
    body = _shape(response, 400, "invalid_credentials")
    assert "password" in body["fields"]
