"""The reception API: /api/v1/roster/, /api/v1/receptions/ (with next/), /api/v1/calls/;
errors in the one shape ``{"code", "message", "fields"}``."""

import datetime

import pytest
from django.utils import timezone

from loupan.customers.models import CallRecord, Customer


@pytest.fixture
def project(demo):
    return demo["main"]


def set_roster(api, project, users, post="floor"):
    return api("supervisor").post(
        "/api/v1/roster/set/",
        {
            "project": project.pk,
            "date": timezone.localdate().isoformat(),
            "post": post,
            "user_ids": [users["consultant"].pk, users["consultant2"].pk, users["manager"].pk],
        },
        format="json",
    )


def test_roster_set_consultant_403_supervisor_200(api, project, demo):
    users = demo["users"]
    resp = api("consultant").post(
        "/api/v1/roster/set/",
        {
            "project": project.pk,
            "date": timezone.localdate().isoformat(),
            "post": "floor",
            "user_ids": [users["consultant"].pk],
        },
        format="json",
    )
    assert resp.status_code == 403
    assert resp.json()["code"] == "permission_denied" and set(resp.json()) == {
        "code",
        "message",
        "fields",
    }
    resp = set_roster(api, project, users)
    assert resp.status_code == 200
    assert [e["user"] for e in resp.json()] == [
        users["consultant"].pk,
        users["consultant2"].pk,
        users["manager"].pk,
    ]
    listed = api("consultant").get(
        "/api/v1/roster/",
        {"project": project.pk, "post": "floor", "date": timezone.localdate().isoformat()},
    )
    assert [e["position"] for e in listed.json()] == [1, 2, 3]


def test_roster_set_invalid_user_names_the_field(api, project, demo):
    resp = api("supervisor").post(
        "/api/v1/roster/set/",
        {
            "project": project.pk,
            "date": timezone.localdate().isoformat(),
            "post": "floor",
            "user_ids": [demo["users"]["finance"].pk],
        },
        format="json",
    )
    body = resp.json()
    assert resp.status_code == 400 and body["code"] == "invalid" and "user_ids" in body["fields"]
    assert "排班顾问" in body["message"]


def test_next_queue_take_and_away(api, project, demo):
    users = demo["users"]
    set_roster(api, project, users)
    client = api("consultant")
    nxt = client.get("/api/v1/receptions/next/", {"project": project.pk}).json()
    floor = next(q for q in nxt if q["post"] == "floor")
    assert floor["user"]["id"] == users["consultant"].pk and floor["skipped"] == []
    phone = next(q for q in nxt if q["post"] == "phone")
    assert phone["user"] is None
    resp = client.post(
        "/api/v1/receptions/", {"project": project.pk, "post": "floor"}, format="json"
    )
    assert resp.status_code == 201 and resp.json()["consultant"] == users["consultant"].pk
    roster = (
        api("supervisor").get("/api/v1/roster/", {"project": project.pk, "post": "floor"}).json()
    )
    c2 = next(e for e in roster if e["user"] == users["consultant2"].pk)
    assert (
        api("supervisor")
        .post(f"/api/v1/roster/{c2['id']}/away/", {"away": True}, format="json")
        .status_code
        == 200
    )
    nxt = client.get("/api/v1/receptions/next/", {"project": project.pk}).json()
    floor = next(q for q in nxt if q["post"] == "floor")
    assert floor["user"]["id"] == users["manager"].pk
    assert [s["id"] for s in floor["skipped"]] == [users["consultant2"].pk]
    taken = client.post(
        "/api/v1/receptions/", {"project": project.pk, "post": "floor"}, format="json"
    ).json()
    assert (
        taken["consultant"] == users["manager"].pk
        and taken["skipped"][0]["id"] == users["consultant2"].pk
    )
    log = client.get(
        "/api/v1/receptions/", {"project": project.pk, "date": timezone.localdate().isoformat()}
    )
    assert log.json()["count"] >= 2


def test_returning_customer_via_api(api, project, demo):
    users = demo["users"]
    set_roster(api, project, users)
    old = Customer.objects.create(
        project=project,
        owner=users["consultant2"],
        name="老客",
        phone="+8619912341234",
        phone_tail="1234",
        wanted_layout="三房",
        registered_at=timezone.now() - datetime.timedelta(days=1),
    )
    resp = api("supervisor").post(
        "/api/v1/receptions/",
        {"project": project.pk, "post": "floor", "returning_customer": old.pk},
        format="json",
    )
    assert resp.status_code == 201
    assert resp.json()["consultant"] == users["consultant2"].pk and resp.json()["by_turn"] is False


def test_take_without_roster_is_400_in_the_one_shape(api, project):
    resp = api("consultant").post(
        "/api/v1/receptions/", {"project": project.pk, "post": "phone"}, format="json"
    )
    body = resp.json()
    assert resp.status_code == 400 and body["code"] == "invalid" and "post" in body["fields"]


def test_next_needs_a_project(api):
    resp = api("consultant").get("/api/v1/receptions/next/")
    assert resp.status_code == 400 and resp.json()["fields"] == {"project": ["请指定项目（编号）"]}


def test_next_for_foreign_project_is_404(api, demo):
    resp = api("consultant").get("/api/v1/receptions/next/", {"project": demo["second"].pk})
    assert resp.status_code == 404 and resp.json()["code"] == "not_found"


def test_calls_create_mask_confirm_link(api, project, demo):
    users = demo["users"]
    set_roster(api, project, users, post="phone")
    client = api("consultant")
    resp = client.post(
        "/api/v1/calls/",
        {"project": project.pk, "phone": "13912345601", "name": "冯", "question": "首付"},
        format="json",
    )
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    assert (
        body["received_by"] == users["consultant"].pk
        and body["phone"] == "13912345601"
        and body["missing"] == []
    )
    call_id = body["id"]
    # consultant2 sees no one else's call: 404.
    assert api("consultant2").get(f"/api/v1/calls/{call_id}/").status_code == 404
    # finance sees the project's calls, masked.
    seen = api("finance").get(f"/api/v1/calls/{call_id}/")
    assert seen.status_code == 200 and seen.json()["phone"] == "139****5601"
    # only roster.manage confirms
    assert client.post(f"/api/v1/calls/{call_id}/confirm/").status_code == 403
    ok = api("supervisor").post(f"/api/v1/calls/{call_id}/confirm/")
    assert ok.status_code == 200 and ok.json()["confirmed_by"] == users["supervisor"].pk
    customer = Customer.objects.create(
        project=project,
        owner=users["consultant"],
        name="冯",
        phone="+8613912345609",
        phone_tail="5609",
        wanted_layout="两房",
        registered_at=timezone.now(),
    )
    linked = client.post(f"/api/v1/calls/{call_id}/link/", {"customer": customer.pk}, format="json")
    assert linked.status_code == 200 and linked.json()["customer"] == customer.pk


def test_research_call_api_and_errors(api, project, demo):
    set_roster(api, project, demo["users"], post="phone")
    client = api("consultant")
    bad = client.post("/api/v1/calls/", {"project": project.pk, "is_research": True}, format="json")
    assert bad.status_code == 400 and bad.json()["fields"] == {
        "competitor": ["同行调研来电须填写同行单位名称"]
    }
    bad = client.post("/api/v1/calls/", {"project": project.pk, "phone": "999"}, format="json")
    assert bad.status_code == 400 and "phone" in bad.json()["fields"]
    ok = client.post(
        "/api/v1/calls/",
        {"project": project.pk, "is_research": True, "competitor": "某某"},
        format="json",
    )
    assert ok.status_code == 201 and ok.json()["is_research"] is True
    research = (
        api("supervisor")
        .get("/api/v1/calls/", {"project": project.pk, "is_research": "true"})
        .json()
    )
    assert ok.json()["id"] in [c["id"] for c in research["results"]]
    assert all(c["is_research"] for c in research["results"])
    nxt = client.get("/api/v1/receptions/next/", {"project": project.pk}).json()
    assert (
        next(q for q in nxt if q["post"] == "phone")["user"]["id"] == demo["users"]["consultant"].pk
    )


def test_supervisor_corrects_with_patch(api, project, demo):
    users = demo["users"]
    call = CallRecord.objects.create(
        project=project, received_by=users["consultant"], called_at=timezone.now()
    )
    resp = api("supervisor").patch(
        f"/api/v1/calls/{call.pk}/",
        {"name": "褚", "phone": "13900000001", "question": "车位", "confirm": True},
        format="json",
    )
    assert resp.status_code == 200 and resp.json()["missing"] == [] and resp.json()["confirmed_at"]


def test_call_list_query_count(api, project, demo, django_assert_max_num_queries):
    users = demo["users"]
    for i in range(5):
        CallRecord.objects.create(
            project=project, received_by=users["consultant"], called_at=timezone.now(), name=f"x{i}"
        )
    client = api("supervisor")
    with django_assert_max_num_queries(8):
        resp = client.get("/api/v1/calls/", {"project": project.pk})
    assert resp.status_code == 200
