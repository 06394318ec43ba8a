"""What each demo role may and may not do on projects, users and roles."""

import pytest

from loupan.accounts.models import Membership, Role, User
from loupan.inventory.models import Project
from tests.testing import assert_error, make_user

# username → (may change CHW, sees the user list, sees the roles, sees the audit log,
#             may create users, is a member of YQF)
ROLE_MATRIX = {
    "director": (True, True, True, True, False, True),
    "manager": (False, True, False, False, False, False),
    "supervisor": (False, True, False, False, False, False),
    "consultant": (False, False, False, False, False, False),
    "consultant2": (False, False, False, False, False, True),
    "salesadmin": (False, False, False, False, False, False),
    "finance": (False, False, False, False, False, True),
    "planner": (False, False, False, False, False, False),
    "service": (False, False, False, False, False, False),
    "sysadmin": (True, True, True, True, True, True),
    "auditor": (False, True, True, True, False, True),
}


def test_matrix_covers_every_demo_user(demo):
    assert set(ROLE_MATRIX) == set(demo["users"])


@pytest.mark.parametrize("username", sorted(ROLE_MATRIX))
def test_role_matrix(username, demo, login, api):
    change, users, roles, audit, create_users, in_yqf = ROLE_MATRIX[username]
    main, second = demo["main"], demo["second"]
    client, rest = login(username), api(username)

    # Every demo role sees the main project.
    assert client.get(f"/projects/{main.pk}/").status_code == 200
    assert rest.get(f"/api/v1/projects/{main.pk}/").status_code == 200

    response = rest.patch(f"/api/v1/projects/{main.pk}/", {"sales_office_phone": "028-1"})
    if change:
        assert response.status_code == 200, response.json()
        assert Project.objects.get(pk=main.pk).sales_office_phone == "028-1"
    else:
        assert_error(response, 403, "permission_denied")
        assert Project.objects.get(pk=main.pk).sales_office_phone == "028-85558888"
    assert client.get(f"/projects/{main.pk}/edit/").status_code == (200 if change else 403)

    assert client.get("/users/").status_code == (200 if users else 404)
    assert client.get("/roles/").status_code == (200 if roles else 404)
    assert client.get("/roles/consultant/").status_code == (200 if roles else 404)
    assert client.get("/audit/").status_code == (200 if audit else 404)
    api_roles = rest.get("/api/v1/roles/").json()
    assert len(api_roles) == (Role.objects.count() if roles else 0)

    response = rest.post(
        "/api/v1/users/",
        {
            "username": f"new-{username}",
            "real_name": "新员工",
            "project": main.pk,
            "role_code": "consultant",
            "password": "Xinyuan2026q",
        },
        format="json",
    )
    if create_users:
        assert response.status_code == 201, response.json()
    else:
        assert_error(response, 403, "permission_denied")
        assert not User.objects.filter(username=f"new-{username}").exists()
    assert client.get("/users/new/").status_code == (200 if create_users else 404)

    assert client.get(f"/projects/{second.pk}/").status_code == (200 if in_yqf else 404)
    listed = {p["code"] for p in rest.get("/api/v1/projects/").json()["results"]}
    assert listed == ({"CHW", "YQF"} if in_yqf else {"CHW"})


# --- system administrator ------------------------------------------------------------


def test_sysadmin_creates_project_and_becomes_its_administrator(demo, api):
    response = api("sysadmin").post(
        "/api/v1/projects/",
        {
            "company": demo["company"].pk,
            "name": "锦城·三期",
            "code": "SQ",
            "city": "成都",
            "address": "高新区某路 1 号",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    project = Project.objects.get(code="SQ")
    assert Membership.objects.filter(
        user__username="sysadmin", project=project, role__code="sysadmin"
    ).exists()


def test_sysadmin_creates_user_with_first_role(demo, api):
    response = api("sysadmin").post(
        "/api/v1/users/",
        {
            "username": "newhire",
            "real_name": "新顾问",
            "project": demo["main"].pk,
            "role_code": "consultant",
            "password": "Xinyuan2026q",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    user = User.objects.get(username="newhire")
    assert user.must_change_password
    assert user.password.startswith("argon2")
    assert list(user.memberships.values_list("project__code", "role__code")) == [
        ("CHW", "consultant")
    ]
    assert response.json()["memberships"][0]["role_code"] == "consultant"


def test_sysadmin_grants_membership(demo, api, login):
    consultant = demo["users"]["consultant"]
    response = api("sysadmin").post(
        "/api/v1/memberships/",
        {"user": consultant.pk, "project": demo["second"].pk, "role_code": "consultant"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    # The consultant now reaches the second project.
    assert login("consultant").get(f"/projects/{demo['second'].pk}/").status_code == 200
    again = api("sysadmin").post(
        "/api/v1/memberships/",
        {"user": consultant.pk, "project": demo["second"].pk, "role_code": "consultant"},
        format="json",
    )
    assert_error(again, 409, "conflict", fields=["role"])


def test_sysadmin_grants_membership_through_user_page(demo, login):
    consultant = demo["users"]["consultant"]
    planner = Role.objects.get(code="planner")
    response = login("sysadmin").post(
        f"/users/{consultant.pk}/memberships/", {"project": demo["main"].pk, "role": planner.pk}
    )
    assert response.status_code == 302
    assert consultant.memberships.filter(role=planner, project=demo["main"]).exists()


# --- director ------------------------------------------------------------------------


def test_director_changes_project_but_not_users(demo, login, api):
    main = demo["main"]
    rest = api("director")
    response = rest.patch(f"/api/v1/projects/{main.pk}/", {"note": "总监修改"}, format="json")
    assert response.status_code == 200
    assert Project.objects.get(pk=main.pk).note == "总监修改"

    consultant = demo["users"]["consultant"]
    # The director sees the staff but neither edits, deactivates nor grants.
    assert rest.get(f"/api/v1/users/{consultant.pk}/").status_code == 200
    assert_error(
        rest.patch(f"/api/v1/users/{consultant.pk}/", {"real_name": "x"}, format="json"),
        403,
        "permission_denied",
    )
    assert_error(rest.post(f"/api/v1/users/{consultant.pk}/deactivate/"), 403, "permission_denied")
    assert_error(
        rest.post(
            "/api/v1/memberships/",
            {"user": consultant.pk, "project": main.pk, "role_code": "manager"},
            format="json",
        ),
        403,
        "permission_denied",
    )
    assert_error(
        rest.post(
            "/api/v1/projects/",
            {"company": demo["company"].pk, "name": "x", "code": "X1", "city": "c", "address": "a"},
            format="json",
        ),
        403,
        "permission_denied",
    )
    client = login("director")
    assert client.get(f"/users/{consultant.pk}/edit/").status_code == 404
    assert client.post(f"/users/{consultant.pk}/active/", {"active": "0"}).status_code == 404
    assert User.objects.get(pk=consultant.pk).is_active
    assert client.get("/projects/new/").status_code == 403


def test_project_delete_checks_permission_before_rules(demo, api):
    """A role without ``project.delete`` is refused (403), whatever the project's state;
    only the administrator learns that a selling project cannot be deleted (409)."""
    main = demo["main"]
    for username in ("consultant", "director"):
        assert_error(api(username).delete(f"/api/v1/projects/{main.pk}/"), 403, "permission_denied")
    assert_error(api("sysadmin").delete(f"/api/v1/projects/{main.pk}/"), 409, "in_use")
    assert Project.objects.filter(pk=main.pk).exists()


def test_project_delete_page_refuses_without_permission(demo, login):
    main = demo["main"]
    assert login("consultant").post(f"/projects/{main.pk}/delete/").status_code == 403
    assert Project.objects.filter(pk=main.pk).exists()


# --- consultant ----------------------------------------------------------------------


def test_consultant_views_project_but_cannot_edit(demo, login, api):
    main = demo["main"]
    client = login("consultant")
    page = client.get(f"/projects/{main.pk}/")
    assert page.status_code == 200
    assert "锦城·翠湖湾" in page.content.decode()
    assert f"/projects/{main.pk}/edit/" not in page.content.decode()
    assert client.get(f"/projects/{main.pk}/edit/").status_code == 403
    response = client.post(f"/projects/{main.pk}/edit/", {"name": "改名"})
    assert response.status_code == 403
    body = api("consultant").patch(f"/api/v1/projects/{main.pk}/", {"name": "改名"}, format="json")
    assert_error(body, 403, "permission_denied")
    assert body.json()["fields"] == {}
    assert Project.objects.get(pk=main.pk).name == "锦城·翠湖湾"


def test_consultant_cannot_see_users(demo, login, api):
    client = login("consultant")
    assert client.get("/users/").status_code == 404
    director = demo["users"]["director"]
    assert client.get(f"/users/{director.pk}/").status_code == 404
    rest = api("consultant")
    assert_error(rest.get(f"/api/v1/users/{director.pk}/"), 404, "not_found")
    # The API list holds nobody but the consultant.
    names = [u["username"] for u in rest.get("/api/v1/users/").json()["results"]]
    assert names == ["consultant"]
    assert rest.get("/api/v1/memberships/").json()["results"] == []


def test_consultant_cannot_see_second_project(demo, login, api):
    second = demo["second"]
    client = login("consultant")
    assert client.get(f"/projects/{second.pk}/").status_code == 404
    assert client.get(f"/projects/{second.pk}/edit/").status_code == 404
    page = client.get("/projects/").content.decode()
    assert "锦城·翠湖湾" in page and "锦城·云栖府" not in page
    assert "锦城·云栖府" not in client.get("/").content.decode()
    rest = api("consultant")
    assert_error(rest.get(f"/api/v1/projects/{second.pk}/"), 404, "not_found")
    codes = [p["code"] for p in rest.get("/api/v1/projects/").json()["results"]]
    assert codes == ["CHW"]
    # Not even writing to it reveals that it exists.
    assert_error(
        rest.patch(f"/api/v1/projects/{second.pk}/", {"name": "x"}, format="json"),
        404,
        "not_found",
    )


# --- auditor -------------------------------------------------------------------------


def test_auditor_views_roles_and_audit(demo, login, api):
    client = login("auditor")
    page = client.get("/roles/")
    assert page.status_code == 200
    assert "系统管理员" in page.content.decode()
    detail = client.get("/roles/sysadmin/")
    assert detail.status_code == 200
    assert "陈管理员" in detail.content.decode()
    assert client.get("/audit/").status_code == 200
    rest = api("auditor")
    codes = {r["code"] for r in rest.get("/api/v1/roles/").json()}
    assert {"sysadmin", "consultant", "auditor"} <= codes
    assert rest.get("/api/v1/roles/auditor/").json()["permissions"] == sorted(
        Role.objects.get(code="auditor").permissions
    )
    assert rest.get("/api/v1/audit-entries/").status_code == 200
    # Read only.
    assert_error(
        rest.patch(f"/api/v1/projects/{demo['main'].pk}/", {"note": "x"}, format="json"),
        403,
        "permission_denied",
    )


def test_consultant_sees_no_role(demo, api):
    rest = api("consultant")
    assert rest.get("/api/v1/roles/").json() == []
    assert_error(rest.get("/api/v1/roles/sysadmin/"), 404, "not_found")


# --- the last administrator and oneself -------------------------------------------------


def _sysadmin_membership(project, username="sysadmin"):
    return Membership.objects.get(user__username=username, project=project, role__code="sysadmin")


def test_last_sysadmin_cannot_be_revoked_by_api(demo, api):
    membership = _sysadmin_membership(demo["main"])
    body = assert_error(
        api("sysadmin").delete(f"/api/v1/memberships/{membership.pk}/"), 409, "last_admin"
    )
    assert "最后一名系统管理员" in body["message"]
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_last_sysadmin_cannot_be_revoked_by_page(demo, login):
    membership = _sysadmin_membership(demo["main"])
    client = login("sysadmin")
    response = client.post(f"/memberships/{membership.pk}/revoke/", follow=True)
    assert response.status_code == 200
    assert "不能移除项目的最后一名系统管理员" in response.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_sysadmin_revocable_when_another_remains(demo, api):
    main = demo["main"]
    make_user("admin2", (main, "sysadmin"))
    membership = _sysadmin_membership(main)
    assert api("sysadmin").delete(f"/api/v1/memberships/{membership.pk}/").status_code == 204
    assert not Membership.objects.filter(pk=membership.pk).exists()
    # Now admin2 is the last one of the project.
    last = _sysadmin_membership(main, "admin2")
    from tests.testing import api_client

    assert_error(
        api_client(User.objects.get(username="admin2")).delete(f"/api/v1/memberships/{last.pk}/"),
        409,
        "last_admin",
    )


def test_deactivated_sysadmin_does_not_count(demo, api):
    main = demo["main"]
    other = make_user("admin2", (main, "sysadmin"))
    other.is_active = False
    other.save()
    membership = _sysadmin_membership(main)
    assert_error(api("sysadmin").delete(f"/api/v1/memberships/{membership.pk}/"), 409, "last_admin")


def test_other_roles_revocable(demo, api):
    membership = Membership.objects.get(user__username="consultant", project=demo["main"])
    assert api("sysadmin").delete(f"/api/v1/memberships/{membership.pk}/").status_code == 204
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_user_cannot_deactivate_themselves(demo, login, api):
    sysadmin = demo["users"]["sysadmin"]
    body = assert_error(
        api("sysadmin").post(f"/api/v1/users/{sysadmin.pk}/deactivate/"),
        400,
        "invalid",
        fields=["is_active"],
    )
    assert "不能停用自己的账号" in body["message"]
    response = login("sysadmin").post(f"/users/{sysadmin.pk}/active/", {"active": "0"}, follow=True)
    assert "不能停用自己的账号" in response.content.decode()
    assert User.objects.get(pk=sysadmin.pk).is_active


def test_deactivated_user_loses_token_and_session(demo, api, login):
    consultant = demo["users"]["consultant"]
    rest = api("consultant")
    client = login("consultant")
    assert rest.get("/api/v1/me/").status_code == 200
    response = api("sysadmin").post(f"/api/v1/users/{consultant.pk}/deactivate/")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert_error(rest.get("/api/v1/me/"), 401, "not_authenticated")
    assert client.get("/").status_code == 302
    # Reactivated, the account may log in again but its old token stays gone.
    assert api("sysadmin").post(f"/api/v1/users/{consultant.pk}/activate/").status_code == 200
    assert User.objects.get(pk=consultant.pk).is_active
