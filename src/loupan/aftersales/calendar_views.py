"""The working-day calendar page 工作日历: a year month by month, each holiday and 调休
day with its name; the administrator marks days, clears them or loads the national
calendar of a year. Every signed-in user may look (deadlines are counted on it)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loupan.core.models import CalendarDay
from loupan.core.pages import run_action, site_page

from . import calendar


def _year(request) -> int:
    raw = request.GET.get("year") or request.POST.get("year") or ""
    try:
        year = int(raw)
    except ValueError:
        year = timezone.localdate().year
    return min(max(year, 2000), 2100)


@site_page()
def calendar_page(request):
    year = _year(request)
    months = [(m, calendar.month_grid(year, m)) for m in range(1, 13)]
    return render(
        request,
        "aftersales/calendar.html",
        {
            "year": year,
            "months": months,
            "days": CalendarDay.objects.filter(day__year=year),
            "can_manage": calendar.can_manage(request.user),
            "national": year in calendar.NATIONAL,
        },
    )


@require_POST
@login_required
def calendar_action(request, action):
    year = _year(request)
    post = request.POST
    if action == "set":
        run_action(
            request,
            lambda: calendar.calendar_set_day(
                actor=request.user,
                day=post.get("day"),
                working=post.get("working") == "1",
                name=post.get("name", ""),
            ),
            success=_("已保存。"),
        )
    elif action == "clear":
        run_action(
            request,
            lambda: calendar.calendar_clear_day(actor=request.user, day=post.get("day")),
            success=_("已恢复为普通日。"),
        )
    elif action == "national":
        run_action(
            request,
            lambda: calendar.calendar_load_national(actor=request.user, year=year),
            success=lambda n: _("已载入 %(n)s 天。") % {"n": n},
        )
    return redirect(f"{reverse('aftersales:calendar')}?year={year}")
