"""Pages of the sign-offs: signing a day off (the button on each checking page posts
here) and the manager's list of late and missing sign-offs with the deadlines."""

from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from loupan.accounts import access
from loupan.core.errors import DomainError
from loupan.core.pages import may_open, project_page, run_action

from . import services
from .kinds import choices, kinds


def _back(request, fallback: str):
    nxt = request.POST.get("next") or ""
    if nxt.startswith("/") and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(nxt)
    return redirect(fallback)


@require_POST
@project_page()
def sign(request, project):
    """Sign a day off (or correct a signed one), then back to the checking page."""
    post = request.POST
    run_action(
        request,
        lambda: services.signoff_sign(
            actor=request.user,
            project=project,
            kind=post.get("kind"),
            day=post.get("day"),
            note=post.get("note", ""),
            correction=post.get("correction") == "1",
        ),
        success=lambda e: (
            _("已提交更正。") if e.is_correction else _("已签核 %(day)s。") % {"day": e.day}
        ),
    )
    return _back(request, f"/projects/{project.pk}/signoffs/")


@require_GET
@project_page("signoff.view")
def overview(request, project):
    """主管签核: each day of the period per kind, on time, late, missing or open; the
    manager filters by period, kind and status."""
    params = request.GET
    error = None
    try:
        start, end = services.period(params.get("start"), params.get("end"))
        kind = params.get("kind") or None
        if kind:
            services.the_kind(kind)
        status = params.get("status") or None
        if status and status not in services.status_labels():
            status = None
        rows = services.overview(project, start, end, kind=kind, status=status)
    except DomainError as exc:
        error = exc.message
        start = end = timezone.localdate()
        kind = status = None
        rows = []
    deadlines = [{"kind": k, "rule": services.deadline_rule(project, k)} for k in kinds()]
    # each day links to its checking page where that page lets the viewer in
    opens = {}
    for row in rows:
        path = row.url.split("?", 1)[0]
        if path not in opens:
            opens[path] = may_open(request.user, path, project)
        row.link = row.url if opens[path] else ""
    return render(
        request,
        "signoffs/overview.html",
        {
            "project": project,
            "rows": rows,
            "start": start,
            "end": end,
            "kind": kind,
            "status": status,
            "error": error,
            "kinds": choices(),
            "statuses": list(services.status_labels().items()),
            "late": sum(1 for r in rows if r.status in ("late", "missing")),
            "deadlines": deadlines,
            "can_configure": access.has_perm(request.user, "signoff.configure", project),
        },
    )


@require_POST
@project_page("signoff.view", act="signoff.configure")
def deadline(request, project):
    """Set a kind's deadline for the project."""
    run_action(
        request,
        lambda: services.signoff_deadline_set(
            actor=request.user,
            project=project,
            kind=request.POST.get("kind"),
            days_after=request.POST.get("days_after"),
            at=request.POST.get("at"),
        ),
        success=_("已保存签核期限。"),
    )
    return redirect("signoffs:overview", project.pk)
