"""Repairs 维修 services (issue 14 "Repairs"; seed 001 房屋维修联系): registered from an
owner's call or a complaint, assigned to the repair team, done, closed with the owner's
return visit; overdue ones listed for supervision; each refusal with its exact code."""

import datetime

import pytest
from django.utils import timezone

from loupan.aftersales import delivery as s
from loupan.aftersales.models import RepairOrder
from loupan.core.errors import DomainError
from loupan.core.workdays import add_working_days
from loupan.deals.models import Deal
from tests.deals.helpers import project, subscribed, user

pytestmark = pytest.mark.django_db


def code_of(call):
    with pytest.raises(DomainError) as info:
        call()
    return info.value


def signed():
    return Deal.objects.filter(project=project(), status="contracted").order_by("pk").first()


def new_repair(**kw):
    args = {"actor": user("service"), "project": project(), "description": "阳台地漏返味"}
    args.update(kw)
    if "unit" not in kw and "deal" not in kw:
        args["deal"] = signed()
    return s.repair_create(**args)


def test_the_repair_lifecycle():
    repair = new_repair()
    assert repair.status == "open" and repair.source == "owner" and repair.team == "repair"
    assert repair.due_on == add_working_days(timezone.localdate(), s.REPAIR_DUE_DAYS)
    assert repair.number.startswith("WX-") and repair.unit_id == signed().unit_id
    due = timezone.localdate() + datetime.timedelta(days=3)
    repair = s.repair_assign(
        actor=user("service"),
        repair=repair,
        assigned_to=user("salesadmin"),
        team="property",
        due_on=due,
    )
    assert (repair.status, repair.assigned_to, repair.team, repair.due_on) == (
        "assigned",
        user("salesadmin"),
        "property",
        due,
    )
    repair = s.repair_done(actor=user("service"), repair=repair, note="已疏通并加装防臭地漏")
    assert repair.status == "done" and repair.done_at
    repair = s.repair_visit(actor=user("service"), repair=repair, note="业主满意", satisfaction=4)
    assert repair.status == "closed" and repair.satisfaction == 4 and repair.visited_at


def test_a_repair_by_unit_finds_its_owner():
    deal = signed()
    repair = new_repair(unit=deal.unit)
    assert repair.deal_id == deal.pk


def test_create_refusals():
    err = code_of(lambda: new_repair(description=""))
    assert err.code == "invalid" and "description" in err.fields
    err = code_of(lambda: new_repair(source="inspection"))
    assert err.code == "invalid" and "source" in err.fields
    err = code_of(lambda: new_repair(source="complaint"))
    assert err.code == "invalid" and "complaint" in err.fields
    err = code_of(lambda: new_repair(due_on=timezone.localdate() - datetime.timedelta(days=1)))
    assert err.code == "invalid" and "due_on" in err.fields
    err = code_of(lambda: new_repair(team="nobody"))
    assert err.code == "invalid" and "team" in err.fields
    err = code_of(
        lambda: s.repair_create(actor=user("service"), project=project(), description="x")
    )
    assert err.code == "invalid" and "unit" in err.fields
    for name in ("consultant", "finance", "planner"):
        err = code_of(lambda name=name: new_repair(actor=user(name)))
        assert err.code == "permission_denied"


def test_moves_out_of_order_are_refused():
    repair = new_repair()
    service = user("service")
    err = code_of(lambda: s.repair_done(actor=service, repair=repair, note="x"))
    assert err.code == "stage_transition"
    err = code_of(lambda: s.repair_visit(actor=service, repair=repair, note="x", satisfaction=5))
    assert err.code == "stage_transition"
    err = code_of(
        lambda: s.repair_assign(
            actor=service, repair=repair, assigned_to=user("sysadmin").pk + 100000
        )
    )
    assert err.code == "invalid" and "assigned_to" in err.fields
    repair = s.repair_assign(actor=service, repair=repair, assigned_to=service)
    err = code_of(lambda: s.repair_done(actor=service, repair=repair, note=""))
    assert err.code == "invalid" and "note" in err.fields
    repair = s.repair_done(actor=service, repair=repair, note="好了")
    err = code_of(lambda: s.repair_visit(actor=service, repair=repair, note="x", satisfaction=6))
    assert err.code == "invalid" and "satisfaction" in err.fields
    err = code_of(
        lambda: s.repair_visit(actor=user("consultant"), repair=repair, note="x", satisfaction=5)
    )
    assert err.code == "permission_denied"
    repair = s.repair_visit(actor=service, repair=repair, note="满意", satisfaction=5)
    err = code_of(lambda: s.repair_assign(actor=service, repair=repair, assigned_to=service))
    assert err.code == "stage_transition"


def test_overdue_repairs_are_listed_for_supervision():
    repair = new_repair()
    assert repair not in s.overdue_repairs(user("service"), project())
    RepairOrder.objects.filter(pk=repair.pk).update(
        due_on=timezone.localdate() - datetime.timedelta(days=1)
    )
    assert repair in s.overdue_repairs(user("service"), project())
    assert s.is_overdue(RepairOrder.objects.get(pk=repair.pk))


def test_a_consultant_sees_only_their_own_buyers_repairs():
    mine = new_repair(deal=subscribed(phone="13700004001", contract=True))
    seen = s.repairs_of(user("consultant"), project())
    assert mine in seen
    assert all(r.deal and r.deal.consultant == user("consultant") for r in seen)
    assert not s.repairs_of(user("planner"), project()).exists()
