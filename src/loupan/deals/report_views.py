"""The owners' list 业主登记一览表 with the buyer analysis, and the 客户换房、退房一览表 with
the cancellation-reason summary for a period (seed 002 二.3(1)–(4)); both as xlsx.
The rows come from ``deals.reports``, shared with the API."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from loupan.core.views import paginate

from . import reports
from .forms import ChangeFilterForm
from .views import _deals, _filtered, _list_context, _project, used_filters, wants_xlsx, xlsx_of


@login_required
def deal_owners(request, project_pk):
    """业主登记一览表: every subscribed or contracted unit with its buyers, and the
    buyer analysis by occupation, income, education, residence, channel and motive."""
    project = _project(request, project_pk)
    filterset, qs = _filtered(request, project, _deals(request, project))
    if wants_xlsx(request):
        return xlsx_of(
            request,
            project,
            "业主登记一览表",
            lambda: reports.owners_export(
                actor=request.user, project=project, deals=qs, filters=used_filters(request)
            ),
        )
    page = paginate(request, reports.owners(qs), 50)
    lines = [line for deal in page for line in reports.owner_lines(request.user, deal)]
    return render(
        request,
        "deals/deal_owners.html",
        _list_context(
            request,
            project,
            filterset.form,
            "owners",
            page=page,
            lines=lines,
            analysis=reports.buyer_analysis(qs),
            can_export=reports.may_export(request.user, project),
        ),
    )


@login_required
def deal_changes(request, project_pk):
    """客户换房、退房一览表 and 销售退房情况表: the changes of a period (exchanges and
    cancellations by default, renames on request) and the cancellations by reason."""
    project = _project(request, project_pk)
    form = ChangeFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    kind, start, end = data.get("kind", ""), data.get("start"), data.get("end")
    qs = reports.changes_of(request.user, project, kind=kind, start=start, end=end)
    if wants_xlsx(request):
        return xlsx_of(
            request,
            project,
            "客户换房、退房一览表",
            lambda: reports.export(
                actor=request.user,
                project=project,
                report="客户换房、退房一览表",
                columns=reports.CHANGE_COLUMNS,
                rows=(
                    [row[c.field] for c in reports.CHANGE_COLUMNS]
                    for row in reports.change_rows(qs.order_by("at", "pk"))
                ),
                filters=used_filters(request),
            ),
        )
    page = paginate(request, qs.order_by("-at", "-pk"), 50)
    return render(
        request,
        "deals/deal_changes.html",
        _list_context(
            request,
            project,
            form,
            "changes",
            page=page,
            rows=reports.change_rows(page),
            summary=reports.cancel_summary(request.user, project, start=start, end=end),
            can_reserve=False,
        ),
    )
