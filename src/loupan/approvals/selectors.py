"""Reads of approval requests for pages: each kind's subjects loaded with what its card
shows, and the level names in the kind's words."""

from django.contrib.contenttypes.prefetch import GenericPrefetch
from django.db.models import Prefetch

from .kinds import kind_of, kinds
from .models import ApprovalStep

STEPS = Prefetch("steps", queryset=ApprovalStep.objects.select_related("actor"))


def with_subjects():
    """Each kind's subjects with what its card shows: one query per subject model."""
    querysets = {}
    for kind in kinds():
        if kind.subjects is not None:
            qs = kind.subjects()
            querysets.setdefault(qs.model, qs)
    return GenericPrefetch("subject", list(querysets.values()))


def labelled(requests):
    """The level names of each request and step, in its kind's words; its card."""
    for req in requests:
        kind = kind_of(req.kind, missing_ok=True)
        req.card_template = kind.card_template if kind else ""
        req.level_name = req.name_of_level(req.level)
        req.final_level_name = req.name_of_level(req.final_level)
        for step in req.steps.all():
            step.level_name = req.name_of_level(step.level)
    return requests
