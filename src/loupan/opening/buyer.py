"""The buyer's own pages on a phone (issue 16 "on a phone (the buyer's own, with a
one-time code, no account)"): sign in with the entry number 认筹号 and the selection code
printed on the 认筹单, see one's turn (the batch's window against the server's clock),
the free units, pick, and print the 选房确认书. Nothing here needs an account; the entry
is kept in the session, per event."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from loupan.core.context import client_ip
from loupan.core.errors import DomainError
from loupan.core.views import form_error

from . import favourites, selectors, services
from .models import Entry, EventStatus, OpeningEvent, Pick, PickVia

# from registration on: a buyer marks favourites before the draw and the selection
OPEN = (
    EventStatus.REGISTERING,
    EventStatus.CLOSED,
    EventStatus.DRAWN,
    EventStatus.SELECTING,
    EventStatus.FINISHED,
)


def _key(event) -> str:
    """Where the session keeps the buyer's entry of ``event`` (an event or its id)."""
    return f"opening_entry_{getattr(event, 'pk', event)}"


def _event(pk) -> OpeningEvent:
    return get_object_or_404(OpeningEvent.objects.select_related("project"), pk=pk, status__in=OPEN)


def _entry(request, event) -> Entry | None:
    pk = request.session.get(_key(event))
    if pk is None:
        return None
    return Entry.objects.filter(pk=pk, event=event).select_related("customer").first()


class CodeForm(forms.Form):
    number = forms.CharField(label=gettext_lazy("认筹号"), max_length=20)
    code = forms.CharField(label=gettext_lazy("选房码"), max_length=20)


def code_sign_in(request, event, form, *, key=_key, kept=lambda entry: entry.pk) -> Entry | None:
    """A buyer signs in with the entry number and the selection code (the phone and the
    hall's terminal): the entry (``services.entry_by_code``, which counts the wrong
    codes), kept as ``kept(entry)`` under ``key(event)`` in a new session; None with the
    refusal on the form."""
    if not form.is_valid():
        return None
    try:
        entry = services.entry_by_code(
            event, form.cleaned_data["number"], form.cleaned_data["code"]
        )
    except DomainError as exc:
        form_error(form, exc)
        return None
    request.session.cycle_key()
    request.session[key(event)] = kept(entry)
    return entry


def buyer_home(request, pk):
    """Sign in (POST) or the buyer's selection page (GET)."""
    event = _event(pk)
    entry = _entry(request, event)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and code_sign_in(request, event, form):
        return redirect("opening:buyer_home", pk=event.pk)
    if entry is None:
        return render(
            request,
            "opening/buyer_login.html",
            {"event": event, "form": form},
            status=400 if form.errors else 200,
        )
    now = timezone.now()
    batch = services.window_of(entry)
    refusal = services.can_pick(entry, now) if event.status == EventStatus.SELECTING else None
    liked, others = favourites.favourite_units(entry, selectors.event_units(event))
    return render(
        request,
        "opening/buyer.html",
        {
            "event": event,
            "entry": entry,
            "batch": batch,
            "now": now,
            "may_pick": event.status == EventStatus.SELECTING and refusal is None,
            "refusal": refusal,
            "may_favour": favourites.can_favour(entry) is None,
            "favourites": liked,
            "units": others,
            "picks": Pick.objects.filter(entry=entry).select_related("unit").order_by("seq"),
        },
    )


@require_POST
def buyer_pick(request, pk):
    event = _event(pk)
    entry = _entry(request, event)
    if entry is None:
        return redirect("opening:buyer_home", pk=event.pk)
    try:
        pick = services.unit_pick(
            actor=request.user if request.user.is_authenticated else None,
            event=event,
            entry=entry,
            unit=request.POST.get("unit", ""),
            via=PickVia.PHONE,
            ip=client_ip(request),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("opening:buyer_home", pk=event.pk)
    messages.success(request, _("选房成功：%(u)s") % {"u": pick.unit.number})
    return redirect("opening:buyer_confirmation", pk=event.pk, pick=pick.pk)


@require_POST
def buyer_logout(request, pk):
    request.session.pop(_key(pk), None)
    return redirect("opening:buyer_home", pk=pk)


def buyer_confirmation(request, pk, pick):
    """选房确认书 of the signed-in buyer's pick (printable)."""
    event = _event(pk)
    entry = _entry(request, event)
    if entry is None:
        raise Http404
    found = get_object_or_404(
        Pick.objects.select_related("unit__building", "deal", "entry__customer"),
        pk=pick,
        entry=entry,
    )
    return render(request, "opening/confirmation.html", confirmation_context(event, found))


def confirmation_context(event, pick) -> dict:
    unit_price = (
        event.units.filter(unit=pick.unit).values_list("unit_price", "list_price").first()
    ) or (None, None)
    return {
        "event": event,
        "pick": pick,
        "unit_price": unit_price[0],
        "list_price": unit_price[1],
        "deal": pick.deal,
        # subscription terms are set once a subscription number exists (deals' rule)
        "subscription": bool(pick.deal and pick.deal.number),
    }
