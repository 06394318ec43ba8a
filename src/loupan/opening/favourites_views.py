"""The pages of favourites 收藏: the buyer marks a unit on their phone (signed in with
the entry number and code), a consultant marks units for a buyer from the office
(``opening.pick``). Both call ``favourites.favourite_set``."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loupan.core.errors import DomainError
from loupan.core.masking import mask_name
from loupan.core.pages import project_page, run_action

from . import buyer, favourites, selectors
from .models import Entry

SEE = ("opening.view",)


@require_POST
def buyer_favourite(request, pk):
    """The signed-in buyer marks (``on=1``) or unmarks a unit (POST)."""
    event = buyer._event(pk)
    entry = buyer._entry(request, event)
    if entry is None:
        return redirect("opening:buyer_home", pk=event.pk)
    try:
        favourites.favourite_set(
            actor=None,
            entry=entry,
            unit=request.POST.get("unit", ""),
            on=request.POST.get("on") == "1",
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("opening:buyer_home", pk=event.pk)


@project_page(*SEE, act="opening.pick")
def entry_favourites(request, project, pk, entry):
    """A consultant marks units for a buyer (GET shows them, POST marks or unmarks)."""
    event = get_object_or_404(selectors.events_for(request.user, project), pk=pk)
    found = get_object_or_404(
        Entry.objects.select_related("customer", "event"), pk=entry, event=event
    )
    if request.method == "POST":
        on = request.POST.get("on") == "1"
        run_action(
            request,
            lambda: favourites.favourite_set(
                actor=request.user, entry=found, unit=request.POST.get("unit", ""), on=on
            ),
            success=_("已收藏") if on else _("已取消收藏"),
        )
        return redirect(request.path)
    liked, others = favourites.favourite_units(found, selectors.event_units(event))
    return render(
        request,
        "opening/favourites.html",
        {
            "project": project,
            "event": event,
            "entry": found,
            "name": mask_name(found.customer.name),
            "favourites": liked,
            "units": others,
            "may_favour": favourites.can_favour(found) is None,
        },
    )
