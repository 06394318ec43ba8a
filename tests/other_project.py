"""Objects of the demo's second project (锦城·云栖府), which the demo leaves nearly empty:
the "same kind of object in another project" of the access checks (tests/testing.py).
Written directly (no service, no audit entry): they only have to exist."""

import datetime
from decimal import Decimal

from django.utils import timezone

from loupan.accounts.models import User
from loupan.customers.models import CallRecord, Customer
from loupan.inventory.models import Building, Project, Unit, UnitStatus


def second() -> Project:
    return Project.objects.get(code="YQF")


def other_consultant() -> User:
    """The demo consultant who also works in the second project."""
    return User.objects.get(username="consultant2")


def building(name="测试1栋") -> Building:
    return Building.objects.create(project=second(), name=name, floors_above=2)


def unit(building_=None, room="01") -> Unit:
    building_ = building_ or building()
    return Unit.objects.create(
        project=building_.project,
        building=building_,
        floor=1,
        room=room,
        number=f"{building_.name}1{room}",
        gross_area=Decimal("90.00"),
        list_price=Decimal("900000.00"),
        status=UnitStatus.AVAILABLE,
    )


def customer(project=None, owner=None, phone="+8613988880001", name="乙项目客户") -> Customer:
    """A customer registered three days ago (``project``: the second one by default)."""
    project = project or second()
    owner = owner or other_consultant()
    return Customer.objects.create(
        project=project,
        owner=owner,
        name=name,
        phone=phone,
        phone_tail=phone[-4:],
        wanted_layout="三室",
        registered_at=timezone.now() - datetime.timedelta(days=3),
        registered_by=owner,
    )


def call(project=None, received_by=None, name="乙项目来电") -> CallRecord:
    project = project or second()
    return CallRecord.objects.create(
        project=project,
        received_by=received_by or other_consultant(),
        called_at=timezone.now() - datetime.timedelta(hours=1),
        phone="+8613988880002",
        name=name,
        question="价格",
    )


def deal(
    project=None,
    consultant=None,
    customer_=None,
    unit_=None,
    number="BL-T-0001",
    phone="+8613988885555",
):
    """A reserved deal (``project``: the second one by default) for a customer of
    ``consultant``, on a unit of its own."""
    from loupan.deals.models import Deal, DealUnit

    project = project or second()
    consultant = consultant or other_consultant()
    if unit_ is None:
        unit_ = unit(building(name=f"测试{number}栋"))
    customer_ = customer_ or customer(project=project, owner=consultant, phone=phone)
    Unit.objects.filter(pk=unit_.pk).update(status=UnitStatus.RESERVED)
    made = Deal.objects.create(
        project=project,
        unit=unit_,
        customer=customer_,
        consultant=consultant,
        reservation_number=number,
        reserved_at=timezone.now(),
        reservation_expires_at=timezone.now() + datetime.timedelta(hours=24),
        created_by=consultant,
    )
    DealUnit.objects.create(deal=made, unit=unit_, is_main=True, list_price=unit_.list_price)
    return made


def approval_request(subject, *, project=None, requested_by=None, kind="rename", **fields):
    """An approval request on ``subject`` (a deal: the kinds of deals are registered by
    the deals app), pending at the manager's level unless ``fields`` say otherwise."""
    from django.contrib.contenttypes.models import ContentType

    from loupan.approvals.models import ApprovalRequest

    project = project or subject.project
    fields.setdefault("level", "manager")
    fields.setdefault("final_level", "manager")
    return ApprovalRequest.objects.create(
        project=project,
        subject_type=ContentType.objects.get_for_model(subject),
        subject_id=subject.pk,
        kind=kind,
        reason="测试申请",
        requested_by=requested_by or getattr(subject, "consultant", None) or other_consultant(),
        requested_at=timezone.now(),
        **fields,
    )
