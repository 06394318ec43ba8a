"""The reports' pages: the catalogue, one page for every report (filters, key figures,
charts, tables; ``?print=1`` on paper; an xlsx by POST), the daily report's
confirmation and the company roll-up. Every report is drawn by the same template from
the ``Report`` its builder returns, so the page, the paper, the xlsx and the API agree.
"""

from __future__ import annotations

from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loupan.accounts import access
from loupan.core.errors import DomainError
from loupan.core.pages import project_page, run_action, site_page, wants_xlsx, xlsx_download
from loupan.core.views import refused
from loupan.customers.models import Channel
from loupan.inventory.models import Building

from . import charts, daily, engine, rollup
from .engine import PERIODS

SEE = (engine.VIEW, engine.VIEW_OWN)
PERIOD_LABELS = {
    "day": _("日"),
    "week": _("周"),
    "month": _("月"),
    "quarter": _("季"),
    "year": _("年"),
}


def _groups(specs) -> list[tuple[str, list]]:
    groups: dict[str, list] = {}
    for spec in specs:
        groups.setdefault(str(spec.group), []).append(spec)
    return list(groups.items())


@project_page(*SEE)
def report_index(request, project):
    """The reports this user may open on ``project``, by group."""
    return render(
        request,
        "reports/index.html",
        {
            "project": project,
            "groups": _groups(engine.catalogue_for(request.user, project)),
            "office": engine.may_see_office(request.user, project),
        },
    )


def filter_choices(user, project) -> dict:
    """What the filter form offers: the project's buildings, channels and (for the
    office) the people who sell."""
    return {
        "buildings": Building.objects.filter(project=project).order_by("sort_order", "name"),
        "channels": Channel.objects.filter(project=project).order_by("sort_order", "name"),
        "consultants": (
            engine.sales_people(project) if engine.may_see_office(user, project) else []
        ),
        "periods": [(p, PERIOD_LABELS[p]) for p in PERIODS],
    }


@project_page(*SEE)
def report_page(request, project, report):
    """One report: GET shows it (``print=1`` for paper), POST ``?format=xlsx`` exports
    it (audited)."""
    code = report
    spec = engine.REPORTS.get(code)
    if spec is None or not engine.may_open(request.user, project, spec):
        raise Http404
    params = request.GET
    if request.method == "POST":
        if not wants_xlsx(request):
            return HttpResponseNotAllowed(["GET"])
        return xlsx_download(
            request,
            project,
            str(spec.title),
            lambda: engine.export(actor=request.user, project=project, code=code, params=params),
        )
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    error = None
    try:
        report = engine.build(code, request.user, project, params)
    except DomainError as exc:
        refused(exc)
        error = exc
        report = engine.build(code, request.user, project, {"period": spec.period})
    context = {
        "project": project,
        "spec": spec,
        "report": report,
        "svgs": [charts.svg(chart) for chart in report.charts],
        "error": error,
        "params": params,
        "period": params.get("period") or spec.period,
        **filter_choices(request.user, project),
    }
    if code == "daily":
        context.update(daily_context(request.user, project, report))
    template = "reports/print.html" if params.get("print") else "reports/report.html"
    return render(request, template, context, status=400 if error else 200)


def daily_context(user, project, report) -> dict:
    f = report.filters
    single = f.start == f.end and not (f.building or f.consultant or f.channel)
    return {
        "single_day": single,
        "can_confirm": single and daily.can_confirm(user, project)[0],
    }


@require_POST
@project_page(*SEE, act="report.confirm")
def daily_confirm(request, project):
    """The supervisor confirms a day's 销售日报 (frozen from then on)."""
    day = request.POST.get("day", "")
    run_action(
        request,
        lambda: daily.daily_confirm(
            actor=request.user, project=project, day=day, note=request.POST.get("note", "")
        ),
        success=_("日报已确认"),
    )
    url = reverse("reports:report", args=[project.pk, "daily"])
    return redirect(f"{url}?period=day&date={day}")


def reads_reports(user, project=None) -> bool:
    """The company roll-up is for whoever reads the reports of some project (the ones
    ``rollup.projects_of`` lists; asked without a query: the menu asks it on every page)."""
    return bool(access.projects_with(user, engine.VIEW))


@site_page(when=reads_reports)
def company(request):
    """The company roll-up (seed 001 一.3, 002 一.6): every project the user reads the
    reports of, side by side and summed, for a period."""
    error = None
    try:
        result = rollup.company(request.user, request.GET)
    except DomainError as exc:
        refused(exc)
        error = exc
        result = rollup.company(request.user, {})
    if not result["projects"] and error is None:
        raise Http404
    return render(
        request,
        "reports/company.html",
        {
            "result": result,
            "error": error,
            "params": request.GET,
            "period": request.GET.get("period") or "month",
            "periods": [(p, PERIOD_LABELS[p]) for p in PERIODS],
            "svgs": [charts.svg(chart) for chart in result["charts"]],
        },
        status=400 if error else 200,
    )
