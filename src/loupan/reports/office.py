"""What the office adds to its reports (issue 15; seeds 001 一.1 目标与计划, 002 二.1(3)
广告效果测评, 001 三(三) 日报截止, 004 二 考核标准): the sales targets 销售目标, the spend per
channel 推广费用 and the report settings 报表设置.

Services (keyword-only, an explicit ``actor``, the permission first, every value refused
naming its field, one transaction with its audit entry):

* ``target_set`` / ``target_delete`` (``report.target``): a month's target of the
  project (no consultant) or of one consultant, in sales amount, units and collections.
  Setting a target that exists changes it (one per project, month and consultant).
* ``spend_set`` / ``spend_delete`` (``report.spend``): what a channel 认知途径 of the
  project cost in a month.
* ``settings_save`` (``report.configure``): the daily closing time, the recipients of the
  scheduled files, the compliance checks' limits and the customer fields required.

Selectors: ``consultant_candidates`` (who may have a target), ``targets_of`` and
``spends_of`` (restricted to what the user may see), ``year_grid`` helpers for the pages.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from loupan.accounts import access
from loupan.accounts.models import Membership
from loupan.audit.services import audit_create, audit_update
from loupan.core.errors import DomainError, ErrorCode, invalid
from loupan.core.services import object_delete
from loupan.core.snapshot import snapshot
from loupan.customers.models import Channel

from .models import REQUIRED_FIELD_CHOICES, ChannelSpend, ReportSettings, Target

TARGET = "report.target"
SPEND = "report.spend"
CONFIGURE = "report.configure"
VIEW = "report.view"
# Who may have a target of their own: the project's members who sell (``deal.add``).
SELLS = "deal.add"

FEN = Decimal("0.01")
# DecimalField(max_digits=14, decimal_places=2): below a trillion yuan.
MONEY_LIMIT = Decimal("1e12")
MAX_UNITS = 1_000_000
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_RECIPIENTS = 50
NOTE_MAX = 200

# The settings ``settings_save`` takes, with their limits.
DAY_LIMITS = {
    "entry_days": (1, 60),
    "scan_days": (1, 60),
    "follow_up_days": (1, 365),
    "min_follow_ups": (0, 100),
}
SETTINGS_FIELDS = ("close_time", "recipients", *DAY_LIMITS, "required_fields")
REQUIRED_FIELD_KEYS = [key for key, _label in REQUIRED_FIELD_CHOICES]


# --- parsing -----------------------------------------------------------------------------------


def parse_month(value, field: str = "month") -> datetime.date:
    """A month as its first day: a date (any day of it), ``YYYY-MM`` or ``YYYY-MM-DD``."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 7:
                value = datetime.date.fromisoformat(f"{text}-01")
            else:
                value = datetime.date.fromisoformat(text)
        except ValueError as exc:
            raise invalid(field, _("月份格式应为 YYYY-MM")) from exc
    if not isinstance(value, datetime.date):
        raise invalid(field, _("请填写月份（YYYY-MM）"))
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise invalid(
            field, _("月份须在 %(a)d 年至 %(b)d 年之间") % {"a": FIRST_YEAR, "b": LAST_YEAR}
        )
    return value.replace(day=1)


def parse_amount(value, field: str, *, required: bool = False) -> Decimal:
    """Yuan to the fen, not negative, below a trillion; empty is 0 unless ``required``.
    A float is refused (money is never a float), as are NaN and infinity."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise invalid(field, _("请填写金额"))
        return Decimal("0.00")
    if isinstance(value, bool | float):
        raise invalid(field, _("金额须以字符串或整数提交（如“1000.00”）"))
    try:
        amount = Decimal(str(value).replace(",", "").replace("，", "").strip())
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise invalid(field, _("金额必须是数字")) from exc
    if not amount.is_finite():
        raise invalid(field, _("金额必须是数字"))
    if amount < 0:
        raise invalid(field, _("金额不能为负数"))
    if amount >= MONEY_LIMIT:
        raise invalid(field, _("金额过大"))
    if amount != amount.quantize(FEN):
        raise invalid(field, _("金额精确到分（最多两位小数）"))
    return (amount + 0).quantize(FEN)


def _int(value, field: str, low: int, high: int, message: str, *, empty=None) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        if empty is not None:
            return empty
        raise invalid(field, message)
    try:
        if isinstance(value, bool | float):
            raise TypeError
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise invalid(field, message) from exc
    if not low <= number <= high:
        raise invalid(field, message)
    return number


def _pk(value):
    pk = getattr(value, "pk", value)
    return int(pk) if str(pk).strip().isdigit() else None


# --- selectors ---------------------------------------------------------------------------------


def consultant_candidates(project):
    """Who may have a target of their own: the project's active members whose role
    sells (``deal.add``: the consultants and the leads), by name."""
    rows = Membership.objects.filter(
        project_id=getattr(project, "pk", project), user__is_active=True
    ).values_list("user_id", "role__permissions")
    ids = {user_id for user_id, codes in rows if SELLS in (codes or [])}
    return get_user_model().objects.filter(pk__in=ids).order_by("real_name", "username")


def targets_of(user, project):
    """The project's targets ``user`` may see (``report.view``: all; a consultant with
    ``report.view_own``: their own)."""
    return (
        Target.objects.restrict(user, "view")
        .filter(project=project)
        .select_related("consultant", "updated_by")
    )


def spends_of(user, project):
    """The project's channel spend ``user`` may see (``report.view``)."""
    return (
        ChannelSpend.objects.restrict(user, "view")
        .filter(project=project)
        .select_related("channel", "updated_by")
    )


def may_set_targets(user, project) -> bool:
    return access.has_perm(user, TARGET, project)


def may_set_spend(user, project) -> bool:
    return access.has_perm(user, SPEND, project)


def may_configure(user, project) -> bool:
    return access.has_perm(user, CONFIGURE, project)


# --- writing -----------------------------------------------------------------------------------


def _upsert(model, *, actor, lookup: dict, values: dict):
    """Change the row of ``lookup`` (locked) or create it, with its audit entry. Two
    offices saving the same new row at once: the second finds the first's and changes
    it (the unique constraint decides)."""
    with transaction.atomic():
        for attempt in range(2):
            found = model.objects.select_for_update().filter(**lookup).order_by("pk").first()
            if found is None:
                try:
                    with transaction.atomic():
                        obj = model.objects.create(**lookup, **values)
                except IntegrityError as exc:
                    if attempt:
                        raise DomainError(ErrorCode.CONFLICT) from exc
                    continue
                audit_create(actor=actor, obj=obj)
                return obj
            before = snapshot(found)
            for name, value in values.items():
                setattr(found, name, value)
            found.save()
            audit_update(actor=actor, obj=found, before=before)
            return found
    raise DomainError(ErrorCode.CONFLICT)  # pragma: no cover (the loop returns)


def _consultant(project, consultant):
    if consultant in (None, ""):
        return None
    pk = _pk(consultant)
    found = consultant_candidates(project).filter(pk=pk).first() if pk is not None else None
    if found is None:
        raise invalid("consultant", _("置业顾问须是本项目的销售人员"))
    return found


def target_set(*, actor, project, month, consultant=None, amount, units, collections) -> Target:
    """Set the month's target 销售目标 (seed 001 一.1: the yearly target broken down by
    month) of the project (``consultant`` None) or of one of its consultants (an active
    member who sells, ``deal.add``): sales amount 认购金额, units 套数 and collections 回款,
    each not negative (money to the fen). Any day of the month names the month; a target
    that exists is changed. Needs ``report.target``."""
    access.require_perm(actor, TARGET, project)
    month = parse_month(month)
    consultant = _consultant(project, consultant)
    values = {
        "amount": parse_amount(amount, "amount"),
        "units": _int(
            units,
            "units",
            0,
            MAX_UNITS,
            _("套数须是 0 至 %(n)d 的整数") % {"n": MAX_UNITS},
            empty=0,
        ),
        "collections": parse_amount(collections, "collections"),
        "updated_by": actor,
    }
    lookup = {"project": project, "month": month, "consultant": consultant}
    return _upsert(Target, actor=actor, lookup=lookup, values=values)


def target_delete(*, actor, target: Target) -> None:
    """Remove a target (``report.target`` on its project)."""
    object_delete(actor=actor, obj=target, perm=TARGET)


def _channel(project, channel) -> Channel:
    pk = _pk(channel)
    found = Channel.objects.filter(project=project, pk=pk).first() if pk is not None else None
    if found is None:
        raise invalid("channel", _("请选择本项目的认知途径"))
    return found


def spend_set(*, actor, project, channel, month, amount, note: str = "") -> ChannelSpend:
    """Set what ``channel`` 认知途径 cost in ``month`` 推广费用 (seed 002 二.1(3): the base of
    the cost per call, visit and deal): yuan to the fen, not negative; a note up to 200
    characters. A month's spend that exists is changed. Needs ``report.spend``."""
    access.require_perm(actor, SPEND, project)
    channel = _channel(project, channel)
    month = parse_month(month)
    values = {
        "amount": parse_amount(amount, "amount", required=True),
        "note": _note(note),
        "updated_by": actor,
    }
    lookup = {"project": project, "channel": channel, "month": month}
    return _upsert(ChannelSpend, actor=actor, lookup=lookup, values=values)


def _note(note) -> str:
    text = "" if note is None else str(note).strip()
    if len(text) > NOTE_MAX:
        raise invalid("note", _("最多 %(n)d 个字") % {"n": NOTE_MAX})
    return text


def spend_delete(*, actor, spend: ChannelSpend) -> None:
    """Remove a month's spend of a channel (``report.spend`` on its project)."""
    object_delete(actor=actor, obj=spend, perm=SPEND)


# --- settings ------------------------------------------------------------------------------------


def _close_time(value) -> datetime.time:
    if isinstance(value, datetime.datetime):
        value = value.time()
    if isinstance(value, str):
        try:
            value = datetime.time.fromisoformat(value.strip())
        except ValueError as exc:
            raise invalid("close_time", _("时间格式应为 HH:MM")) from exc
    if not isinstance(value, datetime.time):
        raise invalid("close_time", _("时间格式应为 HH:MM"))
    return value.replace(second=0, microsecond=0, tzinfo=None)


def parse_recipients(value) -> str:
    """The recipients one per line (a text with lines, commas or semicolons, or a list);
    each a valid e-mail address, the refusal naming the bad one."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        parts = [str(v) for v in value]
    elif isinstance(value, str):
        text = value
        for sep in (",", "，", ";", "；"):
            text = text.replace(sep, "\n")
        parts = text.splitlines()
    else:
        raise invalid("recipients", _("每行填写一个电子邮箱"))
    seen, out = set(), []
    for part in parts:
        address = part.strip()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError as exc:
            raise invalid(
                "recipients", _("“%(a)s”不是有效的电子邮箱") % {"a": address[:100]}
            ) from exc
        if address.lower() not in seen:
            seen.add(address.lower())
            out.append(address)
    if len(out) > MAX_RECIPIENTS:
        raise invalid("recipients", _("收件人最多 %(n)d 个") % {"n": MAX_RECIPIENTS})
    return "\n".join(out)


def _required_fields(value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple | set):
        raise invalid("required_fields", _("请选择客户必填项"))
    chosen = set()
    for key in value:
        if key not in REQUIRED_FIELD_KEYS:
            raise invalid("required_fields", _("“%(k)s”不是可选的客户字段") % {"k": str(key)[:50]})
        chosen.add(key)
    return [key for key in REQUIRED_FIELD_KEYS if key in chosen]


def _settings_values(fields: dict) -> dict:
    values = {}
    for name, value in fields.items():
        if name not in SETTINGS_FIELDS:
            raise invalid(name, _("没有这个设置项"))
        if name == "close_time":
            values[name] = _close_time(value)
        elif name == "recipients":
            values[name] = parse_recipients(value)
        elif name == "required_fields":
            values[name] = _required_fields(value)
        else:
            low, high = DAY_LIMITS[name]
            values[name] = _int(
                value, name, low, high, _("请填写 %(a)d 至 %(b)d 的整数") % {"a": low, "b": high}
            )
    return values


def settings_save(*, actor, project, **fields) -> ReportSettings:
    """Save the project's report settings 报表设置: any of the daily closing time
    ``close_time`` (seed 001 三(三): 17:30), ``recipients`` of the scheduled files (one
    e-mail address a line), the compliance limits of seed 004 二 (``entry_days`` and
    ``scan_days`` 1–60 working days, ``follow_up_days`` 1–365, ``min_follow_ups`` 0–100)
    and ``required_fields`` (keys of ``REQUIRED_FIELD_CHOICES``). The fields not given
    keep their values. Needs ``report.configure``."""
    access.require_perm(actor, CONFIGURE, project)
    values = _settings_values(fields)
    return _upsert(ReportSettings, actor=actor, lookup={"project": project}, values=values)
