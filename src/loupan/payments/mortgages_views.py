"""The mortgages pages 按揭 (issue 13 "Mortgages"; seeds 001 九 按揭办理, 003 按揭协办):
the pipeline 按揭进度 with the days in stage (and its xlsx), a mortgage's page (its
terms, the documents checklist, the stage moves, the history and, for finance, the
disbursement), the form that opens a deal's mortgage, and the reconciliation per bank
per month 按揭对帐.

Views stay thin: each action calls one service in ``mortgages`` through
``core.pages.run_action``; a refusal is shown next to the form's field on the page drawn
again (400), a missing permission is a 403, a mortgage or deal the user may not see is a
404. A GET never writes."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from loupan.core.errors import DomainError
from loupan.core.forms import DateInput
from loupan.core.pages import ProjectListView, project_page, run_action
from loupan.core.views import refused
from loupan.deals.models import Deal

from . import mortgages as m
from .models import LoanType, MortgageEvent, MortgageStage, RejectionNext

SEE = ("payment.view", "payment.view_own")
mortgage_page = project_page(*SEE)

HOME_CHOICES = [("first", gettext_lazy("首套")), ("second", gettext_lazy("二套"))]
MONEY_FIELD = {"max_digits": 14, "decimal_places": 2, "min_value": 0}
RATE_FIELD = {"max_digits": 6, "decimal_places": 3, "required": False}


# --- forms --------------------------------------------------------------------------------
# They only parse; every rule (amounts against the loan type, the cap, the follower) is
# the service's, whose refusal goes next to the field it names.


class MortgageForm(forms.Form):
    bank = forms.CharField(label=gettext_lazy("贷款银行"), max_length=50)
    loan_type = forms.ChoiceField(label=gettext_lazy("贷款类型"), choices=LoanType.choices)
    commercial_amount = forms.DecimalField(
        label=gettext_lazy("商贷金额（元）"), required=False, **MONEY_FIELD
    )
    provident_amount = forms.DecimalField(
        label=gettext_lazy("公积金贷款金额（元）"), required=False, **MONEY_FIELD
    )
    years = forms.IntegerField(label=gettext_lazy("贷款年限"), min_value=1, max_value=m.MAX_YEARS)
    commercial_rate = forms.DecimalField(label=gettext_lazy("商贷年利率（%）"), **RATE_FIELD)
    provident_rate = forms.DecimalField(label=gettext_lazy("公积金年利率（%）"), **RATE_FIELD)
    home = forms.ChoiceField(
        label=gettext_lazy("首套 / 二套"),
        choices=HOME_CHOICES,
        initial="first",
        help_text=gettext_lazy("按项目最低首付比例核定可贷上限"),
    )
    follower = forms.ModelChoiceField(label=gettext_lazy("按揭专员"), queryset=None, required=False)
    note = forms.CharField(label=gettext_lazy("备注"), max_length=300, required=False)

    def __init__(self, *args, deal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["follower"].queryset = m.follower_candidates(deal)
        self.fields["follower"].label_from_instance = lambda u: u.real_name or u.username

    def terms(self) -> dict:
        return dict(self.cleaned_data)


class MoveForm(forms.Form):
    to_stage = forms.ChoiceField(label=gettext_lazy("转为"), choices=())
    on = forms.DateField(label=gettext_lazy("日期"), required=False, widget=DateInput())
    rejection_next = forms.ChoiceField(
        label=gettext_lazy("拒贷后处理"),
        choices=[("", "—"), *RejectionNext.choices],
        required=False,
    )
    bank = forms.CharField(
        label=gettext_lazy("新的贷款银行"),
        max_length=50,
        required=False,
        help_text=gettext_lazy("拒贷后重新办理时填写"),
    )
    note = forms.CharField(label=gettext_lazy("说明"), max_length=300, required=False)

    def __init__(self, *args, mortgage, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_stage"].choices = [
            (s, MortgageStage(s).label) for s in m.next_stages(mortgage)
        ]
        if mortgage.stage != MortgageStage.SUBMITTED:
            del self.fields["rejection_next"]
        if mortgage.stage != MortgageStage.REJECTED:
            del self.fields["bank"]


class DisburseForm(forms.Form):
    amount = forms.DecimalField(label=gettext_lazy("放款金额（元）"), **MONEY_FIELD)
    paid_on = forms.DateField(label=gettext_lazy("到账日期"), required=False, widget=DateInput())
    bank_reference = forms.CharField(label=gettext_lazy("银行流水号"), max_length=60)


# --- the pipeline ---------------------------------------------------------------------------


class MortgageList(ProjectListView):
    """按揭进度 (seed 001 九(1) 按揭回款跟踪): the project's mortgages (a consultant: their
    own deals'), the longest waiting first, with the days in stage, the counts per stage,
    and the loan deals still without a mortgage file."""

    see = SEE
    filterset_class = m.MortgageFilterSet
    template_name = "payments/mortgage_list.html"
    ordering = ("stage_since", "pk")

    def get_queryset(self):
        return m.mortgages_of(self.request.user, self.project)

    def get_filterset(self, queryset):
        filterset = self.filterset_class(
            self.request.GET or None, queryset=queryset, project=self.project
        )
        return filterset

    def get_context_data(self, **context):
        today = timezone.localdate()
        rows = [
            (
                x,
                m.days_in_stage(x, today),
                sum(1 for d in x.documents if d.get("done")),
                m.STAGE_COLORS[x.stage],
            )
            for x in context["page"]
        ]
        return {
            **context,
            "rows": rows,
            "today": today,
            "counts": m.stage_counts(m.mortgages_of(self.request.user, self.project)),
            "awaiting": list(m.awaiting(self.request.user, self.project)[:50]),
            "can_export": m.may_export(self.request.user, self.project),
            "can_reconcile": m.may_reconcile(self.request.user, self.project),
            "query": context.get("query", ""),
        }

    export_report, export_function = "按揭进度表", staticmethod(m.mortgages_export)


# --- one mortgage ---------------------------------------------------------------------------


def _mortgage(request, project, pk):
    return get_object_or_404(
        m.mortgages_of(request.user, project).select_related("deal__project"), pk=pk
    )


def _detail(request, project, mortgage, *, status=200, **forms_):
    """The mortgage's page; ``forms_`` replaces a form by the bound one that failed."""
    can = m.abilities(request.user, mortgage)
    deal = mortgage.deal
    edit_form = move_form = disburse_form = None
    if can["change"]:
        edit_form = forms_.get("edit_form") or MortgageForm(
            deal=deal,
            prefix="edit",
            initial={
                "bank": mortgage.bank,
                "loan_type": mortgage.loan_type,
                "commercial_amount": mortgage.commercial_amount,
                "provident_amount": mortgage.provident_amount,
                "years": mortgage.years,
                "commercial_rate": mortgage.commercial_rate,
                "provident_rate": mortgage.provident_rate,
                "follower": mortgage.follower_id,
                "note": mortgage.note,
            },
        )
    if can["move"]:
        move_form = forms_.get("move_form") or MoveForm(mortgage=mortgage, prefix="move")
    if can["disburse"]:
        disbursed = m.disbursed_of(mortgage)
        disburse_form = forms_.get("disburse_form") or DisburseForm(
            prefix="pay", initial={"amount": mortgage.loan_total - disbursed}
        )
    events = MortgageEvent.objects.filter(mortgage=mortgage).select_related("by")
    done = sum(1 for d in mortgage.documents if d.get("done"))
    return render(
        request,
        "payments/mortgage_detail.html",
        {
            "project": project,
            "mortgage": mortgage,
            "deal": deal,
            "can": can,
            "days": m.days_in_stage(mortgage),
            "documents_done": done,
            "missing": m.missing_documents(mortgage),
            "disbursed": m.disbursed_of(mortgage),
            "events": events,
            "edit_form": edit_form,
            "move_form": move_form,
            "disburse_form": disburse_form,
            "color": m.STAGE_COLORS[mortgage.stage],
            "stages": [(s.value, s.label) for s in MortgageStage if s != MortgageStage.REJECTED],
        },
        status=status,
    )


@mortgage_page
def mortgage_detail(request, project, pk):
    """按揭详情: what the user may see; the forms of what they may do."""
    return _detail(request, project, _mortgage(request, project, pk))


@require_POST
@project_page(*SEE, act="mortgage.manage")
def mortgage_update(request, project, pk):
    mortgage = _mortgage(request, project, pk)
    form = MortgageForm(request.POST, deal=mortgage.deal, prefix="edit")
    if form.is_valid():
        data = form.terms()
        ok, _result = run_action(
            request,
            lambda: m.mortgage_update(actor=request.user, mortgage=mortgage, **data),
            success=_("按揭资料已保存。"),
            form=form,
        )
        if ok:
            return redirect("payments:mortgage_detail", project.pk, mortgage.pk)
    return _detail(request, project, _mortgage(request, project, pk), status=400, edit_form=form)


@require_POST
@project_page(*SEE, act="mortgage.manage")
def mortgage_document(request, project, pk):
    """Tick or untick one document; htmx swaps the checklist in place."""
    mortgage = _mortgage(request, project, pk)
    name = request.POST.get("name", "")
    done = request.POST.get("done") in ("1", "true", "on")
    error = None
    try:
        mortgage = m.mortgage_check_document(
            actor=request.user, mortgage=mortgage, name=name, done=done
        )
    except DomainError as exc:
        refused(exc)
        error = exc.message
    if request.htmx:
        return render(
            request,
            "payments/parts/mortgage_documents.html",
            {
                "project": project,
                "mortgage": mortgage,
                "can": m.abilities(request.user, mortgage),
                "documents_done": sum(1 for d in mortgage.documents if d.get("done")),
                "error": error,
            },
            status=200,
        )
    if error:
        messages.error(request, error)
    return redirect("payments:mortgage_detail", project.pk, mortgage.pk)


@require_POST
@project_page(*SEE, act="mortgage.manage")
def mortgage_move(request, project, pk):
    mortgage = _mortgage(request, project, pk)
    form = MoveForm(request.POST, mortgage=mortgage, prefix="move")
    if form.is_valid():
        data = form.cleaned_data
        ok, moved = run_action(
            request,
            lambda: m.mortgage_move(
                actor=request.user,
                mortgage=mortgage,
                to_stage=data["to_stage"],
                on=data.get("on"),
                note=data.get("note", ""),
                rejection_next=data.get("rejection_next", ""),
                bank=data.get("bank", ""),
            ),
            success=lambda x: _("按揭已转为「%(s)s」。") % {"s": x.get_stage_display()},
            form=form,
        )
        if ok:
            return redirect("payments:mortgage_detail", project.pk, mortgage.pk)
    return _detail(request, project, _mortgage(request, project, pk), status=400, move_form=form)


@require_POST
@project_page(*SEE, act="payment.record")
def mortgage_disburse(request, project, pk):
    """Finance records the bank's disbursement (a receipt of method 按揭放款)."""
    mortgage = _mortgage(request, project, pk)
    form = DisburseForm(request.POST, prefix="pay")
    if form.is_valid():
        data = form.cleaned_data
        ok, receipt = run_action(
            request,
            lambda: m.mortgage_disburse(
                actor=request.user,
                mortgage=mortgage,
                amount=data["amount"],
                paid_on=data.get("paid_on"),
                bank_reference=data["bank_reference"],
            ),
            success=lambda r: (
                _("已登记放款 %(a)s 元，收据 %(n)s。") % {"a": r.amount, "n": r.number}
            ),
            form=form,
        )
        if ok:
            return redirect("payments:mortgage_detail", project.pk, mortgage.pk)
    return _detail(
        request, project, _mortgage(request, project, pk), status=400, disburse_form=form
    )


# --- open a deal's mortgage -------------------------------------------------------------------


@project_page(*SEE, act="mortgage.manage")
def mortgage_open(request, project, deal_pk):
    """按揭建档 on a deal the user sees (a consultant: their own); a deal that already has
    one leads to it."""
    deal = get_object_or_404(
        Deal.objects.restrict(request.user, "view")
        .filter(project=project)
        .select_related("project", "unit", "customer", "consultant"),
        pk=deal_pk,
    )
    existing = m.Mortgage.objects.filter(deal=deal).first()
    if existing is not None:
        return redirect("payments:mortgage_detail", project.pk, existing.pk)
    if not m.may_see(request.user, deal):
        raise Http404
    initial = {
        "loan_type": deal.payment_method
        if deal.payment_method in LoanType.values
        else LoanType.COMMERCIAL,
        "years": 30,
        "home": "first",
        "commercial_amount": m.loan_cap(deal),
    }
    form = MortgageForm(request.POST or None, deal=deal, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.terms()
            ok, mortgage = run_action(
                request,
                lambda: m.mortgage_open(actor=request.user, deal=deal, **data),
                success=_("按揭已建档，请收集资料。"),
                form=form,
            )
            if ok:
                return redirect("payments:mortgage_detail", project.pk, mortgage.pk)
        status = 400
    answer = m.can_open(request.user, deal)
    return render(
        request,
        "payments/mortgage_open.html",
        {
            "project": project,
            "deal": deal,
            "form": form,
            "refusal": None if answer[0] else answer[1].message,
            "cap_first": m.loan_cap(deal, "first"),
            "cap_second": m.loan_cap(deal, "second"),
        },
        status=status,
    )


# --- reconciliation ---------------------------------------------------------------------------


@project_page("payment.view")
def mortgage_reconcile(request, project):
    """按揭对帐 (seed 001 九(3) 与财务对帐): per bank, the month's expected loan money
    against what the banks paid."""
    month = request.GET.get("month", "")
    error = None
    try:
        result = m.reconciliation(request.user, project, month)
    except DomainError as exc:
        error = exc.message
        result = m.reconciliation(request.user, project, "")
    return render(
        request,
        "payments/mortgage_reconcile.html",
        {"project": project, "result": result, "error": error, "month": result["month"]},
        status=400 if error else 200,
    )
