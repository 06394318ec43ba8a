"""The demo office's complaints and surveys (called by aftersales/demo.py; issue 14 "Done
when": complaints open, overdue and closed, and a survey with answers). Everything is
written through the services of ``complaints``; built once (a project that already has
categories, or questionnaires, is left as it is)."""

import datetime

from django.utils import timezone

from . import complaints as c
from .models import ComplaintCategory, Department, SurveyTemplate

# name, default department, first answer, final answer (working days)
CATEGORIES = [
    ("工程质量", Department.CONSTRUCTION, 2, 15),
    ("交付", Department.SERVICE, 1, 7),
    ("合同", Department.SALES, 1, 5),
    ("服务", Department.SERVICE, 1, 3),
    ("物业管理", Department.PROPERTY, 1, 5),
    ("设计", Department.DESIGN, 2, 15),
]

# category, channel, severity, days ago received, how far it goes, the content, and for
# those resolved: the result, the proposal and where it goes, the satisfaction
PLAN = [
    ("工程质量", "phone", "medium", 0, "open", "主卫天花板有渗水痕迹，疑似楼上防水问题。"),
    ("交付", "visit", "high", 20, "open", "交房时间一再推迟，业主要求书面说明和补偿方案。"),
    ("合同", "letter", "low", 30, "answered", "合同约定的车位使用权未写明，要求补充协议。"),
    ("物业管理", "phone", "low", 2, "answered", "小区夜间施工噪音影响休息。"),
    ("工程质量", "online", "medium", 12, "resolved", "客厅地面空鼓约 2 平方米。"),
    ("设计", "visit", "medium", 45, "closed", "北向卧室窗户开启扇过小，通风不足。"),
    ("服务", "phone", "low", 60, "closed", "置业顾问回复不及时。"),
]
RESULTS = {
    "工程质量": (
        "已安排施工单位返工，重新铺贴空鼓区域并验收合格。",
        "地面找平层施工须加强养护，交付前逐户敲击检查。",
        Department.CONSTRUCTION,
        None,
    ),
    "设计": (
        "经设计院复核符合规范，已为业主加装通风器。",
        "后续户型北向卧室开启扇面积按不小于窗面积三分之一设计。",
        Department.DESIGN,
        4,
    ),
    "服务": ("已向业主致歉，并指定专人对接。", "", "", 5),
}

QUESTIONS = [
    "您对销售人员的服务态度是否满意？",
    "您对合同签订和办理流程是否满意？",
    "您对交房过程和验房安排是否满意？",
    "您对房屋工程质量是否满意？",
    "您对物业服务是否满意？",
]
TEXT_QUESTION = "您对我们的工作还有哪些意见和建议？"
# the scores of the owners who answer, in turn (five questions each)
SCORES = [
    (5, 5, 4, 4, 5),
    (4, 4, 5, 3, 4),
    (5, 4, 4, 4, 3),
    (3, 3, 4, 2, 3),
    (5, 5, 5, 4, 4),
    (4, 5, 3, 3, 4),
]
OPINIONS = ["希望小区绿化早日完工。", "", "车位价格偏高。", "地下车库照明不足。", "", ""]


def _at(days_ago: int, hour: int = 10):
    day = timezone.localdate() - datetime.timedelta(days=days_ago)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def _complaints(project, users) -> None:
    service = users["service"]
    for position, (name, department, first, final) in enumerate(CATEGORIES):
        c.category_save(
            actor=service,
            project=project,
            name=name,
            department=department,
            first_answer_days=first,
            final_answer_days=final,
            sort_order=position * 10,
        )
    categories = {x.name: x for x in ComplaintCategory.objects.filter(project=project)}
    deals = list(c.survey_candidates(service, project)[: len(PLAN)])
    for index, (name, channel, severity, ago, reach, text) in enumerate(PLAN):
        deal = deals[index] if index < len(deals) else None
        received = _at(ago, 9) if ago else timezone.now()
        complaint = c.complaint_log(
            actor=service,
            project=project,
            channel=channel,
            category=categories[name],
            severity=severity,
            deal=deal,
            complainant="" if deal else "匿名业主",
            contact=deal.customer.phone if deal else "",
            description=text,
            received_at=received,
        )
        complaint = c.complaint_assign(
            actor=service,
            complaint=complaint,
            department=complaint.department,
            assigned_to=service,
        )
        if reach == "open":
            continue
        complaint = c.complaint_answer(
            actor=service,
            complaint=complaint,
            text="已收到您的反映，我们已通知责任部门核查，将尽快给您答复。",
            answered_at=_at(max(ago - 1, 0), 15) if ago > 1 else None,
        )
        if reach == "answered":
            continue
        result, proposal, to, score = RESULTS[name]
        complaint = c.complaint_resolve(
            actor=service,
            complaint=complaint,
            resolution=result,
            proposal=proposal,
            proposal_to=to,
            resolved_at=_at(max(ago - 6, 0), 16),
        )
        if reach == "resolved":
            continue
        c.complaint_visit(
            actor=service,
            complaint=complaint,
            note="业主对处理结果表示认可。",
            satisfaction=score,
            visited_at=_at(max(ago - 8, 0), 11),
        )
    # the daily job: the complaints waiting past a deadline go to the manager
    c.complaints_escalate()


def _survey(project, users) -> None:
    service = users["service"]
    template = c.template_save(
        actor=service,
        project=project,
        name="业主满意度调查问卷",
        intro="感谢您选择我们！请根据您的真实感受评分（5 分为非常满意），您的意见将帮助我们改进服务。",
    )
    for text in QUESTIONS:
        c.question_save(actor=service, template=template, text=text, kind="scale", scale_max=5)
    c.question_save(actor=service, template=template, text=TEXT_QUESTION, kind="text")
    deals = list(c.survey_candidates(service, project))
    if not deals:
        return
    today = timezone.localdate()
    survey = c.survey_create(
        actor=service,
        project=project,
        template=template,
        title=f"{today.year}年业主满意度调查",
        period_start=today - datetime.timedelta(days=90),
        period_end=today,
        expires_at=today + datetime.timedelta(days=30),
        deals=deals,
    )
    questions = c.questions_of(survey)
    invitations = list(survey.invitations.order_by("pk"))
    answering = invitations[: max(len(invitations) * 2 // 3, 1)]
    for index, invitation in enumerate(answering):
        scores = SCORES[index % len(SCORES)]
        answers = {}
        for q in questions:
            if q.kind == "scale":
                answers[q.pk] = scores[len(answers) % len(scores)]
            else:
                answers[q.pk] = OPINIONS[index % len(OPINIONS)]
        c.survey_answer(token=c.invitation_token(invitation), answers=answers)


def demo_complaints(context: dict) -> None:
    """Categories with their deadlines; complaints open, overdue (escalated by the daily
    job), answered, resolved and closed with a return visit, on the main project's
    contracted deals; a questionnaire (five scored questions and one text) and a survey
    sent to the owners, two thirds of whom have answered through their links."""
    project, users = context["main"], context["users"]
    if not ComplaintCategory.objects.filter(project=project).exists():
        _complaints(project, users)
    if not SurveyTemplate.objects.filter(project=project).exists():
        _survey(project, users)
