"""Call records 来电登记 (seed 002 rule 4; 北京 1.1.2(5)) and the supervisor's morning
check (seed 001): numbers normalized, research calls flagged, callers linked, missing
mandatory fields highlighted, confirmation and correction audited."""

import datetime

import pytest
from django.utils import timezone

from loupan.audit.models import AuditEntry
from loupan.core.errors import DomainError, ErrorCode
from loupan.customers import reception as svc
from loupan.customers.models import Reception, Visit

from .helpers import make_customer


@pytest.fixture
def ctx(demo):
    users = demo["users"]
    project = demo["main"]
    svc.roster_set(
        actor=users["supervisor"],
        project=project,
        date=timezone.localdate(),
        post="phone",
        user_ids=[users["consultant"].pk, users["consultant2"].pk],
    )
    return {"project": project, "users": users}


def create(ctx, user="consultant", **data):
    return svc.call_record_create(actor=ctx["users"][user], project=ctx["project"], data=data)


def test_call_normalizes_number_and_goes_to_the_consultant_on_duty(ctx):
    call = create(ctx, phone="139 1234 5678", name="张先生", question="三房价格")
    assert call.phone == "+8613912345678"
    assert call.received_by.username == "consultant"
    assert call.receptions.get().by_turn is True
    assert AuditEntry.objects.filter(
        object_type="customers.callrecord", object_id=str(call.pk)
    ).exists()


def test_invalid_number_is_refused_naming_the_field(ctx):
    with pytest.raises(DomainError) as err:
        create(ctx, phone="12345")
    assert err.value.code == ErrorCode.INVALID and list(err.value.fields) == ["phone"]


def test_research_call_needs_the_competitor(ctx):
    with pytest.raises(DomainError) as err:
        create(ctx, is_research=True)
    assert list(err.value.fields) == ["competitor"] and "同行单位" in err.value.message


def test_given_receiver_out_of_turn_does_not_move_the_turn(ctx):
    users = ctx["users"]
    call = create(ctx, name="李", received_by=users["consultant2"].pk)
    assert call.received_by == users["consultant2"]
    assert call.receptions.get().by_turn is False
    assert create(ctx, name="王").received_by.username == "consultant"


def test_receiver_must_be_able_to_receive(ctx):
    with pytest.raises(DomainError) as err:
        create(ctx, name="李", received_by=ctx["users"]["finance"].pk)
    assert list(err.value.fields) == ["received_by"]


def test_no_one_on_duty_needs_a_receiver(demo):
    with pytest.raises(DomainError) as err:
        svc.call_record_create(actor=demo["users"]["consultant"], project=demo["main"], data={})
    assert list(err.value.fields) == ["received_by"]


def test_call_links_existing_customer_by_phone_and_later_visitor(ctx):
    users = ctx["users"]
    known = make_customer(ctx["project"], users["consultant2"], phone="+8613912340077")
    call = create(ctx, phone="13912340077", name="老王")
    assert call.customer == known
    other = create(ctx, phone="13912340078", name="新客")
    assert other.customer is None
    later = make_customer(ctx["project"], users["consultant"], phone="+8613912340078", name="新客")
    linked = svc.call_link_customer(actor=users["consultant"], call=other, customer=later)
    assert linked.customer == later


def test_finance_cannot_record_calls(ctx):
    with pytest.raises(DomainError) as err:
        create(ctx, user="finance", name="x")
    assert err.value.code == ErrorCode.PERMISSION_DENIED


def test_calls_visible_own_for_consultants_all_for_supervisor(ctx):
    users = ctx["users"]
    a = create(ctx, name="甲")
    b = create(ctx, name="乙")  # consultant2's turn
    assert set(svc.calls_visible(users["consultant"], ctx["project"])) == {a}
    assert set(svc.calls_visible(users["consultant2"], ctx["project"])) == {b}
    assert {a, b} <= set(svc.calls_visible(users["supervisor"], ctx["project"]))


def yesterday_at(hour):
    day = timezone.localdate() - datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, 0)))


def test_morning_check_highlights_missing_fields(ctx):
    users = ctx["users"]
    project = ctx["project"]
    c1 = users["consultant"]
    complete = create(
        ctx,
        called_at=yesterday_at(9),
        phone="13800001111",
        name="甲",
        question="价格",
        received_by=c1.pk,
    )
    blank = create(ctx, called_at=yesterday_at(10), received_by=c1.pk)
    research = create(
        ctx, called_at=yesterday_at(11), is_research=True, competitor="某地产", received_by=c1.pk
    )
    no_layout = make_customer(project, users["consultant2"], phone="+8619912340005", layout="")
    Visit.objects.create(
        customer=no_layout, consultant=users["consultant2"], visited_at=yesterday_at(14)
    )
    Reception.objects.create(
        project=project, kind="visit", consultant=users["consultant2"], at=yesterday_at(15)
    )
    # The demo office may hold calls and visits of its own: look at ours.
    mine_ids = {complete.pk, blank.pk, research.pk}
    days = {d.user.username: d for d in svc.morning_check(project)}
    mine = days["consultant"]
    calls = [c for c in mine.calls if c.pk in mine_ids]
    assert [c.pk for c in calls] == [complete.pk, blank.pk]
    assert calls[0].missing == [] and calls[1].missing == ["phone", "name", "question"]
    assert research.pk in [c.pk for c in mine.research_calls]
    assert research.pk not in [c.pk for c in mine.calls]
    theirs = days["consultant2"]
    visit = next(v for v in theirs.visits if v.customer_id == no_layout.pk)
    assert visit.missing == ["wanted_layout"]
    assert [r.at for r in theirs.unregistered if r.at == yesterday_at(15)]


def test_morning_confirm_and_correct(ctx):
    users = ctx["users"]
    sup = users["supervisor"]
    call = create(ctx, called_at=yesterday_at(10), received_by=users["consultant"].pk)
    with pytest.raises(DomainError) as err:
        svc.morning_confirm(actor=users["consultant"], call=call)
    assert err.value.code == ErrorCode.PERMISSION_DENIED
    n = AuditEntry.objects.count()
    fixed = svc.call_update(
        actor=sup,
        call=call,
        data={"phone": "13800002222", "name": "丙", "question": "车位"},
        confirm=True,
    )
    assert fixed.phone == "+8613800002222" and fixed.confirmed_by == sup and fixed.confirmed_at
    assert svc.call_missing(fixed) == []
    assert AuditEntry.objects.count() == n + 1
    # Once confirmed, the consultant can no longer change it.
    with pytest.raises(DomainError) as err:
        svc.call_update(actor=users["consultant"], call=fixed, data={"name": "丁"})
    assert err.value.code == ErrorCode.PERMISSION_DENIED
    other = create(ctx, called_at=yesterday_at(11), received_by=users["consultant"].pk)
    confirmed = svc.morning_confirm(actor=sup, call=other)
    assert confirmed.confirmed_by == sup


def test_consultant_completes_own_unconfirmed_call(ctx):
    call = create(ctx)
    done = svc.call_update(actor=ctx["users"]["consultant"], call=call, data={"name": "戊"})
    assert done.name == "戊" and done.confirmed_at is None
