"""Reads of the money (HackSoft selectors): every list starts from a restricted queryset
(a consultant sees their own deals' money, finance and the leads a project's), and the
figures are derived from the ledger as of today — a GET never writes."""

import datetime

from django.db.models import (
    Exists,
    Max,
    Min,
    OuterRef,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from loupan.accounts import access
from loupan.core.money import ZERO
from loupan.deals.models import Deal

from . import rules
from .arrears import MONEY_FIELD, items_with_paid
from .models import (
    Arrear,
    CollectionRecord,
    Deferral,
    LedgerEntry,
    Purpose,
    Receipt,
    ScheduleItem,
)

SEE = ("payment.view", "payment.view_own")


def _sum(queryset, field="amount"):
    return Coalesce(
        Subquery(
            queryset.values(queryset.model._meta.get_field("deal").attname)
            .annotate(s=Sum(field))
            .values("s")[:1],
            output_field=MONEY_FIELD,
        ),
        Value(ZERO),
        output_field=MONEY_FIELD,
    )


def deals_for_money(user, project):
    """The deals whose money the user may see in ``project``: all with ``payment.view``,
    their own with ``payment.view_own``."""
    qs = Deal.objects.filter(project=project)
    if access.has_perm(user, "payment.view", project):
        return qs
    if access.has_perm(user, "payment.view_own", project):
        return qs.filter(consultant=user)
    return qs.none()


def with_money(deals, today: datetime.date | None = None):
    """Deals with ``received`` (toward the price), ``overdue`` (owed on items past due),
    ``next_due`` (the earliest unpaid item's date) and ``last_paid`` annotated."""
    today = today or timezone.localdate()
    received = _sum(
        LedgerEntry.objects.filter(deal_id=OuterRef("pk")).exclude(purpose=Purpose.LATE_FEE)
    )
    owed_items = items_with_paid(ScheduleItem.objects.filter(deal_id=OuterRef("pk"))).filter(
        owed__gt=0
    )
    overdue = Coalesce(
        Subquery(
            owed_items.filter(due_date__lt=today)
            .values("deal_id")
            .annotate(s=Sum("owed"))
            .values("s")[:1],
            output_field=MONEY_FIELD,
        ),
        Value(ZERO),
        output_field=MONEY_FIELD,
    )
    next_due = Subquery(owed_items.values("deal_id").annotate(d=Min("due_date")).values("d")[:1])
    last_paid = Subquery(
        LedgerEntry.objects.filter(deal_id=OuterRef("pk"), amount__gt=0)
        .values("deal_id")
        .annotate(d=Max("paid_on"))
        .values("d")[:1]
    )
    # what the schedule still waits for (the price's items and an area settlement's)
    balance = Coalesce(
        Subquery(
            owed_items.values("deal_id").annotate(s=Sum("owed")).values("s")[:1],
            output_field=MONEY_FIELD,
        ),
        Value(ZERO),
        output_field=MONEY_FIELD,
    )
    return deals.annotate(
        received=received,
        overdue=overdue,
        next_due=next_due,
        last_paid=last_paid,
        balance=balance,
    )


DETAIL_FIELDS = (
    "project_id",
    "status",
    "number",
    "contract_number",
    "payment_method",
    "total",
    "unit__number",
    "customer__name",
    "consultant__username",
    "consultant__real_name",
    "mortgage__stage",
)


def detail_rows(user, project, today=None):
    """客户交款情况明细表 (seed 002 二.5(1)): every deal that pays (认购, 签约), by
    payment method, with what it has received, owes and has overdue."""
    deals = (
        deals_for_money(user, project)
        .filter(status__in=rules.PAYING)
        .select_related("unit", "customer", "consultant", "mortgage")
        # only what the list shows: narrow rows keep the sort of a large project cheap
        .only(*DETAIL_FIELDS)
    )
    return with_money(deals, today).order_by("payment_method", "unit__number", "pk")


def receipts_for(user, project):
    return Receipt.objects.restrict(user, "view").filter(project=project)


def entries_for(user, project):
    return LedgerEntry.objects.restrict(user, "view").filter(project=project)


def collection_items(user, project, today=None):
    """The collection list 催款: overdue items of the deals the user follows (a
    consultant: their own), oldest due first, with the last collection record."""
    today = today or timezone.localdate()
    deals = deals_for_money(user, project).filter(status__in=rules.PAYING)
    last = CollectionRecord.objects.filter(item_id=OuterRef("pk")).order_by("-at", "-pk")
    return (
        items_with_paid(ScheduleItem.objects.filter(deal__in=deals))
        .filter(due_date__lt=today, owed__gt=0)
        .annotate(
            last_at=Subquery(last.values("at")[:1]),
            last_note=Subquery(last.values("note")[:1]),
            promised_on=Subquery(last.values("promised_on")[:1]),
            deferred=Exists(Deferral.objects.filter(item_id=OuterRef("pk"))),
            since=Subquery(
                Arrear.objects.filter(item_id=OuterRef("pk"), settled_on__isnull=True).values(
                    "found_on"
                )[:1]
            ),
        )
        .select_related("deal__unit", "deal__customer", "deal__consultant")
        .order_by("deal__consultant__real_name", "deal__consultant_id", "due_date", "pk")
    )


def deferrals_for(user, project):
    """延期付款客户一览表 (seed 002 二.5(2))."""
    return (
        Deferral.objects.restrict(user, "view")
        .filter(project=project)
        .select_related(
            "deal__unit", "deal__customer", "deal__consultant", "item", "request__requested_by"
        )
    )


def overdue_count(user, project) -> int:
    """How many items the user's collection list holds (the home page's line)."""
    if not (
        access.has_perm(user, "payment.view", project)
        or access.has_perm(user, "payment.view_own", project)
    ):
        return 0
    return collection_items(user, project).count()
