"""What runs by itself when due: ``loupan run-due`` (cron, every minute) runs it all;
the board and unit pages run the unit part cheaply before drawing, so the demo needs no
scheduler. Each app keeps its own ``process_due``; this module only puts them in order."""


def units_due(*, now=None) -> dict:
    """Everything that changes a unit's status: expired reservations first (their units
    become available), then expired holds, release plans and scheduled price lists."""
    from loupan.deals.services import process_due as deals_due
    from loupan.inventory.services import process_due as inventory_due

    return {**deals_due(now=now), **inventory_due(now=now)}


def all_due(*, now=None) -> dict:
    from loupan.customers.services import process_due as customers_due

    return {**units_due(now=now), **customers_due(now=now)}
