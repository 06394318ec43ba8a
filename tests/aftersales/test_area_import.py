"""The measured areas import 实测面积: preview with every problem as (row, column,
reason), all rows or none, a row replacing a unit's previous values (audited), the
permission; the page flow and the API's dry run."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import Workbook

from loupan.aftersales import settlement as s
from loupan.aftersales.models import MeasuredArea
from loupan.audit.models import AuditEntry
from loupan.core.errors import DomainError
from loupan.core.xlsx import ImportInvalid
from loupan.inventory.models import Unit
from tests.deals.helpers import client_of, project, user

pytestmark = pytest.mark.django_db
HEADER = ["楼栋", "房号", "实测建筑面积（㎡）", "实测套内面积（㎡）", "测绘日期", "测绘报告"]


def book(rows, header=HEADER) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "实测面积"
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def units(n=3):
    return list(
        Unit.objects.filter(project=project(), measured__isnull=True)
        .select_related("building")
        .order_by("pk")[:n]
    )


def row(unit, gross="90.12", internal="70.01", day="2026-01-05", report="CH-1"):
    return [unit.building.name, unit.number, gross, internal, day, report]


def test_preview_reports_each_problem_by_row_and_column(demo):
    a, b, c = units()
    content = book(
        [
            row(a),
            ["9栋", "x", "abc", "", "2999-01-01", ""],
            row(b, gross="50", internal="60"),
            row(a),
            [c.building.name, "没有这间", "80", "", "", ""],
        ]
    )
    result = s.read_measured(project=project(), file=content, user=user("service"))
    found = {(p.row, p.column) for p in result.problems}
    assert (3, "楼栋") in found and (3, "实测建筑面积（㎡）") in found and (3, "测绘日期") in found
    assert (4, "实测套内面积（㎡）") in found  # internal above gross
    assert (5, "房号") in found  # twice in the file
    assert (6, "房号") in found  # no such unit
    assert not result.valid and result.items == []
    with pytest.raises(ImportInvalid):
        s.measured_import(actor=user("service"), project=project(), file=content)
    assert not MeasuredArea.objects.filter(unit__in=[a, b, c]).exists()  # none written


def test_all_rows_or_none_and_a_row_replaces_the_previous_values(demo):
    a, b = units(2)
    result = s.measured_import(
        actor=user("service"), project=project(), file=book([row(a), row(b, gross="100.5")])
    )
    assert len(result.items) == 2
    assert MeasuredArea.objects.get(unit=a).gross_area == Decimal("90.12")
    assert MeasuredArea.objects.get(unit=b).internal_area == Decimal("70.01")
    # the number without the building's name is found too
    short = a.number.removeprefix(a.building.name)
    again = s.read_measured(
        project=project(), file=book([[a.building.name, short, "91.00", "", "", ""]])
    )
    assert again.valid and again.summary()["replaced"] == 1
    s.measured_import(
        actor=user("service"),
        project=project(),
        file=book([[a.building.name, short, "91.00", "", "", ""]]),
    )
    assert MeasuredArea.objects.get(unit=a).gross_area == Decimal("91.00")
    entry = AuditEntry.objects.filter(object_type="aftersales.measuredarea").order_by("-pk").first()
    assert entry.extra["action"] == "measured_import" and a.number in entry.extra["replaced"]


def test_import_needs_the_permission(demo):
    (a,) = units(1)
    for name in ("consultant", "finance", "planner"):
        with pytest.raises(DomainError) as info:
            s.measured_import(actor=user(name), project=project(), file=book([row(a)]))
        assert info.value.code == "permission_denied"


def test_a_file_that_is_not_xlsx_is_refused(demo):
    with pytest.raises(DomainError) as info:
        s.read_measured(project=project(), file=b"a,b,c\n1,2,3", user=user("service"))
    assert "file" in info.value.fields


def test_the_pages_preview_then_commit(demo):
    (a,) = units(1)
    client = client_of("service")
    base = reverse("aftersales:measured_import", args=[project().pk])
    assert client.get(base).status_code == 200
    upload = io.BytesIO(book([row(a)]))
    upload.name = "实测.xlsx"
    response = client.post(base, {"file": upload})
    assert response.status_code == 302
    preview = client.get(response["Location"])
    assert preview.status_code == 200 and "confirm-import" in preview.content.decode()
    token = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    done = client.post(reverse("aftersales:measured_import_commit", args=[project().pk, token]))
    assert done.status_code == 302 and MeasuredArea.objects.filter(unit=a).exists()
    listing = client.get(reverse("aftersales:measured_list", args=[project().pk]))
    assert a.number in listing.content.decode()
    template = client.get(reverse("aftersales:measured_template", args=[project().pk]))
    assert template.status_code == 200 and template["Content-Type"].startswith("application/vnd")
    # a consultant neither imports nor sees the list
    assert client_of("consultant").get(base).status_code in (403, 404)
    assert (
        client_of("consultant")
        .get(reverse("aftersales:measured_list", args=[project().pk]))
        .status_code
        == 404
    )


def test_the_api_dry_run_and_commit(api, demo):
    (a,) = units(1)
    client = api("service")
    url = f"/api/v1/projects/{project().pk}/measured-areas/import/"
    bad = io.BytesIO(book([[a.building.name, a.number, "-1", "", "", ""]]))
    bad.name = "x.xlsx"
    answer = client.post(url + "?dry_run=1", {"file": bad}, format="multipart")
    assert answer.status_code == 200 and answer.json()["valid"] is False
    assert answer.json()["errors"][0]["column"] == "实测建筑面积（㎡）"
    good = io.BytesIO(book([row(a)]))
    good.name = "x.xlsx"
    answer = client.post(url, {"file": good}, format="multipart")
    assert answer.status_code == 201 and answer.json()["created"] == 1
    listing = client.get(f"/api/v1/measured-areas/?project={project().pk}").json()
    assert a.number in [x["unit_number"] for x in listing["results"]]
