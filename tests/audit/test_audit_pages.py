"""The auditor's page (/audit/), its export, the API (/api/v1/audit-entries/) and the
history tab of a project and of a user."""

import csv
import datetime
import io
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.test import Client

from loupan.accounts.models import Membership, Role, User
from loupan.audit import services as audit_services
from loupan.audit.models import AuditAction, AuditEntry
from loupan.audit.views import EXPORT_HEADERS
from loupan.core.demo import DEMO_USERNAMES
from loupan.inventory import services

SHANGHAI = ZoneInfo("Asia/Shanghai")
AUDIT_VIEWERS = {"director", "sysadmin", "auditor"}
ROLES = DEMO_USERNAMES


def _shown(response):
    """The entries the page shows (the page object of its context)."""
    return list(response.context["page"].object_list)


@pytest.fixture
def activity(demo, user):
    """Known entries on both projects by different people."""
    main, second = demo["main"], demo["second"]
    services.project_update(actor=user("sysadmin"), project=main, data={"note": "系统管理员改"})
    # A second director whose name appears nowhere else in the trail.
    zhang = User.objects.create_user(
        username="zhangsan", password="Zhangsan2027x", real_name="张三"
    )
    director = Role.objects.get(code="director")
    for project in (main, second):
        Membership.objects.create(user=zhang, project=project, role=director)
    services.project_update(actor=zhang, project=second, data={"note": "总监改二号"})
    permit = main.permits.first()
    services.permit_update(actor=zhang, permit=permit, data={"authority": "某局"})
    return {"main": main, "second": second, "permit": permit}


@pytest.fixture
def backdated(db, monkeypatch):
    """``backdated(date, n)``: n entries written as if at noon (Shanghai) on that date."""

    def _write(day, n=1, username="past"):
        moment = datetime.datetime.combine(day, datetime.time(12), tzinfo=SHANGHAI)
        monkeypatch.setattr(audit_services.timezone, "now", lambda: moment)
        try:
            return [
                audit_services.audit_record(
                    actor=None, action=AuditAction.ACTION, username=username, object_repr=str(day)
                )
                for _ in range(n)
            ]
        finally:
            monkeypatch.undo()

    return _write


@pytest.fixture
def single_project_auditor(demo):
    """An auditor of 锦城·翠湖湾 only."""
    auditor = User.objects.create_user(
        username="auditor_chw", password="Cuihuwan2027z", real_name="单项目审计"
    )
    auditor.must_change_password = False
    auditor.save()
    Membership.objects.create(
        user=auditor, project=demo["main"], role=Role.objects.get(code="auditor")
    )
    return auditor


# --- who may open it ------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_audit_page_needs_audit_view(login, role):
    response = login(role).get("/audit/")
    assert response.status_code == (200 if role in AUDIT_VIEWERS else 404)


def test_anonymous_is_sent_to_login(client, demo):
    response = client.get("/audit/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert client.post("/audit/export/").status_code == 302


# --- the list and its filters ---------------------------------------------------------


def test_lists_newest_first(login, activity):
    response = login("auditor").get("/audit/")
    shown = _shown(response)
    newest = AuditEntry.objects.order_by("-id")[:50]
    assert [e.pk for e in shown] == [e.pk for e in newest]
    html = response.content.decode()
    assert 'id="audit-table"' in html
    assert "总监改二号" in html  # the changes column
    assert "发证机关" in html  # the permit's authority, by its label


def test_filter_by_actor(login, activity):
    shown = _shown(login("auditor").get("/audit/", {"actor": "zhangsan"}))
    assert shown
    assert {e.actor_username for e in shown} == {"zhangsan"}
    expected = AuditEntry.objects.filter(actor_username__icontains="zhangsan").count()
    assert (
        login("auditor").get("/audit/", {"actor": "zhangsan"}).context["page"].paginator.count
        == expected
    )


def test_filter_by_action(login, activity):
    response = login("auditor").get("/audit/", {"action": "grant"})
    shown = _shown(response)
    assert shown
    assert {e.action for e in shown} == {"grant"}
    assert (
        response.context["page"].paginator.count
        == AuditEntry.objects.filter(action="grant").count()
    )
    shown = _shown(login("auditor").get("/audit/", {"action": "update", "actor": "zhangsan"}))
    assert len(shown) == 2


def test_filter_by_object_type(login, activity):
    shown = _shown(
        login("auditor").get(
            "/audit/", {"object_type": "inventory.presalepermit", "action": "update"}
        )
    )
    assert [e.object_id for e in shown] == [str(activity["permit"].pk)]
    # Case-insensitive, as typed by a person.
    shown = _shown(
        login("auditor").get("/audit/", {"object_type": "Inventory.Project", "action": "update"})
    )
    assert {e.object_type for e in shown} == {"inventory.project"}
    assert len(shown) == 2


def test_filter_by_project(login, activity):
    second = activity["second"]
    response = login("auditor").get("/audit/", {"project": second.pk})
    shown = _shown(response)
    assert shown
    assert {e.project_id for e in shown} == {second.pk}
    assert (
        response.context["page"].paginator.count
        == AuditEntry.objects.filter(project=second).count()
    )


def test_filter_by_date_range(login, demo, backdated):
    old = backdated(datetime.date(2025, 1, 10), 2)
    mid = backdated(datetime.date(2025, 2, 15), 3)
    backdated(datetime.date(2025, 3, 20), 1)
    client = login("auditor")

    shown = _shown(client.get("/audit/", {"date_from": "2025-02-01", "date_to": "2025-02-28"}))
    assert [e.pk for e in shown] == [e.pk for e in reversed(mid)]

    shown = _shown(client.get("/audit/", {"date_to": "2025-01-10"}))
    assert {e.pk for e in old} <= {e.pk for e in shown}
    assert all(
        e.created_at.astimezone(SHANGHAI).date() <= datetime.date(2025, 1, 10) for e in shown
    )

    shown = _shown(client.get("/audit/", {"date_from": "2025-03-20", "actor": "past"}))
    assert [e.object_repr for e in shown] == ["2025-03-20"]


def test_date_filter_uses_local_days(login, demo, monkeypatch):
    """00:30 in Shanghai is the previous day in UTC: the filter counts the office's day."""
    moment = datetime.datetime(2025, 5, 1, 0, 30, tzinfo=SHANGHAI)
    monkeypatch.setattr(audit_services.timezone, "now", lambda: moment)
    entry = audit_services.audit_record(actor=None, action=AuditAction.ACTION, username="night")
    monkeypatch.undo()
    client = login("auditor")
    assert [
        e.pk
        for e in _shown(client.get("/audit/", {"date_from": "2025-05-01", "date_to": "2025-05-01"}))
    ] == [entry.pk]
    assert _shown(client.get("/audit/", {"date_from": "2025-04-30", "date_to": "2025-04-30"})) == []


def test_combined_filters(login, activity):
    shown = _shown(
        login("auditor").get(
            "/audit/",
            {"actor": "zhangsan", "action": "update", "project": activity["main"].pk},
        )
    )
    assert [(e.object_type, e.object_id) for e in shown] == [
        ("inventory.presalepermit", str(activity["permit"].pk))
    ]


def test_verify_on_the_page(login, demo, tamper):
    client = login("auditor")
    response = client.get("/audit/", {"verify": "1"})
    assert "哈希链完好" in response.content.decode()
    assert response.context["verify"]["broken"] is None
    victim = AuditEntry.objects.order_by("-id")[3]
    tamper("UPDATE audit_auditentry SET object_repr = %s WHERE id = %s", ["x", victim.pk])
    response = client.get("/audit/", {"verify": "1"})
    assert response.context["verify"]["broken"] == victim.pk
    assert f"第 {victim.pk} 条记录处断开" in response.content.decode()


# --- one project's auditor ------------------------------------------------------------


def test_single_project_auditor_sees_only_own_project(client, activity, single_project_auditor):
    client.force_login(single_project_auditor)
    second = activity["second"]
    assert AuditEntry.objects.filter(project=second).exists()

    response = client.get("/audit/")
    assert response.status_code == 200
    visible = AuditEntry.objects.restrict(single_project_auditor, "view")
    assert not visible.filter(project=second).exists()
    assert visible.filter(project=activity["main"]).exists()
    assert visible.filter(project__isnull=True).exists()  # logins have no project
    assert response.context["page"].paginator.count == visible.count()
    assert all(e.project_id != second.pk for e in response.context["page"].paginator.object_list)
    assert "总监改二号" not in response.content.decode()

    response = client.get("/audit/", {"project": second.pk})
    assert response.context["page"].paginator.count == 0


def test_single_project_auditor_api_and_export(activity, single_project_auditor):
    from rest_framework.test import APIClient

    second = activity["second"]
    client = APIClient()
    client.force_authenticate(single_project_auditor)
    body = client.get("/api/v1/audit-entries/", {"project": second.pk}).json()
    assert body["count"] == 0
    body = client.get("/api/v1/audit-entries/", {"action": "update", "actor": "zhangsan"}).json()
    assert body["count"] == 1
    assert body["results"][0]["project"] == activity["main"].pk
    hidden = AuditEntry.objects.filter(project=second).order_by("-id").first()
    response = client.get(f"/api/v1/audit-entries/{hidden.pk}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"

    web = Client()
    web.force_login(single_project_auditor)
    response = web.post("/audit/export/", query_params={"format": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))[1:]
    assert rows
    assert second.name not in {row[4] for row in rows}
    assert {row[4] for row in rows} <= {"", activity["main"].name}


# --- export ---------------------------------------------------------------------------


def _xlsx_rows(response):
    wb = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    ws = wb.worksheets[0]
    return [list(row) for row in ws.iter_rows(values_only=True)]


def test_export_xlsx(login, activity):
    client = login("auditor")
    response = client.post("/audit/export/", query_params={"format": "xlsx", "action": "update"})
    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    assert response["Content-Disposition"].endswith('.xlsx"')
    rows = _xlsx_rows(response)
    assert rows[0] == [
        "编号",
        "时间",
        "操作人",
        "IP",
        "项目",
        "动作",
        "对象类型",
        "对象编号",
        "对象",
        "变更字段",
        "附加信息",
        "哈希",
    ]
    assert rows[0] == EXPORT_HEADERS
    data = rows[1:]
    expected = AuditEntry.objects.filter(action="update").order_by("id")
    assert [r[0] for r in data] == [e.pk for e in expected]
    assert {r[5] for r in data} == {"修改"}
    by_id = {r[0]: r for r in data}
    entry = expected.filter(actor_username="zhangsan", object_type="inventory.project").get()
    row = by_id[entry.pk]
    assert row[2] == "zhangsan"
    assert row[4] == activity["second"].name
    assert "备注: — → 总监改二号" in row[9]  # the changes by label, as on the page
    assert row[11] == entry.hash
    # Local time of the office.
    assert row[1] == entry.created_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def test_export_is_the_default_format_xlsx(login, activity):
    response = login("auditor").post(
        "/audit/export/", query_params={"project": activity["second"].pk}
    )
    rows = _xlsx_rows(response)
    assert len(rows) - 1 == AuditEntry.objects.filter(project=activity["second"]).count()


def test_export_csv(login, activity):
    response = login("auditor").post(
        "/audit/export/", query_params={"format": "csv", "actor": "zhangsan", "action": "update"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == EXPORT_HEADERS
    assert len(rows) == 3
    assert {r[2] for r in rows[1:]} == {"zhangsan"}
    assert {r[6] for r in rows[1:]} == {"项目", "预售许可证"}


def test_export_writes_an_export_entry(login, activity, new_entries):
    client = login("auditor")
    mark = new_entries()
    response = client.post("/audit/export/", query_params={"action": "update", "format": "xlsx"})
    [entry] = new_entries(mark)
    assert entry.action == AuditAction.EXPORT
    assert entry.actor_username == "auditor"
    assert entry.object_type == "audit.auditentry"
    rows = AuditEntry.objects.filter(action="update").count()
    assert entry.extra["rows"] == len(_xlsx_rows(response)) - 1 == rows
    assert entry.extra["filters"] == {"action": "update"}


@pytest.mark.parametrize("role", ["sysadmin", "director", "consultant", "manager"])
def test_export_needs_audit_export(login, demo, role):
    client = login(role)
    before = AuditEntry.objects.count()
    response = client.post("/audit/export/", query_params={"format": "xlsx"})
    assert response.status_code == 404
    assert AuditEntry.objects.count() == before


def test_export_link_only_for_exporters(login, demo):
    assert 'id="export-xlsx"' in login("auditor").get("/audit/").content.decode()
    assert 'id="export-xlsx"' not in login("sysadmin").get("/audit/").content.decode()


# --- API ------------------------------------------------------------------------------


def test_api_lists_with_filters(api, activity):
    client = api("auditor")
    body = client.get("/api/v1/audit-entries/").json()
    assert body["count"] == AuditEntry.objects.count()
    assert body["results"][0]["id"] == AuditEntry.objects.order_by("-id").first().pk
    first = body["results"][0]
    assert {
        "actor_username",
        "ip",
        "action",
        "action_display",
        "changes",
        "hash",
        "prev_hash",
    } <= set(first)

    body = client.get("/api/v1/audit-entries/", {"actor": "zhangsan", "action": "update"}).json()
    assert body["count"] == 2
    assert {r["action_display"] for r in body["results"]} == {"修改"}

    body = client.get(
        "/api/v1/audit-entries/",
        {
            "object_type": "inventory.project",
            "object_id": activity["second"].pk,
            "action": "update",
        },
    ).json()
    assert body["count"] == 1
    assert body["results"][0]["changes"]["note"][1] == "总监改二号"

    body = client.get("/api/v1/audit-entries/", {"project": activity["second"].pk}).json()
    assert {r["project"] for r in body["results"]} == {activity["second"].pk}


def test_api_date_filters(api, demo, backdated):
    mid = backdated(datetime.date(2025, 2, 15), 2)
    backdated(datetime.date(2025, 3, 1), 1)
    body = (
        api("auditor")
        .get("/api/v1/audit-entries/", {"date_from": "2025-02-01", "date_to": "2025-02-28"})
        .json()
    )
    assert [r["id"] for r in body["results"]] == [e.pk for e in reversed(mid)]


def test_api_invalid_filter_is_a_400(api, demo):
    response = api("auditor").get("/api/v1/audit-entries/", {"action": "nonsense"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "action" in response.json()["fields"]


def test_api_is_read_only(api, demo):
    client = api("auditor")
    entry = AuditEntry.objects.order_by("-id").first()
    assert client.post("/api/v1/audit-entries/", {}, format="json").status_code == 405
    assert client.delete(f"/api/v1/audit-entries/{entry.pk}/").status_code == 405
    assert (
        client.patch(
            f"/api/v1/audit-entries/{entry.pk}/", {"object_repr": "x"}, format="json"
        ).status_code
        == 405
    )
    assert AuditEntry.objects.get(pk=entry.pk).object_repr == entry.object_repr


def test_api_verify(api, demo):
    body = api("auditor").get("/api/v1/audit-entries/verify/").json()
    assert body == {
        "intact": True,
        "checked": AuditEntry.objects.count(),
        "first_broken_id": None,
        "reason": "",
    }


def test_api_verify_reports_tampering(api, demo, tamper):
    victim = AuditEntry.objects.order_by("-id")[1]
    tamper("DELETE FROM audit_auditentry WHERE id = %s", [victim.pk])
    body = api("sysadmin").get("/api/v1/audit-entries/verify/").json()
    after = AuditEntry.objects.filter(id__gt=victim.pk).order_by("id").first()
    assert body["intact"] is False
    assert body["first_broken_id"] == after.pk
    assert body["reason"] == "prev_hash"


@pytest.mark.parametrize("role", ["consultant", "manager", "finance", "service"])
def test_api_without_audit_view_sees_nothing(api, activity, role):
    client = api(role)
    response = client.get("/api/v1/audit-entries/")
    assert response.status_code == 200
    assert response.json()["count"] == 0
    assert response.json()["results"] == []
    some = AuditEntry.objects.order_by("-id").first()
    response = client.get(f"/api/v1/audit-entries/{some.pk}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    response = client.get("/api/v1/audit-entries/verify/")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "intact" not in response.json()


def test_api_needs_a_token(demo):
    from rest_framework.test import APIClient

    response = APIClient().get("/api/v1/audit-entries/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# --- history tabs ---------------------------------------------------------------------


def test_project_history_shows_only_that_project(login, activity, demo):
    main = activity["main"]
    # Other objects share the id as text: a user, a membership, maybe the other project's permit.
    assert (
        AuditEntry.objects.filter(object_id=str(main.pk))
        .exclude(object_type="inventory.project")
        .exists()
    )
    response = login("auditor").get(f"/projects/{main.pk}/history/")
    assert response.status_code == 200
    shown = _shown(response)
    expected = AuditEntry.objects.filter(object_type="inventory.project", object_id=str(main.pk))
    assert [e.pk for e in shown] == list(expected.order_by("-id").values_list("pk", flat=True))[:50]
    assert {(e.object_type, e.object_id) for e in shown} == {("inventory.project", str(main.pk))}
    newest = shown[0]
    assert (newest.action, newest.actor_username) == ("update", "sysadmin")
    assert newest.changes["note"][1] == "系统管理员改"
    html = response.content.decode()
    assert "系统管理员改" in html
    assert "总监改二号" not in html  # the other project
    assert "某局" not in html  # its permit has its own history


def test_project_history_as_sysadmin_and_refused(login, activity):
    second = activity["second"]
    response = login("sysadmin").get(f"/projects/{second.pk}/history/")
    assert response.status_code == 200
    assert {e.object_id for e in _shown(response)} == {str(second.pk)}
    assert login("consultant").get(f"/projects/{activity['main'].pk}/history/").status_code == 404
    # Not a member of the second project: not found, whatever the role.
    assert login("manager").get(f"/projects/{second.pk}/history/").status_code == 404


def test_single_project_auditor_cannot_open_other_project_history(
    client, activity, single_project_auditor
):
    client.force_login(single_project_auditor)
    assert client.get(f"/projects/{activity['main'].pk}/history/").status_code == 200
    assert client.get(f"/projects/{activity['second'].pk}/history/").status_code == 404


def test_user_history_shows_only_that_user(login, demo):
    consultant = demo["users"]["consultant"]
    login("consultant")  # force_login: a login entry for the consultant
    client = login("sysadmin")
    response = client.get(f"/users/{consultant.pk}/history/")
    assert response.status_code == 200
    shown = _shown(response)
    assert {(e.object_type, e.object_id) for e in shown} == {("accounts.user", str(consultant.pk))}
    assert {"create", "login"} <= {e.action for e in shown}
    expected = AuditEntry.objects.filter(object_type="accounts.user", object_id=str(consultant.pk))
    assert len(shown) == expected.count()
    assert not any(e.actor_username == "sysadmin" and e.action == "login" for e in shown)


def test_user_history_refused_without_audit_view_or_manage(login, demo):
    consultant2 = demo["users"]["consultant2"]
    assert login("consultant").get(f"/users/{consultant2.pk}/history/").status_code == 404
    assert login("supervisor").get(f"/users/{consultant2.pk}/history/").status_code == 404
    assert login("auditor").get(f"/users/{consultant2.pk}/history/").status_code == 200


def test_entries_whose_keys_shadow_dict_methods_still_show(login, demo):
    """A key named like a dict method ("items", "keys") must not break the table: a
    template's ``x.items`` looks the key up first."""
    project = demo["main"]
    audit_services.audit_record(
        actor=None,
        action=AuditAction.ACTION,
        obj=project,
        username="system",
        changes={"items": [1, 2], "keys": ["a", "b"]},
        extra={"items": 7, "values": "v"},
    )
    client = login("auditor")
    for url in ("/audit/", f"/projects/{project.pk}/history/"):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert '<span class="fw-semibold">明细</span>: 1 → 2' in html
        assert '<span class="fw-semibold">keys</span>: a → b' in html
        assert "<div>明细: 7</div>" in html
