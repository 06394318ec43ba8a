"""Core's tables: the counters behind gapless document numbers (``core.numbering``) and
the office's working-day calendar (``core.workdays``). They name no app: a counter's
``scope`` is the id of whatever the numbers run within (a project)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DocumentCounter(models.Model):
    """The last number used per scope (project) and kind (保留单, 认购书, 合同, 收据, 认筹号
    …): the row is locked and incremented inside the writing transaction, so a
    rolled-back write gives its number back and two concurrent writes never share one."""

    scope = models.PositiveBigIntegerField(_("范围"))
    kind = models.CharField(_("单据类型"), max_length=20)
    last = models.PositiveIntegerField(_("已用号码"), default=0)

    class Meta:
        verbose_name = _("单据编号")
        verbose_name_plural = _("单据编号")
        constraints = [
            models.UniqueConstraint(fields=["scope", "kind"], name="core_counter_unique")
        ]

    def __str__(self):
        return f"{self.scope}/{self.kind}: {self.last}"


class CalendarDay(models.Model):
    """An exception to the ordinary week in the office's working-day calendar 工作日历: a
    public holiday on a weekday (``working=False``) or a make-up working day 调休 on a
    weekend (``working=True``). Every other Monday to Friday is a working day. The
    administrator edits it; the demo loads this year's and next year's national
    calendar."""

    day = models.DateField(_("日期"), unique=True)
    working = models.BooleanField(_("上班"), default=False)
    name = models.CharField(_("名称"), max_length=40)

    class Meta:
        verbose_name = _("工作日历")
        verbose_name_plural = _("工作日历")
        ordering = ["day"]

    def __str__(self):
        return f"{self.day} {self.name}"


class CodeEntry(models.Model):
    """One entry of a code list the office keeps (``core.codelists``: 跟进方式, 职业, 退房原因
    …) on a project. The system entries of a list (the codes rules depend on) live in
    code; a row here is the office's own entry, or a system entry relabelled or moved.
    A retired entry (``retired_at``) is no longer offered but old records keep and show
    it. A company entry (``company`` set, no ``project``) is on the list of every project
    of that company, kept (renamed, retired) by who holds ``codelist.manage`` on all of
    them."""

    project = models.ForeignKey(
        settings.LOUPAN_PROJECT_MODEL,
        verbose_name=_("项目"),
        on_delete=models.CASCADE,
        related_name="code_entries",
        null=True,
        blank=True,
    )
    company = models.ForeignKey(
        settings.LOUPAN_COMPANY_MODEL,
        verbose_name=_("公司"),
        on_delete=models.CASCADE,
        related_name="code_entries",
        null=True,
        blank=True,
    )
    kind = models.CharField(_("代码表"), max_length=30)
    code = models.CharField(_("代码"), max_length=20)
    label = models.CharField(_("名称"), max_length=50)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)
    system = models.BooleanField(_("系统项"), default=False)
    retired_at = models.DateTimeField(_("停用时间"), null=True, blank=True)

    scope_project_field = "project"
    scope_perm = "project"

    class Meta:
        verbose_name = _("代码表项")
        verbose_name_plural = _("代码表项")
        ordering = ["project_id", "kind", "sort_order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "kind", "code"], name="core_codeentry_unique"
            ),
            models.UniqueConstraint(
                fields=["company", "kind", "code"],
                condition=models.Q(project__isnull=True),
                name="core_codeentry_company_unique",
            ),
            # a project's entry or the company's, never both nor neither
            models.CheckConstraint(
                condition=models.Q(project__isnull=True) ^ models.Q(company__isnull=True),
                name="core_codeentry_one_scope",
            ),
        ]

    def __str__(self):
        return self.label
