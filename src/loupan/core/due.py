"""What runs by itself when due (``loupan run-due``: cron every minute, or ``--loop``).

Each app registers its jobs in its ``AppConfig.ready()`` with an order (reservations
that expire free their units before holds and release plans run); this module only keeps
them in order and runs them. Pages and the API never run them: a GET writes nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    """``run(now=…)`` returns ``{key: count}``; ``labels`` names each key in Chinese for
    the command's report."""

    name: str
    run: Callable[..., dict]
    order: int
    labels: dict


_JOBS: dict[str, Job] = {}


def register(name: str, run: Callable[..., dict], *, order: int, labels: dict) -> None:
    _JOBS[name] = Job(name=name, run=run, order=order, labels=labels)


def jobs() -> list[Job]:
    return sorted(_JOBS.values(), key=lambda job: (job.order, job.name))


def run_due(*, now=None) -> dict:
    """Run every registered job in order; the counts of all of them."""
    done: dict = {}
    for job in jobs():
        done.update(job.run(now=now))
    return done


def report(done: dict) -> str:
    """``done`` in words, as the command prints it (保留单到期 2，…)."""
    labels = {key: label for job in jobs() for key, label in job.labels.items()}
    return "，".join(f"{labels.get(key, key)} {count}" for key, count in done.items())
