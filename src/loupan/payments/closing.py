"""The daily close 日清日结 (seed 000 出纳: 每日收款须日清日结，双重复核): the cashier's
day sheet of the day's receipts and refunds by method, with the cash counted against the
cash expected, confirmed by a second person. A day waiting for review or closed takes no
new entry (here and in the database); a closed day is reopened only through the
approval engine (kind ``day_reopen``), audited."""

import datetime

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from loupan.approvals import services as approvals
from loupan.approvals.models import ApprovalRequest
from loupan.audit.services import audit_create, audit_update
from loupan.core.dates import PAST_OR_TODAY, parse_date
from loupan.core.errors import DomainError, conflict, invalid
from loupan.core.money import ZERO, money
from loupan.core.snapshot import snapshot

from . import rules
from .errors import PaymentError
from .models import CloseStatus, DayClose, EntryKind, LedgerEntry, Method
from .services import lock_project_money

DAY_REOPEN = "day_reopen"


def day_sheet(project, day: datetime.date) -> dict:
    """The day's entries by kind and method with counts and totals, and the cash the
    drawer should hold (cash received less cash refunded)."""
    rows = (
        LedgerEntry.objects.filter(project_id=project.pk, paid_on=day)
        .exclude(method=Method.CARRY)
        .values("kind", "method")
        .annotate(n=Count("pk"), total=Sum("amount"))
        .order_by("kind", "method")
    )
    lines = []
    total = cash = ZERO
    for r in rows:
        amount = money(r["total"])
        lines.append(
            {
                "kind": r["kind"],
                "kind_label": str(EntryKind(r["kind"]).label),
                "method": r["method"],
                "method_label": str(Method(r["method"]).label),
                "count": r["n"],
                "total": str(amount),
            }
        )
        total += amount
        if r["method"] == Method.CASH:
            cash += amount
    return {"day": day, "lines": lines, "total": money(total), "cash_expected": money(cash)}


def _day(value) -> datetime.date:
    day = parse_date(value, "day", when=PAST_OR_TODAY, message="不能日结今天以后的日期")
    if day is None:
        raise invalid("day", "请选择日期")
    return day


def day_submit(*, actor, project, day, cash_counted, note: str = "") -> DayClose:
    """The cashier submits the day's sheet: from now the day takes no new entry; the
    cash counted must match the cash expected (a difference is found, not booked)."""
    rules.ensure(rules.can_keep_books(actor, project))
    day = _day(day)
    try:
        counted = money(cash_counted)
    except (TypeError, ValueError) as exc:
        raise invalid("cash_counted", "实点现金必须是数字") from exc
    with transaction.atomic():
        lock_project_money(project.pk)
        close = DayClose.objects.select_for_update().filter(project_id=project.pk, day=day).first()
        if close is not None and close.status != CloseStatus.REOPENED:
            raise conflict(
                f"{day:%Y-%m-%d} 已{close.get_status_display()}。", "day", PaymentError.DAY_CLOSED
            )
        sheet = day_sheet(project, day)
        if counted != sheet["cash_expected"]:
            raise invalid(
                "cash_counted",
                f"实点现金 {counted} 元与应有现金 {sheet['cash_expected']} 元不符，请核对后再提交",
                code=PaymentError.CASH_MISMATCH,
            )
        values = {
            "status": CloseStatus.PENDING,
            "totals": {"lines": sheet["lines"]},
            "entries_total": sheet["total"],
            "cash_expected": sheet["cash_expected"],
            "cash_counted": counted,
            "note": (note or "").strip()[:200],
            "prepared_by": actor,
            "prepared_at": timezone.now(),
            "reviewed_by": None,
            "closed_at": None,
        }
        if close is None:
            close = DayClose.objects.create(project_id=project.pk, day=day, **values)
            audit_create(actor=actor, obj=close)
        else:
            before = snapshot(close)
            for k, v in values.items():
                setattr(close, k, v)
            close.save()
            audit_update(actor=actor, obj=close, before=before)
    return close


def may_review(user, project) -> bool:
    """Whether ``user`` reviews the day sheets of ``project`` (``rules.can_review_day``)."""
    return rules.can_review_day(user, project)[0]


def days_to_review(user, project):
    """The sheets waiting for ``user``'s review: submitted by someone else (never by the
    one who prepared them), none for whoever may not review."""
    if not may_review(user, project):
        return DayClose.objects.none()
    return DayClose.objects.filter(project=project, status=CloseStatus.PENDING).exclude(
        prepared_by=user
    )


def day_review(*, actor, close: DayClose, approve: bool, reason: str = "") -> DayClose:
    """The second person confirms the sheet (the day is closed) or returns it to the
    cashier with the reason (the day is open again). Never the one who prepared it."""
    rules.ensure(rules.can_review_day(actor, close.project))
    if not approve and not (reason or "").strip():
        raise invalid("reason", "退回须填写原因")
    with transaction.atomic():
        close = DayClose.objects.select_for_update().get(pk=close.pk)
        if close.prepared_by_id == actor.pk:
            raise DomainError(PaymentError.SAME_REVIEWER, "日结须由出纳以外的另一人复核。")
        if close.status != CloseStatus.PENDING:
            raise conflict(f"该日结当前为「{close.get_status_display()}」，无需复核。")
        before = snapshot(close)
        close.reviewed_by = actor
        if approve:
            close.status, close.closed_at = CloseStatus.CLOSED, timezone.now()
        else:
            close.status = CloseStatus.REOPENED
            close.note = f"退回：{reason.strip()}"[:200]
        close.save()
        audit_update(actor=actor, obj=close, before=before)
    return close


def day_reopen_request(*, actor, close: DayClose, reason: str) -> ApprovalRequest:
    """Ask to reopen a closed day (a late bank slip, a correction): approved by whoever
    holds ``payment.approve``."""
    rules.ensure(rules.can_keep_books(actor, close.project))
    close = DayClose.objects.get(pk=close.pk)
    if close.status != CloseStatus.CLOSED:
        raise conflict("只有已日结的日期可以申请重开。", "day")
    if not (reason or "").strip():
        raise invalid("reason", "请填写重开原因")
    with transaction.atomic():
        return approvals.approval_request(
            actor=actor,
            project=close.project,
            subject=close,
            kind=DAY_REOPEN,
            payload={"day": close.day.isoformat(), "total": str(close.entries_total)},
            reason=reason.strip()[:300],
            level="payment.approve",
            final="payment.approve",
            busy=("该日已有重开申请在审批中。", "day"),
        )


def apply_reopen(*, actor, request: ApprovalRequest, approved: bool) -> None:
    if not approved:
        return
    close = DayClose.objects.select_for_update().get(pk=request.subject_id)
    if close.status != CloseStatus.CLOSED:
        return
    before = snapshot(close)
    close.status = CloseStatus.REOPENED
    close.note = f"重开：{request.reason}"[:200]
    close.save()
    audit_update(actor=actor, obj=close, before=before, extra={"approval": request.pk})
