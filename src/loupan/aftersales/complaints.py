"""Complaints 投诉 and satisfaction surveys 满意度调查 (issue 14; seeds 001 七(四) 客户投诉处理
and (五) 客户满意度调查, 002 第五章 客户投诉处理 and 第十八条, 004 三(四) 售后服务 and 五).

Complaints:

* Services (one transaction each, with its audit entry): ``category_save`` (the
  categories and their deadlines in working days, ``aftersales.configure``),
  ``complaint_log`` (intake from any channel; the first and the final answer are due
  ``first_answer_days`` / ``final_answer_days`` working days after the day received, on
  the office's calendar, ``core.workdays``), ``complaint_assign``, ``complaint_answer``
  (the first answer), ``complaint_resolve`` (the final answer 书面答复, with the
  improvement proposed to design, construction or property management),
  ``complaint_visit`` (the return visit 回访 with the owner's satisfaction closes it) and
  the daily job ``complaints_escalate`` (a deadline passed, not yet escalated: escalated
  to the manager, once).
* Selectors: the list restricted to what the user may see (a consultant: their own
  buyers'), its FilterSet (status, category, department, overdue, escalated, building,
  month; shared by the page and ``/api/v1/complaints/``), the archive, the analysis by
  category, building and month, and the proposals list.

Surveys:

* ``template_save``, ``question_save``, ``question_delete`` (``aftersales.configure``),
  ``survey_create`` (one invitation per owner's deal), ``survey_answer`` (the owner's
  answers through the signed link, no account, once per invitation), ``invitation_token``
  / ``invitation_from_token``.
* ``survey_results`` (per question: average, distribution, texts; the satisfaction
  index) and ``survey_periods`` (the index per period, for the report to management).
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal

import django_filters
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loupan.accounts import access
from loupan.audit.models import AuditAction
from loupan.audit.services import audit_create, audit_record, audit_update
from loupan.core import numbering, xlsx
from loupan.core.dates import PAST_OR_TODAY, parse_date
from loupan.core.errors import Code, DomainError, ErrorCode, conflict, invalid
from loupan.core.masking import mask_phone
from loupan.core.snapshot import snapshot
from loupan.core.workdays import add_working_days, exceptions_between, working_days_between
from loupan.customers import exports as customer_exports
from loupan.deals.models import Deal
from loupan.inventory.models import Building, Unit, UnitStatus

from . import rules
from .errors import AftersalesError
from .models import (
    Complaint,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintStatus,
    Department,
    QuestionKind,
    Severity,
    Survey,
    SurveyAnswer,
    SurveyInvitation,
    SurveyQuestion,
    SurveyTemplate,
)

Status = ComplaintStatus


class ComplaintError(Code):
    """The complaints' and surveys' own error codes (rendered in the one error shape)."""

    STATUS_TRANSITION = (
        "complaint_status",
        409,
        gettext_lazy("投诉当前状态不能这样办理"),
    )
    CATEGORY_EXISTS = "category_exists", 409, gettext_lazy("该投诉类别已存在")
    NO_QUESTIONS = "no_questions", 409, gettext_lazy("问卷还没有评分题")
    TEMPLATE_INACTIVE = "template_inactive", 409, gettext_lazy("问卷已停用")
    QUESTION_ANSWERED = "question_answered", 409, gettext_lazy("该题已有答卷，不能删除或改题型")
    NO_INVITEES = "no_invitees", 400, gettext_lazy("请至少选择一位业主")


# The UI's colour of each status.
STATUS_COLORS = {
    Status.OPEN: "warning",
    Status.ANSWERED: "info",
    Status.RESOLVED: "primary",
    Status.CLOSED: "success",
}
SEVERITY_COLORS = {Severity.LOW: "secondary", Severity.MEDIUM: "warning", Severity.HIGH: "danger"}
# What each action may start from: the first answer once; the final answer (resolution)
# also at once on the phone (it is then the first answer too); the return visit closes a
# resolved complaint; reassignment until it is resolved.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "assign": (Status.OPEN, Status.ANSWERED),
    "answer": (Status.OPEN,),
    "resolve": (Status.OPEN, Status.ANSWERED),
    "visit": (Status.RESOLVED,),
}
ACTION_LABELS = {
    "assign": gettext_lazy("分派"),
    "answer": gettext_lazy("首次答复"),
    "resolve": gettext_lazy("处理结果（最终答复）"),
    "visit": gettext_lazy("回访"),
}
# Where an improvement proposal goes (seed 001 七(四)4: 反馈相关设计、施工等管理部门).
PROPOSAL_TO = (Department.DESIGN, Department.CONSTRUCTION, Department.PROPERTY, Department.SALES)
MAX_DAYS = 60
SURVEY_SALT = "loupan.aftersales.survey"
# A link older than this is refused even if the survey still runs (a leaked old printout).
TOKEN_MAX_AGE = datetime.timedelta(days=366)
ONE = Decimal("1")


# --- predicates -----------------------------------------------------------------------------


def can_manage(user, project) -> rules.Answer:
    return rules.can_manage(user, project)


def can_configure(user, project) -> rules.Answer:
    return rules.can_configure(user, project)


def can_do(user, complaint, action: str) -> rules.Answer:
    """``action`` (assign, answer, resolve, visit) on the complaint: ``aftersales.manage``
    and the complaint's status allowing it."""
    answer = rules.can_manage(user, complaint.project_id)
    if not answer[0]:
        return answer
    if complaint.status not in TRANSITIONS[action]:
        return False, conflict(
            _("投诉当前为「%(s)s」，不能办理%(a)s。")
            % {"s": complaint.get_status_display(), "a": ACTION_LABELS[action]},
            "status",
            ComplaintError.STATUS_TRANSITION,
        )
    return rules.YES


def abilities(user, complaint) -> dict:
    """Every action's answer for this user (the page and the API)."""
    return {action: can_do(user, complaint, action)[0] for action in TRANSITIONS}


def may_reveal(user, project) -> bool:
    """The complainant's phone in full (seed 002 5.3.3: 投诉业主信息保密): those who may
    reveal customers' phones; others see it masked."""
    return access.has_perm(user, "customer.reveal", project)


def contact_for(user, complaint) -> str:
    if may_reveal(user, complaint.project_id):
        return complaint.contact
    return mask_phone(complaint.contact) if complaint.contact else ""


# --- parsing ---------------------------------------------------------------------------------


def _text(value, field, limit, required_message=None) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value)
    if required_message and not text:
        raise invalid(field, required_message)
    if len(text) > limit:
        raise invalid(field, _("最多 %(n)d 个字") % {"n": limit})
    return text


def _choice(value, field, choices, message):
    if value not in choices:
        raise invalid(field, message)
    return value


def _int(value, field, low, high, message) -> int:
    try:
        if isinstance(value, bool | float):
            raise TypeError
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise invalid(field, message) from exc
    if not low <= number <= high:
        raise invalid(field, message)
    return number


def _moment(value, field, now=None):
    """When something happened: now when not given; a date means the start of its day
    (a letter received the day before), never in the future."""
    now = now or timezone.now()
    if value in (None, ""):
        return now
    if isinstance(value, datetime.datetime):
        moment = value if timezone.is_aware(value) else timezone.make_aware(value)
    else:
        day = parse_date(value, field, when=PAST_OR_TODAY)
        moment = now if day == timezone.localdate(now) else _start_of(day)
    if moment > now + datetime.timedelta(minutes=5):
        raise invalid(field, _("时间不能晚于现在"))
    return moment


def _start_of(day: datetime.date):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(9)))


def _category(project, category) -> ComplaintCategory:
    pk = getattr(category, "pk", category)
    found = (
        ComplaintCategory.objects.filter(project=project, pk=pk).first()
        if str(pk).isdigit()
        else None
    )
    if found is None:
        raise invalid("category", _("请选择本项目的投诉类别"))
    return found


def assignee_candidates(project):
    """Who may follow a complaint: the project's active members holding
    ``aftersales.manage`` (customer service, the leads, sales admin)."""
    return access.members_with(project, "aftersales.manage")


def _assignee(project, assigned_to):
    if assigned_to in (None, ""):
        return None
    pk = getattr(assigned_to, "pk", assigned_to)
    found = assignee_candidates(project).filter(pk=pk).first() if str(pk).isdigit() else None
    if found is None:
        raise invalid("assigned_to", _("处理人须是本项目办理售后的同事"))
    return found


def _deal_and_unit(actor, project, deal, unit):
    """The deal (one the actor may see, of the project) and its unit; or a unit alone."""
    if deal not in (None, ""):
        pk = getattr(deal, "pk", deal)
        found = (
            rules.deals_for(actor, project).select_related("unit", "customer").filter(pk=pk).first()
            if str(pk).isdigit()
            else None
        )
        if found is None:
            raise invalid("deal", _("交易不存在或不属于本项目"))
        return found, found.unit
    if unit not in (None, ""):
        pk = getattr(unit, "pk", unit)
        found = Unit.objects.filter(project=project, pk=pk).first() if str(pk).isdigit() else None
        if found is None:
            raise invalid("unit", _("房间不存在或不属于本项目"))
        live = (
            Deal.objects.filter(unit=found, status__in=rules.AFTER_SALE)
            .select_related("customer")
            .order_by("-pk")
            .first()
        )
        return live, found
    return None, None


def _lock(complaint) -> Complaint:
    return (
        Complaint.objects.select_for_update(of=("self",))
        .select_related("project", "category")
        .get(pk=complaint.pk)
    )


# --- categories --------------------------------------------------------------------------------


def category_save(
    *,
    actor,
    project,
    category: ComplaintCategory | None = None,
    name: str,
    department: str = Department.SERVICE,
    first_answer_days=1,
    final_answer_days=7,
    sort_order=0,
) -> ComplaintCategory:
    """Create or edit a complaint category with its deadlines in working days (seed 004
    三(四): 首次答复、最终答复 within set working days): the first answer no later than
    the final one, each 0–60 working days; the name unique in the project. A change
    applies to complaints logged afterwards (a logged complaint keeps its due dates)."""
    rules.ensure(can_configure(actor, project))
    name = _text(name, "name", 30, _("请填写类别名称"))
    department = _choice(department, "department", Department.values, _("请选择默认责任部门"))
    message = _("请填写 0 至 %(n)d 之间的工作日数") % {"n": MAX_DAYS}
    first = _int(first_answer_days, "first_answer_days", 0, MAX_DAYS, message)
    final = _int(final_answer_days, "final_answer_days", 0, MAX_DAYS, message)
    if first > final:
        raise invalid("final_answer_days", _("最终答复时限不能早于首次答复时限"))
    order = _int(sort_order or 0, "sort_order", 0, 999, _("顺序须是 0 至 999 的整数"))
    clash = ComplaintCategory.objects.filter(project=project, name=name)
    if category is not None:
        if category.project_id != project.pk:
            raise invalid("category", _("类别不属于本项目"))
        clash = clash.exclude(pk=category.pk)
    if clash.exists():
        raise invalid(
            "name", _("类别「%(n)s」已存在") % {"n": name}, code=ComplaintError.CATEGORY_EXISTS
        )
    try:
        with transaction.atomic():
            values = {
                "name": name,
                "department": department,
                "first_answer_days": first,
                "final_answer_days": final,
                "sort_order": order,
            }
            if category is None:
                category = ComplaintCategory.objects.create(project=project, **values)
                audit_create(actor=actor, obj=category)
            else:
                category = ComplaintCategory.objects.select_for_update(of=("self",)).get(
                    pk=category.pk
                )
                before = snapshot(category)
                for key, value in values.items():
                    setattr(category, key, value)
                category.save()
                audit_update(actor=actor, obj=category, before=before)
    except IntegrityError as exc:
        raise invalid(
            "name", _("类别「%(n)s」已存在") % {"n": name}, code=ComplaintError.CATEGORY_EXISTS
        ) from exc
    return category


# --- complaint services -------------------------------------------------------------------------


def due_dates(category, received_at) -> tuple[datetime.date, datetime.date]:
    """The first and the final answer's due days: the category's working days after the
    day received (received on a Friday with 1 working day: due Monday; holidays and the
    make-up working days 调休 from the office's calendar)."""
    day = timezone.localdate(received_at)
    return (
        add_working_days(day, category.first_answer_days),
        add_working_days(day, category.final_answer_days),
    )


def complaint_log(
    *,
    actor,
    project,
    channel: str,
    category,
    severity: str = Severity.LOW,
    complainant: str = "",
    contact: str = "",
    description: str,
    deal=None,
    unit=None,
    department: str | None = None,
    received_at=None,
) -> Complaint:
    """Log a complaint 投诉受理 (seed 001 七(四)3 記錄客戶投訴信息; seed 002 第十三条 投诉渠道)
    from any channel (来访, 电话, 信函, 网络): its category, severity, the owner's deal or
    the unit, the complainant (the deal's buyer when not named) and the content; the
    department answering defaults to the category's. The first and the final answer are
    due the category's working days after the day received (``due_dates``). Numbered TS-
    (gapless per project)."""
    rules.ensure(can_manage(actor, project))
    channel = _choice(channel, "channel", ComplaintChannel.values, _("请选择投诉渠道"))
    category = _category(project, category)
    severity = _choice(severity or Severity.LOW, "severity", Severity.values, _("请选择严重程度"))
    description = _text(description, "description", 2000, _("请填写投诉内容"))
    deal, unit = _deal_and_unit(actor, project, deal, unit)
    complainant = _text(complainant, "complainant", 50)
    if not complainant and deal is not None:
        complainant = deal.customer.name
    if not complainant:
        raise invalid("complainant", _("请填写投诉人"))
    contact = _text(contact, "contact", 30)
    department = department or category.department
    department = _choice(department, "department", Department.values, _("请选择责任部门"))
    received = _moment(received_at, "received_at")
    first_due, final_due = due_dates(category, received)
    with transaction.atomic():
        complaint = Complaint.objects.create(
            project=project,
            number=numbering.next_number(project, "complaint"),
            channel=channel,
            category=category,
            severity=severity,
            deal=deal,
            unit=unit,
            complainant=complainant,
            contact=contact,
            description=description,
            department=department,
            received_at=received,
            first_due=first_due,
            final_due=final_due,
            created_by=actor,
        )
        audit_create(actor=actor, obj=complaint)
    return complaint


def complaint_assign(
    *, actor, complaint: Complaint, department: str, assigned_to=None
) -> Complaint:
    """Assign the complaint to the department answering for it (设计, 工程施工, 物业管理,
    销售 …; seed 001 七(四)5 組織協調相關專業部門處理) and the colleague who follows it;
    until it is resolved."""
    rules.ensure(can_manage(actor, complaint.project_id))
    department = _choice(department, "department", Department.values, _("请选择责任部门"))
    person = _assignee(complaint.project_id, assigned_to)
    with transaction.atomic():
        complaint = _lock(complaint)
        rules.ensure(can_do(actor, complaint, "assign"))
        before = snapshot(complaint)
        complaint.department, complaint.assigned_to = department, person
        complaint.save()
        audit_update(actor=actor, obj=complaint, before=before)
    return complaint


def complaint_answer(*, actor, complaint: Complaint, text: str, answered_at=None) -> Complaint:
    """The first answer 首次答复 to the owner (seed 004: within the category's working
    days): once, on an open complaint; it turns 处理中."""
    rules.ensure(can_manage(actor, complaint.project_id))
    text = _text(text, "text", 2000, _("请填写首次答复内容"))
    with transaction.atomic():
        complaint = _lock(complaint)
        rules.ensure(can_do(actor, complaint, "answer"))
        at = max(_moment(answered_at, "answered_at"), complaint.received_at)
        before = snapshot(complaint)
        complaint.first_answer, complaint.first_answered_at = text, at
        complaint.status = Status.ANSWERED
        complaint.save()
        audit_update(actor=actor, obj=complaint, before=before)
    return complaint


def complaint_resolve(
    *,
    actor,
    complaint: Complaint,
    resolution: str,
    proposal: str = "",
    proposal_to: str = "",
    resolved_at=None,
) -> Complaint:
    """The final answer 最终答复 with the result (seed 002 第十五条: 书面答复), and the
    improvement proposed to design, construction or property management (seed 001
    七(四)4, seed 004 分析总结、改进); a proposal names where it goes. Resolved at once on an
    open complaint, the result is its first answer too. It then waits for the return
    visit."""
    rules.ensure(can_manage(actor, complaint.project_id))
    resolution = _text(resolution, "resolution", 2000, _("请填写处理结果"))
    proposal = _text(proposal, "proposal", 2000)
    proposal_to = proposal_to or ""
    if proposal and not proposal_to:
        raise invalid("proposal_to", _("请选择改进建议送达的部门"))
    if proposal_to:
        _choice(
            proposal_to, "proposal_to", PROPOSAL_TO, _("改进建议送达设计、工程施工、物业管理或销售")
        )
        if not proposal:
            raise invalid("proposal", _("请填写改进建议"))
    with transaction.atomic():
        complaint = _lock(complaint)
        rules.ensure(can_do(actor, complaint, "resolve"))
        at = max(_moment(resolved_at, "resolved_at"), complaint.received_at)
        before = snapshot(complaint)
        if complaint.first_answered_at is None:
            complaint.first_answered_at, complaint.first_answer = at, resolution
        complaint.resolution, complaint.resolved_at = resolution, at
        complaint.proposal, complaint.proposal_to = proposal, proposal_to
        complaint.status = Status.RESOLVED
        complaint.save()
        audit_update(actor=actor, obj=complaint, before=before)
    return complaint


def complaint_visit(
    *, actor, complaint: Complaint, note: str, satisfaction, visited_at=None
) -> Complaint:
    """The return visit 回访 (seed 001 七(四)1 處理結果的跟蹤及回訪) with the owner's
    satisfaction 1–5 closes a resolved complaint; it then lives in the archive."""
    rules.ensure(can_manage(actor, complaint.project_id))
    note = _text(note, "note", 300, _("请填写回访记录"))
    score = _int(satisfaction, "satisfaction", 1, 5, _("满意度须是 1 至 5 的整数"))
    with transaction.atomic():
        complaint = _lock(complaint)
        rules.ensure(can_do(actor, complaint, "visit"))
        at = max(_moment(visited_at, "visited_at"), complaint.resolved_at or complaint.received_at)
        before = snapshot(complaint)
        complaint.visit_note, complaint.satisfaction, complaint.visited_at = note, score, at
        complaint.status = Status.CLOSED
        complaint.save()
        audit_update(actor=actor, obj=complaint, before=before)
    return complaint


def overdue_q(today: datetime.date | None = None) -> Q:
    """Waiting past a deadline: no first answer after ``first_due``, or not resolved after
    ``final_due`` (a due day is met by an answer on that day)."""
    today = today or timezone.localdate()
    return Q(first_answered_at__isnull=True, first_due__lt=today) | Q(
        resolved_at__isnull=True, final_due__lt=today
    )


def complaints_escalate(*, now=None) -> dict:
    """The daily job (``loupan run-due``): every complaint waiting past its first or
    final answer's due day and not yet escalated is escalated to the manager
    (``escalated_at``; the list's 已升级 filter and badge), once, with its audit entry.
    Running it again escalates nothing more."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    done = 0
    with transaction.atomic():
        due = list(
            Complaint.objects.select_for_update(of=("self",))
            .filter(overdue_q(today), escalated_at__isnull=True)
            .exclude(status=Status.CLOSED)
            .order_by("pk")
        )
        for complaint in due:
            before = snapshot(complaint)
            complaint.escalated_at = now
            complaint.save(update_fields=["escalated_at"])
            which = (
                "first"
                if complaint.first_answered_at is None and complaint.first_due < today
                else "final"
            )
            audit_record(
                actor=None,
                username="system",
                action=AuditAction.UPDATE,
                obj=complaint,
                changes={"escalated_at": [before.get("escalated_at"), now.isoformat()]},
                extra={"job": "complaints_escalate", "overdue": which},
            )
            done += 1
    return {"complaints_escalated": done}


ESCALATE_LABELS = {"complaints_escalated": "投诉超时升级"}


# --- complaint selectors ------------------------------------------------------------------------


def complaints_of(user, project):
    """The project's complaints the user may see (``aftersales.view``: all; a consultant
    with ``aftersales.view_own``: their own buyers')."""
    return (
        Complaint.objects.restrict(user, "view")
        .filter(project=project)
        .select_related("category", "unit__building", "deal__customer", "assigned_to")
    )


def archive_of(user, project):
    """The complaint archive 投诉档案 (seed 001 七(四)3 管理客戶投訴檔案): closed ones, the
    latest first."""
    return complaints_of(user, project).filter(status=Status.CLOSED)


def flags(complaint, today: datetime.date | None = None) -> dict:
    """What the page shows next to the deadlines: each overdue (still waiting after its
    due day) or answered late, and escalated."""
    today = today or timezone.localdate()
    first_at = complaint.first_answered_at
    final_at = complaint.resolved_at
    return {
        "first_overdue": first_at is None and today > complaint.first_due,
        "first_late": first_at is not None and timezone.localdate(first_at) > complaint.first_due,
        "final_overdue": final_at is None and today > complaint.final_due,
        "final_late": final_at is not None and timezone.localdate(final_at) > complaint.final_due,
        "escalated": complaint.escalated_at is not None,
    }


def is_overdue(complaint, today=None) -> bool:
    f = flags(complaint, today)
    return f["first_overdue"] or f["final_overdue"]


def parse_month(value) -> datetime.date:
    """``YYYY-MM`` as the month's first day."""
    try:
        return datetime.datetime.strptime(str(value).strip(), "%Y-%m").date()
    except ValueError as exc:
        raise invalid("month", _("月份格式应为 YYYY-MM，如 2026-03")) from exc


def _next_month(first: datetime.date) -> datetime.date:
    return (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def _month_range(first: datetime.date):
    return _start_of_day(first), _start_of_day(_next_month(first))


def _start_of_day(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


class ComplaintFilterSet(django_filters.FilterSet):
    """One filter set for the complaints page and ``/api/v1/complaints/``: status,
    category, department, severity, channel, overdue, escalated, building, the month
    received (``YYYY-MM``) and a search by number, complainant or unit."""

    q = django_filters.CharFilter(label=gettext_lazy("编号 / 投诉人 / 房间"), method="search")
    status = django_filters.ChoiceFilter(label=gettext_lazy("状态"), choices=Status.choices)
    category = django_filters.ModelChoiceFilter(
        label=gettext_lazy("类别"), queryset=ComplaintCategory.objects.none()
    )
    department = django_filters.ChoiceFilter(
        label=gettext_lazy("责任部门"), choices=Department.choices
    )
    severity = django_filters.ChoiceFilter(label=gettext_lazy("严重程度"), choices=Severity.choices)
    channel = django_filters.ChoiceFilter(
        label=gettext_lazy("渠道"), choices=ComplaintChannel.choices
    )
    building = django_filters.ModelChoiceFilter(
        label=gettext_lazy("楼栋"), queryset=Building.objects.none(), field_name="unit__building"
    )
    month = django_filters.CharFilter(label=gettext_lazy("受理月份"), method="filter_month")
    overdue = django_filters.BooleanFilter(label=gettext_lazy("超时"), method="filter_overdue")
    escalated = django_filters.BooleanFilter(
        label=gettext_lazy("已升级"), field_name="escalated_at", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = Complaint
        fields = [
            "q",
            "status",
            "category",
            "department",
            "severity",
            "channel",
            "building",
            "month",
            "overdue",
            "escalated",
        ]

    def __init__(self, *args, project=None, **kwargs):
        super().__init__(*args, **kwargs)
        if project is not None:
            self.filters["category"].queryset = ComplaintCategory.objects.filter(project=project)
            self.filters["building"].queryset = Building.objects.filter(project=project).order_by(
                "name"
            )
        elif self.request is not None:
            user = self.request.user
            self.filters["category"].queryset = ComplaintCategory.objects.restrict(user, "view")
            projects = access.projects_with(user, "aftersales.view") + access.projects_with(
                user, "aftersales.view_own"
            )
            self.filters["building"].queryset = Building.objects.filter(project_id__in=projects)

    def search(self, queryset, name, value):
        text = (value or "").strip()
        if not text:
            return queryset
        return queryset.filter(
            Q(number__icontains=text)
            | Q(complainant__icontains=text)
            | Q(unit__number__icontains=text)
            | Q(deal__number__icontains=text)
        )

    def filter_month(self, queryset, name, value):
        if not value:
            return queryset
        start, end = _month_range(parse_month(value))
        return queryset.filter(received_at__gte=start, received_at__lt=end)

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        q = overdue_q(timezone.localdate())
        return queryset.filter(q) if value else queryset.exclude(q)


def status_counts(queryset) -> list[tuple[str, str, int]]:
    counts = dict(queryset.order_by().values_list("status").annotate(n=Count("pk")))
    return [(s.value, s.label, counts.get(s.value, 0)) for s in Status]


def attention_counts(queryset) -> dict:
    """How many wait past a deadline, and how many were escalated and are not closed."""
    today = timezone.localdate()
    return {
        "overdue": queryset.filter(overdue_q(today)).count(),
        "escalated": queryset.filter(escalated_at__isnull=False)
        .exclude(status=Status.CLOSED)
        .count(),
    }


# --- analysis 分析总结 ----------------------------------------------------------------------------


def _avg(values, places="0.1"):
    if not values:
        return None
    return (Decimal(sum(values)) / len(values)).quantize(Decimal(places), ROUND_HALF_UP)


def _pct(part, whole):
    if not whole:
        return None
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _bucket() -> dict:
    return {"count": 0, "closed": 0, "overdue": 0, "first_days": [], "final_days": [], "scores": []}


def _finish(key, label, b) -> dict:
    return {
        "key": key,
        "label": label,
        "count": b["count"],
        "closed": b["closed"],
        "overdue": b["overdue"],
        "overdue_share": _pct(b["overdue"], b["count"]),
        "avg_first_days": _avg(b["first_days"]),
        "avg_final_days": _avg(b["final_days"]),
        "avg_satisfaction": _avg(b["scores"], "0.01"),
        "visited": len(b["scores"]),
    }


def analysis(user, project, *, start=None, end=None, today=None) -> dict:
    """The complaints analysis 投诉分析 (seed 001 七(四)6 定期對客戶投訴進行分析; seed 004
    分析总结) for the complaints received from ``start`` to ``end`` (months ``YYYY-MM``,
    inclusive; the last 12 months by default), by category, by building and by month:
    the count, how many are closed, the average working days to the first answer and to
    the final answer (of those answered), the overdue share (a deadline missed: answered
    after its due day, or still waiting past it) and the average satisfaction of the
    return visits; the totals over all."""
    today = today or timezone.localdate()
    last = parse_month(end) if end else today.replace(day=1)
    first = parse_month(start) if start else (last - datetime.timedelta(days=335)).replace(day=1)
    if first > last:
        raise invalid("start", _("起始月份不能晚于截止月份"))
    rows = list(
        complaints_of(user, project)
        .filter(
            received_at__gte=_start_of_day(first), received_at__lt=_start_of_day(_next_month(last))
        )
        .order_by("received_at", "pk")
    )
    lo = min((timezone.localdate(c.received_at) for c in rows), default=first)
    # the calendar read once for the whole analysis, not once per complaint
    exceptions = exceptions_between(lo, max(today, lo) + datetime.timedelta(days=1))
    total = _bucket()
    by: dict[str, dict] = {"category": {}, "building": {}, "month": {}}
    labels: dict[str, dict] = {"category": {}, "building": {}, "month": {}}
    for c in rows:
        got = timezone.localdate(c.received_at)
        f = flags(c, today)
        keys = {
            "category": (c.category_id, c.category.name),
            "building": (
                c.unit.building_id if c.unit_id else 0,
                c.unit.building.name if c.unit_id else _("未关联房间"),
            ),
            "month": (f"{got:%Y-%m}", f"{got:%Y-%m}"),
        }
        buckets = [total]
        for dim, (key, label) in keys.items():
            labels[dim][key] = label
            buckets.append(by[dim].setdefault(key, _bucket()))
        overdue = any(f[k] for k in ("first_overdue", "first_late", "final_overdue", "final_late"))
        first_days = (
            working_days_between(got, timezone.localdate(c.first_answered_at), exceptions)
            if c.first_answered_at
            else None
        )
        final_days = (
            working_days_between(got, timezone.localdate(c.resolved_at), exceptions)
            if c.resolved_at
            else None
        )
        for b in buckets:
            b["count"] += 1
            b["closed"] += c.status == Status.CLOSED
            b["overdue"] += overdue
            if first_days is not None:
                b["first_days"].append(first_days)
            if final_days is not None:
                b["final_days"].append(final_days)
            if c.satisfaction:
                b["scores"].append(c.satisfaction)
    months = []
    cursor = first
    while cursor <= last:
        key = f"{cursor:%Y-%m}"
        months.append(_finish(key, key, by["month"].get(key, _bucket())))
        cursor = _next_month(cursor)
    category_order = {
        c.pk: i for i, c in enumerate(ComplaintCategory.objects.filter(project=project))
    }
    return {
        "start": f"{first:%Y-%m}",
        "end": f"{last:%Y-%m}",
        "total": _finish("total", _("合计"), total),
        "by_category": [
            _finish(k, labels["category"][k], b)
            for k, b in sorted(by["category"].items(), key=lambda kv: category_order.get(kv[0], 0))
        ],
        "by_building": [
            _finish(k, labels["building"][k], b)
            for k, b in sorted(
                by["building"].items(), key=lambda kv: str(labels["building"][kv[0]])
            )
        ],
        "by_month": months,
    }


def proposals_of(user, project, proposal_to: str = ""):
    """The improvement proposals 改进建议 sent to design, construction, property
    management or sales (seed 001 七(四)4, seed 004 改进), the latest first."""
    qs = complaints_of(user, project).exclude(proposal="")
    if proposal_to:
        qs = qs.filter(proposal_to=proposal_to)
    return qs.order_by("-resolved_at", "-pk")


# --- the list as xlsx ---------------------------------------------------------------------------

_c = xlsx.col

COLUMNS = [
    _c("number", "投诉编号", width=18),
    _c("received_at", "受理时间", width=16),
    _c("channel", "渠道", width=8),
    _c("category", "类别", width=10),
    _c("severity", "严重程度", width=8),
    _c("unit", "房间", width=14),
    _c("complainant", "投诉人", width=10),
    _c("contact", "联系电话", width=14),
    _c("description", "投诉内容", width=36),
    _c("department", "责任部门", width=10),
    _c("assigned_to", "处理人", width=10),
    _c("status", "状态", width=12),
    _c("first_due", "首次答复期限"),
    _c("first_answered_at", "首次答复时间", width=16),
    _c("final_due", "最终答复期限"),
    _c("resolved_at", "解决时间", width=16),
    _c("resolution", "处理结果", width=30),
    _c("overdue", "超时", width=6),
    _c("escalated_at", "升级时间", width=16),
    _c("visited_at", "回访时间", width=16),
    _c("satisfaction", "满意度", "integer", width=8),
    _c("proposal_to", "建议送达", width=10),
    _c("proposal", "改进建议", width=30),
]


def _t(value) -> str:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}" if value else ""


def _d(value) -> str:
    return f"{value:%Y-%m-%d}" if value else ""


def _name(user) -> str:
    return (user.real_name or user.username) if user else ""


def complaint_row(c, today, reveal: bool) -> list:
    f = flags(c, today)
    late = any(f[k] for k in ("first_overdue", "first_late", "final_overdue", "final_late"))
    return [
        c.number,
        _t(c.received_at),
        c.get_channel_display(),
        c.category.name,
        c.get_severity_display(),
        c.unit.number if c.unit_id else "",
        c.complainant,
        c.contact if reveal else (mask_phone(c.contact) if c.contact else ""),
        c.description,
        c.get_department_display(),
        _name(c.assigned_to),
        c.get_status_display(),
        _d(c.first_due),
        _t(c.first_answered_at),
        _d(c.final_due),
        _t(c.resolved_at),
        c.resolution,
        "是" if late else "",
        _t(c.escalated_at),
        _t(c.visited_at),
        c.satisfaction,
        c.get_proposal_to_display() if c.proposal_to else "",
        c.proposal,
    ]


def may_export(user, project) -> bool:
    """The complaint register leaves as a file only for those who see all of the
    project's after sales."""
    return access.has_perm(user, "aftersales.view", project)


def complaints_export(*, actor, project, queryset, filters: dict) -> bytes:
    """The complaint register 投诉登记表 as xlsx, audited as an export with its filters."""
    if not may_export(actor, project):
        raise DomainError(ErrorCode.PERMISSION_DENIED, _("您没有导出投诉登记表的权限"))
    # it names the owners: with the manager's consent where the project wants it
    customer_exports.require_consent(project)
    today = timezone.localdate()
    reveal = may_reveal(actor, project)
    content, _count = xlsx.export_audited(
        actor=actor,
        project=project,
        what="aftersales.complaint",
        sheet="投诉登记表",
        columns=COLUMNS,
        rows=(complaint_row(c, today, reveal) for c in queryset.iterator(chunk_size=500)),
        filters=filters,
    )
    return content


# --- survey templates 问卷 --------------------------------------------------------------------------


def template_save(
    *,
    actor,
    project,
    template: SurveyTemplate | None = None,
    name: str,
    intro: str = "",
    is_active=True,
) -> SurveyTemplate:
    """Create or edit a questionnaire 问卷 (seed 001 七(五)1 組織開展客戶滿意度調查)."""
    rules.ensure(can_configure(actor, project))
    name = _text(name, "name", 60, _("请填写问卷名称"))
    intro = _text(intro, "intro", 2000)
    with transaction.atomic():
        if template is None:
            template = SurveyTemplate.objects.create(
                project=project, name=name, intro=intro, is_active=bool(is_active)
            )
            audit_create(actor=actor, obj=template)
        else:
            if template.project_id != project.pk:
                raise invalid("template", _("问卷不属于本项目"))
            template = SurveyTemplate.objects.select_for_update(of=("self",)).get(pk=template.pk)
            before = snapshot(template)
            template.name, template.intro, template.is_active = name, intro, bool(is_active)
            template.save()
            audit_update(actor=actor, obj=template, before=before)
    return template


def question_save(
    *,
    actor,
    template: SurveyTemplate,
    question: SurveyQuestion | None = None,
    text: str,
    kind: str = QuestionKind.SCALE,
    scale_max=5,
    sort_order=None,
) -> SurveyQuestion:
    """Add or edit a question: a score 1–N (N from 2 to 10) or a free text. A question
    already answered keeps its kind and scale (the results would mix scales); its wording
    may still be corrected."""
    rules.ensure(can_configure(actor, template.project_id))
    text = _text(text, "text", 200, _("请填写题目"))
    kind = _choice(kind, "kind", QuestionKind.values, _("请选择题型"))
    scale = (
        _int(scale_max, "scale_max", 2, 10, _("满分须是 2 至 10 的整数"))
        if kind == QuestionKind.SCALE
        else 5
    )
    with transaction.atomic():
        if question is None:
            if sort_order in (None, ""):
                order = (template.questions.count() + 1) * 10
            else:
                order = _int(sort_order, "sort_order", 0, 999, _("顺序须是 0 至 999 的整数"))
            question = SurveyQuestion.objects.create(
                template=template, text=text, kind=kind, scale_max=scale, sort_order=order
            )
            audit_create(actor=actor, obj=question, extra={"template": template.pk})
        else:
            if question.template_id != template.pk:
                raise invalid("question", _("题目不属于该问卷"))
            question = SurveyQuestion.objects.select_for_update(of=("self",)).get(pk=question.pk)
            answered = question.answers.exists()
            if answered and (kind != question.kind or scale != question.scale_max):
                raise conflict(
                    _("该题已有答卷，不能改题型或满分；可以新增一题。"),
                    "kind",
                    ComplaintError.QUESTION_ANSWERED,
                )
            before = snapshot(question)
            question.text, question.kind, question.scale_max = text, kind, scale
            if sort_order not in (None, ""):
                question.sort_order = _int(
                    sort_order, "sort_order", 0, 999, _("顺序须是 0 至 999 的整数")
                )
            question.save()
            audit_update(actor=actor, obj=question, before=before)
    return question


def question_delete(*, actor, question: SurveyQuestion) -> None:
    """Remove a question nobody has answered yet."""
    rules.ensure(can_configure(actor, question.template.project_id))
    with transaction.atomic():
        question = SurveyQuestion.objects.select_for_update(of=("self",)).get(pk=question.pk)
        if question.answers.exists():
            raise conflict(
                _("该题已有答卷，不能删除；可以停用整份问卷。"),
                "question",
                ComplaintError.QUESTION_ANSWERED,
            )
        before, pk = snapshot(question), question.pk
        question.delete()
        audit_record(
            actor=actor,
            action=AuditAction.DELETE,
            object_type="aftersales.surveyquestion",
            object_id=pk,
            object_repr=before.get("text", ""),
            project_id=question.template.project_id,
            changes={k: [v, None] for k, v in before.items()},
        )


# --- surveys 满意度调查 ----------------------------------------------------------------------------


def survey_candidates(user, project, which: str = "contracted"):
    """The owners a survey may go to: the contracted deals the user sees, or only those
    whose unit is delivered (``which="delivered"``)."""
    qs = (
        rules.deals_for(user, project)
        .filter(status__in=rules.AFTER_SALE)
        .select_related("unit", "customer")
    )
    if which == "delivered":
        qs = qs.filter(unit__status=UnitStatus.DELIVERED)
    return qs.order_by("unit__number", "pk")


def survey_create(
    *,
    actor,
    project,
    template,
    title: str,
    period_start,
    period_end,
    expires_at,
    deals,
) -> Survey:
    """Start a survey round 满意度调查 (seed 001 七(五), seed 004 五 客户满意度): an active
    questionnaire with at least one scored question, the period it covers, until when the
    links answer, and one invitation per owner (contracted deals of the project the actor
    sees; each owner once)."""
    rules.ensure(can_manage(actor, project))
    pk = getattr(template, "pk", template)
    template = (
        SurveyTemplate.objects.filter(project=project, pk=pk).first() if str(pk).isdigit() else None
    )
    if template is None:
        raise invalid("template", _("请选择本项目的问卷"))
    if not template.is_active:
        raise conflict(
            _("问卷「%(n)s」已停用。") % {"n": template.name},
            "template",
            ComplaintError.TEMPLATE_INACTIVE,
        )
    if not template.questions.filter(kind=QuestionKind.SCALE).exists():
        raise conflict(_("问卷还没有评分题。"), "template", ComplaintError.NO_QUESTIONS)
    title = _text(title, "title", 60, _("请填写调查名称"))
    start = parse_date(period_start, "period_start")
    end = parse_date(period_end, "period_end")
    if start is None:
        raise invalid("period_start", _("请填写调查期间"))
    if end is None:
        raise invalid("period_end", _("请填写调查期间"))
    if end < start:
        raise invalid("period_end", _("调查期间的结束日不能早于开始日"))
    now = timezone.now()
    if isinstance(expires_at, datetime.datetime):
        expires = expires_at if timezone.is_aware(expires_at) else timezone.make_aware(expires_at)
    else:
        day = parse_date(expires_at, "expires_at")
        if day is None:
            raise invalid("expires_at", _("请填写链接有效期"))
        expires = timezone.make_aware(datetime.datetime.combine(day, datetime.time(23, 59, 59)))
    if expires <= now:
        raise invalid("expires_at", _("链接有效期须晚于现在"))
    if expires - now > TOKEN_MAX_AGE:
        raise invalid("expires_at", _("链接有效期最长一年"))
    ids = sorted(
        {int(getattr(d, "pk", d)) for d in (deals or []) if str(getattr(d, "pk", d)).isdigit()}
    )
    if not ids:
        raise invalid("deals", _("请至少选择一位业主"), code=ComplaintError.NO_INVITEES)
    chosen = list(survey_candidates(actor, project).filter(pk__in=ids))
    if len(chosen) != len(ids):
        raise invalid("deals", _("所选业主须是本项目已签约的交易"))
    with transaction.atomic():
        survey = Survey.objects.create(
            project=project,
            template=template,
            title=title,
            period_start=start,
            period_end=end,
            expires_at=expires,
            created_by=actor,
        )
        SurveyInvitation.objects.bulk_create(
            [SurveyInvitation(survey=survey, deal=d, sent_at=now) for d in chosen]
        )
        audit_create(actor=actor, obj=survey, extra={"invitations": len(chosen)})
    return survey


def invitation_token(invitation) -> str:
    """The signed token of an owner's link (``django.core.signing`` with its own salt):
    it names the invitation and cannot be forged or altered."""
    return signing.dumps({"i": invitation.pk}, salt=SURVEY_SALT, compress=False)


def _token_invalid(message=None) -> DomainError:
    return DomainError(
        AftersalesError.TOKEN_INVALID,
        message or _("链接无效或已过期"),
        {"token": [_("链接无效或已过期")]},
    )


def invitation_from_token(token: str, *, now=None) -> SurveyInvitation:
    """The invitation a link names, if it may still be answered: a forged or altered
    token, one older than ``TOKEN_MAX_AGE`` or past the survey's ``expires_at`` is
    refused (``token_invalid``); an invitation already answered is refused
    (``already_answered``)."""
    now = now or timezone.now()
    try:
        data = signing.loads(str(token or ""), salt=SURVEY_SALT, max_age=TOKEN_MAX_AGE)
        pk = int(data["i"])
    except signing.SignatureExpired as exc:
        raise _token_invalid(_("链接已过期。")) from exc
    except (signing.BadSignature, TypeError, KeyError, ValueError) as exc:
        raise _token_invalid() from exc
    invitation = (
        SurveyInvitation.objects.select_related(
            "survey__template", "survey__project", "deal__unit", "deal__customer"
        )
        .filter(pk=pk)
        .first()
    )
    if invitation is None:
        raise _token_invalid()
    if invitation.survey.expires_at <= now:
        raise _token_invalid(
            _("本次调查已于 %(d)s 结束。") % {"d": _t(invitation.survey.expires_at)}
        )
    if invitation.answered_at is not None:
        raise conflict(
            _("该问卷已于 %(d)s 提交，每位业主只能提交一次。") % {"d": _t(invitation.answered_at)},
            "token",
            AftersalesError.ALREADY_ANSWERED,
        )
    return invitation


def questions_of(survey):
    return list(survey.template.questions.all())


def survey_answer(*, token: str, answers: dict, now=None) -> SurveyInvitation:
    """The owner's answers through the link (no account): every scored question 1–N,
    texts optional (up to 500 characters). One answer per invitation: the row is claimed
    with a conditional update (``answered_at IS NULL``) inside the transaction, so two
    submissions at once store one; the audit entry names the invitation, not a user."""
    now = now or timezone.now()
    invitation = invitation_from_token(token, now=now)
    parsed = []
    for q in questions_of(invitation.survey):
        raw = answers.get(q.pk, answers.get(str(q.pk)))
        field = f"q{q.pk}"
        if q.kind == QuestionKind.SCALE:
            if raw in (None, ""):
                raise invalid(field, _("请为「%(q)s」打分") % {"q": q.text})
            score = _int(
                raw, field, 1, q.scale_max, _("评分须是 1 至 %(n)d 的整数") % {"n": q.scale_max}
            )
            parsed.append(SurveyAnswer(question=q, score=score))
        else:
            text = _text(raw, field, 500)
            if text:
                parsed.append(SurveyAnswer(question=q, text=text))
    with transaction.atomic():
        claimed = SurveyInvitation.objects.filter(
            pk=invitation.pk, answered_at__isnull=True
        ).update(answered_at=now)
        if not claimed:
            raise conflict(
                _("该问卷已经提交过，每位业主只能提交一次。"),
                "token",
                AftersalesError.ALREADY_ANSWERED,
            )
        for a in parsed:
            a.invitation = invitation
        SurveyAnswer.objects.bulk_create(parsed)
        invitation.answered_at = now
        audit_record(
            actor=None,
            username="survey-link",
            action=AuditAction.UPDATE,
            obj=invitation,
            project_id=invitation.survey.project_id,
            changes={"answered_at": [None, now.isoformat()]},
            extra={"survey": invitation.survey_id, "answers": len(parsed)},
        )
    return invitation


# --- survey results -----------------------------------------------------------------------------


def surveys_of(user, project):
    """The project's surveys (``aftersales.view``: a consultant sees none) with their
    counts."""
    return (
        Survey.objects.restrict(user, "view")
        .filter(project=project)
        .select_related("template", "created_by")
        .annotate(
            invited=Count("invitations", distinct=True),
            answered=Count(
                "invitations", filter=Q(invitations__answered_at__isnull=False), distinct=True
            ),
        )
    )


def templates_of(user, project):
    return SurveyTemplate.objects.restrict(user, "view").filter(project=project)


def _index(scores: list[tuple[int, int]]):
    """The satisfaction index 满意度指数: the mean of score / full marks × 100."""
    if not scores:
        return None
    total = sum(Decimal(s) / m for s, m in scores)
    return (total * 100 / len(scores)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _satisfied(scores: list[tuple[int, int]]):
    """The satisfied share 满意率: answers of at least 4 out of 5 (80% of full marks)."""
    if not scores:
        return None
    good = sum(1 for s, m in scores if s * 5 >= 4 * m)
    return _pct(good, len(scores))


def survey_results(survey) -> dict:
    """A survey's results (seed 001 七(五)2 分析客戶滿意度調查結果): invitations, answers,
    the response rate; per scored question the count, the average (two places), the
    distribution of each score with its share, and its index; per text question the
    texts; overall the satisfaction index (mean of score/full × 100) and the satisfied
    share (≥ 80% of full marks). Three queries whatever the size."""
    questions = questions_of(survey)
    invited = survey.invitations.count()
    answered = survey.invitations.filter(answered_at__isnull=False).count()
    rows = SurveyAnswer.objects.filter(invitation__survey=survey).values_list(
        "question_id", "score", "text", "invitation__deal__unit__number"
    )
    by_q: dict[int, list] = {}
    for qid, score, text, unit in rows:
        by_q.setdefault(qid, []).append((score, text, unit))
    out, all_scores = [], []
    for q in questions:
        got = by_q.get(q.pk, [])
        if q.kind == QuestionKind.SCALE:
            scores = [s for s, _t, _u in got if s is not None]
            pairs = [(s, q.scale_max) for s in scores]
            all_scores.extend(pairs)
            out.append(
                {
                    "question": q,
                    "id": q.pk,
                    "text": q.text,
                    "kind": q.kind,
                    "scale_max": q.scale_max,
                    "count": len(scores),
                    "average": _avg(scores, "0.01"),
                    "index": _index(pairs),
                    "distribution": [
                        {
                            "score": n,
                            "count": scores.count(n),
                            "share": _pct(scores.count(n), len(scores)),
                        }
                        for n in range(q.scale_max, 0, -1)
                    ],
                    "texts": [],
                }
            )
        else:
            texts = [{"text": t, "unit": u} for _s, t, u in got if t]
            out.append(
                {
                    "question": q,
                    "id": q.pk,
                    "text": q.text,
                    "kind": q.kind,
                    "scale_max": None,
                    "count": len(texts),
                    "average": None,
                    "index": None,
                    "distribution": [],
                    "texts": texts,
                }
            )
    return {
        "invited": invited,
        "answered": answered,
        "response_rate": _pct(answered, invited),
        "index": _index(all_scores),
        "satisfied_share": _satisfied(all_scores),
        "questions": out,
    }


def survey_periods(user, project) -> list[dict]:
    """Scores per period (seed 004 五: 客户满意度 as a KPI over time): each survey's
    period, response and satisfaction index, the earliest period first."""
    surveys = list(surveys_of(user, project).order_by("period_start", "pk"))
    rows = SurveyAnswer.objects.filter(
        invitation__survey__in=[s.pk for s in surveys], score__isnull=False
    ).values_list("invitation__survey_id", "score", "question__scale_max")
    scores: dict[int, list] = {}
    for sid, score, full in rows:
        scores.setdefault(sid, []).append((score, full))
    return [
        {
            "survey": s,
            "invited": s.invited,
            "answered": s.answered,
            "response_rate": _pct(s.answered, s.invited),
            "index": _index(scores.get(s.pk, [])),
            "satisfied_share": _satisfied(scores.get(s.pk, [])),
        }
        for s in surveys
    ]


def complaints_in_period(user, project, start: datetime.date, end: datetime.date) -> dict:
    """The complaints received in a survey's period, for the report to management: the
    count, the overdue share and the return visits' average satisfaction."""
    rows = list(
        complaints_of(user, project).filter(
            received_at__gte=_start_of_day(start),
            received_at__lt=_start_of_day(end + datetime.timedelta(days=1)),
        )
    )
    today = timezone.localdate()
    overdue = sum(1 for c in rows if any(v for k, v in flags(c, today).items() if k != "escalated"))
    scores = [c.satisfaction for c in rows if c.satisfaction]
    return {
        "count": len(rows),
        "closed": sum(1 for c in rows if c.status == Status.CLOSED),
        "overdue": overdue,
        "overdue_share": _pct(overdue, len(rows)),
        "avg_satisfaction": _avg(scores, "0.01"),
    }
