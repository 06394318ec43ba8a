"""The supervisor's daily sign-offs 签核 (seed 001 三(一): 每日10:00前完成前日來電、來訪的確認
工作; 三(四)3: 負責復審每日簽約的合同、認購單、保留單).

A ``SignOff`` records that a day of one kind was checked: who signed, when, against which
deadline, with a note and the figures checked. It is frozen once written: never
updated, never deleted (append-only, audited); a later correction is a new entry of the
same day (``seq`` 2, 3 …, with a note), and lateness is the first entry's.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from loupan.core.querysets import RestrictedManager

from .kinds import kind_of


class SignOff(models.Model):
    """One signature on one day of one kind; ``seq`` 1 is the sign-off, higher ones
    corrections. Frozen: ``save`` refuses a change and ``delete`` refuses."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("签核类型"), max_length=20)
    day = models.DateField(_("日期"))
    seq = models.PositiveSmallIntegerField(_("序号"), default=1)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("签核人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    signed_at = models.DateTimeField(_("签核时间"))
    deadline = models.DateTimeField(_("签核期限"))
    late = models.BooleanField(_("逾期"), default=False)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    figures = models.JSONField(_("核查数据"), default=dict)

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "signoff"

    class Meta:
        verbose_name = _("主管签核")
        verbose_name_plural = _("主管签核")
        ordering = ["-day", "kind", "seq"]
        constraints = [
            # One sign-off per day and kind; corrections follow it in order.
            models.UniqueConstraint(
                fields=["project", "kind", "day", "seq"], name="signoffs_one_entry_per_seq"
            )
        ]

    def __str__(self):
        return f"{self.kind_label} {self.day:%Y-%m-%d}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValidationError(_("签核记录已冻结，不能修改。"))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("签核记录已冻结，不能删除。"))

    @property
    def kind_label(self) -> str:
        found = kind_of(self.kind)
        return str(found.label) if found else self.kind

    @property
    def is_correction(self) -> bool:
        return self.seq > 1


class SignOffDeadline(models.Model):
    """A project's deadline of one kind: ``days_after`` the day, at ``at`` local time
    (default the kind's: 晨检 the next morning at 10:00)."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("签核类型"), max_length=20)
    days_after = models.PositiveSmallIntegerField(_("截止日（当日后天数）"))
    at = models.TimeField(_("截止时刻"))

    class Meta:
        verbose_name = _("签核期限")
        verbose_name_plural = _("签核期限")
        constraints = [
            models.UniqueConstraint(fields=["project", "kind"], name="signoffs_one_deadline")
        ]

    def __str__(self):
        return f"{self.kind} +{self.days_after} {self.at:%H:%M}"
