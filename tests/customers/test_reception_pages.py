"""The front desk, roster, call and morning-check pages through their real URLs, as the
roles that use them."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from loupan.customers import reception as svc
from loupan.customers.models import CallRecord, Customer, Reception, RosterEntry


@pytest.fixture
def project(demo):
    return demo["main"]


@pytest.fixture
def rostered(demo, project):
    users = demo["users"]
    for post in ("floor", "phone"):
        svc.roster_set(
            actor=users["supervisor"],
            project=project,
            date=timezone.localdate(),
            post=post,
            user_ids=[users["consultant"].pk, users["consultant2"].pk],
        )
    return users


def url(name, project, *args):
    return reverse(f"customers:{name}", args=[project.pk, *args])


def test_desk_shows_next_and_takes_visitors(login, project, rostered):
    client = login("consultant")
    page = client.get(url("reception_desk", project))
    assert page.status_code == 200
    html = page.content.decode()
    assert "前台接待" in html and f'data-next-user="{rostered["consultant"].pk}"' in html
    resp = client.post(url("reception_take", project), {"post": "floor"})
    assert resp.status_code == 302
    page = client.get(url("reception_desk", project))
    assert f'data-next-user="{rostered["consultant2"].pk}"' in page.content.decode()
    assert "李顾问" in page.content.decode()  # in the day's log


def test_desk_shows_away_as_skipped(login, project, rostered):
    entry = RosterEntry.objects.get(
        project=project, date=timezone.localdate(), post="floor", user=rostered["consultant"]
    )
    entry.away = True
    entry.save()
    html = login("supervisor").get(url("reception_desk", project)).content.decode()
    assert "暂离跳过" in html and "李顾问" in html


def test_take_call_opens_the_call_form(login, project, rostered):
    client = login("consultant")
    resp = client.post(url("reception_take", project), {"post": "phone"})
    call = CallRecord.objects.filter(project=project).latest("pk")
    assert resp.status_code == 302 and resp.url == url("call_edit", project, call.pk)
    assert client.get(resp.url).status_code == 200
    resp = client.post(
        resp.url,
        {
            "called_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "phone": "13912345670",
            "name": "钱",
        },
    )
    assert resp.status_code == 302
    call.refresh_from_db()
    assert call.phone == "+8613912345670" and call.name == "钱"


def test_returning_customer_search_and_take(login, project, rostered):
    customer = Customer.objects.create(
        project=project,
        owner=rostered["consultant2"],
        name="回头客",
        phone="+8619912348765",
        phone_tail="8765",
        wanted_layout="两房",
        registered_at=timezone.now() - datetime.timedelta(days=2),
    )
    client = login("consultant")
    html = client.get(url("reception_desk", project), {"tail": "8765"}).content.decode()
    assert "回头客" in html and "199****8765" in html and "19912348765" not in html
    client.post(
        url("reception_take", project), {"post": "floor", "returning_customer": customer.pk}
    )
    r = Reception.objects.filter(project=project).latest("pk")
    assert r.consultant == rostered["consultant2"] and r.by_turn is False


def test_roster_page_supervisor_sets_consultant_refused(login, project, demo):
    users = demo["users"]
    data = {
        "post": "floor",
        f"order_{users['consultant2'].pk}": "1",
        f"order_{users['consultant'].pk}": "2",
    }
    consultant = login("consultant")
    assert consultant.get(url("roster_day", project)).status_code == 200
    assert consultant.post(url("roster_day", project), data).status_code == 403
    sup = login("supervisor")
    resp = sup.post(url("roster_day", project), data)
    assert resp.status_code == 302
    entries = list(svc.roster_entries(project, timezone.localdate(), "floor"))
    assert [e.user.username for e in entries] == ["consultant2", "consultant"]
    html = sup.get(url("roster_day", project)).content.decode()
    assert "周顾问" in html and "保存排班" in html


def test_roster_away_toggle(login, project, rostered):
    entry = RosterEntry.objects.get(
        project=project, date=timezone.localdate(), post="floor", user=rostered["consultant2"]
    )
    resp = login("supervisor").post(url("roster_away", project, entry.pk), {"away": "1"})
    assert resp.status_code == 302
    entry.refresh_from_db()
    assert entry.away
    # A consultant may not mark a colleague away.
    resp = login("consultant").post(url("roster_away", project, entry.pk), {"away": "0"})
    assert resp.status_code == 403


def test_call_form_and_list(login, project, rostered):
    client = login("consultant")
    assert client.get(url("call_create", project)).status_code == 200
    now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    resp = client.post(
        url("call_create", project),
        {"called_at": now, "phone": "13911112222", "name": "孙", "question": "学区"},
    )
    assert resp.status_code == 302
    bad = client.post(url("call_create", project), {"called_at": now, "is_research": "on"})
    assert bad.status_code == 400 and "同行调研来电须填写同行单位名称" in bad.content.decode()
    client.post(
        url("call_create", project),
        {"called_at": now, "is_research": "on", "competitor": "对手地产"},
    )
    html = client.get(url("call_list", project)).content.decode()
    assert "139****2222" in html and "同行调研来电（不计入统计）" in html
    # The research call went to the consultant on turn (consultant2): the supervisor
    # sees it, flagged, in its own table.
    html = login("supervisor").get(url("call_list", project)).content.decode()
    research = html[html.index('id="research-calls"') :]
    assert "对手地产" in research and "同行调研" in research


def test_consultant_sees_own_calls_only(login, project, rostered):
    theirs = svc.call_record_create(
        actor=rostered["supervisor"],
        project=project,
        data={"name": "某甲", "received_by": rostered["consultant2"].pk},
    )
    client = login("consultant")
    assert "某甲" not in client.get(url("call_list", project)).content.decode()
    assert client.get(url("call_edit", project, theirs.pk)).status_code == 404
    assert "某甲" in login("supervisor").get(url("call_list", project)).content.decode()


def test_morning_check_page(login, project, rostered):
    day = timezone.localdate() - datetime.timedelta(days=1)
    at = timezone.make_aware(datetime.datetime.combine(day, datetime.time(10)))
    call = svc.call_record_create(
        actor=rostered["consultant"],
        project=project,
        data={"called_at": at, "received_by": rostered["consultant"].pk},
    )
    assert login("consultant").get(url("morning_check", project)).status_code == 403
    sup = login("supervisor")
    html = sup.get(url("morning_check", project)).content.decode()
    assert f'id="call-{call.pk}"' in html and "缺电话、姓名或称呼、咨询内容" in html
    resp = sup.post(url("call_confirm", project, call.pk))
    assert resp.status_code == 302
    call.refresh_from_db()
    assert call.confirmed_by == rostered["supervisor"]
    resp = sup.post(
        url("call_edit", project, call.pk),
        {
            "called_at": timezone.localtime(at).strftime("%Y-%m-%dT%H:%M"),
            "name": "更正",
            "confirm": "1",
        },
    )
    assert resp.status_code == 302
    call.refresh_from_db()
    assert call.name == "更正"


def test_pages_fit_a_phone(login, project, rostered):
    html = login("consultant").get(url("reception_desk", project)).content.decode()
    assert 'name="viewport"' in html and "col-12" in html and "table-responsive" in html
