"""The complaints 投诉 and satisfaction surveys 满意度调查 pages (issue 14; seeds 001 七(四)
(五), 002 第五章, 004 三(四) 五).

Complaints: the list (filters, overdue and escalated badges, xlsx), the archive, the log
form, a complaint's page (assign, first answer, resolution with the improvement
proposal, return visit; the deadlines with overdue badges), the written reply 书面答复
(printable), the analysis by category, building and month with the proposals, and the
categories with their deadlines.

Surveys: the list with the index per period, the form that starts one, a survey's
results, the printable forms per owner (with each owner's link), the printable report to
management, the questionnaire editor, and the owner's public answer page reached by a
signed link (no account; a GET writes nothing; CSRF on the POST).

Views stay thin: each action calls one service of ``complaints`` through
``core.pages.run_action``; a refusal shows next to the form's field (400), a missing
permission is a 403, a complaint or project part the user may not see is a 404."""

import datetime

from django import forms
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from loupan.core.errors import DomainError
from loupan.core.forms import DateInput
from loupan.core.pages import ProjectListView, id_query, project_page, require, run_action

from . import complaints as c
from . import delivery, rules
from .models import (
    ComplaintCategory,
    ComplaintChannel,
    Department,
    QuestionKind,
    Severity,
    SurveyQuestion,
)

SEE = rules.SEE
OFFICE = ("aftersales.view",)
MANAGE = "aftersales.manage"
CONFIGURE = "aftersales.configure"
SATISFACTION = [(str(n), str(n)) for n in range(5, 0, -1)]


# --- forms ------------------------------------------------------------------------------------
# They only parse; every rule is the service's, whose refusal goes next to the field.


def _perms(user, project) -> dict:
    """What the tabs and buttons of the complaints and surveys pages offer."""
    return {
        "can_manage": c.can_manage(user, project)[0],
        "can_configure": c.can_configure(user, project)[0],
        "office": c.may_export(user, project),
    }


def _person(user) -> str:
    return user.real_name or user.username


class ComplaintForm(forms.Form):
    channel = forms.ChoiceField(label=gettext_lazy("渠道"), choices=ComplaintChannel.choices)
    category = forms.ModelChoiceField(label=gettext_lazy("类别"), queryset=None)
    severity = forms.ChoiceField(
        label=gettext_lazy("严重程度"), choices=Severity.choices, initial=Severity.LOW
    )
    deal = forms.ModelChoiceField(
        label=gettext_lazy("业主（房间 · 客户）"),
        queryset=None,
        required=False,
        help_text=gettext_lazy("已签约的交易；与房屋无关的投诉可不选"),
    )
    complainant = forms.CharField(
        label=gettext_lazy("投诉人"),
        max_length=50,
        required=False,
        help_text=gettext_lazy("不填则为所选业主"),
    )
    contact = forms.CharField(label=gettext_lazy("联系电话"), max_length=30, required=False)
    description = forms.CharField(
        label=gettext_lazy("投诉内容"), widget=forms.Textarea(attrs={"rows": 4})
    )
    department = forms.ChoiceField(
        label=gettext_lazy("责任部门"),
        choices=[("", gettext_lazy("按类别默认")), *Department.choices],
        required=False,
    )
    received_at = forms.DateField(
        label=gettext_lazy("受理日期"),
        required=False,
        widget=DateInput(),
        help_text=gettext_lazy("今天受理可不填；信函等可填收到的日期"),
    )

    def __init__(self, *args, user, project, **kwargs):
        kwargs.setdefault("auto_id", "complaint-%s")
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = ComplaintCategory.objects.filter(project=project)
        self.fields["deal"].queryset = c.survey_candidates(user, project)
        self.fields["deal"].label_from_instance = lambda d: f"{d.unit.number} · {d.customer.name}"


class AssignForm(forms.Form):
    department = forms.ChoiceField(label=gettext_lazy("责任部门"), choices=Department.choices)
    assigned_to = forms.ModelChoiceField(
        label=gettext_lazy("处理人"), queryset=None, required=False
    )

    def __init__(self, *args, project, **kwargs):
        kwargs.setdefault("auto_id", "assign-%s")
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = c.assignee_candidates(project)
        self.fields["assigned_to"].label_from_instance = _person


class AnswerForm(forms.Form):
    text = forms.CharField(label=gettext_lazy("首次答复"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "answer-%s")
        super().__init__(*args, **kwargs)


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        label=gettext_lazy("处理结果（最终答复）"), widget=forms.Textarea(attrs={"rows": 3})
    )
    proposal = forms.CharField(
        label=gettext_lazy("改进建议"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=gettext_lazy("分析原因后向相关部门提出的改进建议（可不填）"),
    )
    proposal_to = forms.ChoiceField(
        label=gettext_lazy("建议送达"),
        choices=[("", "—"), *[(d.value, d.label) for d in c.PROPOSAL_TO]],
        required=False,
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "resolve-%s")
        super().__init__(*args, **kwargs)


class VisitForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("回访记录"), max_length=300)
    satisfaction = forms.ChoiceField(
        label=gettext_lazy("满意度（5 为非常满意）"), choices=SATISFACTION
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "visit-%s")
        super().__init__(*args, **kwargs)


class CategoryForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("类别"), max_length=30)
    department = forms.ChoiceField(label=gettext_lazy("默认责任部门"), choices=Department.choices)
    first_answer_days = forms.IntegerField(
        label=gettext_lazy("首次答复（工作日）"), min_value=0, max_value=c.MAX_DAYS, initial=1
    )
    final_answer_days = forms.IntegerField(
        label=gettext_lazy("最终答复（工作日）"), min_value=0, max_value=c.MAX_DAYS, initial=7
    )
    sort_order = forms.IntegerField(
        label=gettext_lazy("顺序"), min_value=0, max_value=999, initial=0, required=False
    )


class TemplateForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("问卷名称"), max_length=60)
    intro = forms.CharField(
        label=gettext_lazy("说明"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    is_active = forms.BooleanField(label=gettext_lazy("启用"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "template-%s")
        super().__init__(*args, **kwargs)


class QuestionForm(forms.Form):
    text = forms.CharField(label=gettext_lazy("题目"), max_length=200)
    kind = forms.ChoiceField(label=gettext_lazy("题型"), choices=QuestionKind.choices)
    scale_max = forms.IntegerField(
        label=gettext_lazy("满分"), min_value=2, max_value=10, initial=5, required=False
    )
    sort_order = forms.IntegerField(
        label=gettext_lazy("顺序"), min_value=0, max_value=999, required=False
    )


class SurveyForm(forms.Form):
    template = forms.ModelChoiceField(label=gettext_lazy("问卷"), queryset=None)
    title = forms.CharField(label=gettext_lazy("调查名称"), max_length=60)
    period_start = forms.DateField(label=gettext_lazy("调查期间自"), widget=DateInput())
    period_end = forms.DateField(label=gettext_lazy("调查期间至"), widget=DateInput())
    expires_at = forms.DateField(label=gettext_lazy("链接有效期至"), widget=DateInput())
    deals = forms.ModelMultipleChoiceField(
        label=gettext_lazy("调查对象（业主）"),
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, user, project, **kwargs):
        kwargs.setdefault("auto_id", "survey-%s")
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = c.templates_of(user, project).filter(is_active=True)
        self.fields["deals"].queryset = c.survey_candidates(user, project)
        self.fields["deals"].label_from_instance = lambda d: (
            f"{d.unit.number} · {d.customer.name}"
            + (f"（{_('已交付')}）" if d.unit.status == "delivered" else "")
        )


# --- complaints list --------------------------------------------------------------------------


class ComplaintList(ProjectListView):
    """投诉登记 (seed 001 七(四)3): the project's complaints (a consultant: their own
    buyers'), the latest first, each with its deadlines and overdue / escalated badges;
    counts per status and of those needing attention; the xlsx for the office."""

    see = SEE
    filterset_class = c.ComplaintFilterSet
    template_name = "aftersales/complaint_list.html"
    ordering = ("-received_at", "-pk")
    tab = "list"

    def get_queryset(self):
        return c.complaints_of(self.request.user, self.project)

    def get_filterset(self, queryset):
        return self.filterset_class(
            self.request.GET or None, queryset=queryset, project=self.project
        )

    def _queryset(self):
        try:
            return super()._queryset()
        except DomainError:  # a malformed month: the filter form shows nothing matched
            filterset = self.get_filterset(self.get_queryset())
            filterset.is_valid()
            return filterset, self.get_queryset().none()

    def get_context_data(self, **context):
        today = timezone.localdate()
        user = self.request.user
        mine = c.complaints_of(user, self.project)
        return {
            **context,
            "tab": self.tab,
            "rows": [
                (
                    x,
                    c.flags(x, today),
                    c.STATUS_COLORS[x.status],
                    c.SEVERITY_COLORS[x.severity],
                )
                for x in context["page"]
            ],
            "counts": c.status_counts(mine),
            "attention": c.attention_counts(mine),
            "can_export": c.may_export(user, self.project),
            **_perms(user, self.project),
        }

    export_report, export_function = "投诉登记表", staticmethod(c.complaints_export)


class ComplaintArchive(ComplaintList):
    """投诉档案 (seed 001 七(四)3 管理客戶投訴檔案): the closed complaints with their
    resolution, return visit and satisfaction."""

    tab = "archive"

    def get_queryset(self):
        return c.archive_of(self.request.user, self.project)


# --- log a complaint --------------------------------------------------------------------------


@project_page(*SEE, act=MANAGE)
def complaint_create(request, project):
    """投诉受理: a complaint from any channel; ``?deal=`` starts from an owner's deal."""
    initial = {"channel": ComplaintChannel.PHONE, "severity": Severity.LOW}
    if (deal := id_query(request, "deal")) is not None:
        initial["deal"] = deal
    form = ComplaintForm(request.POST or None, user=request.user, project=project, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            ok, complaint = run_action(
                request,
                lambda: c.complaint_log(
                    actor=request.user,
                    project=project,
                    channel=data["channel"],
                    category=data["category"],
                    severity=data["severity"],
                    deal=data.get("deal"),
                    complainant=data.get("complainant", ""),
                    contact=data.get("contact", ""),
                    description=data["description"],
                    department=data.get("department") or None,
                    received_at=data.get("received_at"),
                ),
                success=lambda x: (
                    _("投诉 %(n)s 已受理，首次答复期限 %(d)s。")
                    % {"n": x.number, "d": f"{x.first_due:%Y-%m-%d}"}
                ),
                form=form,
            )
            if ok:
                return redirect("aftersales:complaint_detail", project.pk, complaint.pk)
        status = 400
    categories = list(ComplaintCategory.objects.filter(project=project))
    return render(
        request,
        "aftersales/complaint_form.html",
        {"project": project, "form": form, "categories": categories},
        status=status,
    )


# --- one complaint ----------------------------------------------------------------------------


def _complaint(request, project, pk):
    return get_object_or_404(
        c.complaints_of(request.user, project).select_related("project", "created_by"), pk=pk
    )


def _detail(request, project, complaint, *, status=200, **bound):
    """The complaint's page; ``bound`` replaces a form by the bound one that failed."""
    can = c.abilities(request.user, complaint)
    forms_ = {
        "assign_form": can["assign"]
        and (
            bound.get("assign_form")
            or AssignForm(
                project=project,
                initial={
                    "department": complaint.department,
                    "assigned_to": complaint.assigned_to_id,
                },
            )
        ),
        "answer_form": can["answer"] and (bound.get("answer_form") or AnswerForm()),
        "resolve_form": can["resolve"] and (bound.get("resolve_form") or ResolveForm()),
        "visit_form": can["visit"]
        and (bound.get("visit_form") or VisitForm(initial={"satisfaction": "5"})),
        # a complaint about the unit turns into a repair order (while it is not closed)
        "repair_form": can["assign"]
        and (complaint.unit_id or complaint.deal_id)
        and (
            bound.get("repair_form")
            or RepairFromComplaintForm(initial={"description": complaint.description[:300]})
        ),
    }
    return render(
        request,
        "aftersales/complaint_detail.html",
        {
            "project": project,
            "complaint": complaint,
            "can": can,
            "flags": c.flags(complaint),
            "color": c.STATUS_COLORS[complaint.status],
            "severity_color": c.SEVERITY_COLORS[complaint.severity],
            "contact": c.contact_for(request.user, complaint),
            "steps": [(s.value, s.label) for s in c.Status],
            "repairs": complaint.repairs.all(),
            **forms_,
        },
        status=status,
    )


@project_page(*SEE)
def complaint_detail(request, project, pk):
    """投诉详情: what the user may see; the forms of what they may do."""
    return _detail(request, project, _complaint(request, project, pk))


def _act(request, project, pk, form_class, key, call, success, form_kwargs=None):
    complaint = _complaint(request, project, pk)
    form = form_class(request.POST, **(form_kwargs or {}))
    if form.is_valid():
        ok, _result = run_action(
            request,
            lambda: call(complaint, form.cleaned_data),
            success=success,
            form=form,
        )
        if ok:
            return redirect("aftersales:complaint_detail", project.pk, complaint.pk)
    return _detail(request, project, _complaint(request, project, pk), status=400, **{key: form})


class RepairFromComplaintForm(forms.Form):
    description = forms.CharField(label=gettext_lazy("维修内容"), max_length=300)
    due_on = forms.DateField(label=gettext_lazy("要求完成日期"), required=False, widget=DateInput())


@require_POST
@project_page(*SEE, act=MANAGE)
def complaint_repair(request, project, pk):
    """转维修单: a repair order for the complaint's unit (the repair team's deadline in
    working days unless a date is given)."""
    return _act(
        request,
        project,
        pk,
        RepairFromComplaintForm,
        "repair_form",
        lambda x, d: delivery.repair_create(
            actor=request.user,
            project=project,
            description=d["description"],
            source="complaint",
            deal=x.deal,
            unit=x.unit,
            due_on=d["due_on"],
            complaint=x,
        ),
        _("已转维修单。"),
    )


@require_POST
@project_page(*SEE, act=MANAGE)
def complaint_assign(request, project, pk):
    return _act(
        request,
        project,
        pk,
        AssignForm,
        "assign_form",
        lambda x, d: c.complaint_assign(
            actor=request.user,
            complaint=x,
            department=d["department"],
            assigned_to=d.get("assigned_to"),
        ),
        _("已分派。"),
        {"project": project},
    )


@require_POST
@project_page(*SEE, act=MANAGE)
def complaint_answer(request, project, pk):
    return _act(
        request,
        project,
        pk,
        AnswerForm,
        "answer_form",
        lambda x, d: c.complaint_answer(actor=request.user, complaint=x, text=d["text"]),
        _("首次答复已记录。"),
    )


@require_POST
@project_page(*SEE, act=MANAGE)
def complaint_resolve(request, project, pk):
    return _act(
        request,
        project,
        pk,
        ResolveForm,
        "resolve_form",
        lambda x, d: c.complaint_resolve(
            actor=request.user,
            complaint=x,
            resolution=d["resolution"],
            proposal=d.get("proposal", ""),
            proposal_to=d.get("proposal_to", ""),
        ),
        _("处理结果已记录，请安排回访。"),
    )


@require_POST
@project_page(*SEE, act=MANAGE)
def complaint_visit(request, project, pk):
    return _act(
        request,
        project,
        pk,
        VisitForm,
        "visit_form",
        lambda x, d: c.complaint_visit(
            actor=request.user, complaint=x, note=d["note"], satisfaction=d["satisfaction"]
        ),
        _("回访已记录，投诉已关闭。"),
    )


@project_page(*SEE)
def complaint_print(request, project, pk):
    """The written reply 投诉处理答复函 (seed 002 第十五条: 向客户做出书面答复)."""
    complaint = _complaint(request, project, pk)
    return render(
        request,
        "aftersales/complaint_print.html",
        {"project": project, "complaint": complaint, "today": timezone.localdate()},
    )


# --- analysis ---------------------------------------------------------------------------------


@project_page(*OFFICE)
def complaint_analysis(request, project):
    """投诉分析 (seed 001 七(四)6, seed 004 分析总结): by category, building and month, and
    the improvement proposals sent to the departments."""
    error = None
    start, end = request.GET.get("start", ""), request.GET.get("end", "")
    try:
        result = c.analysis(request.user, project, start=start, end=end)
    except DomainError as exc:
        error = exc.message
        result = c.analysis(request.user, project)
    proposal_to = request.GET.get("proposal_to", "")
    if proposal_to not in Department.values:
        proposal_to = ""
    return render(
        request,
        "aftersales/complaint_analysis.html",
        {
            "project": project,
            "result": result,
            "error": error,
            "proposals": list(c.proposals_of(request.user, project, proposal_to)[:200]),
            "proposal_to": proposal_to,
            "departments": [(d.value, d.label) for d in c.PROPOSAL_TO],
            "tab": "analysis",
            **_perms(request.user, project),
        },
        status=400 if error else 200,
    )


# --- categories -------------------------------------------------------------------------------


def _categories(request, project, *, status=200, form=None, edit=None):
    categories = list(ComplaintCategory.objects.filter(project=project))
    rows = []
    for cat in categories:
        bound = edit[1] if edit and edit[0] == cat.pk else None
        rows.append(
            (
                cat,
                bound
                or CategoryForm(
                    auto_id=f"category-{cat.pk}-%s",
                    initial={
                        "name": cat.name,
                        "department": cat.department,
                        "first_answer_days": cat.first_answer_days,
                        "final_answer_days": cat.final_answer_days,
                        "sort_order": cat.sort_order,
                    },
                ),
            )
        )
    return render(
        request,
        "aftersales/complaint_categories.html",
        {
            "project": project,
            "rows": rows,
            "form": form or CategoryForm(auto_id="category-%s"),
            "tab": "categories",
            **_perms(request.user, project),
        },
        status=status,
    )


@project_page(*OFFICE)
def complaint_categories(request, project):
    """投诉类别与答复时限: each category's first and final answer deadlines in working
    days; the new-category form for those who configure."""
    if request.method == "POST":
        require(request.user, project, CONFIGURE)
        form = CategoryForm(request.POST, auto_id="category-%s")
        if form.is_valid():
            ok, _cat = run_action(
                request,
                lambda: c.category_save(actor=request.user, project=project, **form.cleaned_data),
                success=_("投诉类别已添加。"),
                form=form,
            )
            if ok:
                return redirect("aftersales:complaint_categories", project.pk)
        return _categories(request, project, status=400, form=form)
    return _categories(request, project)


@require_POST
@project_page(*OFFICE, act=CONFIGURE)
def complaint_category_edit(request, project, pk):
    category = get_object_or_404(ComplaintCategory.objects.filter(project=project), pk=pk)
    form = CategoryForm(request.POST, auto_id=f"category-{pk}-%s")
    if form.is_valid():
        ok, _cat = run_action(
            request,
            lambda: c.category_save(
                actor=request.user, project=project, category=category, **form.cleaned_data
            ),
            success=_("投诉类别已保存。"),
            form=form,
        )
        if ok:
            return redirect("aftersales:complaint_categories", project.pk)
    return _categories(request, project, status=400, edit=(category.pk, form))


# --- surveys ----------------------------------------------------------------------------------


@project_page(*OFFICE)
def survey_list(request, project):
    """满意度调查: the rounds with their response and index per period (seed 004 五)."""
    return render(
        request,
        "aftersales/survey_list.html",
        {
            "project": project,
            "periods": list(reversed(c.survey_periods(request.user, project))),
            "tab": "surveys",
            **_perms(request.user, project),
        },
    )


@project_page(*OFFICE, act=MANAGE)
def survey_create(request, project):
    """Start a survey round: a questionnaire, the period, the links' expiry and the
    owners (all contracted, or the delivered ones)."""
    which = request.GET.get("which", "contracted")
    today = timezone.localdate()
    candidates = c.survey_candidates(request.user, project, which)
    initial = {
        "title": _("%(y)s年业主满意度调查") % {"y": today.year},
        "period_start": today.replace(day=1),
        "period_end": today,
        "expires_at": today + datetime.timedelta(days=30),
        "deals": list(candidates.values_list("pk", flat=True)),
    }
    form = SurveyForm(request.POST or None, user=request.user, project=project, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            ok, survey = run_action(
                request,
                lambda: c.survey_create(actor=request.user, project=project, **data),
                success=lambda s: _("调查已发起，共 %(n)d 位业主。") % {"n": s.invitations.count()},
                form=form,
            )
            if ok:
                return redirect("aftersales:survey_detail", project.pk, survey.pk)
        status = 400
    return render(
        request,
        "aftersales/survey_form.html",
        {"project": project, "form": form, "which": which},
        status=status,
    )


def _survey(request, project, pk):
    return get_object_or_404(c.surveys_of(request.user, project), pk=pk)


@project_page(*OFFICE)
def survey_detail(request, project, pk):
    """A survey's results (seed 001 七(五)2): per question, and who has answered."""
    survey = _survey(request, project, pk)
    invitations = survey.invitations.select_related("deal__unit", "deal__customer").order_by(
        "deal__unit__number", "pk"
    )
    return render(
        request,
        "aftersales/survey_detail.html",
        {
            "project": project,
            "survey": survey,
            "results": c.survey_results(survey),
            "invitations": invitations,
            "expired": survey.expires_at <= timezone.now(),
            **_perms(request.user, project),
        },
    )


def _links(request, survey):
    """Each owner's link (a fresh signed token; printing writes nothing)."""
    rows = []
    for inv in survey.invitations.select_related("deal__unit", "deal__customer").order_by(
        "deal__unit__number", "pk"
    ):
        path = reverse("aftersales:survey_answer", args=[c.invitation_token(inv)])
        rows.append((inv, request.build_absolute_uri(path)))
    return rows


@project_page(*OFFICE, act=MANAGE)
def survey_forms(request, project, pk):
    """The printable questionnaire per owner 调查表 (to hand over or post), each with the
    owner's own link to answer online instead; ``?invitation=`` prints one."""
    survey = _survey(request, project, pk)
    rows = _links(request, survey)
    one = request.GET.get("invitation", "")
    if one.isdigit():
        rows = [r for r in rows if r[0].pk == int(one)]
        if not rows:
            raise Http404
    return render(
        request,
        "aftersales/survey_print.html",
        {
            "project": project,
            "survey": survey,
            "rows": rows,
            "questions": c.questions_of(survey),
        },
    )


@project_page(*OFFICE)
def survey_report(request, project, pk):
    """The report to management 满意度调查报告 (seed 001 七(五)2 定期向管理層報告): the
    survey's results, the trend over the periods, and the complaints of the period."""
    survey = _survey(request, project, pk)
    return render(
        request,
        "aftersales/survey_report.html",
        {
            "project": project,
            "survey": survey,
            "results": c.survey_results(survey),
            "periods": c.survey_periods(request.user, project),
            "complaints": c.complaints_in_period(
                request.user, project, survey.period_start, survey.period_end
            ),
            "today": timezone.localdate(),
        },
    )


# --- questionnaires ---------------------------------------------------------------------------


@project_page(*OFFICE)
def survey_templates(request, project):
    """问卷: the project's questionnaires; a new one for those who configure."""
    form = None
    status = 200
    if request.method == "POST":
        require(request.user, project, CONFIGURE)
        form = TemplateForm(request.POST)
        if form.is_valid():
            ok, template = run_action(
                request,
                lambda: c.template_save(actor=request.user, project=project, **form.cleaned_data),
                success=_("问卷已创建，请添加题目。"),
                form=form,
            )
            if ok:
                return redirect("aftersales:survey_template", project.pk, template.pk)
        status = 400
    templates = c.templates_of(request.user, project).prefetch_related("questions")
    return render(
        request,
        "aftersales/survey_templates.html",
        {
            "project": project,
            "templates": templates,
            "form": form or TemplateForm(initial={"is_active": True}),
            "tab": "templates",
            **_perms(request.user, project),
        },
        status=status,
    )


def _template(request, project, pk):
    return get_object_or_404(c.templates_of(request.user, project), pk=pk)


def _template_page(request, project, template, *, status=200, form=None, question_form=None):
    questions = list(template.questions.all())
    return render(
        request,
        "aftersales/survey_template.html",
        {
            "project": project,
            "template": template,
            "questions": questions,
            "answered": set(
                SurveyQuestion.objects.filter(template=template, answers__isnull=False)
                .values_list("pk", flat=True)
                .distinct()
            ),
            "form": form
            or TemplateForm(
                initial={
                    "name": template.name,
                    "intro": template.intro,
                    "is_active": template.is_active,
                }
            ),
            "question_form": question_form
            or QuestionForm(auto_id="question-%s", initial={"kind": "scale", "scale_max": 5}),
            "kinds": QuestionKind.choices,
            **_perms(request.user, project),
        },
        status=status,
    )


@project_page(*OFFICE)
def survey_template(request, project, pk):
    """The questionnaire editor: its name and the questions (score 1–N or text)."""
    template = _template(request, project, pk)
    if request.method == "POST":
        require(request.user, project, CONFIGURE)
        form = TemplateForm(request.POST)
        if form.is_valid():
            ok, _t = run_action(
                request,
                lambda: c.template_save(
                    actor=request.user, project=project, template=template, **form.cleaned_data
                ),
                success=_("问卷已保存。"),
                form=form,
            )
            if ok:
                return redirect("aftersales:survey_template", project.pk, template.pk)
        return _template_page(request, project, template, status=400, form=form)
    return _template_page(request, project, template)


@require_POST
@project_page(*OFFICE, act=CONFIGURE)
def survey_question_save(request, project, pk, question_pk=None):
    """Add a question, or edit one (``question_pk``)."""
    template = _template(request, project, pk)
    question = None
    if question_pk is not None:
        question = get_object_or_404(
            SurveyQuestion.objects.filter(template=template), pk=question_pk
        )
    form = QuestionForm(request.POST, auto_id="question-%s")
    if form.is_valid():
        data = form.cleaned_data
        ok, _q = run_action(
            request,
            lambda: c.question_save(
                actor=request.user,
                template=template,
                question=question,
                text=data["text"],
                kind=data["kind"],
                scale_max=data.get("scale_max") or 5,
                sort_order=data.get("sort_order"),
            ),
            success=_("题目已保存。"),
            form=form,
        )
        if ok:
            return redirect("aftersales:survey_template", project.pk, template.pk)
    return _template_page(request, project, template, status=400, question_form=form)


@require_POST
@project_page(*OFFICE, act=CONFIGURE)
def survey_question_delete(request, project, pk, question_pk):
    template = _template(request, project, pk)
    question = get_object_or_404(SurveyQuestion.objects.filter(template=template), pk=question_pk)
    run_action(
        request,
        lambda: c.question_delete(actor=request.user, question=question),
        success=_("题目已删除。"),
    )
    return redirect("aftersales:survey_template", project.pk, template.pk)


# --- the owner's public page ------------------------------------------------------------------


def survey_answer(request, token):
    """The owner's questionnaire reached by the signed link 问卷链接 (no account): a
    forged, expired or answered link is refused with a page saying why (its code on the
    page); the answers are written only by the POST (CSRF-protected), once."""
    try:
        invitation = c.invitation_from_token(token)
    except DomainError as exc:
        return render(
            request,
            "aftersales/survey_public.html",
            {"refused": exc, "code": str(exc.code)},
            status=exc.status,
        )
    questions = c.questions_of(invitation.survey)
    errors: dict = {}
    given: dict = {}
    if request.method == "POST":
        given = {q.pk: request.POST.get(f"q{q.pk}", "") for q in questions}
        try:
            c.survey_answer(token=token, answers=given)
        except DomainError as exc:
            if exc.fields.get("token"):
                return render(
                    request,
                    "aftersales/survey_public.html",
                    {"refused": exc, "code": str(exc.code)},
                    status=exc.status,
                )
            errors = {k: v for k, v in exc.fields.items()}
            errors.setdefault("__all__", [str(exc.message)])
        else:
            return render(
                request,
                "aftersales/survey_public.html",
                {"thanks": True, "survey": invitation.survey},
            )
    return render(
        request,
        "aftersales/survey_public.html",
        {
            "invitation": invitation,
            "survey": invitation.survey,
            "questions": [
                (q, str(given.get(q.pk, "")), errors.get(f"q{q.pk}", []), range(1, q.scale_max + 1))
                for q in questions
            ],
            "error": (errors.get("__all__") or [None])[0],
        },
        status=400 if errors else 200,
    )
