"""Complaints 投诉 (issue 14 "Complaints"; seeds 001 七(四), 002 第五章, 004 三(四)): the
working-day deadlines across a holiday and a make-up working day, the life of a complaint
and each refusal with its code, the daily escalation, the analysis figures, who may see
and do what, the pages and the API."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loupan.aftersales import complaints as c
from loupan.aftersales.models import Complaint, ComplaintCategory
from loupan.audit.models import AuditEntry
from loupan.core.errors import DomainError
from loupan.core.models import CalendarDay
from tests.deals.helpers import client_of, project, subscribed, user
from tests.testing import api_client, assert_error

pytestmark = pytest.mark.django_db


def at(day: datetime.date, hour=10):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def base():
    return f"/projects/{project().pk}/aftersales/complaints/"


@pytest.fixture
def category(demo):
    return c.category_save(
        actor=user("service"),
        project=demo["main"],
        name="测试类别",
        first_answer_days=1,
        final_answer_days=5,
    )


@pytest.fixture
def calendar_2023(db):
    """Week of 2023-01-09: Monday a holiday, Saturday 14th a make-up working day 调休."""
    CalendarDay.objects.filter(
        day__range=(datetime.date(2023, 1, 1), datetime.date(2023, 1, 31))
    ).delete()
    CalendarDay.objects.create(day=datetime.date(2023, 1, 9), working=False, name="测试假日")
    CalendarDay.objects.create(day=datetime.date(2023, 1, 14), working=True, name="测试调休")


def log(category, received=None, deal=None, **kw):
    return c.complaint_log(
        actor=user("service"),
        project=project(),
        channel=kw.pop("channel", "phone"),
        category=category,
        complainant=kw.pop("complainant", "张业主"),
        contact=kw.pop("contact", "13800001234"),
        description=kw.pop("description", "厨房墙面开裂"),
        deal=deal,
        received_at=received,
        **kw,
    )


# --- deadlines in working days ------------------------------------------------------------


def test_friday_plus_one_working_day_is_monday(category):
    friday = datetime.date(2024, 3, 1)
    assert friday.weekday() == 4
    CalendarDay.objects.filter(day__range=(friday, friday + datetime.timedelta(days=10))).delete()
    complaint = log(category, at(friday))
    assert complaint.first_due == datetime.date(2024, 3, 4)
    assert complaint.final_due == datetime.date(2024, 3, 8)


def test_due_dates_skip_a_holiday_and_count_a_make_up_day(category, calendar_2023):
    friday = datetime.date(2023, 1, 6)
    complaint = log(category, at(friday))
    # Monday 9th is a holiday: the first answer is due Tuesday
    assert complaint.first_due == datetime.date(2023, 1, 10)
    # Tue, Wed, Thu, Fri, then Saturday 14th (调休) is the 5th working day
    assert complaint.final_due == datetime.date(2023, 1, 14)


def test_category_days_come_from_the_category(demo, calendar_2023):
    cat = c.category_save(
        actor=user("service"),
        project=demo["main"],
        name="三天类别",
        first_answer_days=0,
        final_answer_days=3,
    )
    complaint = log(cat, at(datetime.date(2023, 1, 6)))
    assert complaint.first_due == datetime.date(2023, 1, 6)
    assert complaint.final_due == datetime.date(2023, 1, 12)


# --- the life of a complaint -----------------------------------------------------------------


def test_lifecycle_log_assign_answer_resolve_visit(category):
    deal = subscribed(0, "13700005501", contract=True)
    complaint = log(category, deal=deal, complainant="")
    assert complaint.number.startswith("TS-")
    assert complaint.complainant == deal.customer.name
    assert complaint.unit_id == deal.unit_id
    assert complaint.status == "open"
    assert complaint.department == category.department
    service = user("service")
    complaint = c.complaint_assign(
        actor=service, complaint=complaint, department="construction", assigned_to=service
    )
    assert (complaint.department, complaint.assigned_to_id) == ("construction", service.pk)
    complaint = c.complaint_answer(actor=service, complaint=complaint, text="已通知工程部核查")
    assert complaint.status == "answered" and complaint.first_answered_at
    complaint = c.complaint_resolve(
        actor=service,
        complaint=complaint,
        resolution="已修补",
        proposal="加强墙面养护",
        proposal_to="construction",
    )
    assert complaint.status == "resolved" and complaint.resolved_at
    complaint = c.complaint_visit(actor=service, complaint=complaint, note="满意", satisfaction=4)
    assert complaint.status == "closed" and complaint.satisfaction == 4
    assert c.archive_of(service, project()).filter(pk=complaint.pk).exists()
    actions = AuditEntry.objects.filter(
        object_type="aftersales.complaint", object_id=str(complaint.pk)
    ).values_list("action", flat=True)
    assert list(actions).count("update") == 4 and "create" in actions


def test_numbers_are_gapless(category):
    a, b = log(category), log(category)
    assert int(b.number.rsplit("-", 1)[1]) == int(a.number.rsplit("-", 1)[1]) + 1


def test_resolving_an_open_complaint_counts_as_first_answer(category):
    complaint = log(category)
    complaint = c.complaint_resolve(
        actor=user("service"), complaint=complaint, resolution="当场解决"
    )
    assert complaint.first_answer == "当场解决" and complaint.first_answered_at


@pytest.mark.parametrize(
    "call, code, field",
    [
        (
            lambda x: c.complaint_visit(
                actor=user("service"), complaint=x, note="n", satisfaction=5
            ),
            "complaint_status",
            "status",
        ),
        (
            lambda x: c.complaint_answer(actor=user("service"), complaint=x, text=""),
            "invalid",
            "text",
        ),
        (
            lambda x: c.complaint_resolve(
                actor=user("service"), complaint=x, resolution="r", proposal="p"
            ),
            "invalid",
            "proposal_to",
        ),
        (
            lambda x: c.complaint_assign(actor=user("service"), complaint=x, department="nowhere"),
            "invalid",
            "department",
        ),
        (
            lambda x: c.complaint_assign(
                actor=user("service"), complaint=x, department="design", assigned_to=user("planner")
            ),
            "invalid",
            "assigned_to",
        ),
        (
            lambda x: c.complaint_answer(actor=user("consultant"), complaint=x, text="t"),
            "permission_denied",
            None,
        ),
        (
            lambda x: c.complaint_answer(actor=user("supervisor"), complaint=x, text="t"),
            "permission_denied",
            None,
        ),
    ],
)
def test_refusals(category, call, code, field):
    complaint = log(category)
    with pytest.raises(DomainError) as exc:
        call(complaint)
    assert str(exc.value.code) == code
    if field:
        assert field in exc.value.fields
    complaint.refresh_from_db()
    assert complaint.status == "open" and complaint.department == category.department


def test_answer_twice_and_visit_twice_refused(category):
    service = user("service")
    complaint = c.complaint_answer(actor=service, complaint=log(category), text="a")
    with pytest.raises(DomainError) as exc:
        c.complaint_answer(actor=service, complaint=complaint, text="b")
    assert exc.value.code == c.ComplaintError.STATUS_TRANSITION
    complaint = c.complaint_resolve(actor=service, complaint=complaint, resolution="r")
    with pytest.raises(DomainError) as exc:
        c.complaint_visit(actor=service, complaint=complaint, note="n", satisfaction=6)
    assert str(exc.value.code) == "invalid" and "satisfaction" in exc.value.fields
    c.complaint_visit(actor=service, complaint=complaint, note="n", satisfaction=5)
    with pytest.raises(DomainError) as exc:
        c.complaint_visit(actor=service, complaint=complaint, note="n", satisfaction=5)
    assert str(exc.value.code) == "complaint_status"
    with pytest.raises(DomainError) as exc:
        c.complaint_assign(actor=service, complaint=complaint, department="design")
    assert str(exc.value.code) == "complaint_status"


def test_log_refusals(demo, category):
    service = user("service")
    with pytest.raises(DomainError) as exc:
        c.complaint_log(
            actor=user("consultant"),
            project=demo["main"],
            channel="phone",
            category=category,
            complainant="x",
            description="y",
        )
    assert str(exc.value.code) == "permission_denied"
    other = ComplaintCategory.objects.create(project=demo["second"], name="别的项目")
    for kwargs, field in [
        ({"category": other}, "category"),
        ({"channel": "pigeon"}, "channel"),
        ({"description": " "}, "description"),
        ({"complainant": ""}, "complainant"),
        ({"deal": 999999}, "deal"),
        ({"received_at": timezone.localdate() + datetime.timedelta(days=2)}, "received_at"),
    ]:
        data = {
            "actor": service,
            "project": demo["main"],
            "channel": "phone",
            "category": category,
            "complainant": "x",
            "description": "y",
            **kwargs,
        }
        with pytest.raises(DomainError) as exc:
            c.complaint_log(**data)
        assert str(exc.value.code) == "invalid", kwargs
        assert field in exc.value.fields, (kwargs, exc.value.fields)


def test_category_rules(demo):
    service = user("service")
    with pytest.raises(DomainError) as exc:
        c.category_save(actor=service, project=demo["main"], name="工程质量")
    assert exc.value.code == c.ComplaintError.CATEGORY_EXISTS
    with pytest.raises(DomainError) as exc:
        c.category_save(
            actor=service,
            project=demo["main"],
            name="新类",
            first_answer_days=5,
            final_answer_days=2,
        )
    assert "final_answer_days" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        c.category_save(actor=user("supervisor"), project=demo["main"], name="新类")
    assert str(exc.value.code) == "permission_denied"
    # sales admin manages complaints but does not configure them
    with pytest.raises(DomainError) as exc:
        c.category_save(actor=user("salesadmin"), project=demo["main"], name="新类")
    assert str(exc.value.code) == "permission_denied"


# --- escalation -------------------------------------------------------------------------------


def test_escalation_job_once(category):
    c.complaints_escalate()  # whatever the demo left pending
    overdue = log(category, at(timezone.localdate() - datetime.timedelta(days=20)))
    fresh = log(category)
    answered_late = c.complaint_answer(
        actor=user("service"),
        complaint=log(category, at(timezone.localdate() - datetime.timedelta(days=30))),
        text="a",
    )
    assert c.complaints_escalate() == {"complaints_escalated": 2}
    for x in (overdue, fresh, answered_late):
        x.refresh_from_db()
    assert overdue.escalated_at and answered_late.escalated_at and fresh.escalated_at is None
    assert c.complaints_escalate() == {"complaints_escalated": 0}
    entry = AuditEntry.objects.filter(object_id=str(overdue.pk), object_type="aftersales.complaint")
    assert entry.filter(extra__job="complaints_escalate").count() == 1
    listed = c.ComplaintFilterSet(
        {"escalated": "true"},
        queryset=c.complaints_of(user("manager"), project()),
        project=project(),
    ).qs
    assert {overdue.pk, answered_late.pk} <= set(listed.values_list("pk", flat=True))
    assert fresh.pk not in set(listed.values_list("pk", flat=True))


def test_escalation_with_a_given_now(category):
    c.complaints_escalate()
    received = timezone.localdate() - datetime.timedelta(days=3)
    x = log(category, at(received))
    before_due = at(x.first_due, 12)
    assert c.complaints_escalate(now=before_due)["complaints_escalated"] == 0
    after = at(x.final_due + datetime.timedelta(days=1), 12)
    assert c.complaints_escalate(now=after)["complaints_escalated"] >= 1


def test_demo_has_open_overdue_and_closed():
    qs = Complaint.objects.filter(project=project())
    assert qs.filter(status="open", escalated_at__isnull=False).exists()
    assert qs.filter(status="open", escalated_at__isnull=True).exists()
    assert qs.filter(status="closed", satisfaction__isnull=False).exists()
    assert qs.filter(status="answered").exists() and qs.filter(status="resolved").exists()


# --- analysis ---------------------------------------------------------------------------------


def test_analysis_figures(category, calendar_2023):
    service = user("service")
    deal = subscribed(1, "13700005502", contract=True)
    building = deal.unit.building
    # received Friday 6th: first due Tue 10th, final due Sat 14th (调休)
    a = log(category, at(datetime.date(2023, 1, 6)), deal=deal)
    c.complaint_answer(
        actor=service, complaint=a, text="x", answered_at=at(datetime.date(2023, 1, 10))
    )
    c.complaint_resolve(
        actor=service, complaint=a, resolution="r", resolved_at=at(datetime.date(2023, 1, 13))
    )
    c.complaint_visit(actor=service, complaint=a, note="n", satisfaction=5)
    # received Wed 11th: first due Thu 12th; answered Fri 13th (late, 2 working days)
    b = log(category, at(datetime.date(2023, 1, 11)))
    c.complaint_answer(
        actor=service, complaint=b, text="x", answered_at=at(datetime.date(2023, 1, 13))
    )
    c.complaint_resolve(
        actor=service, complaint=b, resolution="r", resolved_at=at(datetime.date(2023, 1, 16))
    )
    c.complaint_visit(actor=service, complaint=b, note="n", satisfaction=2)
    # received 20th and never answered: overdue
    log(category, at(datetime.date(2023, 1, 20)))
    result = c.analysis(service, project(), start="2023-01", end="2023-01")
    total = result["total"]
    assert total["count"] == 3 and total["closed"] == 2
    assert total["overdue"] == 2 and total["overdue_share"] == Decimal("66.7")
    # first answers: a 1 working day (Tue, Monday the holiday), b 2 → 1.5
    assert total["avg_first_days"] == Decimal("1.5")
    # final: a Tue..Fri = 4; b Thu, Fri, Sat(调休), Mon = 4 → 4.0
    assert total["avg_final_days"] == Decimal("4.0")
    assert total["avg_satisfaction"] == Decimal("3.50")
    (row,) = [r for r in result["by_category"] if r["label"] == "测试类别"]
    assert row["count"] == 3
    buildings = {r["label"]: r for r in result["by_building"]}
    assert buildings[building.name]["count"] == 1
    assert buildings["未关联房间"]["count"] == 2
    assert [m["key"] for m in result["by_month"]] == ["2023-01"]
    with pytest.raises(DomainError):
        c.analysis(service, project(), start="2023-05", end="2023-01")


def test_proposals_list(category):
    service = user("service")
    x = c.complaint_resolve(
        actor=service,
        complaint=log(category),
        resolution="r",
        proposal="改进排水",
        proposal_to="design",
    )
    assert x in list(c.proposals_of(service, project(), "design"))
    assert x not in list(c.proposals_of(service, project(), "property"))


# --- pages --------------------------------------------------------------------------------------


def test_service_logs_and_closes_through_the_pages(category):
    web = client_of("service")
    deal = subscribed(2, "13700005503", contract=True)
    response = web.get(base() + "new/")
    assert response.status_code == 200 and b'id="complaint-form"' in response.content
    response = web.post(
        base() + "new/",
        {
            "channel": "visit",
            "category": category.pk,
            "severity": "medium",
            "deal": deal.pk,
            "description": "窗户漏风",
            "contact": "13800001111",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    x = Complaint.objects.filter(deal=deal).get()
    url = f"{base()}{x.pk}/"
    page = web.get(url).content.decode()
    for form_id in ("assign-form", "answer-form", "resolve-form"):
        assert f'id="{form_id}"' in page
    assert 'id="visit-form"' not in page
    assert (
        web.post(
            url + "assign/", {"department": "construction", "assigned_to": user("service").pk}
        ).status_code
        == 302
    )
    assert web.post(url + "answer/", {"text": "已收到"}).status_code == 302
    # a refusal is shown next to the field, nothing written
    response = web.post(url + "resolve/", {"resolution": "已修", "proposal": "改进"})
    assert response.status_code == 400 and "改进建议送达" in response.content.decode()
    assert web.post(url + "resolve/", {"resolution": "已修"}).status_code == 302
    assert web.post(url + "visit/", {"note": "满意", "satisfaction": "5"}).status_code == 302
    x.refresh_from_db()
    assert x.status == "closed" and x.satisfaction == 5
    assert web.get(url + "print/").status_code == 200
    assert x.number in web.get(base() + "archive/").content.decode()


def test_list_filters_badges_and_queries(category):
    web = client_of("manager")
    c.complaints_escalate()
    x = log(category, at(timezone.localdate() - datetime.timedelta(days=20)))
    c.complaints_escalate()
    response = web.get(base() + "?escalated=true")
    body = response.content.decode()
    assert response.status_code == 200 and x.number in body and 'data-flag="escalated"' in body
    assert x.number in web.get(base() + "?overdue=true").content.decode()
    assert x.number not in web.get(base() + "?overdue=false").content.decode()
    month = f"{timezone.localdate() - datetime.timedelta(days=20):%Y-%m}"
    assert x.number in web.get(base() + f"?month={month}").content.decode()
    assert web.get(base() + "?month=bad").status_code == 200
    for _i in range(5):
        log(category)
    with CaptureQueriesContext(connection) as few:
        web.get(base())
    for _i in range(10):
        log(category)
    with CaptureQueriesContext(connection) as more:
        web.get(base())
    assert len(more) == len(few)


def test_export_xlsx_is_a_post_and_audited(category):
    web = client_of("service")
    log(category)
    assert web.get(base() + "?format=xlsx")["Content-Type"].startswith("text/html")
    response = web.post(base() + "?format=xlsx")
    assert response.status_code == 200 and "spreadsheetml" in response["Content-Type"]
    assert AuditEntry.objects.filter(action="export", object_type="aftersales.complaint").exists()


def test_consultant_reads_own_buyers_complaints_only(category):
    own = subscribed(3, "13700005504", contract=True)  # the demo consultant's deal
    mine = log(category, deal=own)
    others = Complaint.objects.filter(project=project()).exclude(
        deal__consultant=user("consultant")
    )
    other = others.first() or log(category)
    web = client_of("consultant")
    page = web.get(base())
    assert page.status_code == 200
    assert mine.number in page.content.decode() and other.number not in page.content.decode()
    detail = web.get(f"{base()}{mine.pk}/")
    assert detail.status_code == 200
    assert 'id="answer-form"' not in detail.content.decode()
    assert web.get(f"{base()}{other.pk}/").status_code == 404
    assert web.post(f"{base()}{mine.pk}/answer/", {"text": "x"}).status_code == 403
    assert web.get(base() + "new/").status_code == 403
    assert web.get(base() + "analysis/").status_code == 404
    assert web.post(base() + "?format=xlsx").status_code == 403
    mine.refresh_from_db()
    assert mine.status == "open"


def test_planner_gets_404(category):
    x = log(category)
    web = client_of("planner")
    for url in ("", f"{x.pk}/", "new/", "analysis/", "categories/", "archive/"):
        assert web.get(base() + url).status_code == 404, url
    assert web.post(f"{base()}{x.pk}/answer/", {"text": "x"}).status_code == 404


def test_supervisor_reads_but_does_not_act(category):
    x = log(category)
    web = client_of("supervisor")
    assert web.get(f"{base()}{x.pk}/").status_code == 200
    assert web.post(f"{base()}{x.pk}/answer/", {"text": "x"}).status_code == 403
    assert web.get(base() + "analysis/").status_code == 200


def test_get_writes_nothing(category):
    x = log(category, at(timezone.localdate() - datetime.timedelta(days=20)))
    web = client_of("service")
    web.get(base())
    count = AuditEntry.objects.count()
    for url in ("", f"{x.pk}/", "new/", "analysis/", "categories/", "archive/", f"{x.pk}/print/"):
        assert web.get(base() + url).status_code == 200, url
    assert AuditEntry.objects.count() == count
    x.refresh_from_db()
    assert x.escalated_at is None


def test_analysis_and_categories_pages(category):
    web = client_of("service")
    response = web.get(base() + "analysis/?start=2023-01&end=2023-12")
    assert response.status_code == 200 and 'id="by-category"' in response.content.decode()
    assert web.get(base() + "analysis/?start=bad").status_code == 400
    response = web.post(
        base() + "categories/",
        {
            "name": "绿化",
            "department": "property",
            "first_answer_days": 1,
            "final_answer_days": 3,
            "sort_order": 90,
        },
    )
    assert response.status_code == 302
    cat = ComplaintCategory.objects.get(project=project(), name="绿化")
    response = web.post(
        f"{base()}categories/{cat.pk}/",
        {
            "name": "绿化",
            "department": "property",
            "first_answer_days": 4,
            "final_answer_days": 3,
            "sort_order": 90,
        },
    )
    assert response.status_code == 400
    assert (
        client_of("salesadmin")
        .post(
            base() + "categories/",
            {
                "name": "x",
                "department": "property",
                "first_answer_days": 1,
                "final_answer_days": 3,
            },
        )
        .status_code
        == 403
    )


# --- API ----------------------------------------------------------------------------------------


def test_api_lifecycle_and_errors(category):
    api = api_client(user("service"))
    deal = subscribed(4, "13700005505", contract=True)
    response = api.post(
        "/api/v1/complaints/",
        {
            "project": project().pk,
            "channel": "online",
            "category": category.pk,
            "deal": deal.pk,
            "description": "门锁损坏",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "open" and body["can"]["answer"] and body["number"].startswith("TS-")
    pk = body["id"]
    assert_error(
        api.post(
            f"/api/v1/complaints/{pk}/visit/", {"note": "n", "satisfaction": 5}, format="json"
        ),
        409,
        "complaint_status",
    )
    assert (
        api.post(
            f"/api/v1/complaints/{pk}/assign/", {"department": "repair"}, format="json"
        ).status_code
        == 200
    )
    assert (
        api.post(f"/api/v1/complaints/{pk}/answer/", {"text": "收到"}, format="json").json()[
            "status"
        ]
        == "answered"
    )
    assert_error(
        api.post(
            f"/api/v1/complaints/{pk}/resolve/", {"resolution": "r", "proposal": "p"}, format="json"
        ),
        400,
        "invalid",
        fields=["proposal_to"],
    )
    assert (
        api.post(
            f"/api/v1/complaints/{pk}/resolve/", {"resolution": "已换锁"}, format="json"
        ).status_code
        == 200
    )
    assert_error(
        api.post(
            f"/api/v1/complaints/{pk}/visit/", {"note": "n", "satisfaction": 9}, format="json"
        ),
        400,
        "invalid",
        fields=["satisfaction"],
    )
    closed = api.post(
        f"/api/v1/complaints/{pk}/visit/", {"note": "n", "satisfaction": 4}, format="json"
    ).json()
    assert closed["status"] == "closed" and closed["satisfaction"] == 4
    listed = api.get(f"/api/v1/complaints/?project={project().pk}&status=closed").json()
    assert pk in {r["id"] for r in listed["results"]}
    analysis = api.get(f"/api/v1/complaints/analysis/?project={project().pk}").json()
    assert analysis["total"]["count"] >= 1
    assert_error(
        api.post("/api/v1/complaints/", {"project": project().pk}, format="json"),
        400,
        "invalid",
        fields=["channel"],
    )


def test_api_permissions(category):
    x = log(category)
    consultant = api_client(user("consultant"))
    assert_error(consultant.get(f"/api/v1/complaints/{x.pk}/"), 404, "not_found")
    own = log(category, deal=subscribed(5, "13700005506", contract=True))
    assert consultant.get(f"/api/v1/complaints/{own.pk}/").json()["can"] == {
        "assign": False,
        "answer": False,
        "resolve": False,
        "visit": False,
    }
    assert_error(
        consultant.post(f"/api/v1/complaints/{own.pk}/answer/", {"text": "t"}, format="json"),
        403,
        "permission_denied",
    )
    planner = api_client(user("planner"))
    assert planner.get("/api/v1/complaints/").json()["results"] == []
    assert_error(planner.get(f"/api/v1/complaints/{x.pk}/"), 404, "not_found")
    assert_error(
        consultant.get(f"/api/v1/complaints/analysis/?project={project().pk}"),
        403,
        "permission_denied",
    )


def test_api_categories(demo):
    api = api_client(user("service"))
    response = api.post(
        "/api/v1/complaint-categories/",
        {
            "project": demo["main"].pk,
            "name": "绿化",
            "department": "property",
            "first_answer_days": 1,
            "final_answer_days": 3,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    assert (
        api.patch(
            f"/api/v1/complaint-categories/{pk}/", {"final_answer_days": 6}, format="json"
        ).json()["final_answer_days"]
        == 6
    )
    assert_error(
        api.post(
            "/api/v1/complaint-categories/",
            {
                "project": demo["main"].pk,
                "name": "绿化",
                "department": "property",
                "first_answer_days": 1,
                "final_answer_days": 3,
            },
            format="json",
        ),
        409,
        "category_exists",
    )
    assert_error(
        api_client(user("salesadmin")).patch(
            f"/api/v1/complaint-categories/{pk}/", {"final_answer_days": 7}, format="json"
        ),
        403,
        "permission_denied",
    )


def test_a_complaint_turns_into_a_repair_order(demo):
    from loupan.aftersales.models import Complaint, RepairOrder
    from tests.deals.helpers import client_of, project

    complaint = (
        Complaint.objects.filter(project=project(), deal__isnull=False)
        .exclude(status="closed")
        .first()
    )
    response = client_of("service").post(
        f"/projects/{project().pk}/aftersales/complaints/{complaint.pk}/repair/",
        {"description": "卫生间渗水，需重做防水"},
    )
    assert response.status_code == 302
    repair = RepairOrder.objects.get(complaint=complaint)
    assert repair.source == "complaint" and repair.number.startswith("WX-")
    page = client_of("service").get(
        f"/projects/{project().pk}/aftersales/complaints/{complaint.pk}/"
    )
    assert repair.number in page.content.decode()
    assert client_of("consultant").post(
        f"/projects/{project().pk}/aftersales/complaints/{complaint.pk}/repair/",
        {"description": "x"},
    ).status_code in (403, 404)
