"""What enters the audit trail: business writes (services, pages, API), logins, logouts,
failed logins, password changes, grants, revocations and exports — each with its actor,
address, object and field-by-field changes."""

import datetime
from decimal import Decimal

import pytest
from django.conf import settings

from loupan.accounts import services as account_services
from loupan.accounts.models import Membership, Role
from loupan.audit.models import AuditAction, AuditEntry
from loupan.core.errors import DomainError
from loupan.inventory import services
from loupan.inventory.models import PresalePermit, Project

IP = "10.20.30.40"


def _project_data(company, **over):
    data = {
        "company": company,
        "name": "锦城·测试苑",
        "code": "TST",
        "city": "成都",
        "district": "武侯区",
        "address": "成都市武侯区测试路 1 号",
        "sales_office_phone": "",
        "default_pricing_basis": "gross_area",
        "status": "preparing",
        "is_active": True,
        "note": "",
    }
    data.update(over)
    return data


def _form(project, **over):
    """The project edit form's POST data, as the browser sends it."""
    data = {
        "company": project.company_id,
        "name": project.name,
        "code": project.code,
        "city": project.city,
        "district": project.district,
        "address": project.address,
        "sales_office_phone": project.sales_office_phone,
        "default_pricing_basis": project.default_pricing_basis,
        "status": project.status,
        "is_active": "on" if project.is_active else "",
        "note": project.note,
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


# --- services -------------------------------------------------------------------------


def test_project_create_records_every_field(demo, user, new_entries):
    mark = new_entries()
    sysadmin = user("sysadmin")
    project = services.project_create(actor=sysadmin, data=_project_data(demo["company"]))
    entries = new_entries(mark)
    create = entries[0]
    assert create.action == AuditAction.CREATE
    assert create.actor_id == sysadmin.pk
    assert create.actor_username == "sysadmin"
    assert create.object_type == "inventory.project"
    assert create.object_id == str(project.pk)
    assert create.project_id == project.pk
    assert create.object_repr == str(project)
    assert create.changes["name"] == [None, "锦城·测试苑"]
    assert create.changes["code"] == [None, "TST"]
    assert create.changes["company_id"] == [None, demo["company"].pk]
    # The creator becomes the new project's administrator, in the same transaction.
    grant = entries[1]
    assert grant.action == AuditAction.GRANT
    assert grant.project_id == project.pk
    assert grant.extra == {"user": "sysadmin", "role": "sysadmin"}
    assert len(entries) == 2


def test_project_update_records_before_and_after(demo, user, new_entries):
    mark = new_entries()
    project = demo["main"]
    services.project_update(
        actor=user("director"), project=project, data={"name": "锦城·翠湖湾二号", "city": "德阳"}
    )
    [entry] = new_entries(mark)
    assert entry.action == AuditAction.UPDATE
    assert entry.actor_username == "director"
    assert entry.object_type == "inventory.project"
    assert entry.object_id == str(project.pk)
    assert entry.project_id == project.pk
    assert entry.changes["name"] == ["锦城·翠湖湾", "锦城·翠湖湾二号"]
    assert entry.changes["city"] == ["成都", "德阳"]
    assert "address" not in entry.changes


def test_update_without_change_writes_no_entry(demo, user):
    project = demo["main"]
    before = AuditEntry.objects.count()
    services.project_update(
        actor=user("sysadmin"), project=project, data={"name": project.name, "city": project.city}
    )
    permit = project.permits.first()
    services.permit_update(actor=user("sysadmin"), permit=permit, data={"number": permit.number})
    assert AuditEntry.objects.count() == before


def test_only_changed_fields_are_listed(demo, user, new_entries):
    mark = new_entries()
    services.project_update(actor=user("sysadmin"), project=demo["main"], data={"note": "改"})
    [entry] = new_entries(mark)
    assert set(entry.changes) == {"note"}


def test_permit_create_update_delete(demo, user, new_entries):
    sysadmin = user("sysadmin")
    project = demo["main"]
    mark = new_entries()
    permit = services.permit_create(
        actor=sysadmin,
        project=project,
        data={"number": "蓉预售字第TEST号", "area": Decimal("1234.50"), "buildings": "9栋"},
    )
    services.permit_update(actor=sysadmin, permit=permit, data={"area": Decimal("1300.00")})
    pk = permit.pk
    services.permit_delete(actor=sysadmin, permit=permit)
    create, update, delete = new_entries(mark)
    for entry in (create, update, delete):
        assert entry.object_type == "inventory.presalepermit"
        assert entry.object_id == str(pk)
        assert entry.project_id == project.pk
        assert entry.actor_username == "sysadmin"
    assert create.action == AuditAction.CREATE
    assert create.changes["number"] == [None, "蓉预售字第TEST号"]
    assert create.changes["area"] == [None, "1234.50"]
    assert update.action == AuditAction.UPDATE
    assert update.changes == {"area": ["1234.50", "1300.00"]}
    assert delete.action == AuditAction.DELETE
    assert delete.changes["number"] == ["蓉预售字第TEST号", None]
    assert delete.changes["project_id"] == [project.pk, None]
    assert not PresalePermit.objects.filter(pk=pk).exists()


def test_refused_service_writes_nothing(demo, user):
    before = AuditEntry.objects.count()
    with pytest.raises(DomainError) as exc:
        services.project_update(actor=user("consultant"), project=demo["main"], data={"name": "x"})
    assert exc.value.code == "permission_denied"
    with pytest.raises(DomainError):
        services.project_update(actor=user("sysadmin"), project=demo["main"], data={"name": ""})
    assert AuditEntry.objects.count() == before
    assert Project.objects.get(pk=demo["main"].pk).name == "锦城·翠湖湾"


def test_entry_without_request_has_no_address(demo, user, last_entry):
    services.project_update(actor=user("sysadmin"), project=demo["main"], data={"note": "cli"})
    assert last_entry().ip is None


# --- pages ----------------------------------------------------------------------------


def test_project_edit_page_records_actor_and_address(login, demo, new_entries):
    client = login("sysadmin")
    project = demo["main"]
    mark = new_entries()
    response = client.post(
        f"/projects/{project.pk}/edit/", _form(project, city="眉山"), REMOTE_ADDR=IP
    )
    assert response.status_code == 302
    [entry] = new_entries(mark)
    assert entry.action == AuditAction.UPDATE
    assert entry.actor_username == "sysadmin"
    assert entry.ip == IP
    assert entry.object_type == "inventory.project"
    assert entry.object_id == str(project.pk)
    assert entry.changes["city"] == ["成都", "眉山"]


def test_project_edit_page_unchanged_writes_nothing(login, demo):
    client = login("sysadmin")
    project = demo["main"]
    before = AuditEntry.objects.count()
    response = client.post(f"/projects/{project.pk}/edit/", _form(project), REMOTE_ADDR=IP)
    assert response.status_code == 302
    assert AuditEntry.objects.count() == before


def test_project_create_page(login, demo, new_entries):
    client = login("sysadmin")
    mark = new_entries()
    data = _project_data(demo["company"].pk, code="WEB", name="锦城·网页苑", is_active="on")
    response = client.post("/projects/new/", data, REMOTE_ADDR=IP)
    assert response.status_code == 302
    project = Project.objects.get(code="WEB")
    create = new_entries(mark)[0]
    assert (create.action, create.object_type, create.object_id, create.ip) == (
        AuditAction.CREATE,
        "inventory.project",
        str(project.pk),
        IP,
    )
    assert create.changes["name"] == [None, "锦城·网页苑"]


def test_permit_pages_create_edit_delete(login, demo, new_entries):
    client = login("sysadmin")
    project = demo["main"]
    mark = new_entries()
    data = {"number": "蓉预售字第WEB号", "authority": "", "buildings": "9栋", "area": "100.00"}
    assert (
        client.post(f"/projects/{project.pk}/permits/new/", data, REMOTE_ADDR=IP).status_code == 302
    )
    permit = PresalePermit.objects.get(number="蓉预售字第WEB号")
    data["area"] = "200.00"
    url = f"/projects/{project.pk}/permits/{permit.pk}/"
    assert client.post(url + "edit/", data, REMOTE_ADDR=IP).status_code == 302
    assert client.post(url + "delete/", REMOTE_ADDR=IP).status_code == 302
    entries = new_entries(mark)
    assert [e.action for e in entries] == ["create", "update", "delete"]
    assert all(e.ip == IP and e.object_id == str(permit.pk) for e in entries)
    assert entries[1].changes == {"area": ["100.00", "200.00"]}


# --- API ------------------------------------------------------------------------------


def test_api_create_update_delete(api, demo, new_entries):
    client = api("sysadmin")
    client.defaults["REMOTE_ADDR"] = IP
    mark = new_entries()
    body = _project_data(demo["company"].pk, code="API", name="锦城·接口苑")
    response = client.post("/api/v1/projects/", body, format="json")
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    response = client.patch(f"/api/v1/projects/{pk}/", {"city": "乐山"}, format="json")
    assert response.status_code == 200
    response = client.post(
        f"/api/v1/projects/{pk}/permits/",
        {"number": "乐预售字第1号", "buildings": "1栋"},
        format="json",
    )
    assert response.status_code == 201
    permit_pk = response.json()["id"]
    assert client.delete(f"/api/v1/presale-permits/{permit_pk}/").status_code == 204
    assert client.delete(f"/api/v1/projects/{pk}/").status_code == 204

    entries = new_entries(mark)
    assert all(e.ip == IP and e.actor_username == "sysadmin" for e in entries)
    summary = [(e.action, e.object_type) for e in entries]
    assert summary == [
        ("create", "inventory.project"),
        ("grant", "accounts.membership"),
        ("update", "inventory.project"),
        ("create", "inventory.presalepermit"),
        ("delete", "inventory.presalepermit"),
        ("delete", "inventory.project"),
    ]
    assert entries[2].object_id == str(pk)
    assert entries[2].changes == {"city": ["成都", "乐山"]}
    assert entries[-1].changes["code"] == ["API", None]
    assert entries[-1].extra == {"memberships": [["sysadmin", "sysadmin"]]}


def test_api_update_without_change_writes_no_entry(api, demo):
    client = api("sysadmin")
    before = AuditEntry.objects.count()
    response = client.patch(
        f"/api/v1/projects/{demo['main'].pk}/", {"name": "锦城·翠湖湾"}, format="json"
    )
    assert response.status_code == 200
    assert AuditEntry.objects.count() == before


# --- logins, logouts, passwords -------------------------------------------------------


def test_web_login_logout(client, demo, new_entries):
    mark = new_entries()
    response = client.post(
        "/accounts/login/",
        {"username": "consultant", "password": settings.LOUPAN_DEMO_PASSWORD},
        REMOTE_ADDR=IP,
    )
    assert response.status_code == 302
    assert client.post("/accounts/logout/", REMOTE_ADDR="10.9.9.9").status_code == 302
    login, logout = new_entries(mark)
    assert login.action == AuditAction.LOGIN
    assert login.actor_username == "consultant"
    assert login.actor_id == demo["users"]["consultant"].pk
    assert login.ip == IP
    assert login.extra == {"via": "web"}
    assert login.object_type == "accounts.user"
    assert login.project_id is None
    assert logout.action == AuditAction.LOGOUT
    assert logout.actor_username == "consultant"
    assert logout.ip == "10.9.9.9"


def test_failed_web_login(client, demo, new_entries):
    mark = new_entries()
    response = client.post(
        "/accounts/login/", {"username": "consultant", "password": "wrong-pass1"}, REMOTE_ADDR=IP
    )
    assert response.status_code == 200
    [entry] = new_entries(mark)
    assert entry.action == AuditAction.LOGIN_FAILED
    assert entry.actor_id is None
    assert entry.actor_username == "consultant"
    assert entry.ip == IP
    assert entry.extra == {"via": "web"}


def test_failed_login_for_unknown_name(client, demo, new_entries):
    mark = new_entries()
    client.post("/accounts/login/", {"username": "nobody", "password": "x"}, REMOTE_ADDR=IP)
    [entry] = new_entries(mark)
    assert (entry.action, entry.actor_id, entry.actor_username) == ("login_failed", None, "nobody")


def test_api_token_login_and_failure(demo, new_entries):
    from rest_framework.test import APIClient

    client = APIClient(REMOTE_ADDR=IP)
    mark = new_entries()
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "auditor", "password": settings.LOUPAN_DEMO_PASSWORD},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["token"]
    response = client.post(
        "/api/v1/auth/token/", {"username": "auditor", "password": "bad-pass-1"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"
    login, failed = new_entries(mark)
    assert login.action == AuditAction.LOGIN
    assert login.actor_username == "auditor"
    assert login.actor_id == demo["users"]["auditor"].pk
    assert login.extra == {"via": "api"}
    assert login.ip == IP
    assert failed.action == AuditAction.LOGIN_FAILED
    assert failed.actor_id is None
    assert failed.actor_username == "auditor"
    assert failed.extra == {"via": "api"}
    assert failed.ip == IP


def test_password_change_page(login, demo, new_entries):
    client = login("finance")
    mark = new_entries()
    response = client.post(
        "/accounts/password/",
        {
            "old_password": settings.LOUPAN_DEMO_PASSWORD,
            "new_password": "Cuihuwan2027x",
            "new_password2": "Cuihuwan2027x",
        },
        REMOTE_ADDR=IP,
    )
    assert response.status_code == 302
    [entry] = new_entries(mark)
    assert entry.action == AuditAction.PASSWORD_CHANGE
    assert entry.actor_username == "finance"
    assert entry.ip == IP
    assert entry.object_id == str(demo["users"]["finance"].pk)
    # Never the password or its hash.
    assert "password" not in entry.changes
    assert "Cuihuwan2027x" not in str(entry.content())


def test_password_change_api(api, demo, new_entries):
    client = api("planner")
    mark = new_entries()
    response = client.post(
        "/api/v1/auth/password/",
        {"old_password": settings.LOUPAN_DEMO_PASSWORD, "new_password": "Cuihuwan2027y"},
        format="json",
    )
    assert response.status_code == 204
    [entry] = new_entries(mark)
    assert (entry.action, entry.actor_username) == ("password_change", "planner")


def test_wrong_old_password_writes_no_entry(login, demo):
    client = login("finance")
    before = AuditEntry.objects.count()
    response = client.post(
        "/accounts/password/",
        {"old_password": "nope", "new_password": "Cuihuwan2027x", "new_password2": "Cuihuwan2027x"},
    )
    assert response.status_code == 200
    assert AuditEntry.objects.count() == before


# --- grants and revocations -----------------------------------------------------------


def test_grant_and_revoke_service(demo, user, new_entries):
    sysadmin, consultant = user("sysadmin"), user("consultant")
    role = Role.objects.get(code="consultant")
    mark = new_entries()
    membership = account_services.membership_grant(
        actor=sysadmin, user=consultant, project=demo["second"], role=role
    )
    pk = membership.pk
    account_services.membership_revoke(actor=sysadmin, membership=membership)
    grant, revoke = new_entries(mark)
    for entry in (grant, revoke):
        assert entry.actor_username == "sysadmin"
        assert entry.project_id == demo["second"].pk
        assert entry.object_type == "accounts.membership"
        assert entry.object_id == str(pk)
        assert entry.extra == {"user": "consultant", "role": "consultant"}
    assert grant.action == AuditAction.GRANT
    assert revoke.action == AuditAction.REVOKE
    assert not Membership.objects.filter(pk=pk).exists()


def test_grant_and_revoke_pages(login, demo, new_entries):
    client = login("sysadmin")
    consultant = demo["users"]["consultant"]
    role = Role.objects.get(code="finance")
    mark = new_entries()
    response = client.post(
        f"/users/{consultant.pk}/memberships/",
        {"project": demo["second"].pk, "role": role.pk},
        REMOTE_ADDR=IP,
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user=consultant, project=demo["second"], role=role)
    response = client.post(f"/memberships/{membership.pk}/revoke/", REMOTE_ADDR=IP)
    assert response.status_code == 302
    grant, revoke = new_entries(mark)
    assert (grant.action, revoke.action) == ("grant", "revoke")
    assert grant.ip == revoke.ip == IP
    assert grant.extra == {"user": "consultant", "role": "finance"}


def test_refused_grant_writes_nothing(demo, user):
    before = AuditEntry.objects.count()
    with pytest.raises(DomainError):
        account_services.membership_grant(
            actor=user("consultant"),
            user=user("consultant2"),
            project=demo["main"],
            role=Role.objects.get(code="manager"),
        )
    assert AuditEntry.objects.count() == before


# --- exports --------------------------------------------------------------------------


def test_export_entry_records_rows_and_filters(login, demo, new_entries):
    client = login("auditor")
    expected = AuditEntry.objects.filter(action="grant").count()
    mark = new_entries()
    response = client.post(
        "/audit/export/", query_params={"format": "csv", "action": "grant"}, REMOTE_ADDR=IP
    )
    assert response.status_code == 200
    [entry] = new_entries(mark)
    assert entry.action == AuditAction.EXPORT
    assert entry.actor_username == "auditor"
    assert entry.ip == IP
    assert entry.object_type == "audit.auditentry"
    assert entry.extra == {"rows": expected, "filters": {"action": "grant"}}
    assert expected > 0


def test_entry_time_is_now(demo, user, last_entry):
    from django.utils import timezone

    services.project_update(actor=user("sysadmin"), project=demo["main"], data={"note": "t"})
    assert abs(timezone.now() - last_entry().created_at) < datetime.timedelta(seconds=30)
