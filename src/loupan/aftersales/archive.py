"""The owner archive 业主档案 (issue 14): one page per owner and unit with everything the
office holds — the deal and its changes, payments, settlement, certificate, delivery,
complaints, repairs, surveys — in one timeline; reached from the owner search that
customer service starts from. It only reads."""

import datetime
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loupan.customers import selectors as customer_selectors
from loupan.customers.models import Customer
from loupan.deals.models import DealBuyer, DealStatus
from loupan.payments.models import LedgerEntry

from . import rules
from .models import (
    Certificate,
    CertificateEvent,
    Complaint,
    Delivery,
    RepairOrder,
    Settlement,
    SurveyInvitation,
)

OWNER_STATUSES = (DealStatus.CONTRACTED, DealStatus.SUBSCRIBED, DealStatus.CANCELLED)


def owners(user, project, text: str = ""):
    """The owners the user may see (a consultant: their own buyers), searched by name,
    pinyin initials, the last four digits of a phone, the unit or a document number."""
    qs = (
        rules.deals_for(user, project)
        .filter(status__in=OWNER_STATUSES)
        .select_related("unit__building", "customer", "consultant")
    )
    text = (text or "").strip()
    if text:
        buyers = customer_selectors.search(Customer.objects.filter(project=project), text)
        qs = qs.filter(
            Q(customer__in=buyers)
            | Q(pk__in=DealBuyer.objects.filter(customer__in=buyers).values("deal_id"))
            | Q(unit__number__icontains=text)
            | Q(number__icontains=text)
            | Q(contract_number__icontains=text)
        )
    return qs.order_by("unit__building__name", "unit__number", "-pk")


KIND_LABELS = {
    "deal": _("交易"),
    "payment": _("收付款"),
    "settlement": _("面积补差"),
    "certificate": _("权证"),
    "delivery": _("交房"),
    "complaint": _("投诉"),
    "repair": _("维修"),
    "survey": _("满意度调查"),
}


@dataclass
class Event:
    at: datetime.datetime
    kind: str
    title: str
    detail: str = ""

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self.kind])


def _at(value) -> datetime.datetime:
    """A date or a datetime as an aware datetime (dates at the start of the day)."""
    if isinstance(value, datetime.datetime):
        return value
    return timezone.make_aware(datetime.datetime.combine(value, datetime.time()))


def timeline(deal) -> list[Event]:
    """Everything that happened to the owner and unit, newest first."""
    events = [Event(_at(deal.reserved_at), "deal", "预留", deal.reservation_number)]
    if deal.subscribed_at:
        events.append(Event(_at(deal.subscribed_at), "deal", "认购", deal.number))
    if deal.signed_on:
        events.append(Event(_at(deal.signed_on), "deal", "签约", deal.contract_number))
    for change in deal.changes.select_related("request"):
        events.append(Event(change.at, "deal", change.get_kind_display(), change.request.reason))
    if deal.ended_at:
        events.append(Event(deal.ended_at, "deal", deal.get_status_display(), deal.end_reason))
    for e in LedgerEntry.objects.filter(deal=deal).select_related("receipt").order_by("pk"):
        number = e.receipt.number if e.receipt else ""
        events.append(
            Event(
                _at(e.paid_on),
                "payment",
                f"{e.get_kind_display()} {e.amount}",
                " ".join(filter(None, [e.get_method_display(), number, e.reason])),
            )
        )
    settlement = Settlement.objects.filter(deal=deal).first()
    if settlement:
        events.append(
            Event(
                settlement.computed_at,
                "settlement",
                f"面积补差 {settlement.amount}",
                f"误差比 {settlement.error_ratio}% · {settlement.get_status_display()}",
            )
        )
    certificate = Certificate.objects.filter(deal=deal).first()
    if certificate:
        for ev in CertificateEvent.objects.filter(certificate=certificate):
            label = dict(Certificate._meta.get_field("stage").choices).get(ev.to_stage, "")
            events.append(Event(ev.at, "certificate", f"权证：{label}", ev.note))
    delivery = Delivery.objects.filter(deal=deal).first()
    if delivery:
        events.append(Event(delivery.notified_at, "delivery", "入伙通知", delivery.batch.name))
        if delivery.appointment_on:
            events.append(
                Event(_at(delivery.appointment_on), "delivery", "预约交房", delivery.slot)
            )
        if delivery.inspected_at:
            events.append(
                Event(delivery.inspected_at, "delivery", "验房", delivery.inspection_note)
            )
        if delivery.delivered_at:
            events.append(Event(delivery.delivered_at, "delivery", "交付", "钥匙已交"))
    for c in Complaint.objects.filter(deal=deal).select_related("category"):
        events.append(Event(c.received_at, "complaint", f"投诉 {c.number}", c.category.name))
        if c.resolved_at:
            events.append(Event(c.resolved_at, "complaint", f"投诉已解决 {c.number}", c.resolution))
        if c.visited_at:
            events.append(Event(c.visited_at, "complaint", f"投诉回访 {c.number}", c.visit_note))
    for r in RepairOrder.objects.filter(deal=deal):
        events.append(Event(r.created_at, "repair", f"维修 {r.number}", r.description))
        if r.done_at:
            events.append(Event(r.done_at, "repair", f"维修完工 {r.number}", r.done_note))
    for inv in SurveyInvitation.objects.filter(deal=deal).select_related("survey"):
        events.append(Event(inv.sent_at, "survey", "满意度调查", inv.survey.title))
        if inv.answered_at:
            events.append(Event(inv.answered_at, "survey", "已答卷", inv.survey.title))
    return sorted(events, key=lambda e: e.at, reverse=True)
