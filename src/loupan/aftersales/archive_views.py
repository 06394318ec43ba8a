"""The after-sales home 售后 (the owner search) and the owner archive 业主档案. Customer
service, the leads and the auditor see every owner; a consultant their own buyers."""

from django.shortcuts import get_object_or_404, render

from loupan.core.pages import project_page
from loupan.core.views import paginate, query_without_page
from loupan.customers import selectors as customer_selectors
from loupan.payments import selectors as payment_selectors

from . import archive, rules

aftersales_page = project_page(*rules.SEE)


@aftersales_page
def owner_list(request, project):
    """售后: search an owner by name, initials, phone tail, unit or contract number."""
    text = request.GET.get("q", "")
    page = paginate(request, archive.owners(request.user, project, text), 50)
    return render(
        request,
        "aftersales/owner_list.html",
        {"project": project, "page": page, "q": text, "query": query_without_page(request)},
    )


@aftersales_page
def owner_detail(request, project, pk):
    """One owner and unit: the deal, the money, and everything after the sale."""
    deal = get_object_or_404(
        rules.deals_for(request.user, project).select_related(
            "unit__building", "customer", "consultant"
        ),
        pk=pk,
    )
    buyers = [b.customer for b in deal.buyers.select_related("customer")] or [deal.customer]
    money = payment_selectors.with_money(
        payment_selectors.deals_for_money(request.user, project).filter(pk=deal.pk)
    ).first()
    return render(
        request,
        "aftersales/owner_detail.html",
        {
            "project": project,
            "deal": deal,
            "buyers": [(c, customer_selectors.contact(request.user, c)) for c in buyers],
            "money": money,
            "events": archive.timeline(deal),
            "can_manage": rules.can_manage(request.user, project)[0],
        },
    )
