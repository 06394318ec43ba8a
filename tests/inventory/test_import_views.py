"""The import pages: upload → preview (problems or summary) → confirm, and the downloads."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from loupan.audit.models import AuditEntry
from loupan.inventory.imports_views import SESSION_KEY
from loupan.inventory.models import Unit, UnitPriceChange

from . import import_helpers as helpers
from .import_helpers import (
    good_row,
    header_row,
    make_user_with,
    many_rows,
    xlsx,
)

# the fixtures of import_helpers
chw = helpers.chw
media = helpers.media

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def url(name, project, *args):
    return reverse(f"inventory:{name}", args=[project.pk, *args])


def upload(client, project, content, name="房源.xlsx"):
    return client.post(
        url("units_import", project), {"file": SimpleUploadedFile(name, content, content_type=XLSX)}
    )


def token_of(response):
    return response.url.rstrip("/").rsplit("/", 1)[-1]


def stored(media_root):
    folder = media_root / "imports"
    return sorted(folder.glob("*.xlsx")) if folder.exists() else []


def test_upload_preview_confirm(login, chw, media):
    client = login("planner")
    project = chw["project"]
    page = client.get(url("units_import", project))
    assert page.status_code == 200
    assert url("units_template", project) in page.content.decode()
    assert url("units_export", project) in page.content.decode()

    response = upload(client, project, xlsx(many_rows(10)))
    assert response.status_code == 302
    token = token_of(response)
    assert response.url == url("units_import_preview", project, token)
    assert [p.stem for p in stored(media)] == [token]

    preview = client.get(response.url)
    html = preview.content.decode()
    assert preview.status_code == 200
    assert 'id="import-valid"' in html and "确认导入" in html
    summary = preview.context["summary"]
    assert summary["rows"] == 10 and [b["name"] for b in summary["buildings"]] == ["T2栋"]
    assert str(summary["total_area"]) == "895.00"
    assert str(summary["total_list_price"]) == "13425000.00"
    assert "13,425,000.00" in html

    before = Unit.objects.count()
    done = client.post(url("units_import_commit", project, token))
    assert done.status_code == 302
    assert done.url == reverse("inventory:board", args=[project.pk])
    assert Unit.objects.count() == before + 10
    assert stored(media) == []
    assert token not in client.session.get(SESSION_KEY, {})
    messages = [str(m) for m in done.wsgi_request._messages]
    assert messages == ["已导入 10 套房源（状态为“未推”）。"]
    # The same token cannot be committed twice.
    assert client.post(url("units_import_commit", project, token)).status_code == 404


def test_preview_lists_every_problem_and_commit_writes_nothing(login, chw, media):
    client = login("planner")
    project = chw["project"]
    rows = many_rows(5)
    rows[1]["建筑面积"] = "abc"
    rows[3]["楼栋"] = "99栋"
    response = upload(client, project, xlsx(rows))
    token = token_of(response)
    preview = client.get(response.url)
    html = preview.content.decode()
    assert preview.status_code == 200
    assert 'id="problems"' in html and "确认导入" not in html
    assert [(p.row, p.column, p.message) for p in preview.context["problems"]] == [
        (3, "建筑面积", "「abc」不是数字"),
        (5, "楼栋", "楼栋「99栋」不存在，请先在项目中建立该楼栋"),
    ]
    assert "「abc」不是数字" in html and "文件中有 2 处问题" in html
    counts = (Unit.objects.count(), UnitPriceChange.objects.count(), AuditEntry.objects.count())
    response = client.post(url("units_import_commit", project, token))
    assert response.status_code == 400
    assert "未导入任何房间" in response.content.decode()
    assert (
        Unit.objects.count(),
        UnitPriceChange.objects.count(),
        AuditEntry.objects.count(),
    ) == counts


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("房源.xlsx", b"\xef\xbb\xbf\xe6\xa5\xbc\xe6\xa0\x8b,1\n", "不是有效的 Excel（.xlsx）文件"),
        ("房源.csv", "楼栋,楼层\n1栋,2\n".encode(), "请上传 Excel 的 .xlsx 文件"),
        ("房源.xlsx", b"\x00\x01\x02garbage" * 100, "不是有效的 Excel（.xlsx）文件"),
    ],
)
def test_not_an_xlsx_is_refused_on_the_upload_page(login, chw, media, name, content, message):
    client = login("planner")
    response = upload(client, chw["project"], content, name=name)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert stored(media) == []


def test_empty_sheet_and_wrong_headers_are_explained(login, chw, media):
    client = login("planner")
    project = chw["project"]
    workbook = openpyxl.Workbook()
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = upload(client, project, buffer.getvalue())
    preview = client.get(response.url)
    assert preview.status_code == 400
    assert "工作表是空的" in preview.content.decode()
    assert stored(media) == []  # the useless file is gone at once

    response = upload(
        client, project, xlsx([good_row()], ["楼栋", "楼层", "房号", "建筑面积", "价格"])
    )
    preview = client.get(response.url)
    assert preview.status_code == 200
    assert [(p.row, p.column) for p in preview.context["problems"]] == [(1, "价格")]


def test_file_too_big(login, chw, media, settings):
    settings.LOUPAN_IMPORT_MAX_BYTES = 2048
    response = upload(login("planner"), chw["project"], xlsx(many_rows(30)))
    assert response.status_code == 400
    assert "文件过大" in response.content.decode()


def test_cancel_removes_the_file(login, chw, media):
    client = login("planner")
    project = chw["project"]
    token = token_of(upload(client, project, xlsx([good_row()])))
    assert len(stored(media)) == 1
    response = client.post(url("units_import_cancel", project, token))
    assert response.status_code == 302
    assert stored(media) == []
    assert client.get(url("units_import_preview", project, token)).status_code == 404


def test_an_upload_belongs_to_its_uploader_and_project(client, login, chw, demo, media):
    project = chw["project"]
    planner_client = login("planner")
    token = token_of(upload(planner_client, project, xlsx([good_row()])))
    other = make_user_with(demo, project, "planner2", ["project.view", "unit.view", "unit.change"])
    client.force_login(other, backend="loupan.accounts.backends.ProjectRoleBackend")
    assert client.get(url("units_import_preview", project, token)).status_code == 404
    assert client.post(url("units_import_commit", project, token)).status_code == 404
    # Nor under another project the uploader may also import into.
    assert len(stored(media)) == 1


@pytest.mark.parametrize("name", ["units_import", "units_template"])
def test_consultant_is_refused(login, chw, name):
    client = login("consultant")
    assert client.get(url(name, chw["project"])).status_code == 403
    response = client.post(
        url("units_import", chw["project"]),
        {"file": SimpleUploadedFile("a.xlsx", xlsx([good_row()]), content_type=XLSX)},
    )
    assert response.status_code == 403


def test_a_project_the_user_does_not_belong_to_is_404(login, demo):
    client = login("planner")  # planner has no role on the second project
    for name in ("units_import", "units_template", "units_export"):
        assert client.get(url(name, demo["second"])).status_code == 404


@pytest.mark.parametrize(
    ("username", "floor_price"), [("planner", True), ("manager", True), ("salesadmin", False)]
)
def test_export_download(login, chw, username, floor_price):
    response = login(username).post(url("units_export", chw["project"]))
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert "attachment" in response["Content-Disposition"]
    assert ("底价" in header_row(response.content)) is floor_price


def test_export_refused_to_consultant(login, chw):
    assert login("consultant").post(url("units_export", chw["project"])).status_code == 403


def test_template_download(login, chw):
    response = login("planner").get(url("units_template", chw["project"]))
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert header_row(response.content)[:4] == ["楼栋", "单元", "楼层", "房号"]
