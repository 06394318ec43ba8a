"""主管复审 (seed 001 三(四)3): the day's reservations, subscriptions and contracts for the
supervisor to re-check, with the day's sign-off (the signoffs engine)."""

import datetime

from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_GET

from loupan.core.pages import project_page
from loupan.signoffs import services as signoffs

from .. import selectors


def _date(request, default):
    value = request.GET.get("date") or ""
    try:
        return parse_date(value) or default
    except ValueError:
        return default


@require_GET
@project_page("deal.view", act="deal.review")
def deal_review(request, project):
    """The day's deals (today by default) and its 主管复审 sign-off."""
    day = _date(request, timezone.localdate())
    groups = selectors.day_deals(request.user, project, day)
    return render(
        request,
        "deals/review.html",
        {
            "project": project,
            "date": day,
            "prev": day - datetime.timedelta(days=1),
            "next": day + datetime.timedelta(days=1),
            "reservations": list(groups["reservations"]),
            "subscriptions": list(groups["subscriptions"]),
            "contracts": list(groups["contracts"]),
            "signoff": signoffs.box(request.user, project, selectors.REVIEW_SIGNOFF, day),
        },
    )
