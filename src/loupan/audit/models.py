import hashlib
import json

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loupan.accounts import access
from loupan.core.masking import strip_floor_price
from loupan.core.querysets import RestrictedManager, RestrictedQuerySet

GENESIS_HASH = "0" * 64


class AuditAction(models.TextChoices):
    CREATE = "create", _("新增")
    UPDATE = "update", _("修改")
    DELETE = "delete", _("删除")
    LOGIN = "login", _("登录")
    LOGIN_FAILED = "login_failed", _("登录失败")
    LOGOUT = "logout", _("退出")
    LOCKED_OUT = "locked_out", _("登录锁定")
    PASSWORD_CHANGE = "password_change", _("修改密码")
    PASSWORD_RESET = "password_reset", _("重置密码")
    REVEAL = "reveal", _("查看敏感信息")
    EXPORT = "export", _("导出")
    GRANT = "grant", _("授权")
    REVOKE = "revoke", _("撤销授权")
    ACTION = "action", _("业务操作")


class AuditQuerySet(RestrictedQuerySet):
    """Append-only: bulk update and delete are refused by the application."""

    def update(self, **kwargs):
        raise PermissionError("audit entries are append-only")

    def delete(self):
        raise PermissionError("audit entries are append-only")

    def restrict_for(self, user):
        return self.restrict(user, "view")


class AuditEntry(models.Model):
    """One event of the audit trail (seed 004 四: every change, login, reveal and export).

    The trail is append-only and tamper-evident: each entry stores the SHA-256 of its own
    content together with the previous entry's hash, so editing or removing any row breaks
    the chain (``loupan verify-audit``). On PostgreSQL a trigger refuses UPDATE and DELETE
    on the table. Actor and project are kept without database constraints so that the
    trail never blocks, and is never rewritten by, the removal of what it describes.
    """

    created_at = models.DateTimeField(_("时间"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_username = models.CharField(_("操作人账号"), max_length=150, blank=True)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    project = models.ForeignKey(
        "inventory.Project",
        verbose_name=_("项目"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    action = models.CharField(_("动作"), max_length=32, choices=AuditAction.choices, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=100, blank=True, db_index=True)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    changes = models.JSONField(_("变更字段"), default=dict, blank=True)
    extra = models.JSONField(_("附加信息"), default=dict, blank=True)
    prev_hash = models.CharField(_("前一条哈希"), max_length=64)
    hash = models.CharField(_("哈希"), max_length=64, unique=True)

    objects = RestrictedManager.from_queryset(AuditQuerySet)()
    restrict_distinct = False  # restrict_q stays on the entry's own columns

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-id"]
        indexes = [models.Index(fields=["object_type", "object_id", "id"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_username} {self.get_action_display()} {self.object_repr}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise PermissionError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit entries are append-only")

    @classmethod
    def restrict_q(cls, user, action):
        """Auditors see entries of their projects, and project-less entries (logins)."""
        projects = access.projects_with(user, f"audit.{action}")
        if not projects:
            return Q(pk__in=[])
        return Q(project_id__in=projects) | Q(project__isnull=True)

    def hide_for(self, user) -> "AuditEntry":
        """Drop, in memory only, what ``user`` may not see of the changes (floor prices
        for roles without them, issue Inventory); pages, exports and the API call it
        on every entry they show."""
        self.changes = strip_floor_price(user, self.project_id, self.changes)
        return self

    def change_items(self) -> list:
        """``changes`` as ``(field, [before, after])`` pairs for templates, where
        ``changes.items`` would look up a key named "items" first."""
        return list(self.changes.items()) if isinstance(self.changes, dict) else []

    def extra_items(self) -> list:
        return list(self.extra.items()) if isinstance(self.extra, dict) else []

    def content(self) -> dict:
        """The hashed content: everything but the hash itself."""
        return {
            "created_at": self.created_at.isoformat(),
            "actor_id": self.actor_id,
            "actor_username": self.actor_username,
            "ip": self.ip,
            "project_id": self.project_id,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "object_repr": self.object_repr,
            "changes": self.changes,
            "extra": self.extra,
            "prev_hash": self.prev_hash,
        }

    def compute_hash(self) -> str:
        payload = json.dumps(
            self.content(), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()
