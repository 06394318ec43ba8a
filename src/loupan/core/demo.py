"""The demo office (`loupan demo`): each app registers the steps that build its part in
its ``AppConfig.ready()``; this module only keeps them in order and runs them, in one
transaction.

A step is ``build(context)``: it reads what earlier steps put in the shared ``context``
(``company``, ``main`` and ``second`` projects, ``users`` by username) and returns the
objects it adds there, or nothing. Steps are idempotent: objects are found by their
natural keys, or a part already built is left alone, so running the demo twice changes
nothing. A step may also ``report()`` a text the command prints after the build (the
demo accounts).
"""

import datetime
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone


@dataclass(frozen=True)
class Step:
    name: str
    build: Callable[[dict], dict | None]
    order: int
    report: Callable[[], str] | None = None
    exports: dict = field(default_factory=dict)
    days_ago: int = 0


_STEPS: dict[str, Step] = {}


def register(
    name: str,
    build: Callable[[dict], dict | None],
    *,
    order: int,
    report: Callable[[], str] | None = None,
    exports: dict | None = None,
    days_ago: int = 0,
) -> None:
    """Add (or replace) the step ``name``. ``exports`` are names that stay importable
    from this module for older callers (``from loupan.core.demo import DEMO_USERNAMES``);
    new code imports them from the app's own ``demo`` module. ``days_ago``: the step
    runs that many days back on the demo's timeline (``at``), e.g. the office set up and
    its first units released before the customers came."""
    _STEPS[name] = Step(
        name=name,
        build=build,
        order=order,
        report=report,
        exports=exports or {},
        days_ago=days_ago,
    )


def steps() -> list[Step]:
    return sorted(_STEPS.values(), key=lambda step: (step.order, step.name))


@transaction.atomic
def build_demo(stdout=None) -> dict:
    """Run every registered step in order; the shared context (``company``, ``main``,
    ``second``, ``users``). ``stdout``, when given, gets one line per step."""
    context: dict = {}
    now = timezone.now()
    for step in steps():
        if stdout is not None:
            stdout.write(f"演示数据 demo: {step.name}\n")
        when = at(now - datetime.timedelta(days=step.days_ago)) if step.days_ago else nullcontext()
        with when:
            context.update(step.build(context) or {})
    return context


@contextmanager
def at(moment):
    """Run the block as if it were ``moment`` (a past time on the demo's timeline): the
    services stamp what they write, their deadlines and their audit entries with it, so
    the demo's dates obey the rules they would obey in an office (time-machine moves
    the process's clock; the clock goes on ticking from there)."""
    import time_machine

    with time_machine.travel(moment, tick=True):
        yield


def report() -> str:
    """What the steps say after the build (the demo accounts table), one after another."""
    return "\n".join(step.report() for step in steps() if step.report is not None)


def __getattr__(name: str):
    for step in _STEPS.values():
        if name in step.exports:
            return step.exports[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
