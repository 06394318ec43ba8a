"""Opening day's actions (issue 16): prepare the event, register intent 认筹, confirm
buyers' 购房资格, freeze the list, draw the order in public, set the batches, pick.

Each is one transaction with its audit entry. The event's row is locked by every action
that changes its state or its list (``_lock_event``), so registrations, the freezing of
the list and the draw are serialised; a pick locks only its entry (the buyers pick in
parallel) and relies on the database for the unit: ``Pick`` is unique on (event, unit)
and the reservation moves the unit with the deals' conditional UPDATE.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
import types
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Case, Count, Exists, F, OuterRef, Q, Subquery, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loupan.accounts import access
from loupan.audit.models import AuditAction
from loupan.audit.services import audit_batch, audit_create, audit_record
from loupan.core import dbfunction
from loupan.core.errors import DomainError, invalid
from loupan.core.masking import mask_name
from loupan.core.money import money
from loupan.core.prepared import Prepared, loaded, prepared_cursor
from loupan.core.querysets import per_row
from loupan.deals import rules as deal_rules
from loupan.deals import services as deal_services
from loupan.deals.errors import DealError
from loupan.deals.models import PaymentMethod
from loupan.inventory import services as inventory_services
from loupan.inventory.models import Unit, UnitStatus
from loupan.payments import rules as payment_rules
from loupan.payments import sincerity
from loupan.payments.models import LedgerEntry, Purpose

from . import live, lottery, sealer
from .errors import OpeningError
from .models import (
    EVENT_TRANSITIONS,
    Batch,
    Entry,
    EntryStatus,
    EventStatus,
    EventUnit,
    OpeningEvent,
    Pick,
    PickAddress,
    PickBecomes,
    Round,
)

MANAGE = "opening.manage"
PICK = "opening.pick"
# first-home families draw first, then everyone else (a city's usual order)
DEFAULT_ROUNDS = ((gettext_lazy("首套家庭"), True), (gettext_lazy("其他家庭"), False))


def _require(actor, code: str, event_or_project) -> None:
    access.require_perm(actor, code, event_or_project)


def _lock_event(event: OpeningEvent) -> OpeningEvent:
    """The event's row locked for a change, once the picks under way are committed (and
    new ones wait for the commit: ``live.hold_event``)."""
    live.hold_event_alone(event.pk)
    return OpeningEvent.objects.select_for_update().get(pk=event.pk)


def _move(event: OpeningEvent, to: str) -> None:
    if to not in EVENT_TRANSITIONS[event.status]:
        raise DomainError(
            OpeningError.EVENT_STATUS,
            _("活动当前为「%(s)s」，不能改为「%(t)s」")
            % {"s": event.get_status_display(), "t": EventStatus(to).label},
        )
    event.status = to


def _expect(event: OpeningEvent, *statuses: str) -> None:
    if event.status not in statuses:
        raise DomainError(
            OpeningError.EVENT_STATUS,
            _("活动当前为「%(s)s」") % {"s": event.get_status_display()},
        )


def event_create(
    *,
    actor,
    project,
    name: str,
    units,
    registration_closes_at,
    selection_on,
    operator,
    public_source: str,
    max_units: int = 1,
    requires_qualification: bool = True,
    pick_becomes: str = PickBecomes.RESERVATION,
    sincerity_amount="0",
    deposit_amount="0",
    rounds=None,
) -> OpeningEvent:
    """开盘活动 for ``units`` (open for sale in ``project``): their prices frozen now,
    the server's seed drawn and its SHA-256 published as the commitment, the public value
    to be mixed in at the draw named in advance (``public_source``). A sincerity deposit
    needs every unit's presale permit (商品房销售管理办法 Art. 22: no money before it).
    ``pick_becomes``: a pick makes a reservation 保留单, or a subscription 认购 with
    ``deposit_amount`` as its deposit (``subscription_terms``)."""
    _require(actor, MANAGE, project)
    name = (name or "").strip()
    if not name:
        raise invalid("name", _("请填写活动名称"))
    if not (public_source or "").strip():
        raise invalid("public_source", _("请事先公布将要混入的公开随机值来源"))
    if pick_becomes not in PickBecomes.values:
        raise invalid("pick_becomes", _("请选择选房后生成保留单还是认购"))
    if not 1 <= int(max_units) <= 10:
        raise invalid("max_units", _("每户限选 1 至 10 套"))
    sincerity = money(sincerity_amount or 0)
    if sincerity < 0:
        raise invalid("sincerity_amount", _("诚意金不能为负数"))
    ids = sorted({getattr(u, "pk", u) for u in units})
    qs = Unit.objects.filter(project=project, pk__in=ids)
    if not ids or qs.count() != len(ids):
        raise invalid("units", _("请选择本项目的房间"))
    closed = [u.number for u in qs if not u.is_open_for_sale]
    if closed:
        raise invalid("units", _("这些房间不在售：%(u)s") % {"u": "、".join(closed[:10])})
    if sincerity > 0 and qs.without_permit().exists():
        raise DomainError(
            OpeningError.NO_PERMIT,
            fields={"units": [_("有房间尚无预售许可证，不能收取诚意金")]},
        )
    if not access.has_perm(operator, "customer.assign", project) or not access.has_perm(
        operator, "deal.add", project
    ):
        raise invalid("operator", _("现场负责人须能为任何客户预留（销售经理或主管）"))
    deposit = subscription_terms(
        project=project,
        pick_becomes=pick_becomes,
        deposit_amount=deposit_amount,
        sincerity=sincerity,
        operator=operator,
        units=qs,
    )
    rounds = rounds or DEFAULT_ROUNDS
    seed = lottery.new_seed()
    with transaction.atomic():
        event = OpeningEvent.objects.create(
            project=project,
            name=name,
            registration_closes_at=registration_closes_at,
            selection_on=selection_on,
            max_units=int(max_units),
            requires_qualification=requires_qualification,
            pick_becomes=pick_becomes,
            sincerity_amount=sincerity,
            deposit_amount=deposit,
            operator=operator,
            public_source=public_source.strip(),
            seed=seed,
            seed_commitment=lottery.commitment(seed),
            created_by=actor,
        )
        EventUnit.objects.bulk_create(
            EventUnit(event=event, unit=u, unit_price=u.unit_price, list_price=u.list_price)
            for u in qs.order_by("pk")
        )
        Round.objects.bulk_create(
            Round(event=event, number=i, label=str(label), first_home_only=first_home)
            for i, (label, first_home) in enumerate(rounds, start=1)
        )
        audit_create(actor=actor, obj=event)
    return event


def subscription_terms(
    *, project, pick_becomes: str, deposit_amount, sincerity: Decimal, operator, units
) -> Decimal:
    """The deposit of the subscriptions the event's picks become (0 for reservations):
    more than nothing, at least the sincerity deposit it takes in, and within the deals'
    deposit cap (``deals.rules.deposit_cap``, 民法典 586) for every unit at its frozen
    price; the operator in whose name picks are made must be able to subscribe for any
    buyer (``deal.approve``, as ``deals.rules.can_subscribe`` asks)."""
    if pick_becomes != PickBecomes.SUBSCRIPTION:
        return Decimal("0.00")
    try:
        deposit = money(deposit_amount or 0)
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise invalid("deposit_amount", _("认购定金必须是数字")) from exc
    if deposit <= 0:
        raise invalid("deposit_amount", _("选房后生成认购时须填写认购定金"))
    if deposit < sincerity:
        raise invalid("deposit_amount", _("认购定金不能少于诚意金（诚意金转为定金）"))
    over = [
        u.number
        for u in units
        if u.list_price is not None and deposit > deal_rules.deposit_cap(project, u.list_price)
    ]
    if over:
        raise invalid(
            "deposit_amount",
            _("认购定金超过这些房间成交总价的上限（民法典第586条）：%(u)s")
            % {"u": "、".join(over[:10])},
            code=DealError.DEPOSIT_OVER_CAP,
        )
    if not access.has_perm(operator, "deal.approve", project):
        raise invalid("operator", _("选房后生成认购时，现场负责人须能为任何客户认购（销售经理）"))
    return deposit


def pick_deal(*, entry: Entry, unit: Unit):
    """The deal a pick makes, in the event's operator's name for the entry's buyer: a
    reservation 保留单 (``deals.services.deal_reserve``), then, when the event says so,
    its subscription 认购 (``deal_subscribe``: the buyer alone at 100%, the payment
    method registered with the entry, the event's deposit), which waits for finance to
    confirm the deposit — the sincerity deposit turns into part of it
    (``pick_to_deposit``). Inside the pick's transaction."""
    event = entry.event
    deal = deal_services.deal_reserve(
        actor=event.operator,
        unit=unit,
        customer=entry.customer,
        note=_("开盘选房 %(e)s 认筹号 %(n)s") % {"e": event.name, "n": entry.number},
    )
    if event.pick_becomes == PickBecomes.SUBSCRIPTION:
        deal = deal_services.deal_subscribe(
            actor=event.operator,
            deal=deal,
            buyers=[(entry.customer, Decimal(100))],
            payment_method=entry.payment_method,
            deposit=event.deposit_amount,
        )
    return deal


def event_open(*, actor, event: OpeningEvent) -> OpeningEvent:
    """Registrations open: the commitment (SHA-256 of the seed) is public from now on."""
    _require(actor, MANAGE, event.project)
    with transaction.atomic():
        event = _lock_event(event)
        _move(event, EventStatus.REGISTERING)
        event.save(update_fields=["status"])
        _audit(actor, event, "event_open", commitment=event.seed_commitment)
    return event


def _audit(actor, obj, action: str, **extra) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.ACTION,
        obj=obj,
        project_id=getattr(obj, "project_id", None) or obj.event.project_id,
        extra={"action": action, **extra},
    )


def new_code() -> tuple[str, str]:
    """A buyer's one-time selection code (printed on the 认筹单) and its SHA-256."""
    code = f"{secrets.randbelow(10**8):08d}"
    return code, code_digest(code)


def code_digest(code: str | None) -> str:
    """What the entry keeps of a selection code (``Entry.code_hash``): its SHA-256, the
    code as typed without the spaces around it."""
    return hashlib.sha256((code or "").strip().encode()).hexdigest()


def entry_register(
    *, actor, event: OpeningEvent, customer, first_home: bool = False, payment_method: str = ""
):
    """认筹: ``customer`` registers intent and gets the next entry number 认筹号 and a
    one-time selection code (returned once, stored as its hash). One entry per buyer, per
    ID number and per household (the household rule of Customers), while registrations
    are open. The payment method 付款方式 is asked when the event's picks become
    subscriptions (the subscription needs it). Returns ``(entry, code)``."""
    _require(actor, MANAGE, event.project)
    if customer.project_id != event.project_id or customer.anonymized_at is not None:
        raise invalid("customer", _("客户不属于本项目"))
    if not customer.id_number:
        raise invalid("customer", _("认筹须登记客户的身份证号"))
    payment_method = (payment_method or "").strip()
    if payment_method and payment_method not in PaymentMethod.values:
        raise invalid("payment_method", _("请选择付款方式"))
    if not payment_method and event.pick_becomes == PickBecomes.SUBSCRIPTION:
        raise invalid("payment_method", _("本次开盘选房后即认购，请选择付款方式"))
    code, digest = new_code()
    with transaction.atomic():
        event = _lock_event(event)
        _expect(event, EventStatus.REGISTERING)
        if timezone.now() >= event.registration_closes_at:
            raise DomainError(OpeningError.EVENT_STATUS, _("认筹已截止"))
        number = f"{event.entries.count() + 1:04d}"
        try:
            with transaction.atomic():
                entry = Entry.objects.create(
                    event=event,
                    number=number,
                    customer=customer,
                    household=customer.household,
                    id_number=customer.id_number,
                    first_home=bool(first_home),
                    payment_method=payment_method,
                    code_hash=digest,
                    registered_by=actor,
                    registered_at=timezone.now(),
                )
        except IntegrityError as exc:
            raise DomainError(
                OpeningError.ENTRY_EXISTS,
                fields={"customer": [_("该客户、同一身份证号或其家庭已认筹")]},
            ) from exc
        audit_create(actor=actor, obj=entry)
    return entry, code


def entry_qualify(*, actor, entry: Entry) -> Entry:
    """The office confirms the buyer's 购房资格 (e.g. the city's purchase-limit
    certificate), before the list is frozen."""
    _require(actor, MANAGE, entry.event.project)
    with transaction.atomic():
        event = _lock_event(entry.event)
        _expect(event, EventStatus.REGISTERING)
        entry = Entry.objects.select_for_update().get(pk=entry.pk)
        if entry.qualified_at is None:
            entry.qualified_at, entry.qualified_by = timezone.now(), actor
            entry.save(update_fields=["qualified_at", "qualified_by"])
            _audit(actor, entry, "entry_qualify", number=entry.number)
    return entry


def entry_withdraw(*, actor, entry: Entry) -> Entry:
    """退筹 before the list is frozen (the sincerity deposit is refunded in full)."""
    _require(actor, MANAGE, entry.event.project)
    with transaction.atomic():
        event = _lock_event(entry.event)
        _expect(event, EventStatus.REGISTERING)
        entry = Entry.objects.select_for_update().get(pk=entry.pk)
        entry.status = EntryStatus.WITHDRAWN
        entry.save(update_fields=["status"])
        _audit(actor, entry, "entry_withdraw", number=entry.number)
    return entry


# --- the sincerity deposit 诚意金 (held in the payments ledger under the entry's reference)


def entry_reference(entry: Entry) -> str:
    """What the ledger holds an entry's sincerity deposit under (≤ 40 characters)."""
    return f"开盘{entry.event_id}-认筹{entry.number}"


def sincerity_by_entry(event: OpeningEvent) -> dict[int, Decimal]:
    """What the ledger holds for each entry of ``event`` (one grouped query)."""
    entries = {
        entry_reference(e): e.pk
        for e in Entry.objects.filter(event=event).only("pk", "number", "event_id")
    }
    held = (
        LedgerEntry.objects.filter(
            project_id=event.project_id,
            purpose=Purpose.SINCERITY,
            deal__isnull=True,
            reference__in=list(entries),
        )
        .values("reference")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    return {entries[row["reference"]]: money(row["s"] or 0) for row in held}


def entry_pay(*, actor, entry: Entry, method: str, bank_reference: str = "", paid_on=None):
    """Finance receives the event's sincerity deposit for ``entry`` (a numbered receipt
    in the ledger; refundable in full)."""
    event = entry.event
    # who may take money is the payments' rule, asked before anything about the entry
    payment_rules.ensure(payment_rules.can_hold_sincerity(actor, event.project_id))
    if event.sincerity_amount <= 0:
        raise DomainError(OpeningError.EVENT_STATUS, _("本次开盘不收诚意金"))
    with transaction.atomic():
        # the entry's row lock: two cashiers pressing 收 at once take it once
        entry = (
            Entry.objects.select_for_update()
            .select_related("event__project", "customer")
            .get(pk=entry.pk)
        )
        event = entry.event
        if event.status != EventStatus.REGISTERING or entry.status != EntryStatus.ACTIVE:
            raise DomainError(OpeningError.EVENT_STATUS, _("只能在认筹期间为有效认筹收取诚意金"))
        held = sincerity.sincerity_held(entry.customer, entry_reference(entry))
        if held >= event.sincerity_amount:
            raise DomainError(OpeningError.EVENT_STATUS, _("该认筹的诚意金已收"))
        return sincerity.sincerity_receive(
            actor=actor,
            project=event.project,
            customer=entry.customer,
            amount=event.sincerity_amount,
            method=method,
            reference=entry_reference(entry),
            paid_on=paid_on,
            payer=entry.customer.name,
            bank_reference=bank_reference,
        )


def entry_refund(*, actor, entry: Entry, method: str, bank_reference: str = "", paid_on=None):
    """Finance refunds an entry's sincerity deposit in full: after 退筹, or when the
    buyer picked nothing (or the pick's reservation ended) — never while a pick's deal
    is live (that money becomes the deposit). A pick's reservation past its time is
    ended first, and what was carried from the sincerity into a deal that ended
    unconfirmed comes back first (``picks_sincerity_back``), as ``run-due`` would."""
    picks_sincerity_back(actor=actor, entry=entry)
    live = Pick.objects.filter(entry=entry, deal__units__live=True).exists()
    if live:
        raise DomainError(OpeningError.EVENT_STATUS, _("已选房且保留有效，诚意金将转为定金"))
    entry = Entry.objects.select_related("event", "customer").get(pk=entry.pk)
    if entry.status == EntryStatus.ACTIVE and entry.event.status not in (
        EventStatus.FINISHED,
        EventStatus.REGISTERING,
    ):
        raise DomainError(OpeningError.EVENT_STATUS, _("选房结束后再退还未选房客户的诚意金"))
    return sincerity.sincerity_refund(
        actor=actor,
        customer=entry.customer,
        reference=entry_reference(entry),
        method=method,
        paid_on=paid_on,
        bank_reference=bank_reference,
    )


def picks_sincerity_back(*, actor, entry: Entry) -> int:
    """The entry's picks whose deal lapsed or was withdrawn before its deposit was
    confirmed give back what was carried into it from the sincerity deposit
    (``payments.sincerity.sincerity_return``), which is refundable again under the
    entry's reference. A reservation past its time is ended first (the deals'
    ``deals_expire``, as an action that finds it does). Returns how many deals gave
    money back. Finance's (the payments' rule, asked before anything is written)."""
    payment_rules.ensure(payment_rules.can_hold_sincerity(actor, entry.event.project_id))
    deal_ids = list(
        Pick.objects.filter(entry=entry, deal__isnull=False).values_list("deal_id", flat=True)
    )
    if not deal_ids:
        return 0
    deal_services.deals_expire(deal_ids=deal_ids)
    count = 0
    for deal in sincerity.deals_to_return(deal_ids=deal_ids):
        if sincerity.sincerity_return(actor=actor, deal=deal):
            count += 1
    return count


def pick_to_deposit(*, actor, pick: Pick):
    """The buyer's sincerity deposit becomes the deposit of the deal the pick made
    (finance; a pair of carry entries in the ledger). A pick still waiting for its deal
    gets it first (``picks_seal``)."""
    if pick.deal_id is None:
        picks_seal()
        pick.refresh_from_db(fields=["deal", "seal_error"])
    if pick.deal_id is None:
        raise invalid("pick", pick.seal_error or _("该选房尚未生成交易"))
    return sincerity.sincerity_to_deposit(
        actor=actor,
        customer=pick.entry.customer,
        reference=entry_reference(pick.entry),
        deal=pick.deal,
    )


def drawn_entries(event: OpeningEvent):
    """Who takes part in the draw: active entries, qualified when the event asks it, and
    whose sincerity deposit the ledger holds when the event asks for one."""
    qs = Entry.objects.filter(event=event, status=EntryStatus.ACTIVE)
    if event.requires_qualification:
        qs = qs.filter(qualified_at__isnull=False)
    if event.sincerity_amount > 0:
        held = sincerity_by_entry(event)
        paid = [pk for pk, amount in held.items() if amount >= event.sincerity_amount]
        qs = qs.filter(pk__in=paid)
    return qs.select_related("customer").order_by("number")


def round_lists(event: OpeningEvent) -> list[tuple[Round, list[tuple[str, str]]]]:
    """Each round with its entrants (entry number, masked name): an entry belongs to the
    first round it qualifies for (a first-home round takes first-home families only)."""
    rounds = list(event.rounds.order_by("number"))
    lists: dict[int, list] = {r.pk: [] for r in rounds}
    for entry in drawn_entries(event):
        for r in rounds:
            if entry.first_home or not r.first_home_only:
                lists[r.pk].append((entry.number, mask_name(entry.customer.name)))
                break
    return [(r, lists[r.pk]) for r in rounds]


def _list_digest(lists) -> str:
    """The SHA-256 of the frozen list, round by round (``lottery.rounds_hash``): moving
    an entry to another round changes it too."""
    return lottery.rounds_hash([(r.label, entries) for r, entries in lists])


def event_close(*, actor, event: OpeningEvent) -> OpeningEvent:
    """Entries close: the entrant list is frozen and its SHA-256 published."""
    _require(actor, MANAGE, event.project)
    with transaction.atomic():
        event = _lock_event(event)
        _move(event, EventStatus.CLOSED)
        lists = round_lists(event)
        if not any(entries for _r, entries in lists):
            raise DomainError(OpeningError.EVENT_STATUS, _("没有可参加摇号的认筹"))
        event.list_hash = _list_digest(lists)
        event.list_frozen_at = timezone.now()
        event.save(update_fields=["status", "list_hash", "list_frozen_at"])
        _audit(actor, event, "event_close", list_hash=event.list_hash)
    return event


def event_draw(*, actor, event: OpeningEvent, public_value: str) -> OpeningEvent:
    """摇号: the public value named in advance is entered, the seed revealed, each round
    shuffled (``lottery.draw_rounds``); the entries get their positions and the event the
    published package a notary keeps, with its digest. Once."""
    _require(actor, MANAGE, event.project)
    public_value = (public_value or "").strip()
    if not public_value:
        raise invalid("public_value", _("请录入公开随机值"))
    with transaction.atomic():
        event = _lock_event(event)
        _move(event, EventStatus.DRAWN)
        lists = round_lists(event)
        if _list_digest(lists) != event.list_hash:
            raise DomainError(OpeningError.LIST_CHANGED, _("名单与冻结时的摘要不符"))
        if lottery.commitment(event.seed) != event.seed_commitment:
            raise DomainError(OpeningError.SEED_MISMATCH)
        rounds = [(r.label, entries) for r, entries in lists]
        result = lottery.draw_rounds(event.seed, public_value, rounds)
        now = timezone.now()
        package = lottery.package(
            {
                "name": event.name,
                "project": str(event.project),
                "registration_closes_at": timezone.localtime(
                    event.registration_closes_at
                ).isoformat(),
                "list_frozen_at": timezone.localtime(event.list_frozen_at).isoformat(),
                "drawn_at": timezone.localtime(now).isoformat(),
                "public_source": event.public_source,
            },
            event.seed,
            public_value,
            rounds,
            result,
            public_value_description=event.public_source,
            commitment_hex=event.seed_commitment,
        )
        by_number = {e.number: e for e in drawn_entries(event)}
        round_of = {r.label: r for r, _entries in lists}
        position = 0
        changed = []
        for label, order in result:
            for number in order:
                position += 1
                entry = by_number[number]
                entry.position, entry.round = position, round_of[label]
                changed.append(entry)
        Entry.objects.bulk_update(changed, ["position", "round"])
        event.public_value, event.drawn_at = public_value, now
        event.package, event.package_digest = package, package["package_digest"]
        event.save(
            update_fields=["status", "public_value", "drawn_at", "package", "package_digest"]
        )
        _audit(actor, event, "event_draw", package_digest=event.package_digest, entrants=position)
    return event


def batches_set(*, actor, event: OpeningEvent, batches) -> list[Batch]:
    """The selection's batches: ``(first, last, starts_at, ends_at)`` by position, in
    order, covering every drawn position once, windows in order."""
    _require(actor, MANAGE, event.project)
    with transaction.atomic():
        event = _lock_event(event)
        _expect(event, EventStatus.DRAWN)
        total = Entry.objects.filter(event=event, position__isnull=False).count()
        expected, previous_end = 1, None
        rows = []
        for i, (first, last, starts_at, ends_at) in enumerate(batches, start=1):
            if first != expected or last < first:
                raise invalid(
                    "batches", _("第%(n)s批的顺序号应从 %(f)s 开始") % {"n": i, "f": expected}
                )
            if ends_at <= starts_at or (previous_end and starts_at < previous_end):
                raise invalid("batches", _("第%(n)s批的时间段有误") % {"n": i})
            rows.append(
                Batch(
                    event=event,
                    number=i,
                    first=first,
                    last=last,
                    starts_at=starts_at,
                    ends_at=ends_at,
                )
            )
            expected, previous_end = last + 1, ends_at
        if expected != total + 1:
            raise invalid("batches", _("批次须覆盖全部 %(n)s 个顺序号") % {"n": total})
        Batch.objects.filter(event=event).delete()
        Batch.objects.bulk_create(rows)
        _audit(actor, event, "batches_set", batches=len(rows))
    return rows


def selection_start(*, actor, event: OpeningEvent) -> OpeningEvent:
    _require(actor, MANAGE, event.project)
    with transaction.atomic():
        event = _lock_event(event)
        if not event.batches.exists():
            raise DomainError(OpeningError.EVENT_STATUS, _("请先设置选房批次"))
        _move(event, EventStatus.SELECTING)
        event.save(update_fields=["status"])
        # 销控: the event's units still for sale are held for it while buyers pick, so
        # that no reservation outside the event takes a unit a buyer has just claimed
        # (the claim is written before its reservation: ``picks_seal``)
        free = list(
            event.units.filter(unit__status=UnitStatus.AVAILABLE)
            .order_by("unit_id")
            .values_list("unit_id", flat=True)
        )
        if free:
            inventory_services.units_hold(
                actor=actor,
                project=event.project,
                unit_ids=free,
                reason=_("开盘活动「%(e)s」选房中") % {"e": event.name},
            )
            event.units.filter(unit_id__in=free).update(held=True)
        _audit(actor, event, "selection_start", held=len(free))
        transaction.on_commit(lambda: live.changed_here(event.pk))
    return event


def event_finish(*, actor, event: OpeningEvent) -> OpeningEvent:
    """Selection ends: the picks still waiting get their deals first (``picks_seal``),
    and the units the event held and nobody picked go back on sale."""
    _require(actor, MANAGE, event.project)
    picks_seal()
    with transaction.atomic():
        event = _lock_event(event)
        _move(event, EventStatus.FINISHED)
        event.save(update_fields=["status"])
        left = list(
            event.units.filter(held=True, unit__status=UnitStatus.HELD)
            .exclude(unit_id__in=event.picks.values("unit_id"))
            .order_by("unit_id")
            .values_list("unit_id", flat=True)
        )
        if left:
            inventory_services.units_unhold(
                actor=actor,
                project=event.project,
                unit_ids=left,
                reason=_("开盘活动「%(e)s」结束，未选房间释放") % {"e": event.name},
            )
        _audit(actor, event, "event_finish", picks=event.picks.count(), released=len(left))
        transaction.on_commit(lambda: live.changed_here(event.pk))
    return event


MAX_CODE_FAILURES = 5


_ENTRY_BY_NUMBER = Prepared(
    lambda event, number: (
        Entry.objects.filter(event_id=event, number=number)
        .order_by()
        .values("pk", "number", "code_hash", "code_failures")
    ),
    "event",
    text=("number",),
)


def _number(number: str | None) -> str:
    """An entry number as the buyer typed it, without the spaces around it."""
    return (number or "").strip()


def entry_by_code(event: OpeningEvent, number: str, code: str) -> Entry:
    """The entry a buyer signs in with on a phone: entry number 认筹号 and the one-time
    selection code printed on the 认筹单 (no account). Five wrong codes lock the entry
    until the office checks the buyer's identity on site (``entry_code_reset``)."""
    found = _ENTRY_BY_NUMBER.first(event=event.pk, number=_number(number))
    entry = Entry(event=event, **found) if found else None
    if entry is None or not entry.code_hash:
        raise DomainError(OpeningError.CODE_INVALID, fields={"number": [_("认筹号或选房码不正确")]})
    if entry.code_failures >= MAX_CODE_FAILURES:
        raise DomainError(OpeningError.CODE_LOCKED)
    if not secrets.compare_digest(code_digest(code), entry.code_hash):
        Entry.objects.filter(pk=entry.pk).update(code_failures=models.F("code_failures") + 1)
        raise DomainError(OpeningError.CODE_INVALID, fields={"code": [_("认筹号或选房码不正确")]})
    if entry.code_failures:
        Entry.objects.filter(pk=entry.pk).update(code_failures=0)
    return entry


def entry_code_reset(*, actor, entry: Entry) -> str:
    """The office checks the buyer's identity and issues a new selection code (the old
    one stops working); returns the new code once."""
    _require(actor, MANAGE, entry.event.project)
    code, digest = new_code()
    with transaction.atomic():
        Entry.objects.filter(pk=entry.pk).update(code_hash=digest, code_failures=0)
        _audit(actor, entry, "entry_code_reset", number=entry.number)
    return code


def _interval(name: str) -> datetime.timedelta:
    return datetime.timedelta(milliseconds=int(getattr(settings, name, 1000)))


def min_interval() -> datetime.timedelta:
    """The shortest time between two pick requests of one buyer
    (``LOUPAN_PICK_MIN_INTERVAL_MS``, 1000 ms): a script firing every 200 ms gains
    nothing over a person tapping."""
    return _interval("LOUPAN_PICK_MIN_INTERVAL_MS")


def address_interval() -> datetime.timedelta:
    """The shortest time between two pick requests without an account from one client
    address (``LOUPAN_PICK_ADDRESS_INTERVAL_MS``, 1000 ms): a script holding several
    buyers' codes gains nothing either."""
    return _interval("LOUPAN_PICK_ADDRESS_INTERVAL_MS")


def _seconds(interval: datetime.timedelta) -> str:
    return f"{interval.total_seconds():g}"


# the buyer's limit on the entry's row: its last pick request at least
# ``min_interval`` old (the parameter: now - min_interval), or none yet
_LIMIT_PASSED = "(tried_at IS NULL OR tried_at <= %s)"


def throttle(entry: Entry, now) -> bool:
    """One pick request per buyer per ``min_interval``, decided by one conditional
    UPDATE of the entry's row (shared by every worker and server: the database row, not
    a process's memory), which stands even when the pick itself is then refused
    (``_standing``). True when it passed and so holds the row's lock; False when it is
    off (an interval of 0)."""
    if min_interval() <= datetime.timedelta(0):
        return False
    table = connection.ops.quote_name(Entry._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    with prepared_cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET tried_at = %s WHERE id = %s AND {_LIMIT_PASSED}",
            [adapt(now), entry.pk, adapt(now - min_interval())],
        )
        passed = cursor.rowcount
    if not passed:
        raise DomainError(
            OpeningError.TOO_FAST,
            _("同一认筹每 %(s)s 秒只能提交一次选房") % {"s": _seconds(min_interval())},
        )
    return True


def throttle_address(event: OpeningEvent, address: str | None, now) -> None:
    """One pick request per client ``address`` (``core.context.client_ip``: behind a
    trusted proxy, the address it forwards) per ``address_interval`` in ``event``,
    decided by one conditional upsert on the (event, address) row: the row is created,
    or moved on only if its last request is at least the interval old, and a request
    that finds it younger changes nothing and is refused. Concurrent requests queue on
    the row's lock in the database, so exactly one of a burst gets through, whichever
    worker or server holds it. Committed at once, like ``throttle``; an interval of 0
    (or no known address) turns it off."""
    _address_passed(_address_limit(event, address, now))


def _address_passed(limit: tuple[str, list] | None) -> None:
    """Run the address's upsert ``limit`` (``_address_limit``; None: off), refused with
    ``address_too_fast`` when the address's last request is too recent."""
    if limit is None:
        return
    with prepared_cursor() as cursor:
        cursor.execute(*limit)
        passed = cursor.fetchone() is not None
    if not passed:
        raise _address_refusal()


def _address_limit(event: OpeningEvent, address: str | None, now) -> tuple[str, list] | None:
    """``throttle_address``'s upsert (``RETURNING 1`` when the request passes) and its
    parameters; None when the limit is off (``_address_limited``)."""
    if not _address_limited(address):
        return None
    interval = address_interval()
    table = connection.ops.quote_name(PickAddress._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    return (
        f"INSERT INTO {table} (event_id, address, tried_at) VALUES (%s, %s, %s) "
        "ON CONFLICT (event_id, address) DO UPDATE SET tried_at = excluded.tried_at "
        f"WHERE {table}.tried_at <= %s RETURNING 1",
        [event.pk, _address_key(address), adapt(now), adapt(now - interval)],
    )


def _address_limited(address) -> bool:
    """Whether a pick request from ``address`` counts against it: not with an interval
    of 0, nor without a known address."""
    return bool(address) and address_interval() > datetime.timedelta(0)


def _address_key(address) -> str:
    """What ``PickAddress`` keeps of a client address."""
    return str(address)[:45]


def _address_refusal() -> DomainError:
    return DomainError(
        OpeningError.ADDRESS_TOO_FAST,
        _("同一网络地址每 %(s)s 秒只能提交一次选房") % {"s": _seconds(address_interval())},
    )


def window_of(entry: Entry):
    """The batch whose positions hold ``entry`` (None before the draw)."""
    if entry.position is None:
        return None
    return Batch.objects.filter(
        event_id=entry.event_id, first__lte=entry.position, last__gte=entry.position
    ).first()


# Why a pick is refused (``_refusal``), as the claim's facts read decides it: the
# entry's own reasons (before any unit is looked at), then the unit's.
_ENTRY_REFUSALS = ("event_status", "no_position", "not_qualified", "window")


def _refusal():
    """选房 is refused when (in this order): the event is not selecting; the entry is
    not active or has no place in the order; the event asks for 购房资格 and the entry's
    is not confirmed; the claim's moment is outside its batch's window; the unit is not
    in the event; the entry has its quota of picks; the unit is not for sale any more
    (``claimable``). One expression over the facts of ``_facts_query``, read in the
    same statement as they are: the pick's one decision, in Python's path and in the
    database's (``_pick_function``), and the pages' ``can_pick``."""
    return Case(
        When(~Q(event__status=EventStatus.SELECTING), then=Value("event_status")),
        When(~Q(status=EntryStatus.ACTIVE) | Q(position__isnull=True), then=Value("no_position")),
        When(
            Q(event__requires_qualification=True, qualified_at__isnull=True),
            then=Value("not_qualified"),
        ),
        When(in_window=False, then=Value("window")),
        When(unit_in_event=False, then=Value("not_in_event")),
        When(picked__gte=F("event__max_units"), then=Value("quota_reached")),
        When(unit_for_sale=False, then=Value("unit_taken")),
        default=None,
        output_field=models.CharField(),
    )


def _refused(code: str, entry) -> DomainError:
    """The buyer's answer to ``_refusal``'s ``code`` for ``entry`` (or its id: the
    window's refusal names its batch's times, read again only when the entry's place
    is not at hand)."""
    if code == "event_status":
        return DomainError(OpeningError.EVENT_STATUS, _("选房尚未开始或已结束"))
    if code == "no_position":
        return DomainError(OpeningError.NOT_YOUR_TURN, _("该认筹没有选房顺序"))
    if code == "not_qualified":
        return DomainError(OpeningError.NOT_QUALIFIED)
    if code == "window":
        if not isinstance(entry, Entry) or {"event_id", "position"} & entry.get_deferred_fields():
            entry = Entry.objects.only("event", "position").get(pk=getattr(entry, "pk", entry))
        batch = window_of(entry)
        if batch is None:
            return DomainError(OpeningError.NOT_YOUR_TURN)
        when = (
            f"{timezone.localtime(batch.starts_at):%H:%M}–{timezone.localtime(batch.ends_at):%H:%M}"
        )
        return DomainError(OpeningError.NOT_YOUR_TURN, _("您的选房时间为 %(w)s") % {"w": when})
    if code == "not_in_event":
        return DomainError(OpeningError.NOT_IN_EVENT, fields={"unit": [_("不在本次开盘房源中")]})
    if code == "quota_reached":
        return DomainError(OpeningError.QUOTA_REACHED)
    return DomainError(OpeningError.UNIT_TAKEN, fields={"unit": [_("该房间已被选")]})


def can_pick(entry: Entry, now: datetime.datetime) -> DomainError | None:
    """Why ``entry`` may not pick now, whichever unit (None when it may): ``_refusal``'s
    entry reasons, read from the database."""
    facts = _CLAIM_FACTS.first(entry=entry.pk, unit=0, now=now)
    code = facts["refusal"] if facts else "no_position"
    return _refused(code, entry) if code in _ENTRY_REFUSALS else None


def unit_pick(*, actor, event: OpeningEvent, entry: Entry, unit, via: str, ip=None) -> Pick:
    """选房: ``entry`` takes ``unit`` in its batch's window, within the quota, once. The
    pick is the buyer's claim on the unit, made in one short transaction (``_claim``):
    a unit already taken answers ``unit_taken``, whoever was first by a millisecond. The
    reservation it makes (a 保留单 in the buyer's consultant's name, made by the event's
    operator) and its audit entry are written by the sealer (``picks_seal``), at once
    in this request or by the process's sealer thread (``sealer``,
    ``LOUPAN_PICK_SEAL``). A pick without an account (``actor`` None: the buyer's phone)
    also counts against its address ``ip`` (``throttle_address``); the office's staff
    pick for many buyers from one terminal."""
    if actor is not None:
        _require(actor, PICK, event.project)
    now = timezone.now()

    def claim():
        if actor is None:
            throttle_address(event, ip, now)
        return _claim(actor=actor, event=event, entry=entry, unit=unit, via=via, ip=ip, now=now)

    return _sealed(_standing(claim))


def buyer_pick(*, event: OpeningEvent, number: str, code: str, unit, via: str, ip=None) -> Pick:
    """A buyer picks for themselves with the entry number 认筹号 and the selection code,
    no account and no session (the buyer API): the request counts against its address
    first (so that guessing codes is as slow as picking), then the code is checked
    (``entry_by_code``: five wrong ones lock the entry), then it is ``unit_pick``'s
    pick. On PostgreSQL all of it is one call of the pick's database function
    (``_picked_by_database``), made of these same statements."""
    now = timezone.now()
    unit_id = getattr(unit, "pk", unit)
    if live.is_postgres() and str(unit_id).isdigit():
        try:
            return _sealed(_picked_by_database(event, number, code, int(unit_id), via, ip, now))
        except dbfunction.Unavailable:
            pass  # not installed, and this role may not: the Python path below

    def claim():
        entry = _signed_in(event, number, code, now, ip)
        return _claim(
            actor=None, event=event, entry=entry, unit=unit, via=via, ip=ip, now=now, locked=True
        )

    return _sealed(_standing(claim))


# the database function's arguments, by the sentinel each builder is handed for it
_SENTINEL_EVENT = 2_000_000_011
_SENTINEL_NOW = datetime.datetime(1901, 1, 1, tzinfo=datetime.UTC)
_SENTINEL_NUMBER = "\x01number"
_SENTINEL_HASH = "\x01hash"
_SENTINEL_ADDRESS = "\x01address"
_PICK_FUNCTIONS: dict[tuple, tuple[str, str]] = {}


def _pick_function(with_address: bool) -> tuple[str, str]:
    """The PostgreSQL function that is a buyer's pick (``_picked_by_database``), made of
    the Python path's own statements (``core.dbfunction``): ``_sign_in`` (the event's
    hold, the address's limit when ``with_address``, the code and the buyer's limit),
    ``_facts_query`` with its decision ``_refusal`` and ``_insert_pick``. It answers an
    outcome: ``ok`` with the pick, a refusal's code of ``_refusal``,
    ``address_too_fast``, or ``sign_in`` when the entry's UPDATE found no row
    (``_signed_in_slowly`` says why). Its name and ``CREATE`` statement
    (``dbfunction.named``), built once a process for the settings it was built with
    (the limits shape the statements)."""
    key = (with_address, min_interval(), address_interval())
    found = _PICK_FUNCTIONS.get(key)
    if found is None:
        found = _PICK_FUNCTIONS[key] = _pick_function_text(with_address)
    return found


def install_pick_functions(using: str = "default") -> None:
    """The pick's database functions for the settings of now, with and without the
    address's limit, created if missing: at ``migrate`` (``apps.py``: run as the tables'
    owner, which may create functions where the application's role may not)."""
    if not live.is_postgres(using):
        return
    for with_address in (True, False):
        dbfunction.ensure(*_pick_function(with_address), using=using)


def _pick_function_text(with_address: bool) -> tuple[str, str]:
    """``_pick_function``'s name and statement: each builder handed a sentinel for each
    of the function's arguments, which ``dbfunction.render`` turns back into it."""
    V = dbfunction.Variable
    now = _SENTINEL_NOW
    adapt = connection.ops.adapt_datetimefield_value
    variables = {
        _SENTINEL_EVENT: V("p_event"),
        _SENTINEL_NUMBER: V("p_number"),
        _SENTINEL_HASH: V("p_code_hash"),
        _SENTINEL_ADDRESS: V("p_address"),
        adapt(now - address_interval()): V("p_address_since"),
        adapt(now - min_interval()): V("p_entry_since"),
        adapt(now): V("p_now"),  # last: a limit of 0 is now itself
    }

    def render(sql, params):  # each sentinel as its argument, anything else a literal
        return dbfunction.render(sql, [variables.get(p, p) for p in params])

    event = types.SimpleNamespace(pk=_SENTINEL_EVENT)
    address = _address_limit(event, _SENTINEL_ADDRESS, now) if with_address else None
    sign_in = render(*_sign_in(_SENTINEL_EVENT, _SENTINEL_NUMBER, _SENTINEL_HASH, now, address))
    facts_sql, facts_params, slots, _columns, _converters = _CLAIM_FACTS.compile()
    slot_names = {"entry": V("v_entry"), "unit": V("p_unit"), "now": V("p_now")}
    facts = dbfunction.render(
        facts_sql,
        [slot_names[slot] if slot else p for p, slot in zip(facts_params, slots, strict=True)],
    )
    pick_values = {
        "event_id": V("p_event"),
        "entry_id": V("v_entry"),
        "seq": V("o_seq"),
        "unit_id": V("p_unit"),
        "via": V("p_via"),
        "ip": V("p_ip"),
        "at": V("p_now"),
    }
    insert = dbfunction.render(
        _insert_pick_sql(),
        [
            pick_values.get(f.attname) or f.get_db_prep_save(f.get_default(), connection)
            for f in _PICK_FIELDS
        ],
    )
    passed = "v_passed, " if address is not None else ""  # an interval of 0: no limit
    return dbfunction.named(
        "loupan_opening_pick",
        "(p_event integer, p_number text, p_code_hash text, p_unit bigint, p_now timestamptz, "
        "p_entry_since timestamptz, p_address text, p_address_since timestamptz, p_via text, "
        "p_ip inet) RETURNS TABLE (o_outcome text, o_pick bigint, o_entry bigint, "
        "o_seq integer, o_unit_number text)",
        f"""DECLARE
  v_passed boolean := true;
  v_entry bigint;
  v_number text;
  v_hash text;
  v_pick bigint;
  f record;
BEGIN
  {sign_in}
  INTO {passed}v_entry, v_number, v_hash;
  IF NOT v_passed THEN
    o_outcome := 'address_too_fast'; RETURN NEXT; RETURN;
  END IF;
  IF v_entry IS NULL THEN
    o_outcome := 'sign_in'; RETURN NEXT; RETURN;
  END IF;
  o_entry := v_entry;
  SELECT q.refusal, q.picked, q.unit_number INTO f FROM ({facts}) AS q;
  o_unit_number := f.unit_number;
  IF f.refusal IS NOT NULL THEN
    o_outcome := f.refusal; RETURN NEXT; RETURN;
  END IF;
  o_seq := f.picked + 1;
  {insert}
  INTO v_pick;
  IF v_pick IS NULL THEN
    o_outcome := 'unit_taken'; RETURN NEXT; RETURN;
  END IF;
  o_outcome := 'ok';
  o_pick := v_pick;
  RETURN NEXT;
END""",
    )


def _picked_by_database(
    event: OpeningEvent, number: str, code: str, unit_id: int, via: str, ip, now
) -> Pick:
    """A buyer's pick on PostgreSQL: one call of ``_pick_function``, its own transaction
    (or part of the caller's), one round trip. What it refuses is refused as the Python
    path refuses it; a sign-in it could not make goes to ``_signed_in_slowly`` (a wrong
    code is counted there) and, if that lets the buyer in after all, to ``_claim``."""
    limited = _address_limited(ip)
    function = _pick_function(limited)
    args = [
        event.pk,
        _number(number),
        code_digest(code),
        unit_id,
        now,
        now - min_interval(),
        _address_key(ip) if limited else None,
        now - address_interval(),
        via,
        ip,
    ]
    outcome, pick_pk, entry_pk, seq, unit_number = dbfunction.call(function, args)
    if outcome == "address_too_fast":
        raise _address_refusal()
    if outcome == "sign_in":

        def claim():
            entry = _signed_in_slowly(event, number, code, now)
            return _claim(
                actor=None,
                event=event,
                entry=entry,
                unit=unit_id,
                via=via,
                ip=ip,
                now=now,
                locked=True,
            )

        return _standing(claim)
    if outcome != "ok":
        raise _refused(outcome, entry_pk)
    entry = loaded(
        Entry, {"id": entry_pk, "event_id": event.pk, "number": _number(number)}, {"event": event}
    )
    pick = _new_pick(event, entry, unit_id, unit_number, seq, via, None, ip, now)
    return _inserted(pick, pick_pk)


def _signed_in(event: OpeningEvent, number: str, code: str, now, ip) -> Entry:
    """``throttle_address``, ``entry_by_code``, then ``throttle`` (or the row's lock
    when the buyer's limit is off) and ``live.hold_event``, in the one statement of a
    buyer's usual pick: the UPDATE of the entry's row that moves its last request on and
    clears its wrong codes where the number, the code, the lock-out and the buyer's
    limit all let it, which takes the row's lock; on PostgreSQL with the address's
    upsert (the entry untouched when the address is refused) and the event's hold as
    its ``WITH`` queries, the hold taken before the row's lock (a change of the event
    takes the hold first too). When it finds no row, the code and the buyer's limit are
    checked on their own and say why (a wrong code is counted). The entry comes back
    locked and its event held."""
    address = _address_limit(event, ip, now)
    if address is not None and connection.vendor != "postgresql":
        _address_passed(address)  # no UPDATE in a WITH clause there
        address = None
    sql, params = _sign_in(event.pk, number, code_digest(code), now, address)
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        if address is None:
            row = cursor.fetchone()
        else:
            passed, *row = cursor.fetchone()
            if not passed:
                raise _address_refusal()
            row = row if row[0] is not None else None
    if row is not None:
        pk, number, code_hash = row
        return loaded(
            Entry,
            {
                "id": pk,
                "event_id": event.pk,
                "number": number,
                "code_hash": code_hash,
                "code_failures": 0,
            },
            {"event": event},
        )
    return _signed_in_slowly(event, number, code, now)


def _sign_in(event_pk: int, number: str, code_hash: str, now, address) -> tuple[str, list]:
    """``_signed_in``'s statement and its parameters (``address``: ``_address_limit``'s
    upsert, or None): the entry's UPDATE, with the event's hold and the address's
    upsert as its ``WITH`` queries on PostgreSQL. It returns the entry's id, number and
    code hash (none when it found no row), after whether the address passed when
    ``address``."""
    table = connection.ops.quote_name(Entry._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    where = "event_id = %s AND number = %s AND code_hash = %s AND code_failures < %s"
    params = [event_pk, _number(number), code_hash, MAX_CODE_FAILURES]
    sets = "code_failures = 0"
    if min_interval() > datetime.timedelta(0):
        sets = "tried_at = %s, " + sets
        where += f" AND {_LIMIT_PASSED}"
        params = [adapt(now), *params, adapt(now - min_interval())]
    returning = "RETURNING id, number, code_hash"
    # the WITH queries, each the UPDATE's condition: PostgreSQL runs them before it
    # reads the entry's row
    queries, before = [], []
    for name, query in (("hold", live.holding(event_pk)), ("address", address)):
        if query is not None:
            queries.append(f"{name} AS ({query[0]})")
            before += query[1]
            where += f" AND EXISTS (SELECT 1 FROM {name})"
    update = f"UPDATE {table} SET {sets} WHERE {where} {returning}"
    if address is None:
        return (f"WITH {', '.join(queries)} {update}" if queries else update), before + params
    return (
        f"WITH {', '.join(queries)}, signed AS ({update}) "
        "SELECT EXISTS (SELECT 1 FROM address), signed.id, signed.number, "
        "signed.code_hash FROM (SELECT 1) AS one LEFT JOIN signed ON TRUE",
        before + params,
    )


def _signed_in_slowly(event: OpeningEvent, number: str, code: str, now) -> Entry:
    """When ``_sign_in`` found no row: the code and the buyer's limit checked on their
    own, saying why (a wrong code is counted); else the entry locked and its event held."""
    entry = entry_by_code(event, number, code)
    if not throttle(entry, now):
        _row_lock(Entry, entry.pk)
    live.hold_event(event.pk)
    return entry


def _standing(work):
    """Runs ``work`` in one transaction that is committed even when it refuses (a
    ``DomainError``): what it counted before the refusal (the address's and the buyer's
    last request, a wrong code) stands, then the refusal is raised. One transaction and
    one commit for the whole request: on opening day every round trip counts."""
    refusal = None
    with transaction.atomic():
        try:
            result = work()
        except DomainError as exc:
            refusal = exc
    if refusal is not None:
        raise refusal
    return result


def _sealed(pick: Pick) -> Pick:
    """The pick's reservation: written now (``LOUPAN_PICK_SEAL=inline``), woken in the
    process's sealer thread (``background``) once the claim is committed, or left to
    the sealer process (``process``: ``loupan seal-picks`` hears the commit)."""
    if sealer.in_background():
        transaction.on_commit(lambda: sealer.wake(picks_seal))
        return pick
    if not sealer.inline():
        return pick
    picks_seal()
    pick.refresh_from_db(fields=["deal", "seal_error"])
    return pick


def _row_lock(model, pk) -> None:
    """``model``'s row ``pk`` locked (``FOR UPDATE``) until the commit (PostgreSQL;
    SQLite has one writer)."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(model._meta.db_table)
        with prepared_cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [pk])


def claimable(event: OpeningEvent):
    """The event's units a pick may claim: held by the event for its buyers
    (``selection_start``), or available (an event started before it held its units). A
    unit the office held for another reason, or sold outside the event, is not."""
    return EventUnit.objects.filter(event_id=getattr(event, "pk", event)).filter(
        Q(held=True, unit__status=UnitStatus.HELD) | Q(unit__status=UnitStatus.AVAILABLE)
    )


def _facts_query(entry: int, unit: int, now):
    """What a claim decides on, in one read taken after the entry's row lock (so that
    the entry's own picks are counted as committed): the entry, its event, its picks,
    whether its batch's window holds ``now`` (``window_of``), whether the unit is in the
    event and still for sale (``claimable``), and the decision on them (``_refusal``).
    Whether another pick has the unit already, the pick's INSERT finds out (its
    conflict on the (event, unit) constraint), as it must for a race anyway. The facts
    only the decision reads are not selected: each subquery runs once."""
    mine = {"event_id": OuterRef("event_id")}
    window = Batch.objects.filter(
        **mine,
        first__lte=OuterRef("position"),
        last__gte=OuterRef("position"),
        starts_at__lte=now,
        ends_at__gt=now,
    )
    return (
        Entry.objects.filter(pk=entry)
        .order_by()
        .annotate(
            picked=per_row(
                Pick.objects.filter(entry_id=OuterRef("pk")), "entry_id", Count("pk"), 0
            ),
            in_window=Exists(window),
            unit_number=Subquery(Unit.objects.filter(pk=unit).order_by().values("number")[:1]),
            unit_in_event=Exists(EventUnit.objects.filter(**mine, unit_id=unit)),
            unit_for_sale=Exists(claimable(OuterRef("event_id")).filter(unit_id=unit)),
        )
        .annotate(refusal=_refusal())
        .values(
            "number",
            "status",
            "position",
            "qualified_at",
            "event__status",
            "event__requires_qualification",
            "event__max_units",
            "picked",
            "unit_number",
            "refusal",
        )
    )


_CLAIM_FACTS = Prepared(_facts_query, "entry", "unit", moments=("now",))


def _claim_facts(event: OpeningEvent, entry: Entry, unit_id: int, now):
    """``_facts_query`` for ``entry``, ``unit_id`` and ``now``: ``entry`` and ``event``
    brought up to what the database holds under the locks, and the facts as a dict."""
    facts = _CLAIM_FACTS.first(entry=entry.pk, unit=unit_id, now=now)
    event.status = facts["event__status"]
    event.requires_qualification = facts["event__requires_qualification"]
    event.max_units = facts["event__max_units"]
    entry.event = event
    entry.number = facts["number"]
    entry.status = facts["status"]
    entry.position = facts["position"]
    entry.qualified_at = facts["qualified_at"]
    return entry, facts


def _claim(
    *, actor, event: OpeningEvent, entry: Entry, unit, via: str, ip, now, locked=False
) -> Pick:
    """The pick's own work, in the request's one transaction (``_standing``): the
    buyer's last request moved on (``throttle``, which locks the entry's row) and the
    event held (``live.hold_event``), both done already when ``locked``
    (``_signed_in``), the rules checked (``_refusal``, read with the facts), the
    ``Pick`` row inserted. No deal, no audit chain, no number counter: nothing every pick of the day
    would queue for (bench/opening: those were the serial points). Each step is one
    short statement compiled once (``core.prepared``): the pick is the day's hot path."""
    unit_id = getattr(unit, "pk", unit)
    if entry.event_id != event.pk:
        raise invalid("entry", _("认筹不属于本活动"))
    if not locked:
        if not throttle(entry, now):
            _row_lock(Entry, entry.pk)
        live.hold_event(event.pk)
    unit_ok = str(unit_id).isdigit()
    entry, facts = _claim_facts(event, entry, int(unit_id) if unit_ok else 0, now)
    refusal = facts["refusal"]
    if refusal in _ENTRY_REFUSALS:
        raise _refused(refusal, entry)
    if not unit_ok:
        raise invalid("unit", _("请选择房间"))
    if refusal is not None:  # a unit picked already: also the INSERT's conflict below
        raise _refused(refusal, entry)
    seq = facts["picked"] + 1
    pick = _new_pick(event, entry, int(unit_id), facts["unit_number"], seq, via, actor, ip, now)
    pk = _insert_pick(pick)
    if pk is None:  # another buyer's claim on the unit committed first
        raise _refused("unit_taken", entry)
    return _inserted(pick, pk)


def _new_pick(event, entry, unit_id: int, unit_number, seq: int, via, actor, ip, now) -> Pick:
    """The ``Pick`` a claim makes (not saved), with its unit and entry at hand."""
    unit = loaded(Unit, {"id": unit_id, "number": unit_number, "project_id": event.project_id})
    return loaded(
        Pick,
        {
            "event_id": event.pk,
            "entry_id": entry.pk,
            "seq": seq,
            "unit_id": unit_id,
            "via": via,
            "actor_id": getattr(actor, "pk", None),
            "ip": ip,
            "at": now,
        },
        {"event": event, "entry": entry, "unit": unit, "actor": actor},
        adding=True,
    )


def _inserted(pick: Pick, pk: int) -> Pick:
    """``pick`` as the row ``pk`` the INSERT made. Every screen and phone learns of it
    at its next read of the event's version (``live``); this worker's board is stale at
    the commit."""
    pick.pk = pk
    pick._state.adding = False
    pick._state.db = connection.alias
    transaction.on_commit(lambda: live.changed_here(pick.event_id))
    return pick


_PICK_FIELDS = [f for f in Pick._meta.concrete_fields if not f.primary_key]
_INSERT_PICK: dict[str, str] = {}


def _insert_pick_sql() -> str:
    """``_insert_pick``'s statement up to its ``RETURNING id``, built once a database."""
    sql = _INSERT_PICK.get(connection.vendor)
    if sql is None:
        table = connection.ops.quote_name(Pick._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(f.column) for f in _PICK_FIELDS)
        marks = ", ".join(["%s"] * len(_PICK_FIELDS))
        sql = _INSERT_PICK[connection.vendor] = (
            f"INSERT INTO {table} ({columns}) VALUES ({marks}) "
            "ON CONFLICT (event_id, unit_id) DO NOTHING RETURNING id"
        )
    return sql


def _insert_pick(pick: Pick) -> int | None:
    """INSERT the pick unless the unit is picked already (``ON CONFLICT DO NOTHING`` on
    the (event, unit) constraint: a lost race is an answer, not an aborted transaction
    to roll back); its id when it went in."""
    values = [f.get_db_prep_save(f.pre_save(pick, True), connection) for f in _PICK_FIELDS]
    with prepared_cursor() as cursor:
        cursor.execute(_insert_pick_sql(), values)
        row = cursor.fetchone()
    return row[0] if row else None


# Any constant: the key of the PostgreSQL advisory lock that lets one sealer run at a
# time, whichever worker or server it is in.
_SEAL_LOCK_KEY = 0x4C505345  # "LPSE"
SEAL_BATCH = 50


def _seal_lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SEAL_LOCK_KEY])


def _unsealed():
    return Pick.objects.filter(deal__isnull=True, seal_error="")


def picks_seal(*, now=None, limit: int = SEAL_BATCH) -> dict:
    """The sealer: every pick still without its deal gets it (``pick_deal``: the
    reservation, or the subscription, in the buyer's name), and its audit entry, in
    batches of ``limit`` picks per transaction, oldest first. One sealer runs at a time
    (an advisory lock on PostgreSQL), so the number counter and the audit chain are
    taken once a batch, not once a pick. A pick whose deal cannot be made (the unit
    sold outside the event after it was claimed, an attached unit no longer free)
    keeps the reason (``seal_error``, audited) for the office; the others go on. Run
    after each claim (in the request or by the process's sealer thread) and by
    ``loupan run-due`` for whatever a stopped server left."""
    sealed = failed = 0
    while True:
        done, bad = _seal_batch(limit)
        sealed, failed = sealed + done, failed + bad
        if done + bad < limit:
            break
    return {"picks_sealed": sealed, "picks_unsealable": failed}


def _seal_batch(limit: int, pk=None) -> tuple[int, int]:
    ids: list[int] = []
    try:
        with audit_batch():
            _seal_lock()
            qs = (
                _unsealed()
                .select_for_update(of=("self",), skip_locked=True)
                .select_related("event__operator", "entry__customer__owner", "unit__project")
                # not the lottery package (every entrant's JSON) once for each pick
                .defer("event__package")
                .order_by("pk")
            )
            picks = list(qs.filter(pk=pk) if pk is not None else qs[:limit])
            # one event object (and so one operator) for the batch's picks of an event:
            # the operator's permissions are read once a batch, not once a pick
            events: dict[int, OpeningEvent] = {}
            for pick in picks:
                pick.event = events.setdefault(pick.event_id, pick.event)
            ids = [pick.pk for pick in picks]
            _release_held(picks)
            for pick in picks:
                _seal(pick)
        return len(ids), 0
    except (DomainError, IntegrityError) as exc:
        if pk is not None:
            _seal_failed(pk, exc)
            return 0, 1
        # one pick failed the batch: seal them one by one to find it
        done = bad = 0
        for one in ids:
            d, b = _seal_batch(1, pk=one)
            done, bad = done + d, bad + b
        return done, bad


def _release_held(picks: list[Pick]) -> None:
    """The units the event held for its buyers (``selection_start``) go back to
    available before their deals reserve them: a batch's units of one event in one
    move (``inventory_services.units_unhold``), not one move a pick. Each pick keeps
    its unit as the release re-read it, with the project already read."""
    by_event: dict[int, list[Pick]] = {}
    for pick in picks:
        by_event.setdefault(pick.event_id, []).append(pick)
    for mine in by_event.values():
        event, project = mine[0].event, mine[0].unit.project
        held = sorted(
            claimable(event)
            .filter(unit__in=[p.unit_id for p in mine], held=True, unit__status=UnitStatus.HELD)
            .values_list("unit_id", flat=True)
        )
        if not held:
            continue
        released = inventory_services.units_unhold(
            actor=None,
            project=project,
            unit_ids=held,
            reason=_("开盘选房 %(e)s") % {"e": event.name},
        )
        by_unit = {unit.pk: unit for unit in released}
        for pick in mine:
            if pick.unit_id in by_unit:
                pick.unit = by_unit[pick.unit_id]
                pick.unit.project = project


def _seal(pick: Pick) -> None:
    pick.entry.event = pick.event
    pick.deal = pick_deal(entry=pick.entry, unit=pick.unit)
    pick.save(update_fields=["deal"])
    _audit_pick(pick, deal=pick.deal.pk)


def _audit_pick(pick: Pick, **extra) -> None:
    audit_record(
        actor=pick.actor,
        username="" if pick.actor_id else f"认筹号{pick.entry.number}",
        action=AuditAction.CREATE,
        obj=pick,
        project_id=pick.event.project_id,
        extra={
            "via": pick.via,
            "entry": pick.entry.number,
            "unit": pick.unit.number,
            "at": pick.at.isoformat(),
            **extra,
        },
    )


def _seal_failed(pk: int, exc: Exception) -> None:
    reason = str(getattr(exc, "message", "") or exc)[:200] or _("无法生成交易")
    with audit_batch():
        pick = (
            _unsealed()
            .select_for_update(of=("self",))
            .select_related("event", "entry", "unit")
            .defer("event__package")
            .filter(pk=pk)
            .first()
        )
        if pick is None:
            return
        pick.seal_error = reason
        pick.save(update_fields=["seal_error"])
        _audit_pick(pick, seal_error=reason)
