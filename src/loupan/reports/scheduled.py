"""The scheduled reports 定时报表 (issue 15; seed 001 三(三): the day's work summed up by
the closing time; seed 002 三.1 日报, 周报, 月报).

``reports_deliver`` is a due job (``loupan run-due``, every minute). For every active
project it takes the latest *closed* day (today once the project's closing time
``daily.closes_at`` has passed, else yesterday) and makes sure that

* the daily report 销售日报 of that day,
* the weekly report 销售周报 of the last full week (Monday–Sunday) before it — so it is
  written on Monday after closing,
* the monthly report 销售月报 of the last full month before it — written on the 1st after
  closing,

exist as xlsx files in the reports folder, ``<folder>/<project code>/<kind>-<start>.xlsx``
(the folder is ``settings.LOUPAN_REPORTS_DIR``, else ``<LOUPAN_VAR_DIR>/reports``). A
``ReportRun`` row per project, kind and period start is the memory: a period already run
is not built, written or mailed again (after a stop, the job catches up with the latest
period of each kind, not with every missed one). A kind whose builder is not registered
in ``engine.REPORTS`` is skipped.

Mail: when the project has recipients (``ReportSettings.recipients``) and mail is
configured, each new file is mailed to them as an attachment (Django's ``EmailMessage``
through the configured ``EMAIL_BACKEND``). Mail is configured when
``settings.LOUPAN_REPORTS_MAIL`` says so (True/False), or, when that is not set, when
``settings.EMAIL_HOST`` names a server other than Django's default ``localhost`` (a local
MTA needs ``LOUPAN_REPORTS_MAIL = True``). A failed mail is kept in
``ReportRun.mail_error`` (and the audit trail); it neither stops the job nor is retried.

The reports are built for the whole office (``Filters(user=None, …)``: no viewer, so
nothing is restricted to one consultant); each file written is an export in the audit
trail (actor ``system``), and so is each mailing.
"""

from __future__ import annotations

import datetime
import logging
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loupan.audit.models import AuditAction
from loupan.audit.services import audit_record
from loupan.core.xlsx import XLSX_CONTENT_TYPE
from loupan.inventory.models import Project

from . import engine
from .daily import closes_at, settings_of
from .models import ReportRun, RunKind

log = logging.getLogger(__name__)

JOB = "reports_deliver"
SYSTEM = "system"
DELIVER_LABELS = {
    "reports_written": "定时报表生成",
    "reports_mailed": "定时报表发送",
    "reports_mail_failed": "定时报表发送失败",
    "reports_failed": "定时报表生成失败",
}
MAIL_TIMEOUT = 30


def reports_dir() -> Path:
    """Where the scheduled files go: ``settings.LOUPAN_REPORTS_DIR``, else ``reports``
    under the var folder (``LOUPAN_VAR_DIR``)."""
    configured = getattr(settings, "LOUPAN_REPORTS_DIR", None)
    return Path(configured) if configured else Path(settings.VAR_DIR) / "reports"


def mail_enabled() -> bool:
    """Whether the scheduled files are mailed (see the module's note)."""
    explicit = getattr(settings, "LOUPAN_REPORTS_MAIL", None)
    if explicit is not None:
        return bool(explicit)
    host = str(getattr(settings, "EMAIL_HOST", "") or "").strip()
    return bool(host) and host != "localhost"


def last_closed_day(project, now: datetime.datetime) -> datetime.date:
    """Today once the project's daily report has closed, else yesterday."""
    today = timezone.localdate(now)
    if now >= closes_at(project, today):
        return today
    return today - datetime.timedelta(days=1)


def due_periods(project, now) -> list[tuple[str, datetime.date, datetime.date]]:
    """``(kind, start, end)`` of the latest daily, weekly and monthly report due."""
    day = last_closed_day(project, now)
    monday = day - datetime.timedelta(days=day.weekday())
    first = day.replace(day=1)
    last_month_end = first - datetime.timedelta(days=1)
    return [
        (RunKind.DAILY.value, day, day),
        (
            RunKind.WEEKLY.value,
            monday - datetime.timedelta(days=7),
            monday - datetime.timedelta(days=1),
        ),
        (RunKind.MONTHLY.value, last_month_end.replace(day=1), last_month_end),
    ]


def file_name(project, kind: str, start: datetime.date) -> str:
    """The file's path inside the reports folder (what ``ReportRun.path`` keeps)."""
    return f"{project.code}/{kind}-{start.isoformat()}.xlsx"


def _write(relative: str, content: bytes) -> Path:
    """Write atomically (a reader never sees half a file; two runs at once write the
    same bytes)."""
    target = reports_dir() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".xlsx")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _body(project, report) -> str:
    lines = [
        f"{project.name} {report.title} {report.period}",
        "",
        *(f"{figure.label}：{engine.plain(figure.value)}" for figure in report.figures),
        "",
        _("完整报表见附件（Excel）。此邮件由 Loupan 在日报截止后自动发送。"),
    ]
    return "\n".join(lines)


def _mail(project, report, relative: str, content: bytes, recipients: list[str]) -> str:
    """Send the file; the error in words when it failed ('' when sent)."""
    try:
        connection = get_connection(
            fail_silently=False, timeout=getattr(settings, "EMAIL_TIMEOUT", None) or MAIL_TIMEOUT
        )
        message = EmailMessage(
            subject=f"{project.name} {report.title} {report.period}",
            body=_body(project, report),
            to=recipients,
            connection=connection,
        )
        message.attach(relative.rsplit("/", 1)[-1], content, XLSX_CONTENT_TYPE)
        message.send()
    except Exception as exc:  # any failure of the mail server is recorded, not raised
        log.warning("scheduled report %s not mailed: %s", relative, exc)
        return f"{type(exc).__name__}: {exc}"[:300]
    return ""


def _deliver_one(project, kind: str, start, end, recipients: list[str], done: dict) -> None:
    spec = engine.REPORTS.get(kind)
    if spec is None:
        return  # that report is not (yet) in the catalogue
    try:
        report = spec.build(engine.Filters(None, project, start, end))
        content, count = engine.workbook(report)
        relative = file_name(project, kind, start)
        _write(relative, content)
    except Exception:  # one broken report must not stop the others
        log.exception("scheduled report %s %s %s failed", project.code, kind, start)
        done["reports_failed"] += 1
        return
    try:
        with transaction.atomic():
            run = ReportRun.objects.create(
                project=project, kind=kind, start=start, end=end, path=relative
            )
            audit_record(
                actor=None,
                username=SYSTEM,
                action=AuditAction.EXPORT,
                object_type=f"reports.{kind}",
                object_id=run.pk,
                object_repr=str(run),
                project_id=project.pk,
                extra={
                    "rows": count,
                    "filters": {"format": "xlsx", "report": kind, **report.filters.as_dict()},
                    "job": JOB,
                    "path": relative,
                },
            )
    except IntegrityError:
        return  # another run-due wrote it at the same moment; it mails it too
    done["reports_written"] += 1
    if not recipients:
        return
    error = _mail(project, report, relative, content, recipients)
    mailed_to = "" if error else "\n".join(recipients)
    with transaction.atomic():
        ReportRun.objects.filter(pk=run.pk).update(mailed_to=mailed_to, mail_error=error)
        audit_record(
            actor=None,
            username=SYSTEM,
            action=AuditAction.ACTION,
            object_type="reports.reportrun",
            object_id=run.pk,
            object_repr=str(run),
            project_id=project.pk,
            extra={
                "action": "report_mail",
                "job": JOB,
                "to": recipients,
                **({"error": error} if error else {}),
            },
        )
    done["reports_mail_failed" if error else "reports_mailed"] += 1


def reports_deliver(*, now=None) -> dict:
    """The due job: every active project's daily, weekly and monthly report, once each,
    written to the reports folder and mailed to its recipients (see the module's note).
    Running it again writes and mails nothing more."""
    now = now or timezone.now()
    done = dict.fromkeys(DELIVER_LABELS, 0)
    mail = mail_enabled()
    for project in Project.objects.filter(is_active=True).order_by("pk"):
        periods = due_periods(project, now)
        already = set(
            ReportRun.objects.filter(
                project=project, start__in=[start for _k, start, _e in periods]
            ).values_list("kind", "start")
        )
        todo = [p for p in periods if (p[0], p[1]) not in already and p[0] in engine.REPORTS]
        if not todo:
            continue
        recipients = settings_of(project).recipient_list() if mail else []
        for kind, start, end in todo:
            _deliver_one(project, kind, start, end, recipients, done)
    return done
