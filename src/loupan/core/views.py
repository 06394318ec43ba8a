"""Shared pieces of the server-rendered UI: error pages, health check, and the glue that
shows a service's DomainError on the form that caused it."""

from django.core.exceptions import RequestDataTooBig
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpResponseForbidden, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .errors import DomainError, ErrorCode


def refused(exc: DomainError) -> None:
    """A permission refusal is a 403 page; other refusals are shown where they arose."""
    if exc.status == 403:
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied(exc.message) from exc


def form_error(form, exc: DomainError) -> None:
    """Put each field's reasons next to the field; the rest on top of the form."""
    placed = False
    for field, reasons in exc.fields.items():
        if field in form.fields:
            for reason in reasons:
                form.add_error(field, reason)
            placed = True
    if not placed:
        form.add_error(None, str(exc.message))


def paginate(request, queryset, per_page: int = 50):
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@never_cache
@require_GET
def healthz(request):
    """200 when the database answers, 503 when it does not (for load balancers)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any database failure means "not healthy"
        return JsonResponse(
            {"status": "error", "database": "unreachable", "detail": exc.__class__.__name__},
            status=503,
        )
    return JsonResponse({"status": "ok", "database": "ok"})


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def error_answer(request, error: DomainError):
    """A refusal made before any view ran (``core.middleware``): the one error shape on
    the API, the error page naming the field elsewhere."""
    if _is_api(request):
        return JsonResponse(error.as_dict(), status=error.status)
    if error.status == 404:
        return render(request, "404.html", status=404)
    return render(
        request,
        "400.html",
        {"status": error.status, "message": error.message, "fields": error.fields},
        status=error.status,
    )


def bad_request(request, exception=None):
    """Django's 400 (a SuspiciousOperation, ``BadRequest``): the error shape on the API,
    the page with the reason elsewhere."""
    if isinstance(exception, RequestDataTooBig):
        return error_answer(request, DomainError(ErrorCode.TOO_LARGE))
    if isinstance(getattr(exception, "__cause__", None), DomainError):
        return error_answer(request, exception.__cause__)
    message = str(exception) if exception and str(exception) else ""
    if not any("\u4e00" <= ch <= "\u9fff" for ch in message):
        message = _("请求无效")
    return error_answer(request, DomainError(ErrorCode.INVALID, message))


def permission_denied(request, exception=None):
    message = str(exception) if exception and str(exception) else _("您没有执行此操作的权限")
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "permission_denied", "message": message, "fields": {}}, status=403
        )
    response = render(request, "403.html", {"message": message}, status=403)
    return response if response else HttpResponseForbidden()


def page_not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "not_found", "message": _("对象不存在"), "fields": {}}, status=404
        )
    return render(request, "404.html", status=404)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "server_error", "message": _("服务器内部错误"), "fields": {}}, status=500
        )
    return render(request, "500.html", status=500)
