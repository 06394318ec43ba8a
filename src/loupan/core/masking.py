"""The one place that decides what a viewer may see of sensitive fields.

Floor prices (底价) are for pricing, managers and the director only (issue Inventory);
phone and ID numbers are masked for everyone but their owner and the roles allowed to
reveal them (issue Customers). Views, serializers and exports all ask here.
"""

import re
from collections.abc import Mapping

from .identity import display_phone
from .ports import access

# The keys that carry a floor price wherever they stand: a unit's or a price-list item's
# ``floor_price``, a deal's ``floor_total``, a price-list rule's ``floor_price`` discount.
FLOOR_PRICE_FIELDS = ("floor_price", "floor_total")


def can_see_floor_price(user, project) -> bool:
    return access.has_perm(user, "unit.view_floor_price", project)


def without_floor_price(data):
    """A copy of ``data`` without any floor-price key, at any depth (dicts inside dicts
    and lists: an audit entry's changes, a price list's parameters); other values are
    returned as they are."""
    if isinstance(data, Mapping):
        return {k: without_floor_price(v) for k, v in data.items() if k not in FLOOR_PRICE_FIELDS}
    if isinstance(data, list | tuple):
        return [without_floor_price(v) for v in data]
    return data


def strip_floor_price(user, project, data):
    """``data`` as ``user`` may see it on ``project``: unchanged for the roles holding
    ``unit.view_floor_price`` there, else ``without_floor_price(data)``."""
    if can_see_floor_price(user, project):
        return data
    return without_floor_price(data)


class FloorPriceSerializerMixin:
    """For a DRF serializer (first among its bases): the floor-price fields are neither
    shown nor accepted unless the request's user may see floor prices on the project
    concerned.

    Shown: each object is stripped by its own project (``floor_price_project``).
    Accepted: writable floor-price fields are dropped by the project of the one object
    being edited, else of the data being created (its ``project``); for a list, or when
    nothing names a project, by whether the user may see them on any project. Without a
    request (internal use) nothing is dropped.
    """

    def floor_price_project(self, instance):
        """The project that scopes ``instance``'s floor prices."""
        return instance.project_id

    def floor_price_visible(self, project) -> bool:
        """``can_see_floor_price`` once per project and request (lists stay flat)."""
        request = self.context.get("request")
        if request is None:
            return True
        cache = self.context.setdefault("_floor_visible", {})
        key = access.scope_of(project)
        if key not in cache:
            cache[key] = can_see_floor_price(request.user, key)
        return cache[key]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if self.floor_price_visible(self.floor_price_project(instance)):
            return data
        return without_floor_price(data)

    def get_fields(self):
        fields = super().get_fields()
        writable = [n for n in FLOOR_PRICE_FIELDS if n in fields and not fields[n].read_only]
        if writable and not self.floor_price_visible(self._floor_price_fields_project()):
            for name in writable:
                del fields[name]
        return fields

    def _floor_price_fields_project(self):
        """The project the fields are made for: the one object's, else the one named in
        the data; None (any project) for a list or when nothing names one."""
        instance = getattr(self, "instance", None)
        if instance is not None and hasattr(instance, "_meta"):
            return self.floor_price_project(instance)
        data = getattr(self, "initial_data", None)
        project = data.get("project") if isinstance(data, Mapping) else None
        try:
            return int(project) if project not in (None, "") else None
        except (TypeError, ValueError):
            return None


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


def mask_name(name: str) -> str:
    """A person's name as a public list shows it: the surname and * for the rest (张*,
    欧阳**; a one-character name stays as it is)."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    keep = 2 if len(name) >= 4 else 1
    return name[:keep] + "*" * (len(name) - keep)


def mask_personal(kind: str, value: str) -> str:
    """A personal number of ``kind`` ("phone", "id_number") as everyone but its owner
    and the roles that may reveal it sees it: a phone as 138****1234 (an E.164 number
    read as the office writes it first), an ID number as its first 6 and last 4. A value
    masked already stays as it is (the audit trail stores them masked)."""
    if kind == "phone":
        return mask_phone(display_phone(value))
    if kind == "id_number":
        return mask_id_number(value)
    return value


# A mainland mobile (11 digits from 1, +86 optional) or an 18-character resident ID
# number standing on its own in a text: what someone may type into a search.
_PERSONAL_NUMBER = re.compile(r"(?<![\dA-Za-z])(?:\+?86)?(1\d{10}|\d{17}[\dXx])(?![\dA-Za-z])")


def mask_personal_text(text: str) -> str:
    """``text`` with the phone and ID numbers in it masked (a search term kept in the
    audit trail with an export's filters)."""

    def _mask(match):
        number = match.group(1)
        return mask_phone(number) if len(number) == 11 else mask_id_number(number)

    return _PERSONAL_NUMBER.sub(_mask, text or "")
