"""The deal page and its actions: reserve (保留单), then on the deal the actions the
viewer may take (``rules.abilities``): subscribe with its live price, release, confirm
the deposit, special clauses, contract, filing, the contract scan, and the changes after
subscription (exchange, rename, cancellation, its dispute and refund).

An action loads the deal and calls its service (``core.pages.run_action``): success goes
back to the deal with a message; a refusal goes next to the form's field on the page
drawn again (400), or on top of the deal as a message when the action has no form; a
missing permission is a 403. The page is drawn only to show a refusal."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loupan.accounts import access
from loupan.accounts.role_table import role_label
from loupan.approvals import services as approvals_engine
from loupan.approvals.models import ApprovalStatus, ApprovalStep
from loupan.approvals.selectors import labelled
from loupan.audit.models import AuditEntry
from loupan.audit.services import object_label
from loupan.core.errors import invalid
from loupan.core.identity import display_phone
from loupan.core.masking import can_see_floor_price, mask_phone
from loupan.core.money import rmb_upper
from loupan.core.pages import project_page, run_action
from loupan.core.uploads import serve_document
from loupan.customers import selectors as customer_selectors
from loupan.customers.models import Customer
from loupan.inventory.models import Unit

from .. import changes, contracts, ports, rules, services
from ..forms import (
    CancelForm,
    ClauseForm,
    ContractForm,
    DisputeForm,
    ExchangeForm,
    FilingForm,
    ReleaseForm,
    RenameForm,
    ReserveForm,
    ScanForm,
    SubscribeForm,
    SupplementForm,
    buyer_labels,
)
from ..models import SUBSCRIPTION_STATUSES, Deal, DealStatus, DealUnit, DiscountType
from .common import SEE, deal_of, deal_page

# --- reserve ----------------------------------------------------------------------------


def _int_param(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc


@project_page(*SEE, act="deal.add")
def deal_reserve(request, project):
    """保留单: the consultant picks one of their own customers (search by name, pinyin
    initials or phone tail) for the unit chosen on the board, and confirms."""
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
        ok, deal = run_action(
            request,
            lambda: services.deal_reserve(
                actor=request.user,
                unit=unit,
                customer=form.cleaned_data["customer"],
                note=form.cleaned_data["note"],
            ),
            success=lambda deal: (
                _("已预留 %(unit)s，保留单号 %(number)s，请在 %(until)s 前完成认购。")
                % {
                    "unit": unit.number,
                    "number": deal.reservation_number,
                    "until": timezone.localtime(deal.reservation_expires_at).strftime(
                        "%Y-%m-%d %H:%M"
                    ),
                }
            ),
            form=form,
        )
        if ok:
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


# --- the buyer forms --------------------------------------------------------------------
# Bound to a POST they only parse: a buyer field accepts any customer the user may see;
# the short list it offers is read when the page is drawn (``_offer``).


def _visible_customers(request, project):
    return Customer.objects.restrict(request.user, "view").filter(
        project=project, anonymized_at__isnull=True
    )


def _offered(request, project, deal):
    """The buyers a select offers: the household of the deal's customer and the
    consultant's own customers, newest first."""
    visible = _visible_customers(request, project)
    offered = visible.filter(owner_id=deal.consultant_id)
    if deal.customer.household_id:
        offered = visible.filter(household_id=deal.customer.household_id) | offered
    return offered.order_by("-registered_at", "-pk")


def _offer(rows, suggestions) -> None:
    """Offer ``suggestions`` in the buyer select of each of a form's ``rows``."""
    labels = buyer_labels(suggestions)
    for buyer, _share in rows:
        buyer.field.widget.choices = labels


def _subscribe_form(request, project, deal, data=None):
    return SubscribeForm(
        data,
        deal=deal,
        customers=_visible_customers(request, project).exclude(pk=deal.customer_id),
        discount_types=DiscountType.objects.filter(project=project, is_active=True),
        initial={"share_0": "100"},
        prefix="sub",
    )


def _current_buyers(deal):
    return deal.buyers.select_related("customer").order_by("sort_order", "pk")


def _rename_form(request, project, deal, data=None, *, current=()):
    """The buyers after the change; unbound, the ``current`` buyers fill the rows."""
    # a current buyer stays valid even when the requester could not pick them anew
    customers = _visible_customers(request, project) | Customer.objects.filter(
        pk__in=_current_buyers(deal).values("customer_id")
    )
    initial = {}
    for i, b in enumerate(current[: RenameForm.ROWS]):
        initial[f"buyer_{i}"], initial[f"share_{i}"] = b.customer_id, b.share
    return RenameForm(data, customers=customers, initial=initial, prefix="rn")


def _rename_suggestions(request, project, deal, current) -> list:
    """The current buyers first, then the usual short list."""
    seen = {b.customer_id for b in current}
    offered = _offered(request, project, deal)[:100]
    return [b.customer for b in current] + [c for c in offered if c.pk not in seen]


# --- the deal page ----------------------------------------------------------------------


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
        "final_level_name": role_label(approval.final),
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
        changed = entry.changes if isinstance(entry.changes, dict) else {}
        extra = entry.extra if isinstance(entry.extra, dict) else {}
        status = changed.get("status")
        before, after = (status or [None, None])[:2]
        # A status change says it all (a subscription sets a dozen terms at once);
        # otherwise the names of the fields that changed (filing, scan …).
        other = [
            labels.get(name, name)
            for name in changed
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
    """The deal page; ``forms``: the form of an action that was refused, to show again
    with its reasons (the others are drawn empty)."""
    user = request.user
    can = rules.abilities(user, deal)
    show_floor = can_see_floor_price(user, project)
    approvals = labelled(
        list(
            deal.approvals.select_related("requested_by", "decided_by")
            .prefetch_related(
                Prefetch("steps", queryset=ApprovalStep.objects.select_related("actor"))
            )
            .order_by("requested_at", "pk")
        )
    )
    for req in approvals:
        req.can_decide = approvals_engine.can_decide(user, req)[0]
        req.can_withdraw = approvals_engine.can_withdraw(user, req)[0]
    context = {
        "project": project,
        "object": deal,
        "deal": deal,
        "can": can,
        # how money is received (the payments ledger's methods, through the port)
        "payment_methods": ports.money.methods(),
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
        "overdue": deal.status in SUBSCRIPTION_STATUSES
        and deal.signing_deadline is not None
        and deal.signing_deadline < timezone.localdate(),
    }
    waiting = [
        r for r in approvals if r.kind in rules.CHANGE_KINDS and r.status == ApprovalStatus.PENDING
    ]
    context["change_waiting"] = waiting[0] if waiting else None
    context["changes"] = list(
        deal.changes.select_related("new_deal", "request__decided_by").order_by("at", "pk")
    )
    # the other ends of the deal's one-to-ones, joined by ``deal_of``
    context["origin"] = getattr(deal, "change_origin", None)
    context["exchanged_to"] = getattr(deal, "exchanged_to", None)
    context["cancellation"] = getattr(deal, "cancellation", None)
    if not waiting:
        if can["exchange"]:
            context["exchange_form"] = forms.get("exchange_form") or ExchangeForm(prefix="ex")
        if can["rename"]:
            current = list(_current_buyers(deal))
            form = forms.get("rename_form") or _rename_form(request, project, deal, current=current)
            _offer(form.rows, _rename_suggestions(request, project, deal, current))
            context["rename_form"] = form
        if can["cancel"]:
            context["cancel_form"] = forms.get("cancel_form") or CancelForm(
                prefix="cx", project=project
            )
            context["received"] = changes.received_of(deal)
    if can["dispute"]:
        c = context["cancellation"]
        context["dispute_form"] = forms.get("dispute_form") or DisputeForm(
            initial={"dispute": c.dispute, "dispute_note": c.dispute_note}
        )
    if can["subscribe"]:
        form = forms.get("subscribe_form") or _subscribe_form(request, project, deal)
        _offer(form.co_rows, _offered(request, project, deal).exclude(pk=deal.customer_id)[:100])
        context["subscribe_form"] = form
        context["quote"] = _quote(request, project, deal, form)
    if can["release"]:
        context["release_form"] = forms.get("release_form") or ReleaseForm()
    if can["clause"]:
        context["clause_form"] = forms.get("clause_form") or ClauseForm()
    if can["contract"] or "contract_form" in forms:  # a refusal is shown on its form
        context["contract_form"] = forms.get("contract_form") or ContractForm(
            initial={"signed_on": timezone.localdate()}
        )
    if can["filing"]:
        context["filing_form"] = forms.get("filing_form") or FilingForm(
            initial={"filing_status": deal.filing_status, "filing_number": deal.filing_number}
        )
    if can["upload"]:
        context["scan_form"] = forms.get("scan_form") or ScanForm()
    # the contract's documents: finance's review, the supplements (contracts.py)
    context["review"] = contracts.review_state(deal) if deal.number else None
    context["contract_template"] = contracts.printed_template(deal) if can["print"] else None
    context["supplements"] = contracts.supplements_of(deal) if can["documents"] else []
    if can["supplement"]:
        current = [s for s in context["supplements"] if not hasattr(s, "replaced_by")]
        context["supplement_form"] = forms.get("supplement_form") or SupplementForm(
            current=current, prefix="sup"
        )
    return render(request, "deals/deal_detail.html", context, status=status)


@deal_page
def deal_detail(request, project, pk):
    return _detail(request, project, deal_of(request, project, pk))


@deal_page
def deal_quote(request, project, pk):
    """The live price preview of the subscribe form (htmx partial)."""
    deal = deal_of(request, project, pk)
    if not rules.can_subscribe(request.user, deal)[0]:
        raise Http404
    form = _subscribe_form(request, project, deal, request.GET)
    return render(
        request, "deals/parts/quote.html", {"quote": _quote(request, project, deal, form)}
    )


@deal_page
def deal_scan(request, project, pk):
    """The scanned contract, served from outside the web root to permitted users only."""
    deal = deal_of(request, project, pk)
    if not deal.contract_scan:
        raise Http404
    if not rules.can_see_scan(request.user, deal):
        raise PermissionDenied(_("您没有查看合同扫描件的权限"))
    return serve_document(deal.contract_scan, deal.contract_number or str(deal.pk))


# --- the actions ------------------------------------------------------------------------


def _payment(request) -> dict:
    """How the money moved, as finance typed it (method, date, bank reference); the
    payments ledger checks it and names the field it refuses."""
    return {
        key: request.POST[key]
        for key in ("method", "paid_on", "bank_reference")
        if request.POST.get(key, "").strip()
    }


def _action(request, project, deal, call, *, success, **form):
    """Run one action of the deal page. ``form``: the action's form by its name on the
    page (``release_form=…``), none for a button; ``call`` reads its cleaned data."""
    bound = next(iter(form.values()), None)
    if bound is None or bound.is_valid():
        ok, _result = run_action(request, call, success=success, form=bound)
        if ok or bound is None:
            return redirect(deal)
    return _detail(request, project, deal, status=400, **form)


@require_POST
@deal_page
def deal_subscribe(request, project, pk):
    deal = deal_of(request, project, pk)
    form = _subscribe_form(request, project, deal, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        ok, subscribed = run_action(
            request,
            lambda: services.deal_subscribe(
                actor=request.user,
                deal=deal,
                buyers=form.buyer_list(),
                payment_method=data["payment_method"],
                deposit=data["deposit"],
                down_payment=data["down_payment"],
                discounts=form.discount_list(),
                reason=data["reason"],
            ),
            form=form,
        )
        if ok:
            _subscribed(request, subscribed)
            return redirect(subscribed)
    return _detail(request, project, deal, status=400, subscribe_form=form)


def _subscribed(request, deal) -> None:
    if deal.status == DealStatus.APPROVAL:
        req = deal.approvals.filter(status=ApprovalStatus.PENDING).first()
        messages.warning(
            request,
            _("认购书 %(n)s 已生成；折扣超出您的权限，已提交%(level)s审批。")
            % {"n": deal.number, "level": role_label(req.level) if req else ""},
        )
    else:
        messages.success(
            request,
            _("认购书 %(n)s 已生成，等待财务确认定金后房间转为认购。") % {"n": deal.number},
        )


@require_POST
@deal_page
def deal_release(request, project, pk):
    deal = deal_of(request, project, pk)
    form = ReleaseForm(request.POST)
    return _action(
        request,
        project,
        deal,
        lambda: services.deal_release(
            actor=request.user, deal=deal, reason=form.cleaned_data["reason"]
        ),
        success=_("已撤销，房间已恢复可售。"),
        release_form=form,
    )


@require_POST
@deal_page
def deal_confirm(request, project, pk):
    deal = deal_of(request, project, pk)
    return _action(
        request,
        project,
        deal,
        lambda: services.deal_confirm_deposit(actor=request.user, deal=deal, **_payment(request)),
        success=_("定金已确认，房间已转为认购。"),
    )


@require_POST
@deal_page
def deal_clause(request, project, pk):
    deal = deal_of(request, project, pk)
    form = ClauseForm(request.POST)
    return _action(
        request,
        project,
        deal,
        lambda: services.clause_add(actor=request.user, deal=deal, text=form.cleaned_data["text"]),
        success=_("已提交特殊条款，等待销售总监批准。"),
        clause_form=form,
    )


@require_POST
@deal_page
def deal_contract(request, project, pk):
    deal = deal_of(request, project, pk)
    form = ContractForm(request.POST)
    return _action(
        request,
        project,
        deal,
        lambda: services.deal_contract(actor=request.user, deal=deal, **form.cleaned_data),
        success=lambda deal: _("已签约，合同编号 %(n)s。") % {"n": deal.contract_number},
        contract_form=form,
    )


@require_POST
@deal_page
def deal_filing(request, project, pk):
    deal = deal_of(request, project, pk)
    form = FilingForm(request.POST)
    return _action(
        request,
        project,
        deal,
        lambda: services.contract_update_filing(actor=request.user, deal=deal, **form.cleaned_data),
        success=_("已更新网签备案。"),
        filing_form=form,
    )


@require_POST
@deal_page
def deal_scan_upload(request, project, pk):
    deal = deal_of(request, project, pk)
    form = ScanForm(request.POST, request.FILES)
    return _action(
        request,
        project,
        deal,
        lambda: services.contract_upload_scan(
            actor=request.user, deal=deal, upload=form.cleaned_data["contract_scan"]
        ),
        success=_("已上传合同扫描件。"),
        scan_form=form,
    )


# --- changes after subscription ---------------------------------------------------------


def _request_done(req) -> str:
    if req.status == ApprovalStatus.APPROVED:
        return _("已办理（%(kind)s）。") % {"kind": req.get_kind_display()}
    return _("已提交%(kind)s申请，等待%(level)s审批。") % {
        "kind": req.get_kind_display(),
        "level": role_label(req.level),
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


@require_POST
@deal_page
def deal_exchange(request, project, pk):
    deal = deal_of(request, project, pk)
    form = ExchangeForm(request.POST, prefix="ex")
    return _action(
        request,
        project,
        deal,
        lambda: changes.exchange_request(
            actor=request.user,
            deal=deal,
            unit=_unit_by_number(project, form.cleaned_data["unit"]),
            reason=form.cleaned_data["reason"],
        ),
        success=_request_done,
        exchange_form=form,
    )


@require_POST
@deal_page
def deal_rename(request, project, pk):
    deal = deal_of(request, project, pk)
    form = _rename_form(request, project, deal, request.POST)
    return _action(
        request,
        project,
        deal,
        lambda: changes.rename_request(
            actor=request.user,
            deal=deal,
            buyers=form.buyer_list(),
            reason=form.cleaned_data["reason"],
        ),
        success=_request_done,
        rename_form=form,
    )


@require_POST
@deal_page
def deal_cancel(request, project, pk):
    deal = deal_of(request, project, pk)
    form = CancelForm(request.POST, prefix="cx", project=project)
    return _action(
        request,
        project,
        deal,
        lambda: changes.cancel_request(actor=request.user, deal=deal, **form.cleaned_data),
        success=_request_done,
        cancel_form=form,
    )


@require_POST
@deal_page
def deal_dispute(request, project, pk):
    deal = deal_of(request, project, pk)
    form = DisputeForm(request.POST)
    return _action(
        request,
        project,
        deal,
        lambda: changes.cancellation_dispute(
            actor=request.user,
            deal=deal,
            dispute=form.cleaned_data["dispute"],
            note=form.cleaned_data["dispute_note"],
        ),
        success=_("已更新争议状态。"),
        dispute_form=form,
    )


@require_POST
@deal_page
def deal_refund_paid(request, project, pk):
    deal = deal_of(request, project, pk)
    return _action(
        request,
        project,
        deal,
        lambda: changes.cancellation_refund_paid(
            actor=request.user, deal=deal, **_payment(request)
        ),
        success=_("已登记退款已付。"),
    )
