"""Import jobs: the check (preview) and the commit of an xlsx import run in a background
thread of the server process, so that the page stays responsive, and report their
progress where any other request can read it (docs/architecture.md, "Background
imports").

A job is a small JSON file ``<VAR_DIR>/import-jobs/<id>.json`` (its state: who started
it, for which project and upload, the phase, rows done and total, the outcome) and, once
it ends, ``<id>.pickle`` (what the pages show: the ``ImportResult`` or the refusal). The
state file is replaced atomically (write a temporary file, ``os.replace``), so a reader
sees the old state or the new one, never half of one — and it lives outside the
database, so it can be read while the import's own transaction is still open, on SQLite
and PostgreSQL alike. Every worker process of the server sees the same files.

The import code reports progress without knowing about jobs: ``xlsx`` calls
``progress.report(phase, done, total)``, which writes to the job of the current thread
(a context variable), at most a few times a second. With ``LOUPAN_IMPORT_BACKGROUND`` off (the test
suite's default) a job runs in the request that starts it: the same code path, without
the thread.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import threading
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import progress, xlsx
from .errors import DomainError

logger = logging.getLogger(__name__)

RUNNING, DONE, FAILED = "running", "done", "failed"
READ, CHECK, WRITE = progress.READ, progress.CHECK, progress.WRITE
# A job files are removed after this long.
STALE_AFTER_SECONDS = 24 * 60 * 60
# Progress is written at most this often (seconds), and on every phase change.
REPORT_EVERY = 0.25


def background() -> bool:
    return bool(getattr(settings, "LOUPAN_IMPORT_BACKGROUND", True))


def lost_after() -> int:
    """A running job that has not reported for this long died with its process."""
    return int(getattr(settings, "LOUPAN_IMPORT_LOST_AFTER", 300))


def folder() -> Path:
    return Path(settings.VAR_DIR) / "import-jobs"


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(data, out, ensure_ascii=False)
    os.replace(tmp, path)


class Job:
    """One check or commit of one waiting upload (``token``), by ``user`` in ``project``."""

    def __init__(self, state: dict):
        self.state = state
        self._last_write = 0.0

    # --- files

    @property
    def id(self) -> str:
        return self.state["id"]

    @staticmethod
    def path_of(job_id, suffix: str = "json") -> Path:
        return folder() / f"{uuid.UUID(str(job_id))}.{suffix}"

    @classmethod
    def create(cls, *, kind: str, token, project, user, pages: str) -> Job:
        folder().mkdir(parents=True, exist_ok=True)
        sweep_stale()
        now = time.time()
        job = cls(
            {
                "id": str(uuid.uuid4()),
                "kind": kind,  # "check" or "commit"
                "token": str(token),
                "project": project.pk,
                "user": user.pk,
                "pages": pages,
                "status": RUNNING,
                "phase": READ,
                "done": 0,
                "total": 0,
                "started": now,
                "updated": now,
                "error": "",
            }
        )
        job.save()
        return job

    @classmethod
    def load(cls, job_id) -> Job | None:
        try:
            with open(cls.path_of(job_id), encoding="utf-8") as fh:
                return cls(json.load(fh))
        except (OSError, ValueError):
            return None

    def save(self) -> None:
        self.state["updated"] = time.time()
        _write_json(self.path_of(self.id), self.state)
        self._last_write = time.monotonic()

    # --- what readers see

    @property
    def status(self) -> str:
        if self.state["status"] == RUNNING and time.time() - self.state["updated"] > lost_after():
            return FAILED
        return self.state["status"]

    @property
    def error(self) -> str:
        if self.status == FAILED and self.state["status"] == RUNNING:
            return _("导入已中断（服务器可能已重启），未写入任何数据，请重新上传。")
        return self.state["error"]

    def belongs_to(self, user, project) -> bool:
        return self.state["user"] == user.pk and self.state["project"] == project.pk

    def outcome(self):
        """What the job ended with: ``("result", ImportResult)``, ``("invalid",
        ImportResult, message)``, ``("file", None, message)``, ``("forbidden", None,
        message)`` or ``("refused", None, message)``; None while it runs or when it failed."""
        if self.state["status"] != DONE:
            return None
        try:
            with open(self.path_of(self.id, "pickle"), "rb") as fh:
                return pickle.load(fh)  # noqa: S301 - our own file under VAR_DIR
        except (OSError, pickle.PickleError, EOFError):
            return None

    def as_progress(self) -> dict:
        done, total = self.state["done"], self.state["total"]
        return {
            "id": self.id,
            "kind": self.state["kind"],
            "status": self.status,
            "phase": self.state["phase"],
            "phase_label": str(PHASES.get(self.state["phase"], "")),
            "done": done,
            "total": total,
            "percent": percent(self.state["phase"], done, total),
            "error": self.error,
            "elapsed": round(self.state["updated"] - self.state["started"], 1),
        }

    # --- what the worker does

    def report(self, phase: str, done: int, total: int) -> None:
        changed = phase != self.state["phase"]
        self.state.update(phase=phase, done=done, total=total)
        if changed or time.monotonic() - self._last_write >= REPORT_EVERY:
            self.save()

    def finish(self, outcome) -> None:
        with open(self.path_of(self.id, "pickle.tmp"), "wb") as out:
            pickle.dump(outcome, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(self.path_of(self.id, "pickle.tmp"), self.path_of(self.id, "pickle"))
        self.state.update(status=DONE, phase="", done=self.state["total"])
        self.save()

    def fail(self, message: str) -> None:
        self.state.update(status=FAILED, error=message)
        self.save()


PHASES = {
    READ: gettext_lazy("读取文件"),
    CHECK: gettext_lazy("检查数据"),
    WRITE: gettext_lazy("写入数据"),
}
# How much of the bar each phase fills (reading the xlsx is the slow half).
_SPANS = {READ: (0, 40), CHECK: (40, 80), WRITE: (80, 100)}


def percent(phase: str, done: int, total: int) -> int:
    start, end = _SPANS.get(phase, (100, 100))
    share = min(1.0, done / total) if total else 0.0
    return int(start + (end - start) * share)


def sweep_stale() -> None:
    """Best effort: drop the files of jobs older than a day."""
    limit = time.time() - STALE_AFTER_SECONDS
    for path in folder().glob("*"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
        except OSError:
            pass


def _run(job: Job, work, language: str) -> None:
    token = progress.listener.set(job)
    try:
        with translation.override(language):
            # The import's own refusals (problems found at commit, a file it cannot
            # read, a conflict): nothing was written; the page explains them.
            try:
                outcome = ("result", work(), "")
            except xlsx.ImportInvalid as exc:
                outcome = ("invalid", exc.result, str(exc.message))
            except xlsx.ImportFileError as exc:
                outcome = ("file", None, str(exc.message))
            except DomainError as exc:
                kind = "forbidden" if exc.status == 403 else "refused"
                outcome = (kind, None, str(exc.message))
            except Exception:
                logger.exception("import job %s failed", job.id)
                job.fail(
                    _("导入时发生内部错误，未写入任何数据。请重试；如仍失败请联系系统管理员。")
                )
                return
            job.finish(outcome)
    finally:
        progress.listener.reset(token)


def start(job: Job, work) -> Job:
    """Run ``work()`` (an import's read or commit, all or none) as the job: in a thread
    of this process, or right here when background imports are off."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    if not background():
        _run(job, work, language)
        return job

    def target():
        try:
            _run(job, work, language)
        finally:
            connections.close_all()  # the thread's own connection

    threading.Thread(target=target, name=f"import-{job.id[:8]}", daemon=True).start()
    return job
