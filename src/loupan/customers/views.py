"""Customer pages: register, list and search, detail with follow-ups, reveal, claims,
the public pool."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loupan.accounts import access
from loupan.core import codelists
from loupan.core.errors import DomainError, invalid
from loupan.core.identity import normalize_phone
from loupan.core.pages import ProjectListView, project_page, run_action
from loupan.core.views import paginate, query_without_page

from . import selectors, services
from .filters import CustomerFilterSet
from .forms import FollowUpForm, RegisterForm
from .models import ClaimStatus, Customer, Grade, OwnershipClaim, Stage
from .reception import eligible_users

# Who sees the customer pages: anyone seeing customers of the project (a consultant their
# own); the others get a 404, as for a project they do not belong to.
SEE = ("customer.view", "customer.view_own")


def _with_way_labels(customer) -> list:
    """The customer's last follow-ups, each with its way as the office's list labels it
    (``way_label``; a retired way still shows), the list read once."""
    rows = list(customer.follow_ups.select_related("consultant")[:50])
    listed = codelists.entries("followup_way", customer.project_id)
    for row in rows:
        row.way_label = codelists.label_of("followup_way", None, row.way, listed=listed)
    return rows


def _customer(request, project, pk):
    return get_object_or_404(selectors.customer_list(user=request.user, project=project), pk=pk)


class CustomerListView(ProjectListView):
    """意向客户登记表: a consultant sees their own customers, supervisors everyone's."""

    see = SEE
    filterset_class = CustomerFilterSet
    template_name = "customers/customer_list.html"
    ordering = (F("last_follow_up_at").desc(nulls_last=True), "-pk")

    def get_queryset(self):
        return selectors.customer_list(user=self.request.user, project=self.project).filter(
            in_pool=False
        )

    def get_filterset(self, queryset):
        filterset = CustomerFilterSet(
            self.request.GET or None, queryset=queryset, project=self.project
        )
        if not access.has_perm(self.request.user, "customer.view", self.project):
            del filterset.filters["owner"]  # a consultant's list holds only their own
        return filterset

    def get_context_data(self, **context):
        user = self.request.user
        return {
            **context,
            "rows": [(c, selectors.contact(user, c)) for c in context["page"]],
            "can_add": access.has_perm(user, "customer.add", self.project),
            "now": timezone.now(),
        }


customer_list = CustomerListView.as_view()


@project_page(*SEE, act="customer.add")
def customer_register(request, project):
    form = RegisterForm(request.POST or None, project=project)
    existing = None

    def register():
        nonlocal existing
        data = form.cleaned_data
        try:
            return services.customer_register(
                actor=request.user,
                project=project,
                name=data["name"],
                phone=data["phone"],
                wanted_layout=data["wanted_layout"],
                wanted_layout_other=data["wanted_layout_other"],
                consent=data["consent"],
                id_number=data["id_number"],
                companions=data["companions"],
                data={
                    k: v
                    for k, v in data.items()
                    if k in services.OPTIONAL_FIELDS or (k == "occupation_other" and v)
                },
            )
        except services.CustomerExists as exc:
            existing = exc  # the page names the owner
            raise

    if request.method == "POST" and form.is_valid():
        ok, customer = run_action(
            request,
            register,
            success=lambda c: _("已登记客户 %(name)s。") % {"name": c.name},
            form=form,
        )
        if ok:
            return redirect(customer)
    return render(
        request,
        "customers/customer_register.html",
        {"project": project, "form": form, "existing": existing},
    )


@project_page(*SEE)
def customer_detail(request, project, pk):
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
            "follow_ups": _with_way_labels(customer),
            "visits": customer.visits.select_related("consultant")[:20],
            "summary": services.follow_up_summary(customer),
            "form": FollowUpForm(project=project),
            "grades": Grade.choices,
            "may_set_stage": services.may_set_stage(request.user, customer),
            "stages": [(s, Stage(s).label) for s in services.MANUAL_STAGES],
            "claims": customer.claims.select_related("claimant"),
            "can_manage": access.has_perm(request.user, "customer.assign", project),
            "staff": eligible_users(project),
            "household": customer.household.members.exclude(pk=customer.pk)
            if customer.household_id
            else [],
        },
    )


@require_POST
@project_page(*SEE)
def customer_assign(request, project, pk):
    """A supervisor or manager reassigns the customer, with a reason."""
    customer = _customer(request, project, pk)

    def assign():
        to_user = eligible_users(project).filter(pk=request.POST.get("to_user") or 0).first()
        if to_user is None:
            raise invalid("to_user", _("必填"), _("请选择接收的置业顾问。"))
        return services.customer_assign(
            actor=request.user, customer=customer, to_user=to_user, reason=request.POST["reason"]
        )

    run_action(request, assign, success=_("已重新分配。"))
    return redirect(customer)


@require_POST
@project_page(*SEE)
def customer_household(request, project, pk):
    """Link a family member (spouse, partner, parent, child) found by their phone."""
    customer = _customer(request, project, pk)

    def link():
        phone = normalize_phone(request.POST.get("phone", ""), "phone")
        other = selectors.find_existing(project, phone=phone)
        if other is None or other.pk == customer.pk:
            raise invalid("phone", _("未找到客户"), _("本项目没有使用该手机号的其他客户。"))
        return services.household_link(actor=request.user, customers=[customer, other])

    run_action(request, link, success=_("已关联为同一家庭。"))
    return redirect(customer)


@require_POST
@project_page(*SEE)
def customer_anonymize(request, project, pk):
    """Erase a prospect's personal data on request (PIPL); the customer page is gone after."""
    customer = _customer(request, project, pk)
    run_action(
        request,
        lambda: services.customer_anonymize(
            actor=request.user, customer=customer, reason=request.POST.get("reason", "")
        ),
        success=_("已匿名化，个人信息已删除。"),
    )
    customer.refresh_from_db()
    if customer.anonymized_at:  # by this request or a concurrent one
        return redirect("customers:customer_list", project.pk)
    return redirect(customer)


@require_POST
@project_page(*SEE)
def follow_up_add(request, project, pk):
    customer = _customer(request, project, pk)
    form = FollowUpForm(request.POST, project=project)
    if form.is_valid():
        run_action(
            request,
            lambda: services.follow_up_add(
                actor=request.user, customer=customer, **form.cleaned_data
            ),
            success=_("已记录跟进。"),
        )
    else:
        messages.error(request, _("请检查跟进内容。"))
    return redirect(customer)


@require_POST
@project_page(*SEE)
def customer_grade(request, project, pk):
    customer = _customer(request, project, pk)
    run_action(
        request,
        lambda: services.customer_set_grade(
            actor=request.user, customer=customer, grade=request.POST.get("grade", "")
        ),
    )
    return redirect(customer)


@require_POST
@project_page(*SEE)
def customer_stage(request, project, pk):
    """潜在 ↔ 意向 by hand (``services.customer_set_stage``)."""
    customer = _customer(request, project, pk)
    run_action(
        request,
        lambda: services.customer_set_stage(
            actor=request.user,
            customer=customer,
            stage=request.POST.get("stage", ""),
            reason=request.POST.get("reason", ""),
        ),
    )
    return redirect(customer)


@require_POST
@project_page(*SEE)
def customer_reveal(request, project, pk):
    """Shows the full numbers once; the reveal is in the audit trail."""
    customer = _customer(request, project, pk)
    try:
        revealed = services.customer_reveal(actor=request.user, customer=customer)
    except DomainError as exc:
        # nothing to show instead of the numbers: every refusal is the 403 page
        raise PermissionDenied(exc.message) from exc
    return render(
        request, "customers/customer_revealed.html", {"object": customer, "revealed": revealed}
    )


@require_POST
@project_page(*SEE)
def claim_create(request, project, pk):
    # another consultant's customer: the claimant does not see it in their own list
    customer = get_object_or_404(project.customers.all(), pk=pk)
    run_action(
        request,
        lambda: services.claim_create(
            actor=request.user, customer=customer, reason=request.POST.get("reason", "")
        ),
        success=_("已提交撞单申请，等待主管处理。"),
    )
    return redirect("customers:customer_list", project.pk)


@project_page(*SEE, when=services.may_decide_claims)
def claim_list(request, project):
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
@project_page(*SEE)
def claim_decide(request, project, pk):
    claim = get_object_or_404(OwnershipClaim.objects.filter(customer__project=project), pk=pk)
    run_action(
        request,
        lambda: services.claim_decide(
            actor=request.user,
            claim=claim,
            grant=request.POST.get("grant") == "1",
            reason=request.POST.get("reason", ""),
        ),
        success=_("已处理。"),
    )
    return redirect("customers:claim_list", project.pk)


@project_page(*SEE)
def pool_list(request, project):
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
@project_page(*SEE)
def pool_take(request, project, pk):
    customer = get_object_or_404(Customer.objects.filter(project=project, in_pool=True), pk=pk)
    ok, _result = run_action(
        request,
        lambda: services.pool_take(actor=request.user, customer=customer),
        success=_("已认领。"),
    )
    if ok:
        return redirect(customer)
    return redirect("customers:pool_list", project.pk)
