"""Every approval of the office in one table (seed 002 万科 1(5): never over the head of
one's superior; seed 000: a site manager or higher approves a cancellation).

A request names what it is about (``subject``: a deal, a price list, a payment …), what
is asked (``kind`` and ``payload``), the level asked now (``level``) and the level that
can finally decide (``final_level``). What a level is, who holds it and what happens when
the request is decided is the kind's business: see ``approvals.engine``.
"""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loupan.core.querysets import RestrictedManager

from .kinds import kind_of, visibility_q


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("已驳回")
    WITHDRAWN = "withdrawn", _("已撤回")


class Decision(models.TextChoices):
    APPROVE = "approve", _("批准")
    FORWARD = "forward", _("同意并上报")
    REJECT = "reject", _("驳回")
    WITHDRAW = "withdraw", _("撤回")


class ApprovalRequest(models.Model):
    """One request climbing its kind's levels until a decision; the change it asks for
    is applied (or undone) by the kind's ``apply`` when it is decided or withdrawn."""

    project = models.ForeignKey(
        "inventory.Project",
        verbose_name=_("项目"),
        on_delete=models.PROTECT,
        related_name="approval_requests",
    )
    subject_type = models.ForeignKey(
        ContentType, verbose_name=_("对象类型"), on_delete=models.PROTECT, related_name="+"
    )
    subject_id = models.PositiveBigIntegerField(_("对象"))
    subject = GenericForeignKey("subject_type", "subject_id")
    kind = models.CharField(_("类型"), max_length=20)
    payload = models.JSONField(_("申请内容"), default=dict)
    reason = models.CharField(_("申请理由"), max_length=300)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申请人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("申请时间"))
    level = models.CharField(_("当前审批级别"), max_length=40)
    final_level = models.CharField(_("终审级别"), max_length=40)
    status = models.CharField(
        _("状态"), max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审批人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_reason = models.CharField(_("审批意见"), max_length=300, blank=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("审批申请")
        verbose_name_plural = _("审批申请")
        ordering = ["-requested_at", "-pk"]
        constraints = [
            # One open request of a kind per object: a second one waits for the first.
            models.UniqueConstraint(
                fields=["subject_type", "subject_id", "kind"],
                condition=Q(status="pending"),
                name="approvals_one_open_request_per_kind",
            )
        ]
        indexes = [
            models.Index(fields=["project", "status", "level"]),
            models.Index(fields=["subject_type", "subject_id"]),
        ]

    def __str__(self):
        return f"{self.kind_label} · {self.subject}"

    @property
    def kind_label(self) -> str:
        found = kind_of(self.kind, missing_ok=True)
        return str(found.label) if found else self.kind

    def get_kind_display(self) -> str:
        return self.kind_label

    def name_of_level(self, level: str) -> str:
        """A level of this request in its kind's words (a role, or who holds a permission)."""
        found = kind_of(self.kind, missing_ok=True)
        return str(found.level_label(level)) if found else level

    @classmethod
    def restrict_q(cls, user, action: str) -> Q:
        """Each kind names the permission that shows its requests (``<perm>.view`` in the
        project, or ``<perm>.view_own`` for the requests one made oneself)."""
        return visibility_q(user, action)


class ApprovalStep(models.Model):
    """Each level's decision on a request: forwarded up, approved, rejected, withdrawn."""

    request = models.ForeignKey(
        ApprovalRequest, verbose_name=_("审批申请"), on_delete=models.CASCADE, related_name="steps"
    )
    level = models.CharField(_("审批级别"), max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审批人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    decision = models.CharField(_("决定"), max_length=10, choices=Decision.choices)
    reason = models.CharField(_("意见"), max_length=300, blank=True)
    at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("审批记录")
        verbose_name_plural = _("审批记录")
        ordering = ["request", "at", "pk"]

    def __str__(self):
        return f"{self.level} {self.decision}"
