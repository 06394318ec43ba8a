"""The hall's terminals 选房终端 (issue 16 "Buyers pick … on the hall's terminals"): a
page a terminal shows all day. A buyer signs in with the entry number 认筹号 and the
selection code (``services.entry_by_code``, the phone's rule and lock-out), sees their
turn, their favourites first and what is free, picks (``services.unit_pick``, via
``terminal``), and gets the 选房确认书 printed at once. The terminal then forgets them:
signed out right after the pick, or after ``LOUPAN_KIOSK_IDLE_SECONDS`` (90 s) without a
touch — checked by the server on every request and by the page's own timer — and the
session key is changed each time, so nothing of the buyer stays on the terminal.

No account: the entry lives in the session under the event's kiosk key only while the
buyer is at the terminal."""

import time

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loupan.core.context import client_ip
from loupan.core.errors import DomainError

from . import favourites, selectors, services
from .buyer import CodeForm, _event, code_sign_in, confirmation_context
from .models import Entry, EventStatus, PickVia


def idle_seconds() -> int:
    return int(getattr(settings, "LOUPAN_KIOSK_IDLE_SECONDS", 90))


def _key(event) -> str:
    return f"opening_kiosk_{event.pk}"


def _sign_out(request, event) -> None:
    request.session.pop(_key(event), None)
    request.session.cycle_key()


def _entry(request, event) -> Entry | None:
    """The buyer at the terminal, unless they left it idle too long (then signed out)."""
    held = request.session.get(_key(event))
    if not held:
        return None
    if time.time() - held.get("at", 0) > idle_seconds():
        _sign_out(request, event)
        messages.info(request, _("长时间未操作，已自动退出"))
        return None
    entry = (
        Entry.objects.filter(pk=held.get("entry"), event=event).select_related("customer").first()
    )
    if entry is None:
        _sign_out(request, event)
        return None
    request.session[_key(event)] = {"entry": entry.pk, "at": time.time()}
    return entry


def kiosk_home(request, pk):
    """The terminal: sign in (POST), or the signed-in buyer's selection (GET)."""
    event = _event(pk)
    entry = _entry(request, event)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and code_sign_in(
        request, event, form, key=_key, kept=lambda e: {"entry": e.pk, "at": time.time()}
    ):
        return redirect("opening:kiosk_home", pk=event.pk)
    context = {"event": event, "form": form, "idle": idle_seconds()}
    if entry is None or request.method == "POST":
        return render(
            request, "opening/kiosk_login.html", context, status=400 if form.errors else 200
        )
    now = timezone.now()
    refusal = services.can_pick(entry, now) if event.status == EventStatus.SELECTING else None
    liked, others = favourites.favourite_units(entry, selectors.event_units(event))
    return render(
        request,
        "opening/kiosk.html",
        {
            **context,
            "entry": entry,
            "batch": services.window_of(entry),
            "now": now,
            "may_pick": event.status == EventStatus.SELECTING and refusal is None,
            "refusal": refusal,
            "favourites": liked,
            "units": others,
        },
    )


@require_POST
def kiosk_pick(request, pk):
    """The pick at the terminal; on success the buyer is signed out and the 选房确认书
    is printed."""
    event = _event(pk)
    entry = _entry(request, event)
    if entry is None:
        return redirect("opening:kiosk_home", pk=event.pk)
    try:
        pick = services.unit_pick(
            actor=None,
            event=event,
            entry=entry,
            unit=request.POST.get("unit", ""),
            via=PickVia.TERMINAL,
            ip=client_ip(request),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("opening:kiosk_home", pk=event.pk)
    _sign_out(request, event)
    return render(
        request,
        "opening/confirmation.html",
        {
            **confirmation_context(event, pick),
            "kiosk": reverse("opening:kiosk_home", args=[event.pk]),
        },
    )


@require_POST
def kiosk_logout(request, pk):
    """退出 at the terminal (the buyer's button, or the page's idle timer)."""
    event = _event(pk)
    _sign_out(request, event)
    return redirect("opening:kiosk_home", pk=event.pk)
