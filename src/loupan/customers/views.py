"""Customer pages: register, list and search, detail with follow-ups, reveal, claims,
the public pool."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loupan.accounts import access
from loupan.core.errors import DomainError, invalid
from loupan.core.identity import normalize_phone
from loupan.core.views import attempt, form_error, paginate, query_without_page, refused
from loupan.inventory.selectors import project_list

from . import selectors, services
from .filters import CustomerFilterSet
from .forms import FollowUpForm, RegisterForm
from .models import ClaimStatus, Customer, Grade, OwnershipClaim
from .reception import eligible_users


def _project(request, project_pk):
    project = get_object_or_404(project_list(user=request.user), pk=project_pk)
    if not (
        access.has_perm(request.user, "customer.view", project)
        or access.has_perm(request.user, "customer.view_own", project)
    ):
        raise Http404
    return project


def _customer(request, project, pk):
    return get_object_or_404(selectors.customer_list(user=request.user, project=project), pk=pk)


@login_required
def customer_list(request, project_pk):
    """意向客户登记表: a consultant sees their own customers, supervisors everyone's."""
    project = _project(request, project_pk)
    qs = selectors.customer_list(user=request.user, project=project).filter(in_pool=False)
    filterset = CustomerFilterSet(request.GET or None, queryset=qs, project=project)
    if not access.has_perm(request.user, "customer.view", project):
        del filterset.filters["owner"]  # a consultant's list holds only their own
    qs = filterset.qs if filterset.is_bound else qs
    page = paginate(request, qs.order_by(F("last_follow_up_at").desc(nulls_last=True), "-pk"), 50)
    rows = [(c, selectors.contact(request.user, c)) for c in page]
    return render(
        request,
        "customers/customer_list.html",
        {
            "project": project,
            "form": filterset.form,
            "page": page,
            "rows": rows,
            "query": query_without_page(request),
            "can_add": access.has_perm(request.user, "customer.add", project),
            "now": timezone.now(),
        },
    )


@login_required
def customer_register(request, project_pk):
    project = _project(request, project_pk)
    if not access.has_perm(request.user, "customer.add", project):
        raise PermissionDenied(_("您没有登记客户的权限"))
    form = RegisterForm(request.POST or None, project=project)
    existing = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            customer = services.customer_register(
                actor=request.user,
                project=project,
                name=data["name"],
                phone=data["phone"],
                wanted_layout=data["wanted_layout"],
                consent=data["consent"],
                id_number=data["id_number"],
                companions=data["companions"],
                data={k: v for k, v in data.items() if k in services.OPTIONAL_FIELDS},
            )
        except services.CustomerExists as exc:
            existing = exc
            form_error(form, exc)
        except DomainError as exc:
            refused(exc)
            form_error(form, exc)
        else:
            messages.success(request, _("已登记客户 %(name)s。") % {"name": customer.name})
            return redirect(customer)
    return render(
        request,
        "customers/customer_register.html",
        {"project": project, "form": form, "existing": existing},
    )


@login_required
def customer_detail(request, project_pk, pk):
    project = _project(request, project_pk)
    customer = _customer(request, project, pk)
    is_owner = customer.owner_id == request.user.pk
    return render(
        request,
        "customers/customer_detail.html",
        {
            "project": project,
            "object": customer,
            "contact": selectors.contact(request.user, customer),
            "is_owner": is_owner,
            "follow_ups": customer.follow_ups.select_related("consultant")[:50],
            "visits": customer.visits.select_related("consultant")[:20],
            "summary": services.follow_up_summary(customer),
            "form": FollowUpForm(),
            "grades": Grade.choices,
            "claims": customer.claims.select_related("claimant"),
            "can_manage": access.has_perm(request.user, "customer.assign", project),
            "staff": eligible_users(project),
            "household": customer.household.members.exclude(pk=customer.pk)
            if customer.household_id
            else [],
        },
    )


def _manage(request, project_pk, pk, action, done):
    """The supervisor's actions on a customer page: one shape, one error path."""
    project = _project(request, project_pk)
    customer = _customer(request, project, pk)
    attempt(request, lambda: action(project, customer), done)
    customer.refresh_from_db()
    if customer.anonymized_at:
        return redirect("customers:customer_list", project.pk)
    return redirect(customer)


@require_POST
@login_required
def customer_assign(request, project_pk, pk):
    """A supervisor or manager reassigns the customer, with a reason."""

    def assign(project, customer):
        to_user = eligible_users(project).filter(pk=request.POST.get("to_user") or 0).first()
        if to_user is None:
            raise invalid("to_user", _("必填"), _("请选择接收的置业顾问。"))
        return services.customer_assign(
            actor=request.user, customer=customer, to_user=to_user, reason=request.POST["reason"]
        )

    return _manage(request, project_pk, pk, assign, _("已重新分配。"))


@require_POST
@login_required
def customer_household(request, project_pk, pk):
    """Link a family member (spouse, partner, parent, child) found by their phone."""

    def link(project, customer):
        phone = normalize_phone(request.POST.get("phone", ""), "phone")
        other = selectors.find_existing(project, phone=phone)
        if other is None or other.pk == customer.pk:
            raise invalid("phone", _("未找到客户"), _("本项目没有使用该手机号的其他客户。"))
        return services.household_link(actor=request.user, customers=[customer, other])

    return _manage(request, project_pk, pk, link, _("已关联为同一家庭。"))


@require_POST
@login_required
def customer_anonymize(request, project_pk, pk):
    """Erase a prospect's personal data on request (PIPL)."""

    def erase(project, customer):
        return services.customer_anonymize(
            actor=request.user, customer=customer, reason=request.POST.get("reason", "")
        )

    return _manage(request, project_pk, pk, erase, _("已匿名化，个人信息已删除。"))


@require_POST
@login_required
def follow_up_add(request, project_pk, pk):
    project = _project(request, project_pk)
    customer = _customer(request, project, pk)
    form = FollowUpForm(request.POST)
    if form.is_valid():
        attempt(
            request,
            lambda: services.follow_up_add(
                actor=request.user, customer=customer, **form.cleaned_data
            ),
            _("已记录跟进。"),
        )
    else:
        messages.error(request, _("请检查跟进内容。"))
    return redirect(customer)


@require_POST
@login_required
def customer_grade(request, project_pk, pk):
    project = _project(request, project_pk)
    customer = _customer(request, project, pk)
    attempt(
        request,
        lambda: services.customer_set_grade(
            actor=request.user, customer=customer, grade=request.POST.get("grade", "")
        ),
    )
    return redirect(customer)


@require_POST
@login_required
def customer_reveal(request, project_pk, pk):
    """Shows the full numbers once; the reveal is in the audit trail."""
    project = _project(request, project_pk)
    customer = _customer(request, project, pk)
    try:
        revealed = services.customer_reveal(actor=request.user, customer=customer)
    except DomainError as exc:
        raise PermissionDenied(exc.message) from exc
    return render(
        request, "customers/customer_revealed.html", {"object": customer, "revealed": revealed}
    )


@require_POST
@login_required
def claim_create(request, project_pk, pk):
    project = _project(request, project_pk)
    customer = get_object_or_404(project.customers.all(), pk=pk)
    attempt(
        request,
        lambda: services.claim_create(
            actor=request.user, customer=customer, reason=request.POST.get("reason", "")
        ),
        _("已提交撞单申请，等待主管处理。"),
    )
    return redirect("customers:customer_list", project.pk)


@login_required
def claim_list(request, project_pk):
    project = _project(request, project_pk)
    if not access.has_perm(request.user, "customer.assign", project):
        raise Http404
    claims = OwnershipClaim.objects.filter(customer__project=project).select_related(
        "customer", "customer__owner", "claimant", "decided_by"
    )
    return render(
        request,
        "customers/claim_list.html",
        {
            "project": project,
            "open": claims.filter(status=ClaimStatus.OPEN),
            "decided": claims.exclude(status=ClaimStatus.OPEN)[:50],
        },
    )


@require_POST
@login_required
def claim_decide(request, project_pk, pk):
    project = _project(request, project_pk)
    claim = get_object_or_404(OwnershipClaim.objects.filter(customer__project=project), pk=pk)
    attempt(
        request,
        lambda: services.claim_decide(
            actor=request.user,
            claim=claim,
            grant=request.POST.get("grant") == "1",
            reason=request.POST.get("reason", ""),
        ),
        _("已处理。"),
    )
    return redirect("customers:claim_list", project.pk)


@login_required
def pool_list(request, project_pk):
    project = _project(request, project_pk)
    qs = selectors.customer_list(user=request.user, project=project).filter(in_pool=True)
    qs = selectors.search(qs, request.GET.get("q", ""))
    page = paginate(request, qs.order_by(F("last_follow_up_at").desc(nulls_last=True), "-pk"), 50)
    rows = [(c, selectors.contact(request.user, c)) for c in page]
    return render(
        request,
        "customers/pool_list.html",
        {"project": project, "page": page, "rows": rows, "query": query_without_page(request)},
    )


@require_POST
@login_required
def pool_take(request, project_pk, pk):
    project = _project(request, project_pk)
    customer = get_object_or_404(Customer.objects.filter(project=project, in_pool=True), pk=pk)
    if attempt(
        request, lambda: services.pool_take(actor=request.user, customer=customer), _("已认领。")
    ):
        return redirect(customer)
    return redirect("customers:pool_list", project.pk)
