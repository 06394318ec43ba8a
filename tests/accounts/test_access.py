"""The reusable access checks (tests/testing.py) applied to Project, PresalePermit, User
and Membership, pages and API."""

import datetime
from decimal import Decimal

from loupan.accounts.models import Membership, Role, User
from loupan.inventory.models import PresalePermit, Project, ProjectStatus
from tests.testing import APIAccessCase, Endpoint, Objects, UIAccessCase, make_user


def _new_project(demo, code="PZ1", name="测试·新项目"):
    """A project being prepared, without permits (so that it may be deleted)."""
    return Project.objects.create(
        company=demo["company"],
        name=name,
        code=code,
        city="成都",
        address="测试路 1 号",
        status=ProjectStatus.PREPARING,
    )


def _project_form(project, **changes):
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
        "is_active": "on",
        "note": project.note,
    }
    data.update(changes)
    return data


def _exists(model, **lookup):
    def check(response):
        assert model.objects.filter(**lookup).exists(), lookup

    return check


def _gone(obj):
    def check(response):
        assert not type(obj)._base_manager.filter(pk=obj.pk).exists()

    return check


def _changed(obj, **values):
    def check(response):
        fresh = type(obj)._base_manager.get(pk=obj.pk)
        for name, value in values.items():
            assert getattr(fresh, name) == value, (name, getattr(fresh, name))

    return check


# --- Project ------------------------------------------------------------------------


class _ProjectCase:
    permitted_role = "sysadmin"
    unpermitted_role = "consultant"

    def objects(self, demo):
        project = _new_project(demo)
        # The other project is the demo's second one (also being prepared, no permits).
        return Objects(
            obj=project,
            foreign=demo["second"],
            project=project,
            other=demo["second"],
            list_marker=project.name,
        )


class TestProjectPages(_ProjectCase, UIAccessCase):
    def endpoints(self, objs):
        p = objs.obj
        return [
            Endpoint("list", "get", "/projects/", scoped=False),
            Endpoint("detail", "get", f"/projects/{p.pk}/"),
            Endpoint("create_form", "get", "/projects/new/", scoped=False),
            Endpoint(
                "create",
                "post",
                "/projects/new/",
                _project_form(p, name="测试·另一个", code="PZ2"),
                ok=(302,),
                scoped=False,
                check=_exists(Project, code="PZ2"),
            ),
            Endpoint("edit_form", "get", f"/projects/{p.pk}/edit/"),
            Endpoint(
                "edit",
                "post",
                f"/projects/{p.pk}/edit/",
                _project_form(p, city="绵阳"),
                ok=(302,),
                check=_changed(p, city="绵阳"),
            ),
            Endpoint("delete", "post", f"/projects/{p.pk}/delete/", {}, ok=(302,), check=_gone(p)),
        ]


class TestProjectAPI(_ProjectCase, APIAccessCase):
    def endpoints(self, objs):
        p = objs.obj
        return [
            Endpoint("list", "get", "/api/v1/projects/", scoped=False),
            Endpoint("detail", "get", f"/api/v1/projects/{p.pk}/"),
            Endpoint(
                "create",
                "post",
                "/api/v1/projects/",
                {
                    "company": p.company_id,
                    "name": "测试·接口项目",
                    "code": "PZ3",
                    "city": "成都",
                    "address": "测试路 3 号",
                },
                ok=(201,),
                scoped=False,
                check=_exists(Project, code="PZ3"),
            ),
            Endpoint(
                "edit",
                "patch",
                f"/api/v1/projects/{p.pk}/",
                {"city": "绵阳"},
                check=_changed(p, city="绵阳"),
            ),
            Endpoint("delete", "delete", f"/api/v1/projects/{p.pk}/", ok=(204,), check=_gone(p)),
        ]


# --- PresalePermit ------------------------------------------------------------------


class _PermitCase:
    permitted_role = "director"
    unpermitted_role = "consultant"

    def objects(self, demo):
        main, second = demo["main"], demo["second"]
        foreign = PresalePermit.objects.create(
            project=second, number="绵预售字第2026001号", buildings="1栋"
        )
        return Objects(
            obj=main.permits.order_by("pk").first(),
            foreign=foreign,
            project=main,
            other=second,
        )


PERMIT_FORM = {
    "number": "蓉预售字第510100202699999号",
    "issued_on": "2026-10-01",
    "authority": "成都市住房和城乡建设局",
    "buildings": "二期 9栋",
    "area": "12000.50",
}


class TestPresalePermitPages(_PermitCase, UIAccessCase):
    def endpoints(self, objs):
        permit, project = objs.obj, objs.project
        base = f"/projects/{project.pk}/permits"
        return [
            # The project page lists the permits.
            Endpoint("detail", "get", f"/projects/{project.pk}/"),
            Endpoint("create_form", "get", f"{base}/new/"),
            Endpoint(
                "create",
                "post",
                f"{base}/new/",
                PERMIT_FORM,
                ok=(302,),
                check=_exists(PresalePermit, number=PERMIT_FORM["number"]),
            ),
            Endpoint("edit_form", "get", f"{base}/{permit.pk}/edit/"),
            Endpoint(
                "edit",
                "post",
                f"{base}/{permit.pk}/edit/",
                {**PERMIT_FORM, "number": permit.number, "buildings": "一期 1栋"},
                ok=(302,),
                check=_changed(permit, buildings="一期 1栋"),
            ),
            Endpoint(
                "delete",
                "post",
                f"{base}/{permit.pk}/delete/",
                {},
                ok=(302,),
                check=_gone(permit),
            ),
        ]


class TestPresalePermitAPI(_PermitCase, APIAccessCase):
    def endpoints(self, objs):
        permit, project = objs.obj, objs.project
        return [
            Endpoint("list", "get", "/api/v1/presale-permits/", scoped=False),
            Endpoint("detail", "get", f"/api/v1/presale-permits/{permit.pk}/"),
            Endpoint(
                "create",
                "post",
                f"/api/v1/projects/{project.pk}/permits/",
                PERMIT_FORM,
                ok=(201,),
                check=_exists(PresalePermit, number=PERMIT_FORM["number"]),
            ),
            Endpoint(
                "edit",
                "patch",
                f"/api/v1/presale-permits/{permit.pk}/",
                {"area": "100.25"},
                check=_changed(permit, area=Decimal("100.25")),
            ),
            Endpoint(
                "delete",
                "delete",
                f"/api/v1/presale-permits/{permit.pk}/",
                ok=(204,),
                check=_gone(permit),
            ),
        ]


# --- User ---------------------------------------------------------------------------


class _UserCase:
    # The manager sees the project's members but manages nobody.
    permitted_role = "sysadmin"
    unpermitted_role = "manager"

    def objects(self, demo):
        main, second = demo["main"], demo["second"]
        staff = make_user("staff-chw", (main, "consultant"), real_name="甲员工")
        foreign = make_user("staff-yqf", (second, "consultant"), real_name="乙员工")
        return Objects(
            obj=staff, foreign=foreign, project=main, other=second, list_marker="staff-chw"
        )


def _user_pages(objs):
    user, project = objs.obj, objs.project
    consultant = Role.objects.get(code="consultant")
    return [
        Endpoint("list", "get", "/users/", scoped=False),
        Endpoint("detail", "get", f"/users/{user.pk}/"),
        Endpoint("create_form", "get", "/users/new/", scoped=False),
        Endpoint(
            "create",
            "post",
            "/users/new/",
            {
                "username": "newhire",
                "real_name": "新员工",
                "mobile": "13900001234",
                "employee_no": "JC9001",
                "email": "",
                "language": "zh-hans",
                "project": project.pk,
                "role": consultant.pk,
                "password": "Xinyuan2026q",
            },
            ok=(302,),
            scoped=False,
            check=_exists(User, username="newhire", must_change_password=True),
        ),
        Endpoint("edit_form", "get", f"/users/{user.pk}/edit/"),
        Endpoint(
            "edit",
            "post",
            f"/users/{user.pk}/edit/",
            {
                "username": user.username,
                "real_name": "甲员工改名",
                "mobile": "",
                "employee_no": "",
                "email": "",
                "language": "zh-hans",
            },
            ok=(302,),
            check=_changed(user, real_name="甲员工改名"),
        ),
        Endpoint(
            "deactivate",
            "post",
            f"/users/{user.pk}/active/",
            {"active": "0"},
            ok=(302,),
            check=_changed(user, is_active=False),
        ),
        Endpoint(
            "reset_password",
            "post",
            f"/users/{user.pk}/reset-password/",
            {},
            ok=(302,),
            check=_changed(user, must_change_password=True),
        ),
    ]


def _user_api(objs):
    user, project = objs.obj, objs.project
    return [
        Endpoint("list", "get", "/api/v1/users/", scoped=False),
        Endpoint("detail", "get", f"/api/v1/users/{user.pk}/"),
        Endpoint(
            "create",
            "post",
            "/api/v1/users/",
            {
                "username": "newhire",
                "real_name": "新员工",
                "project": project.pk,
                "role_code": "consultant",
                "password": "Xinyuan2026q",
            },
            ok=(201,),
            scoped=False,
            check=_exists(User, username="newhire", must_change_password=True),
        ),
        Endpoint(
            "edit",
            "patch",
            f"/api/v1/users/{user.pk}/",
            {"real_name": "甲员工改名"},
            check=_changed(user, real_name="甲员工改名"),
        ),
        Endpoint(
            "deactivate",
            "post",
            f"/api/v1/users/{user.pk}/deactivate/",
            check=_changed(user, is_active=False),
        ),
        Endpoint(
            "reset_password",
            "post",
            f"/api/v1/users/{user.pk}/reset-password/",
            check=_changed(user, must_change_password=True),
        ),
    ]


class TestUserPages(_UserCase, UIAccessCase):
    def endpoints(self, objs):
        return _user_pages(objs)


class TestUserAPI(_UserCase, APIAccessCase):
    def endpoints(self, objs):
        return _user_api(objs)


class TestUserPagesAsConsultant(TestUserPages):
    """A consultant sees no other user at all: every page is refused."""

    unpermitted_role = "consultant"
    unpermitted_reads = False


class TestUserAPIAsConsultant(TestUserAPI):
    """A consultant's user list holds only themself; any other user is not found."""

    unpermitted_role = "consultant"
    unpermitted_reads = False


# --- Membership ---------------------------------------------------------------------


class _MembershipCase:
    permitted_role = "sysadmin"
    unpermitted_role = "manager"

    def objects(self, demo):
        main, second = demo["main"], demo["second"]
        staff = make_user("staff-chw", (main, "consultant"))
        foreign = make_user("staff-yqf", (second, "consultant"))
        return Objects(
            obj=Membership.objects.get(user=staff),
            foreign=Membership.objects.get(user=foreign),
            project=main,
            other=second,
        )


class TestMembershipPages(_MembershipCase, UIAccessCase):
    def endpoints(self, objs):
        membership, project = objs.obj, objs.project
        sales_admin = Role.objects.get(code="sales_admin")
        return [
            # The user page lists the user's roles.
            Endpoint("detail", "get", f"/users/{membership.user_id}/"),
            Endpoint(
                "create",
                "post",
                f"/users/{membership.user_id}/memberships/",
                {"project": project.pk, "role": sales_admin.pk},
                ok=(302,),
                check=_exists(
                    Membership, user_id=membership.user_id, project=project, role=sales_admin
                ),
            ),
            Endpoint(
                "delete",
                "post",
                f"/memberships/{membership.pk}/revoke/",
                {},
                ok=(302,),
                check=_gone(membership),
            ),
        ]


class TestMembershipAPI(_MembershipCase, APIAccessCase):
    def endpoints(self, objs):
        membership, project = objs.obj, objs.project
        return [
            Endpoint("list", "get", "/api/v1/memberships/", scoped=False),
            Endpoint("detail", "get", f"/api/v1/memberships/{membership.pk}/"),
            Endpoint(
                "create",
                "post",
                "/api/v1/memberships/",
                {"user": membership.user_id, "project": project.pk, "role_code": "sales_admin"},
                ok=(201,),
                scoped=False,
                check=_exists(
                    Membership,
                    user_id=membership.user_id,
                    project=project,
                    role__code="sales_admin",
                ),
            ),
            Endpoint(
                "delete",
                "delete",
                f"/api/v1/memberships/{membership.pk}/",
                ok=(204,),
                check=_gone(membership),
            ),
        ]


def test_permit_of_another_project_not_reachable_through_own_project(demo):
    """A permit id of the second project under the URL of one's own project: 404."""
    from tests.testing import web_client

    main, second = demo["main"], demo["second"]
    foreign = PresalePermit.objects.create(
        project=second,
        number="绵预售字第2026002号",
        buildings="2栋",
        issued_on=datetime.date.today(),
    )
    director_of_main = make_user(None, (main, "director"))
    client = web_client(director_of_main)
    assert client.get(f"/projects/{main.pk}/permits/{foreign.pk}/edit/").status_code == 404
    response = client.post(f"/projects/{main.pk}/permits/{foreign.pk}/delete/")
    assert response.status_code == 404
    assert PresalePermit.objects.filter(pk=foreign.pk).exists()
