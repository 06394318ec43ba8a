"""Intended units 意向房源 and 撞车, problem customers 问题客户 (issue Customers).

Seed 002 售楼部客户信息管理制度 二.2(2): consultants report the units that their A- and
B-grade customers clearly want to sales control 销控, "以便协调房源，避免撞车现象" — so that
two consultants do not promise one unit. A 撞车 is a unit still for sale that live A/B
customers of two or more different consultants want; both consultants, the sales admin
and the supervisors and managers see it.

Seed 002 二.6: "对于一些存在棘手问题的客户，可将其情况输入《问题客户一览表》，并及时上报" —
the owner (or a supervisor) flags a customer with the problem, which puts them on the
问题客户 list of the supervisors, the manager and the director; a manager resolves it with
a note. The note lives in the audit entry of the resolution (no field of its own).

Services (writes) take the acting user, check permission and the rule, write in one
transaction and record the audit entry; selectors (reads) return what the viewer may see,
in a fixed number of queries.
"""

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from loupan.accounts import access
from loupan.audit.models import AuditAction, AuditEntry
from loupan.audit.services import audit_record, audit_update
from loupan.core.errors import DomainError, ErrorCode, PermissionDenied, invalid
from loupan.core.services import lock
from loupan.core.snapshot import diff, snapshot
from loupan.inventory.models import SOLD_STATUSES, Project, Unit

from . import selectors
from .models import Customer, Grade, IntendedUnit
from .services import _require_owner_or

# Only the customers "意向明确" by grade are reported to sales control (seed 002 二.2(2);
# grades of seed 000): A 很有希望 and B 有希望.
ACTIVE_GRADES = (Grade.A, Grade.B)
PROBLEM_MAX = Customer._meta.get_field("problem").max_length
RESOLUTION_MAX = 500
FLAG_EVENT = "problem_flag"
RESOLVE_EVENT = "problem_resolve"


# --- permissions ----------------------------------------------------------------------------


def can_edit_intentions(user, customer: Customer) -> bool:
    """The owner (a consultant of the project) or a supervisor (``customer.assign``)."""
    if customer.owner_id == getattr(user, "pk", None) and access.has_perm(
        user, "customer.add", customer.project_id
    ):
        return True
    return access.has_perm(user, "customer.assign", customer.project_id)


def sees_all_conflicts(user, project) -> bool:
    """``customer.view`` (sales admin, supervisor, manager, director…) sees every 撞车 of
    the project; a consultant (``customer.view_own``) only those of their own customers."""
    return access.has_perm(user, "customer.view", project)


def can_view_conflicts(user, project) -> bool:
    return sees_all_conflicts(user, project) or access.has_perm(user, "customer.view_own", project)


def can_flag_problem(user, customer: Customer) -> bool:
    return can_edit_intentions(user, customer)


def can_view_problems(user, project) -> bool:
    """The 问题客户一览表 is for the supervisors, the manager and the director: the roles
    that handle customers (``customer.assign``)."""
    return access.has_perm(user, "customer.assign", project)


def can_resolve_problem(user, project) -> bool:
    """The problem is escalated to the manager (seed 002 二.6 "及时上报"): the manager and
    the director resolve (``customer.resolve``)."""
    return access.has_perm(user, "customer.resolve", project)


# --- intended units: services -------------------------------------------------------------


def unit_not_for_sale_reason(unit: Unit) -> str:
    """Why a unit cannot be wanted any more ('' when it can): sold or not for sale."""
    if not unit.sellable:
        return _("不可售")
    if unit.status in SOLD_STATUSES:
        return _("已%(status)s") % {"status": unit.get_status_display()}
    return ""


def intended_unit_add(*, actor, customer: Customer, unit: Unit) -> IntendedUnit:
    """Record a unit that an A- or B-grade customer wants (seed 002 二.2(2)), by the
    owner or a supervisor. Refused for a C/D customer, a unit of another project, a unit
    sold (认购/签约/交付) or not for sale (不可售), and a unit already recorded for this
    customer (the database's unique constraint decides a double submit). Audited."""
    _require_owner_or(actor, customer, "customer.assign")
    with transaction.atomic():
        # The customer's row lock orders this against a grade change or a second add.
        customer = lock(customer)
        if customer.anonymized_at is not None:
            raise invalid("customer", _("已匿名化"), _("客户：已匿名化"))
        if customer.grade not in ACTIVE_GRADES:
            raise invalid(
                "grade",
                _("只有 A、B 级客户可以登记意向房源"),
                _("等级：只有 A、B 级客户可以登记意向房源（该客户为 %(grade)s 级）")
                % {"grade": customer.grade},
            )
        if unit.project_id != customer.project_id:
            raise invalid(
                "unit",
                _("不属于本项目"),
                _("房间：%(number)s 不属于本项目") % {"number": unit.number},
            )
        unit = Unit._base_manager.get(pk=unit.pk)  # its status as of now, not of the form
        reason = unit_not_for_sale_reason(unit)
        if reason:
            raise invalid(
                "unit",
                reason,
                _("房间：%(number)s %(reason)s，不能登记为意向房源")
                % {"number": unit.number, "reason": reason},
            )
        # Already wanted: a conflict (409), whether seen here or by the constraint.
        duplicate = DomainError(
            ErrorCode.CONFLICT,
            _("房间：%(number)s 已是该客户的意向房源") % {"number": unit.number},
            {"unit": [_("已登记")]},
        )
        if IntendedUnit.objects.filter(customer=customer, unit=unit).exists():
            raise duplicate
        try:
            with transaction.atomic():
                intended = IntendedUnit.objects.create(customer=customer, unit=unit)
        except IntegrityError as exc:
            raise duplicate from exc
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=intended,
            project_id=customer.project_id,
            changes=diff(None, snapshot(intended)),
            extra={"customer": customer.pk, "unit": unit.number},
        )
    return intended


def intended_unit_remove(*, actor, intended: IntendedUnit) -> None:
    """The owner (or a supervisor) removes a unit the customer no longer wants. Audited."""
    customer = intended.customer
    _require_owner_or(actor, customer, "customer.assign")
    with transaction.atomic():
        before = snapshot(intended)
        pk = intended.pk
        deleted, _rows = IntendedUnit.objects.filter(pk=pk).delete()
        if not deleted:
            raise DomainError(ErrorCode.CONFLICT, _("该意向房源已被删除。"))
        audit_record(
            actor=actor,
            action=AuditAction.DELETE,
            obj=intended,
            object_id=pk,
            project_id=customer.project_id,
            changes=diff(before, None),
            extra={"customer": customer.pk, "unit": intended.unit.number},
        )


# --- intended units and 撞车: selectors ------------------------------------------------------


def live_intentions():
    """Intentions that count for 撞车: of live A/B customers that a consultant owns, on
    units still for sale."""
    return IntendedUnit.objects.filter(
        customer__anonymized_at__isnull=True,
        customer__owner__isnull=False,
        customer__grade__in=ACTIVE_GRADES,
        unit__sellable=True,
    ).exclude(unit__status__in=SOLD_STATUSES)


def _rivals_count():
    """Per intended unit (OuterRef): live intentions of other consultants' customers on
    the same unit."""
    return Subquery(
        live_intentions()
        .filter(unit_id=OuterRef("unit_id"))
        .exclude(customer__owner_id=OuterRef("customer__owner_id"))
        .order_by()
        .values("unit_id")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )


def intended_units_visible(user):
    """Intended units of the customers this user may see (API), each with ``rivals``: how
    many other consultants' customers want the same unit (0 when not a 撞车, or when the
    customer itself does not count: C/D grade, public pool, unit sold)."""
    visible = Customer.objects.restrict(user, "view").filter(anonymized_at__isnull=True)
    return IntendedUnit.objects.filter(customer__in=visible.values("pk")).annotate(
        rivals=Coalesce(_rivals_count(), 0)
    )


@dataclass
class ConflictSide:
    """One customer wanting the unit. ``visible`` is False for another consultant's
    customer shown to a consultant: name and owner only."""

    intended: IntendedUnit
    visible: bool
    contact: dict | None = None

    @property
    def customer(self):
        return self.intended.customer


@dataclass
class Conflict:
    """A 撞车: one unit, the customers of two or more consultants who want it, and since
    when (the moment the second consultant's customer wanted it)."""

    unit: Unit
    since: object
    sides: list[ConflictSide] = field(default_factory=list)

    @property
    def consultants(self):
        seen = {}
        for side in self.sides:
            seen.setdefault(side.customer.owner_id, side.customer.owner)
        return list(seen.values())


def conflict_list(*, user, project) -> list[Conflict]:
    """The 撞车 of a project this user may see, newest first, in one query whatever
    their number: the sales admin, supervisors and managers see all; a consultant only
    those involving their own customers, where the other consultants' customers appear
    by name and owner only. Contact numbers are as ``selectors.contact`` shows them."""
    if not can_view_conflicts(user, project):
        return []
    see_all = sees_all_conflicts(user, project)
    live = live_intentions().filter(customer__project=project)
    units = live
    if not see_all:
        units = units.filter(unit_id__in=live.filter(customer__owner=user).values("unit_id"))
    conflict_units = (
        units.order_by()
        .values("unit_id")
        .annotate(owners=Count("customer__owner_id", distinct=True))
        .filter(owners__gte=2)
        .values("unit_id")
    )
    rows = (
        live.filter(unit_id__in=conflict_units)
        .select_related("customer", "customer__owner", "unit")
        .order_by("unit_id", "created_at", "pk")
    )
    by_unit: dict[int, list[IntendedUnit]] = {}
    for row in rows:
        by_unit.setdefault(row.unit_id, []).append(row)
    conflicts = []
    for items in by_unit.values():
        conflicts.append(
            Conflict(
                unit=items[0].unit,
                since=conflict_since(items),
                sides=[_side(user, item, see_all) for item in items],
            )
        )
    conflicts.sort(key=lambda c: (c.since, c.unit.pk), reverse=True)
    return conflicts


def conflict_since(items) -> object:
    """When the second consultant's customer came to want the unit: the second earliest
    of each consultant's first intention."""
    first = {}
    for item in items:
        owner = item.customer.owner_id
        if owner not in first or item.created_at < first[owner]:
            first[owner] = item.created_at
    times = sorted(first.values())
    return times[1] if len(times) > 1 else None


def _side(user, item, see_all) -> ConflictSide:
    visible = see_all or item.customer.owner_id == user.pk
    return ConflictSide(
        intended=item,
        visible=visible,
        contact=selectors.contact(user, item.customer) if visible else None,
    )


@dataclass
class IntendedRow:
    intended: IntendedUnit
    reason: str  # why the unit is no longer for sale ('' when it is)
    rivals: list[ConflictSide]
    since: object = None


def customer_intentions(*, user, customer: Customer) -> dict:
    """What the customer page shows: the customer's intended units, each with the other
    consultants' customers who want it too (撞车), and whether the viewer may edit. Two
    queries (three with the unit list of the add form)."""
    counts = customer.grade in ACTIVE_GRADES and customer.owner_id is not None
    see_all = sees_all_conflicts(user, customer.project_id)
    mine = list(
        IntendedUnit.objects.filter(customer=customer)
        .select_related("unit")
        .order_by("created_at", "pk")
    )
    rivals_by_unit: dict[int, list[IntendedUnit]] = {}
    if counts and mine:
        for rival in (
            live_intentions()
            .filter(unit_id__in=[i.unit_id for i in mine], customer__project=customer.project_id)
            .exclude(customer__owner_id=customer.owner_id)
            .select_related("customer", "customer__owner")
            .order_by("created_at", "pk")
        ):
            rivals_by_unit.setdefault(rival.unit_id, []).append(rival)
    rows = []
    for item in mine:
        reason = unit_not_for_sale_reason(item.unit)
        rivals = [] if reason else rivals_by_unit.get(item.unit_id, [])
        rows.append(
            IntendedRow(
                intended=item,
                reason=reason,
                rivals=[_side(user, r, see_all) for r in rivals],
                since=conflict_since([item, *rivals]) if rivals else None,
            )
        )
    can_edit = can_edit_intentions(user, customer)
    grade_ok = customer.grade in ACTIVE_GRADES
    return {
        "rows": rows,
        "counts": counts,
        "grade_ok": grade_ok,
        "can_edit": can_edit,
        "conflict_count": sum(1 for r in rows if r.rivals),
        "units": open_unit_numbers(customer.project_id) if can_edit and grade_ok else [],
    }


def open_unit_numbers(project_id) -> list[str]:
    """The numbers of the project's units that can still be wanted (for the form's list)."""
    return list(
        Unit.objects.filter(project_id=project_id, sellable=True)
        .exclude(status__in=SOLD_STATUSES)
        .values_list("number", flat=True)
    )


def rival_owners(intended: IntendedUnit) -> list[str]:
    """The other consultants whose live customers want the same unit (to warn at once)."""
    customer = intended.customer
    if customer.grade not in ACTIVE_GRADES or customer.owner_id is None:
        return []
    names = (
        live_intentions()
        .filter(unit_id=intended.unit_id, customer__project=customer.project_id)
        .exclude(customer__owner_id=customer.owner_id)
        .order_by("customer__owner__real_name")
        .values_list("customer__owner__real_name", flat=True)
        .distinct()
    )
    return list(names)


def unit_intention_count(unit: Unit) -> int:
    """How many live A/B customers want this unit (for the unit's card)."""
    return live_intentions().filter(unit=unit).count()


# --- problem customers 问题客户 --------------------------------------------------------------


def problem_flag(*, actor, customer: Customer, problem: str) -> Customer:
    """Flag a customer with a problem that needs the manager (seed 002 二.6): the owner or
    a supervisor, with the problem described (required). Puts the customer on the
    问题客户一览表. Audited; a customer already flagged keeps its first flag (resolve it
    first)."""
    _require_owner_or(actor, customer, "customer.assign")
    problem = (problem or "").strip()
    if not problem:
        raise invalid("problem", _("请填写问题说明"), _("问题：请填写问题说明"))
    if len(problem) > PROBLEM_MAX:
        raise invalid(
            "problem",
            _("最多 %(n)s 字") % {"n": PROBLEM_MAX},
            _("问题：最多 %(n)s 字") % {"n": PROBLEM_MAX},
        )
    with transaction.atomic():
        customer = lock(customer)
        if customer.problem:
            raise DomainError(
                ErrorCode.CONFLICT,
                _("问题：该客户已标记为问题客户，请等待经理处理"),
                {"problem": [_("已标记为问题客户")]},
            )
        before = snapshot(customer)
        customer.problem, customer.problem_at = problem, timezone.now()
        customer.save(update_fields=["problem", "problem_at", "updated_at"])
        audit_update(actor=actor, obj=customer, before=before, extra={"event": FLAG_EVENT})
    return customer


def problem_resolve(*, actor, customer: Customer, resolution: str) -> Customer:
    """The manager (or the director) resolves a problem customer with a note of what was
    done: the flag is cleared; the problem, the note and who resolved it stay in the
    audit entry."""
    if not can_resolve_problem(actor, customer.project_id):
        raise PermissionDenied(_("您没有执行此操作的权限：处理问题客户（销售经理、销售总监）"))
    resolution = (resolution or "").strip()
    if not resolution:
        raise invalid("resolution", _("请填写处理结果"), _("处理结果：请填写处理结果"))
    if len(resolution) > RESOLUTION_MAX:
        raise invalid(
            "resolution",
            _("最多 %(n)s 字") % {"n": RESOLUTION_MAX},
            _("处理结果：最多 %(n)s 字") % {"n": RESOLUTION_MAX},
        )
    with transaction.atomic():
        customer = lock(customer)
        if not customer.problem:
            raise DomainError(
                ErrorCode.CONFLICT,
                _("问题：该客户不是问题客户（可能已被处理）"),
                {"problem": [_("不是问题客户")]},
            )
        before = snapshot(customer)
        problem, flagged_at = customer.problem, customer.problem_at
        customer.problem, customer.problem_at = "", None
        customer.save(update_fields=["problem", "problem_at", "updated_at"])
        audit_update(
            actor=actor,
            obj=customer,
            before=before,
            extra={
                "event": RESOLVE_EVENT,
                "problem": problem,
                "flagged_at": flagged_at,
                "resolution": resolution,
            },
        )
    return customer


def problem_customers(*, user, project=None):
    """Flagged customers of the projects where this user sees the 问题客户 list (all of
    them when ``project`` is None), the longest-standing first."""
    if project is not None:
        projects = [access.scope_of(project)]
    elif user.is_superuser:
        projects = list(Project.objects.values_list("pk", flat=True))
    else:
        projects = access.projects_with(user, "customer.assign")
    allowed = [p for p in projects if can_view_problems(user, p)]
    return (
        Customer.objects.filter(
            project_id__in=allowed, anonymized_at__isnull=True, problem_at__isnull=False
        )
        .exclude(problem="")
        .select_related("owner")
        .order_by("problem_at", "pk")
    )


def _events(customer_ids, event):
    return AuditEntry.objects.filter(
        object_type="customers.customer",
        object_id__in=[str(pk) for pk in customer_ids],
        extra__event=event,
    )


def flagged_by(customers) -> dict[int, str]:
    """Who flagged each customer (the latest flag), from the audit trail, in one query."""
    out: dict[int, str] = {}
    entries = (
        _events([c.pk for c in customers], FLAG_EVENT)
        .select_related("actor")
        .order_by("created_at", "pk")
    )
    for entry in entries:
        name = entry.actor.real_name if entry.actor else entry.actor_username
        out[int(entry.object_id)] = name or entry.actor_username
    return out


def recent_resolutions(project, limit: int = 20):
    """The latest resolutions of the project (problem, note, who, when), from the trail."""
    return list(
        AuditEntry.objects.filter(
            project_id=getattr(project, "pk", project),
            object_type="customers.customer",
            extra__event=RESOLVE_EVENT,
        )
        .select_related("actor")
        .order_by("-created_at", "-pk")[:limit]
    )


def last_resolution(customer: Customer):
    """The last resolution of this customer's problems (for the customer page)."""
    return (
        _events([customer.pk], RESOLVE_EVENT)
        .select_related("actor")
        .order_by("-created_at", "-pk")
        .first()
    )
