"""The API's one error shape: ``{"code", "message", "fields"}`` (ENGINEERING.md)."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError, ErrorCode

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
    if isinstance(exc, DomainError):
        return error_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first_field, reasons = next(iter(fields.items()), ("", [""]))
        label = "" if first_field == "non_field_errors" else f"{_label(exc, first_field)}："
        return error_response(DomainError(ErrorCode.INVALID, f"{label}{reasons[0]}", fields))
    if isinstance(exc, exceptions.APIException):
        response = drf_exception_handler(exc, context)
        code, message = ErrorCode.SERVER_ERROR, _("服务器内部错误")
        for cls, (c, m) in _DRF_CODES.items():
            if isinstance(exc, cls):
                code, message = c, m
                break
        detail = exc.detail if isinstance(exc.detail, str) else ""
        # A message the code chose itself (e.g. a permission's label) is kept.
        if detail and any("\u4e00" <= ch <= "\u9fff" for ch in detail):
            message = detail
        error = DomainError(code, message)
        headers = {
            k: v
            for k, v in (response.headers.items() if response else [])
            if k in ("WWW-Authenticate", "Retry-After", "Allow")
        }
        resp = error_response(error, headers=headers)
        resp.status_code = exc.status_code
        return resp
    return None


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


def project_param(request, name: str = "project"):
    """The project named by the query parameter (or body field) ``name``: refused with
    ``invalid`` naming the field when missing or not a number, ``not_found`` when the
    caller is not a member (no id leaks)."""
    from .scope import project_model

    raw = request.query_params.get(name) or (
        request.data.get(name) if hasattr(request.data, "get") else None
    )
    raw = str(raw or "").strip()
    if not raw.isdigit() or len(raw) > 18:
        raise DomainError(ErrorCode.INVALID, fields={name: [_("请指定项目（编号）")]})
    project = project_model().objects.restrict(request.user, "view").filter(pk=int(raw)).first()
    if project is None:
        raise DomainError(ErrorCode.NOT_FOUND, _("项目不存在"))
    return project
