"""Core's tables: the counters behind gapless document numbers (``core.numbering``) and
the office's working-day calendar (``core.workdays``). They name no app: a counter's
``scope`` is the id of whatever the numbers run within (a project)."""

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
