"""The supervisor's daily sign-offs (seed 001 三(一) 晨检 by 10:00, 三(四)3 主管复审): a
sign-off is recorded with its figures, frozen (a correction is a new entry), late after
the deadline (time driven by explicit datetimes), missing days shown to the manager,
refused to whoever may not sign; through the services, the pages and the API."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from loupan.audit.models import AuditEntry
from loupan.core.errors import DomainError
from loupan.customers import reception
from loupan.signoffs import services
from loupan.signoffs.models import SignOff
from tests.testing import assert_error

pytestmark = pytest.mark.django_db

MORNING = "morning_check"
REVIEW = "deal_review"


def at(day, hour, minute=0):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def day():
    return timezone.localdate() - datetime.timedelta(days=3)


@pytest.fixture
def called(demo, day):
    """A call on ``day`` (the day has something to check)."""
    return reception.call_record_create(
        actor=demo["users"]["consultant"],
        project=demo["main"],
        data={
            "called_at": at(day, 11),
            "phone": "13912340099",
            "name": "张先生",
            "question": "三房价格",
            "received_by": demo["users"]["consultant"],
        },
        take_turn=False,
    )


def test_a_morning_check_sign_off_is_recorded_with_its_figures_and_audited(demo, day, called):
    users, project = demo["users"], demo["main"]
    entry = services.signoff_sign(
        actor=users["supervisor"],
        project=project,
        kind=MORNING,
        day=day,
        note="已核",
        now=at(day + datetime.timedelta(days=1), 9, 30),
    )
    assert entry.seq == 1 and entry.late is False
    assert entry.deadline == at(day + datetime.timedelta(days=1), 10)
    assert entry.figures["calls"] >= 1
    assert entry.signed_by == users["supervisor"]
    assert AuditEntry.objects.filter(
        object_type="signoffs.signoff", object_id=str(entry.pk)
    ).exists()


def test_a_sign_off_is_frozen_and_a_correction_is_a_new_entry(demo, day, called):
    users, project = demo["users"], demo["main"]
    first = services.signoff_sign(actor=users["supervisor"], project=project, kind=MORNING, day=day)
    with pytest.raises(ValidationError):
        first.note = "改"
        first.save()
    with pytest.raises(ValidationError):
        first.delete()
    with pytest.raises(DomainError) as exc:
        services.signoff_sign(actor=users["manager"], project=project, kind=MORNING, day=day)
    assert exc.value.code == "signoff_exists"
    with pytest.raises(DomainError) as exc:
        services.signoff_sign(
            actor=users["supervisor"], project=project, kind=MORNING, day=day, correction=True
        )
    assert exc.value.code == "invalid" and "note" in exc.value.fields
    fixed = services.signoff_sign(
        actor=users["supervisor"],
        project=project,
        kind=MORNING,
        day=day,
        correction=True,
        note="补登一条来电",
    )
    assert fixed.seq == 2 and fixed.is_correction
    assert SignOff.objects.get(pk=first.pk).note == ""


def test_a_correction_needs_a_signed_day_and_no_day_to_come_is_signed(demo):
    users, project = demo["users"], demo["main"]
    with pytest.raises(DomainError) as exc:
        services.signoff_sign(
            actor=users["supervisor"],
            project=project,
            kind=MORNING,
            day=timezone.localdate() - datetime.timedelta(days=9),
            correction=True,
            note="x",
        )
    assert exc.value.code == "signoff_missing"
    with pytest.raises(DomainError) as exc:
        services.signoff_sign(
            actor=users["supervisor"],
            project=project,
            kind=MORNING,
            day=timezone.localdate() + datetime.timedelta(days=1),
        )
    assert exc.value.code == "invalid" and "day" in exc.value.fields


def test_signed_after_the_deadline_is_late_and_missing_days_are_flagged(demo, day, called):
    users, project = demo["users"], demo["main"]
    next_day = day + datetime.timedelta(days=1)
    before = services.overview(project, day, day, kind=MORNING, now=at(next_day, 9, 59))
    assert [r.status for r in before] == ["open"]
    after = services.overview(project, day, day, kind=MORNING, now=at(next_day, 10, 1))
    assert [r.status for r in after] == ["missing"]
    entry = services.signoff_sign(
        actor=users["supervisor"], project=project, kind=MORNING, day=day, now=at(next_day, 10, 1)
    )
    assert entry.late is True
    rows = services.overview(project, day, day, kind=MORNING, now=at(next_day, 12))
    assert [r.status for r in rows] == ["late"]
    assert rows[0].first == entry


def test_the_projects_deadline_setting_moves_the_deadline(demo, day, called):
    users, project = demo["users"], demo["main"]
    services.signoff_deadline_set(
        actor=users["manager"], project=project, kind=MORNING, days_after=1, at="12:00"
    )
    entry = services.signoff_sign(
        actor=users["supervisor"],
        project=project,
        kind=MORNING,
        day=day,
        now=at(day + datetime.timedelta(days=1), 11),
    )
    assert entry.late is False
    with pytest.raises(DomainError) as exc:
        services.signoff_deadline_set(
            actor=users["manager"], project=project, kind=MORNING, days_after=9, at="12:00"
        )
    assert exc.value.code == "invalid" and "days_after" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        services.signoff_deadline_set(
            actor=users["supervisor"], project=project, kind=MORNING, days_after=1, at="12:00"
        )
    assert exc.value.code == "permission_denied"


def test_who_may_sign_which_kind(demo, day):
    users, project = demo["users"], demo["main"]
    for username, kind in (("consultant", MORNING), ("consultant", REVIEW), ("finance", REVIEW)):
        with pytest.raises(DomainError) as exc:
            services.signoff_sign(actor=users[username], project=project, kind=kind, day=day)
        assert exc.value.code == "permission_denied"
    with pytest.raises(DomainError) as exc:
        services.signoff_sign(actor=users["supervisor"], project=project, kind="nope", day=day)
    assert exc.value.code == "invalid" and "kind" in exc.value.fields


# --- pages ------------------------------------------------------------------------------


def test_the_morning_check_page_signs_the_day_off(login, demo, day, called):
    project = demo["main"]
    client = login("supervisor")
    page = f"/projects/{project.pk}/morning-check/?date={day:%Y-%m-%d}"
    html = client.get(page).content.decode()
    assert 'id="signoff-form"' in html
    response = client.post(
        f"/projects/{project.pk}/signoffs/sign/",
        {"kind": MORNING, "day": f"{day:%Y-%m-%d}", "note": "无误", "next": page},
    )
    assert response.status_code == 302 and response["Location"] == page
    entry = SignOff.objects.get(project=project, kind=MORNING, day=day)
    assert entry.note == "无误"
    html = client.get(page).content.decode()
    assert "无误" in html and "提交更正" in html


def test_the_review_page_lists_the_days_deals_and_signs_off(login, demo):
    from tests.deals.helpers import subscribed

    project = demo["main"]
    deal = subscribed(contract=True)
    today = timezone.localdate()
    client = login("supervisor")
    response = client.get(f"/projects/{project.pk}/deals/review/?date={today:%Y-%m-%d}")
    assert response.status_code == 200
    assert deal in response.context["reservations"]
    assert deal in response.context["subscriptions"]
    assert deal in response.context["contracts"]
    client.post(
        f"/projects/{project.pk}/signoffs/sign/",
        {"kind": REVIEW, "day": f"{today:%Y-%m-%d}"},
    )
    entry = SignOff.objects.get(project=project, kind=REVIEW, day=today)
    assert deal.pk in entry.figures["contracts_ids"]
    assert login("consultant").get(f"/projects/{project.pk}/deals/review/").status_code in (
        403,
        404,
    )


def test_the_manager_sees_late_and_missing_sign_offs(login, demo, day, called):
    project = demo["main"]
    client = login("manager")
    response = client.get(
        f"/projects/{project.pk}/signoffs/?start={day:%Y-%m-%d}&end={day:%Y-%m-%d}&status=missing"
    )
    assert response.status_code == 200
    rows = response.context["rows"]
    assert any(r.day == day and r.kind.code == MORNING for r in rows)
    home = client.get("/").content.decode()
    assert 'id="dash-signoffs-late"' in home
    bad = client.get(f"/projects/{project.pk}/signoffs/?start=2026-02-30")
    assert bad.status_code == 200 and bad.context["error"]
    assert login("consultant").get(f"/projects/{project.pk}/signoffs/").status_code == 404


# --- API --------------------------------------------------------------------------------


def test_api_signs_refuses_a_second_and_lists_the_overview(api, demo, day, called):
    project = demo["main"]
    body = {"project": project.pk, "kind": MORNING, "day": f"{day:%Y-%m-%d}", "note": "ok"}
    response = api("supervisor").post("/api/v1/signoffs/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["seq"] == 1
    assert_error(
        api("supervisor").post("/api/v1/signoffs/", body, format="json"), 409, "signoff_exists"
    )
    assert_error(
        api("consultant").post("/api/v1/signoffs/", body, format="json"), 403, "permission_denied"
    )
    assert_error(
        api("supervisor").post(
            "/api/v1/signoffs/", {**body, "correction": True, "note": ""}, format="json"
        ),
        400,
        "invalid",
        fields=["note"],
    )
    rows = api("manager").get(
        f"/api/v1/signoffs/overview/?project={project.pk}&start={day:%Y-%m-%d}&end={day:%Y-%m-%d}"
    )
    assert rows.status_code == 200
    mine = [r for r in rows.json() if r["kind"] == MORNING]
    assert mine[0]["status"] in ("on_time", "late") and mine[0]["entries"][0]["note"] == "ok"
    listed = api("manager").get(f"/api/v1/signoffs/?project={project.pk}&kind={MORNING}")
    assert listed.status_code == 200
    assert_error(
        api("consultant").get(f"/api/v1/signoffs/overview/?project={project.pk}"),
        403,
        "permission_denied",
    )
    assert_error(
        api("manager").get(f"/api/v1/signoffs/overview/?project={project.pk}&start=xx"),
        400,
        "invalid",
        fields=["start"],
    )
    deadline = api("manager").post(
        "/api/v1/signoffs/deadline/",
        {"project": project.pk, "kind": REVIEW, "days_after": 0, "at": "21:00"},
        format="json",
    )
    assert deadline.status_code == 200 and deadline.json()["days_after"] == 0
