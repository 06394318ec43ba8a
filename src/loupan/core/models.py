"""Core's one table: the counters behind gapless document numbers (``core.numbering``).
It names no app: ``scope`` is the id of whatever the numbers run within (a project)."""

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
