"""The registry of sign-off kinds. An app registers what its supervisor signs off every
day in its ``AppConfig.ready()`` (customers: the morning check 晨检 of a day's calls and
visits; deals: the re-check 主管复审 of a day's reservations, subscriptions and
contracts); the engine (``signoffs.services``) knows nothing else of them.

A kind says
* ``perm``: the permission that signs it (the supervisor's);
* ``days_after`` and ``at``: its default deadline, that many days after the day at that
  local time (a project changes it: ``SignOffDeadline``);
* ``figures(project, day) -> dict``: what the sign-off freezes (the counts checked),
  and ``figure_labels() -> dict`` naming each key;
* ``active_days(project, start, end) -> set[date]``: the days that had something to
  check (a day without any is not missing its sign-off);
* ``url(project, day) -> str``: the page where the day is checked and signed.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    code: str
    label: str
    perm: str
    days_after: int
    at: datetime.time
    figures: Callable
    active_days: Callable
    url: Callable
    figure_labels: Callable | None = None


_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> None:
    _KINDS[kind.code] = kind


def kind_of(code: str) -> Kind | None:
    return _KINDS.get(code)


def kinds() -> list[Kind]:
    return list(_KINDS.values())


def choices() -> list[tuple[str, str]]:
    return [(k.code, k.label) for k in _KINDS.values()]
