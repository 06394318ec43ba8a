"""Import jobs (core.import_jobs, issue 12 finding Imports): the check and the commit of
an import page run in a background thread and report their progress, readable by another
request while they run; a job that fails writes nothing; only its starter sees it."""

import re
import threading
import time

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loupan.accounts.models import User
from loupan.core import import_jobs
from loupan.customers import imports
from loupan.customers.models import Customer

from ..customers.test_customer_import import XLSX, file_of, rows
from ..inventory.import_helpers import media

media = media
BACKEND = "loupan.accounts.backends.ProjectRoleBackend"

WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.I)


@pytest.fixture
def background(settings, transactional_db, demo, media):
    """Jobs in their thread: the test's data must be committed for it to see (a
    transactional test)."""
    settings.LOUPAN_IMPORT_BACKGROUND = True
    return demo


def client_of(client, username):
    client.force_login(User.objects.get(username=username), backend=BACKEND)
    return client


def upload(client, project, content):
    url = reverse("customers:customers_import", args=[project.pk])
    return client.post(url, {"file": SimpleUploadedFile("客户.xlsx", content, XLSX)})


def assert_wrote_nothing(queries, response):
    """No INSERT, UPDATE or DELETE (the session's table included), and the session was
    neither changed nor saved (no new session cookie)."""
    assert [q["sql"] for q in queries if WRITE.match(q["sql"])] == []
    assert not response.wsgi_request.session.modified
    assert settings.SESSION_COOKIE_NAME not in response.cookies


def wait(client, url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(url, {"progress": "1"}).json()
        if state["status"] != "running":
            # and its thread has closed its connection: on SQLite's shared in-memory
            # test database a connection still open may hold a table lock
            for thread in threading.enumerate():
                if thread.name.startswith("import-"):
                    thread.join(timeout)
            return state
        time.sleep(0.05)
    raise AssertionError("the job did not end")


class Gate:
    """Holds the job's thread at the first report of ``phase`` with ``done`` rows or more,
    until the test lets it go."""

    def __init__(self, monkeypatch, phase, done):
        self.reached, self.release = threading.Event(), threading.Event()
        original = import_jobs.Job.report
        gate = self

        def report(job, at_phase, at_done, total):
            original(job, at_phase, at_done, total)
            if at_phase == phase and at_done >= done and not gate.reached.is_set():
                job.save()
                gate.reached.set()
                gate.release.wait(30)

        monkeypatch.setattr(import_jobs.Job, "report", report)


# PostgreSQL only: SQLite's shared in-memory test database locks a table being written
# for every other connection (the customer list read during the commit), where a file
# database in WAL mode lets readers through (bench/imports.py measures that).
@pytest.mark.postgres
def test_progress_is_visible_while_the_check_and_the_commit_run(background, client, monkeypatch):
    project = background["main"]
    client = client_of(client, "supervisor")
    gate = Gate(monkeypatch, "check", 100)
    response = upload(client, project, file_of(rows(300)))
    assert response.status_code == 302
    preview_url = response.url
    assert gate.reached.wait(30)

    # Another request reads the progress while the check runs.
    state = client.get(preview_url, {"progress": "1"}).json()
    assert state["status"] == "running" and state["kind"] == "check"
    assert state["phase"] == "check" and state["phase_label"] == "检查数据"
    assert 100 <= state["done"] < 300 and state["total"] == 300
    assert 40 <= state["percent"] < 80
    page = client.get(preview_url)
    html = page.content.decode()
    assert page.status_code == 200 and 'id="import-progress"' in html
    assert "正在检查文件" in html and 'src="http' not in html
    gate.release.set()
    assert wait(client, preview_url)["status"] == "done"
    preview = client.get(preview_url)
    assert 'id="import-valid"' in preview.content.decode()

    # The commit: the progress is readable while its transaction is open.
    before = Customer.objects.count()
    gate = Gate(monkeypatch, "write", 100)
    response = client.post(preview_url + "commit/")
    assert response.status_code == 302 and response.url == preview_url
    assert gate.reached.wait(30)
    # The poll, the progress page and another page write nothing (not even the
    # session), so none waits for the commit's write lock on SQLite.
    with CaptureQueriesContext(connection) as queries:
        state = client.get(preview_url, {"progress": "1"}).json()
        assert "正在导入" in client.get(preview_url).content.decode()
        other = reverse("customers:customer_list", args=[project.pk])
        assert client.get(other).status_code == 200
    assert [q["sql"] for q in queries if WRITE.match(q["sql"])] == []
    assert state["status"] == "running" and state["kind"] == "commit"
    assert state["phase"] == "write" and state["done"] >= 100 and state["total"] == 300
    gate.release.set()
    assert wait(client, preview_url)["status"] == "done"
    done = client.get(preview_url)
    assert done.status_code == 302
    assert done.url == reverse("customers:intent_register", args=[project.pk])
    assert Customer.objects.count() == before + 300
    # The token is spent: the same file cannot be committed twice.
    assert client.post(preview_url + "commit/").status_code == 404


def test_a_failure_in_the_background_writes_nothing(background, client, monkeypatch):
    project = background["main"]
    client = client_of(client, "supervisor")
    response = upload(client, project, file_of(rows(200)))
    preview_url = response.url
    assert wait(client, preview_url)["status"] == "done"
    before = Customer.objects.count()

    calls = []

    def broken_audit(**kwargs):
        calls.append(1)
        if len(calls) == 150:
            raise RuntimeError("disk full")

    monkeypatch.setattr(imports, "audit_create", broken_audit)
    client.post(preview_url + "commit/")
    state = wait(client, preview_url)
    assert state["status"] == "failed"
    assert state["error"].startswith("导入时发生内部错误，未写入任何数据")
    assert len(calls) == 150 and Customer.objects.count() == before
    # The page says so and offers the preview again, writing nothing.
    with CaptureQueriesContext(connection) as queries:
        page = client.get(preview_url, follow=True)
    html = page.content.decode()
    assert "导入时发生内部错误" in html and 'id="confirm-import"' in html
    assert_wrote_nothing(queries, page)


def test_only_the_importer_sees_the_job(background, client, monkeypatch):
    project = background["main"]
    owner = client_of(client, "supervisor")
    gate = Gate(monkeypatch, "check", 50)
    preview_url = upload(owner, project, file_of(rows(120))).url
    assert gate.reached.wait(30)
    try:
        from django.test import Client

        # Another user who may import too: the job is not theirs (404, no progress).
        other = client_of(Client(), "manager")
        assert other.get(preview_url, {"progress": "1"}).status_code == 404
        assert other.get(preview_url).status_code == 404
        # Who may not import at all: refused.
        consultant = client_of(Client(), "consultant")
        assert consultant.get(preview_url, {"progress": "1"}).status_code == 403
        assert owner.get(preview_url, {"progress": "1"}).status_code == 200
    finally:
        gate.release.set()
    assert wait(owner, preview_url)["status"] == "done"


def test_a_job_whose_process_died_is_reported_as_interrupted(background, settings):
    project = background["main"]
    user = User.objects.get(username="supervisor")
    job = import_jobs.Job.create(
        kind="check",
        token="7b0c2f5e-2c0e-4b8a-9d1e-0a4f5d6c7b8a",
        project=project,
        user=user,
        pages="x",
    )
    assert job.status == "running"
    job.state["updated"] -= settings.LOUPAN_IMPORT_LOST_AFTER + 1
    import_jobs._write_json(job.path_of(job.id), job.state)
    lost = import_jobs.Job.load(job.id)
    assert lost.status == "failed" and "导入已中断" in lost.as_progress()["error"]


def test_the_preview_after_a_finished_commit_writes_nothing(background, client, monkeypatch):
    """A GET writes nothing, not even the session: once the commit's job has ended the
    preview answers from the jobs' outcomes (the page the import goes to), every time;
    the spent upload leaves the session on a POST (the next upload)."""
    project = background["main"]
    client = client_of(client, "supervisor")
    preview_url = upload(client, project, file_of(rows(3))).url
    assert wait(client, preview_url)["status"] == "done"
    before = Customer.objects.count()
    # The commit's POST answers while its job holds the import's transaction open (on
    # SQLite the database's one write lock): its session was saved before the job
    # started and is not saved again after it, which would wait for that lock (or, on
    # the test suite's shared in-memory SQLite, fail at once: SessionInterrupted).
    gate = Gate(monkeypatch, "write", 0)
    started = import_jobs.start

    def start_and_hold(job, work):
        started(job, work)
        assert gate.reached.wait(30)  # the job is inside its transaction now
        return job

    monkeypatch.setattr(import_jobs, "start", start_and_hold)
    try:
        assert client.post(preview_url + "commit/").status_code == 302
    finally:
        gate.release.set()
    assert wait(client, preview_url)["status"] == "done"
    assert Customer.objects.count() == before + 3
    done = reverse("customers:intent_register", args=[project.pk])
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(preview_url)
        assert response.status_code == 302 and response.url == done
        assert_wrote_nothing(queries, response)
    # spent: it cannot be committed again, and the next upload drops it from the session
    assert client.post(preview_url + "commit/").status_code == 404
    token = preview_url.rstrip("/").rsplit("/", 1)[-1]
    assert token in client.session["customer_imports"]
    later = upload(client, project, file_of(rows(1))).url
    assert token not in client.session["customer_imports"]
    # (its check ends here, not in the next test's database)
    assert wait(client, later)["status"] == "done"
