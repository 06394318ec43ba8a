"""Opening day's pages: the events, one event (rules, the lottery's commitment, frozen
list and published package, the entrants in order, the units), the package as the one
file a notary keeps, and the verification page that recomputes a package (anyone, no
account: it only reads the uploaded file)."""

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy

from loupan.accounts import access
from loupan.core.pages import project_page
from loupan.deals.models import PaymentMethod
from loupan.payments.models import RECEIVED_METHOD_CHOICES

from . import favourites, lottery, manage_views, selectors, services
from .buyer import confirmation_context
from .models import EventStatus, Pick

SEE = ("opening.view",)
MAX_PACKAGE = 20 * 1024 * 1024


@project_page(*SEE)
def event_list(request, project):
    events = selectors.events_for(request.user, project).order_by("-selection_on", "-pk")
    return render(
        request,
        "opening/event_list.html",
        {
            "project": project,
            "events": events,
            "manage": selectors.may_manage(request.user, project),
        },
    )


@project_page(*SEE)
def event_detail(request, project, pk):
    event = get_object_or_404(selectors.events_for(request.user, project), pk=pk)
    drawn = event.package is not None
    manage = selectors.may_manage(request.user, project)
    return render(
        request,
        "opening/event_detail.html",
        {
            "project": project,
            "event": event,
            "entrants": selectors.entrants(event),
            "units": selectors.event_units(event),
            "batches": event.batches.order_by("number"),
            "rounds": event.rounds.order_by("number"),
            "drawn": drawn,
            "revealed": event.status
            in (EventStatus.DRAWN, EventStatus.SELECTING, EventStatus.FINISHED),
            "manage": manage,
            # a consultant may mark favourites for a buyer until the selection is over
            "favouring": event.status in favourites.FAVOURING
            and access.has_perm(request.user, "opening.pick", project),
            "finance": access.has_perm(request.user, "payment.record", project),
            "sincerity": services.sincerity_by_entry(event) if event.sincerity_amount else {},
            "picks": event.picks.select_related("unit", "entry").order_by("at"),
            "methods": RECEIVED_METHOD_CHOICES,
            "payment_methods": PaymentMethod.choices,
            "q": request.GET.get("q", ""),
            "candidates": manage_views.candidates(project, request.GET.get("q", ""))
            if manage
            else [],
        },
    )


@project_page(*SEE)
def event_package(request, project, pk):
    """The published lottery package (JSON): the one file a notary keeps."""
    event = get_object_or_404(selectors.events_for(request.user, project), pk=pk)
    if event.package is None:
        raise Http404
    response = HttpResponse(lottery.dumps(event.package), content_type="application/json")
    response["Content-Disposition"] = content_disposition_header(
        True, f"lottery-{project.code}-{event.pk}.json"
    )
    return response


class VerifyForm(forms.Form):
    package = forms.FileField(label=gettext_lazy("摇号公示文件（JSON）"))


def verify(request):
    """摇号验证: upload a published package, the order is recomputed from it alone."""
    result = None
    form = VerifyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["package"]
        if upload.size > MAX_PACKAGE:
            result = (False, ["文件过大"], None)
        else:
            raw = upload.read()
            ok, problems = lottery.verify_text(raw)
            result = (ok, problems, lottery.summary(lottery.loads(raw)) if ok else None)
    return render(
        request,
        "opening/verify.html",
        {"form": form, "result": result},
        status=200 if result is None or result[0] else 400,
    )


@project_page(*SEE)
def pick_confirmation(request, project, pk, pick):
    """选房确认书 for the office (printable)."""
    event = get_object_or_404(selectors.events_for(request.user, project), pk=pk)
    found = get_object_or_404(
        Pick.objects.select_related("unit__building", "deal", "entry__customer"),
        pk=pick,
        event=event,
    )
    return render(request, "opening/confirmation.html", confirmation_context(event, found))
