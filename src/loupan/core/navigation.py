"""The navigation: one registry of the pages a menu links, so that a page a role may
use is always reachable and a link a role may not use is never shown.

Each app declares its own pages in its ``AppConfig.ready()``: the URL name, the label,
the menu group and the order (``register``), and the groups it opens (``group``). An
entry names no permission: whether it is shown is asked of the page's own guard
(``core.pages.guard_of``), the one ``project_page`` / ``site_page`` /
``ProjectListView`` runs when the page is opened, so the menu and the page can never
disagree. An entry may carry a badge: the URL of a fragment that htmx loads after the
page (待我审批's count).

``menu(user, project)`` is what the navigation bar draws: the top-level links and the
groups (dropdowns) in their order, each with the links the user may open, empty groups
left out. Core names no app: groups and entries come from the apps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from django.core.exceptions import ImproperlyConfigured
from django.urls import resolve, reverse

from .pages import Guard, guard_of


@dataclass(frozen=True)
class Group:
    code: str
    label: str
    order: int
    dom_id: str = ""


@dataclass(frozen=True)
class Entry:
    """A page the menu links: ``url_name`` takes the project's id when ``in_project``
    (the current project's), nothing otherwise; ``group`` is a group's code, or empty
    for a link of its own in the bar."""

    url_name: str
    label: str
    order: int
    group: str = ""
    in_project: bool = True
    dom_id: str = ""
    badge: str = ""  # a URL name (same arguments) whose answer is the badge


@dataclass
class Link:
    entry: Entry
    url: str
    badge_url: str = ""

    @property
    def label(self) -> str:
        return self.entry.label

    @property
    def dom_id(self) -> str:
        return self.entry.dom_id


@dataclass
class Item:
    """One place in the bar: a link of its own (``link``) or a group's dropdown."""

    order: int
    link: Link | None = None
    group: Group | None = None
    links: list[Link] = field(default_factory=list)


_GROUPS: dict[str, Group] = {}
_ENTRIES: dict[str, Entry] = {}


def group(code: str, label: str, *, order: int, dom_id: str = "") -> None:
    _GROUPS[code] = Group(code=code, label=label, order=order, dom_id=dom_id)


def register(
    url_name: str,
    label: str,
    *,
    order: int,
    group: str = "",
    in_project: bool = True,
    dom_id: str = "",
    badge: str = "",
) -> None:
    _ENTRIES[url_name] = Entry(
        url_name=url_name,
        label=label,
        order=order,
        group=group,
        in_project=in_project,
        dom_id=dom_id,
        badge=badge,
    )


def entries() -> list[Entry]:
    return sorted(
        _ENTRIES.values(), key=lambda e: (_GROUPS[e.group].order if e.group else e.order, e.order)
    )


def groups() -> dict[str, Group]:
    return dict(_GROUPS)


def _args(entry: Entry, project) -> list:
    return [project.pk] if entry.in_project else []


@cache
def guard(url_name: str) -> Guard:
    """The guard of the page ``url_name`` (found through the URLconf, once)."""
    entry = _ENTRIES[url_name]
    url = reverse(url_name, args=[1] if entry.in_project else [])
    found = guard_of(resolve(url).func)
    if found is None:
        raise ImproperlyConfigured(f"{url_name}: a page in the navigation declares its guard")
    return found


def allowed(entry: Entry, user, project) -> bool:
    """Would the page of ``entry`` open for ``user`` (in ``project``)?"""
    if entry.in_project and project is None:
        return False
    return guard(entry.url_name).allows(user, project if entry.in_project else None)


def links(user, project) -> list[Link]:
    """Every registered page ``user`` may open, in menu order."""
    out = []
    for entry in entries():
        if not allowed(entry, user, project):
            continue
        args = _args(entry, project)
        out.append(
            Link(
                entry=entry,
                url=reverse(entry.url_name, args=args),
                badge_url=reverse(entry.badge, args=args) if entry.badge else "",
            )
        )
    return out


def menu(user, project) -> list[Item]:
    """The navigation bar of ``user`` in ``project`` (None: outside any project)."""
    items: list[Item] = []
    by_group: dict[str, Item] = {}
    for link in links(user, project):
        code = link.entry.group
        if not code:
            items.append(Item(order=link.entry.order, link=link))
            continue
        if code not in by_group:
            if code not in _GROUPS:
                raise ImproperlyConfigured(f"{link.entry.url_name}: no navigation group {code}")
            by_group[code] = Item(order=_GROUPS[code].order, group=_GROUPS[code])
            items.append(by_group[code])
        by_group[code].links.append(link)
    items.sort(key=lambda item: item.order)
    return items
