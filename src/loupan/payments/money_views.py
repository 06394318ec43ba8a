"""The money pages (issue 13): a deal's money (schedule, receipts, ledger, collection,
deferrals, and finance's forms), receipts and their printable 收据, the ledger 收付款
流水, the customer payment detail list 客户交款情况明细表, the collection list 催款, the
deferred payments 延期付款客户一览表, the day sheet 日清日结 and the receipt books 票据
管理. Views parse and call one service; the rules are the services' and ``rules``'."""

import datetime

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from loupan.accounts import access
from loupan.approvals.models import ApprovalRequest
from loupan.core import xlsx
from loupan.core.errors import invalid
from loupan.core.masking import mask_id_number
from loupan.core.money import ZERO, rmb_upper
from loupan.core.pages import (
    ProjectListView,
    project_page,
    run_action,
    used_filters,
    xlsx_download,
)
from loupan.core.views import paginate, query_without_page, refused
from loupan.core.xlsx import col as C
from loupan.customers import exports as customer_exports
from loupan.deals.models import Deal, PaymentMethod

from . import arrears, closing, rules, selectors, services
from .models import (
    CloseStatus,
    CollectionRecord,
    DayClose,
    Deferral,
    ItemKind,
    LedgerEntry,
    Receipt,
    ReceiptBook,
    ScheduleItem,
)
from .money_forms import (
    BookForm,
    CollectionForm,
    DaySubmitForm,
    DeferralForm,
    DetailFilterSet,
    EntryFilterSet,
    InvoiceForm,
    PaymentForm,
    ReasonForm,
    ReceiptFilterSet,
)
from .schedule import schedule_set

SEE = selectors.SEE
money_page = project_page(*SEE)


def head(request, project, tab) -> dict:
    """What the money pages' head shows: the tabs the user may open."""
    user = request.user
    return {
        "project": project,
        "tab": tab,
        "query": query_without_page(request),
        "may_all": rules.may_see_all(user, project),
        "may_record": access.has_perm(user, "payment.record", project),
        "may_configure": access.has_perm(user, "payment.configure", project),
        "may_commission": access.has_perm(user, "commission.view", project)
        or access.has_perm(user, "commission.view_own", project),
    }


def _export(view, queryset):
    """A money list's page as xlsx (``view.export_content``): for those who see the
    project's money, audited; it leaves under the manager's consent where the project
    asks it (registered in ``PaymentsConfig.ready`` as ``payments.<tab>``)."""
    return xlsx_download(
        view.request, view.project, view.export_report, lambda: view.export_content(queryset)
    )


# The money lists that name the customers, by their tab: they leave under the manager's
# consent where the project asks it (``customers.exports.register_list``).
EXPORTABLE: dict[str, type] = {}


def _export_checked(user, project, report, what, columns, rows, filters):
    if not rules.may_see_all(user, project):
        raise access.permission_error("payment.view")
    # it names the customers: with the manager's consent where the project wants it
    customer_exports.require_consent(project)
    content, _count = xlsx.export_audited(
        actor=user,
        project=project,
        what=what,
        sheet=report,
        columns=columns,
        rows=rows,
        filters={"report": report, **filters},
    )
    return content


# --- 客户交款情况明细表 ------------------------------------------------------------------------

DETAIL_COLUMNS = [
    C("method", "付款方式", width=12),
    C("number", "认购书编号", width=18),
    C("contract", "合同编号", width=18),
    C("unit", "房间", width=12),
    C("customer", "客户", width=12),
    C("consultant", "置业顾问", width=10),
    C("total", "成交总价（元）", "money", width=14),
    C("received", "已收（元）", "money", width=14),
    C("balance", "未收（元）", "money", width=14),
    C("overdue", "逾期未收（元）", "money", width=14),
    C("next_due", "下次应付日期", "text", width=12),
    C("last_paid", "最近收款日期", "text", width=12),
    C("mortgage", "按揭进度", width=12),
]


def detail_row(d) -> list:
    mortgage = getattr(d, "mortgage", None)
    return [
        d.get_payment_method_display(),
        d.number,
        d.contract_number,
        d.unit.number,
        d.customer.name,
        d.consultant.real_name or d.consultant.username,
        d.total,
        d.received,
        d.balance,
        d.overdue,
        f"{d.next_due:%Y-%m-%d}" if d.next_due else "",
        f"{d.last_paid:%Y-%m-%d}" if d.last_paid else "",
        mortgage.get_stage_display() if mortgage else "",
    ]


class DetailList(ProjectListView):
    """客户交款情况明细表 (seed 002 二.5(1)): every paying deal, grouped by payment
    method, with received, unpaid and overdue amounts; filterable, exportable to xlsx
    and printable (``?print=1``)."""

    see = SEE
    filterset_class = DetailFilterSet
    template_name = "payments/detail_list.html"
    ordering = ("payment_method", "unit__number", "pk")

    def get_queryset(self):
        return selectors.detail_rows(self.request.user, self.project)

    def get_filterset(self, queryset):
        fs = self.filterset_class(self.request.GET or None, queryset=queryset, project=self.project)
        if not rules.may_see_all(self.request.user, self.project):
            del fs.filters["consultant"]
        return fs

    def get(self, request, *args, **kwargs):
        if request.GET.get("print"):
            filterset, qs = self._queryset()
            rows = list(qs[:2000])
            return render(
                request,
                "payments/detail_print.html",
                {
                    "project": self.project,
                    "groups": _group_by_method(rows),
                    "printed_at": timezone.localtime(),
                    "truncated": len(rows) == 2000,
                },
            )
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **context):
        context["groups"] = _group_by_method(context["page"])
        return {**head(self.request, self.project, "detail"), **context}

    export_report = "客户交款情况明细表"

    def export_content(self, queryset) -> bytes:
        return _export_checked(
            self.request.user,
            self.project,
            self.export_report,
            "payments.deal",
            DETAIL_COLUMNS,
            (detail_row(d) for d in queryset.iterator(chunk_size=500)),
            used_filters(self.request),
        )

    def export(self, queryset):
        return _export(self, queryset)


def _group_by_method(deals) -> list:
    groups: list = []
    for d in deals:
        if not groups or groups[-1]["method"] != d.payment_method:
            groups.append(
                {
                    "method": d.payment_method,
                    "label": PaymentMethod(d.payment_method).label if d.payment_method else "—",
                    "rows": [],
                    "total": ZERO,
                    "received": ZERO,
                    "overdue": ZERO,
                }
            )
        g = groups[-1]
        g["rows"].append(d)
        g["total"] += d.total or ZERO
        g["received"] += d.received
        g["overdue"] += d.overdue
    return groups


# --- a deal's money -----------------------------------------------------------------------------


def deal_for_money(request, project, pk) -> Deal:
    return get_object_or_404(
        selectors.deals_for_money(request.user, project).select_related(
            "unit", "customer", "consultant", "project"
        ),
        pk=pk,
    )


@money_page
def deal_money(request, project, pk, forms=None):
    """A deal's money: its schedule as of today (paid, owed, days overdue, late fee),
    receipts, every ledger entry, collection records and deferrals; finance records
    money here, the consultant records collection contacts and asks for deferrals."""
    deal = deal_for_money(request, project, pk)
    state = arrears.schedule_state(deal)
    can = rules.abilities(request.user, deal)
    items = [(s.item.pk, f"{s.item.seq}. {s.item.name} {s.item.amount}") for s in state]
    forms = forms or {}
    payment_form = forms.get("record") or PaymentForm(initial={"payer": deal.customer.name})
    payment_form.fields["item"].widget.choices = [("", _("按应付日期先后")), *items]
    collection_form = forms.get("collect") or CollectionForm(
        initial={"contact": deal.customer.name}
    )
    collection_form.fields["item"].widget.choices = [("", "—"), *items]
    deferral_form = forms.get("defer") or DeferralForm()
    deferral_form.fields["item"].widget.choices = [
        (s.item.pk, f"{s.item.seq}. {s.item.name} {s.item.due_date:%Y-%m-%d}")
        for s in state
        if s.owed > 0
    ]
    entries = list(
        LedgerEntry.objects.filter(deal=deal)
        .select_related("item", "receipt", "created_by", "reverses")
        .order_by("paid_on", "pk")
    )
    fee_due = arrears.late_fee_due(deal, state=state)
    context = {
        **head(request, project, "detail"),
        "deal": deal,
        "state": state,
        "totals": {
            "amount": sum((s.item.amount for s in state), ZERO),
            "paid": sum((s.paid for s in state), ZERO),
            "owed": sum((s.owed for s in state), ZERO),
            "late_fee": fee_due,
        },
        "received": services.received_of(deal),
        "entries": entries,
        "receipts": Receipt.objects.filter(deal=deal).order_by("issued_at", "pk"),
        "collections": CollectionRecord.objects.filter(deal=deal).select_related("by", "item"),
        "deferrals": Deferral.objects.filter(deal=deal).select_related("item", "request"),
        "can": can,
        "payment_form": payment_form,
        "collection_form": collection_form,
        "deferral_form": deferral_form,
    }
    return render(request, "payments/deal_money.html", context, status=400 if forms else 200)


def _deal_action(request, project, pk, key, form_class, call, success):
    deal = deal_for_money(request, project, pk)
    form = form_class(request.POST)
    if form.is_valid():
        ok, result = run_action(
            request, lambda: call(deal, form.cleaned_data), success=success, form=form
        )
        if ok:
            if isinstance(result, Receipt) and request.POST.get("print"):
                return redirect("payments:receipt_print", project.pk, result.pk)
            return redirect("payments:deal_money", project.pk, deal.pk)
    return deal_money(request, project.pk, pk, forms={key: form})


def _record(actor, deal, data: dict) -> Receipt:
    """The form's payment: to the chosen item, else oldest due first."""
    item = data.pop("item", None)
    allocations = [(item, data["amount"])] if item else None
    return services.payment_record(actor=actor, deal=deal, allocations=allocations, **data)


@require_POST
@money_page
def deal_record(request, project, pk):
    """Finance records money received; the receipt is issued at once."""
    return _deal_action(
        request,
        project,
        pk,
        "record",
        PaymentForm,
        lambda deal, d: _record(request.user, deal, d),
        lambda r: (
            _("已收款 %(amount)s 元，收据 %(number)s。") % {"amount": r.amount, "number": r.number}
        ),
    )


@require_POST
@money_page
def deal_collect(request, project, pk):
    def call(deal, d):
        item = ScheduleItem.objects.filter(deal=deal, pk=d.pop("item") or 0).first()
        return arrears.collection_record(actor=request.user, deal=deal, item=item, **d)

    return _deal_action(
        request, project, pk, "collect", CollectionForm, call, _("催款记录已保存。")
    )


@require_POST
@money_page
def deal_defer(request, project, pk):
    def call(deal, d):
        item = ScheduleItem.objects.filter(deal=deal, pk=d.pop("item")).first()
        if item is None:
            raise invalid("item", "该交易没有这一期款项")
        return arrears.deferral_request(actor=request.user, deal=deal, item=item, **d)

    return _deal_action(
        request, project, pk, "defer", DeferralForm, call, _("延期付款申请已提交审批。")
    )


@money_page
def deal_schedule(request, project, pk):
    """Finance edits the schedule: one row per item (kind, name, amount or percentage,
    due date); the items must sum to the deal total."""
    deal = deal_for_money(request, project, pk)
    error = None
    rows = [
        {
            "kind": s.item.kind,
            "name": s.item.name,
            "amount": s.item.amount,
            "percent": "",
            "due_date": s.item.due_date.isoformat(),
            "paid": s.paid,
        }
        for s in arrears.schedule_state(deal)
    ]
    if request.method == "POST":
        posted = []
        kinds, names = request.POST.getlist("kind"), request.POST.getlist("name")
        amounts, percents = request.POST.getlist("amount"), request.POST.getlist("percent")
        dates = request.POST.getlist("due_date")
        for i in range(len(kinds)):
            row = {
                "kind": kinds[i],
                "name": names[i] if i < len(names) else "",
                "amount": amounts[i] if i < len(amounts) else "",
                "percent": percents[i] if i < len(percents) else "",
                "due_date": dates[i] if i < len(dates) else "",
            }
            if any(str(v).strip() for k, v in row.items() if k != "kind"):
                posted.append(row)
        ok, _result = run_action(
            request,
            lambda: schedule_set(actor=request.user, deal=deal, rows=posted),
            success=_("付款计划已保存。"),
        )
        if ok:
            return redirect("payments:deal_money", project.pk, deal.pk)
        rows = posted
        error = True
    else:
        allowed, refusal = rules.can_edit_schedule(request.user, deal)
        if not allowed:
            refused(refusal)
    return render(
        request,
        "payments/deal_schedule.html",
        {
            **head(request, project, "detail"),
            "deal": deal,
            "rows": rows
            + [{"kind": "instalment", "name": "", "amount": "", "percent": "", "due_date": ""}],
            "kinds": ItemKind.choices,
            "error": error,
        },
        status=400 if error else 200,
    )


# --- receipts -----------------------------------------------------------------------------------

RECEIPT_COLUMNS = [
    C("number", "收据编号", width=20),
    C("serial", "票据号", width=10),
    C("paid_on", "收款日期", "text", width=12),
    C("unit", "房间", width=12),
    C("deal", "认购书编号 / 暂收用途", width=20),
    C("payer", "交款人", width=12),
    C("method", "收款方式", width=10),
    C("amount", "金额（元）", "money", width=14),
    C("mark", "状态", width=8),
    C("cashier", "收款人", width=10),
    C("invoice", "发票号码", width=16),
]


class ReceiptList(ProjectListView):
    """收据: every receipt of the project (a consultant: their own deals'), newest first."""

    see = SEE
    filterset_class = ReceiptFilterSet
    template_name = "payments/receipt_list.html"
    ordering = ("-issued_at", "-pk")

    def get_queryset(self):
        return (
            selectors.receipts_for(self.request.user, self.project)
            .select_related("deal__unit", "cashier")
            .prefetch_related("entries__reversed_by")
        )

    def get_context_data(self, **context):
        marks = {r.pk: services.receipt_mark(r) for r in context["page"]}
        return {**head(self.request, self.project, "receipts"), "marks": marks, **context}

    export_report = "收据"

    def export_content(self, queryset) -> bytes:
        def rows():
            for r in queryset.iterator(chunk_size=500):
                yield [
                    r.number,
                    r.form_serial or "",
                    f"{r.paid_on:%Y-%m-%d}",
                    r.deal.unit.number if r.deal_id else "",
                    r.deal.number if r.deal_id else r.reference,
                    r.payer,
                    r.get_method_display(),
                    r.amount,
                    services.receipt_mark(r),
                    r.cashier.real_name or r.cashier.username,
                    r.invoice_number,
                ]

        return _export_checked(
            self.request.user,
            self.project,
            self.export_report,
            "payments.receipt",
            RECEIPT_COLUMNS,
            rows(),
            used_filters(self.request),
        )

    def export(self, queryset):
        return _export(self, queryset)


def receipt_of(request, project, pk) -> Receipt:
    return get_object_or_404(
        selectors.receipts_for(request.user, project).select_related(
            "deal__unit__building",
            "deal__customer",
            "deal__consultant",
            "customer",
            "cashier",
            "book",
        ),
        pk=pk,
    )


@money_page
def receipt_detail(request, project, pk, forms=None):
    receipt = receipt_of(request, project, pk)
    entries = list(receipt.entries.select_related("item", "reversed_by", "reverses").order_by("pk"))
    forms = forms or {}
    context = {
        **head(request, project, "receipts"),
        "receipt": receipt,
        "deal": receipt.deal,
        "entries": entries,
        "mark": services.receipt_mark(receipt, entries),
        "upper": rmb_upper(receipt.amount),
        "requests": receipt_requests(receipt),
        "reverse_form": forms.get("reverse") or ReasonForm(),
        "invoice_form": forms.get("invoice")
        or InvoiceForm(
            initial={"invoice_number": receipt.invoice_number, "invoice_date": receipt.invoice_date}
        ),
        "can_keep": rules.can_keep_books(request.user, project)[0],
    }
    return render(request, "payments/receipt_detail.html", context, status=400 if forms else 200)


def receipt_requests(receipt):
    return ApprovalRequest.objects.filter(
        subject_type=ContentType.objects.get_for_model(Receipt), subject_id=receipt.pk
    ).select_related("requested_by")


@require_POST
@money_page
def receipt_reverse(request, project, pk):
    receipt = receipt_of(request, project, pk)
    form = ReasonForm(request.POST)
    if form.is_valid():
        ok, _r = run_action(
            request,
            lambda: services.reversal_request(
                actor=request.user, receipt=receipt, reason=form.cleaned_data["reason"]
            ),
            success=_("红冲申请已提交审批。"),
            form=form,
        )
        if ok:
            return redirect("payments:receipt_detail", project.pk, receipt.pk)
    return receipt_detail(request, project.pk, pk, forms={"reverse": form})


@require_POST
@money_page
def receipt_invoice(request, project, pk):
    receipt = receipt_of(request, project, pk)
    form = InvoiceForm(request.POST)
    if form.is_valid():
        ok, _r = run_action(
            request,
            lambda: services.invoice_record(
                actor=request.user, receipt=receipt, **form.cleaned_data
            ),
            success=_("发票信息已登记。"),
            form=form,
        )
        if ok:
            return redirect("payments:receipt_detail", project.pk, receipt.pk)
    return receipt_detail(request, project.pk, pk, forms={"invoice": form})


@money_page
def receipt_print(request, project, pk):
    """The printable receipt 收据: amount in digits and in capital numerals, the payer
    with a masked ID number, unit, items, method, cashier, and 作废 / 红冲 when reversed."""
    receipt = receipt_of(request, project, pk)
    entries = list(receipt.entries.select_related("item", "reversed_by").order_by("pk"))
    return render(
        request,
        "payments/receipt_print.html",
        {
            "project": project,
            "receipt": receipt,
            "deal": receipt.deal,
            "entries": [e for e in entries if e.kind == "receipt"],
            "mark": services.receipt_mark(receipt, entries),
            "upper": rmb_upper(receipt.amount),
            "id_number": mask_id_number(
                (receipt.deal.customer if receipt.deal_id else receipt.customer).id_number or ""
            ),
            "printed_at": timezone.localtime(),
        },
    )


# --- the ledger ------------------------------------------------------------------------------

ENTRY_COLUMNS = [
    C("paid_on", "入账日期", "text", width=12),
    C("kind", "类型", width=8),
    C("method", "收付方式", width=10),
    C("amount", "金额（元）", "money", width=14),
    C("unit", "房间", width=12),
    C("deal", "认购书编号 / 暂收用途", width=20),
    C("item", "款项", width=12),
    C("receipt", "收据编号", width=20),
    C("payer", "交款人", width=12),
    C("bank_reference", "银行流水号", width=20),
    C("reason", "说明", width=24),
    C("by", "经办人", width=10),
]


class LedgerList(ProjectListView):
    """收付款流水: every entry of the project's ledger (a consultant: their own deals'),
    red entries beside their originals."""

    see = SEE
    filterset_class = EntryFilterSet
    template_name = "payments/ledger_list.html"
    ordering = ("-paid_on", "-pk")

    def get_queryset(self):
        return selectors.entries_for(self.request.user, self.project).select_related(
            "deal__unit", "item", "receipt", "created_by", "reverses__receipt"
        )

    def get_context_data(self, **context):
        return {**head(self.request, self.project, "ledger"), **context}

    export_report = "收付款流水"

    def export_content(self, queryset) -> bytes:
        def rows():
            for e in queryset.iterator(chunk_size=500):
                yield [
                    f"{e.paid_on:%Y-%m-%d}",
                    e.get_kind_display(),
                    e.get_method_display(),
                    e.amount,
                    e.deal.unit.number if e.deal_id else "",
                    e.deal.number if e.deal_id else e.reference,
                    e.item.name if e.item else "",
                    e.receipt.number if e.receipt else "",
                    e.payer,
                    e.bank_reference,
                    e.reason,
                    e.created_by.real_name or e.created_by.username,
                ]

        return _export_checked(
            self.request.user,
            self.project,
            self.export_report,
            "payments.ledgerentry",
            ENTRY_COLUMNS,
            rows(),
            used_filters(self.request),
        )

    def export(self, queryset):
        return _export(self, queryset)


# --- collection, deferrals --------------------------------------------------------------------


@money_page
def collection_list(request, project):
    """催款: the overdue items per consultant with the amount and days overdue, the last
    contact and promise (a consultant: their own buyers)."""
    today = timezone.localdate()
    page = paginate(request, selectors.collection_items(request.user, project, today), 200)
    groups: list = []
    for item in page:
        if not groups or groups[-1][0] != item.deal.consultant:
            groups.append((item.deal.consultant, []))
        groups[-1][1].append((item, (today - item.due_date).days))
    return render(
        request,
        "payments/collection_list.html",
        {**head(request, project, "collection"), "page": page, "groups": groups, "today": today},
    )


@money_page
def deferral_list(request, project):
    """延期付款客户一览表 (seed 002 二.5(2)): every deferral asked, with its decision."""
    page = paginate(request, selectors.deferrals_for(request.user, project), 100)
    return render(
        request,
        "payments/deferral_list.html",
        {**head(request, project, "deferrals"), "page": page},
    )


# --- the day sheet 日清日结 ----------------------------------------------------------------------


@project_page("payment.record", "payment.review", "payment.view")
def day_list(request, project):
    today = timezone.localdate()
    closes = DayClose.objects.filter(project=project).select_related("prepared_by", "reviewed_by")
    return render(
        request,
        "payments/day_list.html",
        {
            **head(request, project, "days"),
            "page": paginate(request, closes, 60),
            "today": today,
            "sheet": closing.day_sheet(project, today),
        },
    )


def _day(value) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise Http404 from exc


@project_page("payment.record", "payment.review", "payment.view")
def day_detail(request, project, day, forms=None):
    day = _day(day)
    close = (
        DayClose.objects.filter(project=project, day=day)
        .select_related("prepared_by", "reviewed_by")
        .first()
    )
    sheet = closing.day_sheet(project, day)
    forms = forms or {}
    user = request.user
    context = {
        **head(request, project, "days"),
        "day": day,
        "close": close,
        "sheet": sheet,
        "entries": LedgerEntry.objects.filter(project=project, paid_on=day)
        .select_related("deal__unit", "receipt", "created_by")
        .order_by("pk"),
        "submit_form": forms.get("submit")
        or DaySubmitForm(initial={"cash_counted": sheet["cash_expected"]}),
        "reason_form": forms.get("reason") or ReasonForm(),
        "may_submit": rules.can_keep_books(user, project)[0]
        and (close is None or close.status == CloseStatus.REOPENED),
        "may_review": close is not None
        and close.status == CloseStatus.PENDING
        and rules.can_review_day(user, project)[0]
        and close.prepared_by_id != user.pk,
        "may_reopen": close is not None
        and close.status == CloseStatus.CLOSED
        and rules.can_keep_books(user, project)[0],
    }
    return render(request, "payments/day_detail.html", context, status=400 if forms else 200)


DAY_ACTIONS = {
    # action: (form, service call, success message)
    "submit": (
        DaySubmitForm,
        lambda user, project, day, close, data: closing.day_submit(
            actor=user, project=project, day=day, **data
        ),
        _lazy("日结已提交，等待复核。"),
    ),
    "confirm": (
        None,
        lambda user, project, day, close, data: closing.day_review(
            actor=user, close=close, approve=True
        ),
        _lazy("已复核，当日已日结。"),
    ),
    "return": (
        ReasonForm,
        lambda user, project, day, close, data: closing.day_review(
            actor=user, close=close, approve=False, reason=data["reason"]
        ),
        _lazy("已退回出纳。"),
    ),
    "reopen": (
        ReasonForm,
        lambda user, project, day, close, data: closing.day_reopen_request(
            actor=user, close=close, reason=data["reason"]
        ),
        _lazy("重开申请已提交审批。"),
    ),
}


@require_POST
@project_page("payment.record", "payment.review", "payment.view")
def day_action(request, project, day, action):
    """Submit the day's sheet, confirm or return it (the second person), or ask to
    reopen a closed day."""
    if action not in DAY_ACTIONS:
        raise Http404
    day_value = _day(day)
    close = DayClose.objects.filter(project=project, day=day_value).first()
    if close is None and action != "submit":
        raise Http404
    form_class, call, success = DAY_ACTIONS[action]
    form = form_class(request.POST) if form_class else None
    if form is None or form.is_valid():
        data = form.cleaned_data if form is not None else {}
        ok, _r = run_action(
            request,
            lambda: call(request.user, project, day_value, close, data),
            success=str(success),
            form=form,
        )
        if ok:
            return redirect("payments:day_detail", project.pk, day_value.isoformat())
    key = "submit" if action == "submit" else "reason"
    return day_detail(request, project.pk, day, forms={key: form or ReasonForm()})


# --- receipt books 票据管理 ------------------------------------------------------------------------


@project_page("payment.record", "payment.view")
def book_list(request, project, form=None):
    books = ReceiptBook.objects.filter(project=project).select_related("cashier", "issued_by")
    book_form = form or BookForm()
    book_form.fields["cashier"].queryset = get_user_model().objects.filter(
        pk__in=[u.pk for u in _cashiers(project)]
    )
    return render(
        request,
        "payments/book_list.html",
        {
            **head(request, project, "books"),
            "books": books.prefetch_related("spoiled__by"),
            "book_form": book_form,
            "reason_form": ReasonForm(),
            "can_keep": rules.can_keep_books(request.user, project)[0],
        },
        status=400 if form else 200,
    )


def _cashiers(project):
    users = get_user_model().objects.filter(memberships__project=project, is_active=True).distinct()
    return [u for u in users if access.has_perm(u, "payment.record", project)]


@require_POST
@project_page("payment.record", "payment.view")
def book_issue(request, project):
    form = BookForm(request.POST)
    form.fields["cashier"].queryset = get_user_model().objects.filter(
        pk__in=[u.pk for u in _cashiers(project)]
    )
    if form.is_valid():
        ok, _r = run_action(
            request,
            lambda: services.book_issue(actor=request.user, project=project, **form.cleaned_data),
            success=_("收据本已发放。"),
            form=form,
        )
        if ok:
            return redirect("payments:book_list", project.pk)
    return book_list(request, project.pk, form=form)


@require_POST
@project_page("payment.record", "payment.view")
def book_spoil(request, project, pk):
    book = get_object_or_404(ReceiptBook.objects.filter(project=project), pk=pk)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    run_action(
        request,
        lambda: services.form_spoil(actor=request.user, book=book, reason=reason),
        success=lambda s: _("票据 %(serial)08d 已作废。") % {"serial": s.serial},
    )
    return redirect("payments:book_list", project.pk)


EXPORTABLE.update(
    {"payments.detail": DetailList, "payments.receipts": ReceiptList, "payments.ledger": LedgerList}
)
