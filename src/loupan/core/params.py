"""Request parameters that name an object by its id: one check for the API, the pages
and the FilterSets they share, so that a value that cannot be an id (``abc``, ``null``,
``-1``, ``0.5``, ``9.2e18``) is refused naming the parameter and never reaches a query
(SQLite overflows on a huge number, PostgreSQL refuses text where it wants a number)."""

from django.utils.translation import gettext as _
from django_filters import filters
from django_filters.utils import get_model_field

from .errors import invalid

ID_MAX_DIGITS = 18  # a bigint has 19 digits: 18 always fit, on SQLite and PostgreSQL
ID_PATTERN = rf"[0-9]{{1,{ID_MAX_DIGITS}}}"

_ID_FILTERS = (filters.NumberFilter, filters.ModelChoiceFilter, filters.ModelMultipleChoiceFilter)


def id_value(raw, name: str):
    """``raw`` (a query parameter or body field called ``name``) as an id: None when
    missing or empty, refused with ``invalid`` naming the field when it is not a plain
    number (``abc``, ``null``, ``-1``, ``1.5`` …): never handed to the database."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    text = str(raw).strip() if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
    if not text.isascii() or not text.isdigit() or len(text) > ID_MAX_DIGITS:
        raise invalid(name, _("应为编号"), _("%(name)s：应为编号") % {"name": name})
    return int(text)


def check_id_filters(filterset, params) -> None:
    """Every filter of ``filterset`` on an id (a foreign or primary key, as a number or
    a choice; ``__in`` lists too) takes only ids; see ``id_value``."""
    model = filterset.queryset.model
    for name, spec in filterset.filters.items():
        if not isinstance(spec, _ID_FILTERS) or not spec.field_name:
            continue
        if spec.extra.get("to_field_name"):  # a choice by another field (a code)
            continue
        field = get_model_field(model, spec.field_name)  # across relations too
        if field is None or not (field.is_relation or field.primary_key):
            continue
        for raw in params.getlist(name):
            for part in raw.split(",") if spec.lookup_expr == "in" else [raw]:
                id_value(part, name)
