"""The import/export API: dry run, all-or-nothing commit, errors, permissions."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from loupan.audit.models import AuditEntry
from loupan.inventory.models import Unit, UnitPriceChange

from . import import_helpers as helpers
from .import_helpers import good_row, header_row, many_rows, xlsx

# the fixtures of import_helpers
chw = helpers.chw

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def path(project, what):
    return f"/api/v1/projects/{project.pk}/units/{what}/"


def post(client, project, content, query="", name="房源.xlsx"):
    return client.post(
        path(project, "import") + query,
        {"file": SimpleUploadedFile(name, content, content_type=XLSX)},
        format="multipart",
    )


def counts():
    return Unit.objects.count(), UnitPriceChange.objects.count(), AuditEntry.objects.count()


def test_dry_run_valid(api, chw):
    before = counts()
    response = post(api("planner"), chw["project"], xlsx(many_rows(7)), "?dry_run=1")
    assert response.status_code == 200
    assert response.json() == {"valid": True, "rows": 7, "error_count": 0, "errors": []}
    assert counts() == before


def test_dry_run_invalid_lists_the_errors(api, chw):
    rows = many_rows(3)
    rows[2]["用途"] = "别墅"
    rows[0]["可售"] = "否"
    response = post(api("planner"), chw["project"], xlsx(rows), "?dry_run=1")
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False and body["rows"] == 3 and body["error_count"] == 2
    assert body["errors"] == [
        {"row": 2, "column": "不可售原因", "message": "标记为不可售时必须填写原因"},
        {
            "row": 4,
            "column": "用途",
            "message": "「别墅」不是有效的用途，可选：住宅、商铺、车位、储藏室、公寓",
        },
    ]


def test_commit_invalid_is_400_and_writes_nothing(api, chw):
    rows = many_rows(100)
    rows[98]["套内面积"] = 120
    rows[98]["分摊面积"] = None
    before = counts()
    response = post(api("planner"), chw["project"], xlsx(rows))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "未导入任何房间" in body["message"]
    assert body["errors"] == [
        {"row": 100, "column": "套内面积", "message": "套内面积不能大于建筑面积"}
    ]
    assert counts() == before


def test_commit_valid(api, chw):
    before = counts()
    response = post(api("planner"), chw["project"], xlsx(many_rows(12)))
    assert response.status_code == 201
    assert response.json()["created"] == 12 and response.json()["valid"] is True
    units, prices, audit = counts()
    assert (units - before[0], prices - before[1], audit - before[2]) == (12, 12, 1)


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"a,b,c\n1,2,3\n", "units.xlsx", "不是有效的 Excel（.xlsx）文件"),
        (b"a,b,c\n1,2,3\n", "units.csv", "请上传 Excel 的 .xlsx 文件"),
        (xlsx([]), "units.xlsx", "没有房间数据"),
    ],
)
@pytest.mark.parametrize("query", ["", "?dry_run=1"])
def test_malformed_files_are_400(api, chw, content, name, message, query):
    response = post(api("planner"), chw["project"], content, query, name=name)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and message in body["message"]
    assert body["fields"]["file"] == [body["message"]]


def test_missing_file(api, chw):
    response = api("planner").post(path(chw["project"], "import"), {}, format="multipart")
    assert response.status_code == 400
    assert response.json()["fields"] == {"file": ["必须上传文件"]}


def test_consultant_is_refused(api, chw):
    before = counts()
    response = post(api("consultant"), chw["project"], xlsx([good_row()]), "?dry_run=1")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert post(api("consultant"), chw["project"], xlsx([good_row()])).status_code == 403
    assert api("consultant").post(path(chw["project"], "export")).status_code == 403
    assert api("consultant").get(path(chw["project"], "template")).status_code == 403
    assert counts() == before


def test_other_project_is_404(api, demo):
    client = api("planner")
    assert post(client, demo["second"], xlsx([good_row()])).status_code == 404
    assert client.post(path(demo["second"], "export")).status_code == 404


def test_unauthenticated(chw):
    from rest_framework.test import APIClient

    response = APIClient().post(path(chw["project"], "export"))
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("username", "floor_price"),
    [("planner", True), ("manager", True), ("salesadmin", False)],
)
def test_export(api, chw, username, floor_price):
    response = api(username).post(path(chw["project"], "export"), HTTP_ACCEPT=XLSX)
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert ("底价" in header_row(response.content)) is floor_price


def test_template(api, chw):
    response = api("planner").get(path(chw["project"], "template"))
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert "楼栋" in header_row(response.content)


def test_schema_lists_the_endpoints(api):
    response = api("planner").get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = (
        response.json()["paths"]
        if response["Content-Type"].startswith("application/json")
        else None
    )
    if paths is None:
        import yaml

        paths = yaml.safe_load(response.content)["paths"]
    for what in ("import", "export", "template"):
        assert f"/api/v1/projects/{{project_id}}/units/{what}/" in paths
