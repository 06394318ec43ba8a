"""What every deal page shares: who sees the deals of a project (``deal.view``: every
deal, ``deal.view_own``: one's own; anyone else gets a 404), and the deals they see,
from ``Deal.objects.restrict`` so that another consultant's deal is a 404 too."""

from django.shortcuts import get_object_or_404

from loupan.core.pages import project_page

from ..models import Deal

SEE = ("deal.view", "deal.view_own")
deal_page = project_page(*SEE)


def deals_of(request, project):
    """The project's deals the user may see (a consultant: their own)."""
    return Deal.objects.restrict(request.user, "view").filter(project=project)


def deal_of(request, project, pk) -> Deal:
    """One deal the user may see, with the one-to-one ends its pages show."""
    return get_object_or_404(
        deals_of(request, project).select_related(
            "project__company",
            "unit__building",
            "unit__layout",
            "customer",
            "consultant",
            "created_by",
            "deposit_confirmed_by",
            "change_origin__deal",
            "exchanged_to__unit",
            "cancellation__refund_paid_by",
        ),
        pk=pk,
    )
