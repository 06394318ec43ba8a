"""Pages of the units import (upload → preview → confirm) and the xlsx export.

The uploaded file waits between preview and commit under ``MEDIA_ROOT/imports/`` with a
random name (never the uploader's file name), referenced from the uploader's session
together with the project and the user; it is read again at commit and deleted after
it. MEDIA_ROOT is not served by the web server, so nobody else can fetch it.
"""

import logging
import time
import uuid
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from loupan.accounts import access
from loupan.accounts.permissions import label
from loupan.core.errors import DomainError

from . import imports
from .models import Project

logger = logging.getLogger(__name__)

SESSION_KEY = "unit_imports"
# Files left behind by abandoned previews are removed after this long.
STALE_AFTER_SECONDS = 24 * 60 * 60
# At most this many previews wait per session; older ones are dropped.
MAX_PENDING = 5
# The preview lists at most this many problems (the summary by reason covers the rest).
MAX_SHOWN_PROBLEMS = 1000


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("房源文件（.xlsx）"),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )


def _project(request, project_pk, perm):
    """The project if the user may see it (else 404) and holds ``perm`` (else 403)."""
    project = get_object_or_404(Project.objects.restrict(request.user, "view"), pk=project_pk)
    if not access.has_perm(request.user, perm, project):
        raise PermissionDenied(_("您没有执行此操作的权限：%(perm)s") % {"perm": label(perm)})
    return project


def _import_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def _path(token: str) -> Path:
    return _import_dir() / f"{uuid.UUID(str(token))}.xlsx"


def _remove(token) -> None:
    try:
        _path(token).unlink(missing_ok=True)
    except (OSError, ValueError):
        logger.warning("could not remove import file %s", token)


def _sweep_stale() -> None:
    """Best effort: drop files of previews nobody confirmed within a day."""
    folder = _import_dir()
    if not folder.is_dir():
        return
    limit = time.time() - STALE_AFTER_SECONDS
    for path in folder.glob("*.xlsx"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
        except OSError:
            pass


def _pending(request) -> dict:
    return request.session.get(SESSION_KEY, {})


def _entry(request, project, token) -> dict:
    """The waiting upload, only for the user and project that uploaded it (else 404)."""
    entry = _pending(request).get(str(token))
    if (
        not entry
        or entry.get("project") != project.pk
        or entry.get("user") != request.user.pk
        or not _path(token).is_file()
    ):
        raise Http404(_("导入文件不存在或已过期，请重新上传。"))
    return entry


def _forget(request, token) -> None:
    pending = _pending(request)
    if pending.pop(str(token), None) is not None:
        request.session[SESSION_KEY] = pending
    _remove(token)


def _store(request, project, upload) -> str:
    folder = _import_dir()
    folder.mkdir(parents=True, exist_ok=True)
    token = str(uuid.uuid4())
    with open(_path(token), "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    pending = _pending(request)
    for old in sorted(pending, key=lambda t: pending[t].get("uploaded_at", 0))[
        : max(0, len(pending) - MAX_PENDING + 1)
    ]:
        pending.pop(old)
        _remove(old)
    pending[token] = {
        "project": project.pk,
        "user": request.user.pk,
        "name": Path(upload.name or "").name[-120:],
        "size": upload.size,
        "uploaded_at": time.time(),
    }
    request.session[SESSION_KEY] = pending
    return token


def _upload_page(request, project, form, status=200, error=""):
    return render(
        request,
        "inventory/units_import.html",
        {
            "project": project,
            "form": form,
            "error": error,
            "can_export": access.has_perm(request.user, "unit.export", project),
            "max_mb": f"{imports.max_bytes() / 1048576:g}",
            "max_rows": imports.max_rows(),
            "columns": imports.columns_for(
                floor_price=imports.can_see_floor_price(request.user, project)
            ),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def units_import(request, project_pk):
    """Upload page: a file that is not an xlsx (or too big) is refused right here."""
    project = _project(request, project_pk, "unit.change")
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            imports.check_container(upload, upload.name)
        except DomainError as exc:
            form.add_error("file", str(exc.message))
        else:
            _sweep_stale()
            token = _store(request, project, upload)
            return redirect("inventory:units_import_preview", project_pk=project.pk, token=token)
    return _upload_page(request, project, form, status=400 if form.errors else 200)


def _preview_page(request, project, token, entry, result, status=200):
    problems = result.problems
    return render(
        request,
        "inventory/units_import_preview.html",
        {
            "project": project,
            "token": token,
            "entry": entry,
            "result": result,
            "problems": problems[:MAX_SHOWN_PROBLEMS],
            "problem_count": len(problems),
            "truncated": len(problems) > MAX_SHOWN_PROBLEMS,
            "reasons": result.reasons()[:30] if problems else [],
            "summary": result.summary() if result.valid else None,
            "show_floor_price": imports.can_see_floor_price(request.user, project),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET"])
def units_import_preview(request, project_pk, token):
    """Every problem as (行, 列, 原因), or the summary and the 确认导入 button."""
    project = _project(request, project_pk, "unit.change")
    entry = _entry(request, project, token)
    try:
        result = imports.read_units(
            project=project, file=str(_path(token)), user=request.user, file_name=entry["name"]
        )
    except DomainError as exc:
        _forget(request, token)
        return _upload_page(request, project, UploadForm(), status=400, error=str(exc.message))
    return _preview_page(request, project, token, entry, result)


def _after_import_url(project) -> str:
    """The board when it exists (another module draws it), else the project page."""
    try:
        return reverse("inventory:board", args=[project.pk])
    except NoReverseMatch:
        return project.get_absolute_url()


@login_required
@require_POST
def units_import_commit(request, project_pk, token):
    """Re-read the waiting file and write all rows or none."""
    project = _project(request, project_pk, "unit.change")
    entry = _entry(request, project, token)
    try:
        result = imports.units_import(
            actor=request.user, project=project, file=str(_path(token)), file_name=entry["name"]
        )
    except imports.ImportInvalid as exc:
        messages.error(request, _("数据在预览后发生了变化，文件中有问题，未导入任何房间。"))
        return _preview_page(request, project, token, entry, exc.result, status=400)
    except imports.ImportFileError as exc:
        _forget(request, token)
        return _upload_page(request, project, UploadForm(), status=400, error=str(exc.message))
    except DomainError as exc:
        if exc.status == 403:
            raise PermissionDenied(str(exc.message)) from exc
        messages.error(request, str(exc.message))
        return redirect("inventory:units_import_preview", project_pk=project.pk, token=token)
    _forget(request, token)
    messages.success(
        request, _("已导入 %(count)d 套房源（状态为“未推”）。") % {"count": len(result.units)}
    )
    return redirect(_after_import_url(project))


@login_required
@require_POST
def units_import_cancel(request, project_pk, token):
    project = _project(request, project_pk, "unit.change")
    if str(token) in _pending(request):
        _entry(request, project, token)
        _forget(request, token)
    messages.info(request, _("已取消导入。"))
    return redirect("inventory:units_import", project_pk=project.pk)


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=imports.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET"])
def units_template(request, project_pk):
    project = _project(request, project_pk, "unit.change")
    content = imports.units_template(actor=request.user, project=project)
    return xlsx_response(content, f"{project.code}-房源导入模板.xlsx")


@login_required
@require_http_methods(["GET"])
def units_export(request, project_pk):
    project = _project(request, project_pk, "unit.export")
    content, _count = imports.units_export(actor=request.user, project=project)
    return xlsx_response(content, imports.export_filename(project))
