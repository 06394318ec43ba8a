"""The customers import (issue Customers): every rule of a row with its exact column and
reason, 撞单 naming the owner only, all-or-nothing, ownership and historic registration
dates, malformed files, permissions, the pages and the API."""

import datetime
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from loupan.accounts.models import Membership, Role, User
from loupan.audit.models import AuditAction, AuditEntry
from loupan.core.errors import DomainError
from loupan.core.identity import id_check_digit
from loupan.core.xlsx import ImportFileError, ImportInvalid, Problem
from loupan.customers import imports, services
from loupan.customers.imports_views import CustomerImportPages
from loupan.customers.models import Customer, Stage, Visit

from ..inventory.import_helpers import header_row, media, xlsx

pytestmark = pytest.mark.django_db

media = media  # the fixture: uploads go to a temporary MEDIA_ROOT
HEADERS = [c.header for c in imports.COLUMNS]
OWNER = "置业顾问（工号或用户名）"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ID_BODY = "51010719900307123"
ID_NUMBER = ID_BODY + id_check_digit(ID_BODY)
BAD_ID = ID_BODY + ("0" if ID_NUMBER[-1] != "0" else "1")


def user(name):
    return User.objects.get(username=name)


def row(index=1, **changes) -> dict:
    """One valid customer as header → value; change cells by header: row(等级="A")."""
    values = {
        "姓名/称呼": f"客户{index}",
        "手机号": f"166{index:08d}",
        "意向户型": "B1 三室",
        "等级": "B",
        "阶段": "意向",
        OWNER: "consultant",
        "登记时间": "2026-01-05 10:30",
        "认知途径": "朋友介绍",
        "预算上限（万元）": 180,
    }
    values.update(changes)
    return values


def rows(count, **changes):
    return [row(i, **changes) for i in range(1, count + 1)]


def file_of(data, headers=None):
    return xlsx(data, headers or HEADERS, sheet_title="客户")


def read(content, username="supervisor", project=None):
    from loupan.inventory.models import Project

    return imports.read_customers(
        project=project or Project.objects.get(code="CHW"),
        file=content,
        user=user(username),
        file_name="客户.xlsx",
    )


def commit(content, username="supervisor"):
    from loupan.inventory.models import Project

    return imports.customers_import(
        actor=user(username), project=Project.objects.get(code="CHW"), file=content
    )


def problems_of(content, username="supervisor"):
    return [(p.row, p.column, p.message) for p in read(content, username).problems]


# --- the rows -----------------------------------------------------------------------


def test_a_valid_file_imports_every_row_with_its_owner_and_date(demo):
    before = AuditEntry.objects.count()
    data = rows(3)
    data[1].update({OWNER: "JC0005", "身份证号": ID_NUMBER, "个人信息同意": "是", "性别": None})
    data[2].update({OWNER: None, "登记时间": None, "等级": "a", "阶段": None})
    result = read(file_of(data))
    assert result.valid and result.problems == [] and result.rows == 3
    summary = result.summary()
    assert dict(summary["owners"]) == {"李顾问": 1, "周顾问": 1, "孙主管": 1}
    assert (
        Customer.objects.filter(phone__startswith="+86166").count() == 0
    )  # preview writes nothing

    start = timezone.now()
    commit(file_of(data))
    first, second, third = (Customer.objects.get(phone=f"+86166{i:08d}") for i in (1, 2, 3))
    assert first.owner == user("consultant") and first.registered_by == user("supervisor")
    assert timezone.localtime(first.registered_at).strftime("%Y-%m-%d %H:%M") == "2026-01-05 10:30"
    assert first.grade == "B" and first.stage == Stage.INTENT and first.channel.name == "朋友介绍"
    assert str(first.budget_max) == "180.00" and first.name_initials == "kh1"
    # The ownership runs from the import, as after an assignment (not from 2026-01-05).
    assert first.ownership_expires_at >= start + datetime.timedelta(days=29)
    assert not first.in_pool and not Visit.objects.filter(customer=first).exists()
    # By 工号 (JC0005 is consultant2); the ID number with consent, the gender from it.
    assert second.owner == user("consultant2") and second.id_number == ID_NUMBER
    assert second.gender == "M" and second.birth_date == datetime.date(1990, 3, 7)
    assert second.consent_at is not None
    # Blank consultant: the importer (a supervisor registers customers too); blank date: now.
    assert third.owner == user("supervisor") and third.registered_at >= start
    assert third.grade == "A" and third.stage == Stage.POTENTIAL
    # One audit entry per customer, with the file and the row, and one for the file.
    entries = AuditEntry.objects.order_by("id")[before:]
    created = [e for e in entries if e.action == AuditAction.CREATE]
    assert [e.object_id for e in created] == [str(c.pk) for c in (first, second, third)]
    assert [e.extra["row"] for e in created] == [2, 3, 4]
    assert created[0].extra["source"] == "import" and len(created[0].extra["sha256"]) == 64
    summary_entry = [e for e in entries if e.action == AuditAction.ACTION]
    assert len(summary_entry) == 1 and summary_entry[0].extra["rows"] == 3
    assert len(entries) == 4


ERRORS = [
    ({"姓名/称呼": None}, "姓名/称呼", "必须填写"),
    ({"手机号": None}, "手机号", "必须填写"),
    ({"意向户型": "  "}, "意向户型", "必须填写"),
    ({"手机号": "1381234567"}, "手机号", "手机号应为以 1 开头的 11 位数字"),
    ({"手机号": "abc"}, "手机号", "无法识别的电话号码"),
    ({"手机号": "85551234"}, "手机号", "固定电话须带区号，如 028-85551234"),
    ({"第二电话": "123"}, "第二电话", "手机号应为以 1 开头的 11 位数字"),
    ({"身份证号": BAD_ID, "个人信息同意": "是"}, "身份证号", "身份证号校验位不正确"),
    (
        {"身份证号": "51010719901307123X", "个人信息同意": "是"},
        "身份证号",
        "身份证号中的出生日期无效",
    ),
    (
        {"身份证号": "12345", "个人信息同意": "是"},
        "身份证号",
        "身份证号应为 18 位，最后一位可以是 X",
    ),
    ({"身份证号": ID_NUMBER, "个人信息同意": "否"}, "个人信息同意", "请先取得客户同意"),
    ({"个人信息同意": "也许"}, "个人信息同意", "「也许」无效，只能填写 是 或 否"),
    (
        {"认知途径": "电视"},
        "认知途径",
        "认知途径「电视」不存在，可选：报纸、户外广告、网络、朋友介绍、老带新、路过、电话、短视频",
    ),
    ({OWNER: "nobody"}, OWNER, "找不到工号或用户名为「nobody」的员工"),
    ({OWNER: "planner"}, OWNER, "王策划 不是本项目的置业顾问"),
    (
        {"等级": "E"},
        "等级",
        "「E」不是有效的等级，可选：A 很有希望、B 有希望、C 一般、D 希望渺茫",
    ),
    ({"阶段": "成交"}, "阶段", "「成交」不是有效的阶段，可选：潜在、意向"),
    ({"性别": "未知"}, "性别", "「未知」不是有效的性别，可选：男、女"),
    ({"购房目的": "炒房"}, "购房目的", "「炒房」不是有效的购房目的，可选：自住、改善、投资、办公"),
    ({"登记时间": "2099-01-01"}, "登记时间", "不能晚于现在"),
    (
        {"登记时间": "上周"},
        "登记时间",
        "「上周」不是有效的日期，请写成 2026-03-01 或 2026-03-01 14:30",
    ),
    ({"预算上限（万元）": "很多"}, "预算上限（万元）", "「很多」不是数字"),
    ({"预算下限（万元）": -5}, "预算下限（万元）", "不能为负数"),
    ({"家庭人数": 3.5}, "家庭人数", "必须是整数"),
    ({"姓名/称呼": "张" * 51}, "姓名/称呼", "最多 50 个字符"),
    ({"备注": imports.EXAMPLE_NOTE}, "备注", "这是模板中的示例行，请删除后再导入"),
]


@pytest.mark.parametrize(("changes", "column", "message"), ERRORS)
def test_each_rule_names_row_column_and_reason(demo, changes, column, message):
    data = rows(3)
    data[1].update(changes)
    assert problems_of(file_of(data)) == [(3, column, message)]


def test_a_date_cell_and_other_spellings_are_read(demo):
    data = rows(2)
    data[0].update(
        {"登记时间": datetime.datetime(2025, 12, 1, 9, 0), "等级": "很有希望", "性别": "女"}
    )
    data[1].update({"登记时间": "2025/12/02", "手机号": "+86 166-0000-0002", "阶段": "潜在"})
    result = read(file_of(data))
    assert result.valid, result.problems
    first, second = result.items
    assert timezone.localtime(first.registered_at).strftime("%Y-%m-%d %H:%M") == "2025-12-01 09:00"
    assert first.grade == "A" and first.gender == "F"
    assert second.phone == "+8616600000002" and second.stage == Stage.POTENTIAL


def test_every_problem_of_a_row_is_listed(demo):
    data = rows(2)
    data[0].update(
        {"手机号": "abc", "身份证号": BAD_ID, "个人信息同意": "是", "认知途径": "电视", "等级": "Z"}
    )
    assert [(r, c) for r, c, _m in problems_of(file_of(data))] == [
        (2, "手机号"),
        (2, "身份证号"),
        (2, "认知途径"),
        (2, "等级"),
    ]


def test_a_number_twice_in_the_file(demo):
    data = rows(4)
    data[2]["手机号"] = data[0]["手机号"]
    data[3].update({"第二电话": "16600000099"})
    data.append(row(5, 手机号="16600000099"))
    data[1].update({"身份证号": ID_NUMBER, "个人信息同意": "是"})
    data[3].update({"身份证号": ID_NUMBER, "个人信息同意": "是"})
    assert problems_of(file_of(data)) == [
        (4, "手机号", "与第 2 行的号码重复"),
        (5, "身份证号", "与第 3 行的身份证号重复"),
        (6, "手机号", "与第 5 行的号码重复"),
    ]


def test_a_number_of_a_live_customer_is_a_collision_naming_the_owner_only(demo):
    theirs = Customer.objects.filter(project=demo["main"], owner=user("consultant")).first()
    pooled = Customer.objects.filter(project=demo["main"], in_pool=True).first()
    mine = services.customer_register(
        actor=user("consultant2"),
        project=demo["main"],
        name="王五",
        phone="16699990001",
        wanted_layout="A1",
        consent=True,
        id_number=ID_NUMBER,
        data={"phone2": "16699990002"},
    )
    data = rows(5)
    data[0]["手机号"] = theirs.phone[3:]
    data[1]["手机号"] = pooled.phone[3:]
    data[2]["手机号"] = "16699990002"  # the second number of consultant2's customer
    data[3].update({"身份证号": ID_NUMBER, "个人信息同意": "是"})
    found = problems_of(file_of(data))
    assert found == [
        (2, "手机号", "撞单：该号码已由 李顾问 登记"),
        (3, "手机号", "撞单：该号码已由 公客池 登记"),
        (4, "手机号", "撞单：该号码已由 周顾问 登记"),
        (5, "身份证号", "撞单：该身份证号已由 周顾问 登记"),
    ]
    # A row refused for another reason still shows its 撞单 at once.
    data[0]["等级"] = "Z"
    assert [(r, c) for r, c, _m in problems_of(file_of(data))][:2] == [(2, "手机号"), (2, "等级")]
    data[0]["等级"] = "B"
    # Only the owner's name: not the customer's name, not their number.
    assert theirs.name not in str(found) and mine.name not in str(found)
    # An anonymized customer's number is free again.
    Customer.objects.filter(pk=theirs.pk).update(anonymized_at=timezone.now())
    assert (2, "手机号") not in [(r, c) for r, c, _m in problems_of(file_of(data))]


def test_consultants_and_channels_are_the_projects(demo):
    from loupan.customers.models import Channel

    Channel.objects.filter(project=demo["main"], name="报纸").update(is_active=False)
    data = rows(3)
    data[0]["认知途径"] = "报纸"
    data[1][OWNER] = "jc0004"  # 工号, any case
    data[2][OWNER] = "director"  # the director has customer.add
    assert problems_of(file_of(data)) == [(2, "认知途径", "认知途径「报纸」已停用")]
    # consultant2 is a consultant of the second project, consultant is not.
    data = rows(2)
    data[1][OWNER] = "consultant2"
    result = read(file_of(data), "director", project=demo["second"])
    assert [(p.row, p.column, p.message) for p in result.problems] == [
        (2, "认知途径", "认知途径「朋友介绍」不存在，可选：（尚未设置）"),
        (2, OWNER, "李顾问 不是本项目的置业顾问"),
        (3, "认知途径", "认知途径「朋友介绍」不存在，可选：（尚未设置）"),
    ]


def test_an_importer_who_is_no_consultant_names_the_consultant_of_every_row(demo):
    role = Role.objects.create(
        code="import-only",
        name="导入",
        permissions=["project.view", "customer.view", "customer.assign"],
    )
    clerk = User.objects.create_user(username="clerk", password="x-Passw0rd-x", real_name="钱内勤")
    Membership.objects.create(user=clerk, project=demo["main"], role=role)
    data = rows(2)
    data[1][OWNER] = None
    assert problems_of(file_of(data), "clerk") == [
        (3, OWNER, "必须填写：您不是本项目的置业顾问，请为每位客户指定归属顾问")
    ]


def test_all_or_nothing(demo):
    data = rows(60)
    data[57]["手机号"] = "123"
    before = (Customer.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ImportInvalid) as exc:
        commit(file_of(data))
    assert exc.value.code == "invalid" and "未导入任何客户" in exc.value.message
    assert [(p.row, p.column) for p in exc.value.result.problems] == [(59, "手机号")]
    assert exc.value.result.items == []
    assert (Customer.objects.count(), AuditEntry.objects.count()) == before


def test_a_registration_after_the_preview_is_caught_at_commit(demo):
    content = file_of(rows(3))
    assert read(content).valid
    services.customer_register(
        actor=user("consultant2"),
        project=demo["main"],
        name="抢先",
        phone="16600000002",
        wanted_layout="A1",
    )
    before = Customer.objects.count()
    with pytest.raises(ImportInvalid) as exc:
        commit(content)
    assert [(p.row, p.column, p.message) for p in exc.value.result.problems] == [
        (3, "手机号", "撞单：该号码已由 周顾问 登记")
    ]
    assert Customer.objects.count() == before


@pytest.mark.parametrize("username", ["consultant", "salesadmin", "finance"])
def test_only_who_may_assign_customers_imports(demo, username):
    with pytest.raises(DomainError) as exc:
        commit(file_of(rows(1)), username)
    assert exc.value.code == "permission_denied"
    with pytest.raises(DomainError) as exc:
        imports.customers_template(actor=user(username), project=demo["main"])
    assert exc.value.code == "permission_denied"


@pytest.mark.parametrize("username", ["supervisor", "manager", "director"])
def test_supervisors_managers_and_the_director_import(demo, username):
    result = commit(file_of(rows(2)), username)
    assert len(result.items) == 2 and all(c.pk for c in result.items)


# --- the file -----------------------------------------------------------------------


def test_header_problems(demo):
    headers = ["姓名", "手机", "意向户型", "价格", "手机号码"]
    content = xlsx([["张三", "16600000001", "A1", 1, "16600000002"]], headers)
    assert read(content).problems == [
        Problem(1, "价格", "无法识别的列名；请使用模板中的列名"),
        Problem(1, "手机号码", "列名重复"),
    ]
    content = xlsx([["张三", "16600000001"]], ["姓名", "手机号"])
    assert read(content).problems == [Problem(1, "意向户型", "缺少必填列")]


def test_a_title_row_above_the_header_and_columns_in_any_order(demo):
    headers = ["手机号", "意向户型", "*姓名", "登记日期"]
    content = xlsx(
        [["16600000001", "A1", "张三", "2026-01-02"]], headers, title_rows=["2025年客户台账"]
    )
    result = read(content)
    assert result.valid and result.items[0].name == "张三"


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"name,phone\n1,2\n", "客户.csv", "请上传 Excel 的 .xlsx 文件"),
        (b"\x00\x01garbage" * 100, "客户.xlsx", "不是有效的 Excel（.xlsx）文件"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "客户.xlsx", "旧版 Excel（.xls）"),
        (b"", "客户.xlsx", "文件是空的"),
    ],
)
def test_malformed_files_are_refused_in_chinese(demo, content, name, message):
    with pytest.raises(ImportFileError) as exc:
        imports.read_customers(
            project=demo["main"], file=content, user=user("supervisor"), file_name=name
        )
    assert message in exc.value.message and exc.value.fields["file"] == [exc.value.message]


def test_empty_sheets_and_other_tables(demo):
    workbook = openpyxl.Workbook()
    buffer = io.BytesIO()
    workbook.save(buffer)
    with pytest.raises(ImportFileError, match="工作表是空的"):
        read(buffer.getvalue())
    with pytest.raises(ImportFileError, match="没有客户数据"):
        read(file_of([]))
    with pytest.raises(
        ImportFileError, match="第 1 行不是客户表的表头：必须包含 姓名/称呼、手机号、意向户型"
    ):
        read(xlsx([["1栋", 3]], ["楼栋", "楼层"]))


def test_too_many_rows(demo, settings):
    settings.LOUPAN_IMPORT_MAX_ROWS = 5
    with pytest.raises(ImportFileError, match="一次最多导入 5 行"):
        read(file_of(rows(6)))


def test_the_template(demo):
    content = imports.customers_template(actor=user("supervisor"), project=demo["main"])
    assert header_row(content) == HEADERS
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    help_text = str([c.value for r in workbook["填写说明"].iter_rows() for c in r])
    assert "朋友介绍" in help_text and "JC0004 李顾问（consultant）" in help_text
    # The example row as downloaded is refused only for being the example.
    assert problems_of(content) == [(2, "备注", "这是模板中的示例行，请删除后再导入")]


# --- the pages ----------------------------------------------------------------------


def url(name, project, *args):
    return reverse(f"customers:{name}", args=[project.pk, *args])


def upload(client, project, content, name="客户.xlsx"):
    return client.post(
        url("customers_import", project),
        {"file": SimpleUploadedFile(name, content, content_type=XLSX)},
    )


def token_of(response):
    return response.url.rstrip("/").rsplit("/", 1)[-1]


def test_upload_preview_confirm(login, demo, media):
    client = login("supervisor")
    project = demo["main"]
    page = client.get(url("customers_import", project))
    assert page.status_code == 200 and url("customers_template", project) in page.content.decode()
    response = upload(client, project, file_of(rows(4)))
    assert response.status_code == 302
    token = token_of(response)
    preview = client.get(response.url)
    html = preview.content.decode()
    assert preview.status_code == 200 and 'id="import-valid"' in html and "确认导入" in html
    assert preview.context["summary"]["owners"] == [("李顾问", 4)]
    assert "李顾问" in html
    before = Customer.objects.count()
    done = client.post(url("customers_import_commit", project, token))
    assert done.status_code == 302 and done.url == url("intent_register", project)
    assert Customer.objects.count() == before + 4
    assert [str(m) for m in done.wsgi_request._messages] == ["已导入 4 位客户。"]
    assert token not in client.session.get(CustomerImportPages.session_key, {})
    assert client.post(url("customers_import_commit", project, token)).status_code == 404


def test_preview_lists_the_problems_and_commit_writes_nothing(login, demo, media):
    client = login("supervisor")
    project = demo["main"]
    data = rows(5)
    data[1]["手机号"] = "abc"
    data[3][OWNER] = "nobody"
    response = upload(client, project, file_of(data))
    token = token_of(response)
    preview = client.get(response.url)
    html = preview.content.decode()
    assert 'id="problems"' in html and "确认导入" not in html and "文件中有 2 处问题" in html
    assert [(p.row, p.column, p.message) for p in preview.context["problems"]] == [
        (3, "手机号", "无法识别的电话号码"),
        (5, OWNER, "找不到工号或用户名为「nobody」的员工"),
    ]
    before = (Customer.objects.count(), AuditEntry.objects.count())
    response = client.post(url("customers_import_commit", project, token))
    assert response.status_code == 400 and "未导入任何客户" in response.content.decode()
    assert (Customer.objects.count(), AuditEntry.objects.count()) == before


def test_not_an_xlsx_is_refused_on_the_upload_page(login, demo, media):
    response = upload(login("supervisor"), demo["main"], b"a,b\n", name="客户.csv")
    assert response.status_code == 400 and "请上传 Excel 的 .xlsx 文件" in response.content.decode()


def test_cancel(login, demo, media):
    client = login("supervisor")
    token = token_of(upload(client, demo["main"], file_of(rows(1))))
    assert client.post(url("customers_import_cancel", demo["main"], token)).status_code == 302
    assert client.get(url("customers_import_preview", demo["main"], token)).status_code == 404


def test_template_download(login, demo):
    response = login("manager").get(url("customers_template", demo["main"]))
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert header_row(response.content)[:3] == ["姓名/称呼", "手机号", "意向户型"]


@pytest.mark.parametrize("name", ["customers_import", "customers_template"])
def test_consultants_are_refused_the_pages(login, demo, name):
    client = login("consultant")
    assert client.get(url(name, demo["main"])).status_code == 403
    assert upload(client, demo["main"], file_of(rows(1))).status_code == 403


def test_a_project_the_user_does_not_belong_to_is_404(login, demo):
    client = login("supervisor")  # no role on the second project
    for name in ("customers_import", "customers_template"):
        assert client.get(url(name, demo["second"])).status_code == 404


def test_the_customer_list_links_to_the_import(login, demo):
    client = login("supervisor")
    session = client.session
    session["project_id"] = demo["main"].pk
    session.save()
    html = client.get(url("customer_list", demo["main"])).content.decode()
    assert url("intent_register", demo["main"]) in html
    assert url("customers_import", demo["main"]) in html
    html = login("consultant").get(url("customer_list", demo["main"])).content.decode()
    assert url("intent_register", demo["main"]) in html
    assert url("customers_import", demo["main"]) not in html


# --- the API ------------------------------------------------------------------------


def api_path(project, what):
    return f"/api/v1/projects/{project.pk}/customers/{what}/"


def post(client, project, content, query="", name="客户.xlsx"):
    return client.post(
        api_path(project, "import") + query,
        {"file": SimpleUploadedFile(name, content, content_type=XLSX)},
        format="multipart",
    )


def test_api_dry_run(api, demo):
    before = Customer.objects.count()
    response = post(api("supervisor"), demo["main"], file_of(rows(3)), "?dry_run=1")
    assert response.status_code == 200
    assert response.json() == {"valid": True, "rows": 3, "error_count": 0, "errors": []}
    data = rows(3)
    data[2]["等级"] = "F"
    body = post(api("supervisor"), demo["main"], file_of(data), "?dry_run=1").json()
    assert body["valid"] is False and body["error_count"] == 1
    assert body["errors"] == [
        {
            "row": 4,
            "column": "等级",
            "message": "「F」不是有效的等级，可选：A 很有希望、B 有希望、C 一般、D 希望渺茫",
        }
    ]
    assert Customer.objects.count() == before


def test_api_commit(api, demo):
    before = Customer.objects.count()
    data = rows(3)
    data[0]["手机号"] = "1"
    response = post(api("manager"), demo["main"], file_of(data))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "未导入任何客户" in body["message"]
    assert body["errors"] == [
        {"row": 2, "column": "手机号", "message": "手机号应为以 1 开头的 11 位数字"}
    ]
    assert Customer.objects.count() == before
    response = post(api("manager"), demo["main"], file_of(rows(3)))
    assert response.status_code == 201 and response.json()["created"] == 3
    assert Customer.objects.count() == before + 3


@pytest.mark.parametrize("query", ["", "?dry_run=1"])
def test_api_malformed_and_missing_files(api, demo, query):
    response = post(api("supervisor"), demo["main"], b"a,b\n", query, name="c.xlsx")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "不是有效的 Excel（.xlsx）文件" in body["message"]
    response = api("supervisor").post(
        api_path(demo["main"], "import") + query, {}, format="multipart"
    )
    assert response.status_code == 400 and response.json()["fields"] == {"file": ["必须上传文件"]}


def test_api_refusals(api, demo):
    response = post(api("consultant"), demo["main"], file_of(rows(1)), "?dry_run=1")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert post(api("consultant"), demo["main"], file_of(rows(1))).status_code == 403
    assert api("consultant").get(api_path(demo["main"], "template")).status_code == 403
    assert post(api("supervisor"), demo["second"], file_of(rows(1))).status_code == 404


def test_api_template_and_schema(api, demo):
    response = api("supervisor").get(api_path(demo["main"], "template"))
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert header_row(response.content)[0] == "姓名/称呼"
    schema = api("supervisor").get("/api/schema/", HTTP_ACCEPT="application/json")
    paths = schema.json()["paths"]
    for what in ("import", "template", "intent-register", "intent-register/export"):
        assert f"/api/v1/projects/{{project_id}}/customers/{what}/" in paths
