"""A sales supervisor imports a few hundred customers from Excel (issue 12, Imports): the
upload shows the check's progress, then the preview; the confirmation shows the
commit's progress, then the result — all in the background, the page polling.

Each job is held at its first progress report until the browser has shown the progress
bar (so that a fast machine does not skip it), then let go."""

import threading

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from loupan.core import import_jobs
from loupan.customers.models import Customer
from tests.customers.test_customer_import import file_of, rows
from tests.e2e.helpers import log_in

ROWS = 300


@pytest.fixture
def background(settings, tmp_path):
    """Jobs in a thread of the live server (tests/conftest.py turns them off)."""
    settings.LOUPAN_IMPORT_BACKGROUND = True
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"


class Gate:
    """Holds the job's thread at the first report of ``phase`` with some rows done."""

    def __init__(self, monkeypatch, phase):
        self.reached, self.release = threading.Event(), threading.Event()
        original = import_jobs.Job.report
        gate = self

        def report(job, at_phase, done, total):
            original(job, at_phase, done, total)
            if at_phase == phase and done and not gate.reached.is_set():
                job.save()
                gate.reached.set()
                gate.release.wait(30)

        monkeypatch.setattr(import_jobs.Job, "report", report)


def test_supervisor_imports_customers_and_sees_the_progress(
    page, office, background, monkeypatch, tmp_path
):
    project = office["main"]
    before = Customer.objects.count()
    workbook = tmp_path / "客户.xlsx"
    workbook.write_bytes(file_of(rows(ROWS)))

    log_in(page, "supervisor")
    page.goto(reverse("customers:customers_import", args=[project.pk]))
    page.set_input_files("#import-form input[type=file]", str(workbook))

    # The check: the progress bar while it runs, then the preview.
    check = Gate(monkeypatch, "check")
    try:
        page.click("#upload-button")
        expect(page.locator("#import-progress")).to_be_visible()
        expect(page.locator("#import-progress-title")).to_contain_text("正在检查文件")
        assert check.reached.wait(15)
        expect(page.locator("#import-progress-text")).to_contain_text(f"检查数据 50 / {ROWS}")
    finally:
        check.release.set()
    expect(page.locator("#import-valid")).to_be_visible()
    expect(page.locator("#import-valid")).to_contain_text(str(ROWS))
    assert Customer.objects.count() == before

    # The commit: the progress bar again, then the register with the result.
    commit = Gate(monkeypatch, "write")
    try:
        page.click("#confirm-import")
        expect(page.locator("#import-progress-title")).to_contain_text("正在导入")
        assert commit.reached.wait(15)
        expect(page.locator("#import-progress-text")).to_contain_text(f"写入数据 50 / {ROWS}")
    finally:
        commit.release.set()
    expect(page.locator(".alert-success")).to_contain_text(f"已导入 {ROWS} 位客户", timeout=60_000)
    expect(page).to_have_url(reverse("customers:intent_register", args=[project.pk]))
    assert Customer.objects.count() == before + ROWS
