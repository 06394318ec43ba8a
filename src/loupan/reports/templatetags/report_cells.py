"""How a report's cell reads on the page and on paper: money with thousands separators
to the fen, percentages with %, dates in local time, nothing as —."""

import datetime
from decimal import Decimal

from django import template
from django.utils import timezone
from django.utils.formats import number_format

register = template.Library()


@register.filter
def cell(row: dict, column):
    """``row``'s value of ``column`` (a ``core.xlsx.Column``) as text."""
    return show(row.get(column.field) if row else None, column.kind)


@register.filter
def show(value, kind="text"):
    if value is None or value == "":
        return "—"
    if kind == "money" and isinstance(value, int | float | Decimal):
        return number_format(Decimal(value).quantize(Decimal("0.01")), 2, force_grouping=True)
    if kind == "area" and isinstance(value, int | float | Decimal):
        return number_format(Decimal(value).quantize(Decimal("0.01")), 2)
    if kind == "percent" and isinstance(value, int | float | Decimal):
        return f"{value}%"
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


@register.filter
def numeric(column) -> bool:
    return column.kind in ("integer", "money", "area", "percent")
