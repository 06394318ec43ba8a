"""The one place that decides what a viewer may see of sensitive fields.

Floor prices (底价) are for pricing, managers and the director only (issue Inventory);
phone and ID numbers are masked for everyone but their owner and the roles allowed to
reveal them (issue Customers). Views, serializers and exports all ask here.
"""

from .ports import access

FLOOR_PRICE_FIELDS = ("floor_price", "floor_total")


def can_see_floor_price(user, project) -> bool:
    return access.has_perm(user, "unit.view_floor_price", project)


def strip_floor_price(user, project, data: dict) -> dict:
    """Remove floor-price keys from a dict unless the viewer may see them."""
    if can_see_floor_price(user, project):
        return data
    return {k: v for k, v in data.items() if k not in FLOOR_PRICE_FIELDS}


def mask_phone(number: str) -> str:
    """138****1234: the first three and last four digits."""
    digits = number or ""
    if len(digits) < 8:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


def mask_id_number(number: str) -> str:
    """An ID number shown as its first 6 and last 4 characters."""
    value = number or ""
    if len(value) <= 10:
        return "*" * len(value)
    return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"
