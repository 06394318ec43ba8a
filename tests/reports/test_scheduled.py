"""The scheduled reports (``reports_deliver``, run by ``loupan run-due``): after the
closing time the day's report is written as xlsx into the reports folder and mailed to
the project's recipients through a real SMTP server (aiosmtpd on 127.0.0.1); the weekly
report on Monday and the monthly on the 1st; a second run writes and mails nothing; an
unreachable mail server is recorded and the file still written."""

import datetime
import email
import email.policy
import io
import socket
import threading

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.utils import timezone
from openpyxl import load_workbook

from loupan.audit.models import AuditEntry
from loupan.core import due
from loupan.reports import engine, office, scheduled
from loupan.reports.models import ReportRun
from tests.deals.helpers import project, user

# Monday the 1st of June 2026: the day, the week and the month are all due after closing.
DAY = datetime.date(2026, 6, 1)
AFTER_CLOSE = timezone.make_aware(datetime.datetime(2026, 6, 1, 18, 0))
BEFORE_CLOSE = timezone.make_aware(datetime.datetime(2026, 6, 1, 17, 0))
WEEK = (datetime.date(2026, 5, 25), datetime.date(2026, 5, 31))
MONTH = (datetime.date(2026, 5, 1), datetime.date(2026, 5, 31))
RECIPIENTS = ["boss@example.com", "sales@example.com"]


def registered(kind) -> bool:
    return kind in engine.REPORTS


def expected_kinds() -> list[str]:
    return [k for k in ("daily", "weekly", "monthly") if registered(k)]


class Collect:
    """An SMTP handler that keeps every message it is given."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def folder(settings, tmp_path):
    settings.LOUPAN_REPORTS_DIR = str(tmp_path / "reports")
    return tmp_path / "reports"


@pytest.fixture
def smtp(settings, folder):
    handler = Collect()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def recipients(demo):
    office.settings_save(actor=user("manager"), project=project(), recipients="\n".join(RECIPIENTS))
    # the second demo project mails nobody
    office.settings_save(actor=user("director"), project=demo["second"], recipients="")
    return RECIPIENTS


def attachments(envelope) -> list:
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    return [
        (part.get_filename(), part.get_content_type(), part.get_content())
        for part in message.iter_attachments()
    ]


def subject(envelope) -> str:
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    return str(message["Subject"])


def test_the_job_is_registered_with_its_labels():
    job = next(job for job in due.jobs() if job.name == "reports_deliver")
    assert job.run is scheduled.reports_deliver
    assert set(job.labels) >= {"reports_written", "reports_mailed", "reports_mail_failed"}


def test_after_closing_writes_and_mails_then_nothing_more(demo, smtp, folder, recipients):
    done = scheduled.reports_deliver(now=AFTER_CLOSE)
    kinds = expected_kinds()
    # both active demo projects get their files; only the main one has recipients
    assert done["reports_written"] == 2 * len(kinds), done
    assert done["reports_mailed"] == len(kinds) and done["reports_mail_failed"] == 0, done

    daily = folder / "CHW" / "daily-2026-06-01.xlsx"
    assert daily.is_file() and (folder / "YQF" / "daily-2026-06-01.xlsx").is_file()
    book = load_workbook(daily)
    assert book.worksheets[0]["A1"].value == "销售日报"
    assert "2026-06-01" in str(book.worksheets[0]["B2"].value)

    run = ReportRun.objects.get(project=project(), kind="daily", start=DAY)
    assert run.end == DAY and run.path == "CHW/daily-2026-06-01.xlsx"
    assert run.mailed_to.split() == RECIPIENTS and run.mail_error == ""
    second_run = ReportRun.objects.get(project=demo["second"], kind="daily", start=DAY)
    assert second_run.mailed_to == "" and second_run.mail_error == ""

    # the mails: one per report, to the recipients, with the xlsx attached
    assert len(smtp.messages) == len(kinds)
    for envelope in smtp.messages:
        assert sorted(envelope.rcpt_tos) == sorted(RECIPIENTS)
    daily_mail = next(e for e in smtp.messages if "销售日报" in subject(e))
    assert "锦城·翠湖湾" in subject(daily_mail) and "2026-06-01" in subject(daily_mail)
    [(name, content_type, content)] = attachments(daily_mail)
    assert name == "daily-2026-06-01.xlsx"
    assert content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert content == daily.read_bytes()
    assert load_workbook(io.BytesIO(content)).worksheets[0]["A1"].value == "销售日报"

    # the audit trail: an export per file and the mailing, by the system
    export = AuditEntry.objects.get(action="export", object_type="reports.daily", project=project())
    assert export.actor is None and export.actor_username == "system"
    assert export.extra["filters"]["start"] == "2026-06-01"
    assert AuditEntry.objects.filter(
        object_type="reports.reportrun", object_id=str(run.pk), actor_username="system"
    ).exists()

    # the weekly report of last week and the monthly of last month (once registered)
    if registered("weekly"):
        weekly = ReportRun.objects.get(project=project(), kind="weekly", start=WEEK[0])
        assert weekly.end == WEEK[1]
        path = folder / "CHW" / "weekly-2026-05-25.xlsx"
        assert path.is_file() and load_workbook(path).worksheets[0]["A1"].value
    if registered("monthly"):
        monthly = ReportRun.objects.get(project=project(), kind="monthly", start=MONTH[0])
        assert monthly.end == MONTH[1]
        path = folder / "CHW" / "monthly-2026-05-01.xlsx"
        assert path.is_file() and load_workbook(path).worksheets[0]["A1"].value

    # a second run (the next minute) writes and mails nothing
    stamp = daily.stat().st_mtime_ns
    runs = ReportRun.objects.count()
    again = scheduled.reports_deliver(now=AFTER_CLOSE + datetime.timedelta(minutes=1))
    assert again["reports_written"] == 0 and again["reports_mailed"] == 0, again
    assert ReportRun.objects.count() == runs
    assert len(smtp.messages) == len(kinds)
    assert daily.stat().st_mtime_ns == stamp


def test_before_closing_today_is_not_written(demo, folder, settings):
    settings.LOUPAN_REPORTS_MAIL = False
    done = scheduled.reports_deliver(now=BEFORE_CLOSE)
    assert done["reports_written"] >= 2
    assert not ReportRun.objects.filter(kind="daily", start=DAY).exists()
    assert not (folder / "CHW" / "daily-2026-06-01.xlsx").exists()
    # the latest closed day is yesterday, and so the week and month before it
    assert ReportRun.objects.filter(
        project=project(), kind="daily", start=DAY - datetime.timedelta(days=1)
    )
    if registered("weekly"):
        assert not ReportRun.objects.filter(kind="weekly", start=WEEK[0]).exists()
    if registered("monthly"):
        assert not ReportRun.objects.filter(kind="monthly", start=MONTH[0]).exists()
    # at closing time it is
    scheduled.reports_deliver(now=timezone.make_aware(datetime.datetime(2026, 6, 1, 17, 30)))
    assert (folder / "CHW" / "daily-2026-06-01.xlsx").is_file()


def test_the_projects_own_closing_time(demo, folder, settings):
    settings.LOUPAN_REPORTS_MAIL = False
    office.settings_save(actor=user("manager"), project=project(), close_time="20:00")
    scheduled.reports_deliver(now=AFTER_CLOSE)
    assert not ReportRun.objects.filter(project=project(), kind="daily", start=DAY).exists()
    # the second project closes at 17:30
    assert ReportRun.objects.filter(project=demo["second"], kind="daily", start=DAY).exists()


def test_an_unreachable_mail_server_is_recorded_and_the_file_kept(
    demo, settings, folder, recipients
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens there
    settings.EMAIL_TIMEOUT = 5
    done = scheduled.reports_deliver(now=AFTER_CLOSE)
    kinds = expected_kinds()
    assert done["reports_mail_failed"] == len(kinds) and done["reports_mailed"] == 0, done
    assert done["reports_written"] == 2 * len(kinds)
    assert (folder / "CHW" / "daily-2026-06-01.xlsx").is_file()
    run = ReportRun.objects.get(project=project(), kind="daily", start=DAY)
    assert run.mail_error and run.mailed_to == ""
    entry = AuditEntry.objects.get(object_type="reports.reportrun", object_id=str(run.pk))
    assert entry.extra["error"] == run.mail_error
    # not retried: the next run does nothing
    assert scheduled.reports_deliver(now=AFTER_CLOSE)["reports_written"] == 0


def test_mail_only_when_configured(demo, settings, folder, recipients):
    # pytest-django's in-memory backend, Django's default host: not configured
    settings.EMAIL_HOST = "localhost"
    assert not scheduled.mail_enabled()
    scheduled.reports_deliver(now=AFTER_CLOSE)
    assert mail.outbox == []
    assert ReportRun.objects.get(project=project(), kind="daily", start=DAY).mailed_to == ""
    # configured explicitly: mailed through the configured backend
    settings.LOUPAN_REPORTS_MAIL = True
    later = AFTER_CLOSE + datetime.timedelta(days=1)
    scheduled.reports_deliver(now=later)
    assert [m.subject for m in mail.outbox if "2026-06-02" in m.subject]
    message = mail.outbox[0]
    assert sorted(message.to) == sorted(RECIPIENTS)
    assert message.attachments[0][0] == "daily-2026-06-02.xlsx"


def test_reports_folder_defaults_to_the_var_dir(settings, tmp_path):
    settings.LOUPAN_REPORTS_DIR = None
    settings.VAR_DIR = tmp_path
    assert scheduled.reports_dir() == tmp_path / "reports"


def test_an_inactive_project_gets_nothing(demo, folder, settings):
    settings.LOUPAN_REPORTS_MAIL = False
    second = demo["second"]
    second.is_active = False
    second.save(update_fields=["is_active"])
    scheduled.reports_deliver(now=AFTER_CLOSE)
    assert not ReportRun.objects.filter(project=second).exists()
    assert ReportRun.objects.filter(project=project()).exists()
