"""Pages of the handover 离职交接 (seed 002 §4): the list of past handovers, the form, the
preview (counts per group and who gets what) and its confirmation, one handover's
transfers. Thin: the rules are in ``handover``; everything needs ``customer.assign``."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from loupan.core.errors import DomainError
from loupan.core.pages import project_page
from loupan.core.views import form_error, paginate

from . import handover as svc
from .forms import HandoverForm


def _expected(request) -> dict | None:
    """The preview's counts, carried by the confirmation."""
    try:
        return {g: int(request.POST[f"expected_{g}"]) for g in svc.GROUPS}
    except (KeyError, ValueError):
        return None


@project_page(act="customer.assign")
def handover_list(request, project):
    """离职交接记录: past handovers of the project."""
    page = paginate(request, svc.handover_list(user=request.user, project=project), 50)
    return render(request, "customers/handover_list.html", {"project": project, "page": page})


@project_page(act="customer.assign")
def handover_new(request, project):
    """The form; ``step=preview`` shows who gets what, ``step=confirm`` executes."""
    step = request.POST.get("step", "") if request.method == "POST" else ""
    if request.method == "POST":
        form = HandoverForm(request.POST, project=project, actor=request.user)
    else:
        form = HandoverForm(
            project=project,
            actor=request.user,
            initial={"from_user": request.GET.get("from_user") or None},
        )
    if step in ("preview", "confirm") and form.is_valid():
        kwargs = {"actor": request.user, "project": project, **form.service_arguments()}
        try:
            if step == "preview":
                plan = svc.handover_preview(**kwargs)
                return render(
                    request,
                    "customers/handover_preview.html",
                    {"project": project, "form": form, "plan": plan},
                )
            handover = svc.handover_execute(**kwargs, expected=_expected(request))
        except DomainError as exc:
            # The actor holds customer.assign (checked above): a refusal here is about
            # this handover (e.g. deactivating without user.manage), shown on the form.
            form_error(form, exc)
        else:
            messages.success(
                request,
                _("已完成 %(name)s 的离职交接：共 %(n)s 条。")
                % {"name": handover.from_user.get_full_name(), "n": handover.total},
            )
            return redirect(handover)
    return render(request, "customers/handover_form.html", {"project": project, "form": form})


@project_page(act="customer.assign")
def handover_detail(request, project, pk):
    """One handover: the counts, who got how many, and every transfer."""
    handover = get_object_or_404(svc.handover_list(user=request.user, project=project), pk=pk)
    return render(
        request,
        "customers/handover_detail.html",
        {
            "project": project,
            "object": handover,
            "groups": [(svc.GROUP_LABELS[g], getattr(handover, f"{g}_count")) for g in svc.GROUPS],
            "transfers": svc.handover_transfers(handover),
        },
    )
