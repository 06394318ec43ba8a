"""The office's report data (issue 15): targets 销售目标, spend per channel 推广费用 and the
report settings 报表设置 — services (allowed, each refusal's code and field, permission),
pages (as the roles that use them; a GET writes nothing) and API (one error shape)."""

import datetime
from decimal import Decimal

import pytest

from loupan.audit.models import AuditEntry
from loupan.core.errors import DomainError
from loupan.customers.models import Channel
from loupan.reports import office
from loupan.reports.daily import settings_of
from loupan.reports.models import ChannelSpend, ReportRun, ReportSettings, Target
from tests.deals.helpers import client_of, project, user
from tests.testing import api_client, assert_error, make_user

# Years the demo leaves empty (it sets this year's targets).
YEAR = 2031
MONTH = datetime.date(YEAR, 3, 1)


def refused(call, code="invalid", field=None) -> DomainError:
    with pytest.raises(DomainError) as info:
        call()
    assert info.value.code == code, info.value.as_dict()
    if field is not None:
        assert info.value.fields.get(field), info.value.as_dict()
    return info.value


def channel(where=None):
    """The project's first channel (the second demo project gets one when it has none)."""
    where = where or project()
    found = Channel.objects.filter(project=where).order_by("pk").first()
    return found or Channel.objects.create(project=where, name="其他项目的渠道")


def set_target(actor="manager", **kwargs):
    values = {
        "actor": user(actor),
        "project": project(),
        "month": MONTH,
        "amount": "1000000.00",
        "units": 3,
        "collections": "500000",
        **kwargs,
    }
    return office.target_set(**values)


# --- services: targets ----------------------------------------------------------------------


def test_target_set_creates_then_changes_the_months_target(demo):
    first = set_target(month="2031-03-17")
    assert first.month == MONTH and first.consultant is None
    assert first.amount == Decimal("1000000.00") and first.collections == Decimal("500000.00")
    assert first.updated_by == user("manager")
    assert AuditEntry.objects.filter(
        object_type="reports.target", object_id=str(first.pk), action="create"
    ).exists()
    again = set_target(month="2031-03", amount="1200000.50", units="4", collections=0)
    assert again.pk == first.pk
    again.refresh_from_db()
    assert (again.amount, again.units, again.collections) == (
        Decimal("1200000.50"),
        4,
        Decimal("0.00"),
    )
    change = AuditEntry.objects.filter(
        object_type="reports.target", object_id=str(first.pk), action="update"
    ).get()
    assert change.changes["amount"] == ["1000000.00", "1200000.50"]
    # a consultant's own target beside the project's
    mine = set_target(consultant=user("consultant"), amount="400000")
    assert mine.pk != first.pk and mine.consultant == user("consultant")
    assert Target.objects.filter(project=project(), month=MONTH).count() == 2


def test_target_set_blank_amounts_are_zero(demo):
    target = set_target(amount="", units="", collections=None)
    assert (target.amount, target.units, target.collections) == (Decimal("0.00"), 0, Decimal("0"))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "-1"),
        ("amount", "NaN"),
        ("amount", "Infinity"),
        ("amount", "1e12"),
        ("amount", "1000000000000"),
        ("amount", 1.5),
        ("amount", "12.345"),
        ("amount", "abc"),
        ("collections", "-0.01"),
        ("collections", "nan"),
        ("units", -1),
        ("units", "2.5"),
        ("units", 1.0),
        ("month", "2031-13"),
        ("month", "March"),
        ("month", "1899-01"),
        ("month", None),
    ],
)
def test_target_set_refuses_a_bad_value_naming_the_field(demo, field, value):
    refused(lambda: set_target(**{field: value}), "invalid", field)
    assert not Target.objects.filter(project=project(), month__year=YEAR).exists()


def test_target_consultant_must_sell_in_the_project(demo):
    # the planner is a member who does not sell (no deal.add)
    refused(lambda: set_target(consultant=user("planner")), "invalid", "consultant")
    # a seller of another project only
    outsider = make_user(None, (demo["second"], "consultant"))
    refused(lambda: set_target(consultant=outsider), "invalid", "consultant")
    refused(lambda: set_target(consultant=999999), "invalid", "consultant")
    # an id is as good as the user
    assert set_target(consultant=user("consultant2").pk).consultant == user("consultant2")


@pytest.mark.parametrize("who", ["planner", "consultant", "supervisor", "auditor"])
def test_target_set_needs_report_target(demo, who):
    refused(lambda: set_target(actor=who), "permission_denied")
    assert not Target.objects.filter(project=project(), month__year=YEAR).exists()


def test_target_set_outside_the_actors_project_is_refused(demo):
    refused(lambda: set_target(project=demo["second"]), "permission_denied")


def test_target_delete(demo):
    target = set_target()
    refused(lambda: office.target_delete(actor=user("planner"), target=target), "permission_denied")
    office.target_delete(actor=user("director"), target=target)
    assert not Target.objects.filter(pk=target.pk).exists()
    assert AuditEntry.objects.filter(
        object_type="reports.target", object_id=str(target.pk), action="delete"
    ).exists()


# --- services: spend ------------------------------------------------------------------------


def test_spend_set_creates_then_changes(demo):
    spend = office.spend_set(
        actor=user("planner"),
        project=project(),
        channel=channel(),
        month="2031-05-20",
        amount="18000",
        note="  户外广告 ",
    )
    assert spend.month == datetime.date(YEAR, 5, 1)
    assert spend.amount == Decimal("18000.00") and spend.note == "户外广告"
    again = office.spend_set(
        actor=user("manager"),
        project=project(),
        channel=channel().pk,
        month=datetime.date(YEAR, 5, 1),
        amount="19000.10",
    )
    assert again.pk == spend.pk
    again.refresh_from_db()
    assert again.amount == Decimal("19000.10") and again.updated_by == user("manager")
    assert again.note == ""
    assert (
        AuditEntry.objects.filter(
            object_type="reports.channelspend", object_id=str(spend.pk)
        ).count()
        == 2
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"amount": ""}, "amount"),
        ({"amount": None}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "99999999999999"}, "amount"),
        ({"note": "长" * 201}, "note"),
        ({"month": "2031/05"}, "month"),
        ({"channel": None}, "channel"),
        ({"channel": "x"}, "channel"),
    ],
)
def test_spend_set_refuses_a_bad_value(demo, kwargs, field):
    values = {
        "actor": user("planner"),
        "project": project(),
        "channel": channel(),
        "month": "2031-05",
        "amount": "100",
        **kwargs,
    }
    refused(lambda: office.spend_set(**values), "invalid", field)
    assert not ChannelSpend.objects.filter(month__year=YEAR).exists()


def test_spend_channel_of_another_project_is_refused(demo):
    refused(
        lambda: office.spend_set(
            actor=user("planner"),
            project=project(),
            channel=channel(demo["second"]),
            month="2031-05",
            amount="100",
        ),
        "invalid",
        "channel",
    )


@pytest.mark.parametrize("who", ["supervisor", "consultant", "finance"])
def test_spend_needs_report_spend(demo, who):
    refused(
        lambda: office.spend_set(
            actor=user(who), project=project(), channel=channel(), month="2031-05", amount="1"
        ),
        "permission_denied",
    )


def test_spend_delete(demo):
    spend = office.spend_set(
        actor=user("planner"), project=project(), channel=channel(), month="2031-05", amount="1"
    )
    refused(lambda: office.spend_delete(actor=user("supervisor"), spend=spend), "permission_denied")
    office.spend_delete(actor=user("planner"), spend=spend)
    assert not ChannelSpend.objects.filter(pk=spend.pk).exists()


# --- services: settings ---------------------------------------------------------------------


def test_settings_save_all_fields(demo):
    row = office.settings_save(
        actor=user("manager"),
        project=project(),
        close_time="18:05",
        recipients="a@example.com\n\n B@example.com ，c@example.com;a@example.com",
        entry_days=2,
        scan_days="5",
        follow_up_days=365,
        min_follow_ups=0,
        required_fields=["channel", "gender", "channel"],
    )
    row.refresh_from_db()
    assert row.close_time == datetime.time(18, 5)
    assert row.recipient_list() == ["a@example.com", "B@example.com", "c@example.com"]
    assert (row.entry_days, row.scan_days, row.follow_up_days, row.min_follow_ups) == (2, 5, 365, 0)
    assert row.required_fields == ["gender", "channel"]  # in the choices' order
    assert AuditEntry.objects.filter(object_type="reports.reportsettings", object_id=str(row.pk))
    # a partial save keeps the others
    office.settings_save(actor=user("director"), project=project(), entry_days=3)
    row.refresh_from_db()
    assert row.entry_days == 3 and row.close_time == datetime.time(18, 5)


def test_settings_save_creates_the_row_of_a_project_without_one(demo):
    second = demo["second"]
    ReportSettings.objects.filter(project=second).delete()
    row = office.settings_save(actor=user("director"), project=second, recipients="")
    assert row.pk and row.close_time == datetime.time(17, 30) and row.recipients == ""
    assert settings_of(second).pk == row.pk


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("recipients", "ok@example.com\nnot-an-address"),
        ("recipients", "a@b"),
        ("recipients", 42),
        ("close_time", "25:00"),
        ("close_time", "noon"),
        ("entry_days", 0),
        ("scan_days", 61),
        ("follow_up_days", 0),
        ("follow_up_days", 366),
        ("follow_up_days", "x"),
        ("min_follow_ups", -1),
        ("required_fields", ["gender", "shoe_size"]),
        ("required_fields", "gender"),
        ("colour", "blue"),
    ],
)
def test_settings_save_refuses_a_bad_value(demo, field, value):
    before = settings_of(project())
    refused(
        lambda: office.settings_save(actor=user("manager"), project=project(), **{field: value}),
        "invalid",
        field,
    )
    after = settings_of(project())
    assert (after.recipients, after.close_time) == (before.recipients, before.close_time)


def test_settings_save_names_the_bad_address(demo):
    error = refused(
        lambda: office.settings_save(
            actor=user("manager"), project=project(), recipients="ok@example.com\nwrong@@x"
        ),
        "invalid",
        "recipients",
    )
    assert "wrong@@x" in error.fields["recipients"][0]


@pytest.mark.parametrize("who", ["planner", "supervisor", "consultant"])
def test_settings_save_needs_report_configure(demo, who):
    refused(
        lambda: office.settings_save(actor=user(who), project=project(), entry_days=2),
        "permission_denied",
    )


# --- pages ----------------------------------------------------------------------------------


def base():
    return f"/projects/{project().pk}/reports/office/"


def writes():
    return AuditEntry.objects.count(), Target.objects.count(), ChannelSpend.objects.count()


def test_targets_page_as_manager(demo):
    set_target(consultant=user("consultant"), amount="2500000", units=2)
    web = client_of("manager")
    before = writes()
    page = web.get(f"{base()}targets/?year={YEAR}&month=2031-03&consultant={user('consultant').pk}")
    assert page.status_code == 200
    html = page.content.decode()
    assert writes() == before  # a GET writes nothing
    assert 'id="target-grid"' in html and 'id="target-form"' in html
    assert "李顾问" in html and "周顾问" in html and "250.00" in html  # 万元
    assert 'id="target-delete"' in html  # the prefilled target can be removed
    assert len(page.context["rows"]) == 12
    response = web.post(
        f"{base()}targets/?year={YEAR}",
        {
            "month": "2031-04",
            "consultant": "",
            "amount": "3000000",
            "units": "10",
            "collections": "1000000",
        },
    )
    assert response.status_code == 302 and response["Location"].endswith(f"?year={YEAR}")
    target = Target.objects.get(project=project(), month=datetime.date(YEAR, 4, 1), consultant=None)
    assert target.amount == Decimal("3000000.00") and target.units == 10
    # a refusal goes next to the field
    response = web.post(
        f"{base()}targets/?year={YEAR}",
        {"month": "2031-04", "consultant": "", "amount": "-1"},
    )
    assert response.status_code == 400
    assert "金额不能为负数" in response.content.decode()
    response = web.post(
        f"{base()}targets/?year={YEAR}",
        {"month": "2031-04", "consultant": str(user("planner").pk), "amount": "1"},
    )
    assert response.status_code == 400
    assert "置业顾问须是本项目的销售人员" in response.content.decode()
    # delete
    response = web.post(f"{base()}targets/?year={YEAR}", {"delete": str(target.pk)})
    assert response.status_code == 302
    assert not Target.objects.filter(pk=target.pk).exists()


def test_targets_page_other_roles(demo):
    set_target()
    # the planner reads (report.view) but sets nothing
    page = client_of("planner").get(f"{base()}targets/?year={YEAR}")
    assert page.status_code == 200
    assert 'id="target-grid"' in page.content.decode()
    assert 'id="target-form"' not in page.content.decode()
    assert (
        client_of("planner")
        .post(f"{base()}targets/", {"month": "2031-04", "amount": "1"})
        .status_code
        == 403
    )
    # a consultant (report.view_own) does not see the office's page
    assert client_of("consultant").get(f"{base()}targets/").status_code == 404
    assert (
        client_of("consultant")
        .post(f"{base()}targets/", {"month": "2031-04", "amount": "1"})
        .status_code
        == 404
    )
    # another project's page is a 404 for the manager who is not in it
    other = f"/projects/{demo['second'].pk}/reports/office/targets/"
    assert client_of("manager").get(other).status_code == 404
    assert not Target.objects.filter(month=datetime.date(YEAR, 4, 1)).exists()


def test_spend_page(demo):
    web = client_of("planner")
    before = writes()
    page = web.get(f"{base()}spend/?year={YEAR}")
    assert page.status_code == 200 and writes() == before
    html = page.content.decode()
    assert 'id="spend-grid"' in html and 'id="spend-form"' in html
    assert channel().name in html
    response = web.post(
        f"{base()}spend/?year={YEAR}",
        {"month": "2031-06", "channel": str(channel().pk), "amount": "8800.50", "note": "网络"},
    )
    assert response.status_code == 302
    spend = ChannelSpend.objects.get(project=project(), channel=channel(), month="2031-06-01")
    assert spend.amount == Decimal("8800.50")
    page = web.get(f"{base()}spend/?year={YEAR}&month=2031-06&channel={channel().pk}")
    assert "8,800.50" in page.content.decode() and 'id="spend-delete"' in page.content.decode()
    response = web.post(
        f"{base()}spend/?year={YEAR}",
        {"month": "2031-06", "channel": str(channel(demo["second"]).pk), "amount": "1"},
    )
    assert response.status_code == 400
    assert "请选择本项目的认知途径" in response.content.decode()
    # the supervisor reads; no form, a POST is refused
    page = client_of("supervisor").get(f"{base()}spend/?year={YEAR}")
    assert page.status_code == 200 and 'id="spend-form"' not in page.content.decode()
    assert (
        client_of("supervisor").post(f"{base()}spend/", {"delete": str(spend.pk)}).status_code
        == 403
    )
    assert client_of("consultant").get(f"{base()}spend/").status_code == 404
    response = web.post(f"{base()}spend/?year={YEAR}", {"delete": str(spend.pk)})
    assert response.status_code == 302 and not ChannelSpend.objects.filter(pk=spend.pk).exists()


def test_settings_page(demo):
    run = ReportRun.objects.create(
        project=project(),
        kind="daily",
        start=datetime.date(2031, 1, 5),
        end=datetime.date(2031, 1, 5),
        path="CHW/daily-2031-01-05.xlsx",
        mailed_to="boss@example.com",
    )
    failed = ReportRun.objects.create(
        project=project(),
        kind="weekly",
        start=datetime.date(2030, 12, 29),
        end=datetime.date(2031, 1, 4),
        path="CHW/weekly-2030-12-29.xlsx",
        mail_error="SMTPConnectError: refused",
    )
    web = client_of("manager")
    before = writes()
    page = web.get(f"{base()}settings/")
    assert page.status_code == 200 and writes() == before
    html = page.content.decode()
    assert 'id="settings-form"' in html and f'id="run-{run.pk}"' in html
    assert "CHW/daily-2031-01-05.xlsx" in html and "boss@example.com" in html
    assert f'id="run-{failed.pk}"' in html and "SMTPConnectError" in html
    response = web.post(
        f"{base()}settings/",
        {
            "close_time": "18:00",
            "recipients": "boss@example.com\nsales@example.com",
            "entry_days": "2",
            "scan_days": "3",
            "follow_up_days": "30",
            "min_follow_ups": "2",
            "required_fields": ["occupation", "channel"],
        },
    )
    assert response.status_code == 302
    row = settings_of(project())
    assert row.close_time == datetime.time(18, 0)
    assert row.recipient_list() == ["boss@example.com", "sales@example.com"]
    assert row.required_fields == ["occupation", "channel"]
    response = web.post(
        f"{base()}settings/",
        {
            "close_time": "18:00",
            "recipients": "boss@example",
            "entry_days": "2",
            "scan_days": "3",
            "follow_up_days": "400",
            "min_follow_ups": "2",
        },
    )
    assert response.status_code == 400
    assert "boss@example" in response.content.decode()
    # the planner reads the settings and the runs; the form is not theirs
    page = client_of("planner").get(f"{base()}settings/")
    assert page.status_code == 200
    assert 'id="settings-form"' not in page.content.decode()
    assert 'id="settings-view"' in page.content.decode()
    assert client_of("planner").post(f"{base()}settings/", {"entry_days": "1"}).status_code == 403
    assert client_of("consultant").get(f"{base()}settings/").status_code == 404
    assert settings_of(project()).entry_days == 2


# --- API ------------------------------------------------------------------------------------

TARGETS = "/api/v1/report-targets/"
SPENDS = "/api/v1/channel-spends/"


def settings_url(where):
    return f"/api/v1/report-settings/{where.pk}/"


def test_targets_api(demo):
    api = api_client(user("manager"))
    body = {
        "project": project().pk,
        "month": "2031-07",
        "consultant": user("consultant").pk,
        "amount": "600000.00",
        "units": 2,
        "collections": "300000",
    }
    response = api.post(TARGETS, body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["month"] == "2031-07-01" and data["amount"] == "600000.00"
    assert data["consultant_name"] == "李顾问"
    again = api.post(TARGETS, {**body, "amount": "700000"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == data["id"]
    listed = api.get(TARGETS, {"project": project().pk, "year": YEAR}).json()
    assert [row["id"] for row in listed["results"]] == [data["id"]]
    assert api.get(TARGETS, {"project": project().pk, "month": "2031-08"}).json()["count"] == 0
    assert api.get(TARGETS, {"month": "2031-07"}).json()["count"] == 1
    assert_error(api.get(TARGETS, {"month": "July"}), 400, "invalid", fields=["month"])
    # a year the pages do not offer, or not a whole one, names the field (was a 500)
    for year in ("0", "0.25", "-5", "99999", str(YEAR) + ".5"):
        assert_error(api.get(TARGETS, {"year": year}), 400, "invalid", fields=["year"])
    response = api.patch(f"{TARGETS}{data['id']}/", {"units": 5}, format="json")
    assert response.status_code == 200
    assert response.json()["units"] == 5 and response.json()["amount"] == "700000.00"
    response = api.put(
        f"{TARGETS}{data['id']}/", {"amount": "1", "units": 1, "collections": "1"}, format="json"
    )
    assert response.status_code == 200 and response.json()["collections"] == "1.00"
    # the consultant sees their own target, not the project's
    project_level = set_target(month="2031-07")
    mine = api_client(user("consultant")).get(TARGETS, {"year": YEAR}).json()
    assert [row["id"] for row in mine["results"]] == [data["id"]]
    assert project_level.pk not in [r["id"] for r in mine["results"]]
    both = api.get(TARGETS, {"year": YEAR, "project_level": "true"}).json()
    assert [row["id"] for row in both["results"]] == [project_level.pk]
    assert api.delete(f"{TARGETS}{data['id']}/").status_code == 204
    assert not Target.objects.filter(pk=data["id"]).exists()


def test_targets_api_refusals(demo):
    api = api_client(user("manager"))
    good = {"project": project().pk, "month": "2031-07", "amount": "1", "units": 1}
    for bad, field in [
        ({"amount": "-1"}, "amount"),
        ({"amount": 12.5}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"collections": "1e13"}, "collections"),
        ({"units": -2}, "units"),
        ({"units": "x"}, "units"),
        ({"month": "2031-13"}, "month"),
        ({"consultant": user("planner").pk}, "consultant"),
        ({"project": "abc"}, "project"),
    ]:
        body = assert_error(
            api.post(TARGETS, {**good, **bad}, format="json"), 400, "invalid", fields=[field]
        )
        assert body["message"]
    # a project the manager does not belong to
    assert_error(
        api.post(TARGETS, {**good, "project": demo["second"].pk}, format="json"),
        404,
        "not_found",
    )
    # the planner reads but may not set targets
    assert_error(
        api_client(user("planner")).post(TARGETS, good, format="json"), 403, "permission_denied"
    )
    target = set_target()
    assert_error(
        api_client(user("planner")).patch(f"{TARGETS}{target.pk}/", {"units": 1}, format="json"),
        403,
        "permission_denied",
    )
    assert_error(
        api_client(user("planner")).delete(f"{TARGETS}{target.pk}/"), 403, "permission_denied"
    )
    # a consultant does not even see the project's target
    assert_error(api_client(user("consultant")).delete(f"{TARGETS}{target.pk}/"), 404, "not_found")
    assert_error(api_client(None).get(TARGETS), 401, "not_authenticated")
    assert not Target.objects.filter(month=datetime.date(YEAR, 7, 1)).exists()


def test_channel_spends_api(demo):
    api = api_client(user("planner"))
    body = {"project": project().pk, "channel": channel().pk, "month": "2031-02", "amount": "5000"}
    response = api.post(SPENDS, body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["channel_name"] == channel().name and data["amount"] == "5000.00"
    assert api.post(SPENDS, {**body, "amount": "5100"}, format="json").status_code == 200
    listed = api.get(SPENDS, {"project": project().pk, "year": YEAR, "channel": channel().pk})
    assert [row["id"] for row in listed.json()["results"]] == [data["id"]]
    response = api.patch(f"{SPENDS}{data['id']}/", {"note": "地铁广告"}, format="json")
    assert response.json()["note"] == "地铁广告" and response.json()["amount"] == "5100.00"
    assert_error(
        api.patch(f"{SPENDS}{data['id']}/", {"amount": "-3"}, format="json"),
        400,
        "invalid",
        fields=["amount"],
    )
    assert_error(
        api.post(SPENDS, {**body, "channel": channel(demo["second"]).pk}, format="json"),
        400,
        "invalid",
        fields=["channel"],
    )
    assert_error(
        api.post(SPENDS, {**body, "amount": 1.25}, format="json"), 400, "invalid", fields=["amount"]
    )
    assert_error(
        api_client(user("supervisor")).post(SPENDS, body, format="json"), 403, "permission_denied"
    )
    # spend is the office's: a consultant lists nothing
    assert api_client(user("consultant")).get(SPENDS, {"year": YEAR}).json()["count"] == 0
    assert api.delete(f"{SPENDS}{data['id']}/").status_code == 204


def test_report_settings_api(demo):
    api = api_client(user("manager"))
    response = api.get(settings_url(project()))
    assert response.status_code == 200
    data = response.json()
    assert data["project"] == project().pk and "recipient_list" in data
    response = api.patch(
        settings_url(project()),
        {"close_time": "19:15", "recipients": "x@example.com\ny@example.com"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["close_time"] == "19:15:00"
    assert response.json()["recipient_list"] == ["x@example.com", "y@example.com"]
    response = api.put(
        settings_url(project()),
        {"follow_up_days": 60, "required_fields": ["gender"]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["follow_up_days"] == 60 and response.json()["required_fields"] == [
        "gender"
    ]
    assert response.json()["close_time"] == "19:15:00"
    body = assert_error(
        api.patch(settings_url(project()), {"recipients": "x@example.com\nbad"}, format="json"),
        400,
        "invalid",
        fields=["recipients"],
    )
    assert "bad" in body["fields"]["recipients"][0]
    assert_error(
        api.patch(settings_url(project()), {"follow_up_days": 0}, format="json"),
        400,
        "invalid",
        fields=["follow_up_days"],
    )
    assert_error(
        api.patch(settings_url(project()), {"required_fields": ["x"]}, format="json"),
        400,
        "invalid",
        fields=["required_fields"],
    )
    assert_error(
        api_client(user("planner")).patch(settings_url(project()), {"scan_days": 2}, format="json"),
        403,
        "permission_denied",
    )
    assert api_client(user("planner")).get(settings_url(project())).status_code == 200
    assert_error(api_client(user("consultant")).get(settings_url(project())), 404, "not_found")
    assert_error(api.get(settings_url(demo["second"])), 404, "not_found")
    assert settings_of(project()).scan_days == 3


def test_lists_query_count_does_not_grow_with_rows(demo, django_assert_max_num_queries):
    """The demo's year of targets (the project's and two consultants', 36 rows) and its
    spend: a bounded number of queries, whatever the number of rows."""
    this_year = Target.objects.filter(project=project()).values_list("month__year", flat=True)[0]
    web = client_of("manager")
    with django_assert_max_num_queries(15):
        assert web.get(f"{base()}targets/?year={this_year}").status_code == 200
    with django_assert_max_num_queries(12):
        assert web.get(f"{base()}spend/?year={this_year}").status_code == 200
    api = api_client(user("manager"))
    with django_assert_max_num_queries(6):
        assert api.get(TARGETS, {"project": project().pk}).json()["count"] >= 36
    with django_assert_max_num_queries(6):
        assert api.get(SPENDS, {"project": project().pk}).json()["count"] >= 1
