"""Project scoping across the two demo projects: lists, the users list and the project
switcher."""

import re

import pytest

from tests.testing import api_client, make_user, web_client


def _results(response):
    assert response.status_code == 200, response.content[:300]
    return response.json()["results"]


@pytest.mark.parametrize(
    ("username", "codes"),
    [
        ("consultant", ["CHW"]),
        ("manager", ["CHW"]),
        ("consultant2", ["CHW", "YQF"]),
        ("director", ["CHW", "YQF"]),
        ("sysadmin", ["CHW", "YQF"]),
    ],
)
def test_project_list_holds_member_projects_only(username, codes, api):
    rows = _results(api(username).get("/api/v1/projects/"))
    assert sorted(p["code"] for p in rows) == codes


def test_user_without_membership_sees_no_project(demo):
    nobody = make_user("nobody")
    assert _results(api_client(nobody).get("/api/v1/projects/")) == []
    assert web_client(nobody).get(f"/projects/{demo['main'].pk}/").status_code == 404
    home = web_client(nobody).get("/")
    assert "您还没有任何项目的授权" in home.content.decode()


def test_inactive_project_disappears(demo, api):
    second = demo["second"]
    second.is_active = False
    second.save()
    rest = api("director")
    assert [p["code"] for p in _results(rest.get("/api/v1/projects/"))] == ["CHW"]
    assert rest.get(f"/api/v1/projects/{second.pk}/").status_code == 404


def test_presale_permits_of_other_projects_hidden(demo, api):
    from loupan.inventory.models import PresalePermit

    permit = PresalePermit.objects.create(
        project=demo["second"], number="绵预售字第2026003号", buildings="3栋"
    )
    consultant_ids = {p["id"] for p in _results(api("consultant").get("/api/v1/presale-permits/"))}
    assert permit.pk not in consultant_ids
    assert consultant_ids == set(demo["main"].permits.values_list("pk", flat=True))
    assert api("consultant").get(f"/api/v1/presale-permits/{permit.pk}/").status_code == 404
    director_ids = {p["id"] for p in _results(api("director").get("/api/v1/presale-permits/"))}
    assert permit.pk in director_ids


def test_users_list_restricted_to_members_of_own_projects(demo, api, login):
    yqf_only = make_user("yqf-only", (demo["second"], "consultant"), real_name="云栖顾问")
    no_project = make_user("no-project", real_name="未分配")

    # The manager belongs to the main project only.
    names = {u["username"] for u in _results(api("manager").get("/api/v1/users/"))}
    assert names == set(demo["users"])  # all eleven demo users are members of CHW
    page = login("manager").get("/users/").content.decode()
    assert "yqf-only" not in page and "no-project" not in page
    assert api("manager").get(f"/api/v1/users/{yqf_only.pk}/").status_code == 404
    assert login("manager").get(f"/users/{yqf_only.pk}/").status_code == 404

    # The director is in both projects: sees the YQF-only user, not the unassigned one.
    names = {u["username"] for u in _results(api("director").get("/api/v1/users/"))}
    assert "yqf-only" in names and "no-project" not in names

    # The administrator also sees accounts without any project (to grant them one).
    names = {u["username"] for u in _results(api("sysadmin").get("/api/v1/users/"))}
    assert {"yqf-only", "no-project"} <= names
    assert no_project.pk


def test_users_list_shows_no_role_in_a_foreign_project(demo, api, login):
    """The manager sees the director, but not that the director also works on 锦城·云栖府
    (the user page hides it; the list and the API must too)."""
    director = demo["users"]["director"]
    rows = {u["username"]: u for u in _results(api("manager").get("/api/v1/users/"))}
    projects = {m["project"] for m in rows["director"]["memberships"]}
    assert projects == {demo["main"].pk}
    detail = api("manager").get(f"/api/v1/users/{director.pk}/").json()
    assert {m["project_name"] for m in detail["memberships"]} == {"锦城·翠湖湾"}
    assert "锦城·云栖府" not in login("manager").get("/users/").content.decode()
    assert "锦城·云栖府" not in login("manager").get(f"/users/{director.pk}/").content.decode()
    # A member of both projects sees both.
    rows = {u["username"]: u for u in _results(api("sysadmin").get("/api/v1/users/"))}
    assert {m["project"] for m in rows["director"]["memberships"]} == {
        demo["main"].pk,
        demo["second"].pk,
    }


def test_memberships_of_other_projects_hidden(demo, api):
    rows = _results(api("manager").get("/api/v1/memberships/"))
    assert rows and {m["project"] for m in rows} == {demo["main"].pk}
    rows = _results(api("director").get("/api/v1/memberships/"))
    assert {m["project"] for m in rows} == {demo["main"].pk, demo["second"].pk}


def test_membership_filter_by_foreign_project_reveals_nothing(demo, api):
    rows = _results(api("manager").get(f"/api/v1/memberships/?project={demo['second'].pk}"))
    assert rows == []


# --- the project switcher ------------------------------------------------------------


def _current_project_name(response) -> str:
    match = re.search(r'id="current-project-name">([^<]+)<', response.content.decode())
    assert match, "the home page names no current project"
    return match.group(1)


def test_switcher_refuses_project_user_is_not_in(demo, login):
    client = login("consultant")
    response = client.post("/projects/switch/", {"project": demo["second"].pk, "next": "/"})
    assert response.status_code == 404
    assert "project_id" not in client.session
    assert _current_project_name(client.get("/")) == "锦城·翠湖湾"
    assert client.post("/projects/switch/", {"project": "abc"}).status_code == 404
    assert client.post("/projects/switch/", {"project": "999999"}).status_code == 404


def test_switcher_requires_post(demo, login):
    client = login("director")
    assert client.get(f"/projects/switch/?project={demo['second'].pk}").status_code == 405


def test_switching_changes_current_project(demo, login):
    main, second = demo["main"], demo["second"]
    client = login("director")
    response = client.post("/projects/switch/", {"project": second.pk, "next": "/projects/"})
    assert response.status_code == 302
    assert response["Location"] == "/projects/"
    assert client.session["project_id"] == second.pk
    home = client.get("/")
    assert _current_project_name(home) == "锦城·云栖府"
    assert home.context["request"].project.pk == second.pk
    # The switcher marks it as selected.
    assert f'<option value="{second.pk}" selected>' in home.content.decode()

    client.post("/projects/switch/", {"project": main.pk})
    home = client.get("/")
    assert _current_project_name(home) == "锦城·翠湖湾"
    assert home.context["request"].project.pk == main.pk


def test_switch_next_stays_on_site(demo, login):
    client = login("director")
    response = client.post(
        "/projects/switch/", {"project": demo["main"].pk, "next": "//evil.example/"}
    )
    assert response["Location"] == "/"


def test_current_project_follows_lost_membership(demo, login):
    """A project the user was removed from stops being current at the next request."""
    from loupan.accounts.models import Membership

    client = login("consultant2")
    client.post("/projects/switch/", {"project": demo["second"].pk})
    assert _current_project_name(client.get("/")) == "锦城·云栖府"
    Membership.objects.filter(user__username="consultant2", project=demo["second"]).delete()
    assert _current_project_name(client.get("/")) == "锦城·翠湖湾"
    assert client.get(f"/projects/{demo['second'].pk}/").status_code == 404


def test_navigation_follows_roles_in_current_project(demo, login):
    """A project's pages follow the roles in the current project: a consultant in one
    project and an auditor in the other has the front desk in the first only; a page
    outside the projects (the users) opens, and is linked, in both (issue 12: a link is
    shown iff the page opens)."""
    main, second = demo["main"], demo["second"]
    mixed = make_user("mixed", (main, "consultant"), (second, "auditor"))
    client = web_client(mixed)
    client.post("/projects/switch/", {"project": main.pk})
    home = client.get("/").content.decode()
    assert f'href="/projects/{main.pk}/reception/"' in home and 'href="/users/"' in home
    client.post("/projects/switch/", {"project": second.pk})
    home = client.get("/").content.decode()
    assert f'href="/projects/{second.pk}/reception/"' not in home and 'href="/users/"' in home
    assert client.get(f"/projects/{second.pk}/reception/").status_code == 403
    assert client.get("/users/").status_code == 200
