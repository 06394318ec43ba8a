from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loupan.audit.views import object_history
from loupan.core.errors import DomainError, ErrorCode
from loupan.core.pages import site_page
from loupan.core.scope import visible_projects
from loupan.core.views import form_error, paginate, query_without_page

from . import access, lockout, services
from .filters import UserFilterSet
from .forms import LoginForm, MembershipForm, PasswordChangeForm, UserCreateForm, UserForm
from .models import Membership, Role, User
from .permissions import GROUPS, PERMISSIONS


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


def lockout_response(request, credentials=None, *args, **kwargs):
    """What a locked-out account or address sees (django-axes calls this)."""
    message = str(ErrorCode.LOCKED_OUT.default_message)
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "locked_out", "message": message, "fields": {}}, status=403)
    form = LoginForm(request)
    # An unbound form has no cleaned_data, which add_error needs (binding it to the
    # posted data would validate, i.e. try the password once more).
    form.cleaned_data = {}
    form.add_error(None, message)
    return render(request, "accounts/login.html", {"form": form, "locked_out": True}, status=403)


@login_required
def password_change(request):
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_change_password(
                user=request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except DomainError as exc:
            form_error(form, exc)
        else:
            request.user.refresh_from_db()
            update_session_auth_hash(request, request.user)
            messages.success(request, _("密码已修改。其他设备上的登录已全部退出。"))
            return redirect("home")
    reason = None
    if request.user.must_change_password:
        reason = _("首次登录或密码被重置后，须先设置自己的密码。")
    elif request.user.password_expired():
        reason = _("密码已过期，请设置新密码。")
    return render(request, "accounts/password_change.html", {"form": form, "reason": reason})


@require_POST
@login_required
def set_language(request):
    try:
        services.user_set_language(user=request.user, language=request.POST.get("language", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    nxt = request.POST.get("next") or "/"
    response = redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else "/")
    # The login page after logout keeps speaking the user's language.
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        request.user.language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
    )
    return response


@site_page("user.view")
def user_list(request):
    # Only the roles in projects the viewer may see (as on the user page).
    memberships = Membership.objects.filter(
        project__in=visible_projects(request.user)
    ).select_related("role", "project")
    qs = (
        User.objects.restrict(request.user, "view")
        .prefetch_related(Prefetch("memberships", queryset=memberships))
        .order_by("username")
    )
    filterset = UserFilterSet(request.GET, queryset=qs, request=request)
    return render(
        request,
        "accounts/user_list.html",
        {
            "filter": filterset,
            "page": paginate(request, filterset.qs),
            "query": query_without_page(request),
            "can_manage": access.has_perm(request.user, "user.manage"),
        },
    )


def _visible_user(request, pk):
    return get_object_or_404(User.objects.restrict(request.user, "view"), pk=pk)


def _manageable_projects(user):
    return visible_projects(user).filter(id__in=access.projects_with(user, "user.manage"))


@login_required
def user_detail(request, pk):
    user = _visible_user(request, pk)
    memberships = user.memberships.filter(
        project__in=visible_projects(request.user)
    ).select_related("project", "role")
    can_manage = User.objects.restrict(request.user, "manage").filter(pk=user.pk).exists()
    return render(
        request,
        "accounts/user_detail.html",
        {
            "object": user,
            "memberships": memberships,
            "can_manage": can_manage,
            "membership_form": MembershipForm(projects=_manageable_projects(request.user)),
            "manage_projects": set(access.projects_with(request.user, "user.manage")),
        },
    )


@login_required
def user_create(request):
    projects = _manageable_projects(request.user)
    if not projects.exists():
        raise Http404
    form = UserCreateForm(
        request.POST or None,
        projects=projects,
        initial={"project": getattr(request.project, "pk", None)},
    )
    if request.method == "POST" and form.is_valid():
        data = {k: form.cleaned_data[k] for k in UserForm.Meta.fields}
        try:
            user = services.user_create(
                actor=request.user,
                data=data,
                project=form.cleaned_data["project"],
                role=form.cleaned_data["role"],
                password=form.cleaned_data["password"],
            )
        except DomainError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("已创建用户 %(user)s。") % {"user": user})
            return redirect(user)
    return render(request, "accounts/user_form.html", {"form": form, "creating": True})


@login_required
def user_edit(request, pk):
    user = get_object_or_404(User.objects.restrict(request.user, "manage"), pk=pk)
    form = UserForm(request.POST or None, instance=User.objects.get(pk=user.pk))
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update(actor=request.user, user=user, data=form.cleaned_data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect(user)
    return render(request, "accounts/user_form.html", {"form": form, "object": user})


@require_POST
@login_required
def user_set_active(request, pk):
    user = get_object_or_404(User.objects.restrict(request.user, "manage"), pk=pk)
    active = request.POST.get("active") == "1"
    try:
        services.user_set_active(actor=request.user, user=user, active=active)
        messages.success(request, _("账号已启用。") if active else _("账号已停用。"))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(user)


@site_page(lockout.MANAGE)
def lock_list(request):
    """登录锁定: the accounts and addresses with recent failed logins, the locked ones
    first, for the administrator (``user.manage``) to lift."""
    return render(
        request,
        "accounts/lock_list.html",
        {
            "locks": lockout.locks(),
            "account_limit": lockout.limit_of("username"),
            "address_limit": lockout.limit_of("ip_address"),
        },
    )


@require_POST
@login_required
def lock_lift(request):
    try:
        lockout.lock_lift(
            actor=request.user,
            kind=request.POST.get("kind", ""),
            value=request.POST.get("value", ""),
        )
        messages.success(request, _("已解除锁定。"))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("accounts:lock_list")


@require_POST
@login_required
def user_reset_password(request, pk):
    user = get_object_or_404(User.objects.restrict(request.user, "manage"), pk=pk)
    temporary = services.user_reset_password(actor=request.user, user=user)
    messages.warning(
        request, _("临时密码：%(pw)s （请当面告知本人，登录后须立即修改）") % {"pw": temporary}
    )
    return redirect(user)


@require_POST
@login_required
def membership_add(request, pk):
    user = _visible_user(request, pk)
    projects = _manageable_projects(request.user)
    if not projects.exists():
        # Like user_create: someone who manages no project cannot grant (not a form error).
        raise Http404
    form = MembershipForm(request.POST, projects=projects)
    if form.is_valid():
        try:
            services.membership_grant(
                actor=request.user,
                user=user,
                project=form.cleaned_data["project"],
                role=form.cleaned_data["role"],
            )
            messages.success(request, _("已授权。"))
        except DomainError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, _("请选择项目和角色。"))
    return redirect(user)


@require_POST
@login_required
def membership_revoke(request, pk):
    membership = get_object_or_404(
        Membership.objects.restrict(request.user, "manage").select_related("user", "role"), pk=pk
    )
    try:
        services.membership_revoke(actor=request.user, membership=membership)
        messages.success(request, _("已撤销授权。"))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(membership.user)


def may_see_history(viewer, project, pk) -> bool:
    """A user's 历史 tab: for whoever reads the audit trail or manages that user."""
    return (
        access.has_perm(viewer, "audit.view")
        or User.objects.restrict(viewer, "manage").filter(pk=pk).exists()
    )


@site_page(when=may_see_history)
def user_history(request, pk):
    return object_history(request, _visible_user(request, pk), allowed=True)


@site_page("role.view")
def role_list(request):
    roles = list(Role.objects.all())
    groups = [
        (
            label,
            [(code, PERMISSIONS[code]) for code in PERMISSIONS if code.startswith(prefix + ".")],
        )
        for prefix, label in GROUPS
    ]
    return render(request, "accounts/role_list.html", {"roles": roles, "groups": groups})


@site_page("role.view")
def role_detail(request, code):
    role = get_object_or_404(Role, code=code)
    members = (
        Membership.objects.restrict(request.user, "view")
        .filter(role=role)
        .select_related("user", "project")
    )
    return render(
        request,
        "accounts/role_detail.html",
        {
            "object": role,
            "perm_labels": [(c, PERMISSIONS.get(c, c)) for c in role.permissions],
            "members": members,
        },
    )


# What each role's home page offers, in the order of the role table (PRODUCT.md).
