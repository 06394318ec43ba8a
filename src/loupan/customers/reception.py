"""Reception rotation 排班轮流接待, call records 来电登记 and the supervisor's morning check.

Rules (PRODUCT.md "Customer registration and ownership"; seed 002 万科 现场接待 3, 北京
1.1.1 and 1.1.2(5); seed 001 for the morning check by 10:00):

* The supervisor keeps a duty roster per day: who is on the floor (visitors) and who is
  on the phone (calls), in order. Visitors and valid calls are received in a rolling
  loop; a consultant away (暂离) at their turn is skipped and not made up later.
* An old customer who comes back goes to their owner, outside the loop; an old customer
  bringing a new one counts as one reception (for the old customer's owner).
* A competitor's market-research call is recorded and flagged; it neither moves the
  turn nor counts in any statistic.
* Every morning the supervisor checks yesterday's calls and visits per consultant,
  confirms or corrects them; missing mandatory fields are highlighted.

Concurrency: every turn-taking action locks the day's roster rows of its post
(``SELECT … FOR UPDATE`` ordered by pk) before it reads the last reception, so two
receptions at the same instant are served one after the other and never take the same
turn.
"""

import datetime
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loupan.accounts import access
from loupan.accounts.models import Membership, User
from loupan.audit.models import AuditAction
from loupan.audit.services import audit_create, audit_record, audit_update
from loupan.core.errors import conflict, invalid
from loupan.core.identity import normalize_phone
from loupan.core.services import coerce, lock
from loupan.core.snapshot import snapshot

from .models import (
    CallRecord,
    Channel,
    Customer,
    Post,
    Reception,
    ReceptionKind,
    RosterEntry,
    Visit,
)

KIND_OF_POST = {Post.FLOOR: ReceptionKind.VISIT, Post.PHONE: ReceptionKind.CALL}
POST_OF_KIND = {v: k for k, v in KIND_OF_POST.items()}

CALL_FIELDS = ("called_at", "phone", "name", "question", "channel", "is_research", "competitor")


def _labelled(message) -> tuple[str, str]:
    """A message written "标签：原因" as ``(reason, message)`` for core.errors.invalid:
    the whole message on top, the reason next to the field."""
    message = str(message)
    return (message.split("：", 1)[1] if "：" in message else message), message


def as_post(value) -> str:
    """A post (``floor``/``phone``) from a post or a reception kind (``visit``/``call``)."""
    value = str(value or "")
    if value in Post.values:
        return value
    if value in ReceptionKind.values:
        return POST_OF_KIND[ReceptionKind(value)]
    raise invalid("post", *_labelled(_("岗位：请选择接待（来访）或接听（来电）")))


def eligible_users(project):
    """Who may be on the roster and receive visitors or calls: active users holding
    ``customer.add`` on the project (consultants, supervisors, managers)."""
    ids = {
        m.user_id
        for m in Membership.objects.filter(project=project, user__is_active=True).select_related(
            "role"
        )
        if "customer.add" in (m.role.permissions or [])
    }
    return User.objects.filter(pk__in=ids).order_by("real_name", "username")


def _require_eligible(project, user, name: str):
    if user is None or not eligible_users(project).filter(pk=user.pk).exists():
        raise invalid(
            name,
            *_labelled(_("%(field)s：该用户不是本项目可接待的置业顾问") % {"field": _label(name)}),
        )


def _label(name: str) -> str:
    labels = {
        "user_ids": _("排班顾问"),
        "received_by": _("接听顾问"),
        "consultant": _("接待顾问"),
    }
    return str(labels.get(name, name))


def _user_brief(user) -> dict:
    return {"id": user.pk, "name": user.get_full_name()}


# --- roster -------------------------------------------------------------------------------


def roster_entries(project, date, post):
    return (
        RosterEntry.objects.filter(project=project, date=date, post=as_post(post))
        .select_related("user")
        .order_by("position")
    )


def roster_set(*, actor, project, date, post, user_ids) -> list[RosterEntry]:
    """The duty roster 排班 of one day and post, in the order of the rotation (seed 002
    万科 3). Replaces that day's order; a consultant's away flag is kept. Needs
    ``roster.manage``."""
    access.require_perm(actor, "roster.manage", project)
    post = as_post(post)
    if isinstance(date, str):
        date = coerce(RosterEntry(), "date", date)
    if date is None:
        raise invalid("date", *_labelled(_("日期：请填写日期")))
    if date < timezone.localdate():
        raise invalid("date", *_labelled(_("日期：不能修改过去日期的排班")))
    try:
        ids = [int(i) for i in user_ids]
    except (TypeError, ValueError) as exc:
        raise invalid("user_ids", *_labelled(_("排班顾问：无效的用户"))) from exc
    if len(set(ids)) != len(ids):
        raise invalid("user_ids", *_labelled(_("排班顾问：同一顾问在同一岗位只能排一次")))
    allowed = {u.pk: u for u in eligible_users(project).filter(pk__in=ids)}
    if len(allowed) != len(ids):
        raise invalid("user_ids", *_labelled(_("排班顾问：该用户不是本项目可接待的置业顾问")))
    with transaction.atomic():
        old = list(
            RosterEntry.objects.select_for_update()
            .filter(project=project, date=date, post=post)
            .order_by("pk")
        )
        away = {e.user_id for e in old if e.away}
        before = [e.user_id for e in sorted(old, key=lambda e: e.position)]
        RosterEntry.objects.filter(pk__in=[e.pk for e in old]).delete()
        entries = RosterEntry.objects.bulk_create(
            [
                RosterEntry(
                    project=project,
                    date=date,
                    post=post,
                    user=allowed[uid],
                    position=index,
                    away=uid in away,
                )
                for index, uid in enumerate(ids, start=1)
            ]
        )
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            project_id=project.pk,
            object_type="customers.rosterentry",
            object_id=f"{date.isoformat()}/{post}",
            object_repr=f"{_('排班')} {date.isoformat()} {Post(post).label}",
            changes={"user_ids": [before, ids]},
        )
    return entries


def roster_set_away(*, actor, entry, away: bool) -> RosterEntry:
    """Mark a consultant on the roster away 暂离 (or back). Away at their turn, they are
    skipped and not made up later. The supervisor (``roster.manage``) or the consultant
    themselves may set it."""
    if not (
        access.has_perm(actor, "roster.manage", entry.project_id)
        or (entry.user_id == actor.pk and access.has_perm(actor, "customer.add", entry.project_id))
    ):
        access.require_perm(actor, "roster.manage", entry.project_id)
    with transaction.atomic():
        entry = lock(entry)
        before = snapshot(entry)
        entry.away = bool(away)
        entry.save(update_fields=["away"])
        audit_update(actor=actor, obj=entry, before=before)
    return entry


# --- the rolling loop ---------------------------------------------------------------------


@dataclass
class Turn:
    """Who receives next, and who is passed over because away."""

    user: User | None
    skipped: list = field(default_factory=list)
    entry: RosterEntry | None = None


def _last_by_turn(project, date, kind):
    return (
        Reception.objects.filter(project=project, kind=kind, by_turn=True, at__date=date)
        .order_by("-at", "-pk")
        .values_list("consultant_id", flat=True)
        .first()
    )


def _turn(entries, last_user_id) -> Turn:
    """The next position after ``last_user_id`` that is not away, wrapping around."""
    entries = sorted(entries, key=lambda e: e.position)
    if not entries:
        return Turn(None)
    start = 0
    for index, entry in enumerate(entries):
        if entry.user_id == last_user_id:
            start = index + 1
            break
    skipped = []
    for step in range(len(entries)):
        entry = entries[(start + step) % len(entries)]
        if not entry.user.is_active:  # left the company (handover): never their turn
            continue
        if entry.away:
            skipped.append(entry.user)
            continue
        return Turn(entry.user, skipped, entry)
    return Turn(None, skipped)


def next_in_turn(project, date, post):
    """``(user, skipped_users)``: who receives the next visitor (``floor``) or call
    (``phone``) on ``date``: after the last by-turn reception of that post that day, the
    next roster position not away, wrapping around. ``user`` is None without a roster or
    when everyone is away."""
    post = as_post(post)
    entries = list(roster_entries(project, date, post))
    turn = _turn(entries, _last_by_turn(project, date, KIND_OF_POST[Post(post)]))
    return turn.user, turn.skipped


def _locked_turn(project, date, post) -> Turn:
    """The turn, read under the lock of the day's roster rows of the post (ordered by
    pk): concurrent receptions queue here and each sees the one before it."""
    entries = list(
        RosterEntry.objects.select_for_update()
        .filter(project=project, date=date, post=post)
        .order_by("pk")
    )
    users = {u.pk: u for u in User.objects.filter(pk__in=[e.user_id for e in entries])}
    for entry in entries:
        entry.user = users[entry.user_id]
    return _turn(entries, _last_by_turn(project, date, KIND_OF_POST[Post(post)]))


def _no_turn(turn: Turn, post) -> str:
    """Why nobody receives: everyone on duty is away, or nobody is on the roster."""
    if turn.skipped:
        return _("当前%(post)s岗的顾问均已暂离，无人可接待") % {"post": Post(post).label}
    return _("%(post)s：今日未排班，请先排班") % {"post": Post(post).label}


# --- receptions ---------------------------------------------------------------------------


def _reception(
    *, actor, project, kind, consultant, at, by_turn, skipped=(), customer=None, call=None, note=""
) -> Reception:
    reception = Reception.objects.create(
        project=project,
        kind=kind,
        consultant=consultant,
        customer=customer,
        call=call,
        at=at,
        by_turn=by_turn,
        skipped=[_user_brief(u) for u in skipped],
        note=(note or "")[:200],
        recorded_by=actor,
    )
    audit_create(actor=actor, obj=reception)
    return reception


def _own_project(obj, project, name):
    if obj is not None and obj.project_id != project.pk:
        raise invalid(
            name, *_labelled(_("%(field)s：不属于本项目") % {"field": obj._meta.verbose_name})
        )


def reception_take(
    *,
    actor,
    project,
    post=None,
    kind=None,
    customer=None,
    call=None,
    returning_customer=None,
    brought_by=None,
    note="",
) -> Reception:
    """Receive the next visitor (``floor``/``visit``) or call (``phone``/``call``).

    * ``returning_customer`` (an existing customer with an owner) goes to the owner,
      outside the loop: ``by_turn=False`` and the turn does not move; a return visit is
      recorded on the customer.
    * ``brought_by`` (老带新): an old customer bringing a new one counts as ONE reception,
      for the old customer's owner, outside the loop; ``customer`` is the new customer
      if already registered (registration is the registration service's).
    * Otherwise a new visitor (optionally ``customer``) or a valid call goes to the
      consultant next in turn, the turn moves on, and consultants skipped because away
      are recorded (and not made up later).
    * A competitor's research call (``call.is_research``) is recorded for whoever is on
      turn but does not move the turn.
    * ``kind=call`` without ``call`` records a blank call for the consultant on turn, to
      be completed (the morning check highlights what is missing).
    """
    access.require_perm(actor, "customer.add", project)
    post = as_post(post or kind)
    kind = KIND_OF_POST[Post(post)]
    for obj, name in (
        (customer, "customer"),
        (call, "call"),
        (returning_customer, "returning_customer"),
        (brought_by, "brought_by"),
    ):
        _own_project(obj, project, name)
    if kind == ReceptionKind.CALL and (returning_customer or brought_by):
        raise invalid("post", *_labelled(_("岗位：老客户到访请按来访接待")))
    if kind == ReceptionKind.VISIT and call is not None:
        raise invalid("call", *_labelled(_("来电：来电请按来电接待")))
    with transaction.atomic():
        now = timezone.now()
        if call is not None:
            call = lock(call)
            if call.receptions.exists():
                raise conflict(_("该来电已有接待记录"), "call")
        owner_customer = returning_customer or brought_by
        if (
            owner_customer is not None
            and owner_customer.owner_id
            and owner_customer.owner.is_active
        ):
            # Goes to the owner, not to the queue; the turn stays where it is.
            consultant, by_turn, skipped = owner_customer.owner, False, []
            if brought_by is not None and not note:
                note = _("老带新：%(name)s") % {"name": brought_by.name}
        else:
            # A new visitor, a valid call, or an old customer nobody owns: by turn.
            turn = _locked_turn(project, timezone.localdate(now), post)
            # The time is read under the lock, so the order of ``at`` is the order of the
            # turns even when receptions queue on the lock.
            now = timezone.now()
            if turn.user is None:
                raise invalid("post", _no_turn(turn, post))
            research = call is not None and call.is_research
            consultant, by_turn = turn.user, not research
            skipped = [] if research else turn.skipped
            if kind == ReceptionKind.CALL:
                if call is None:
                    call = CallRecord.objects.create(
                        project=project, received_by=consultant, called_at=now
                    )
                    audit_create(actor=actor, obj=call)
                elif call.received_by_id != consultant.pk:
                    before = snapshot(call)
                    call.received_by = consultant
                    call.save(update_fields=["received_by"])
                    audit_update(actor=actor, obj=call, before=before)
        if returning_customer is not None:
            # A return visit is recorded as a visit of the existing customer.
            visit = Visit.objects.create(
                customer=returning_customer,
                consultant=consultant,
                visited_at=now,
                is_first=False,
                note=(note or "")[:200],
            )
            audit_create(actor=actor, obj=visit)
        return _reception(
            actor=actor,
            project=project,
            kind=kind,
            consultant=consultant,
            at=now,
            by_turn=by_turn,
            skipped=skipped,
            customer=returning_customer or customer,
            call=call,
            note=note,
        )


def reception_counts(project, date) -> dict[int, dict[str, int]]:
    """``{user_id: {"visit": n, "call": n}}`` for the day; research calls count in no
    statistic (seed 002 北京 1.1.2(5))."""
    counts: dict[int, dict[str, int]] = {}
    rows = Reception.objects.filter(project=project, at__date=date).exclude(call__is_research=True)
    for consultant_id, kind in rows.values_list("consultant_id", "kind"):
        counts.setdefault(consultant_id, {"visit": 0, "call": 0})[kind] += 1
    return counts


# --- call records -------------------------------------------------------------------------


def _clean_call_data(project, data: dict, call: CallRecord) -> dict:
    """Coerce and check the call fields of ``data`` onto ``call`` (in place)."""
    for name in CALL_FIELDS:
        if name not in data:
            continue
        value = data[name]
        if name == "phone":
            value = normalize_phone(value, "phone") if str(value or "").strip() else ""
        elif name == "channel":
            if value not in (None, ""):
                pk = value.pk if isinstance(value, Channel) else value
                value = Channel.objects.filter(project=project, pk=pk).first()
                if value is None:
                    raise invalid("channel", *_labelled(_("认知途径：请选择本项目的认知途径")))
            else:
                value = None
        elif name in ("name", "question", "competitor"):
            value = str(value or "").strip()
        elif name == "is_research":
            value = bool(coerce(call, name, value)) if value not in (None, "") else False
        else:
            value = coerce(call, name, value)
        setattr(call, name, value)
    if call.called_at is None:
        raise invalid("called_at", *_labelled(_("来电时间：请填写来电时间")))
    if call.called_at > timezone.now() + datetime.timedelta(minutes=5):
        raise invalid("called_at", *_labelled(_("来电时间：不能晚于现在")))
    if call.is_research and not call.competitor:
        raise invalid("competitor", *_labelled(_("同行单位：同行调研来电须填写同行单位名称")))
    if not call.is_research:
        call.competitor = ""
    for name, limit in (("name", 50), ("question", 200), ("competitor", 100)):
        if len(getattr(call, name)) > limit:
            verbose = CallRecord._meta.get_field(name).verbose_name
            raise invalid(
                name, *_labelled(_("%(field)s：最多 %(n)s 个字") % {"field": verbose, "n": limit})
            )
    return data


def _link_by_phone(call: CallRecord):
    if call.phone and call.customer_id is None:
        call.customer = (
            Customer.objects.filter(
                project_id=call.project_id, phone=call.phone, anonymized_at__isnull=True
            )
            .order_by("registered_at")
            .first()
        )


def call_record_create(*, actor, project, data: dict, take_turn: bool = True) -> CallRecord:
    """A call record 来电登记 (seed 002 rule 4: a call is recorded, not registered): time,
    number (normalized), name, question, channel; a competitor's research call is flagged
    with the company's name. ``received_by`` is the consultant on phone duty by turn
    unless given; with ``take_turn`` the call is recorded as a reception (a research call
    or a call given to someone out of turn does not move the turn). A number that belongs
    to a customer of the project links the call to that customer."""
    access.require_perm(actor, "customer.add", project)
    data = dict(data)
    stamped = not data.get("called_at")
    if stamped:
        data["called_at"] = timezone.now()
    call = CallRecord(project=project)
    _clean_call_data(project, data, call)
    received_by = data.get("received_by")
    if received_by not in (None, "") and not isinstance(received_by, User):
        received_by = User.objects.filter(pk=received_by).first()
        if received_by is None:
            raise invalid("received_by", *_labelled(_("接听顾问：无效的用户")))
    if received_by not in (None, ""):
        _require_eligible(project, received_by, "received_by")
    else:
        received_by = None
    _link_by_phone(call)
    with transaction.atomic():
        turn = Turn(None)
        if take_turn or received_by is None:
            turn = _locked_turn(project, timezone.localdate(call.called_at), Post.PHONE)
            if stamped:  # read under the lock: the order of the times is the turns' order
                call.called_at = timezone.now()
        if received_by is None:
            if turn.user is None:
                message = _("接听顾问：当日来电岗无人值班，请指定接听顾问")
                raise invalid("received_by", *_labelled(message))
            received_by = turn.user
        call.received_by = received_by
        call.save(force_insert=True)
        audit_create(actor=actor, obj=call)
        if take_turn:
            by_turn = (
                not call.is_research and turn.user is not None and turn.user.pk == received_by.pk
            )
            _reception(
                actor=actor,
                project=project,
                kind=ReceptionKind.CALL,
                consultant=received_by,
                at=call.called_at,
                by_turn=by_turn,
                skipped=turn.skipped if by_turn else [],
                customer=call.customer,
                call=call,
            )
    return call


def _may_edit_call(actor, call) -> bool:
    if access.has_perm(actor, "roster.manage", call.project_id):
        return True
    return (
        call.received_by_id == actor.pk
        and call.confirmed_at is None
        and access.has_perm(actor, "customer.add", call.project_id)
    )


def call_update(*, actor, call, data: dict, confirm: bool = False) -> CallRecord:
    """Correct a call's fields: the supervisor (``roster.manage``) at the morning check,
    which also confirms it (``confirm``); the receiving consultant while unconfirmed."""
    if not _may_edit_call(actor, call):
        access.require_perm(actor, "roster.manage", call.project_id)
    if confirm:
        access.require_perm(actor, "roster.manage", call.project_id)
    with transaction.atomic():
        call = lock(call)
        before = snapshot(call)
        _clean_call_data(call.project, dict(data), call)
        _link_by_phone(call)
        if confirm:
            call.confirmed_by = actor
            call.confirmed_at = timezone.now()
        call.save()
        audit_update(actor=actor, obj=call, before=before, extra={"morning_check": confirm})
    return call


def morning_confirm(*, actor, call) -> CallRecord:
    """The supervisor confirms a call at the morning check (seed 001: by 10:00)."""
    access.require_perm(actor, "roster.manage", call.project_id)
    with transaction.atomic():
        call = lock(call)
        if call.confirmed_at is not None:
            return call
        before = snapshot(call)
        call.confirmed_by = actor
        call.confirmed_at = timezone.now()
        call.save(update_fields=["confirmed_by", "confirmed_at"])
        audit_update(actor=actor, obj=call, before=before, extra={"morning_check": True})
    return call


def call_link_customer(*, actor, call, customer) -> CallRecord:
    """A caller who later visits is linked to their customer record."""
    if not (
        access.has_perm(actor, "roster.manage", call.project_id)
        or (
            call.received_by_id == actor.pk
            and access.has_perm(actor, "customer.add", call.project_id)
        )
        or (customer is not None and customer.owner_id == actor.pk)
    ):
        access.require_perm(actor, "roster.manage", call.project_id)
    if customer is None:
        raise invalid("customer", *_labelled(_("客户：请选择客户")))
    if customer.project_id != call.project_id:
        raise invalid("customer", *_labelled(_("客户：不属于本项目")))
    with transaction.atomic():
        call = lock(call)
        before = snapshot(call)
        call.customer = customer
        call.save(update_fields=["customer"])
        audit_update(actor=actor, obj=call, before=before)
    return call


def call_missing(call: CallRecord) -> list[str]:
    """Mandatory fields a call record lacks (for the morning check)."""
    if call.is_research:
        return [] if call.competitor else ["competitor"]
    return [name for name in ("phone", "name", "question") if not getattr(call, name)]


def visit_missing(visit: Visit) -> list[str]:
    """Mandatory registration fields (name, phone, wanted layout; seed 002 rule 2) the
    visit's customer lacks."""
    customer = visit.customer
    return [name for name in ("name", "phone", "wanted_layout") if not getattr(customer, name)]


# --- the morning check --------------------------------------------------------------------


@dataclass
class ConsultantDay:
    user: User
    calls: list = field(default_factory=list)
    research_calls: list = field(default_factory=list)
    visits: list = field(default_factory=list)
    unregistered: list = field(default_factory=list)

    @property
    def missing_count(self) -> int:
        return (
            sum(1 for c in self.calls + self.research_calls if c.missing)
            + sum(1 for v in self.visits if v.missing)
            + len(self.unregistered)
        )

    @property
    def unconfirmed_count(self) -> int:
        return sum(1 for c in self.calls + self.research_calls if c.confirmed_at is None)


def morning_check(project, date=None) -> list[ConsultantDay]:
    """Yesterday's (or ``date``'s) calls and visits per consultant, each call and visit
    annotated with ``missing`` (the names of its missing mandatory fields); visitors
    received by turn but never registered are listed too. Research calls are listed
    apart (they count in no statistic)."""
    date = date or timezone.localdate() - datetime.timedelta(days=1)
    days: dict[int, ConsultantDay] = {}

    def day(user):
        if user.pk not in days:
            days[user.pk] = ConsultantDay(user)
        return days[user.pk]

    calls = (
        CallRecord.objects.filter(project=project, called_at__date=date)
        .select_related("received_by", "channel", "confirmed_by", "customer")
        .order_by("called_at", "pk")
    )
    for call in calls:
        call.missing = call_missing(call)
        d = day(call.received_by)
        (d.research_calls if call.is_research else d.calls).append(call)
    visits = (
        Visit.objects.filter(customer__project=project, visited_at__date=date)
        .select_related("consultant", "customer", "brought_by")
        .order_by("visited_at", "pk")
    )
    for visit in visits:
        visit.missing = visit_missing(visit)
        day(visit.consultant).visits.append(visit)
    unregistered = (
        Reception.objects.filter(
            project=project, kind=ReceptionKind.VISIT, at__date=date, customer__isnull=True
        )
        .select_related("consultant")
        .order_by("at", "pk")
    )
    for reception in unregistered:
        day(reception.consultant).unregistered.append(reception)
    return sorted(days.values(), key=lambda d: (d.user.get_full_name(), d.user.pk))


# --- the morning check's sign-off (signoffs engine) -----------------------------------------

MORNING_SIGNOFF = "morning_check"


def morning_figures(project, day) -> dict:
    """What the supervisor's 晨检 sign-off freezes: the day's calls and visits, and how
    many calls were unconfirmed and records incomplete when it was signed."""
    days = morning_check(project, day)
    return {
        "calls": sum(len(d.calls) for d in days),
        "research_calls": sum(len(d.research_calls) for d in days),
        "visits": sum(len(d.visits) for d in days),
        "unregistered": sum(len(d.unregistered) for d in days),
        "unconfirmed": sum(d.unconfirmed_count for d in days),
        "missing": sum(d.missing_count for d in days),
    }


def morning_labels() -> dict:
    return {
        "calls": _("来电"),
        "research_calls": _("同行调研来电"),
        "visits": _("来访"),
        "unregistered": _("未登记的接待"),
        "unconfirmed": _("未核查的来电"),
        "missing": _("缺必填项"),
    }


def traffic_days(project, start, end) -> set:
    """The days with calls or visits (the kept daily figures, ``DailyTraffic``)."""
    from django.db.models import Q

    from .models import DailyTraffic

    return set(
        DailyTraffic.objects.filter(project=project, day__gte=start, day__lte=end)
        .filter(
            Q(calls__gt=0)
            | Q(research_calls__gt=0)
            | Q(first_visits__gt=0)
            | Q(returning_visits__gt=0)
        )
        .values_list("day", flat=True)
        .distinct()
    )


def calls_visible(user, project):
    """Call records the user may see: consultants their own (``customer.view_own``),
    supervisors and the office all of the project (``customer.view``)."""
    return (
        CallRecord.objects.restrict(user, "view")
        .filter(project=project)
        .select_related("received_by", "channel", "customer", "confirmed_by")
    )


def receptions_of_day(project, date):
    return (
        Reception.objects.filter(project=project, at__date=date)
        .select_related("consultant", "customer", "call", "recorded_by")
        .order_by("-at", "-pk")
    )


def returning_candidates(project, tail: str):
    """Existing customers whose phone ends with ``tail`` (the front desk's search for a
    returning customer); anonymized ones are never found."""
    tail = "".join(ch for ch in str(tail or "") if ch.isdigit())[-4:]
    if len(tail) != 4:
        return Customer.objects.none()
    return (
        Customer.objects.filter(project=project, phone_tail=tail, anonymized_at__isnull=True)
        .select_related("owner")
        .order_by("-registered_at")[:20]
    )
