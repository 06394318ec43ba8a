"""Reports 报表 (issue 15; seeds 001 一, 002 三 填报规定, 004 五 六).

The reports read what the other apps hold and never write business data. What lives
here is only what the office adds to its reports: the project's report settings (the
daily closing time, who receives the scheduled files, the thresholds of the compliance
checks), the targets 销售目标, the spend per channel 推广费用, the confirmed daily
reports (a frozen snapshot the supervisor signs off) and the record of every scheduled
file written or mailed.
"""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loupan.core.querysets import RestrictedManager

MONEY = {"max_digits": 14, "decimal_places": 2}

# Customer fields the office requires on every registration (seed 004 二(一)2 必填字段);
# the compliance report counts the customers that lack one. The analysis dimensions of
# seed 002 二.3(2) are the default.
REQUIRED_FIELD_CHOICES = [
    ("gender", _("性别")),
    ("age_band", _("年龄段")),
    ("occupation", _("职业")),
    ("income_band", _("收入段")),
    ("education", _("文化程度")),
    ("residence_district", _("居住区域")),
    ("work_district", _("工作区域")),
    ("channel", _("认知途径")),
    ("purpose", _("购房目的")),
    ("motive", _("购房动机")),
    ("budget_max", _("预算")),
]
DEFAULT_REQUIRED_FIELDS = ["occupation", "income_band", "residence_district", "channel"]


def default_required_fields():
    return list(DEFAULT_REQUIRED_FIELDS)


class Scoped(models.Model):
    """Report rows of a project: ``report.view`` shows the project's, ``report.view_own``
    (a consultant) their own."""

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "report"

    class Meta:
        abstract = True


class ReportSettings(Scoped):
    """A project's report settings: the daily report closes at ``close_time`` (seed 001
    三(三): 每日下午17:30前完成当日白班作业的汇总), the scheduled files go to
    ``recipients``, and the compliance checks of seed 004 二 use the working-day limits
    ([X]个工作日内录入客户 / 合同扫描件) and the follow-up minimum."""

    project = models.OneToOneField(
        "inventory.Project",
        verbose_name=_("项目"),
        on_delete=models.CASCADE,
        related_name="report_settings",
    )
    close_time = models.TimeField(_("日报截止时间"), default=datetime.time(17, 30))
    recipients = models.TextField(
        _("报表收件人"), blank=True, help_text=_("每行一个电子邮箱；留空则只写入报表文件夹")
    )
    entry_days = models.PositiveSmallIntegerField(
        _("客户录入时限（工作日）"), default=1, help_text=_("首次接触后几个工作日内须录入系统")
    )
    scan_days = models.PositiveSmallIntegerField(
        _("合同扫描件时限（工作日）"), default=3, help_text=_("签约后几个工作日内须上传扫描件")
    )
    follow_up_days = models.PositiveSmallIntegerField(
        _("跟进周期（天）"), default=30, help_text=_("统计跟进次数的天数")
    )
    min_follow_ups = models.PositiveSmallIntegerField(
        _("周期内最少跟进次数"), default=2, help_text=_("名下意向客户在跟进周期内至少跟进的次数")
    )
    required_fields = models.JSONField(_("客户必填项"), default=default_required_fields)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("报表设置")
        verbose_name_plural = _("报表设置")

    def __str__(self):
        return f"{self.project} {self._meta.verbose_name}"

    def recipient_list(self) -> list[str]:
        return [
            line.strip() for line in self.recipients.replace(",", "\n").splitlines() if line.strip()
        ]


class Target(Scoped):
    """A sales target 销售目标 for a month (seed 001 一.1: the yearly target and plan,
    broken down by month): the project's (no consultant) or one consultant's, in sales
    amount (认购金额), units and collections 回款. Entered by the manager or director."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.CASCADE, related_name="+"
    )
    month = models.DateField(_("月份"), help_text=_("该月的第一天"))
    consultant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("置业顾问"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    amount = models.DecimalField(_("销售额目标（元）"), default=0, **MONEY)
    units = models.PositiveIntegerField(_("套数目标"), default=0)
    collections = models.DecimalField(_("回款目标（元）"), default=0, **MONEY)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("填报人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    scope_owner_field = "consultant"

    class Meta:
        verbose_name = _("销售目标")
        verbose_name_plural = _("销售目标")
        ordering = ["month", "consultant_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "month", "consultant"],
                condition=Q(consultant__isnull=False),
                name="reports_target_consultant_unique",
            ),
            models.UniqueConstraint(
                fields=["project", "month"],
                condition=Q(consultant__isnull=True),
                name="reports_target_project_unique",
            ),
        ]

    def __str__(self):
        who = self.consultant or _("项目")
        return f"{self.month:%Y-%m} {who}"


class ChannelSpend(Scoped):
    """What a channel 认知途径 cost in a month (planning enters it), the base of cost per
    call, per visit and per deal (seed 002 二.1(3): 为广告效果测评提供参照)."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.CASCADE, related_name="+"
    )
    channel = models.ForeignKey(
        "customers.Channel", verbose_name=_("认知途径"), on_delete=models.PROTECT, related_name="+"
    )
    month = models.DateField(_("月份"), help_text=_("该月的第一天"))
    amount = models.DecimalField(_("推广费用（元）"), **MONEY)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("填报人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("推广费用")
        verbose_name_plural = _("推广费用")
        ordering = ["month", "channel_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "channel", "month"], name="reports_channelspend_unique"
            )
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.channel}"


class DailyReport(Scoped):
    """A confirmed 销售日报: the supervisor reviews the day's figures and confirms them
    (seed 002 三.1). The figures are frozen in ``figures`` with their SHA-256; the row
    is never changed afterwards, so a later correction of the data shows as a difference
    between the frozen and the current figures, not as a silent change."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField(_("日期"))
    figures = models.JSONField(_("确认时的数据"))
    digest = models.CharField(_("摘要（SHA-256）"), max_length=64)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("确认时间"))

    class Meta:
        verbose_name = _("已确认日报")
        verbose_name_plural = _("已确认日报")
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["project", "day"], name="reports_dailyreport_unique")
        ]

    def __str__(self):
        return f"{self.project} {self.day}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("a confirmed daily report is never changed")
        super().save(*args, **kwargs)


class RunKind(models.TextChoices):
    DAILY = "daily", _("销售日报")
    WEEKLY = "weekly", _("销售周报")
    MONTHLY = "monthly", _("销售月报")


class ReportRun(Scoped):
    """A scheduled report written by ``loupan run-due``: the file in the reports folder
    and whom it was mailed to. One per project, kind and period, so running the job
    twice writes nothing the second time."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("报表"), max_length=10, choices=RunKind.choices)
    start = models.DateField(_("开始日期"))
    end = models.DateField(_("结束日期"))
    path = models.CharField(_("文件"), max_length=300)
    mailed_to = models.TextField(_("已发送至"), blank=True)
    mail_error = models.CharField(_("发送失败原因"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("定时报表")
        verbose_name_plural = _("定时报表")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "kind", "start"], name="reports_reportrun_unique"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.start}–{self.end}"
