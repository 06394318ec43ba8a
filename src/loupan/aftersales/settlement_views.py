"""Area settlement 面积补差 and certificates 权证 pages (issue 14): the measured areas and
their xlsx import, the settlements list (bands, statuses, the building's computation,
xlsx), a settlement's page with its arithmetic and actions, the printable notice
面积补差通知书, the certificates' outstanding list with the days in stage, and a
certificate's page with its checklist, moves and history.

Views stay thin: each action calls one service of ``settlement`` through
``core.pages.run_action``; a refusal goes next to the form's field (400), a missing
permission is a 403, an object the user may not see is a 404; a GET never writes."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from loupan.core.errors import DomainError
from loupan.core.forms import DateInput
from loupan.core.import_views import ImportPages
from loupan.core.money import rmb_upper
from loupan.core.pages import ProjectListView, project_page, run_action
from loupan.core.views import paginate, query_without_page, refused
from loupan.deals.models import SpecialClause
from loupan.inventory.models import Building
from loupan.payments.models import RECEIVED_METHOD_CHOICES, Method

from . import rules
from . import settlement as s
from .models import (
    CertificateEvent,
    CertificateStage,
    SettlementRule,
    SettlementStatus,
)

SEE = ("aftersales.view", "aftersales.view_own")
MANAGE = "aftersales.manage"
page = project_page(*SEE)


# --- forms ----------------------------------------------------------------------------------


class ComputeForm(forms.Form):
    """The rule to compute with: the law's, or an approved clause of the contract marked
    as the area clause, with its limit and whether beyond it the developer refunds
    double."""

    clause = forms.TypedChoiceField(
        label=gettext_lazy("合同约定的面积条款"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=gettext_lazy("不选则按法定规则（商品房销售管理办法第20条，±3%）"),
    )
    threshold = forms.DecimalField(
        label=gettext_lazy("约定误差比限度（%）"),
        required=False,
        max_digits=4,
        decimal_places=2,
        min_value=0,
    )
    double_refund = forms.BooleanField(
        label=gettext_lazy("超出限度部分双倍返还"), required=False, initial=True
    )
    legal = forms.BooleanField(label=gettext_lazy("改按法定规则"), required=False)

    def __init__(self, *args, deal, **kwargs):
        super().__init__(*args, **kwargs)
        clauses = SpecialClause.objects.filter(deal=deal, approved=True).order_by("pk")
        self.fields["clause"].choices = [("", "—")] + [(c.pk, c.text[:60]) for c in clauses]
        if not clauses:
            for name in ("clause", "threshold", "double_refund"):
                self.fields[name].widget = forms.HiddenInput()


class NotifyForm(forms.Form):
    due_days = forms.IntegerField(
        label=gettext_lazy("补交期限（天）"), min_value=1, max_value=180, initial=s.DUE_DAYS
    )


class RefundForm(forms.Form):
    method = forms.ChoiceField(
        label=gettext_lazy("退款方式"),
        choices=[c for c in RECEIVED_METHOD_CHOICES if c[0] != Method.MORTGAGE],
        initial=Method.TRANSFER,
    )
    paid_on = forms.DateField(label=gettext_lazy("退款日期"), required=False, widget=DateInput())
    bank_reference = forms.CharField(
        label=gettext_lazy("银行流水号"), max_length=60, required=False
    )


class BuildingForm(forms.Form):
    building = forms.ModelChoiceField(label=gettext_lazy("楼栋"), queryset=Building.objects.none())

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = Building.objects.filter(project=project).order_by("name")


class MoveForm(forms.Form):
    to_stage = forms.ChoiceField(label=gettext_lazy("转为"), choices=())
    on = forms.DateField(label=gettext_lazy("日期"), required=False, widget=DateInput())
    certificate_number = forms.CharField(
        label=gettext_lazy("不动产权证号"), max_length=60, required=False
    )
    note = forms.CharField(label=gettext_lazy("说明"), max_length=300, required=False)

    def __init__(self, *args, certificate, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_stage"].choices = [
            (x, CertificateStage(x).label) for x in s.TRANSITIONS[certificate.stage]
        ]
        if CertificateStage.ISSUED not in s.TRANSITIONS[certificate.stage]:
            del self.fields["certificate_number"]


class DayForm(forms.Form):
    on = forms.DateField(label=gettext_lazy("日期"), required=False, widget=DateInput())


# --- measured areas 实测面积 ---------------------------------------------------------------------


@project_page("aftersales.view")
def measured_list(request, project):
    """实测面积: every unit's measured areas as imported, against the forecast areas."""
    rows = s.measured_of(request.user, project)
    return render(
        request,
        "aftersales/measured_list.html",
        {
            "project": project,
            "page": paginate(request, rows, 100),
            "query": query_without_page(request),
            "can_import": s.can_import(request.user, project),
        },
    )


class MeasuredImportPages(ImportPages):
    spec = s.MEASURED
    session_key = "measured_imports"
    url_name = "aftersales:measured_import"
    upload_template = "aftersales/measured_import.html"
    preview_template = "aftersales/measured_import_preview.html"
    title = gettext_lazy("导入实测面积")
    file_label = gettext_lazy("测绘结果文件（.xlsx）")
    changed_message = gettext_lazy("数据在预览后发生了变化，文件中有问题，未导入任何实测面积。")

    def upload_context(self, request, project):
        return {"columns": s.MEASURED_COLUMNS}

    def preview_context(self, request, project, result):
        return {"summary": result.summary() if result.valid else None}

    def done(self, request, project, result):
        messages.success(
            request, _("已导入 %(n)d 户实测面积，请核算面积补差。") % {"n": len(result.items)}
        )
        return redirect("aftersales:measured_list", project.pk)


_measured_pages = MeasuredImportPages()
(
    measured_import,
    measured_import_preview,
    measured_import_commit,
    measured_import_cancel,
    measured_template,
) = _measured_pages.views()


# --- settlements 面积补差 --------------------------------------------------------------------------


class SettlementList(ProjectListView):
    """面积补差: the project's settlements (a consultant: their own buyers'), filtered by
    band and status, the contracted deals still to compute, the building's computation
    in one action, and the xlsx."""

    see = SEE
    filterset_class = s.SettlementFilterSet
    template_name = "aftersales/settlement_list.html"
    ordering = ("deal__unit__number", "pk")

    def get_queryset(self):
        return s.with_item_paid(s.settlements_of(self.request.user, self.project))

    def get_filterset(self, queryset):
        return self.filterset_class(
            self.request.GET or None, queryset=queryset, project=self.project
        )

    def get_context_data(self, **context):
        can_manage = rules.can_manage(self.request.user, self.project)[0]
        rows = [
            (x, s.band_of(x), s.status_now(x), s.STATUS_COLORS[s.status_now(x)])
            for x in context["page"]
        ]
        return {
            **context,
            "rows": rows,
            "awaiting": list(s.awaiting_settlement(self.request.user, self.project)[:100]),
            "can_manage": can_manage,
            "building_form": BuildingForm(project=self.project) if can_manage else None,
            "can_export": s.may_export(self.request.user, self.project),
        }

    export_report, export_function = "面积补差表", staticmethod(s.settlements_export)


def _settlement(request, project, pk):
    return get_object_or_404(
        s.with_item_paid(s.settlements_of(request.user, project)).select_related("deal__project"),
        pk=pk,
    )


def _deal(request, project, deal_pk):
    return get_object_or_404(
        rules.deals_for(request.user, project).select_related("project", "unit", "customer"),
        pk=deal_pk,
    )


def _settlement_page(request, project, settlement, *, status=200, **forms_):
    can = s.settlement_abilities(request.user, settlement)
    deal = settlement.deal
    compute_form = notify_form = refund_form = None
    terms = s.contract_terms(settlement)
    if can["compute"]:
        compute_form = forms_.get("compute_form") or ComputeForm(
            deal=deal,
            prefix="c",
            initial={
                "threshold": terms[0] if terms else None,
                "double_refund": terms[1] if terms else True,
            },
        )
    if can["notify"]:
        notify_form = forms_.get("notify_form") or NotifyForm(prefix="n")
    if can["refund"]:
        refund_form = forms_.get("refund_form") or RefundForm(prefix="r")
    current = s.status_now(settlement)
    return render(
        request,
        "aftersales/settlement_detail.html",
        {
            "project": project,
            "settlement": settlement,
            "deal": deal,
            "can": can,
            "band": s.band_of(settlement),
            "status_now": current,
            "status_label": SettlementStatus(current).label,
            "color": s.STATUS_COLORS[current],
            "terms": terms,
            "compute_form": compute_form,
            "notify_form": notify_form,
            "refund_form": refund_form,
            "upper": rmb_upper(abs(settlement.amount)),
        },
        status=status,
    )


@page
def settlement_detail(request, project, pk):
    return _settlement_page(request, project, _settlement(request, project, pk))


def _compute_call(request, deal, form):
    data = form.cleaned_data
    return lambda: s.settlement_compute(
        actor=request.user,
        deal=deal,
        clause=data.get("clause"),
        threshold=data.get("threshold"),
        double_refund=data.get("double_refund"),
        legal=bool(data.get("legal")),
    )


@require_POST
@project_page(*SEE, act=MANAGE)
def settlement_compute(request, project, deal_pk):
    """Compute (or recompute) a contracted deal's settlement; back to its page."""
    deal = _deal(request, project, deal_pk)
    form = ComputeForm(request.POST, deal=deal, prefix="c")
    if form.is_valid():
        ok, settlement = run_action(
            request,
            _compute_call(request, deal, form),
            success=lambda x: _("面积补差已核算：%(a)s 元。") % {"a": x.amount},
            form=form,
        )
        if ok:
            return redirect("aftersales:settlement_detail", project.pk, settlement.pk)
    existing = s.Settlement.objects.filter(deal=deal).first()
    if existing is not None and s.settlements_of(request.user, project).filter(pk=existing.pk):
        return _settlement_page(
            request,
            project,
            _settlement(request, project, existing.pk),
            status=400,
            compute_form=form,
        )
    for error in form.non_field_errors() or [e for errs in form.errors.values() for e in errs]:
        messages.error(request, error)
    return redirect("aftersales:settlement_list", project.pk)


@require_POST
@project_page(*SEE, act=MANAGE)
def settlement_building(request, project):
    """面积补差 for every contracted deal of a building in one action."""
    form = BuildingForm(request.POST, project=project)
    if form.is_valid():
        ok, run = run_action(
            request,
            lambda: s.settlement_compute_building(
                actor=request.user, project=project, building=form.cleaned_data["building"]
            ),
            success=lambda r: (
                _("已核算 %(n)d 户，跳过 %(k)d 户。") % {"n": len(r.computed), "k": len(r.skipped)}
            ),
        )
        if ok:
            for deal, reason in run.skipped:
                messages.warning(request, f"{deal.unit.number}：{reason}")
    else:
        messages.error(request, _("请选择楼栋。"))
    return redirect("aftersales:settlement_list", project.pk)


@require_POST
@project_page(*SEE, act=MANAGE)
def settlement_notify(request, project, pk):
    settlement = _settlement(request, project, pk)
    form = NotifyForm(request.POST, prefix="n")
    if form.is_valid():
        ok, _x = run_action(
            request,
            lambda: s.settlement_notify(
                actor=request.user, settlement=settlement, due_days=form.cleaned_data["due_days"]
            ),
            success=lambda x: (
                _("已通知业主，面积补差为「%(s)s」。") % {"s": x.get_status_display()}
            ),
            form=form,
        )
        if ok:
            return redirect("aftersales:settlement_detail", project.pk, settlement.pk)
    return _settlement_page(
        request, project, _settlement(request, project, pk), status=400, notify_form=form
    )


@require_POST
@project_page(*SEE, act="payment.record")
def settlement_refund(request, project, pk):
    """Finance pays the refund (a refund entry of the ledger)."""
    settlement = _settlement(request, project, pk)
    form = RefundForm(request.POST, prefix="r")
    if form.is_valid():
        data = form.cleaned_data
        ok, _x = run_action(
            request,
            lambda: s.settlement_refund_paid(
                actor=request.user,
                settlement=settlement,
                method=data["method"],
                paid_on=data.get("paid_on"),
                bank_reference=data.get("bank_reference", ""),
            ),
            success=_("面积补差退款已登记。"),
            form=form,
        )
        if ok:
            return redirect("aftersales:settlement_detail", project.pk, settlement.pk)
    return _settlement_page(
        request, project, _settlement(request, project, pk), status=400, refund_form=form
    )


@page
def settlement_notice(request, project, pk):
    """面积补差通知书 (printable), with the arithmetic."""
    settlement = _settlement(request, project, pk)
    deal = settlement.deal
    return render(
        request,
        "aftersales/settlement_notice.html",
        {
            "project": project,
            "settlement": settlement,
            "deal": deal,
            "buyers": [
                b.customer
                for b in deal.buyers.select_related("customer").order_by("sort_order", "pk")
            ],
            "upper": rmb_upper(abs(settlement.amount)),
            "refund": -settlement.amount if settlement.amount < 0 else None,
            "today": timezone.localdate(),
            "is_legal": settlement.rule == SettlementRule.LEGAL,
        },
    )


# --- certificates 权证 ---------------------------------------------------------------------------


class CertificateList(ProjectListView):
    """权证: the certificates (outstanding first by default), the days each has spent in
    its stage as of today, the counts per stage, the contracted deals without a file."""

    see = SEE
    filterset_class = s.CertificateFilterSet
    template_name = "aftersales/certificate_list.html"
    ordering = ("stage_since", "pk")

    def get_queryset(self):
        return s.certificates_of(self.request.user, self.project)

    def get_filterset(self, queryset):
        return self.filterset_class(
            self.request.GET or None, queryset=queryset, project=self.project
        )

    def get_context_data(self, **context):
        today = timezone.localdate()
        rows = [
            (
                c,
                s.days_in_stage(c, today),
                s.overdue(c, today),
                sum(1 for d in c.documents if d.get("done")),
                s.STAGE_COLORS[c.stage],
            )
            for c in context["page"]
        ]
        return {
            **context,
            "rows": rows,
            "counts": s.stage_counts(s.certificates_of(self.request.user, self.project)),
            "awaiting": list(s.awaiting_certificate(self.request.user, self.project)[:100]),
            "can_manage": rules.can_manage(self.request.user, self.project)[0],
            "can_export": s.may_export(self.request.user, self.project),
        }

    export_report, export_function = "权证进度表", staticmethod(s.certificates_export)


def _certificate(request, project, pk):
    return get_object_or_404(
        s.certificates_of(request.user, project).select_related("deal__project"), pk=pk
    )


def _certificate_page(request, project, cert, *, status=200, **forms_):
    can = s.certificate_abilities(request.user, cert)
    move_form = mortgage_form = None
    if can["move"]:
        move_form = forms_.get("move_form") or MoveForm(certificate=cert, prefix="m")
    if can["mortgage"]:
        mortgage_form = forms_.get("mortgage_form") or DayForm(prefix="g")
    return render(
        request,
        "aftersales/certificate_detail.html",
        {
            "project": project,
            "cert": cert,
            "deal": cert.deal,
            "can": can,
            "days": s.days_in_stage(cert),
            "overdue": s.overdue(cert),
            "missing": s.missing_documents(cert),
            "documents_done": sum(1 for d in cert.documents if d.get("done")),
            "events": CertificateEvent.objects.filter(certificate=cert).select_related("by"),
            "move_form": move_form,
            "mortgage_form": mortgage_form,
            "color": s.STAGE_COLORS[cert.stage],
            "stages": CertificateStage.choices,
        },
        status=status,
    )


@page
def certificate_detail(request, project, pk):
    return _certificate_page(request, project, _certificate(request, project, pk))


@require_POST
@project_page(*SEE, act=MANAGE)
def certificate_open(request, project, deal_pk):
    deal = _deal(request, project, deal_pk)
    ok, cert = run_action(
        request,
        lambda: s.certificate_open(
            actor=request.user, deal=deal, note=request.POST.get("note", "")
        ),
        success=_("权证已建档（合同登记备案），请收集办证资料。"),
    )
    if ok:
        return redirect("aftersales:certificate_detail", project.pk, cert.pk)
    return redirect("aftersales:certificate_list", project.pk)


@require_POST
@project_page(*SEE, act=MANAGE)
def certificate_move(request, project, pk):
    cert = _certificate(request, project, pk)
    form = MoveForm(request.POST, certificate=cert, prefix="m")
    if form.is_valid():
        data = form.cleaned_data
        ok, _x = run_action(
            request,
            lambda: s.certificate_move(
                actor=request.user,
                certificate=cert,
                to_stage=data["to_stage"],
                on=data.get("on"),
                certificate_number=data.get("certificate_number", ""),
                note=data.get("note", ""),
            ),
            success=lambda x: _("权证已转为「%(s)s」。") % {"s": x.get_stage_display()},
            form=form,
        )
        if ok:
            return redirect("aftersales:certificate_detail", project.pk, cert.pk)
    return _certificate_page(
        request, project, _certificate(request, project, pk), status=400, move_form=form
    )


@require_POST
@project_page(*SEE, act=MANAGE)
def certificate_mortgage(request, project, pk):
    cert = _certificate(request, project, pk)
    form = DayForm(request.POST, prefix="g")
    if form.is_valid():
        ok, _x = run_action(
            request,
            lambda: s.certificate_register_mortgage(
                actor=request.user, certificate=cert, on=form.cleaned_data.get("on")
            ),
            success=_("抵押登记已记录。"),
            form=form,
        )
        if ok:
            return redirect("aftersales:certificate_detail", project.pk, cert.pk)
    return _certificate_page(
        request, project, _certificate(request, project, pk), status=400, mortgage_form=form
    )


@require_POST
@project_page(*SEE, act=MANAGE)
def certificate_document(request, project, pk):
    """Tick or untick one document; htmx swaps the checklist in place."""
    cert = _certificate(request, project, pk)
    error = None
    try:
        cert = s.certificate_check_document(
            actor=request.user,
            certificate=cert,
            name=request.POST.get("name", ""),
            done=request.POST.get("done") in ("1", "true", "on"),
        )
    except DomainError as exc:
        refused(exc)
        error = exc.message
    if request.htmx:
        return render(
            request,
            "aftersales/parts/certificate_documents.html",
            {
                "project": project,
                "cert": cert,
                "can": s.certificate_abilities(request.user, cert),
                "documents_done": sum(1 for d in cert.documents if d.get("done")),
                "error": error,
            },
        )
    if error:
        messages.error(request, error)
    return redirect("aftersales:certificate_detail", project.pk, cert.pk)
