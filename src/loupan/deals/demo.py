"""The demo office's deals: the main project's discount types and deals in every state
of the path, with the changes after subscription. Registered in ``DealsConfig.ready()``;
runs last (it needs the priced units and the consultants' customers)."""

import datetime

from django.utils import timezone

from loupan.approvals import services as approvals
from loupan.core.demo import at
from loupan.customers.models import Customer
from loupan.inventory.models import Unit

from . import changes, contracts, contracts_demo
from . import services as ds
from .models import Deal, DiscountType

DEMO_DISCOUNTS = [
    # name, kind, value, order, variable
    ("一次性付款", "percent", "1", 1, False),
    ("按揭付款", "percent", "0.5", 2, False),
    ("开盘优惠", "amount", "20000", 3, False),
    ("老带新", "percent", "0.5", 4, False),
    ("员工购房", "percent", "2", 5, False),
    ("特批", "percent", "0", 9, True),
]


def demo_deals(context: dict) -> None:
    """The project's discount types, and deals in every state of the path: reserved,
    waiting for a discount approval, waiting for finance to confirm the deposit,
    subscribed (one past its signing deadline), contracted with an approved special
    clause and filing, an expired reservation and a released one, and the changes
    after subscription (``demo_changes``). Built only once."""
    project, users = context["main"], context["users"]
    for name, kind, value, order, variable in DEMO_DISCOUNTS:
        DiscountType.objects.get_or_create(
            project=project,
            name=name,
            defaults={"kind": kind, "value": value, "sort_order": order, "variable": variable},
        )
    if Deal.objects.filter(project=project).exists():
        return
    types = {t.name: t for t in DiscountType.objects.filter(project=project)}
    units = iter(
        Unit.objects.open_for_sale()
        .filter(project=project, use="residential")
        .exclude(list_price=None)
        .order_by("building__name", "floor", "room")
    )
    owned = {
        name: list(
            Customer.objects.filter(project=project, owner=users[name], in_pool=False).order_by(
                "registered_at"
            )
        )
        for name in ("consultant", "consultant2")
    }
    now = timezone.now()

    def ago(days=0, hours=0):
        """A moment on the demo's timeline: ``days`` and ``hours`` back from now, moved
        back to the last office hour (9:00–18:00) at or before it."""
        moment = timezone.localtime(now - datetime.timedelta(days=days, hours=hours))
        if moment.hour < 9:
            moment -= datetime.timedelta(days=1)
        if not 9 <= moment.hour < 18:
            moment = moment.replace(hour=17, minute=(days * 13 + hours * 7) % 60)
        return moment

    def reserve(consultant="consultant", when=None):
        """A 保留单 at ``when`` (now by default) for the consultant's longest-registered
        customer who was registered by then."""
        when = when or timezone.now()
        customer = next(c for c in owned[consultant] if c.registered_at < when)
        owned[consultant].remove(customer)
        with at(when):
            return ds.deal_reserve(actor=users[consultant], unit=next(units), customer=customer)

    def subscribe(deal, consultant="consultant", discounts=(), when=None, **kw):
        """Its 认购 an hour after the reservation (or at ``when``)."""
        deposit = (deal.unit.list_price * 5 / 100).quantize(1)
        with at(when or deal.reserved_at + datetime.timedelta(hours=1)):
            return ds.deal_subscribe(
                actor=users[consultant],
                deal=deal,
                buyers=[(deal.customer, "100")],
                payment_method=kw.pop("payment_method", "commercial"),
                deposit=deposit,
                discounts=[(types[n], v) for n, v in discounts],
                **kw,
            )

    def confirm(deal, hours=2):
        """Finance confirms the deposit ``hours`` after the subscription."""
        with at(deal.subscribed_at + datetime.timedelta(hours=hours)):
            return ds.deal_confirm_deposit(actor=users["finance"], deal=deal)

    reserve(when=ago(hours=5))  # 预留 this morning, within the reservation's 24 hours
    reserve("consultant2", when=ago(hours=4))
    subscribe(  # waiting for the discount's approval
        reserve(when=ago(days=1)),
        discounts=[("一次性付款", None), ("特批", "2")],
        reason="老业主再次购房",
    )
    subscribe(  # 待确认定金
        reserve("consultant2", when=ago(days=1, hours=3)),
        "consultant2",
        discounts=[("按揭付款", None)],
    )
    # 认购: the first (ten days ago) is past its signing deadline (未签约客户一览表)
    subscribed = []
    for consultant, days in (("consultant", 10), ("consultant2", 4), ("consultant", 2)):
        deal = subscribe(
            reserve(consultant, when=ago(days=days)), consultant, discounts=[("按揭付款", None)]
        )
        subscribed.append(confirm(deal))
    # the contract's templates, and the late one's contract finance sent back (计财部审核)
    contracts_demo.demo_templates(project, users)
    late = subscribed[0]
    with at(late.subscribed_at + datetime.timedelta(days=2)):
        contracts_demo.review(
            late, users, approve=False, reason="付款计划与认购书约定不一致，请核对"
        )
    for i, days in enumerate((30, 24, 18)):  # 签约, a few days after the subscription
        deal = subscribe(
            reserve(when=ago(days=days)),
            payment_method="one_off",
            discounts=[("一次性付款", None)],
        )
        deal = confirm(deal)
        if i == 0:
            with at(deal.subscribed_at + datetime.timedelta(hours=3)):
                ds.clause_add(actor=users["consultant"], deal=deal, text="交房时赠送一年物业费")
                request = deal.approvals.get(kind="clause")
                approvals.approval_decide(actor=users["director"], request=request, approve=True)
        with at(deal.subscribed_at + datetime.timedelta(days=2)):
            contracts_demo.review(deal, users)
        with at(deal.subscribed_at + datetime.timedelta(days=3)):
            deal = ds.deal_contract(actor=users["salesadmin"], deal=deal)
            if i == 0:
                contracts.supplement_add(
                    actor=users["salesadmin"],
                    deal=deal,
                    title="车位使用权补充协议",
                    text="出卖人同意买受人在交房后一年内按备案价优先购买本楼地下车位一个。",
                )
        if i < 2:
            with at(deal.subscribed_at + datetime.timedelta(days=5)):
                ds.contract_update_filing(
                    actor=users["salesadmin"],
                    deal=deal,
                    filing_status="filed" if i == 0 else "signed",
                    filing_number=f"CD2026{deal.pk:06d}",
                )
    # a reservation that ran out yesterday (its 24 hours passed), and one withdrawn
    reserve("consultant2", when=ago(days=2))
    ds.deals_expire()
    released = reserve(when=ago(hours=7))
    with at(released.reserved_at + datetime.timedelta(hours=1)):
        ds.deal_release(actor=users["consultant"], deal=released, reason="客户改选其他楼栋")
    demo_changes(project, users, reserve, subscribe, confirm, ago)


def demo_changes(project, users, reserve, subscribe, confirm, ago) -> None:
    """The changes after subscription: an exchange, a rename with a co-buyer, a
    cancellation under arbitration, and a cancellation waiting for the manager, each
    requested and decided on the days after its subscription."""

    def confirmed(consultant="consultant", days=6):
        deal = subscribe(
            reserve(consultant, when=ago(days=days)), consultant, discounts=[("按揭付款", None)]
        )
        return confirm(deal)

    def approve(request):
        while request.status == "pending":
            request = approvals.approval_decide(
                actor=users[request.level], request=request, approve=True
            )

    # 换房: consultant asks, the supervisor forwards, the manager approves
    deal = confirmed(days=6)
    target = (
        Unit.objects.open_for_sale()
        .filter(project=project, use="residential")
        .exclude(list_price=None)
        .order_by("-floor", "building__name", "room")
        .first()
    )
    approve(
        changes.exchange_request(
            actor=users["consultant"], deal=deal, unit=target, reason="客户希望换到高楼层"
        )
    )
    # 更名: a spouse added as co-buyer, 50/50
    deal = confirmed(days=5)
    spouse = (
        Customer.objects.filter(project=project, owner=users["consultant"], in_pool=False)
        .exclude(pk=deal.customer_id)
        .exclude(deals__isnull=False)
        .order_by("-registered_at")
        .first()
    )
    approve(
        changes.rename_request(
            actor=users["consultant"],
            deal=deal,
            buyers=[(deal.customer, "50"), (spouse, "50")],
            reason="增加配偶为共同买受人",
        )
    )
    # 退房 with a dispute: the buyer defaults, the deposit is kept, the buyer goes to
    # arbitration
    deal = confirmed("consultant2", days=9)
    with at(deal.subscribed_at + datetime.timedelta(days=2)):
        contracts_demo.review(deal, users)
    with at(deal.subscribed_at + datetime.timedelta(days=3)):
        deal = ds.deal_contract(actor=users["salesadmin"], deal=deal)
    approve(
        changes.cancel_request(
            actor=users["consultant2"],
            deal=deal,
            cancel_reason="loan",
            detail="银行拒贷，客户无力一次性付款",
            deposit_treatment="forfeit",
            originals_returned=True,
        )
    )
    changes.cancellation_dispute(
        actor=users["salesadmin"],
        deal=deal,
        dispute="arbitration",
        note="客户申请仲裁，要求退还定金",
    )
    # a cancellation waiting (the supervisor's turn)
    changes.cancel_request(
        actor=users["consultant"],
        deal=confirmed(days=3),
        cancel_reason="personal",
        detail="工作调动离开本市",
        deposit_treatment="part",
        forfeited="10000",
    )
