"""The demo office's area settlements and certificates (called by aftersales/demo.py;
issue 14 "Done when": settlements in every band, certificates in every stage).

Idempotent: a unit that already has measured areas, a deal that already has a
settlement or a certificate, is left as it is; a second run picks up the deals
contracted since. The demo has few contracted deals, so the bands and stages go to them
in the order of ``BANDS`` and ``STAGES``; the units of the subscribed deals get measured
areas too (within ±3%), ready for their settlement once they sign."""

import datetime
from decimal import Decimal

from django.utils import timezone

from loupan.core.money import area
from loupan.deals.models import Deal, DealStatus
from loupan.inventory.models import PricingBasis

from . import settlement as s
from .models import Certificate, MeasuredArea, Settlement

# The measured area as a ratio of the contract area, per contracted deal in turn: beyond
# +3% (the developer bears the rest), the 3% boundary as the office sees it (3.00%,
# settled on the measured area), beyond −3% (the part beyond refunded twice), within.
BANDS = [Decimal("1.040"), Decimal("1.02995"), Decimal("0.960"), Decimal("0.988")]
SUBSCRIBED_RATIO = Decimal("1.012")
# The stage each certificate reaches, per contracted deal in turn, and how many days ago
# its file was opened (the first has waited long enough to be a reminder).
STAGES = [("transfer", 50), ("handed", 90), ("issued", 60), ("filing", 40)]


def _measured(deal, ratio, actor, now) -> None:
    unit = deal.unit
    if MeasuredArea.objects.filter(unit=unit).exists():
        return
    contract = Decimal(deal.area or unit.gross_area or 0)
    if contract <= 0:
        return
    if deal.pricing_basis == PricingBasis.INTERNAL_AREA:
        internal = area(contract * ratio)
        gross = area(Decimal(unit.gross_area or internal) * ratio)
    else:
        gross = area(contract * ratio)
        internal = area(Decimal(unit.internal_area) * ratio) if unit.internal_area else None
        if internal is not None and internal > gross:
            internal = None
    MeasuredArea.objects.create(
        unit=unit,
        gross_area=gross,
        internal_area=internal,
        surveyed_on=timezone.localdate() - datetime.timedelta(days=20),
        report="测绘报告 CH-演示-001",
        imported_by=actor,
        imported_at=now,
    )


def _certificate(deal, stage, days, actor) -> None:
    today = timezone.localdate()
    opened = today - datetime.timedelta(days=days)
    cert = s.certificate_open(actor=actor, deal=deal, on=opened, note="演示数据")
    if stage == "filing":
        return
    for document in cert.documents:
        cert = s.certificate_check_document(
            actor=actor, certificate=cert, name=document["name"], done=True
        )
    step = max(days // 4, 1)
    cert = s.certificate_move(
        actor=actor,
        certificate=cert,
        to_stage="transfer",
        on=opened + datetime.timedelta(days=step if stage != "transfer" else 5),
        note="资料齐全，已递交不动产登记中心",
    )
    if stage == "transfer":
        return
    cert = s.certificate_move(
        actor=actor,
        certificate=cert,
        to_stage="issued",
        on=opened + datetime.timedelta(days=2 * step),
        certificate_number=f"川(2026)成都市不动产权第{deal.pk:07d}号",
    )
    if stage == "issued":
        return
    if cert.mortgage_needed:
        cert = s.certificate_register_mortgage(
            actor=actor, certificate=cert, on=opened + datetime.timedelta(days=2 * step)
        )
    s.certificate_move(
        actor=actor,
        certificate=cert,
        to_stage="handed",
        on=opened + datetime.timedelta(days=3 * step),
        note="业主本人领取",
    )


def demo_settlement(context: dict) -> None:
    project, users = context["main"], context["users"]
    actor = users["service"]
    now = timezone.now()
    contracted = list(
        Deal.objects.filter(project=project, status=DealStatus.CONTRACTED)
        .select_related("unit", "project")
        .order_by("pk")
    )
    for index, deal in enumerate(contracted):
        _measured(deal, BANDS[index % len(BANDS)], actor, now)
    for deal in (
        Deal.objects.filter(project=project, status=DealStatus.SUBSCRIBED)
        .select_related("unit")
        .order_by("pk")
    ):
        _measured(deal, SUBSCRIBED_RATIO, actor, now)

    done = set(Settlement.objects.filter(project=project).values_list("deal_id", flat=True))
    for index, deal in enumerate(contracted):
        if deal.pk in done:
            continue
        settlement = s.settlement_compute(actor=actor, deal=deal)
        # the first two notified (an amount due on the schedule, a refund for finance)
        if index in (0, 2):
            s.settlement_notify(actor=actor, settlement=settlement)

    opened = set(Certificate.objects.filter(project=project).values_list("deal_id", flat=True))
    for index, deal in enumerate(contracted):
        if deal.pk in opened:
            continue
        stage, days = STAGES[index % len(STAGES)]
        _certificate(deal, stage, days, actor)
