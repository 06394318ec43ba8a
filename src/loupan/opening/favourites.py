"""Favourites 收藏 before the selection (issue 16 "Favourites 收藏 before the event; a
buyer sees what is still free, live"): a buyer signed in on the phone with the entry
number and code, or a consultant for them (``opening.pick``), marks units of the event.
The phone page lists them first with their live free or taken state. A favourite never
reserves anything: a unit is only ever taken by a pick.

``favourite_set`` is the one action (locks the entry row, audited); ``favourite_units``
the one read."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loupan.accounts import access
from loupan.audit.models import AuditAction
from loupan.audit.services import audit_record
from loupan.core.errors import DomainError, invalid

from .errors import OpeningError
from .models import Entry, EntryStatus, EventStatus, EventUnit, Favourite

PICK = "opening.pick"
MAX_FAVOURITES = 20
# from registration until the selection is over
FAVOURING = (
    EventStatus.REGISTERING,
    EventStatus.CLOSED,
    EventStatus.DRAWN,
    EventStatus.SELECTING,
)


def can_favour(entry: Entry) -> DomainError | None:
    """Why ``entry`` may not change its favourites now (None when it may)."""
    if entry.event.status not in FAVOURING:
        return DomainError(OpeningError.EVENT_STATUS, _("活动当前不能收藏房间"))
    if entry.status != EntryStatus.ACTIVE:
        return DomainError(OpeningError.EVENT_STATUS, _("该认筹已退筹"))
    return None


def favourite_set(*, actor, entry: Entry, unit, on: bool = True) -> bool:
    """Mark (``on``) or unmark a unit of the event as the entry's favourite: the buyer
    (``actor`` None: signed in with the code) or a consultant for them
    (``opening.pick``). At most ``MAX_FAVOURITES`` per entry. Returns whether anything
    changed (marking a favourite twice changes nothing)."""
    if actor is not None:
        access.require_perm(actor, PICK, entry.event.project_id)
    unit_id = getattr(unit, "pk", unit)
    if not str(unit_id).isdigit():
        raise invalid("unit", _("请选择房间"))
    unit_id = int(unit_id)
    with transaction.atomic():
        entry = Entry.objects.select_for_update().select_related("event").get(pk=entry.pk)
        refusal = can_favour(entry)
        if refusal is not None:
            raise refusal
        in_event = (
            EventUnit.objects.filter(event_id=entry.event_id, unit_id=unit_id)
            .values_list("unit__number", flat=True)
            .first()
        )
        if in_event is None:
            raise DomainError(OpeningError.NOT_IN_EVENT, fields={"unit": [_("不在本次开盘房源中")]})
        current = Favourite.objects.filter(entry=entry, unit_id=unit_id)
        if on == current.exists():
            return False
        if on:
            if Favourite.objects.filter(entry=entry).count() >= MAX_FAVOURITES:
                raise invalid("unit", _("最多收藏 %(n)s 套房间") % {"n": MAX_FAVOURITES})
            Favourite.objects.create(
                entry=entry, unit_id=unit_id, added_by=actor, added_at=timezone.now()
            )
        else:
            current.delete()
        audit_record(
            actor=actor,
            username="" if actor else f"认筹号{entry.number}",
            action=AuditAction.ACTION,
            obj=entry,
            project_id=entry.event.project_id,
            extra={
                "action": "favourite_add" if on else "favourite_remove",
                "entry": entry.number,
                "unit": in_event,
            },
        )
    return True


def favourite_units(entry: Entry, units: list[dict]) -> tuple[list[dict], list[dict]]:
    """``units`` (``selectors.event_units``: free or picked) split into the entry's
    favourites, in the order they were marked, and the rest; each row gets
    ``favourite``."""
    order = list(
        Favourite.objects.filter(entry=entry)
        .order_by("added_at", "pk")
        .values_list("unit_id", flat=True)
    )
    rank = {unit_id: i for i, unit_id in enumerate(order)}
    for row in units:
        row["favourite"] = row["id"] in rank
    favourites = sorted((r for r in units if r["favourite"]), key=lambda r: rank[r["id"]])
    return favourites, [r for r in units if not r["favourite"]]
