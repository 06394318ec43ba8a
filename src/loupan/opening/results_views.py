"""After the event: the results list, the unpicked entrants (with their sincerity
deposit and finance's refund), the event report — pages, and the same as xlsx by POST
(``?format=xlsx``: an audited export, ``core.pages.wants_xlsx``)."""

from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from loupan.accounts import access
from loupan.core.errors import invalid
from loupan.core.pages import project_page, query_builder, wants_xlsx, xlsx_download
from loupan.core.params import id_value

from . import results, selectors

SEE = ("opening.view",)


def _event_of(actor, project, params):
    """The event an export request of its lists names (``event``)."""
    pk = id_value(params.get("event"), "event")
    event = selectors.events_for(actor, project).filter(pk=pk).first() if pk else None
    if event is None:
        raise invalid("event", _("开盘活动不存在"))
    return event


def exportable(kind: str):
    """The event's list ``kind`` as an export request registers it (``opening.<kind>``,
    its filter the event): built by ``results.export``, as the page's own export."""

    def content(*, actor, project, params):
        return results.export(actor=actor, event=_event_of(actor, project, params), kind=kind)

    def check(*, actor, project, params):
        _event_of(actor, project, params)

    return query_builder(content, check)


def _page(request, project, pk, kind: str, context):
    event = get_object_or_404(selectors.events_for(request.user, project), pk=pk)
    if wants_xlsx(request):
        return xlsx_download(
            request,
            project,
            f"opening-{event.pk}-{kind}",
            lambda: results.export(actor=request.user, event=event, kind=kind),
        )
    return render(
        request,
        "opening/results.html",
        {
            "project": project,
            "event": event,
            "tab": kind,
            "can_export": results.may_export(request.user, project),
            "export_query": f"event={event.pk}",
            "finance": access.has_perm(request.user, "payment.record", project),
            **context(event),
        },
    )


@project_page(*SEE)
def event_results(request, project, pk):
    """开盘选房结果: the picks in order."""
    return _page(
        request, project, pk, "results", lambda e: {"rows": results.results(e, request.user)}
    )


@project_page(*SEE)
def event_unpicked(request, project, pk):
    """未选房客户: with their sincerity deposit and a refund for finance."""
    return _page(
        request, project, pk, "unpicked", lambda e: {"rows": results.unpicked(e, request.user)}
    )


@project_page(*SEE)
def event_report(request, project, pk):
    """开盘报告."""
    return _page(
        request,
        project,
        pk,
        "report",
        lambda e: {"figures": results.report(e), "items": results.REPORT_ITEMS},
    )
