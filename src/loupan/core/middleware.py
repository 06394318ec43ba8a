import json

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import QueryDict
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _

from . import context
from .errors import DomainError, ErrorCode, invalid

# Deeper JSON than any request of this API needs; it is refused before a parser or a
# serializer recurses into it (100,000 levels used to end in RecursionError).
MAX_JSON_DEPTH = 64


class RequestContextMiddleware:
    """Makes the client's address available to services for the audit trail."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = context.set_current(
            context.RequestInfo(
                ip=context.client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
                path=request.path[:300],
            )
        )
        try:
            return self.get_response(request)
        finally:
            context.reset(token)


class RequestInputMiddleware:
    """The one gate for what no part of the application may be handed: a NUL character
    (PostgreSQL refuses it in text: a DataError, a 500) in the path, a query parameter,
    a form or multipart field or anywhere in a JSON body; JSON nested beyond
    ``MAX_JSON_DEPTH``; a body over Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``. Each is
    refused before any view runs, in the one error shape naming the field (the API) or
    on the error page (the UI): 400 ``invalid``, 413 ``too_large``, 404 for a path."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            refused = _refusal(request)
        except RequestDataTooBig:
            refused = DomainError(ErrorCode.TOO_LARGE)
        except (SuspiciousOperation, MultiPartParserError) as exc:
            refused = DomainError(ErrorCode.INVALID, _("请求内容无法解析"), {"body": [str(exc)]})
        if refused is not None:
            from .views import error_answer

            return error_answer(request, refused)
        return self.get_response(request)


def _named(key: str) -> str:
    return key.replace("\x00", "\\0")


def _nul_reason(field: str) -> DomainError:
    return invalid(
        field, _("不能包含空字符（\\0）"), _("%(field)s：不能包含空字符（\\0）") % {"field": field}
    )


def _refusal(request) -> DomainError | None:
    if "\x00" in request.path:
        return DomainError(ErrorCode.NOT_FOUND)
    for key, values in request.GET.lists():
        if "\x00" in key or any("\x00" in v for v in values):
            return _nul_reason(_named(key))
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    content_type = request.content_type or ""
    form = content_type == "application/x-www-form-urlencoded"
    if form or (content_type == "multipart/form-data" and request.method == "POST"):
        # Django parses a POST; a PUT or PATCH form is parsed here as DRF will parse it
        # (a multipart PUT is left to DRF's parser and the serializer's fields).
        fields = request.POST if request.method == "POST" else QueryDict(request.body)
        for key, values in fields.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                return _nul_reason(_named(key))
        for key in request.FILES if request.method == "POST" else ():
            if "\x00" in key:
                return _nul_reason(_named(key))
    elif content_type == "application/json" or content_type.endswith("+json"):
        return _json_refusal(request.body)
    return None


def _json_refusal(body: bytes) -> DomainError | None:
    """A JSON body's NUL characters and depth, walked without recursion; a body that is
    not JSON at all is left to the API's parser (its own 400)."""
    try:
        data = json.loads(body or b"null")
    except RecursionError:
        return _too_deep()
    except ValueError:
        return None
    stack = [(data, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return _too_deep()
        if isinstance(value, str):
            if "\x00" in value:
                return _nul_reason(path or "body")
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{path}.{_named(key)}" if path else _named(key)
                if "\x00" in key:
                    return _nul_reason(name)
                stack.append((item, name, depth + 1))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                stack.append((item, f"{path}[{index}]", depth + 1))
    return None


def _too_deep() -> DomainError:
    reason = _("JSON 嵌套超过 %(n)s 层") % {"n": MAX_JSON_DEPTH}
    return invalid("body", reason, _("请求内容无法解析：%(reason)s") % {"reason": reason})
