"""Commissions 佣金 (issue 13 "Commissions"; seed 001 篇3 二(六) 结佣函; seed 002: the first
registration earns, a helper gets a team share).

* The plan 佣金方案 of a project: a rate on the contract amount (‰), paid in stages tied to
  events (e.g. 70% when 30% of the price has been received, 20% at loan disbursement,
  10% at delivery), and the share of an assisting colleague 协助人.
* The daily job (``commissions_due``, ``loupan run-due``) turns the deals' events into
  ``CommissionEntry`` rows — computed, never typed — and claws them back (negative
  entries) when a deal is cancelled or exchanged.
* The monthly statement 结佣函 per earner: the month's unsettled entries, reviewed and
  confirmed by the manager; a confirmed statement is frozen, and what is earned later
  goes to a later month's statement.

When each event happens (and the date an entry is earned on):

* 签约 ``contracted``: the deal's ``signed_on``.
* 回款达到比例 ``received_pct``: what the ledger holds toward the price (``received_of``:
  deposit and payments less refunds, carries and reversals, late fees apart) reaches
  ``threshold_pct`` of the deal total; dated the ``paid_on`` of the ledger entry that made
  it reach the threshold (for the last time, should a reversal have dropped it below).
* 贷款放款 ``loan_disbursed``: the deal's mortgage is 已放款 (its ``disbursed_on``); a
  deal with no mortgage file but loan items in its schedule: when the ledger has paid
  every loan item in full; a deal with neither a mortgage nor a loan item (one-off or
  instalment buyers): there is no loan to wait for, so the stage is earned when the whole
  price has been received (全款到账) — the office's usual reading of "at disbursement".
* 交付 ``delivered``: the deal's main unit is in the inventory status 交付 (``delivered``;
  dated by its status change). After-sales delivery is not built yet, so until something
  moves units to 交付 this stage waits.

No entry is earned before the contract is signed: an event that happened earlier (30%
paid before signing) is earned on ``signed_on``. Only contracted deals earn. A deal that
is cancelled (退房) or exchanged (换房) has every entry clawed back (dated the
cancellation, or the end of the exchanged deal); an exchange's new deal earns again on
its own events once it is signed (the old deal's money is carried to it).

Amounts: base = the deal total; the full commission = base × rate‰ rounded half up to the
fen; each stage's part = full × share% rounded half up to the fen, the last stage (in the
plan's order) taking the remainder, so that the parts sum to the full commission exactly.
With an assisting colleague, the colleague gets ``assist_share_pct`` of the stage's part
(rounded half up) and the consultant the rest, so that both sum to the part exactly.
"""

import calendar
import datetime
from collections import defaultdict
from decimal import Decimal

import django_filters
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loupan.accounts import access
from loupan.audit.services import audit_create, audit_record, audit_update
from loupan.core import xlsx
from loupan.core.errors import Code, DomainError, conflict, invalid
from loupan.core.money import ZERO, money, to_decimal
from loupan.core.snapshot import snapshot
from loupan.deals.models import Deal, DealStatus
from loupan.inventory.models import UnitStatus, UnitStatusChange

from .errors import PaymentError
from .models import (
    LOAN_KINDS,
    CommissionAssist,
    CommissionEntry,
    CommissionEvent,
    CommissionPlan,
    CommissionStage,
    CommissionStatement,
    LedgerEntry,
    Mortgage,
    MortgageStage,
    Purpose,
    ScheduleItem,
    StatementStatus,
)

HUNDRED = Decimal("100")
THOUSAND = Decimal("1000")
# Deals whose earned commission is taken back.
CLAWBACK_STATUSES = (DealStatus.CANCELLED, DealStatus.EXCHANGED)


class CommissionError(Code):
    STAGES_SUM = "stages_sum", 400, _("各结佣阶段的发放比例之和须为 100%")
    STAGE_IN_USE = "stage_in_use", 409, _("该结佣阶段已有佣金明细，不能删除")
    NO_PLAN = "no_plan", 409, _("本项目还没有佣金方案")
    SELF_CONFIRM = "self_confirm", 403, _("不能确认自己的结佣函")
    STATEMENT_EMPTY = "statement_empty", 409, _("结佣函没有佣金明细")


# --- small helpers ----------------------------------------------------------------------------


def _today(now=None) -> datetime.date:
    return timezone.localdate(now) if now else timezone.localdate()


def month_of(value) -> datetime.date:
    """The first day of a month given as a date or as ``YYYY-MM`` (``YYYY-MM-DD`` too)."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return value.replace(day=1)
    text = str(value or "").strip()
    try:
        year, month = text[:7].split("-")
        return datetime.date(int(year), int(month), 1)
    except (TypeError, ValueError) as exc:
        raise invalid("month", "月份格式应为 YYYY-MM") from exc


def month_end(month: datetime.date) -> datetime.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def _decimal(value, field: str, *, low=None, high=None, low_open=False, places=2) -> Decimal:
    """A number from a form or a request body within (low, high]; floats refused."""
    try:
        number = to_decimal(value)
    except (TypeError, ValueError) as exc:
        raise invalid(field, "须为数字") from exc
    if not number.is_finite():
        raise invalid(field, "须为数字")
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise invalid(field, f"最多 {places} 位小数")
    if low is not None and (number <= low if low_open else number < low):
        raise invalid(field, f"须大于 {low}" if low_open else f"不能小于 {low}")
    if high is not None and number > high:
        raise invalid(field, f"不能大于 {high}")
    return number


def plan_of(project) -> CommissionPlan | None:
    return CommissionPlan.objects.filter(project_id=getattr(project, "pk", project)).first()


def stages_of(project) -> list[CommissionStage]:
    return list(
        CommissionStage.objects.filter(project_id=getattr(project, "pk", project)).order_by(
            "sort_order", "pk"
        )
    )


# --- the plan -------------------------------------------------------------------------------


def can_configure(user, project) -> bool:
    return access.has_perm(user, "commission.configure", project)


def can_confirm(user, project) -> bool:
    return access.has_perm(user, "commission.confirm", project)


def _stage_rows(project, stages) -> list[dict]:
    """Check the stage rows of a plan: ``name``, ``event``, ``threshold_pct`` (回款达到
    比例 only, 0 < t ≤ 100), ``share_pct`` (0 < s ≤ 100, all summing to 100), optional
    ``id`` of an existing stage of the project; errors name the row (``stages[1].share_pct``)."""
    if not isinstance(stages, list | tuple) or not stages:
        raise invalid("stages", "至少设置一个结佣阶段")
    existing = {s.pk: s for s in stages_of(project)}
    rows, seen = [], set()
    for n, raw in enumerate(stages):
        path = f"stages[{n}]"
        if not isinstance(raw, dict):
            raise invalid(path, "格式错误")
        stage_id = raw.get("id")
        if stage_id not in (None, ""):
            try:
                stage_id = int(stage_id)
            except (TypeError, ValueError) as exc:
                raise invalid(f"{path}.id", "结佣阶段不存在") from exc
            if stage_id not in existing or stage_id in seen:
                raise invalid(f"{path}.id", "结佣阶段不存在")
            seen.add(stage_id)
        else:
            stage_id = None
        name = str(raw.get("name") or "").strip()
        if not name:
            raise invalid(f"{path}.name", "请填写阶段名称")
        if len(name) > 50:
            raise invalid(f"{path}.name", "名称不能超过 50 个字")
        event = raw.get("event")
        if event not in CommissionEvent.values:
            raise invalid(f"{path}.event", "请选择结佣条件")
        threshold = raw.get("threshold_pct")
        if event == CommissionEvent.RECEIVED_PCT:
            if threshold in (None, ""):
                raise invalid(f"{path}.threshold_pct", "回款达到比例须填写回款比例")
            threshold = _decimal(
                threshold, f"{path}.threshold_pct", low=Decimal(0), high=HUNDRED, low_open=True
            )
        else:
            threshold = None
        share = raw.get("share_pct")
        if share in (None, ""):
            raise invalid(f"{path}.share_pct", "请填写发放比例")
        share = _decimal(share, f"{path}.share_pct", low=Decimal(0), high=HUNDRED, low_open=True)
        rows.append(
            {
                "id": stage_id,
                "name": name,
                "event": event,
                "threshold_pct": threshold,
                "share_pct": share,
            }
        )
    total = sum((r["share_pct"] for r in rows), ZERO)
    if total != HUNDRED:
        raise invalid(
            "stages",
            f"各阶段发放比例之和为 {total.normalize():f}%，须为 100%",
            code=CommissionError.STAGES_SUM,
        )
    return rows


def commission_plan_set(
    *, actor, project, rate_permille, assist_share_pct=0, stages
) -> CommissionPlan:
    """Set the project's commission plan 佣金方案 (``commission.configure``): the rate on
    the contract amount in ‰ (0 < rate ≤ 100), the assisting colleague's share of each
    stage in % (0–100, seed 002), and its stages in order (``_stage_rows``). A stage
    given with its ``id`` is changed in place; an existing stage left out is removed,
    which is refused (``stage_in_use``) once it has commission entries. Entries already
    earned keep their amounts; the plan applies to what is earned from now on."""
    access.require_perm(actor, "commission.configure", project)
    rate = _decimal(
        rate_permille, "rate_permille", low=Decimal(0), high=HUNDRED, low_open=True, places=3
    )
    assist = _decimal(assist_share_pct or 0, "assist_share_pct", low=Decimal(0), high=HUNDRED)
    rows = _stage_rows(project, stages)
    with transaction.atomic():
        plan = CommissionPlan.objects.select_for_update().filter(project=project).first()
        created = plan is None
        if created:
            plan = CommissionPlan(project=project)
            before = None
        else:
            before = snapshot(plan)
        old_stages = [
            [s.pk, s.name, s.event, str(s.threshold_pct or ""), str(s.share_pct)]
            for s in stages_of(project)
        ]
        plan.rate_permille, plan.assist_share_pct = rate, assist
        plan.save()
        kept = {r["id"] for r in rows if r["id"]}
        dropped = CommissionStage.objects.filter(project=project).exclude(pk__in=kept)
        used = dropped.filter(
            Exists(CommissionEntry.objects.filter(stage_id=OuterRef("pk")))
        ).first()
        if used is not None:
            raise conflict(
                f"结佣阶段「{used.name}」已有佣金明细，不能删除（可修改其名称与比例）。",
                "stages",
                CommissionError.STAGE_IN_USE,
            )
        dropped.delete()
        for order, row in enumerate(rows, start=1):
            values = {k: row[k] for k in ("name", "event", "threshold_pct", "share_pct")}
            if row["id"]:
                CommissionStage.objects.filter(pk=row["id"]).update(sort_order=order, **values)
            else:
                CommissionStage.objects.create(project=project, sort_order=order, **values)
        new_stages = [
            [s.pk, s.name, s.event, str(s.threshold_pct or ""), str(s.share_pct)]
            for s in stages_of(project)
        ]
        extra = {"stages": new_stages}
        if created:
            audit_create(actor=actor, obj=plan, extra=extra)
        elif audit_update(actor=actor, obj=plan, before=before, extra=extra) is None:
            if old_stages != new_stages:
                audit_record(
                    actor=actor,
                    action="update",
                    obj=plan,
                    changes={"stages": [old_stages, new_stages]},
                )
    return plan


def commission_assist_set(*, actor, deal: Deal, colleague=None) -> CommissionAssist | None:
    """Name (or, with ``None``, remove) the colleague who helped on a deal 协助人 (seed
    002: the first registration earns, a helper gets a team share). The colleague must be
    an active member of the project who sells (``deal.add``, as a consultant) and not the
    deal's own consultant; the deal must be subscribed or contracted. Stages earned
    before the change keep their split."""
    access.require_perm(actor, "commission.configure", deal.project_id)
    with transaction.atomic():
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        if deal.status not in (DealStatus.SUBSCRIBED, DealStatus.CONTRACTED):
            raise conflict(f"交易当前为「{deal.get_status_display()}」，不能设置协助人。")
        current = CommissionAssist.objects.select_for_update().filter(deal=deal).first()
        if colleague is None:
            if current is not None:
                pk, old, label = current.pk, current.colleague_id, str(current.colleague)
                current.delete()
                audit_record(
                    actor=actor,
                    action="delete",
                    object_type="payments.commissionassist",
                    object_id=pk,
                    object_repr=label,
                    project_id=deal.project_id,
                    changes={"deal": deal.pk, "colleague": [old, None]},
                )
            return None
        if colleague.pk == deal.consultant_id:
            raise invalid("colleague", "协助人不能是本交易的置业顾问")
        if not colleague.is_active or not access.has_perm(colleague, "deal.add", deal.project_id):
            raise invalid("colleague", "协助人须为本项目在职的置业顾问")
        if current is None:
            assist = CommissionAssist.objects.create(deal=deal, colleague=colleague)
            audit_record(
                actor=actor,
                action="create",
                obj=assist,
                project_id=deal.project_id,
                changes={"deal": deal.pk, "colleague": [None, colleague.pk]},
            )
            return assist
        if current.colleague_id != colleague.pk:
            old = current.colleague_id
            current.colleague = colleague
            current.save(update_fields=["colleague"])
            audit_record(
                actor=actor,
                action="update",
                obj=current,
                project_id=deal.project_id,
                changes={"deal": deal.pk, "colleague": [old, colleague.pk]},
            )
        return current


# --- amounts --------------------------------------------------------------------------------


def full_commission(plan: CommissionPlan, base) -> Decimal:
    """base × rate‰, half up to the fen."""
    return money(to_decimal(base) * plan.rate_permille / THOUSAND)


def stage_part(plan: CommissionPlan, stages, stage, base) -> Decimal:
    """The stage's part of the full commission: full × share%, half up to the fen; the
    last stage takes the remainder so that the parts sum to the full commission."""
    full = full_commission(plan, base)
    exact = to_decimal(base) * plan.rate_permille / THOUSAND
    if stages and stage.pk == stages[-1].pk and sum(s.share_pct for s in stages) == HUNDRED:
        others = sum((money(exact * s.share_pct / HUNDRED) for s in stages[:-1]), ZERO)
        return full - others
    return money(exact * stage.share_pct / HUNDRED)


def split_assist(part: Decimal, assist_pct) -> tuple[Decimal, Decimal]:
    """(consultant, colleague) of a stage's part: the colleague's share half up to the
    fen, the consultant the rest, so that both sum to ``part`` exactly."""
    colleague = money(part * to_decimal(assist_pct) / HUNDRED)
    return part - colleague, colleague


# --- events ---------------------------------------------------------------------------------


class DealFacts:
    """What the events of one deal need, read once and only when asked."""

    def __init__(self, deal: Deal, today: datetime.date):
        self.deal, self.today = deal, today
        self._ledger = None

    @property
    def ledger(self) -> list[tuple[datetime.date, Decimal, int | None]]:
        if self._ledger is None:
            self._ledger = list(
                LedgerEntry.objects.filter(deal_id=self.deal.pk, paid_on__lte=self.today)
                .exclude(purpose=Purpose.LATE_FEE)
                .order_by("paid_on", "pk")
                .values_list("paid_on", "amount", "item_id")
            )
        return self._ledger

    def reached(self, target: Decimal) -> datetime.date | None:
        """The day what was received toward the price reached ``target`` (for the last
        time), if it stands there now."""
        running, on = ZERO, None
        for paid_on, amount, _item in self.ledger:
            was = running
            running += amount
            if running >= target and was < target:
                on = paid_on
            elif running < target:
                on = None
        return on if running >= target else None

    def received_pct(self, threshold) -> datetime.date | None:
        return self.reached(money(to_decimal(self.deal.total) * threshold / HUNDRED))

    def loan_disbursed(self) -> datetime.date | None:
        mortgage = Mortgage.objects.filter(deal_id=self.deal.pk).first()
        if mortgage is not None:
            if mortgage.stage != MortgageStage.DISBURSED:
                return None
            return mortgage.disbursed_on or timezone.localdate(mortgage.stage_since)
        loans = {
            pk: amount
            for pk, amount in ScheduleItem.objects.filter(
                deal_id=self.deal.pk, live=True, kind__in=LOAN_KINDS
            ).values_list("pk", "amount")
        }
        if not loans:  # no loan at all: earned with the whole price (全款到账)
            return self.reached(money(self.deal.total))
        paid, last = defaultdict(lambda: ZERO), None
        for paid_on, amount, item_id in self.ledger:
            if item_id in loans:
                paid[item_id] += amount
                last = paid_on
        if all(paid[pk] >= amount for pk, amount in loans.items()):
            return last
        return None

    def delivered(self) -> datetime.date | None:
        unit = self.deal.unit
        if unit.status != UnitStatus.DELIVERED:
            return None
        change = (
            UnitStatusChange.objects.filter(unit=unit, to_status=UnitStatus.DELIVERED)
            .order_by("-created_at")
            .first()
        )
        return timezone.localdate(change.created_at) if change else self.today

    def happened(self, stage: CommissionStage) -> datetime.date | None:
        """The day the stage's event happened (not before the signing), or None."""
        if stage.event == CommissionEvent.CONTRACTED:
            on = self.deal.signed_on
        elif stage.event == CommissionEvent.RECEIVED_PCT:
            on = self.received_pct(stage.threshold_pct or HUNDRED)
        elif stage.event == CommissionEvent.LOAN_DISBURSED:
            on = self.loan_disbursed()
        elif stage.event == CommissionEvent.DELIVERED:
            on = self.delivered()
        else:
            on = None
        if on is None:
            return None
        return min(max(on, self.deal.signed_on), self.today)


# --- the daily job --------------------------------------------------------------------------


def _save(entries: list[CommissionEntry]) -> int:
    """Insert the entries of one deal and stage together, with their audit entries; a
    concurrent run that got there first (the unique constraint) leaves nothing to do."""
    try:
        with transaction.atomic():
            for entry in entries:
                entry.save(force_insert=True)
                audit_create(
                    actor=None,
                    obj=entry,
                    extra={"deal": entry.deal.number, "reason": "佣金自动计算"},
                )
    except IntegrityError:
        return 0
    return len(entries)


def _earn(plan, stages, deal: Deal, today) -> int:
    done = set(
        CommissionEntry.objects.filter(deal=deal, clawback=False).values_list("stage_id", flat=True)
    )
    pending = [s for s in stages if s.pk not in done]
    if not pending:
        return 0
    facts = DealFacts(deal, today)
    assist = CommissionAssist.objects.filter(deal=deal).first()
    created = 0
    for stage in pending:
        on = facts.happened(stage)
        if on is None:
            continue
        base = money(deal.total)
        part = stage_part(plan, stages, stage, base)
        mine, theirs = part, ZERO
        helped = (
            assist is not None
            and plan.assist_share_pct > 0
            and assist.colleague_id != deal.consultant_id
        )
        if helped:
            mine, theirs = split_assist(part, plan.assist_share_pct)
        common = {
            "project_id": deal.project_id,
            "deal": deal,
            "stage": stage,
            "base": base,
            "earned_on": on,
            "clawback": False,
            "rate_permille": plan.rate_permille,
            "share_pct": stage.share_pct,
        }
        rows = [CommissionEntry(earner_id=deal.consultant_id, assist=False, amount=mine, **common)]
        if helped:
            rows.append(
                CommissionEntry(
                    earner_id=assist.colleague_id,
                    assist=True,
                    amount=theirs,
                    assist_pct=plan.assist_share_pct,
                    **common,
                )
            )
        created += _save(rows)
    return created


def _ended_on(deal: Deal, today) -> datetime.date:
    cancellation = getattr(deal, "cancellation", None) if deal.status == "cancelled" else None
    if cancellation is not None:
        return timezone.localdate(cancellation.cancelled_at)
    if deal.ended_at:
        return timezone.localdate(deal.ended_at)
    return today


def _claw(today) -> int:
    """A negative entry for every earned entry of a cancelled or exchanged deal that has
    none yet (same earner, stage and share), dated the day the deal ended."""
    clawed = CommissionEntry.objects.filter(
        deal_id=OuterRef("deal_id"),
        earner_id=OuterRef("earner_id"),
        stage_id=OuterRef("stage_id"),
        clawback=True,
    )
    due = (
        CommissionEntry.objects.filter(clawback=False, deal__status__in=CLAWBACK_STATUSES)
        .exclude(Exists(clawed))
        .select_related("deal")
        .order_by("deal_id", "pk")
    )
    created = 0
    for entry in due:
        deal = entry.deal
        created += _save(
            [
                CommissionEntry(
                    project_id=entry.project_id,
                    deal=deal,
                    earner_id=entry.earner_id,
                    stage_id=entry.stage_id,
                    clawback=True,
                    assist=entry.assist,
                    base=entry.base,
                    rate_permille=entry.rate_permille,
                    share_pct=entry.share_pct,
                    assist_pct=entry.assist_pct,
                    amount=-entry.amount,
                    earned_on=max(_ended_on(deal, today), entry.earned_on),
                )
            ]
        )
    return created


def commissions_due(*, now=None) -> dict:
    """The daily job (``loupan run-due``): for every project with a plan, each contracted
    deal earns the stages whose event has happened (see the module's docstring), each
    stage once (the consultant's part and the colleague's); every entry of a cancelled or
    exchanged deal is clawed back once. Idempotent — run twice, nothing new — and safe
    under concurrency (the unique constraint on deal, earner, stage and clawback)."""
    today = _today(now)
    earned = 0
    for plan in CommissionPlan.objects.select_related("project").order_by("pk"):
        stages = stages_of(plan.project_id)
        if not stages:
            continue
        deals = (
            Deal.objects.filter(
                project_id=plan.project_id,
                status=DealStatus.CONTRACTED,
                signed_on__isnull=False,
                signed_on__lte=today,
                total__gt=0,
            )
            .select_related("unit")
            .order_by("pk")
        )
        for deal in deals:
            earned += _earn(plan, stages, deal, today)
    return {"commissions_earned": earned, "commissions_clawed": _claw(today)}


# --- statements -----------------------------------------------------------------------------


def statement_build(*, actor, project, month, consultant=None) -> list[CommissionStatement]:
    """Build the month's statements 结佣函 (``commission.confirm``): every entry not yet
    on a statement and earned by the end of ``month`` goes onto its earner's statement of
    that month (of ``consultant`` only, when given), created as a draft when there is
    none; the total is the sum of its entries. A month whose statement is already
    confirmed takes nothing more: those entries wait for a later month's statement.
    Returns the statements that were built or refreshed."""
    access.require_perm(actor, "commission.confirm", project)
    month = month_of(month)
    if month > _today().replace(day=1):
        raise invalid("month", "不能结算未来的月份")
    end = month_end(month)
    built = []
    with transaction.atomic():
        pending = CommissionEntry.objects.select_for_update().filter(
            project=project, statement__isnull=True, earned_on__lte=end
        )
        if consultant is not None:
            pending = pending.filter(earner=consultant)
        earners = sorted(set(pending.values_list("earner_id", flat=True)))
        for earner_id in earners:
            statement, created = CommissionStatement.objects.get_or_create(
                project=project, consultant_id=earner_id, month=month
            )
            statement = CommissionStatement.objects.select_for_update().get(pk=statement.pk)
            if statement.status != StatementStatus.DRAFT:
                continue
            before = None if created else snapshot(statement)
            moved = pending.filter(earner_id=earner_id).update(statement=statement)
            statement.total = money(statement.entries.aggregate(s=Sum("amount"))["s"] or ZERO)
            statement.save(update_fields=["total"])
            extra = {"entries_added": moved}
            if created:
                audit_create(actor=actor, obj=statement, extra=extra)
            else:
                audit_update(actor=actor, obj=statement, before=before, extra=extra)
            built.append(statement)
    return built


def statement_confirm(*, actor, statement: CommissionStatement) -> CommissionStatement:
    """The manager confirms a statement 结佣函 (``commission.confirm``, never the earner
    themself): it becomes 已确认 and frozen — its entries never move again and later
    entries go to a later month's statement."""
    access.require_perm(actor, "commission.confirm", statement.project_id)
    if actor.pk == statement.consultant_id:
        raise DomainError(CommissionError.SELF_CONFIRM, "不能确认自己的结佣函")
    with transaction.atomic():
        statement = CommissionStatement.objects.select_for_update().get(pk=statement.pk)
        if statement.status != StatementStatus.DRAFT:
            raise conflict("该结佣函已确认。", code=PaymentError.STATEMENT_CONFIRMED)
        total = statement.entries.aggregate(s=Sum("amount"))["s"]
        if total is None:
            raise conflict("结佣函没有佣金明细，不能确认。", code=CommissionError.STATEMENT_EMPTY)
        before = snapshot(statement)
        statement.total = money(total)
        statement.status = StatementStatus.CONFIRMED
        statement.confirmed_by, statement.confirmed_at = actor, timezone.now()
        statement.save()
        audit_update(actor=actor, obj=statement, before=before)
    return statement


# --- reads ----------------------------------------------------------------------------------


def statements_for(user, project=None):
    """The statements ``user`` may see (a consultant their own)."""
    qs = CommissionStatement.objects.restrict(user, "view").select_related(
        "consultant", "confirmed_by", "project"
    )
    return qs.filter(project=project) if project is not None else qs


def entries_for(user, project=None):
    """The commission entries ``user`` may see (a consultant their own)."""
    qs = CommissionEntry.objects.restrict(user, "view").select_related(
        "deal__unit", "deal__customer", "earner", "stage", "statement"
    )
    return qs.filter(project=project) if project is not None else qs


def statement_lines(statement: CommissionStatement) -> list[dict]:
    """The statement's entries for the page, the print and the xlsx: per deal, each
    entry with its stage, base, the rate and share it was computed with, the amount."""
    entries = statement.entries.select_related("deal__unit", "deal__customer", "stage").order_by(
        "deal__pk", "stage__sort_order", "clawback", "pk"
    )
    lines = []
    for e in entries:
        if e.clawback:
            kind = _("佣金追回")
        elif e.assist:
            kind = _("协助分成")
        else:
            kind = _("本人成交")
        lines.append(
            {
                "entry": e,
                "deal": e.deal,
                "number": e.deal.contract_number or e.deal.number,
                "unit": e.deal.unit.number,
                "customer": e.deal.customer.name,
                "stage": e.stage.name if e.stage else "",
                "kind": kind,
                "base": e.base,
                "rate": e.rate_permille,
                "share": e.share_pct,
                "assist_pct": e.assist_pct if e.assist else None,
                "amount": e.amount,
                "earned_on": e.earned_on,
            }
        )
    return lines


class StatementFilterSet(django_filters.FilterSet):
    """The statements' filters (the API; the list page filters the month): project,
    month (``YYYY-MM``), consultant, status."""

    project = django_filters.NumberFilter(label=_("项目"), field_name="project_id")
    month = django_filters.CharFilter(label=_("月份（YYYY-MM）"), method="filter_month")
    consultant = django_filters.NumberFilter(label=_("置业顾问"), field_name="consultant_id")
    status = django_filters.ChoiceFilter(label=_("状态"), choices=StatementStatus.choices)

    class Meta:
        model = CommissionStatement
        fields = ["project", "month", "consultant", "status"]

    def filter_month(self, queryset, name, value):
        return queryset.filter(month=month_of(value)) if value else queryset


class EntryFilterSet(django_filters.FilterSet):
    """The entries' filters: project, deal, earner, statement, month earned
    (``YYYY-MM``), settled (on a statement or not), clawback."""

    project = django_filters.NumberFilter(label=_("项目"), field_name="project_id")
    deal = django_filters.NumberFilter(label=_("交易"), field_name="deal_id")
    earner = django_filters.NumberFilter(label=_("获佣人"), field_name="earner_id")
    statement = django_filters.NumberFilter(label=_("结佣函"), field_name="statement_id")
    month = django_filters.CharFilter(label=_("发生月份（YYYY-MM）"), method="filter_month")
    settled = django_filters.BooleanFilter(label=_("已入结佣函"), method="filter_settled")
    clawback = django_filters.BooleanFilter(label=_("追回"))

    class Meta:
        model = CommissionEntry
        fields = ["project", "deal", "earner", "statement", "month", "settled", "clawback"]

    def filter_month(self, queryset, name, value):
        if not value:
            return queryset
        month = month_of(value)
        return queryset.filter(earned_on__gte=month, earned_on__lte=month_end(month))

    def filter_settled(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(statement__isnull=not value)


def assist_candidates(project, deal=None):
    """Who may be named as a deal's assisting colleague: active members of the project
    who sell (``deal.add``), other than the deal's consultant."""
    users = (
        get_user_model()
        .objects.filter(is_active=True, memberships__project=project)
        .distinct()
        .order_by("real_name", "username")
    )
    out = [u for u in users if access.has_perm(u, "deal.add", project)]
    if deal is not None:
        out = [u for u in out if u.pk != deal.consultant_id]
    return out


def deal_by_number(project, text):
    """A deal of the project by its id, subscription, contract or reservation number."""
    text = str(text or "").strip()
    if not text:
        return None
    q = Q(number=text) | Q(contract_number=text) | Q(reservation_number=text)
    if text.isdigit():
        q |= Q(pk=int(text))
    return Deal.objects.filter(project=project).filter(q).order_by("-pk").first()


# --- xlsx -----------------------------------------------------------------------------------

STATEMENT_COLUMNS = [
    xlsx.Column("number", "合同 / 认购书编号", "text", width=18),
    xlsx.Column("unit", "房间", "text", width=12),
    xlsx.Column("customer", "客户", "text", width=12),
    xlsx.Column("stage", "结佣阶段", "text", width=16),
    xlsx.Column("kind", "类型", "text", width=10),
    xlsx.Column("base", "计佣基数（元）", "money", width=16),
    xlsx.Column("rate", "佣金比例（‰）", "text", width=12),
    xlsx.Column("share", "发放比例（%）", "text", width=12),
    xlsx.Column("assist_pct", "协助分成（%）", "text", width=12),
    xlsx.Column("amount", "金额（元）", "money", width=14),
    xlsx.Column("earned_on", "发生日期", "text", width=12),
]


def _pct(value) -> str:
    return "" if value is None else f"{to_decimal(value).normalize():f}"


def statement_export(*, actor, statement: CommissionStatement) -> bytes:
    """A statement as xlsx, one row per entry and a total row, audited as an export.
    Whoever may see the statement may take it (the caller found it through
    ``statements_for``)."""
    lines = statement_lines(statement)
    rows = [
        [
            line["number"],
            line["unit"],
            line["customer"],
            line["stage"],
            str(line["kind"]),
            line["base"],
            _pct(line["rate"]),
            _pct(line["share"]),
            _pct(line["assist_pct"]),
            line["amount"],
            line["earned_on"].isoformat(),
        ]
        for line in lines
    ]
    rows.append(["合计", "", "", "", "", None, "", "", "", statement.total, ""])
    content, _count = xlsx.export_audited(
        actor=actor,
        project=statement.project,
        what="payments.commissionstatement",
        sheet="结佣函",
        columns=STATEMENT_COLUMNS,
        rows=iter(rows),
        filters={
            "statement": statement.pk,
            "consultant": statement.consultant_id,
            "month": f"{statement.month:%Y-%m}",
        },
    )
    return content
