"""The demo office's after sales (issue 14 "Done when"): registered in
``AftersalesConfig.ready()`` after the payments; the working-day calendar first (the
deadlines count on it), one more signed contract paid in full (so that the settlements
and certificates reach every band and stage), then each part."""

from decimal import Decimal

from loupan.deals import contracts_demo
from loupan.deals import services as deal_services
from loupan.deals.models import Deal
from loupan.payments import services as payment_services
from loupan.payments.money_demo import demo_subscription

from .calendar_demo import demo_calendar
from .complaints_demo import demo_complaints
from .delivery_demo import demo_delivery
from .models import Settlement
from .settlement_demo import demo_settlement

# enough signed contracts for a settlement in every band and a certificate in every stage
CONTRACTS = 4


def _contracts(context: dict) -> None:
    project, users = context["main"], context["users"]
    if Settlement.objects.filter(deal__project=project).exists():
        return
    signed = Deal.objects.filter(project=project, status="contracted").count()
    for _i in range(CONTRACTS - signed):
        deal = demo_subscription(project, users, "consultant2", "one_off")
        contracts_demo.review(deal, users)
        deal = deal_services.deal_contract(actor=users["salesadmin"], deal=deal)
        owed = deal.total - payment_services.received_of(deal)
        if owed > Decimal("0"):
            payment_services.payment_record(
                actor=users["finance"],
                deal=deal,
                amount=owed,
                method="transfer",
                bank_reference=f"CCB-{deal.pk:06d}",
            )


def demo_aftersales(context: dict) -> None:
    demo_calendar(context)
    _contracts(context)
    demo_settlement(context)
    demo_delivery(context)
    demo_complaints(context)
