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


@register.simple_tag(takes_context=True)
def navigation(context):
    """The navigation bar's items for the signed-in user in the current project
    (``core.navigation.menu``): ``{% navigation as menu %}``."""
    from loupan.core import navigation as nav

    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    return nav.menu(user, context.get("current_project"))


@register.simple_tag(takes_context=True)
def url_if_allowed(context, name, *args):
    """``{% url_if_allowed 'app:page' arg … as url %}``: the page's URL when its own guard
    lets the user in (``core.pages.may_open``), else empty, so that a link is drawn
    only where it leads somewhere."""
    from django.urls import reverse

    from loupan.core.pages import may_open

    request = context.get("request")
    user = getattr(request, "user", None)
    url = reverse(name, args=args)
    project = context.get("project") or context.get("current_project")
    return url if user is not None and may_open(user, url, project) else ""
