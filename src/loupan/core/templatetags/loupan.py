"""Template filters shared by every page."""

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def wan(value, places=2):
    """Yuan as 万元 with two decimals (1,234,500 → 123.45); empty for None."""
    if value in (None, ""):
        return ""
    amount = (Decimal(value) / Decimal(10000)).quantize(Decimal(1).scaleb(-int(places)))
    return f"{amount:,}"


@register.filter
def yuan(value):
    """Yuan with thousands separators and two decimals."""
    if value in (None, ""):
        return ""
    return f"{Decimal(value):,.2f}"


@register.filter
def add_class(field, css):
    """Render a bound form field with extra CSS classes."""
    existing = field.field.widget.attrs.get("class", "")
    return field.as_widget(attrs={"class": f"{existing} {css}".strip()})


@register.filter
def get_item(mapping, key):
    """``mapping[key]`` in a template (None when absent)."""
    return mapping.get(key) if mapping else None
