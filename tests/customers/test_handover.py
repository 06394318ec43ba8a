"""Handover 离职交接 of a departing consultant's open calls, open visit customers and
closed customers (seed 002 北京售楼处 客户管理制度 §4; issue Customers)."""

import datetime
from types import SimpleNamespace

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from loupan.accounts import access
from loupan.accounts.models import User
from loupan.audit.models import AuditEntry
from loupan.core.errors import DomainError
from loupan.customers import handover as svc
from loupan.customers import services
from loupan.customers.models import (
    CallRecord,
    Customer,
    FollowUp,
    Handover,
    Reception,
    ReceptionKind,
    Stage,
    Visit,
)
from tests.testing import assert_error, make_user, web_client

pytestmark = pytest.mark.django_db


def _register(actor, project, n, name, *, days_ago, stage=Stage.POTENTIAL):
    customer = services.customer_register(
        actor=actor,
        project=project,
        name=name,
        phone=f"166{project.pk:02d}{n:06d}",
        wanted_layout="other",
        wanted_layout_other="B1 三室",
    )
    registered = timezone.now() - datetime.timedelta(days=days_ago)
    Customer.objects.filter(pk=customer.pk).update(
        registered_at=registered,
        last_follow_up_at=registered,
        ownership_expires_at=services.ownership_expiry(registered),
        stage=stage,
    )
    customer.refresh_from_db()
    return customer


def _call(project, user, name, *, hours_ago, **fields):
    return CallRecord.objects.create(
        project=project,
        received_by=user,
        called_at=timezone.now() - datetime.timedelta(hours=hours_ago),
        name=name,
        **fields,
    )


@pytest.fixture
def office(demo):
    """A departing consultant 吴离职 on the main project with two open calls, three open
    customers (registered in an order that is not their id order), two closed ones, and
    what must not move: a linked call, a research call, and the history."""
    main = demo["main"]
    users = demo["users"]
    leaver = make_user("leaver", (main, "consultant"), real_name="吴离职")
    # Registered later but created first: the registration order decides, not the id.
    open3 = _register(leaver, main, 3, "王三", days_ago=1)
    open1 = _register(leaver, main, 1, "王一", days_ago=10)
    open2 = _register(leaver, main, 2, "王二", days_ago=5)
    closed2 = _register(leaver, main, 5, "成交二", days_ago=2, stage=Stage.DEAL)
    closed1 = _register(leaver, main, 4, "成交一", days_ago=20, stage=Stage.DEAL)
    call2 = _call(main, leaver, "来电二", hours_ago=1)
    call1 = _call(main, leaver, "来电一", hours_ago=5)
    linked = _call(main, leaver, "已来访", hours_ago=3, customer=open1)
    research = _call(main, leaver, "", hours_ago=2, is_research=True, competitor="某地产")
    follow_up = FollowUp.objects.create(
        customer=open1, consultant=leaver, at=timezone.now(), way="phone", content="回访"
    )
    reception = Reception.objects.create(
        project=main, kind=ReceptionKind.CALL, consultant=leaver, call=call1, at=call1.called_at
    )
    return SimpleNamespace(
        main=main,
        second=demo["second"],
        users=users,
        leaver=leaver,
        open=[open1, open2, open3],
        closed=[closed1, closed2],
        calls=[call1, call2],
        linked=linked,
        research=research,
        follow_up=follow_up,
        reception=reception,
    )


def owners(objs):
    out = []
    for obj in objs:
        obj.refresh_from_db()
        out.append(obj.received_by.username if isinstance(obj, CallRecord) else obj.owner.username)
    return out


def transfer_entries(office):
    return AuditEntry.objects.filter(
        object_type__in=["customers.customer", "customers.callrecord"],
        extra__reason="离职交接",
    ).order_by("id")


def execute(office, actor="supervisor", **kwargs):
    kwargs.setdefault("mode", "by_group")
    return svc.handover_execute(
        actor=office.users[actor] if isinstance(actor, str) else actor,
        project=office.main,
        from_user=office.leaver,
        **kwargs,
    )


def by_group(office, calls="consultant", open="consultant2", closed="supervisor"):
    u = office.users
    return {"calls": u[calls], "open": u[open], "closed": u[closed]}


# --- the preview --------------------------------------------------------------------------


def test_preview_counts_each_group_and_writes_nothing(office):
    before = AuditEntry.objects.count()
    plan = svc.handover_preview(
        actor=office.users["supervisor"],
        project=office.main,
        from_user=office.leaver,
        mode="by_group",
        to=by_group(office),
    )
    assert plan.counts == {"calls": 2, "open": 3, "closed": 2} and plan.total == 7
    assert [r["name"] for r in plan.per_recipient] == ["李顾问", "孙主管", "周顾问"]
    assert {(r["name"], r["calls"], r["open"], r["closed"]) for r in plan.per_recipient} == {
        ("李顾问", 2, 0, 0),
        ("周顾问", 0, 3, 0),
        ("孙主管", 0, 0, 2),
    }
    # Each group in registration order (calls by call time).
    assert [o.name for o, _u in plan.assignments["open"]] == ["王一", "王二", "王三"]
    assert [o.name for o, _u in plan.assignments["calls"]] == ["来电一", "来电二"]
    assert AuditEntry.objects.count() == before and not Handover.objects.exists()
    assert set(owners(office.open + office.closed + office.calls)) == {"leaver"}


# --- the two modes ------------------------------------------------------------------------


def test_by_group_gives_each_group_to_its_colleague_with_one_audit_entry_each(office):
    closed_expiry = [c.ownership_expires_at for c in office.closed]
    last_follow_up = [c.last_follow_up_at for c in office.open]
    start = timezone.now()
    handover = execute(office, to=by_group(office), note="3月离职")

    assert owners(office.calls) == ["consultant", "consultant"]
    assert owners(office.open) == ["consultant2"] * 3
    assert owners(office.closed) == ["supervisor"] * 2
    # Ownership restarts for the new owner of an open customer; the last follow-up stays
    # the real one; a closed customer's ownership is left alone.
    days = datetime.timedelta(days=services.ownership_days())
    for customer, last in zip(office.open, last_follow_up, strict=True):
        assert start + days <= customer.ownership_expires_at <= timezone.now() + days
        assert customer.last_follow_up_at == last and not customer.in_pool
    assert [c.ownership_expires_at for c in office.closed] == closed_expiry
    # What is no prospect of the leaver's stays: the linked call, the research call.
    assert owners([office.linked, office.research]) == ["leaver", "leaver"]

    assert (handover.calls_count, handover.open_count, handover.closed_count) == (2, 3, 2)
    assert handover.mode == "by_group" and handover.reason == "离职交接：3月离职"
    assert handover.actor == office.users["supervisor"] and not handover.deactivated
    assert handover.recipients == [
        {"id": office.users["consultant"].pk, "name": "李顾问", "calls": 2, "open": 0}
        | {"closed": 0, "total": 2},
        {"id": office.users["supervisor"].pk, "name": "孙主管", "calls": 0, "open": 0}
        | {"closed": 2, "total": 2},
        {"id": office.users["consultant2"].pk, "name": "周顾问", "calls": 0, "open": 3}
        | {"closed": 0, "total": 3},
    ]

    entries = list(AuditEntry.objects.filter(extra__handover=handover.pk).order_by("id"))
    assert len(entries) == 7
    by_object = {(e.object_type, e.object_id): e for e in entries}
    leaver = office.leaver.pk
    for call in office.calls:
        entry = by_object[("customers.callrecord", str(call.pk))]
        assert entry.changes == {"received_by_id": [leaver, office.users["consultant"].pk]}
        assert entry.extra["group"] == "calls"
    for customer in office.open:
        entry = by_object[("customers.customer", str(customer.pk))]
        assert entry.changes["owner_id"] == [leaver, office.users["consultant2"].pk]
        assert set(entry.changes) == {"owner_id", "ownership_expires_at"}
    for customer in office.closed:
        entry = by_object[("customers.customer", str(customer.pk))]
        assert entry.changes == {"owner_id": [leaver, office.users["supervisor"].pk]}
    assert all(e.extra["reason"] == "离职交接：3月离职" for e in entries)
    assert all(e.actor == office.users["supervisor"] for e in entries)
    assert AuditEntry.objects.filter(
        object_type="customers.handover", object_id=str(handover.pk)
    ).exists()


def test_even_split_takes_turns_in_registration_order_across_the_groups(office):
    u = office.users
    # Picked in any order: the turns go by the pinyin order of the names, 李 before 周.
    handover = execute(office, mode="even", recipients=[u["consultant2"], u["consultant"]])
    # Rotation 李, 周, 李 … over calls (by time), then open, then closed customers (by
    # registration), running on from one group to the next.
    assert owners(office.calls) == ["consultant", "consultant2"]
    assert owners(office.open) == ["consultant", "consultant2", "consultant"]
    assert owners(office.closed) == ["consultant2", "consultant"]
    assert [(r["name"], r["calls"], r["open"], r["closed"]) for r in handover.recipients] == [
        ("李顾问", 1, 2, 1),
        ("周顾问", 1, 1, 1),
    ]
    assert handover.mode == "even" and handover.reason == "离职交接"
    assert transfer_entries(office).count() == 7


def test_even_split_over_three_is_balanced(office):
    u = office.users
    execute(office, mode="even", recipients=[u["consultant"], u["consultant2"], u["supervisor"]])
    everything = owners(office.calls + office.open + office.closed)
    # 李, 孙, 周 in turn: 7 items give 3, 2, 2.
    assert everything == [
        "consultant",
        "supervisor",
        "consultant2",
        "consultant",
        "supervisor",
        "consultant2",
        "consultant",
    ]


def test_history_stays_attributed_to_the_departed(office):
    execute(office, to=by_group(office))
    assert set(Visit.objects.filter(customer__in=office.open).values_list("consultant", flat=True))
    assert set(
        Visit.objects.filter(customer__in=office.open + office.closed).values_list(
            "consultant__username", flat=True
        )
    ) == {"leaver"}
    office.follow_up.refresh_from_db()
    office.reception.refresh_from_db()
    assert office.follow_up.consultant == office.leaver
    assert office.reception.consultant == office.leaver
    for customer in office.open:
        customer.refresh_from_db()
        assert customer.registered_by == office.leaver


# --- deactivation -------------------------------------------------------------------------


def test_deactivation_in_the_same_action_ends_the_account_and_keeps_the_history(office):
    # Deactivating needs user.manage too (the accounts rule): a supervisor who is also
    # the project's system administrator.
    lead = make_user("lead", (office.main, "supervisor"), (office.main, "sysadmin"))
    Token.objects.create(user=office.leaver)
    session = web_client(office.leaver)
    assert session.get("/").status_code == 200

    handover = execute(office, actor=lead, to=by_group(office), deactivate=True)

    office.leaver.refresh_from_db()
    assert not office.leaver.is_active and handover.deactivated
    assert not Token.objects.filter(user=office.leaver).exists()
    assert session.get("/").status_code == 302  # the session ended
    entry = AuditEntry.objects.get(
        object_type="accounts.user", object_id=str(office.leaver.pk), action="update"
    )
    assert entry.changes == {"is_active": [True, False]} and entry.actor == lead
    office.follow_up.refresh_from_db()
    assert office.follow_up.consultant == office.leaver
    assert set(
        Visit.objects.filter(customer__in=office.open).values_list("consultant", flat=True)
    ) == {office.leaver.pk}
    assert owners(office.open) == ["consultant2"] * 3


def test_supervisor_closes_a_consultants_account_at_the_handover(office):
    handover = execute(office, to=by_group(office), deactivate=True)
    office.leaver.refresh_from_db()
    assert not office.leaver.is_active and handover.deactivated
    entry = AuditEntry.objects.get(
        object_type="accounts.user", object_id=str(office.leaver.pk), action="update"
    )
    assert entry.actor == office.users["supervisor"]


def test_supervisor_may_not_close_the_account_of_someone_who_manages_others(office):
    from loupan.accounts.models import Membership, Role

    Membership.objects.create(
        user=office.leaver, project=office.main, role=Role.objects.get(code="supervisor")
    )
    access.clear_cache(office.leaver)
    with pytest.raises(DomainError) as exc:
        execute(office, to=by_group(office), deactivate=True)
    assert exc.value.code == "permission_denied"
    office.leaver.refresh_from_db()
    assert office.leaver.is_active
    assert set(owners(office.open + office.closed + office.calls)) == {"leaver"}
    assert not Handover.objects.exists() and not transfer_entries(office).exists()


def test_deactivation_is_refused_while_another_project_still_has_customers(office):
    leaver = office.leaver
    from loupan.accounts.models import Membership, Role

    Membership.objects.create(
        user=leaver, project=office.second, role=Role.objects.get(code="consultant")
    )
    access.clear_cache(leaver)
    _register(leaver, office.second, 9, "云栖客户", days_ago=3)
    lead = make_user("lead", (office.main, "supervisor"), (office.main, "sysadmin"))
    with pytest.raises(DomainError) as exc:
        execute(office, actor=lead, to=by_group(office), deactivate=True)
    assert exc.value.code == "invalid" and "deactivate" in exc.value.fields
    assert office.second.name in exc.value.message
    # Without deactivation the main project's handover goes through, per project.
    execute(office, actor=lead, to=by_group(office))
    assert owners(office.open) == ["consultant2"] * 3
    assert Customer.objects.get(name="云栖客户").owner == leaver


# --- refusals -----------------------------------------------------------------------------


def test_a_consultant_may_not_hand_over(office):
    with pytest.raises(DomainError) as exc:
        execute(office, actor="consultant2", to=by_group(office))
    assert exc.value.code == "permission_denied"
    with pytest.raises(DomainError) as exc:
        svc.handover_preview(
            actor=office.users["consultant2"],
            project=office.main,
            from_user=office.leaver,
            mode="by_group",
            to=by_group(office),
        )
    assert exc.value.code == "permission_denied"
    assert set(owners(office.open)) == {"leaver"}


def _outsider(office):
    return make_user("outsider", (office.second, "consultant"))


def _inactive(office):
    return make_user("gone", (office.main, "consultant"), is_active=False)


def _no_customers_role(office):
    return office.users["finance"]  # a member of the project who may not own customers


@pytest.mark.parametrize(
    "recipient, reason",
    [
        (_outsider, "不是本项目可接收客户的置业顾问"),
        (lambda office: office.leaver, "不能交接给离职顾问本人"),
        (_inactive, "账号已停用"),
        (_no_customers_role, "不是本项目可接收客户的置业顾问"),
    ],
    ids=["not-a-member", "the-departing-user", "inactive", "no-customer-role"],
)
@pytest.mark.parametrize("mode", ["by_group", "even"])
def test_refused_recipients(office, recipient, reason, mode):
    user = recipient(office)
    kwargs = (
        {"to": {**by_group(office), "open": user}}
        if mode == "by_group"
        else {"recipients": [office.users["consultant"], user]}
    )
    with pytest.raises(DomainError) as exc:
        execute(office, mode=mode, **kwargs)
    field = "open_to" if mode == "by_group" else "recipients"
    assert exc.value.code == "invalid" and field in exc.value.fields
    assert reason in exc.value.message
    assert set(owners(office.open + office.calls)) == {"leaver"}
    assert not Handover.objects.exists()


def test_every_group_with_something_needs_a_recipient(office):
    with pytest.raises(DomainError) as exc:
        execute(office, to={**by_group(office), "closed": None})
    assert exc.value.code == "invalid" and "closed_to" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        execute(office, mode="even", recipients=[])
    assert exc.value.code == "invalid" and "recipients" in exc.value.fields


def test_nothing_to_hand_over_and_not_a_member(office):
    idle = make_user("idle", (office.main, "consultant"))
    with pytest.raises(DomainError) as exc:
        svc.handover_execute(
            actor=office.users["supervisor"],
            project=office.main,
            from_user=idle,
            mode="by_group",
            to=by_group(office),
        )
    assert exc.value.code == "invalid" and "from_user" in exc.value.fields
    stranger = make_user("stranger", (office.second, "consultant"))
    with pytest.raises(DomainError) as exc:
        svc.handover_execute(
            actor=office.users["supervisor"],
            project=office.main,
            from_user=stranger,
            mode="by_group",
            to=by_group(office),
        )
    assert exc.value.code == "invalid" and "from_user" in exc.value.fields


# --- all or nothing -----------------------------------------------------------------------


def test_a_failure_midway_leaves_everything_as_it_was(office, monkeypatch):
    real = svc.audit_update
    calls = {"n": 0}

    def failing(**kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(svc, "audit_update", failing)
    entries = AuditEntry.objects.count()
    with pytest.raises(RuntimeError):
        execute(office, to=by_group(office))
    assert set(owners(office.open + office.closed + office.calls)) == {"leaver"}
    assert not Handover.objects.exists() and AuditEntry.objects.count() == entries


def test_a_change_since_the_preview_is_a_conflict(office):
    plan = svc.handover_preview(
        actor=office.users["supervisor"],
        project=office.main,
        from_user=office.leaver,
        mode="by_group",
        to=by_group(office),
    )
    _register(office.leaver, office.main, 8, "预览后登记", days_ago=0)
    with pytest.raises(DomainError) as exc:
        execute(office, to=by_group(office), expected=plan.counts)
    assert exc.value.code == "conflict"
    assert set(owners(office.open)) == {"leaver"} and not Handover.objects.exists()
    handover = execute(office, to=by_group(office), expected={**plan.counts, "open": 4})
    assert handover.open_count == 4


def test_a_customer_reassigned_meanwhile_is_not_taken_along(office):
    services.customer_assign(
        actor=office.users["supervisor"],
        customer=office.open[1],
        to_user=office.users["manager"],
        reason="客户要求更换顾问",
    )
    handover = execute(office, to=by_group(office))
    assert handover.open_count == 2
    assert owners(office.open) == ["consultant2", "manager", "consultant2"]


# --- pages --------------------------------------------------------------------------------


def _page_data(office, **extra):
    u = office.users
    data = {
        "from_user": office.leaver.pk,
        "mode": "by_group",
        "calls_to": u["consultant"].pk,
        "open_to": u["consultant2"].pk,
        "closed_to": u["supervisor"].pk,
        "note": "",
    }
    data.update(extra)
    return data


def test_pages_preview_confirm_and_list_as_supervisor(office, login):
    client = login("supervisor")
    base = f"/projects/{office.main.pk}/handover/"
    listing = client.get(f"/projects/{office.main.pk}/customers/")
    assert 'id="handover-link"' in listing.content.decode()
    page = client.get(base)
    assert page.status_code == 200 and "还没有离职交接记录" in page.content.decode()
    form = client.get(f"{base}new/?from_user={office.leaver.pk}")
    assert form.status_code == 200 and "吴离职" in form.content.decode()

    preview = client.post(f"{base}new/", _page_data(office, step="preview"))
    html = preview.content.decode()
    assert preview.status_code == 200 and 'id="handover-confirm"' in html
    assert "吴离职 共 7 条待交接" in html
    assert 'name="expected_open" value="3"' in html and "王一 → 周顾问" in html
    assert set(owners(office.open)) == {"leaver"}  # the preview writes nothing

    done = client.post(
        f"{base}new/",
        _page_data(office, step="confirm", expected_calls=2, expected_open=3, expected_closed=2),
    )
    handover = Handover.objects.get()
    assert done.status_code == 302 and done["Location"] == handover.get_absolute_url()
    assert owners(office.open) == ["consultant2"] * 3
    detail = client.get(done["Location"]).content.decode()
    assert "王一" in detail and "周顾问" in detail and "吴离职" in detail
    assert "吴离职" in client.get(base).content.decode()


def test_page_deactivation_by_the_supervisor(office, login):
    base = f"/projects/{office.main.pk}/handover/new/"
    client = login("supervisor")
    form = client.get(base).content.decode()
    assert 'name="deactivate"' in form and "disabled" not in form.split('name="deactivate"')[1][:40]
    preview = client.post(base, _page_data(office, step="preview", deactivate="on"))
    assert 'id="deactivate-notice"' in preview.content.decode()
    done = client.post(
        base,
        _page_data(
            office,
            step="confirm",
            deactivate="True",
            expected_calls=2,
            expected_open=3,
            expected_closed=2,
        ),
    )
    assert done.status_code == 302
    office.leaver.refresh_from_db()
    assert not office.leaver.is_active and Handover.objects.get().deactivated


def test_page_shows_the_refusal_on_the_form(office, login):
    client = login("supervisor")
    resp = client.post(
        f"/projects/{office.main.pk}/handover/new/",
        _page_data(office, step="preview", open_to=office.leaver.pk),
    )
    assert resp.status_code == 200 and "不能交接给离职顾问本人" in resp.content.decode()
    assert 'id="handover-confirm"' not in resp.content.decode()


def test_page_confirm_after_a_change_asks_for_a_new_preview(office, login):
    client = login("supervisor")
    _register(office.leaver, office.main, 8, "预览后登记", days_ago=0)
    resp = client.post(
        f"/projects/{office.main.pk}/handover/new/",
        _page_data(office, step="confirm", expected_calls=2, expected_open=3, expected_closed=2),
    )
    assert resp.status_code == 200 and "请重新预览" in resp.content.decode()
    assert not Handover.objects.exists()


def test_pages_refuse_a_consultant_and_hide_the_link(office, login):
    client = login("consultant")
    assert client.get(f"/projects/{office.main.pk}/handover/").status_code == 403
    resp = client.post(
        f"/projects/{office.main.pk}/handover/new/", _page_data(office, step="confirm")
    )
    assert resp.status_code == 403 and set(owners(office.open)) == {"leaver"}
    listing = client.get(f"/projects/{office.main.pk}/customers/")
    assert 'id="handover-link"' not in listing.content.decode()
    # A project the supervisor does not belong to is not found.
    assert login("supervisor").get(f"/projects/{office.second.pk}/handover/").status_code == 404


# --- API ----------------------------------------------------------------------------------


def _api_body(office, **extra):
    u = office.users
    body = {
        "project": office.main.pk,
        "from_user": office.leaver.pk,
        "mode": "by_group",
        "calls_to": u["consultant"].pk,
        "open_to": u["consultant2"].pk,
        "closed_to": u["supervisor"].pk,
    }
    body.update(extra)
    return body


def test_api_preview_execute_list_and_detail(office, api):
    client = api("supervisor")
    resp = client.post("/api/v1/handovers/preview/", _api_body(office), format="json")
    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert body["counts"] == {"calls": 2, "open": 3, "closed": 2} and body["total"] == 7
    groups = {g["key"]: g for g in body["groups"]}
    assert [i["name"] for i in groups["open"]["items"]] == ["王一", "王二", "王三"]
    assert {i["to"] for i in groups["closed"]["items"]} == {office.users["supervisor"].pk}
    assert not Handover.objects.exists()

    resp = client.post(
        "/api/v1/handovers/",
        _api_body(office, mode="even", expected=body["counts"])
        | {"recipients": [office.users["consultant"].pk, office.users["consultant2"].pk]},
        format="json",
    )
    assert resp.status_code == 201, resp.json()
    created = resp.json()
    assert (created["calls_count"], created["open_count"], created["closed_count"]) == (2, 3, 2)
    assert owners(office.open) == ["consultant", "consultant2", "consultant"]
    assert len(created["transfers"]) == 7
    assert {t["to"] for t in created["transfers"]} == {"李顾问", "周顾问"}

    listed = client.get("/api/v1/handovers/", {"project": office.main.pk}).json()
    assert [h["id"] for h in listed["results"]] == [created["id"]]
    detail = client.get(f"/api/v1/handovers/{created['id']}/")
    assert detail.status_code == 200 and detail.json()["from_user_name"] == "吴离职"
    candidates = client.get("/api/v1/handovers/candidates/", {"project": office.main.pk}).json()
    assert office.leaver.pk in [u["id"] for u in candidates["departing"]]
    assert office.users["finance"].pk not in [u["id"] for u in candidates["recipients"]]


def test_api_refusals_in_the_one_error_shape(office, api):
    resp = api("consultant").post("/api/v1/handovers/", _api_body(office), format="json")
    assert_error(resp, 403, "permission_denied")
    resp = api("supervisor").post(
        "/api/v1/handovers/", _api_body(office, open_to=office.leaver.pk), format="json"
    )
    assert_error(resp, 400, "invalid", fields=["open_to"])
    resp = api("supervisor").post(
        "/api/v1/handovers/", _api_body(office, open_to=999999), format="json"
    )
    assert_error(resp, 400, "invalid", fields=["open_to"])
    resp = api("supervisor").post(
        "/api/v1/handovers/",
        _api_body(office, expected={"calls": 2, "open": 1, "closed": 2}),
        format="json",
    )
    assert_error(resp, 409, "conflict")
    resp = api("supervisor").post(
        "/api/v1/handovers/", _api_body(office, deactivate="maybe"), format="json"
    )
    assert_error(resp, 400, "invalid", fields=["deactivate"])
    assert set(owners(office.open)) == {"leaver"} and not Handover.objects.exists()


def test_api_another_projects_objects_are_not_found(office, api, demo):
    second = office.second
    users = office.users
    _register(users["consultant2"], second, 7, "云栖客户", days_ago=2)
    other = svc.handover_execute(
        actor=users["director"],
        project=second,
        from_user=users["consultant2"],
        mode="by_group",
        to={"open": users["director"]},
    )
    client = api("supervisor")
    assert_error(client.get(f"/api/v1/handovers/{other.pk}/"), 404, "not_found")
    assert client.get("/api/v1/handovers/").json()["count"] == 0
    assert_error(client.get("/api/v1/handovers/", {"project": second.pk}), 404, "not_found")
    resp = client.post(
        "/api/v1/handovers/preview/",
        _api_body(office, project=second.pk, from_user=users["consultant2"].pk),
        format="json",
    )
    assert_error(resp, 404, "not_found")
    # The director sees it; the page of another project is not found for the supervisor.
    assert api("director").get(f"/api/v1/handovers/{other.pk}/").status_code == 200
    assert User.objects.get(pk=users["consultant2"].pk).is_active


# --- concurrency (PostgreSQL) -------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_handovers_of_one_consultant_at_once_move_each_customer_once(office):
    import threading

    from django.db import connection

    assert connection.vendor == "postgresql"
    barrier = threading.Barrier(2)
    results = []

    def worker(actor, to):
        try:
            barrier.wait()
            execute(office, actor=actor, to=to)
            results.append("ok")
        except DomainError as exc:
            results.append(str(exc.code))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=("supervisor", by_group(office))),
        threading.Thread(
            target=worker,
            args=("manager", by_group(office, calls="manager", open="manager", closed="manager")),
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The second waits on the row locks, then finds nothing left to hand over.
    assert sorted(results) == ["invalid", "ok"]
    assert Handover.objects.count() == 1
    everything = office.calls + office.open + office.closed
    assert "leaver" not in owners(everything)
    assert transfer_entries(office).count() == len(everything)
