"""Deal pages: the lists (全部交易, 未签约客户一览表, 契约签署一览表, 特殊优惠客户一览表),
reserve, the deal page with the actions the viewer may take (subscribe, release,
confirm the deposit, special clauses, contract, filing, scan), the printables (房位确认单,
认购书), the approvals inbox (待我审批) and the project's deal settings.

Thin views: every change is a service call; every query starts from
``Deal.objects.restrict(user, "view")`` so another consultant's deal is a 404; a
service's permission refusal is a 403, any other refusal is shown next to its field."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loupan.accounts import access
from loupan.accounts.role_table import role_label
from loupan.approvals import services as approvals_engine
from loupan.approvals.models import ApprovalRequest, ApprovalStatus, ApprovalStep
from loupan.audit.models import AuditEntry
from loupan.audit.services import object_label
from loupan.core.errors import DomainError, invalid
from loupan.core.identity import display_phone
from loupan.core.masking import can_see_floor_price, mask_phone
from loupan.core.money import rmb_upper
from loupan.core.views import form_error, paginate, query_without_page, refused
from loupan.core.xlsx import export_filename, xlsx_response
from loupan.customers import selectors as customer_selectors
from loupan.customers.models import Customer
from loupan.inventory.models import Unit
from loupan.inventory.selectors import project_list

from . import changes, reports, rules, services, settings_services
from .filters import DealFilterSet
from .forms import (
    AuthorityForm,
    CancelForm,
    ClauseForm,
    ContractForm,
    DecideForm,
    DiscountTypeForm,
    DisputeForm,
    ExchangeForm,
    FilingForm,
    PolicyForm,
    ReleaseForm,
    RenameForm,
    ReserveForm,
    ScanForm,
    SubscribeForm,
)
from .models import (
    SUBSCRIPTION_STATUSES,
    ApprovalKind,
    Deal,
    DealStatus,
    DealUnit,
    DiscountType,
)

role_name = role_label


# --- scope ------------------------------------------------------------------------------


def _project(request, project_pk):
    """The project, if the user belongs to it and may see deals there (404 otherwise)."""
    project = get_object_or_404(project_list(user=request.user), pk=project_pk)
    if not (
        access.has_perm(request.user, "deal.view", project)
        or access.has_perm(request.user, "deal.view_own", project)
    ):
        raise Http404
    return project


def _deals(request, project):
    return Deal.objects.restrict(request.user, "view").filter(project=project)


def _deal(request, project, pk):
    return get_object_or_404(
        _deals(request, project).select_related(
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


def _require(request, code, project, message):
    if not access.has_perm(request.user, code, project):
        raise PermissionDenied(message)


# --- lists ------------------------------------------------------------------------------

BUYERS = reports.BUYERS


def _filtered(request, project, qs):
    filterset = DealFilterSet(request.GET or None, queryset=qs, project=project)
    if not access.has_perm(request.user, "deal.view", project):
        del filterset.filters["consultant"]  # a consultant's lists hold only their own deals
    return filterset, (filterset.qs if filterset.is_bound else qs)


def _list_context(request, project, form, tab, **extra):
    """What the list pages' common head needs (tabs, filter form, export link)."""
    return {
        "project": project,
        "form": form,
        "tab": tab,
        "query": query_without_page(request),
        "can_reserve": access.has_perm(request.user, "deal.add", project),
        "can_export": reports.may_export(request.user, project),
        **extra,
    }


def wants_xlsx(request) -> bool:
    return request.GET.get("format") == "xlsx"


def used_filters(request) -> dict:
    return {k: v for k, v in request.GET.items() if k not in ("format", "page") and v}


def xlsx_of(request, project, report, make):
    """A list as a file, for those who may export it (403 otherwise)."""
    if not reports.may_export(request.user, project):
        raise PermissionDenied(_("您没有导出交易名单的权限"))
    return xlsx_response(make(), export_filename(project, report))


def _deals_xlsx(request, project, report, qs):
    return xlsx_of(
        request,
        project,
        report,
        lambda: reports.deals_export(
            actor=request.user,
            project=project,
            report=report,
            queryset=qs,
            filters=used_filters(request),
        ),
    )


@login_required
def deal_list(request, project_pk):
    """All deals of the project (a consultant: their own), newest first."""
    project = _project(request, project_pk)
    qs = _deals(request, project).select_related("unit", "customer", "consultant")
    filterset, qs = _filtered(request, project, qs)
    if wants_xlsx(request):
        return _deals_xlsx(request, project, "全部交易", qs.order_by("-reserved_at", "-pk"))
    page = paginate(request, qs.order_by("-reserved_at", "-pk"), 50)
    return render(
        request,
        "deals/deal_list.html",
        _list_context(request, project, filterset.form, "all", page=page),
    )


@login_required
def deal_unsigned(request, project_pk):
    """未签约客户一览表 (seed 002 二.4(1)): subscriptions past their signing deadline, per
    consultant, with the days overdue."""
    project = _project(request, project_pk)
    today = timezone.localdate()
    qs = (
        _deals(request, project)
        .filter(status__in=SUBSCRIPTION_STATUSES, signing_deadline__lt=today)
        .select_related("unit", "customer", "consultant")
        .prefetch_related(BUYERS)
    )
    filterset, qs = _filtered(request, project, qs)
    ordered = qs.order_by("consultant__real_name", "consultant_id", "signing_deadline", "pk")
    if wants_xlsx(request):
        return _deals_xlsx(request, project, "未签约客户一览表", ordered)
    groups: list[tuple] = []
    for deal in ordered[:1000]:
        if not groups or groups[-1][0] != deal.consultant:
            groups.append((deal.consultant, []))
        groups[-1][1].append((deal, (today - deal.signing_deadline).days))
    return render(
        request,
        "deals/deal_unsigned.html",
        _list_context(request, project, filterset.form, "unsigned", groups=groups, today=today),
    )


@login_required
def deal_ledger(request, project_pk):
    """契约签署一览表 (seed 002 二.4(2)): every contract with its number, signing date,
    filing status and number, and its special clauses."""
    project = _project(request, project_pk)
    qs = (
        _deals(request, project)
        .exclude(contract_number="")
        .select_related("unit", "customer", "consultant")
        .prefetch_related(BUYERS, "clauses")
    )
    filterset, qs = _filtered(request, project, qs)
    if wants_xlsx(request):
        return _deals_xlsx(request, project, "契约签署一览表", qs.order_by("signed_on", "pk"))
    page = paginate(request, qs.order_by("-signed_on", "-pk"), 50)
    return render(
        request,
        "deals/deal_ledger.html",
        _list_context(request, project, filterset.form, "ledger", page=page),
    )


@login_required
def deal_special(request, project_pk):
    """特殊优惠客户一览表 (seed 002 二.3(5)): every deal whose discount needed approval,
    with the list total, discount, total and who decided at each level."""
    project = _project(request, project_pk)
    discount_requests = ApprovalRequest.objects.filter(kind=ApprovalKind.DISCOUNT)
    qs = (
        _deals(request, project)
        .filter(Exists(discount_requests.filter(deal=OuterRef("pk"))))
        .select_related("unit", "customer", "consultant")
        .prefetch_related(
            Prefetch(
                "approvals",
                queryset=discount_requests.select_related("requested_by")
                .prefetch_related(
                    Prefetch("steps", queryset=ApprovalStep.objects.select_related("actor"))
                )
                .order_by("requested_at", "pk"),
                to_attr="discount_requests",
            )
        )
    )
    filterset, qs = _filtered(request, project, qs)
    if wants_xlsx(request):
        return _deals_xlsx(
            request, project, "特殊优惠客户一览表", qs.order_by("subscribed_at", "pk")
        )
    page = paginate(request, qs.order_by("-subscribed_at", "-pk"), 50)
    for deal in page:
        for req in deal.discount_requests:
            _label_levels(req)
    return render(
        request,
        "deals/deal_special.html",
        _list_context(request, project, filterset.form, "special", page=page),
    )


def _label_levels(req: ApprovalRequest) -> ApprovalRequest:
    """Role names for the template (the levels are role codes)."""
    req.level_name = approvals_engine.level_name(req, req.level)
    req.final_level_name = approvals_engine.level_name(req, req.final_level)
    for step in req.steps.all():
        step.level_name = approvals_engine.level_name(req, step.level)
    return req


# --- reserve ----------------------------------------------------------------------------


def _int_param(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc


@login_required
def deal_reserve(request, project_pk):
    """保留单: the consultant picks one of their own customers (search by name, pinyin
    initials or phone tail) for the unit chosen on the board, and confirms."""
    project = _project(request, project_pk)
    _require(request, "deal.add", project, _("您没有预留房间的权限"))
    unit = get_object_or_404(
        Unit.objects.filter(project=project).select_related("building", "layout", "attached_to"),
        pk=_int_param(request.POST.get("unit") or request.GET.get("unit")),
    )
    customers = Customer.objects.restrict(request.user, "view").filter(
        project=project, anonymized_at__isnull=True, in_pool=False
    )
    if not access.has_perm(request.user, "customer.assign", project):
        customers = customers.filter(owner=request.user)
    form = ReserveForm(request.POST or None, customers=customers)
    if request.method == "POST" and form.is_valid():
        try:
            deal = services.deal_reserve(
                actor=request.user,
                unit=unit,
                customer=form.cleaned_data["customer"],
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            refused(exc)
            form_error(form, exc)
        else:
            messages.success(
                request,
                _("已预留 %(unit)s，保留单号 %(number)s，请在 %(until)s 前完成认购。")
                % {
                    "unit": unit.number,
                    "number": deal.reservation_number,
                    "until": timezone.localtime(deal.reservation_expires_at).strftime(
                        "%Y-%m-%d %H:%M"
                    ),
                },
            )
            return redirect(deal)
    q = request.GET.get("q", "")
    candidates = list(
        customer_selectors.search(customers, q)
        .select_related("owner")
        .order_by("-last_follow_up_at", "-pk")[:20]
    )
    attached = list(Unit.objects.filter(attached_to=unit).order_by("pk"))
    return render(
        request,
        "deals/deal_reserve.html",
        {
            "project": project,
            "object": unit,
            "unit": unit,
            "attached": attached,
            "form": form,
            "q": q,
            "candidates": [(c, mask_phone(display_phone(c.phone))) for c in candidates],
            "reservable": unit.is_open_for_sale,
            "show_floor_price": can_see_floor_price(request.user, project),
            "hours": rules.policy(project).reservation_hours,
        },
        status=400 if request.method == "POST" else 200,
    )


# --- the deal page ----------------------------------------------------------------------


def _buyer_candidates(request, project, deal):
    """The project's customers the user may see (what a buyer field accepts) and the
    short list it offers: the household of the deal's customer and the consultant's own
    customers, newest first."""
    visible = Customer.objects.restrict(request.user, "view").filter(
        project=project, anonymized_at__isnull=True
    )
    offered = visible.filter(owner_id=deal.consultant_id)
    if deal.customer.household_id:
        offered = visible.filter(household_id=deal.customer.household_id) | offered
    return visible, offered.order_by("-registered_at", "-pk")


def _subscribe_form(request, project, deal, data=None):
    visible, offered = _buyer_candidates(request, project, deal)
    return SubscribeForm(
        data,
        deal=deal,
        customers=visible.exclude(pk=deal.customer_id),
        suggestions=list(offered.exclude(pk=deal.customer_id)[:100]),
        discount_types=DiscountType.objects.filter(project=project, is_active=True),
        initial={"share_0": "100"},
        prefix="sub",
    )


def _rename_form(request, project, deal, data=None):
    """The current buyers first, then the usual short list."""
    visible, offered = _buyer_candidates(request, project, deal)
    current = list(deal.buyers.select_related("customer").order_by("sort_order", "pk"))
    seen = {b.customer_id for b in current}
    suggestions = [b.customer for b in current] + [c for c in offered[:100] if c.pk not in seen]
    initial = {}
    for i, b in enumerate(current[: RenameForm.ROWS]):
        initial[f"buyer_{i}"], initial[f"share_{i}"] = b.customer_id, b.share
    # a current buyer stays valid even when the requester could not pick them anew
    queryset = visible | Customer.objects.filter(pk__in=seen)
    return RenameForm(
        data, customers=queryset, suggestions=suggestions, initial=initial, prefix="rn"
    )


def _quote(request, project, deal, form) -> dict:
    """The price the form's discounts give now: each step, the total, the deposit cap
    and whether it needs approval (and up to whom). The floor price only for those who
    may see it."""
    form.is_valid()  # the preview uses whatever parsed; the rest waits for the submit
    data = getattr(form, "cleaned_data", {})
    steps, missing = [], []
    for t in form.discount_types:
        if not data.get(f"discount_{t.pk}"):
            continue
        value = data.get(f"discount_{t.pk}_value") if t.variable else t.value
        if value is None or value < 0:
            missing.append(t.name)
            continue
        steps.append((t, value))
    steps.sort(key=lambda s: (s[0].sort_order, s[0].pk))
    q, floor_total = services.price_of(deal, steps)
    below_floor = floor_total is not None and q.total < floor_total
    approval = rules.price_approval(request.user, project, q.discount_pct, below_floor)
    policy = rules.policy(project)
    return {
        "q": q,
        "missing": missing,
        "needs_approval": approval.needed,
        "final_level_name": role_name(approval.final),
        "deposit_cap": rules.deposit_cap(project, q.total),
        "deposit_max_pct": policy.deposit_max_pct,
        "show_floor_price": can_see_floor_price(request.user, project),
        "floor_total": floor_total,
        "below_floor": below_floor,
        "total_upper": rmb_upper(q.total),
    }


def _history(deal) -> list[dict]:
    """The deal's status history from its audit entries: when, who, from which status
    to which, and why. Field names only for other changes — never their values (the
    floor total is among them)."""
    labels = {f.attname: str(f.verbose_name) for f in Deal._meta.concrete_fields}
    statuses = dict(DealStatus.choices)
    rows = []
    entries = (
        AuditEntry.objects.filter(object_type=object_label(deal), object_id=str(deal.pk))
        .select_related("actor")
        .order_by("id")[:200]
    )
    for entry in entries:
        changes = entry.changes if isinstance(entry.changes, dict) else {}
        extra = entry.extra if isinstance(entry.extra, dict) else {}
        status = changes.get("status")
        before, after = (status or [None, None])[:2]
        # A status change says it all (a subscription sets a dozen terms at once);
        # otherwise the names of the fields that changed (filing, scan …).
        other = [
            labels.get(name, name)
            for name in changes
            if name not in ("updated_at", "floor_total") and entry.action == "update" and not status
        ]
        rows.append(
            {
                "at": entry.created_at,
                "actor": (entry.actor.real_name or entry.actor.username)
                if entry.actor_id and entry.actor
                else (entry.actor_username or _("系统")),
                "created": entry.action == "create",
                "before": statuses.get(before, before) if before else "",
                "after": statuses.get(after, after) if after else "",
                "fields": other,
                "reason": extra.get("reason", ""),
            }
        )
    return rows


def _detail(request, project, deal, *, status=200, **forms):
    user = request.user
    can = rules.abilities(user, deal)
    show_floor = can_see_floor_price(user, project)
    approvals = list(
        deal.approvals.select_related("requested_by", "decided_by")
        .prefetch_related(Prefetch("steps", queryset=ApprovalStep.objects.select_related("actor")))
        .order_by("requested_at", "pk")
    )
    for req in approvals:
        _label_levels(req)
        req.can_decide = approvals_engine.can_decide(user, req)[0]
        req.can_withdraw = approvals_engine.can_withdraw(user, req)[0]
    context = {
        "project": project,
        "object": deal,
        "deal": deal,
        "can": can,
        "show_floor_price": show_floor,
        # the below-floor flag is for those who decide, not for the requester
        "show_floor_flag": show_floor or can["approve"],
        "units": list(
            DealUnit.objects.filter(deal=deal)
            .select_related("unit__building")
            .order_by("-is_main", "pk")
        ),
        "buyers": [
            (b, customer_selectors.contact(user, b.customer))
            for b in deal.buyers.select_related("customer")
        ],
        "contact": customer_selectors.contact(user, deal.customer),
        "steps": list(deal.discounts.all()),
        "approvals": approvals,
        "clauses": list(deal.clauses.all()),
        "history": _history(deal),
        "decide_form": DecideForm(),
        "overdue": deal.status in SUBSCRIPTION_STATUSES
        and deal.signing_deadline is not None
        and deal.signing_deadline < timezone.localdate(),
    }
    waiting = [
        r
        for r in approvals
        if r.kind in changes.CHANGE_KINDS and r.status == ApprovalStatus.PENDING
    ]
    context["change_waiting"] = waiting[0] if waiting else None
    context["changes"] = list(
        deal.changes.select_related("new_deal", "request__decided_by").order_by("at", "pk")
    )
    # the other ends of the deal's one-to-ones, joined by ``_deal``
    context["origin"] = getattr(deal, "change_origin", None)
    context["exchanged_to"] = getattr(deal, "exchanged_to", None)
    context["cancellation"] = getattr(deal, "cancellation", None)
    if not waiting:
        if can["exchange"]:
            context["exchange_form"] = forms.get("exchange_form") or ExchangeForm(prefix="ex")
        if can["rename"]:
            context["rename_form"] = forms.get("rename_form") or _rename_form(
                request, project, deal
            )
        if can["cancel"]:
            context["cancel_form"] = forms.get("cancel_form") or CancelForm(prefix="cx")
            context["received"] = changes.received_of(deal)
    if can["dispute"]:
        c = context["cancellation"]
        context["dispute_form"] = forms.get("dispute_form") or DisputeForm(
            initial={"dispute": c.dispute, "dispute_note": c.dispute_note}
        )
    if can["subscribe"]:
        form = forms.get("subscribe_form") or _subscribe_form(request, project, deal)
        context["subscribe_form"] = form
        context["quote"] = _quote(request, project, deal, form)
    if can["release"]:
        context["release_form"] = forms.get("release_form") or ReleaseForm()
    if can["clause"]:
        context["clause_form"] = forms.get("clause_form") or ClauseForm()
    if can["contract"]:
        context["contract_form"] = forms.get("contract_form") or ContractForm(
            initial={"signed_on": timezone.localdate()}
        )
    if can["filing"]:
        context["filing_form"] = forms.get("filing_form") or FilingForm(
            initial={"filing_status": deal.filing_status, "filing_number": deal.filing_number}
        )
    if can["upload"]:
        context["scan_form"] = forms.get("scan_form") or ScanForm()
    return render(request, "deals/deal_detail.html", context, status=status)


@login_required
def deal_detail(request, project_pk, pk):
    project = _project(request, project_pk)
    deal = _deal(request, project, pk)
    return _detail(request, project, deal)


def _act(request, project_pk, pk, form_class, name, call, done):
    """One action of the deal page: parse the form, call the service, show the refusal
    next to its field (the page again, 400) or go back to the deal with a message."""
    project = _project(request, project_pk)
    deal = _deal(request, project, pk)
    form = form_class(request.POST, request.FILES) if form_class else None
    if form is None or form.is_valid():
        try:
            result = call(deal, form.cleaned_data if form is not None else {})
        except DomainError as exc:
            refused(exc)
            if form is None:
                messages.error(request, exc.message)
                return redirect(deal)
            form_error(form, exc)
        else:
            messages.success(request, done(result) if callable(done) else done)
            return redirect(deal)
    return _detail(request, project, deal, status=400, **{name: form})


@require_POST
@login_required
def deal_subscribe(request, project_pk, pk):
    project = _project(request, project_pk)
    deal = _deal(request, project, pk)
    form = _subscribe_form(request, project, deal, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            deal = services.deal_subscribe(
                actor=request.user,
                deal=deal,
                buyers=form.buyer_list(),
                payment_method=data["payment_method"],
                deposit=data["deposit"],
                down_payment=data["down_payment"],
                discounts=form.discount_list(),
                reason=data["reason"],
            )
        except DomainError as exc:
            refused(exc)
            form_error(form, exc)
        else:
            if deal.status == DealStatus.APPROVAL:
                req = deal.approvals.filter(status=ApprovalStatus.PENDING).first()
                messages.warning(
                    request,
                    _("认购书 %(n)s 已生成；折扣超出您的权限，已提交%(level)s审批。")
                    % {"n": deal.number, "level": role_name(req.level) if req else ""},
                )
            else:
                messages.success(
                    request,
                    _("认购书 %(n)s 已生成，等待财务确认定金后房间转为认购。") % {"n": deal.number},
                )
            return redirect(deal)
    return _detail(request, project, deal, status=400, subscribe_form=form)


@login_required
def deal_quote(request, project_pk, pk):
    """The live price preview of the subscribe form (htmx partial)."""
    project = _project(request, project_pk)
    deal = _deal(request, project, pk)
    if not rules.abilities(request.user, deal)["subscribe"]:
        raise Http404
    form = _subscribe_form(request, project, deal, request.GET)
    return render(
        request, "deals/parts/quote.html", {"quote": _quote(request, project, deal, form)}
    )


@require_POST
@login_required
def deal_release(request, project_pk, pk):
    return _act(
        request,
        project_pk,
        pk,
        ReleaseForm,
        "release_form",
        lambda deal, data: services.deal_release(
            actor=request.user, deal=deal, reason=data["reason"]
        ),
        _("已撤销，房间已恢复可售。"),
    )


@require_POST
@login_required
def deal_confirm(request, project_pk, pk):
    return _act(
        request,
        project_pk,
        pk,
        None,
        "",
        lambda deal, data: services.deal_confirm_deposit(actor=request.user, deal=deal),
        _("定金已确认，房间已转为认购。"),
    )


@require_POST
@login_required
def deal_clause(request, project_pk, pk):
    return _act(
        request,
        project_pk,
        pk,
        ClauseForm,
        "clause_form",
        lambda deal, data: services.clause_add(actor=request.user, deal=deal, text=data["text"]),
        _("已提交特殊条款，等待销售总监批准。"),
    )


@require_POST
@login_required
def deal_contract(request, project_pk, pk):
    return _act(
        request,
        project_pk,
        pk,
        ContractForm,
        "contract_form",
        lambda deal, data: services.deal_contract(actor=request.user, deal=deal, **data),
        lambda deal: _("已签约，合同编号 %(n)s。") % {"n": deal.contract_number},
    )


@require_POST
@login_required
def deal_filing(request, project_pk, pk):
    return _act(
        request,
        project_pk,
        pk,
        FilingForm,
        "filing_form",
        lambda deal, data: services.contract_update_filing(actor=request.user, deal=deal, **data),
        _("已更新网签备案。"),
    )


@require_POST
@login_required
def deal_scan_upload(request, project_pk, pk):
    return _act(
        request,
        project_pk,
        pk,
        ScanForm,
        "scan_form",
        lambda deal, data: services.contract_upload_scan(
            actor=request.user, deal=deal, upload=data["contract_scan"]
        ),
        _("已上传合同扫描件。"),
    )


def _request_done(req) -> str:
    if req.status == ApprovalStatus.APPROVED:
        return _("已办理（%(kind)s）。") % {"kind": req.get_kind_display()}
    return _("已提交%(kind)s申请，等待%(level)s审批。") % {
        "kind": req.get_kind_display(),
        "level": role_name(req.level),
    }


def _unit_by_number(project, number: str) -> Unit:
    """The page names the new unit by its number (as on the board)."""
    number = (number or "").strip()
    if not number:
        raise invalid("unit", "请填写换入房号")
    unit = Unit.objects.filter(project=project, number=number).first()
    if unit is None:
        raise invalid("unit", f"本项目没有房号为 {number} 的房间")
    return unit


def _exchange(request, deal, data):
    return changes.exchange_request(
        actor=request.user,
        deal=deal,
        unit=_unit_by_number(deal.project, data["unit"]),
        reason=data["reason"],
    )


@require_POST
@login_required
def deal_exchange(request, project_pk, pk):
    return _act(
        request,
        project_pk,
        pk,
        lambda *a: ExchangeForm(*a, prefix="ex"),
        "exchange_form",
        lambda deal, data: _exchange(request, deal, data),
        _request_done,
    )


@require_POST
@login_required
def deal_rename(request, project_pk, pk):
    project = _project(request, project_pk)
    deal = _deal(request, project, pk)
    form = _rename_form(request, project, deal, request.POST)
    if form.is_valid():
        try:
            req = changes.rename_request(
                actor=request.user,
                deal=deal,
                buyers=form.buyer_list(),
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            refused(exc)
            form_error(form, exc)
        else:
            messages.success(request, _request_done(req))
            return redirect(deal)
    return _detail(request, project, deal, status=400, rename_form=form)


@require_POST
@login_required
def deal_cancel(request, project_pk, pk):
    return _act(
        request,
        project_pk,
        pk,
        lambda *a: CancelForm(*a, prefix="cx"),
        "cancel_form",
        lambda deal, data: changes.cancel_request(actor=request.user, deal=deal, **data),
        _request_done,
    )


@require_POST
@login_required
def deal_dispute(request, project_pk, pk):
    return _act(
        request,
        project_pk,
        pk,
        DisputeForm,
        "dispute_form",
        lambda deal, data: changes.cancellation_dispute(
            actor=request.user, deal=deal, dispute=data["dispute"], note=data["dispute_note"]
        ),
        _("已更新争议状态。"),
    )


@require_POST
@login_required
def deal_refund_paid(request, project_pk, pk):
    return _act(
        request,
        project_pk,
        pk,
        None,
        "",
        lambda deal, data: changes.cancellation_refund_paid(actor=request.user, deal=deal),
        _("已登记退款已付。"),
    )


@login_required
def deal_scan(request, project_pk, pk):
    """The scanned contract, served from outside the web root to permitted users only."""
    from loupan.core.uploads import serve_document

    project = _project(request, project_pk)
    deal = _deal(request, project, pk)
    if not deal.contract_scan:
        raise Http404
    if not rules.can_see_scan(request.user, deal):
        raise PermissionDenied(_("您没有查看合同扫描件的权限"))
    return serve_document(deal.contract_scan, deal.contract_number or str(deal.pk))


# --- printables -------------------------------------------------------------------------


def _print_context(request, project, deal):
    return {
        "project": project,
        "deal": deal,
        "units": list(
            DealUnit.objects.filter(deal=deal)
            .select_related("unit__building", "unit__layout")
            .order_by("-is_main", "pk")
        ),
        "contact": customer_selectors.contact(request.user, deal.customer),
        "printed_at": timezone.localtime(),
    }


@login_required
def deal_slip(request, project_pk, pk):
    """房位确认单: the unit confirmation slip of a reservation, to print and sign."""
    project = _project(request, project_pk)
    deal = _deal(request, project, pk)
    return render(request, "deals/print_slip.html", _print_context(request, project, deal))


@login_required
def deal_agreement(request, project_pk, pk):
    """认购书: the subscription agreement with every amount also in capital numerals."""
    project = _project(request, project_pk)
    deal = _deal(request, project, pk)
    if not deal.number:
        raise Http404
    context = _print_context(request, project, deal)
    context.update(
        {
            "buyers": [
                (b, customer_selectors.contact(request.user, b.customer))
                for b in deal.buyers.select_related("customer")
            ],
            "steps": list(deal.discounts.all()),
            "clauses": [c for c in deal.clauses.all() if c.approved],
            "upper": {
                "list_total": rmb_upper(deal.list_total or 0),
                "total": rmb_upper(deal.total or 0),
                "deposit": rmb_upper(deal.deposit or 0),
                "down_payment": rmb_upper(deal.down_payment)
                if deal.down_payment is not None
                else "",
            },
        }
    )
    return render(request, "deals/print_agreement.html", context)


# --- settings 交易设置 -------------------------------------------------------------------


def _settings_project(request, project_pk):
    project = get_object_or_404(project_list(user=request.user), pk=project_pk)
    _require(request, "deal.configure", project, _("您没有设置交易规则的权限"))
    return project


def _settings_page(request, project, *, status=200, policy_form=None, authority_form=None):
    policy = rules.policy(project)
    levels = [(code, role_name(code), rules.authority(project, code)) for code in rules.chain()]
    return render(
        request,
        "deals/deal_settings.html",
        {
            "project": project,
            "policy_form": policy_form or PolicyForm(instance=policy),
            "authority_form": authority_form or AuthorityForm(levels=levels),
            "discount_types": DiscountType.objects.filter(project=project).order_by(
                "-is_active", "sort_order", "pk"
            ),
            "type_form": DiscountTypeForm(),
        },
        status=status,
    )


@login_required
def deal_settings(request, project_pk):
    """交易设置: the reservation time, signing period and deposit cap; the discount
    authority of each level; the project's discount types."""
    project = _settings_project(request, project_pk)
    if request.method != "POST":
        return _settings_page(request, project)
    form = PolicyForm(request.POST, instance=rules.policy(project))
    if form.is_valid():
        try:
            settings_services.deal_policy_update(
                actor=request.user, project=project, **form.cleaned_data
            )
        except DomainError as exc:
            refused(exc)
            form_error(form, exc)
        else:
            messages.success(request, _("已保存交易设置。"))
            return redirect("deals:deal_settings", project.pk)
    return _settings_page(request, project, status=400, policy_form=form)


@require_POST
@login_required
def deal_settings_authority(request, project_pk):
    project = _settings_project(request, project_pk)
    levels = [(code, role_name(code), None) for code in rules.chain()]
    form = AuthorityForm(request.POST, levels=levels)
    if form.is_valid():
        try:
            settings_services.discount_authority_set(
                actor=request.user, project=project, max_pcts=form.cleaned_data
            )
        except DomainError as exc:
            refused(exc)
            form_error(form, exc)
        else:
            messages.success(request, _("已保存折扣权限。"))
            return redirect("deals:deal_settings", project.pk)
    return _settings_page(request, project, status=400, authority_form=form)


def _type_data(form) -> dict:
    data = dict(form.cleaned_data)
    if data.get("value") is None:
        data["value"] = ""
    return data


@login_required
def discount_type_form(request, project_pk, pk=None):
    project = _settings_project(request, project_pk)
    instance = (
        get_object_or_404(DiscountType.objects.filter(project=project), pk=pk) if pk else None
    )
    form = DiscountTypeForm(
        request.POST or None,
        instance=DiscountType.objects.get(pk=instance.pk) if instance else None,
    )
    if request.method == "POST" and form.is_valid():
        try:
            if instance is None:
                settings_services.discount_type_create(
                    actor=request.user, project=project, data=_type_data(form)
                )
            else:
                settings_services.discount_type_update(
                    actor=request.user, discount_type=instance, data=_type_data(form)
                )
        except DomainError as exc:
            refused(exc)
            form_error(form, exc)
        else:
            messages.success(request, _("已保存折扣类型。"))
            return redirect("deals:deal_settings", project.pk)
    return render(
        request,
        "deals/discount_type_form.html",
        {"project": project, "form": form, "object": instance},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@login_required
def discount_type_active(request, project_pk, pk):
    project = _settings_project(request, project_pk)
    discount_type = get_object_or_404(DiscountType.objects.filter(project=project), pk=pk)
    active = request.POST.get("active") == "1"
    try:
        settings_services.discount_type_set_active(
            actor=request.user, discount_type=discount_type, active=active
        )
    except DomainError as exc:
        refused(exc)
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            (_("已启用「%(n)s」。") if active else _("已停用「%(n)s」。"))
            % {"n": discount_type.name},
        )
    return redirect("deals:deal_settings", project.pk)
