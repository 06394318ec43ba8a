"""JSON-safe snapshots of model instances, for the audit trail's before/after values."""

import datetime
import decimal
import uuid

from django.db import models

from loupan.core.masking import mask_personal


def json_value(value):
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if hasattr(value, "name") and isinstance(value, models.fields.files.FieldFile):
        return value.name or None
    return str(value)


# Never copied into the audit trail, whatever the model.
SECRET_FIELDS = {"password"}


def snapshot(instance) -> dict:
    """Concrete field values by field name (foreign keys as their id). Personal numbers
    that a model lists in ``audit_masked_fields`` (field -> "phone" or "id_number") are
    kept masked: the append-only trail must not become a copy of the data an erasure
    request removes (PIPL), yet it still shows that the number changed."""
    data = {}
    masked = getattr(instance, "audit_masked_fields", {})
    for field in instance._meta.concrete_fields:
        if field.name in SECRET_FIELDS:
            continue
        value = getattr(instance, field.attname)
        if field.name in masked and value:
            value = mask_personal(masked[field.name], value)
        data[field.attname] = json_value(value)
    return data


def diff(before: dict | None, after: dict | None) -> dict:
    """``{field: [before, after]}`` for the fields that differ."""
    before = before or {}
    after = after or {}
    changes = {}
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            changes[key] = [before.get(key), after.get(key)]
    return changes
