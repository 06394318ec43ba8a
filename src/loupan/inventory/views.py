"""Project pages: the list, a project with its presale permits, create/edit/delete, the
history, and the project switcher. A project the user does not belong to is a 404."""

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loupan.accounts import access
from loupan.accounts.models import Role
from loupan.audit.views import object_history
from loupan.core.pages import project_for, project_page, require, run_action, site_page

from . import selectors, services
from .forms import PermitForm, ProjectForm
from .models import Project


@site_page()
def project_list(request):
    projects = selectors.project_list(user=request.user).prefetch_related("permits")
    return render(
        request,
        "inventory/project_list.html",
        {
            "projects": projects,
            "can_add": access.has_perm(request.user, "project.add"),
        },
    )


@project_page()
def project_detail(request, project):
    perms = access.perms_in(request.user, project)
    return render(
        request,
        "inventory/project_detail.html",
        {
            "object": project,
            "permits": project.permits.all(),
            "perms": perms,
            # Head counts per role, linking to the filtered user list (a project may have
            # hundreds of staff over its life).
            "role_counts": _role_counts(project) if "user.view" in perms else None,
        },
    )


def _role_counts(project):
    names = {r.pk: r.display_name for r in Role.objects.all()}
    rows = (
        project.memberships.filter(user__is_active=True)
        .values("role_id", "role__sort_order")
        .annotate(n=Count("id"))
        .order_by("role__sort_order")
    )
    return [{"role_id": r["role_id"], "role_name": names[r["role_id"]], "n": r["n"]} for r in rows]


@login_required
def project_create(request):
    require(request.user, None, "project.add")  # on any project: a company-wide role
    form = ProjectForm(request.POST or None, companies=selectors.company_list(user=request.user))
    if request.method == "POST" and form.is_valid():
        ok, project = run_action(
            request,
            lambda: services.project_create(actor=request.user, data=form.cleaned_data),
            success=_("项目已创建。"),
            form=form,
        )
        if ok:
            return redirect(project)
    return render(request, "inventory/project_form.html", {"form": form})


@project_page(act="project.change")
def project_edit(request, project):
    form = ProjectForm(
        request.POST or None,
        instance=Project.objects.get(pk=project.pk),
        companies=selectors.company_list(user=request.user),
    )
    if request.method == "POST" and form.is_valid():
        ok, _result = run_action(
            request,
            lambda: services.project_update(
                actor=request.user, project=project, data=form.cleaned_data
            ),
            success=_("已保存。"),
            form=form,
        )
        if ok:
            return redirect(project)
    return render(request, "inventory/project_form.html", {"form": form, "object": project})


@require_POST
@project_page()
def project_delete(request, project):
    ok, _result = run_action(
        request,
        lambda: services.project_delete(actor=request.user, project=project),
        success=_("项目已删除。"),
    )
    if ok:
        return redirect("inventory:project_list")
    return redirect(project)


def may_see_history(user, project) -> bool:
    """A project's 历史 tab: for whoever reads the audit trail or edits the project."""
    return access.has_perm(user, "audit.view", project) or access.has_perm(
        user, "project.change", project
    )


@project_page(when=may_see_history)
def project_history(request, project):
    return object_history(request, project, allowed=True)


@project_page(act="project.change")
def permit_form(request, project, permit_pk=None):
    permit = get_object_or_404(project.permits, pk=permit_pk) if permit_pk else None
    form = PermitForm(request.POST or None, instance=permit)

    def save():
        if permit:
            return services.permit_update(actor=request.user, permit=permit, data=form.cleaned_data)
        return services.permit_create(actor=request.user, project=project, data=form.cleaned_data)

    if request.method == "POST" and form.is_valid():
        ok, _result = run_action(request, save, success=_("预售许可证已保存。"), form=form)
        if ok:
            return redirect(project)
    return render(
        request, "inventory/permit_form.html", {"form": form, "project": project, "object": permit}
    )


@require_POST
@project_page()
def permit_delete(request, project, permit_pk):
    permit = get_object_or_404(project.permits, pk=permit_pk)
    run_action(
        request,
        lambda: services.permit_delete(actor=request.user, permit=permit),
        success=_("预售许可证已删除。"),
    )
    return redirect(project)


@require_POST
@login_required
def switch_project(request):
    """The project switcher: only a project the user belongs to can become current."""
    project = project_for(request.user, request.POST.get("project"))
    request.session["project_id"] = project.pk
    nxt = request.POST.get("next") or "/"
    return redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else "/")
