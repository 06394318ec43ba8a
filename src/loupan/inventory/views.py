from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loupan.accounts import access
from loupan.accounts.models import Role
from loupan.audit.views import object_history
from loupan.core.errors import DomainError
from loupan.core.views import form_error

from . import selectors, services
from .forms import PermitForm, ProjectForm
from .models import Project


def _project(request, pk):
    return get_object_or_404(selectors.project_list(user=request.user), pk=pk)


def _forbidden(code):
    from django.core.exceptions import PermissionDenied

    from loupan.accounts.permissions import label

    return PermissionDenied(_("您没有执行此操作的权限：%(perm)s") % {"perm": label(code)})


@login_required
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


@login_required
def project_detail(request, pk):
    project = _project(request, pk)
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
    if not access.has_perm(request.user, "project.add"):
        raise _forbidden("project.add")
    form = ProjectForm(request.POST or None, companies=selectors.company_list(user=request.user))
    if request.method == "POST" and form.is_valid():
        try:
            project = services.project_create(actor=request.user, data=form.cleaned_data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("项目已创建。"))
            return redirect(project)
    return render(request, "inventory/project_form.html", {"form": form})


@login_required
def project_edit(request, pk):
    project = _project(request, pk)
    if not access.has_perm(request.user, "project.change", project):
        raise _forbidden("project.change")
    form = ProjectForm(
        request.POST or None,
        instance=Project.objects.get(pk=project.pk),
        companies=selectors.company_list(user=request.user),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.project_update(actor=request.user, project=project, data=form.cleaned_data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect(project)
    return render(request, "inventory/project_form.html", {"form": form, "object": project})


@require_POST
@login_required
def project_delete(request, pk):
    project = _project(request, pk)
    try:
        services.project_delete(actor=request.user, project=project)
    except DomainError as exc:
        if exc.status == 403:
            raise _forbidden("project.delete") from exc
        messages.error(request, exc.message)
        return redirect(project)
    messages.success(request, _("项目已删除。"))
    return redirect("inventory:project_list")


@login_required
def project_history(request, pk):
    project = _project(request, pk)
    allowed = access.has_perm(request.user, "audit.view", project) or access.has_perm(
        request.user, "project.change", project
    )
    return object_history(request, project, allowed=allowed)


@login_required
def permit_form(request, pk, permit_pk=None):
    project = _project(request, pk)
    if not access.has_perm(request.user, "project.change", project):
        raise _forbidden("project.change")
    permit = get_object_or_404(project.permits, pk=permit_pk) if permit_pk else None
    form = PermitForm(request.POST or None, instance=permit)
    if request.method == "POST" and form.is_valid():
        try:
            if permit:
                services.permit_update(actor=request.user, permit=permit, data=form.cleaned_data)
            else:
                services.permit_create(actor=request.user, project=project, data=form.cleaned_data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("预售许可证已保存。"))
            return redirect(project)
    return render(
        request, "inventory/permit_form.html", {"form": form, "project": project, "object": permit}
    )


@require_POST
@login_required
def permit_delete(request, pk, permit_pk):
    project = _project(request, pk)
    permit = get_object_or_404(project.permits, pk=permit_pk)
    try:
        services.permit_delete(actor=request.user, permit=permit)
    except DomainError as exc:
        raise _forbidden("project.change") from exc
    messages.success(request, _("预售许可证已删除。"))
    return redirect(project)


@require_POST
@login_required
def switch_project(request):
    """The project switcher: only a project the user belongs to can become current."""
    try:
        project = _project(request, int(request.POST.get("project", "0")))
    except ValueError as exc:
        raise Http404 from exc
    request.session["project_id"] = project.pk
    nxt = request.POST.get("next") or "/"
    return redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else "/")
