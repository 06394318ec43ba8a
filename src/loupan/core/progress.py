"""Progress of long work (an import's read, check and write), reported by the code that
does it without knowing who listens: ``report(phase, done, total)`` goes to the listener
of the current thread (``core.import_jobs`` sets one for a job), or nowhere."""

import contextvars

READ, CHECK, WRITE = "read", "check", "write"

listener: contextvars.ContextVar = contextvars.ContextVar("progress_listener", default=None)


def report(phase: str, done: int, total: int) -> None:
    target = listener.get()
    if target is not None:
        target.report(phase, done, total)
