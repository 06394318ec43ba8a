"""离职交接: a departing consultant's customers handed over to colleagues (seed 002 北京售楼处
客户管理制度 §4: 4.1 未成交来电客户, 4.2 未成交来访客户, 4.3 已成交客户; PRODUCT.md "A
departing consultant's customers are handed over: open calls, open visits and closed
customers, each explicitly").

Rules:

* Only a holder of ``customer.assign`` on the project (supervisor, manager, director)
  hands over, one project at a time.
* Three groups, each handed over explicitly: the open calls (call records the consultant
  received that are linked to no customer; competitors' research calls are no prospects
  and stay), the open visit customers (owned, not 成交, not anonymized) and the closed
  customers (owned, 成交).
* Two modes: ``by_group`` gives each group to the colleague chosen for it; ``even``
  splits everything round-robin over the chosen colleagues, in registration order
  (calls by call time, customers by registration time, then id), the rotation running on
  from one group to the next so that the totals differ by one at most. Colleagues take
  their turns in the pinyin order of their names (then username), whatever order they
  were picked in, so the same choice always gives the same result.
* A recipient is an active member of the project who may own customers — the same
  eligibility as the reception roster (``reception.eligible_users``: ``customer.add``) —
  and never the departing consultant.
* An open customer's ownership restarts for the new owner (``LOUPAN_OWNERSHIP_DAYS``
  from now); the last follow-up stays the real one. A closed customer's ownership does
  not expire and is left as it is.
* History stays attributed: visits, follow-ups and receptions keep pointing at the
  departing consultant; only the owner of a customer and the receiver of an open call
  change. Each transfer is one audit entry (before/after owner, reason 离职交接, the
  handover's id).
* Optionally the account is deactivated in the same action, through
  ``accounts.services.user_set_active`` (sessions and API tokens end, audited), which
  needs ``user.manage`` over the user as everywhere else; it is refused while the
  consultant still owns customers or open calls in another project (hand those over
  there first), so that no customer is left with an inactive owner.
* All or nothing, in one transaction, with the rows locked (``SELECT … FOR UPDATE``
  ordered by pk); the selection is read again under the lock, and when the preview's
  counts are passed (``expected``) a change since the preview is refused (409).
"""

from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loupan.accounts import access
from loupan.accounts.models import Membership, User
from loupan.accounts.permissions import label
from loupan.accounts.services import may_deactivate, user_set_active
from loupan.audit.models import AuditEntry
from loupan.audit.services import audit_create, audit_update
from loupan.core.errors import DomainError, ErrorCode, PermissionDenied, invalid
from loupan.core.identity import display_phone
from loupan.core.masking import mask_phone
from loupan.core.snapshot import snapshot
from loupan.inventory.models import Project

from . import services
from .models import CallRecord, Customer, Handover, HandoverMode, Stage
from .reception import eligible_users

REASON = "离职交接"

# The three groups of seed 002 §4, in the order they are handed over.
GROUPS = ("calls", "open", "closed")
GROUP_LABELS = {
    "calls": gettext_lazy("未成交来电"),
    "open": gettext_lazy("未成交来访客户"),
    "closed": gettext_lazy("已成交客户"),
}
# The field naming the recipient of each group in ``by_group`` mode (forms and API).
GROUP_FIELDS = {"calls": "calls_to", "open": "open_to", "closed": "closed_to"}


# --- selectors ----------------------------------------------------------------------------


def open_calls(project, user):
    """4.1 未成交来电: calls ``user`` received that are linked to no customer (research
    calls excluded), in call order."""
    return CallRecord.objects.filter(
        project=project, received_by=user, customer__isnull=True, is_research=False
    ).order_by("called_at", "pk")


def _owned(project, user):
    return Customer.objects.filter(project=project, owner=user, anonymized_at__isnull=True)


def open_customers(project, user):
    """4.2 未成交来访: customers ``user`` owns that are not 成交, in registration order."""
    return _owned(project, user).exclude(stage=Stage.DEAL).order_by("registered_at", "pk")


def closed_customers(project, user):
    """4.3 已成交: customers ``user`` owns at stage 成交, in registration order."""
    return _owned(project, user).filter(stage=Stage.DEAL).order_by("registered_at", "pk")


def group_querysets(project, user) -> dict:
    return {
        "calls": open_calls(project, user),
        "open": open_customers(project, user),
        "closed": closed_customers(project, user),
    }


def recipient_choices(project, exclude=None):
    """Who may receive: active members of the project who may own customers."""
    qs = eligible_users(project)
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return qs


def departing_choices(project):
    """Who may be handed over: the project's members (active or already deactivated) and
    anyone who still owns customers or open calls in it (a revoked membership)."""
    members = Membership.objects.filter(project=project).values("user_id")
    owners = Customer.objects.filter(project=project, anonymized_at__isnull=True).values("owner_id")
    receivers = CallRecord.objects.filter(
        project=project, customer__isnull=True, is_research=False
    ).values("received_by_id")
    return (
        User.objects.filter(Q(pk__in=members) | Q(pk__in=owners) | Q(pk__in=receivers))
        .distinct()
        .order_by("-is_active", "real_name", "username")
    )


def handover_list(*, user, project):
    """Past handovers of the project, for holders of ``customer.assign`` there."""
    return (
        Handover.objects.restrict(user, "assign")
        .filter(project=project)
        .select_related("from_user", "actor")
    )


def handover_transfers(handover: Handover) -> list[dict]:
    """What went to whom, read back from the audit trail (one entry per transfer)."""
    entries = list(
        AuditEntry.objects.filter(
            project_id=handover.project_id, extra__handover=handover.pk
        ).order_by("id")
    )
    owner_keys = {"customers.customer": "owner_id", "customers.callrecord": "received_by_id"}
    ids = set()
    for entry in entries:
        key = owner_keys.get(entry.object_type)
        if key and key in entry.changes:
            ids.update(v for v in entry.changes[key] if v)
    names = {u.pk: u.get_full_name() for u in User.objects.filter(pk__in=ids)}
    # Labels from the objects as they are now (a call's repr in the trail may hold the
    # caller's number; an anonymized customer's old name is not shown again).
    wanted = {"customers.customer": set(), "customers.callrecord": set()}
    for entry in entries:
        if entry.object_type in wanted:
            wanted[entry.object_type].add(int(entry.object_id))
    labels = {
        ("customers.customer", str(c.pk)): item_label(c)
        for c in Customer.objects.filter(pk__in=wanted["customers.customer"])
    }
    labels.update(
        {
            ("customers.callrecord", str(c.pk)): item_label(c)
            for c in CallRecord.objects.filter(pk__in=wanted["customers.callrecord"])
        }
    )
    rows = []
    for entry in entries:
        key = owner_keys.get(entry.object_type)
        if not key or key not in entry.changes:
            continue
        before, after = entry.changes[key]
        group = entry.extra.get("group", "")
        rows.append(
            {
                "group": group,
                "group_label": GROUP_LABELS.get(group, group),
                "object_type": entry.object_type,
                "object_id": entry.object_id,
                "object_repr": labels.get((entry.object_type, entry.object_id), "—"),
                "from": names.get(before, before),
                "to": names.get(after, after),
                "to_id": after,
            }
        )
    return rows


def item_label(obj) -> str:
    """A customer by name; a call by its time and the caller's name or masked number
    (the number itself is not for lists)."""
    if isinstance(obj, Customer):
        return obj.name

    who = obj.name or (mask_phone(display_phone(obj.phone)) if obj.phone else "")
    when = timezone.localtime(obj.called_at).strftime("%Y-%m-%d %H:%M")
    return f"{when} {who}".strip()


# --- the plan -----------------------------------------------------------------------------


@dataclass
class Plan:
    """Who gets what: the answer of the preview and what the execution applies."""

    project: object
    from_user: User
    mode: str
    reason: str
    deactivate: bool
    recipients: list = field(default_factory=list)
    items: dict = field(default_factory=dict)  # group -> [object]
    assignments: dict = field(default_factory=dict)  # group -> [(object, User)]
    warnings: list = field(default_factory=list)

    @property
    def counts(self) -> dict:
        return {g: len(self.items.get(g, [])) for g in GROUPS}

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def groups(self) -> list[dict]:
        """One row per group: label, count and who receives how many."""
        rows = []
        for g in GROUPS:
            per = Counter(u.pk for _obj, u in self.assignments.get(g, []))
            rows.append(
                {
                    "key": g,
                    "label": GROUP_LABELS[g],
                    "count": len(self.items.get(g, [])),
                    "to": [(u, per[u.pk]) for u in self.recipients if per[u.pk]],
                    "assignments": self.assignments.get(g, []),
                    "rows": [
                        {"label": item_label(obj), "to": u}
                        for obj, u in self.assignments.get(g, [])
                    ],
                }
            )
        return rows

    @property
    def per_recipient(self) -> list[dict]:
        """One row per colleague: how many of each group they receive."""
        rows = []
        for user in self.recipients:
            row = {"user": user, "id": user.pk, "name": user.get_full_name()}
            for g in GROUPS:
                row[g] = sum(1 for _obj, u in self.assignments.get(g, []) if u.pk == user.pk)
            row["total"] = sum(row[g] for g in GROUPS)
            rows.append(row)
        return rows


def _check_recipient(from_user, user, name: str, eligible: set[int]) -> None:
    if user is None:
        raise invalid(name, _("请选择接收人"))
    if user.pk == from_user.pk:
        raise invalid(name, _("不能交接给离职顾问本人"))
    if not user.is_active:
        raise invalid(name, _("接收人 %(name)s 的账号已停用") % {"name": user.get_full_name()})
    if user.pk not in eligible:
        raise invalid(
            name,
            _("接收人 %(name)s 不是本项目可接收客户的置业顾问") % {"name": user.get_full_name()},
        )


def can_deactivate(actor, user) -> bool:
    """The accounts rule for deactivating at a handover: ``user.manage``, or the
    supervisor closing a consultant's account (``accounts.services.may_offboard``)."""
    return may_deactivate(actor, user, offboarding=True)


def open_elsewhere(project, user) -> list[str]:
    """Names of the other projects where ``user`` still owns customers or open calls."""
    ids = set(
        Customer.objects.filter(owner=user, anonymized_at__isnull=True)
        .exclude(project=project)
        .values_list("project_id", flat=True)
    )
    ids |= set(
        CallRecord.objects.filter(received_by=user, customer__isnull=True, is_research=False)
        .exclude(project=project)
        .values_list("project_id", flat=True)
    )
    return list(Project.objects.filter(pk__in=ids).order_by("pk").values_list("name", flat=True))


def rotation_key(user) -> tuple:
    """Colleagues take turns in the pinyin order of their names (李 before 周), then by
    username: the same choice gives the same split on every database."""
    from pypinyin import lazy_pinyin

    return (" ".join(lazy_pinyin(user.real_name or "")), user.real_name, user.username, user.pk)


def _reason(note: str) -> str:
    note = (note or "").strip()
    return f"{REASON}：{note}"[:200] if note else REASON


def _check_request(*, actor, project, from_user, mode, to, recipients, deactivate):
    """Everything that does not depend on the rows: returns the ordered recipients and,
    for ``by_group``, the recipient of each group."""
    access.require_perm(actor, "customer.assign", project)
    if from_user is None:
        raise invalid("from_user", _("请选择离职顾问"))
    if mode not in HandoverMode.values:
        raise invalid("mode", _("请选择交接方式"))
    if not departing_choices(project).filter(pk=from_user.pk).exists():
        raise invalid("from_user", _("该用户不是本项目的成员"))
    if deactivate:
        if from_user.pk == actor.pk:
            raise invalid("deactivate", _("不能停用自己的账号"))
        if from_user.is_active and not can_deactivate(actor, from_user):
            raise PermissionDenied(
                _("停用账号需要权限：%(perm)s；请只交接客户，由系统管理员停用账号。")
                % {"perm": label("user.manage")}
            )
        elsewhere = open_elsewhere(project, from_user)
        if elsewhere:
            raise invalid(
                "deactivate",
                _("该顾问在其他项目（%(names)s）仍有客户或来电未交接，请先在该项目交接后再停用账号")
                % {"names": "、".join(elsewhere)},
            )
    eligible = set(recipient_choices(project).values_list("pk", flat=True))
    to = dict(to or {})
    if mode == HandoverMode.BY_GROUP:
        for g, user in to.items():
            if user is not None:
                _check_recipient(from_user, user, GROUP_FIELDS[g], eligible)
        chosen = [u for u in to.values() if u is not None]
    else:
        chosen = [u for u in (recipients or []) if u is not None]
        if not chosen:
            raise invalid("recipients", _("请至少选择一位接收人"))
        for user in chosen:
            _check_recipient(from_user, user, "recipients", eligible)
    unique = {u.pk: u for u in chosen}
    ordered = sorted(unique.values(), key=rotation_key)
    return ordered, to


def _assign(plan: Plan, to: dict) -> None:
    if plan.mode == HandoverMode.BY_GROUP:
        for g in GROUPS:
            items = plan.items[g]
            if items and to.get(g) is None:
                raise invalid(
                    GROUP_FIELDS[g],
                    _("%(group)s有 %(n)s 条，请选择接收人")
                    % {"group": GROUP_LABELS[g], "n": len(items)},
                )
            plan.assignments[g] = [(obj, to[g]) for obj in items]
        return
    # Round-robin in registration order, the rotation running on across the groups.
    cursor = 0
    for g in GROUPS:
        plan.assignments[g] = []
        for obj in plan.items[g]:
            plan.assignments[g].append((obj, plan.recipients[cursor % len(plan.recipients)]))
            cursor += 1


def _plan(*, project, from_user, mode, reason, deactivate, recipients, to, items) -> Plan:
    plan = Plan(
        project=project,
        from_user=from_user,
        mode=str(mode),
        reason=reason,
        deactivate=bool(deactivate),
        recipients=recipients,
        items=items,
    )
    if plan.total == 0 and not plan.deactivate:
        raise invalid("from_user", _("该顾问在本项目没有需要交接的客户或来电"))
    _assign(plan, to)
    if plan.mode == HandoverMode.BY_GROUP:
        # Only those who receive something are recipients of a by-group handover.
        used = {u.pk for g in GROUPS for _obj, u in plan.assignments[g]}
        plan.recipients = [u for u in plan.recipients if u.pk in used]
    if not from_user.is_active:
        plan.warnings.append(_("该账号已停用。"))
    return plan


def handover_preview(
    *,
    actor,
    project,
    from_user,
    mode,
    to: dict | None = None,
    recipients=None,
    deactivate: bool = False,
    note: str = "",
) -> Plan:
    """The dry run: the counts per group and who gets what, checked as the execution
    would check it; nothing is written.

    ``to`` maps a group (``calls``, ``open``, ``closed``) to its recipient in
    ``by_group`` mode; ``recipients`` lists the colleagues of ``even`` mode."""
    ordered, to = _check_request(
        actor=actor,
        project=project,
        from_user=from_user,
        mode=mode,
        to=to,
        recipients=recipients,
        deactivate=deactivate,
    )
    items = {g: list(qs) for g, qs in group_querysets(project, from_user).items()}
    return _plan(
        project=project,
        from_user=from_user,
        mode=mode,
        reason=_reason(note),
        deactivate=deactivate,
        recipients=ordered,
        to=to,
        items=items,
    )


def handover_execute(
    *,
    actor,
    project,
    from_user,
    mode,
    to: dict | None = None,
    recipients=None,
    deactivate: bool = False,
    note: str = "",
    expected: dict | None = None,
) -> Handover:
    """Hand the departing consultant's open calls, open customers and closed customers
    over (seed 002 §4), in one transaction with the rows locked, one audit entry per
    transfer; optionally deactivate the account through the accounts service. With
    ``expected`` (the preview's counts per group) a change since the preview is refused
    with ``conflict``."""
    ordered, to = _check_request(
        actor=actor,
        project=project,
        from_user=from_user,
        mode=mode,
        to=to,
        recipients=recipients,
        deactivate=deactivate,
    )
    with transaction.atomic():
        # Lock in one order (customers, then calls, each by pk); the selection is read
        # again under the lock, so a customer reassigned meanwhile is not taken along.
        customers = list(
            Customer.objects.select_for_update()
            .filter(project=project, owner=from_user, anonymized_at__isnull=True)
            .order_by("pk")
        )
        calls = list(open_calls(project, from_user).select_for_update().order_by("pk"))
        by_registration = sorted(customers, key=lambda c: (c.registered_at, c.pk))
        items = {
            "calls": sorted(calls, key=lambda c: (c.called_at, c.pk)),
            "open": [c for c in by_registration if c.stage != Stage.DEAL],
            "closed": [c for c in by_registration if c.stage == Stage.DEAL],
        }
        plan = _plan(
            project=project,
            from_user=from_user,
            mode=mode,
            reason=_reason(note),
            deactivate=deactivate,
            recipients=ordered,
            to=to,
            items=items,
        )
        if expected is not None and any(
            int(expected.get(g, 0) or 0) != plan.counts[g] for g in GROUPS
        ):
            raise DomainError(
                ErrorCode.CONFLICT,
                _("待交接的客户或来电在预览后有变化，请重新预览后再确认"),
                {"expected": [_("数量已变化")]},
            )
        now = timezone.now()
        handover = Handover.objects.create(
            project=project,
            from_user=from_user,
            actor=actor,
            created_at=now,
            mode=plan.mode,
            calls_count=plan.counts["calls"],
            open_count=plan.counts["open"],
            closed_count=plan.counts["closed"],
            deactivated=False,
            reason=plan.reason,
            recipients=[
                {k: row[k] for k in ("id", "name", *GROUPS, "total")} for row in plan.per_recipient
            ],
        )
        expiry = services.ownership_expiry(now)
        for g in GROUPS:
            extra = {"reason": plan.reason, "handover": handover.pk, "group": g}
            for obj, user in plan.assignments[g]:
                before = snapshot(obj)
                if g == "calls":
                    obj.received_by = user
                    obj.save(update_fields=["received_by"])
                else:
                    obj.owner = user
                    fields = ["owner", "updated_at"]
                    if g == "open":
                        obj.ownership_expires_at = expiry
                        fields.append("ownership_expires_at")
                    obj.save(update_fields=fields)
                audit_update(actor=actor, obj=obj, before=before, extra=extra)
        if plan.deactivate and from_user.is_active:
            user_set_active(actor=actor, user=from_user, active=False, offboarding=True)
            handover.deactivated = True
            handover.save(update_fields=["deactivated"])
        audit_create(actor=actor, obj=handover)
    return handover
