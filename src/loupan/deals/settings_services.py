"""A project's deal settings (交易设置), changed by the sales manager or director
(``deal.configure``): the discount types it offers and their order (seed 002 二.3(5)),
how much discount each role may grant on its own (seed 002 万科 1(5)), and the deal
policy — reservation time, signing period and the deposit cap (民法典 586: a deposit
of at most 20% of the price). Each change is one audited transaction; every refusal
names its field in Chinese."""

from decimal import Decimal

from django.db import IntegrityError, transaction

from loupan.accounts import access
from loupan.accounts.models import Role
from loupan.audit.services import audit_create, audit_update
from loupan.core.errors import invalid
from loupan.core.money import to_decimal
from loupan.core.snapshot import snapshot

from .models import DealPolicy, DiscountAuthority, DiscountKind, DiscountType
from .rules import authority, chain

# 民法典 586: 定金的数额由当事人约定；但是，不得超过主合同标的额的百分之二十。
DEPOSIT_CAP_LAW = Decimal("20")
MAX_RESERVATION_HOURS = 24 * 30
MAX_SIGNING_DAYS = 90


def _int(field: str, value, low: int, high: int, label: str) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise invalid(field, f"{label}必须是整数") from exc
    if not low <= number <= high:
        raise invalid(field, f"{label}须在 {low} 到 {high} 之间")
    return number


def _pct(field: str, value, label: str, *, high: Decimal = Decimal("100")) -> Decimal:
    try:
        number = to_decimal(value)
    except (TypeError, ValueError) as exc:
        raise invalid(field, f"{label}必须是数字") from exc
    if not number.is_finite() or number < 0 or number > high:
        raise invalid(field, f"{label}须在 0 到 {high}% 之间")
    return number.quantize(Decimal("0.01"))


def deal_policy_update(
    *, actor, project, reservation_hours, signing_days, deposit_max_pct
) -> DealPolicy:
    """Set the project's reservation time (1 hour – 30 days), signing period (1–90 days)
    and deposit cap (above 0, at most 20% by 民法典 586)."""
    access.require_perm(actor, "deal.configure", project)
    hours = _int("reservation_hours", reservation_hours, 1, MAX_RESERVATION_HOURS, "保留时长")
    days = _int("signing_days", signing_days, 1, MAX_SIGNING_DAYS, "签约期限")
    cap = _pct("deposit_max_pct", deposit_max_pct, "定金上限", high=DEPOSIT_CAP_LAW)
    if cap <= 0:
        raise invalid("deposit_max_pct", "定金上限必须大于 0")
    with transaction.atomic():
        policy, created = DealPolicy.objects.select_for_update().get_or_create(project=project)
        before = snapshot(policy)
        policy.reservation_hours, policy.signing_days, policy.deposit_max_pct = hours, days, cap
        policy.save()
        if created:
            audit_create(actor=actor, obj=policy)
        else:
            audit_update(actor=actor, obj=policy, before=before)
    return policy


def discount_authority_set(*, actor, project, max_pcts: dict) -> list[DiscountAuthority]:
    """Each approval level's own discount authority (% of the list price). A higher
    level never has less authority than the one below it, so that a request climbing
    the chain finds its approver on the way up."""
    access.require_perm(actor, "deal.configure", project)
    levels = chain()
    unknown = set(max_pcts) - set(levels)
    if unknown:
        raise invalid(sorted(unknown)[0], "该角色不在审批链上")
    values = {code: _pct(code, max_pcts[code], "折扣权限") for code in levels if code in max_pcts}
    effective = [values[c] if c in values else authority(project, c) for c in levels]
    for lower, upper, code in zip(effective, effective[1:], levels[1:], strict=False):
        if upper < lower:
            raise invalid(code, "上级的折扣权限不能低于下级")
    roles = {r.code: r for r in Role.objects.filter(code__in=list(values))}
    rows = []
    with transaction.atomic():
        for code, pct in values.items():
            if code not in roles:
                raise invalid(code, "角色不存在")
            row = (
                DiscountAuthority.objects.select_for_update()
                .filter(project=project, role=roles[code])
                .first()
            )
            if row is None:
                row = DiscountAuthority.objects.create(
                    project=project, role=roles[code], max_pct=pct
                )
                audit_create(actor=actor, obj=row)
            elif row.max_pct != pct:
                before = snapshot(row)
                row.max_pct = pct
                row.save()
                audit_update(actor=actor, obj=row, before=before)
            rows.append(row)
    return rows


def _discount_data(project, data: dict, instance: DiscountType | None = None) -> dict:
    name = (data.get("name") or "").strip()
    if not name:
        raise invalid("name", "请填写折扣名称")
    if len(name) > 50:
        raise invalid("name", "折扣名称不能超过 50 个字")
    duplicate = DiscountType.objects.filter(project=project, name=name)
    if instance is not None:
        duplicate = duplicate.exclude(pk=instance.pk)
    if duplicate.exists():
        raise invalid("name", "本项目已有同名折扣")
    kind = data.get("kind") or ""
    if kind not in DiscountKind.values:
        raise invalid("kind", "请选择折扣方式")
    variable = bool(data.get("variable"))
    raw = data.get("value")
    if raw in (None, "") and variable:
        raw = "0"
    try:
        value = to_decimal(raw)
    except (TypeError, ValueError) as exc:
        raise invalid("value", "折扣值必须是数字") from exc
    if not value.is_finite() or value < 0:
        raise invalid("value", "折扣值不能为负数")
    if kind == DiscountKind.PERCENT and value > 100:
        raise invalid("value", "折扣比例不能超过 100%")
    if value >= Decimal("1e12"):
        raise invalid("value", "折扣金额过大")
    sort_order = _int("sort_order", data.get("sort_order", 0) or 0, 0, 999, "顺序")
    return {
        "name": name,
        "kind": kind,
        "value": value.quantize(Decimal("0.01")),
        "sort_order": sort_order,
        "variable": variable,
    }


def discount_type_create(*, actor, project, data: dict) -> DiscountType:
    """A new discount the project offers (一次性付款, 按揭, 开盘优惠, 老带新 …): a
    percentage or an amount, applied in ``sort_order``; ``variable`` (特批) lets the
    requester enter the value, which always goes within the approval rules."""
    access.require_perm(actor, "deal.configure", project)
    clean = _discount_data(project, data)
    try:
        with transaction.atomic():
            discount_type = DiscountType.objects.create(project=project, **clean)
            audit_create(actor=actor, obj=discount_type)
    except IntegrityError as exc:
        raise invalid("name", "本项目已有同名折扣") from exc
    return discount_type


def discount_type_update(*, actor, discount_type: DiscountType, data: dict) -> DiscountType:
    """Change a discount type. Deals keep the copy of each step they were priced with,
    so a change applies only to subscriptions made after it."""
    access.require_perm(actor, "deal.configure", discount_type.project_id)
    clean = _discount_data(discount_type.project, data, discount_type)
    try:
        with transaction.atomic():
            discount_type = DiscountType.objects.select_for_update().get(pk=discount_type.pk)
            before = snapshot(discount_type)
            for key, value in clean.items():
                setattr(discount_type, key, value)
            discount_type.save()
            audit_update(actor=actor, obj=discount_type, before=before)
    except IntegrityError as exc:
        raise invalid("name", "本项目已有同名折扣") from exc
    return discount_type


def discount_type_set_active(*, actor, discount_type: DiscountType, active: bool) -> DiscountType:
    """Stop (or resume) offering a discount. It is never deleted: deals priced with it
    keep pointing at it."""
    access.require_perm(actor, "deal.configure", discount_type.project_id)
    with transaction.atomic():
        discount_type = DiscountType.objects.select_for_update().get(pk=discount_type.pk)
        if discount_type.is_active != bool(active):
            before = snapshot(discount_type)
            discount_type.is_active = bool(active)
            discount_type.save()
            audit_update(actor=actor, obj=discount_type, before=before)
    return discount_type
