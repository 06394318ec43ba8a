"""Create, update and delete for simple business objects, one transaction each.

Objects whose life is more than edits (deals, units, customers) get their own services;
the plain ones (projects, permits, …) share these so that every such write checks the
permission, validates, locks and records its audit entry the same way.
"""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from .errors import DomainError, ErrorCode
from .ports import access, audit
from .snapshot import snapshot


def validate(obj, exclude=None) -> None:
    """Model validation as the one domain error (field names and Chinese reasons)."""
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise DomainError.from_validation_error(exc, model=type(obj)) from exc


def coerce(obj, name: str, value):
    """``value`` as the Python type of the model field (text from a form or JSON),
    refused field by field when it does not parse."""
    field = obj._meta.get_field(name)
    if field.is_relation or value is None:
        return value
    try:
        value = field.to_python(value)
    except ValidationError as exc:
        raise DomainError(
            ErrorCode.INVALID, f"{field.verbose_name}：{exc.messages[0]}", {name: exc.messages}
        ) from exc
    if isinstance(field, models.DecimalField) and value is not None and value.is_finite():
        # "1000000" and "1000000.00" are the same amount: store and compare it with the
        # field's places (more places than allowed are left for validation to refuse).
        if -value.as_tuple().exponent < field.decimal_places:
            try:
                value = value.quantize(Decimal(1).scaleb(-field.decimal_places))
            except InvalidOperation:  # 1e30: more digits than any field holds
                pass  # left for validation to refuse (max_digits), never a 500
    return value


def assign(obj, data: dict) -> None:
    for name, value in data.items():
        setattr(obj, name, coerce(obj, name, value))


def lock(obj):
    """Re-read ``obj`` under a row lock (SELECT … FOR UPDATE) inside the transaction.

    ``obj._meta.model``, not ``type(obj)``: ``request.user`` is a lazy proxy."""
    return obj._meta.model._base_manager.select_for_update().get(pk=obj.pk)


def object_create(*, actor, model: type[models.Model], data: dict, perm: str, project=None):
    access.require_perm(actor, perm, project)
    obj = model(**data)
    validate(obj)
    with transaction.atomic():
        try:
            obj.save(force_insert=True)
        except IntegrityError as exc:
            raise DomainError(ErrorCode.CONFLICT) from exc
        audit.create(actor=actor, obj=obj)
    return obj


def object_update(*, actor, obj, data: dict, perm: str):
    access.require_perm(actor, perm, access.scope_of(obj))
    with transaction.atomic():
        obj = lock(obj)
        before = snapshot(obj)
        assign(obj, data)
        validate(obj)
        try:
            with transaction.atomic():
                obj.save()
        except IntegrityError as exc:
            raise DomainError(ErrorCode.CONFLICT) from exc
        audit.update(actor=actor, obj=obj, before=before)
    return obj


def object_delete(*, actor, obj, perm: str, extra: dict | None = None) -> None:
    access.require_perm(actor, perm, access.scope_of(obj))
    with transaction.atomic():
        obj = lock(obj)
        before = snapshot(obj)
        pk = obj.pk
        try:
            with transaction.atomic():
                obj.delete()
        except (models.ProtectedError, models.RestrictedError, IntegrityError) as exc:
            raise DomainError(ErrorCode.IN_USE) from exc
        obj.pk = pk
        audit.delete(actor=actor, obj=obj, before=before, object_id=pk, extra=extra)
