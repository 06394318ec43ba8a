"""Reads of opening day: the events a user may see, an event's entrants (masked, as the
public list shows them), its units with who picked them."""

from loupan.accounts import access
from loupan.core.masking import mask_name
from loupan.core.prepared import Prepared, fields_of

from .models import Entry, EventStatus, EventUnit, OpeningEvent, Pick

# what a buyer, a phone or anyone without an account may see of an event: from the draw
PUBLIC = (EventStatus.DRAWN, EventStatus.SELECTING, EventStatus.FINISHED)


def events_for(user, project):
    return OpeningEvent.objects.restrict(user, "view").filter(project=project)


def public_event(pk):
    """The event a buyer's phone or the buyer API reads or picks in (no account): drawn,
    selecting or finished, else None."""
    if not str(pk).isdigit():
        return None
    return _PUBLIC_EVENT.instance(OpeningEvent, pk=int(pk))


# compiled once (``core.prepared``): every buyer's pick and phone's poll starts with it.
# Without the published lottery package (``package``, deferred: read if asked for): the
# JSON of every entrant, decoded for each pick, was a third of the server's CPU on
# opening day (bench/opening, 5,000 entrants, py-spy)
_PUBLIC_EVENT = Prepared(
    lambda pk: (
        OpeningEvent.objects.filter(pk=pk, status__in=PUBLIC)
        .order_by()
        .values(*(name for name in fields_of(OpeningEvent) if name != "package"))
    ),
    "pk",
)


def may_manage(user, project) -> bool:
    return access.has_perm(user, "opening.manage", project)


def entrants(event) -> list[dict]:
    """The entrants in order (positions after the draw), names masked."""
    rows = []
    picks: dict[int, list[str]] = {}
    for pick in Pick.objects.filter(event=event).select_related("unit").order_by("at"):
        picks.setdefault(pick.entry_id, []).append(pick.unit.number)
    for entry in (
        Entry.objects.filter(event=event)
        .select_related("customer", "round")
        .order_by("position", "number")
    ):
        rows.append(
            {
                "id": entry.pk,
                "number": entry.number,
                "name": mask_name(entry.customer.name),
                "first_home": entry.first_home,
                "status": entry.get_status_display(),
                "qualified": entry.qualified_at is not None,
                "round": entry.round.label if entry.round_id else "",
                "position": entry.position,
                "units": picks.get(entry.pk, []),
            }
        )
    return rows


def event_units(event) -> list[dict]:
    """The event's units with their frozen price and whether they are picked (no
    personal data: the big screen and the buyers' phones show this)."""
    picked = dict(Pick.objects.filter(event=event).values_list("unit_id", "entry__number"))
    rows = []
    for eu in (
        EventUnit.objects.filter(event=event)
        .select_related("unit__building", "unit__layout")
        .order_by("unit__building__sort_order", "unit__building__name", "unit__floor", "unit__room")
    ):
        u = eu.unit
        rows.append(
            {
                "id": u.pk,
                "number": u.number,
                "building": u.building.name,
                "floor": u.floor,
                "layout": u.layout.name if u.layout_id else "",
                "area": u.gross_area,
                "unit_price": eu.unit_price,
                "list_price": eu.list_price,
                "picked": u.pk in picked,
            }
        )
    return rows
