"""Template tags of deals that other apps' pages use (the board's unit card)."""

from django import template

from .. import holders

register = template.Library()


@register.simple_tag(takes_context=True)
def unit_holder(context, unit):
    """``holders.unit_holder`` for the page's user."""
    return holders.unit_holder(context["request"].user, unit)


@register.simple_tag(takes_context=True)
def unit_deals(context, unit):
    """``holders.unit_deals`` for the page's user."""
    return holders.unit_deals(context["request"].user, unit)
