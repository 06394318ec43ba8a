"""The pages and API endpoints every xlsx import shares (units, customers): upload →
preview (every problem as 行, 列, 原因, or a summary and 确认导入) → commit (all rows or
none) or cancel; and the API's import with ``?dry_run=1`` and its template download.

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
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.utils import inline_serializer as _inline
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from . import import_jobs, xlsx
from .errors import DomainError, ErrorCode
from .pages import Guard, project_for, require
from .ports import access

logger = logging.getLogger(__name__)

# Files left behind by abandoned previews are removed after this long.
STALE_AFTER_SECONDS = 24 * 60 * 60
# At most this many previews wait per session; older ones are dropped.
MAX_PENDING = 5
# The preview lists at most this many problems (the summary by reason covers the rest),
# and the API answers at most this many.
MAX_SHOWN_PROBLEMS = 1000


# --- files waiting between preview and commit ---------------------------------------


class PendingUploads:
    """The uploads of one import that wait in the session, ``{token: entry}``."""

    def __init__(self, session_key: str):
        self.session_key = session_key

    @staticmethod
    def folder() -> Path:
        return Path(settings.MEDIA_ROOT) / "imports"

    def path(self, token) -> Path:
        return self.folder() / f"{uuid.UUID(str(token))}.xlsx"

    def _remove(self, token) -> None:
        try:
            self.path(token).unlink(missing_ok=True)
        except (OSError, ValueError):
            logger.warning("could not remove import file %s", token)

    def sweep_stale(self) -> None:
        """Best effort: drop files of previews nobody confirmed within a day."""
        folder = self.folder()
        if not folder.is_dir():
            return
        limit = time.time() - STALE_AFTER_SECONDS
        for path in folder.glob("*.xlsx"):
            try:
                if path.stat().st_mtime < limit:
                    path.unlink(missing_ok=True)
            except OSError:
                pass

    def pending(self, request) -> dict:
        return request.session.get(self.session_key, {})

    def entry(self, request, project, token, *, file: bool = True) -> dict:
        """The waiting upload, only for the user and project that uploaded it (else 404);
        its file must still be there unless ``file`` is False (a finished commit)."""
        entry = self.pending(request).get(str(token))
        if (
            not entry
            or entry.get("project") != project.pk
            or entry.get("user") != request.user.pk
            or (file and not self.path(token).is_file())
        ):
            raise Http404(_("导入文件不存在或已过期，请重新上传。"))
        return entry

    def set_job(self, request, token, kind: str, job_id) -> None:
        """The upload's current ``check`` or ``commit`` job (None: none)."""
        pending = self.pending(request)
        if str(token) in pending:
            pending[str(token)][kind] = job_id
            request.session[self.session_key] = pending

    def forget(self, request, token) -> None:
        pending = self.pending(request)
        if pending.pop(str(token), None) is not None:
            request.session[self.session_key] = pending
        self._remove(token)

    def store(self, request, project, upload) -> str:
        self.sweep_stale()
        self.folder().mkdir(parents=True, exist_ok=True)
        token = str(uuid.uuid4())
        with open(self.path(token), "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        pending = self.pending(request)
        # Entries whose file is gone (spent by a finished commit, unreadable, swept):
        # dropped here, on a POST, since the preview's GET writes nothing.
        for spent in [t for t in pending if not self.path(t).is_file()]:
            pending.pop(spent)
        for old in sorted(pending, key=lambda t: pending[t].get("uploaded_at", 0))[
            : max(0, len(pending) - MAX_PENDING + 1)
        ]:
            pending.pop(old)
            self._remove(old)
        pending[token] = {
            "project": project.pk,
            "user": request.user.pk,
            "name": Path(upload.name or "").name[-120:],
            "size": upload.size,
            "uploaded_at": time.time(),
        }
        request.session[self.session_key] = pending
        return token


# --- the pages ----------------------------------------------------------------------


class UploadForm(forms.Form):
    file = forms.FileField(
        widget=forms.ClearableFileInput(
            attrs={"accept": f".xlsx,{xlsx.XLSX_CONTENT_TYPE}"},
        ),
    )

    def __init__(self, *args, file_label=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].label = file_label


class ImportPages:
    """Upload, preview, commit and cancel pages and the template download of one import
    (``spec``). A subclass names the session key, the URL names (``url_name`` and
    ``url_name + "_preview"``, ``_commit``, ``_cancel``), the page texts and the file
    label, and says what the pages show besides and where the user goes afterwards. The
    templates are imports/upload.html and imports/preview.html or extensions of them."""

    spec: xlsx.ImportSpec
    session_key = ""
    url_name = ""
    upload_template = "imports/upload.html"
    preview_template = "imports/preview.html"
    title = gettext_lazy("导入")
    file_label = gettext_lazy("Excel 文件（.xlsx）")
    # Shown when the commit finds problems the preview did not (the data changed).
    changed_message = gettext_lazy("数据在预览后发生了变化，文件中有问题，未导入任何数据。")

    def __init__(self):
        self.uploads = PendingUploads(self.session_key)

    # what a subclass may add

    def upload_context(self, request, project) -> dict:
        return {}

    def preview_context(self, request, project, result) -> dict:
        return {}

    def done(self, request, project, result):
        raise NotImplementedError

    # the shared flow

    def project(self, request, project_pk, perm: str = ""):
        """The project (404 outside it, as every page) if the user holds ``perm`` there,
        the import's own permission by default (else 403)."""
        project = project_for(request.user, project_pk)
        require(request.user, project, perm or self.spec.perm)
        return project

    def read(self, request, project, path: str, name: str) -> xlsx.ImportResult:
        return self.spec.read(project=project, file=path, user=request.user, file_name=name)

    def commit(self, request, project, path: str, name: str) -> xlsx.ImportResult:
        return self.spec.commit(actor=request.user, project=project, file=path, file_name=name)

    def urls(self, project, token=None) -> dict:
        urls = {"upload": reverse(self.url_name, args=[project.pk])}
        if token is not None:
            for name in ("preview", "commit", "cancel"):
                urls[name] = reverse(f"{self.url_name}_{name}", args=[project.pk, token])
        return urls

    def form(self, *args):
        return UploadForm(*args, file_label=self.file_label)

    def upload_page(self, request, project, form, status=200, error=""):
        return render(
            request,
            self.upload_template,
            {
                "project": project,
                "title": self.title,
                "form": form,
                "error": error,
                "max_mb": f"{xlsx.max_bytes() / 1048576:g}",
                "max_rows": xlsx.max_rows(),
                "urls": self.urls(project),
                **self.upload_context(request, project),
            },
            status=status,
        )

    def preview_page(self, request, project, token, entry, result, status=200):
        problems = result.problems
        return render(
            request,
            self.preview_template,
            {
                "project": project,
                "token": token,
                "entry": entry,
                "result": result,
                "problems": problems[:MAX_SHOWN_PROBLEMS],
                "problem_count": len(problems),
                "truncated": len(problems) > MAX_SHOWN_PROBLEMS,
                "reasons": result.reasons()[:30] if problems else [],
                "urls": self.urls(project, token),
                **self.preview_context(request, project, result),
            },
            status=status,
        )

    def progress_page(self, request, project, token, entry, job):
        """While a job runs: a progress bar that polls ``?progress=1`` and reloads the
        page when the job has ended."""
        return render(
            request,
            "imports/progress.html",
            {
                "project": project,
                "title": self.title,
                "entry": entry,
                "job": job.as_progress(),
                "urls": self.urls(project, token),
            },
        )

    # the jobs

    def start(self, request, project, token, entry, kind: str) -> import_jobs.Job:
        """Start the upload's check or commit as a job (import_jobs); the commit removes
        the waiting file once everything is written, so that it cannot run twice, and
        either job a file it cannot read (the job cleans up, not the preview's GET; the
        session's entry goes on the next POST: the commit, the cancel, the next upload)."""
        path, name = str(self.uploads.path(token)), entry["name"]
        job = import_jobs.Job.create(
            kind=kind, token=token, project=project, user=request.user, pages=self.url_name
        )
        self.uploads.set_job(request, token, kind, job.id)
        if kind == "check":
            self.uploads.set_job(request, token, "commit", None)

            def work():
                try:
                    return self.read(request, project, path, name)
                except xlsx.ImportFileError:
                    self.uploads._remove(token)  # unreadable: nothing to preview
                    raise

        else:

            def work():
                try:
                    result = self.commit(request, project, path, name)
                except xlsx.ImportFileError:
                    self.uploads._remove(token)  # unreadable: spent as well
                    raise
                self.uploads._remove(token)
                return result

        if import_jobs.background():
            # Saved now, not after the view: on SQLite the commit's transaction holds the
            # database's one write lock until it ends, and the session's write would wait
            # (on the test suite's shared in-memory SQLite it fails: SessionInterrupted).
            # Marked saved too, or the session middleware writes it again once the job
            # has started; a change made after this point marks it again.
            session = request.session
            known = session.session_key is not None
            session.save()
            if known:  # (a new key needs the middleware's cookie)
                session.modified = False
        return import_jobs.start(job, work)

    def job(self, request, project, entry, kind: str) -> import_jobs.Job | None:
        job = import_jobs.Job.load(entry[kind]) if entry.get(kind) else None
        if job is not None and not job.belongs_to(request.user, project):
            raise Http404
        return job

    def ended(self, request, project, token, entry, job):
        """The answer to a job that has ended, read from its outcome and writing nothing
        (the preview's GET answers with it too): the preview (or the upload page with the
        reason the file cannot be read) after a check; after a commit the page the import
        goes to, or why nothing was written."""
        outcome = job.outcome() if job.status == import_jobs.DONE else None
        kind = outcome[0] if outcome is not None else "failed"
        if job.state["kind"] == "check":
            if kind == "result":
                if not self.uploads.path(token).is_file():
                    raise Http404(_("导入文件不存在或已过期，请重新上传。"))
                return self.preview_page(request, project, token, entry, outcome[1])
            error = outcome[2] if outcome is not None else job.error
            return self.upload_page(request, project, self.form(), status=400, error=error)
        if kind == "result":
            return self.done(request, project, outcome[1])
        if kind == "invalid":
            messages.error(request, str(self.changed_message))
            return self.preview_page(request, project, token, entry, outcome[1], status=400)
        if kind == "file":
            return self.upload_page(request, project, self.form(), status=400, error=outcome[2])
        # refused (a conflict, a permission) or failed: nothing was written; the check's
        # preview again, where the import may be confirmed again
        check = self.job(request, project, entry, "check")
        if check is None:
            raise Http404(_("导入文件不存在或已过期，请重新上传。"))
        messages.error(request, outcome[2] if outcome is not None else job.error)
        response = self.ended(request, project, token, entry, check)
        if kind == "forbidden":
            response.status_code = 403
        return response

    def settle(self, request, token, job) -> tuple[str, str]:
        """On the commit's POST, once its job has ended (the session is written here,
        never by the preview's GET): a spent upload (written, or a file that cannot be
        read) leaves the session; after a refusal or a failure the upload waits for its
        preview again. Returns the outcome's kind and message."""
        outcome = job.outcome() if job.status == import_jobs.DONE else None
        kind = outcome[0] if outcome is not None else "failed"
        if kind in ("result", "file"):
            self.uploads.forget(request, token)
        elif kind != "invalid":
            self.uploads.set_job(request, token, "commit", None)
        return kind, (outcome[2] if outcome is not None else job.error)

    def upload_view(self, request, project_pk):
        """Upload page: a file that is not an xlsx (or too big) is refused right here."""
        project = self.project(request, project_pk)
        form = self.form(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                xlsx.check_container(upload, upload.name)
            except DomainError as exc:
                form.add_error("file", str(exc.message))
            else:
                token = self.uploads.store(request, project, upload)
                entry = self.uploads.entry(request, project, token)
                self.start(request, project, token, entry, "check")
                return redirect(f"{self.url_name}_preview", project_pk=project.pk, token=token)
        return self.upload_page(request, project, form, status=400 if form.errors else 200)

    def preview_view(self, request, project_pk, token):
        """The progress of the check or the commit while it runs (as JSON with
        ``?progress=1``); then every problem as (行, 列, 原因), or the summary and the
        确认导入 button; after the commit, the page the import goes to."""
        project = self.project(request, project_pk)
        entry = self.uploads.entry(request, project, token, file=False)
        job = self.job(request, project, entry, "commit") or self.job(
            request, project, entry, "check"
        )
        if job is None:
            raise Http404(_("导入文件不存在或已过期，请重新上传。"))
        if request.GET.get("progress"):
            return JsonResponse(job.as_progress())
        if job.status == import_jobs.RUNNING:
            return self.progress_page(request, project, token, entry, job)
        return self.ended(request, project, token, entry, job)

    def commit_view(self, request, project_pk, token):
        """Read the waiting file again and write all rows or none, as a job."""
        project = self.project(request, project_pk)
        entry = self.uploads.entry(request, project, token)
        running = self.job(request, project, entry, "commit")
        if running is not None and running.status == import_jobs.RUNNING:
            return redirect(f"{self.url_name}_preview", project_pk=project.pk, token=token)
        job = self.start(request, project, token, entry, "commit")
        if job.status == import_jobs.RUNNING:
            return redirect(f"{self.url_name}_preview", project_pk=project.pk, token=token)
        kind, message = self.settle(request, token, job)
        if kind == "forbidden":
            raise PermissionDenied(message)
        if kind in ("refused", "failed"):
            messages.error(request, message)
            return redirect(f"{self.url_name}_preview", project_pk=project.pk, token=token)
        return self.ended(request, project, token, entry, job)

    def cancel_view(self, request, project_pk, token):
        project = self.project(request, project_pk)
        if str(token) in self.uploads.pending(request):
            self.uploads.entry(request, project, token)
            self.uploads.forget(request, token)
        messages.info(request, _("已取消导入。"))
        return redirect(self.url_name, project_pk=project.pk)

    def template_view(self, request, project_pk):
        project = self.project(request, project_pk)
        content = self.spec.template(actor=request.user, project=project)
        return xlsx.xlsx_response(content, self.spec.template_filename(project))

    def views(self):
        """(upload, preview, commit, cancel, template) view functions for the URLconf;
        each carries the guard ``project`` runs (``core.pages.guard_of``)."""
        views = (
            login_required(require_http_methods(["GET", "POST"])(self.upload_view)),
            login_required(require_http_methods(["GET"])(self.preview_view)),
            login_required(require_POST(self.commit_view)),
            login_required(require_POST(self.cancel_view)),
            login_required(require_http_methods(["GET"])(self.template_view)),
        )
        for view in views:
            view.guard = Guard(act=self.spec.perm)
        return views


# --- the API ------------------------------------------------------------------------

PROJECT_ID = OpenApiParameter(
    "project_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="项目 ID"
)
DRY_RUN = OpenApiParameter(
    "dry_run", OpenApiTypes.BOOL, OpenApiParameter.QUERY, description="1：只检查，不写入"
)
IMPORT_RESULT = _inline(
    "ImportResult",
    {
        "valid": serializers.BooleanField(),
        "rows": serializers.IntegerField(),
        "created": serializers.IntegerField(required=False),
        "error_count": serializers.IntegerField(),
        "errors": _inline(
            "ImportRowError",
            many=True,
            fields={
                "row": serializers.IntegerField(allow_null=True, help_text="Excel 行号"),
                "column": serializers.CharField(help_text="列名"),
                "message": serializers.CharField(help_text="原因"),
            },
        ),
    },
)
IMPORT_UPLOAD = _inline("ImportUpload", {"file": serializers.FileField()})
XLSX_FILE = {(200, xlsx.XLSX_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY)}


def truthy(value) -> bool:
    return str(value or "").strip().lower() in {"1", "true", "yes", "on"}


class ImportApiViewSet(viewsets.GenericViewSet):
    """``POST …/import/`` (multipart, field ``file``): with ``?dry_run=1`` answers 200
    ``{"valid", "rows", "error_count", "errors": [{"row", "column", "message"}]}`` and
    writes nothing; without it imports all rows (201) or none (400, code ``invalid``, the
    same ``errors`` in the body). ``GET …/template/``: the empty template. A file that is
    not a readable xlsx is 400 with code ``invalid`` and ``fields.file``.

    A subclass sets ``queryset`` (the projects) and ``spec`` (the import)."""

    spec: xlsx.ImportSpec
    pagination_class = None
    filter_backends = []

    def perform_content_negotiation(self, request, force=False):
        # Downloads answer xlsx whatever Accept says; errors stay JSON.
        return super().perform_content_negotiation(request, force=True)

    def project(self, perm: str = ""):
        project = get_object_or_404(
            self.get_queryset().restrict(self.request.user, "view"), pk=self.kwargs["project_id"]
        )
        access.require_perm(self.request.user, perm or self.spec.perm, project)
        return project

    @extend_schema(
        parameters=[PROJECT_ID, DRY_RUN],
        request={"multipart/form-data": IMPORT_UPLOAD},
        responses={200: IMPORT_RESULT, 201: IMPORT_RESULT, 400: IMPORT_RESULT},
        description="导入 xlsx：全部正确才写入（全部或全不）；dry_run=1 只检查。",
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_file(self, request, project_id=None):
        project = self.project()
        upload = request.FILES.get("file")
        if upload is None:
            raise DomainError(
                ErrorCode.INVALID, "请上传 .xlsx 文件（字段 file）。", {"file": ["必须上传文件"]}
            )
        files = {"project": project, "file": upload, "file_name": upload.name}
        if truthy(request.query_params.get("dry_run")):
            result = self.spec.read(user=request.user, **files)
            return Response(result.as_body(MAX_SHOWN_PROBLEMS))
        try:
            result = self.spec.commit(actor=request.user, **files)
        except xlsx.ImportInvalid as exc:
            body = exc.as_dict()
            body.update(exc.result.as_body(MAX_SHOWN_PROBLEMS))
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            {**result.as_body(MAX_SHOWN_PROBLEMS), "created": len(result.items)},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(parameters=[PROJECT_ID], responses=XLSX_FILE, description="下载导入模板 xlsx。")
    @action(detail=False, methods=["get"], url_path="template")
    def template(self, request, project_id=None):
        project = self.project()
        content = self.spec.template(actor=request.user, project=project)
        return xlsx.xlsx_response(content, self.spec.template_filename(project))
