"""Satisfaction surveys 满意度调查 (issue 14; seed 001 七(五), seed 004 五): the
questionnaire, the round with its invitations, the owner's link (no account, one answer
per token, expired and forged tokens refused, a GET writes nothing), the results math,
who may see what, the pages and the API."""

import datetime
from decimal import Decimal

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from loupan.aftersales import complaints as c
from loupan.aftersales.models import Survey, SurveyAnswer, SurveyInvitation
from loupan.audit.models import AuditEntry
from loupan.core.errors import DomainError
from tests.deals.helpers import client_of, project, subscribed, user
from tests.testing import api_client, assert_error

pytestmark = pytest.mark.django_db


def base():
    return f"/projects/{project().pk}/aftersales/surveys/"


@pytest.fixture
def template(demo):
    service = user("service")
    t = c.template_save(actor=service, project=demo["main"], name="测试问卷")
    c.question_save(actor=service, template=t, text="服务态度", kind="scale", scale_max=5)
    c.question_save(actor=service, template=t, text="工程质量", kind="scale", scale_max=10)
    c.question_save(actor=service, template=t, text="意见", kind="text")
    return t


@pytest.fixture
def survey(template):
    deals = [subscribed(i, f"1370000660{i}", contract=True) for i in range(3)]
    return c.survey_create(
        actor=user("service"),
        project=project(),
        template=template,
        title="测试调查",
        period_start="2026-01-01",
        period_end="2026-03-31",
        expires_at=timezone.localdate() + datetime.timedelta(days=10),
        deals=deals,
    )


def answers_for(survey, scores, text=""):
    qs = c.questions_of(survey)
    out = {}
    scale = iter(scores)
    for q in qs:
        out[q.pk] = next(scale) if q.kind == "scale" else text
    return out


def token(survey, n=0):
    return c.invitation_token(survey.invitations.order_by("pk")[n])


# --- services ----------------------------------------------------------------------------------


def test_survey_create_makes_one_invitation_per_owner(survey):
    assert survey.invitations.count() == 3
    assert AuditEntry.objects.filter(object_type="aftersales.survey", object_id=str(survey.pk))


def test_survey_create_refusals(template):
    service = user("service")
    deal = subscribed(0, "13700006610", contract=True)
    pending = subscribed(1, "13700006611")  # subscribed, not contracted
    ok = {
        "actor": service,
        "project": project(),
        "template": template,
        "title": "t",
        "period_start": "2026-01-01",
        "period_end": "2026-02-01",
        "expires_at": timezone.localdate() + datetime.timedelta(days=5),
        "deals": [deal],
    }
    for change, code, field in [
        ({"deals": []}, "no_invitees", "deals"),
        ({"deals": [pending]}, "invalid", "deals"),
        ({"period_end": "2025-01-01"}, "invalid", "period_end"),
        ({"expires_at": "2020-01-01"}, "invalid", "expires_at"),
        ({"actor": user("supervisor")}, "permission_denied", None),
        ({"actor": user("consultant")}, "permission_denied", None),
    ]:
        with pytest.raises(DomainError) as exc:
            c.survey_create(**{**ok, **change})
        assert str(exc.value.code) == code, change
        if field:
            assert field in exc.value.fields
    c.template_save(
        actor=service, project=project(), template=template, name="测试问卷", is_active=False
    )
    with pytest.raises(DomainError) as exc:
        c.survey_create(**ok)
    assert str(exc.value.code) == "template_inactive"


def test_one_answer_per_token(survey):
    t = token(survey)
    c.survey_answer(token=t, answers=answers_for(survey, [5, 8], "很好"))
    with pytest.raises(DomainError) as exc:
        c.survey_answer(token=t, answers=answers_for(survey, [1, 1]))
    assert str(exc.value.code) == "already_answered" and exc.value.status == 409
    # a fresh token for the same invitation is refused too
    with pytest.raises(DomainError) as exc:
        c.survey_answer(token=token(survey), answers=answers_for(survey, [1, 1]))
    assert str(exc.value.code) == "already_answered"
    assert SurveyAnswer.objects.filter(invitation__survey=survey).count() == 3


def test_forged_altered_and_expired_tokens(survey):
    good = token(survey)
    forged = signing.dumps({"i": survey.invitations.first().pk}, salt="another-salt")
    altered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    for bad in (forged, altered, "nonsense", ""):
        with pytest.raises(DomainError) as exc:
            c.invitation_from_token(bad)
        assert str(exc.value.code) == "token_invalid" and exc.value.status == 400
    # the survey's end
    with pytest.raises(DomainError) as exc:
        c.invitation_from_token(good, now=survey.expires_at + datetime.timedelta(seconds=1))
    assert str(exc.value.code) == "token_invalid"
    Survey.objects.filter(pk=survey.pk).update(expires_at=timezone.now() - datetime.timedelta(1))
    with pytest.raises(DomainError) as exc:
        c.survey_answer(token=good, answers=answers_for(survey, [5, 5]))
    assert str(exc.value.code) == "token_invalid"
    assert not SurveyInvitation.objects.filter(survey=survey, answered_at__isnull=False).exists()


def test_token_older_than_max_age_refused(survey, monkeypatch):
    old = token(survey)
    later = timezone.now().timestamp() + c.TOKEN_MAX_AGE.total_seconds() + 60
    monkeypatch.setattr("time.time", lambda: later)
    with pytest.raises(DomainError) as exc:
        c.invitation_from_token(old, now=timezone.now() - datetime.timedelta(days=1))
    assert str(exc.value.code) == "token_invalid"


def test_answer_validation(survey):
    t = token(survey)
    qs = c.questions_of(survey)
    with pytest.raises(DomainError) as exc:
        c.survey_answer(token=t, answers={})
    assert f"q{qs[0].pk}" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        c.survey_answer(token=t, answers=answers_for(survey, [6, 5]))
    assert f"q{qs[0].pk}" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        c.survey_answer(token=t, answers=answers_for(survey, [5, 11]))
    assert f"q{qs[1].pk}" in exc.value.fields
    assert c.survey_answer(token=t, answers=answers_for(survey, [5, 10])).answered_at


def test_results_math(survey):
    # three owners: (5, 8), (4, 10), (2 on 5, 5 on 10) — and one answers nothing
    c.survey_answer(token=token(survey, 0), answers=answers_for(survey, [5, 8], "绿化不错"))
    c.survey_answer(token=token(survey, 1), answers=answers_for(survey, [4, 10], ""))
    r = c.survey_results(survey)
    assert (r["invited"], r["answered"]) == (3, 2)
    assert r["response_rate"] == Decimal("66.7")
    q1, q2, q3 = r["questions"]
    assert q1["count"] == 2 and q1["average"] == Decimal("4.50")
    assert q1["index"] == Decimal("90.0")
    assert [(d["score"], d["count"]) for d in q1["distribution"]] == [
        (5, 1),
        (4, 1),
        (3, 0),
        (2, 0),
        (1, 0),
    ]
    assert q1["distribution"][0]["share"] == Decimal("50.0")
    assert q2["average"] == Decimal("9.00") and q2["index"] == Decimal("90.0")
    assert len(q2["distribution"]) == 10
    assert [t["text"] for t in q3["texts"]] == ["绿化不错"]
    # index: (5/5 + 4/5 + 8/10 + 10/10) / 4 × 100 = 90.0; satisfied: all four ≥ 80%
    assert r["index"] == Decimal("90.0") and r["satisfied_share"] == Decimal("100.0")
    c.survey_answer(token=token(survey, 2), answers=answers_for(survey, [2, 5]))
    r = c.survey_results(survey)
    # + 2/5 and 5/10: (1 + .8 + .8 + 1 + .4 + .5) / 6 = 0.75
    assert r["index"] == Decimal("75.0")
    assert r["satisfied_share"] == Decimal("66.7")
    periods = {p["survey"].pk: p for p in c.survey_periods(user("service"), project())}
    assert periods[survey.pk]["index"] == Decimal("75.0")
    assert periods[survey.pk]["answered"] == 3


def test_question_editing_rules(survey):
    service = user("service")
    q = c.questions_of(survey)[0]
    c.survey_answer(token=token(survey), answers=answers_for(survey, [5, 5]))
    with pytest.raises(DomainError) as exc:
        c.question_delete(actor=service, question=q)
    assert str(exc.value.code) == "question_answered"
    with pytest.raises(DomainError) as exc:
        c.question_save(
            actor=service, template=survey.template, question=q, text="x", kind="scale", scale_max=7
        )
    assert str(exc.value.code) == "question_answered"
    assert (
        c.question_save(
            actor=service,
            template=survey.template,
            question=q,
            text="新措辞",
            kind="scale",
            scale_max=5,
        ).text
        == "新措辞"
    )
    with pytest.raises(DomainError) as exc:
        c.question_save(actor=user("salesadmin"), template=survey.template, text="x")
    assert str(exc.value.code) == "permission_denied"


def test_demo_survey_has_answers():
    s = Survey.objects.filter(project=project()).first()
    assert s is not None
    r = c.survey_results(s)
    assert r["answered"] >= 1 and r["index"] is not None
    assert len([q for q in r["questions"] if q["kind"] == "scale"]) == 5


# --- the owner's page ---------------------------------------------------------------------------


def test_public_page_needs_no_login_and_get_writes_nothing(survey):
    t = token(survey)
    anonymous = Client(enforce_csrf_checks=True)
    count = AuditEntry.objects.count()
    response = anonymous.get(f"/survey/{t}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="answer-survey-form"' in body and "csrfmiddlewaretoken" in body
    assert AuditEntry.objects.count() == count
    assert not SurveyInvitation.objects.filter(survey=survey, answered_at__isnull=False).exists()
    # a POST without the CSRF token is refused
    qs = c.questions_of(survey)
    data = {f"q{q.pk}": ("4" if q.kind == "scale" else "好") for q in qs}
    assert anonymous.post(f"/survey/{t}/", data).status_code == 403
    csrf = anonymous.cookies["csrftoken"].value
    response = anonymous.post(f"/survey/{t}/", {**data, "csrfmiddlewaretoken": csrf})
    assert response.status_code == 200 and 'id="survey-thanks"' in response.content.decode()
    inv = survey.invitations.order_by("pk").first()
    inv.refresh_from_db()
    assert inv.answered_at is not None
    again = anonymous.post(f"/survey/{t}/", {**data, "csrfmiddlewaretoken": csrf})
    assert again.status_code == 409 and 'data-code="already_answered"' in again.content.decode()
    assert anonymous.get(f"/survey/{t}/").status_code == 409


def test_public_page_refuses_forged_and_expired(survey):
    web = Client()
    response = web.get("/survey/forged-token/")
    assert response.status_code == 400 and 'data-code="token_invalid"' in response.content.decode()
    t = token(survey)
    Survey.objects.filter(pk=survey.pk).update(expires_at=timezone.now() - datetime.timedelta(1))
    response = web.get(f"/survey/{t}/")
    assert response.status_code == 400 and "token_invalid" in response.content.decode()


def test_public_page_shows_missing_scores(survey):
    t = token(survey)
    response = Client().post(f"/survey/{t}/", {})
    assert response.status_code == 400 and "请为" in response.content.decode()
    assert not SurveyAnswer.objects.filter(invitation__survey=survey).exists()


# --- staff pages --------------------------------------------------------------------------------


def test_service_pages(survey):
    web = client_of("service")
    c.survey_answer(token=token(survey), answers=answers_for(survey, [5, 9], "好"))
    assert survey.title in web.get(base()).content.decode()
    detail = web.get(f"{base()}{survey.pk}/")
    assert detail.status_code == 200 and 'id="survey-questions"' in detail.content.decode()
    forms = web.get(f"{base()}{survey.pk}/forms/").content.decode()
    assert forms.count('class="owner-form"') == 3 and "/survey/" in forms
    report = web.get(f"{base()}{survey.pk}/report/")
    assert report.status_code == 200 and 'id="report-index"' in report.content.decode()
    assert web.get(base() + "templates/").status_code == 200
    assert web.get(f"{base()}templates/{survey.template_id}/").status_code == 200
    assert web.get(base() + "new/").status_code == 200


def test_create_survey_and_edit_template_through_pages(template):
    web = client_of("service")
    deal = subscribed(0, "13700006620", contract=True)
    today = timezone.localdate()
    response = web.post(
        base() + "new/",
        {
            "template": template.pk,
            "title": "页面调查",
            "period_start": "2026-01-01",
            "period_end": "2026-06-30",
            "expires_at": f"{today + datetime.timedelta(days=9)}",
            "deals": [deal.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    s = Survey.objects.get(title="页面调查")
    assert list(s.invitations.values_list("deal_id", flat=True)) == [deal.pk]
    url = f"{base()}templates/{template.pk}/"
    assert (
        web.post(url + "questions/", {"text": "新题", "kind": "scale", "scale_max": 5}).status_code
        == 302
    )
    assert template.questions.filter(text="新题").exists()
    response = web.post(base() + "templates/", {"name": "第二份问卷", "is_active": "on"})
    assert response.status_code == 302


def test_survey_permissions(survey):
    consultant = client_of("consultant")
    for url in ("", f"{survey.pk}/", "templates/", f"{survey.pk}/report/"):
        assert consultant.get(base() + url).status_code == 404, url
    planner = client_of("planner")
    assert planner.get(base()).status_code == 404
    auditor = client_of("auditor")
    assert auditor.get(f"{base()}{survey.pk}/").status_code == 200
    assert auditor.get(f"{base()}{survey.pk}/forms/").status_code == 403
    assert auditor.get(base() + "new/").status_code == 403
    salesadmin = client_of("salesadmin")
    assert (
        salesadmin.post(
            f"{base()}templates/{survey.template_id}/questions/", {"text": "x", "kind": "text"}
        ).status_code
        == 403
    )


# --- API ----------------------------------------------------------------------------------------


def test_api_surveys_and_templates(demo):
    api = api_client(user("service"))
    response = api.post(
        "/api/v1/survey-templates/",
        {
            "project": demo["main"].pk,
            "name": "API问卷",
            "questions": [{"text": "总体满意度"}, {"text": "建议", "kind": "text"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    tpl = response.json()
    assert [q["kind"] for q in tpl["questions"]] == ["scale", "text"]
    added = api.post(
        f"/api/v1/survey-templates/{tpl['id']}/questions/",
        {"text": "物业", "scale_max": 10},
        format="json",
    )
    assert added.status_code == 201 and len(added.json()["questions"]) == 3
    deal = subscribed(0, "13700006630", contract=True)
    created = api.post(
        "/api/v1/surveys/",
        {
            "project": demo["main"].pk,
            "template": tpl["id"],
            "title": "API调查",
            "period_start": "2026-01-01",
            "period_end": "2026-02-01",
            "expires_at": (timezone.now() + datetime.timedelta(days=3)).isoformat(),
            "deals": [deal.pk],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["invited"] == 1 and body["results"]["answered"] == 0
    s = Survey.objects.get(pk=body["id"])
    c.survey_answer(token=token(s), answers=answers_for(s, [5, 8], "好"))
    detail = api.get(f"/api/v1/surveys/{s.pk}/").json()
    assert detail["results"]["index"] == "90.0"
    assert detail["results"]["questions"][0]["average"] == "5.00"
    assert_error(
        api.post(
            "/api/v1/surveys/",
            {
                "project": demo["main"].pk,
                "template": tpl["id"],
                "title": "x",
                "period_start": "2026-01-01",
                "period_end": "2026-02-01",
                "expires_at": (timezone.now() + datetime.timedelta(days=3)).isoformat(),
                "deals": [],
            },
            format="json",
        ),
        400,
        "no_invitees",
        fields=["deals"],
    )
    consultant = api_client(user("consultant"))
    assert_error(consultant.get(f"/api/v1/surveys/{s.pk}/"), 404, "not_found")
    assert_error(
        api_client(user("salesadmin")).post(
            f"/api/v1/survey-templates/{tpl['id']}/questions/", {"text": "x"}, format="json"
        ),
        403,
        "permission_denied",
    )
