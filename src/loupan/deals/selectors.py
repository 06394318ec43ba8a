"""Reads of deals for other parts of the office, restricted to what the reader sees.

``day_deals``: the day's reservations 保留单, subscriptions 认购 and contracts 签约, what
the supervisor re-checks every day (seed 001 三(四)3: 負責復審每日簽約的合同、認購單、保留單);
``deal_days``: the days that had any of them (the 主管复审 sign-off's days to check).
Days are local days (``TIME_ZONE``); a contract's day is its signing date.
"""

import datetime

from django.db.models.functions import TruncDate

from .models import Deal

RELATED = ("unit__building", "customer", "consultant")
# the 主管复审 sign-off's kind (signoffs engine, registered in apps.py)
REVIEW_SIGNOFF = "deal_review"


def day_deals(user, project, day: datetime.date) -> dict:
    """The day's reservations, subscriptions and contracts that ``user`` may see."""
    deals = Deal.objects.restrict(user, "view").filter(project=project).select_related(*RELATED)
    return {
        "reservations": deals.filter(reserved_at__date=day).order_by("reserved_at", "pk"),
        "subscriptions": deals.filter(subscribed_at__date=day).order_by("subscribed_at", "pk"),
        "contracts": deals.filter(signed_on=day).order_by("contract_number", "pk"),
    }


def day_figures(project, day: datetime.date) -> dict:
    """What the 主管复审 sign-off freezes: the day's counts and the deals' ids."""
    deals = Deal.objects.filter(project=project)
    groups = {
        "reservations": deals.filter(reserved_at__date=day),
        "subscriptions": deals.filter(subscribed_at__date=day),
        "contracts": deals.filter(signed_on=day),
    }
    figures = {}
    for name, qs in groups.items():
        ids = sorted(qs.values_list("pk", flat=True))
        figures[name] = len(ids)
        figures[f"{name}_ids"] = ids
    return figures


def figure_labels() -> dict:
    from django.utils.translation import gettext as _

    return {"reservations": _("保留单"), "subscriptions": _("认购"), "contracts": _("合同")}


def deal_days(project, start: datetime.date, end: datetime.date) -> set:
    """The local days of ``start``…``end`` with a reservation, subscription or contract."""
    since = datetime.datetime.combine(start, datetime.time.min)
    until = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min)
    from django.utils import timezone

    since, until = timezone.make_aware(since), timezone.make_aware(until)
    deals = Deal.objects.filter(project=project)
    days = set(
        deals.filter(reserved_at__gte=since, reserved_at__lt=until)
        .annotate(d=TruncDate("reserved_at"))
        .values_list("d", flat=True)
        .distinct()
    )
    days |= set(
        deals.filter(subscribed_at__gte=since, subscribed_at__lt=until)
        .annotate(d=TruncDate("subscribed_at"))
        .values_list("d", flat=True)
        .distinct()
    )
    days |= set(
        deals.filter(signed_on__gte=start, signed_on__lte=end)
        .values_list("signed_on", flat=True)
        .distinct()
    )
    return days
