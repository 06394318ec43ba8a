"""The registry of approval kinds. Each app registers the kinds it asks approval for in
its ``AppConfig.ready()`` (deals: discount, special clause, exchange, rename,
cancellation; inventory: price lists; payments next: red reversals and deferred
payments); the engine (``approvals.services``) knows nothing else of them.

A kind says
* what its **levels** are, lowest first (the role chain of ``LOUPAN_APPROVAL_CHAIN`` for
  a deal, the two price-list approval permissions for a price list), who **holds** a
  level and how a level is named;
* which permissions make someone a decider of the kind (``decide_perms``: deciders may
  also withdraw a request and see the inbox) and which permission prefix shows its
  requests (``view_perm``: ``<prefix>.view``, or ``<prefix>.view_own`` for one's own);
* whether a higher level may decide in place of a lower one (``higher_may_decide``:
  price lists) or never over a superior's head (a deal's discount, seed 002 万科 1(5));
* whether a lower level may reject a request waiting above it (``lower_may_reject``:
  the manager stops a price list that needs the director, but never approves it);
* whether the requester may decide their own request when they hold its final level
  (``self_decide``: a manager's own cancellation; never a price list);
* ``apply(actor=, request=, approved=)``: what a decided (or withdrawn) request does,
  run inside the deciding transaction (``request.status`` tells a rejection from a
  withdrawal);
* ``explain(request)`` (optional): why a request waits for a higher level than the
  caller's, in the kind's words (a price change beyond the manager's limit);
* ``card_template``: how the inbox 待我审批 shows a request of the kind (the template
  gets ``r``, the request, and ``d``, its subject), and ``subjects()``: the queryset
  that loads the subjects with what the card shows (one query per kind's model).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Q

from loupan.accounts import access
from loupan.accounts.role_table import role_label


@dataclass(frozen=True)
class Kind:
    code: str
    label: str
    apply: Callable
    view_perm: str
    decide_perms: tuple[str, ...]
    levels: Callable
    holds: Callable | None = None
    level_label: Callable = field(default=role_label)
    higher_may_decide: bool = False
    lower_may_reject: bool = False
    self_decide: bool = True
    explain: Callable | None = None
    card_template: str = ""
    subjects: Callable | None = None

    def held_levels(self, user, project) -> list[str]:
        """The levels of this kind at which ``user`` may decide in ``project``."""
        if not any(access.has_perm(user, perm, project) for perm in self.decide_perms):
            return []
        levels = self.levels(project)
        holds = self.holds or _holds_role
        held = [level for level in levels if holds(user, project, level)]
        if self.higher_may_decide and held:
            top = max(levels.index(level) for level in held)
            return levels[: top + 1]
        return held

    def level_of(self, user, project) -> int:
        """The user's highest position among the levels (-1: none)."""
        levels = self.levels(project)
        holds = self.holds or _holds_role
        return max((i for i, level in enumerate(levels) if holds(user, project, level)), default=-1)


def _holds_role(user, project, level: str) -> bool:
    """A level of the role chain is held by whoever has that role on the project."""
    return level in access.role_codes(user, project)


def holds_perm(user, project, level: str) -> bool:
    """For kinds whose levels are permission codes (price lists)."""
    return access.has_perm(user, level, project)


_KINDS: dict[str, "Kind"] = {}


def register(kind: "Kind") -> None:
    _KINDS[kind.code] = kind


def kind_of(code: str, missing_ok: bool = False) -> "Kind | None":
    if missing_ok:
        return _KINDS.get(code)
    return _KINDS[code]


def kinds() -> list["Kind"]:
    return list(_KINDS.values())


def choices() -> list[tuple[str, str]]:
    return [(k.code, k.label) for k in _KINDS.values()]


def may_see_kind(kind: "Kind", user, project) -> bool:
    """Whether ``user`` sees requests of ``kind`` in ``project`` at all (all of them, or
    their own), or decides them."""
    return any(
        access.has_perm(user, code, project)
        for code in (f"{kind.view_perm}.view", f"{kind.view_perm}.view_own", *kind.decide_perms)
    )


@dataclass(frozen=True)
class Waiting:
    """Something else that waits for a decision and is not an approval request (a 撞单申请
    for the supervisor, a day's sheet for the second person): it counts in 待我审批's
    badge and is listed in the inbox with a link to the page where it is decided.
    ``may_decide(user, project)`` is the same predicate that page and its service ask;
    ``count(user, project)`` how many wait for ``user`` (asked only when they may);
    ``url_name`` takes the project's id."""

    code: str
    label: str
    may_decide: Callable
    count: Callable
    url_name: str
    order: int = 100


_WAITING: dict[str, Waiting] = {}


def register_waiting(waiting: Waiting) -> None:
    _WAITING[waiting.code] = waiting


def waiting_kinds() -> list[Waiting]:
    return sorted(_WAITING.values(), key=lambda w: (w.order, w.code))


def visibility_q(user, action: str = "view") -> Q:
    """Requests of a kind are seen in the projects where the user may ``<view_perm>.view``
    them, and one's own where ``<view_perm>.view_own`` is granted."""
    q = Q(pk__in=[])
    by_perm: dict[str, list[str]] = {}
    for kind in _KINDS.values():
        by_perm.setdefault(kind.view_perm, []).append(kind.code)
    for prefix, codes in by_perm.items():
        q |= Q(kind__in=codes, project__in=access.projects_with(user, f"{prefix}.{action}"))
        own = access.projects_with(user, f"{prefix}.{action}_own")
        if own:
            q |= Q(kind__in=codes, project__in=own, requested_by=user)
    return q
