"""待我审批: one inbox for every kind of request (discounts, special clauses, changes after
subscription, price lists …), each shown by its kind's card; deciding and withdrawing
go through the engine (``approvals.services``)."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loupan.core.masking import can_see_floor_price
from loupan.core.pages import project_page, run_action

from . import services
from .forms import DecideForm
from .models import ApprovalRequest, ApprovalStatus
from .selectors import STEPS, labelled, with_subjects


@project_page(when=services.may_use_inbox)
def inbox(request, project):
    """The requests waiting at a level the viewer holds, of every kind, the other things
    waiting for the viewer's decision (each with the page where it is decided), and the
    viewer's own requests with how far each has come."""
    pending = labelled(
        list(services.pending_for(request.user, project).prefetch_related(with_subjects(), STEPS))
    )
    mine = labelled(
        list(
            ApprovalRequest.objects.filter(project=project, requested_by=request.user)
            .select_related("requested_by", "decided_by")
            .prefetch_related(with_subjects(), STEPS)
            .order_by("-requested_at", "-pk")[:50]
        )
    )
    return render(
        request,
        "approvals/inbox.html",
        {
            "project": project,
            "pending": pending,
            "elsewhere": [
                (waiting, n, reverse(waiting.url_name, args=[project.pk]))
                for waiting, n in services.waiting_elsewhere(request.user, project)
            ],
            "mine": mine,
            "show_floor_price": can_see_floor_price(request.user, project),
            "form": DecideForm(),
        },
    )


@project_page(when=services.may_use_inbox)
def count(request, project):
    """The navigation's badge (loaded by htmx after the page, so it costs no page a
    query): how many requests and other things wait for the viewer's decision."""
    waiting = services.waiting_count(request.user, project)
    if not waiting:
        return HttpResponse("")
    return HttpResponse(f'<span class="badge rounded-pill text-bg-danger">{waiting}</span>')


def _request(request, project, pk) -> ApprovalRequest:
    return get_object_or_404(
        ApprovalRequest.objects.restrict(request.user, "view").filter(project=project), pk=pk
    )


def _done(req) -> str:
    if req.status == ApprovalStatus.PENDING:
        return _("已同意，转%(level)s审批。") % {"level": req.name_of_level(req.level)}
    return _("已批准。") if req.status == ApprovalStatus.APPROVED else _("已驳回。")


@require_POST
@project_page()
def decide(request, project, pk):
    """Approve (forwarding up the chain when above one's level) or reject with a reason;
    back to where the decision was taken (the inbox or the object's page)."""
    req = _request(request, project, pk)
    form = DecideForm(request.POST)
    form.is_valid()
    run_action(
        request,
        lambda: services.approval_decide(
            actor=request.user,
            request=req,
            approve=request.POST.get("decision") == "approve",
            reason=form.cleaned_data.get("reason", ""),
        ),
        success=_done,
    )
    nxt = request.POST.get("next") or ""
    if nxt.startswith("/") and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(nxt)
    return redirect("approvals:inbox", project.pk)


@require_POST
@project_page()
def withdraw(request, project, pk):
    """The requester (or a lead) takes back a request still waiting."""
    req = _request(request, project, pk)
    run_action(
        request,
        lambda: services.approval_withdraw(actor=request.user, request=req),
        success=_("已撤回申请。"),
    )
    return redirect(req.subject)
