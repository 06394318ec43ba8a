"""Test data for the units import/export tests: two buildings and two layouts of their
own in the demo project (CHW), next to the demo's buildings, and xlsx files built in
memory with openpyxl."""

import io

import openpyxl
import pytest

from loupan.accounts.models import Membership, Role
from loupan.inventory import services
from loupan.inventory.imports import COLUMNS
from loupan.inventory.models import Project

HEADERS = [c.header for c in COLUMNS]


def good_row(**changes) -> dict:
    """One valid unit as header → value; change cells by header: good_row(楼层=3)."""
    row = {
        "楼栋": "T1栋",
        "单元": 1,
        "楼层": 2,
        "房号": "01",
        "房间编号": None,
        "户型": "T-A1",
        "用途": "住宅",
        "建筑面积": 89.5,
        "套内面积": 72.3,
        "分摊面积": 17.2,
        "朝向": "南",
        "景观": "湖景",
        "装修": "毛坯",
        "计价方式": "按建筑面积",
        "单价": 15000,
        "表价": 1342500,
        "底价": 1300000,
        "可售": "是",
        "不可售原因": None,
        "备注": None,
    }
    row.update(changes)
    return row


def xlsx(rows, headers=None, *, title_rows=(), sheet_title="房源", blank_rows_after=()) -> bytes:
    """A workbook: optional title rows, the header row, then one row per dict."""
    headers = list(headers or HEADERS)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = sheet_title
    for title in title_rows:
        sheet.append([title])
    sheet.append(headers)
    for index, row in enumerate(rows):
        sheet.append([row.get(h) for h in headers] if isinstance(row, dict) else list(row))
        if index in blank_rows_after:
            sheet.append([])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def many_rows(count, building="T2栋", start_floor=1, per_floor=4, **changes) -> list[dict]:
    rows = []
    for index in range(count):
        floor = start_floor + index // per_floor
        room = f"{index % per_floor + 1:02d}"
        rows.append(good_row(楼栋=building, 楼层=floor, 房号=room, **changes))
    return rows


def header_row(content: bytes) -> list:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    return [c.value for c in next(sheet.iter_rows(min_row=1, max_row=1))]


def setup_project(project, planner):
    """Buildings T1栋 (two stairs) and T2栋 (one stair) and layouts T-A1, T-B2."""
    t1 = services.building_create(
        actor=planner,
        project=project,
        data={
            "name": "T1栋",
            "floors_above": 30,
            "stairs": 2,
            "units_per_floor": 4,
            "sort_order": 50,
        },
    )
    t2 = services.building_create(
        actor=planner,
        project=project,
        data={
            "name": "T2栋",
            "floors_above": 30,
            "stairs": 1,
            "units_per_floor": 4,
            "sort_order": 51,
        },
    )
    a1 = services.layout_create(actor=planner, project=project, data={"name": "T-A1", "rooms": 2})
    b2 = services.layout_create(actor=planner, project=project, data={"name": "T-B2", "rooms": 3})
    return {"project": project, "t1": t1, "t2": t2, "a1": a1, "b2": b2}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def chw(demo):
    """The demo project with the test's own buildings and layouts."""
    return setup_project(demo["main"], demo["users"]["planner"])


def fresh_project(demo, code, users=("planner",)):
    """An empty project of the demo company where ``users`` are planners."""
    project = Project.objects.create(
        company=demo["company"],
        name=f"测试项目{code}",
        code=code,
        city="成都",
        address="测试路 1 号",
    )
    role = Role.objects.get(code="planner")
    for username in users:
        Membership.objects.create(user=demo["users"][username], project=project, role=role)
        demo["users"][username].__dict__.pop("_loupan_grants", None)
    return project


def make_user_with(demo, project, username, permissions):
    """A user whose only role on ``project`` grants ``permissions``."""
    from loupan.accounts.models import User

    role = Role.objects.create(code=f"r-{username}", name=username, permissions=permissions)
    user = User.objects.create_user(username=username, password="x-Passw0rd-x")
    user.must_change_password = False
    user.save()
    Membership.objects.create(user=user, project=project, role=role)
    return user
