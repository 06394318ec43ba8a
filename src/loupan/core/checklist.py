"""A documents checklist 资料清单 kept as JSON on its object (a mortgage's, a title
certificate's): each document's name, whether it is in, and the day it came. One place
for ticking and for what is missing, so every checklist behaves the same."""

from django.utils import timezone
from django.utils.translation import gettext as _

from .errors import invalid


def new(names) -> list[dict]:
    """A checklist of ``names``, nothing in yet."""
    return [{"name": n, "done": False, "on": None} for n in names]


def tick(documents, name: str, done: bool) -> list[dict] | None:
    """``documents`` with ``name`` ticked as in today (or unticked); None when it is
    already so; a refusal naming the field when the list has no such document."""
    name = (name or "").strip()
    documents = [dict(d) for d in documents]
    found = next((d for d in documents if d.get("name") == name), None)
    if found is None:
        raise invalid("name", _("资料清单中没有「%(n)s」") % {"n": name[:30]})
    done = bool(done)
    if bool(found.get("done")) == done:
        return None
    found["done"] = done
    found["on"] = timezone.localdate().isoformat() if done else None
    return documents


def missing(documents) -> list[str]:
    """The names of the documents not in yet."""
    return [d["name"] for d in documents if not d.get("done")]
