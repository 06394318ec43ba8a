"""The commission pages 佣金 (issue 13 "Commissions"; seed 001 篇3 二(六) 结佣函):

* ``commission_list``: the month's statements of the project (a consultant sees their
  own), the entries not yet on a statement, and for the manager the build button;
* ``commission_statement``: one statement, its entries per deal (stage, base, rate,
  share, amount), the confirm button, its xlsx (POST ``?format=xlsx``);
* ``commission_print``: the printable 结佣函 with the total in capital numerals and the
  signature lines;
* ``commission_settings``: the plan and its stages (``commission.configure``), with the
  deals' assisting colleagues; ``commission_assist`` names the colleague of one deal.

Views stay thin: every write is a service of ``payments.commissions``.
"""

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from loupan.accounts import access
from loupan.core.errors import DomainError
from loupan.core.money import rmb_upper
from loupan.core.pages import project_page, run_action, wants_xlsx
from loupan.core.views import form_error, refused
from loupan.core.xlsx import xlsx_response
from loupan.deals.models import Deal

from . import commissions as c
from .models import CommissionAssist, CommissionEvent, StatementStatus

SEE = ("commission.view", "commission.view_own")
BLANK_STAGE_ROWS = 2


def _month(request, default=None):
    """The month asked for (``?month=YYYY-MM``), this month when none or malformed."""
    try:
        return c.month_of(request.GET.get("month") or request.POST.get("month") or "")
    except DomainError:
        return default or timezone.localdate().replace(day=1)


def _list_url(project, month) -> str:
    return f"{reverse('payments:commission_list', args=[project.pk])}?month={month:%Y-%m}"


# --- the month's statements ---------------------------------------------------------------


@project_page(*SEE)
def commission_list(request, project):
    """结佣: the statements of a month; the entries waiting for a statement."""
    month = _month(request)
    statements = list(c.statements_for(request.user, project).filter(month=month))
    counts = dict(
        c.entries_for(request.user, project)
        .filter(statement__in=statements)
        .values_list("statement_id")
        .order_by()
        .annotate(n=Count("pk"))
    )
    for statement in statements:
        statement.entry_count = counts.get(statement.pk, 0)
    pending = (
        c.entries_for(request.user, project)
        .filter(statement__isnull=True)
        .order_by("earned_on", "pk")
    )
    context = {
        "project": project,
        "month": month,
        "statements": statements,
        "month_total": sum((s.total for s in statements), c.ZERO),
        "pending": pending[:200],
        "pending_count": pending.count(),
        "plan": c.plan_of(project),
        "can_build": c.can_confirm(request.user, project),
        "can_configure": c.can_configure(request.user, project),
        "this_month": timezone.localdate().replace(day=1),
    }
    return render(request, "payments/commission_list.html", context)


@require_POST
@project_page(*SEE, act="commission.confirm")
def commission_build(request, project):
    """Build (or refresh) the month's draft statements from the unsettled entries."""
    month = _month(request)

    def done(built):
        if not built:
            return _("没有可以结算的佣金明细（或该月结佣函均已确认）。")
        return _("已生成 %(n)s 份结佣函。") % {"n": len(built)}

    run_action(
        request,
        lambda: c.statement_build(actor=request.user, project=project, month=month),
        success=done,
    )
    return redirect(_list_url(project, month))


# --- one statement ------------------------------------------------------------------------


def _statement(request, project, pk):
    return get_object_or_404(c.statements_for(request.user, project), pk=pk)


def _statement_context(request, project, statement) -> dict:
    lines = c.statement_lines(statement)
    return {
        "project": project,
        "statement": statement,
        "lines": lines,
        "upper": rmb_upper(statement.total),
        "can_confirm": (
            statement.status == StatementStatus.DRAFT
            and c.can_confirm(request.user, project)
            and request.user.pk != statement.consultant_id
        ),
        "printed_at": timezone.localtime(),
    }


@project_page(*SEE)
def commission_statement(request, project, pk):
    """结佣函: the entries per deal; the xlsx by POST ``?format=xlsx``."""
    statement = _statement(request, project, pk)
    if request.method == "POST":
        if not wants_xlsx(request):
            return HttpResponseNotAllowed(["GET"])
        content = c.statement_export(actor=request.user, statement=statement)
        name = f"{project.code}-结佣函-{statement.month:%Y%m}-{statement.consultant.username}.xlsx"
        return xlsx_response(content, name)
    return render(
        request,
        "payments/commission_statement.html",
        _statement_context(request, project, statement),
    )


@require_POST
@project_page(*SEE, act="commission.confirm")
def commission_confirm(request, project, pk):
    """The manager confirms the statement; it is frozen from then on."""
    statement = _statement(request, project, pk)
    run_action(
        request,
        lambda: c.statement_confirm(actor=request.user, statement=statement),
        success=_("结佣函已确认。"),
    )
    return redirect("payments:commission_statement", project.pk, statement.pk)


@project_page(*SEE)
def commission_print(request, project, pk):
    """The printable 结佣函: company and project, consultant, month, the entries, the
    total in digits and in capital numerals, the signature lines."""
    statement = _statement(request, project, pk)
    return render(
        request,
        "payments/commission_print.html",
        _statement_context(request, project, statement),
    )


# --- settings -----------------------------------------------------------------------------


class PlanForm(forms.Form):
    """The plan and its stage rows (``stage_<i>_<field>``); the rules are the service's:
    the form only parses, and the service's errors come back to the row's field."""

    rate_permille = forms.CharField(label=gettext_lazy("佣金比例（‰）"))
    assist_share_pct = forms.CharField(label=gettext_lazy("协助人分成（%）"), required=False)

    STAGE_FIELDS = ("id", "name", "event", "threshold_pct", "share_pct")

    def __init__(self, *args, rows: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.row_count = rows
        for i in range(rows):
            self.fields[f"stage_{i}_id"] = forms.CharField(required=False, widget=forms.HiddenInput)
            self.fields[f"stage_{i}_name"] = forms.CharField(
                label=gettext_lazy("名称"), required=False, max_length=50
            )
            self.fields[f"stage_{i}_event"] = forms.ChoiceField(
                label=gettext_lazy("条件"),
                required=False,
                choices=[("", "—")] + list(CommissionEvent.choices),
            )
            self.fields[f"stage_{i}_threshold_pct"] = forms.CharField(
                label=gettext_lazy("回款比例（%）"), required=False
            )
            self.fields[f"stage_{i}_share_pct"] = forms.CharField(
                label=gettext_lazy("发放比例（%）"), required=False
            )
        for field in self.fields.values():
            if not isinstance(field.widget, forms.HiddenInput | forms.Select):
                field.widget.attrs.setdefault("class", "form-control form-control-sm")
            elif isinstance(field.widget, forms.Select):
                field.widget.attrs.setdefault("class", "form-select form-select-sm")

    def rows(self):
        return [
            {name: self[f"stage_{i}_{name}"] for name in self.STAGE_FIELDS}
            for i in range(self.row_count)
        ]

    def stages(self) -> tuple[list[dict], list[int]]:
        """The filled rows for the service, and the form row of each."""
        out, where = [], []
        for i in range(self.row_count):
            row = {name: self.cleaned_data.get(f"stage_{i}_{name}") for name in self.STAGE_FIELDS}
            if not any(row[k] for k in ("name", "event", "threshold_pct", "share_pct")):
                continue
            out.append(row)
            where.append(i)
        return out, where


def _initial(project) -> tuple[dict, int]:
    plan = c.plan_of(project)
    stages = c.stages_of(project)
    initial = {
        "rate_permille": f"{plan.rate_permille.normalize():f}" if plan else "3",
        "assist_share_pct": f"{plan.assist_share_pct.normalize():f}" if plan else "0",
    }
    for i, s in enumerate(stages):
        initial.update(
            {
                f"stage_{i}_id": s.pk,
                f"stage_{i}_name": s.name,
                f"stage_{i}_event": s.event,
                f"stage_{i}_threshold_pct": (
                    f"{s.threshold_pct.normalize():f}" if s.threshold_pct is not None else ""
                ),
                f"stage_{i}_share_pct": f"{s.share_pct.normalize():f}",
            }
        )
    return initial, len(stages) + BLANK_STAGE_ROWS


def _place(form, where, exc: DomainError) -> None:
    """A service error on ``stages[k].field`` goes to the k-th filled row's field."""
    fields = {}
    for path, reasons in exc.fields.items():
        if path.startswith("stages[") and "]." in path:
            k, name = path[len("stages[") :].split("].", 1)
            if k.isdigit() and int(k) < len(where):
                path = f"stage_{where[int(k)]}_{name}"
        fields[path] = reasons
    placed = DomainError(exc.code, exc.message, fields)
    form_error(form, placed)
    if "stages" in exc.fields:
        form.add_error(None, exc.fields["stages"][0])


@project_page(*SEE, act="commission.configure")
def commission_settings(request, project):
    """佣金方案: the rate, the assisting colleague's share and the stages; the deals'
    assisting colleagues."""
    initial, rows = _initial(project)
    if request.method == "POST":
        asked = request.POST.get("rows", "")
        rows = min(max(rows, int(asked) if asked.isdigit() else 0), 20)
        form = PlanForm(request.POST, rows=rows)
        if form.is_valid():
            stages, where = form.stages()
            try:
                c.commission_plan_set(
                    actor=request.user,
                    project=project,
                    rate_permille=form.cleaned_data["rate_permille"],
                    assist_share_pct=form.cleaned_data["assist_share_pct"] or "0",
                    stages=stages,
                )
            except DomainError as exc:
                refused(exc)
                _place(form, where, exc)
            else:
                messages.success(request, _("佣金方案已保存。"))
                return redirect("payments:commission_settings", project.pk)
    else:
        form = PlanForm(initial=initial, rows=rows)
    assists = (
        CommissionAssist.objects.filter(deal__project=project)
        .select_related("deal__unit", "deal__consultant", "colleague")
        .order_by("-deal__pk")
    )
    return render(
        request,
        "payments/commission_settings.html",
        {"project": project, "form": form, "assists": assists, "plan": c.plan_of(project)},
    )


@project_page(*SEE, act="commission.configure")
def commission_assist(request, project):
    """The assisting colleague 协助人 of one deal (``?deal=`` its id or number)."""
    text = request.POST.get("deal") or request.GET.get("deal") or ""
    deal = None
    if text:
        found = c.deal_by_number(project, text)
        if found is not None:
            deal = Deal.objects.restrict(request.user, "view").filter(pk=found.pk).first()
        if deal is None and request.method == "POST":
            raise Http404
    candidates = c.assist_candidates(project, deal) if deal is not None else []
    error = ""
    if request.method == "POST":
        if deal is None:
            raise Http404
        chosen = request.POST.get("colleague") or ""
        colleague = None
        if chosen:
            colleague = next((u for u in candidates if str(u.pk) == chosen), None)
            if colleague is None:
                error = _("请选择本项目的置业顾问")
        if not error:
            ok, _result = run_action(
                request,
                lambda: c.commission_assist_set(actor=request.user, deal=deal, colleague=colleague),
                success=_("协助人已保存。") if colleague else _("已取消协助人。"),
            )
            if ok:
                return redirect("payments:commission_settings", project.pk)
    current = CommissionAssist.objects.filter(deal=deal).first() if deal else None
    return render(
        request,
        "payments/commission_assist.html",
        {
            "project": project,
            "deal": deal,
            "text": text,
            "current": current,
            "candidates": candidates,
            "error": error,
            "can_edit": access.has_perm(request.user, "commission.configure", project),
        },
    )
