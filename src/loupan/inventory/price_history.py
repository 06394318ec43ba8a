"""A unit's price history 价格历史 (``UnitPriceChange``), written in one place.

Every change of a unit's unit price, list price or floor price leaves a row: edits by
hand (``services``), generation and the xlsx import (``services.units_bulk_insert``) and
price lists (``pricelists``). The floor price is kept here, never in the audit trail,
which roles without ``unit.view_floor_price`` may read (issue Inventory).
"""

from .models import UnitPriceChange

PRICE_FIELDS = ("unit_price", "list_price", "floor_price")


def _actor_or_none(actor):
    """The system (due jobs) writes with no actor."""
    return actor if getattr(actor, "pk", None) else None


def price_record(*, actor, unit, before: dict, price_list=None) -> None:
    """One row for ``unit`` when any of its prices differs from ``before``
    (``{field: old value}`` for ``PRICE_FIELDS``; all None for a new unit)."""
    if all(before[f] == getattr(unit, f) for f in PRICE_FIELDS):
        return
    UnitPriceChange.objects.create(
        unit=unit,
        price_list=price_list,
        actor=_actor_or_none(actor),
        old_unit_price=before["unit_price"],
        new_unit_price=unit.unit_price,
        old_list_price=before["list_price"],
        new_list_price=unit.list_price,
        old_floor_price=before["floor_price"],
        new_floor_price=unit.floor_price,
    )


def price_record_new(*, actor, units, batch_size: int = 500) -> None:
    """The first row of each new, already saved unit that has a price (bulk inserts)."""
    actor = _actor_or_none(actor)
    UnitPriceChange.objects.bulk_create(
        (
            UnitPriceChange(
                unit=u,
                actor=actor,
                new_unit_price=u.unit_price,
                new_list_price=u.list_price,
                new_floor_price=u.floor_price,
            )
            for u in units
            if any(getattr(u, f) is not None for f in PRICE_FIELDS)
        ),
        batch_size=batch_size,
    )
