"""The API's one error shape: ``{"code", "message", "fields"}`` (ENGINEERING.md)."""

import threading

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError, ErrorCode, invalid
from .params import ID_PATTERN, id_value

_DRF_CODES = {
    exceptions.NotAuthenticated: (ErrorCode.NOT_AUTHENTICATED, "请先登录（缺少或无效的 Token）"),
    exceptions.AuthenticationFailed: (
        ErrorCode.NOT_AUTHENTICATED,
        "认证失败（Token 无效或账号已停用）",
    ),
    exceptions.PermissionDenied: (ErrorCode.PERMISSION_DENIED, "您没有执行此操作的权限"),
    exceptions.NotFound: (ErrorCode.NOT_FOUND, "对象不存在"),
    exceptions.MethodNotAllowed: (ErrorCode.METHOD_NOT_ALLOWED, "不支持的请求方法"),
    exceptions.Throttled: (ErrorCode.THROTTLED, "请求过于频繁"),
    exceptions.ParseError: (ErrorCode.INVALID, "请求内容无法解析"),
    exceptions.UnsupportedMediaType: (ErrorCode.INVALID, "不支持的内容类型"),
    exceptions.NotAcceptable: (ErrorCode.INVALID, "无法按要求的格式返回"),
}


def _flatten(detail) -> dict:
    """DRF's nested validation detail as ``{field: [reasons]}``."""
    if isinstance(detail, dict):
        out = {}
        for key, value in detail.items():
            if isinstance(value, dict):
                for sub, reasons in _flatten(value).items():
                    out[f"{key}.{sub}"] = reasons
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                for index, item in enumerate(value):
                    for sub, reasons in _flatten(item).items():
                        out[f"{key}[{index}].{sub}"] = reasons
            else:
                out[key] = [str(v) for v in (value if isinstance(value, list) else [value])]
        return out
    if isinstance(detail, list):
        return {"non_field_errors": [str(v) for v in detail]}
    return {"non_field_errors": [str(detail)]}


def _label(exc, field: str) -> str:
    """The field's own (Chinese) label for the message, when the serializer that refused
    the data is known; its name otherwise (``fields`` keeps the names)."""
    serializer = getattr(exc.detail, "serializer", None)
    found = getattr(serializer, "fields", {}).get(field) if serializer is not None else None
    return str(found.label) if found is not None and found.label else field


def error_response(error: DomainError, headers=None) -> Response:
    return Response(error.as_dict(), status=error.status, headers=headers)


def exception_handler(exc, context):
    found = api_error(exc)
    if found is None:
        return None
    error, status, headers = found
    resp = error_response(error, headers=headers)
    resp.status_code = status
    return resp


def api_error(exc) -> tuple[DomainError, int, dict] | None:
    """The API's one error shape for ``exc``: the ``DomainError`` to answer with, its
    HTTP status and the headers to keep (None: not an error the API answers, a 500).
    DRF's exception handler (``exception_handler``) and the views answered before DRF
    (``opening.pick_http``) both use it."""
    if isinstance(exc, DomainError):
        return exc, exc.status, {}
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first_field, reasons = next(iter(fields.items()), ("", [""]))
        label = "" if first_field == "non_field_errors" else f"{_label(exc, first_field)}："
        error = DomainError(ErrorCode.INVALID, f"{label}{reasons[0]}", fields)
        return error, error.status, {}
    if isinstance(exc, exceptions.APIException):
        response = drf_exception_handler(exc, {})
        code, message = ErrorCode.SERVER_ERROR, _("服务器内部错误")
        for cls, (c, m) in _DRF_CODES.items():
            if isinstance(exc, cls):
                code, message = c, m
                break
        detail = exc.detail if isinstance(exc.detail, str) else ""
        # A message the code chose itself (e.g. a permission's label) is kept.
        if detail and any("\u4e00" <= ch <= "\u9fff" for ch in detail):
            message = detail
        headers = {
            k: v
            for k, v in (response.headers.items() if response else [])
            if k in ("WWW-Authenticate", "Retry-After", "Allow")
        }
        return DomainError(code, message), exc.status_code, headers
    return None


class StrictInputMixin:
    """An input serializer that refuses the fields it does not know, naming each (400
    ``invalid``), where DRF would drop them silently: a registration's ``budget_max``
    sent beside ``data`` instead of inside it was stored as nothing with a 201."""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("未知字段")] for name in unknown})
        return super().to_internal_value(data)


_fields_once = threading.local()


class FieldsOnce:
    """A serializer of a hot path (opening day's pick) whose fields are built once per
    class and thread, bound to a blank instance of its own, where DRF deep-copies every
    declared field for every instance (bench/opening: a tenth of a pick's Python). Only
    for plain fields, which read nothing of their serializer but the value they are
    handed: no context, no ``SerializerMethodField``, no field changed per instance."""

    @cached_property
    def fields(self):
        built = _fields_once.__dict__.setdefault("fields", {})
        fields = built.get(type(self))
        if fields is None:
            blank = type(self)()
            fields = built[type(self)] = super(FieldsOnce, blank).fields  # DRF's own
        return fields


def named_choices(name: str, choices, blank: bool = False):
    """A choice field whose OpenAPI schema is its own named component (``MortgageStage``,
    ``ComplaintStatus`` …), so that the many ``status`` and ``stage`` enums of the API
    never collide; ``blank`` allows the empty choice."""
    values = [v for v, _label in choices] + ([""] if blank else [])
    described = "；".join(f"`{v}` {label}" for v, label in choices)

    @extend_schema_field(
        {"type": "string", "enum": values, "description": described}, component_name=name
    )
    class Field(serializers.ChoiceField):
        pass

    Field.__name__ = f"{name}Field"
    return Field


def id_param(request, name: str, *, required: bool = False):
    """The id in the query parameter (else the body field) ``name``; see ``id_value``.
    ``required``: missing is refused too."""
    raw = request.query_params.get(name)
    if raw in (None, "") and hasattr(request.data, "get"):
        raw = request.data.get(name)
    value = id_value(raw, name)
    if value is None and required:
        raise invalid(name, _("必填"), _("%(name)s：必填") % {"name": name})
    return value


def project_by_id(user, raw, name: str = "project", *, queryset=None):
    """The project whose id is ``raw`` (a request's value for the field ``name``), among
    those ``user`` sees (or ``queryset``): refused with ``invalid`` naming the field when
    missing or not a number, ``not_found`` when not among them (no id leaks)."""
    from .scope import visible_projects

    pk = id_value(raw, name)
    if pk is None:
        raise DomainError(ErrorCode.INVALID, fields={name: [_("请指定项目（编号）")]})
    projects = visible_projects(user) if queryset is None else queryset
    project = projects.filter(pk=pk).first()
    if project is None:
        raise DomainError(ErrorCode.NOT_FOUND, _("项目不存在"))
    return project


def project_param(request, name: str = "project", *, queryset=None, required: bool = True):
    """The project named by the query parameter (or body field) ``name``, as
    ``project_by_id`` finds it; None when not ``required`` and not given."""
    raw = request.query_params.get(name)
    if raw in (None, "") and hasattr(request.data, "get"):
        raw = request.data.get(name)
    if not required and raw in (None, ""):
        return None
    return project_by_id(request.user, raw, name, queryset=queryset)


def project_filtered(queryset, request, lookup: str = "project_id"):
    """``queryset`` narrowed to the query's ``?project=`` when given: an id, refused with
    ``invalid`` naming the field otherwise (``abc``, ``null``), never passed on raw."""
    pk = id_value(request.query_params.get("project"), "project")
    return queryset if pk is None else queryset.filter(**{lookup: pk})


_INTEGER_KEYS = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
}


def _integer_lookup(viewset) -> bool:
    """Whether the viewset looks its objects up by a number (its model's integer key, or
    a foreign key to one); a viewset without a queryset looking up ``pk``/``id`` does."""
    lookup = getattr(viewset, "lookup_field", "pk")
    queryset = getattr(viewset, "queryset", None)
    if queryset is None:
        return lookup in ("pk", "id")
    meta = queryset.model._meta
    field = meta.pk if lookup == "pk" else meta.get_field(lookup)
    while field.is_relation:
        field = field.target_field
    return field.get_internal_type() in _INTEGER_KEYS


class Router(DefaultRouter):
    """The API's router. A detail route whose object is looked up by a number matches
    only digits (at most 18, always within the database's range), so ``/deals/abc/`` and
    ``/deals/abc/cancel/`` are the same 404 as an unknown id for every viewset and every
    action, and no other value reaches a query; a viewset may still name its own
    ``lookup_value_regex`` (a role's ``code``)."""

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        if getattr(viewset, "lookup_value_regex", None) is None and _integer_lookup(viewset):
            lookup_field = getattr(viewset, "lookup_field", "pk")
            return self._base_pattern.format(
                lookup_prefix=lookup_prefix,
                lookup_url_kwarg=getattr(viewset, "lookup_url_kwarg", None) or lookup_field,
                lookup_value=ID_PATTERN,
            )
        return super().get_lookup_regex(viewset, lookup_prefix)


class AutoSchema(SpectacularAutoSchema):
    """The OpenAPI schema of the views: the object id of a detail route, matched by
    ``Router``'s digits-only pattern, is described by its model field (an integer, as
    before), not as a string with a pattern."""

    def _resolve_path_parameters(self, variables):
        regex = self.path_regex
        kwarg = getattr(self.view, "lookup_url_kwarg", None) or getattr(
            self.view, "lookup_field", "pk"
        )
        lookup = f"(?P<{kwarg}>{ID_PATTERN})"
        self.path_regex = regex.replace(lookup, f"(?P<{kwarg}>[^/.]+)")
        try:
            return super()._resolve_path_parameters(variables)
        finally:
            self.path_regex = regex
