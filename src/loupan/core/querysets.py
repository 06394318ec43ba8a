"""Querysets that restrict themselves to what a user may see (NetBox's RestrictedQuerySet).

A business model declares how it is scoped:

* ``scope_project_field``: the path from the model to its Project (``"id"`` for Project);
* ``scope_perm``: the permission prefix, e.g. ``"customer"``; viewing needs
  ``customer.view`` in the object's project;
* ``scope_owner_field`` (optional): the path to the owning user; a role holding only
  ``customer.view_own`` sees the objects it owns (a consultant's own customers);
* ``restrict_q(user, action)`` (optional) for special rules, with ``restrict_distinct =
  False`` when the rule does not cross a multi-valued relation.

Every view, viewset and export starts from ``Model.objects.restrict(user, "view")``; a
forbidden object is then simply not found (404), which leaks no ids.
"""

from django.db import models
from django.db.models import Q, Subquery
from django.db.models.functions import Coalesce

from .ports import access


class RestrictedQuerySet(models.QuerySet):
    def restrict(self, user, action: str = "view"):
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        model = self.model
        custom = getattr(model, "restrict_q", None)
        if custom is not None:
            # A rule across a multi-valued relation (a user's memberships) needs DISTINCT;
            # a model whose rule stays on its own columns says so, and keeps ORDER BY …
            # LIMIT a cheap top-N (a DISTINCT sorts every matching row first).
            restricted = self.filter(custom(user, action))
            return (
                restricted.distinct() if getattr(model, "restrict_distinct", True) else restricted
            )
        prefix = model.scope_perm
        project_field = model.scope_project_field
        project_lookup = f"{project_field}__in" if project_field != "id" else "id__in"
        q = Q(**{project_lookup: access.projects_with(user, f"{prefix}.{action}")})
        owner_field = getattr(model, "scope_owner_field", None)
        if owner_field:
            own_projects = access.projects_with(user, f"{prefix}.{action}_own")
            if own_projects:
                q |= Q(**{project_lookup: own_projects, owner_field: user})
        return self.filter(q)


class RestrictedManager(models.Manager.from_queryset(RestrictedQuerySet)):
    pass


def per_row(queryset, field: str, aggregate, default=None):
    """A correlated subquery: ``aggregate`` over the rows of ``queryset`` that belong to
    the outer row (``queryset`` filtered on an ``OuterRef``), grouped by ``field``, the
    column pointing at it; ``default`` (e.g. 0 for a count) where there are none. One
    per row of a page, after its ORDER BY … LIMIT, where a JOIN + GROUP BY would count
    every row of the list first."""
    value = Subquery(queryset.order_by().values(field).annotate(v=aggregate).values("v")[:1])
    return value if default is None else Coalesce(value, default)
