from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loupan.core.ports import access
from loupan.core.querysets import RestrictedQuerySet

from .role_table import SYSTEM_ROLES


class UserQuerySet(RestrictedQuerySet):
    pass


class LoupanUserManager(UserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    """A member of the sales office staff (never a customer).

    Login security follows seed 004 四(三): Argon2 hashes, a password policy, a forced
    change at first login (``must_change_password``) and after
    ``LOUPAN_PASSWORD_MAX_AGE_DAYS`` (``password_changed_at``). Staff leave by being
    deactivated, never deleted, so that their history stays attributed.
    """

    first_name = None
    last_name = None
    real_name = models.CharField(_("姓名"), max_length=50)
    mobile = models.CharField(_("手机号"), max_length=20, blank=True)
    employee_no = models.CharField(_("工号"), max_length=30, blank=True)
    language = models.CharField(
        _("界面语言"), max_length=10, choices=settings.LANGUAGES, default="zh-hans"
    )
    must_change_password = models.BooleanField(_("下次登录须修改密码"), default=True)
    password_changed_at = models.DateTimeField(_("密码修改时间"), null=True, blank=True)
    is_demo = models.BooleanField(_("演示账号"), default=False)

    objects = LoupanUserManager()

    REQUIRED_FIELDS = ["real_name"]

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        ordering = ["username"]
        constraints = [
            models.UniqueConstraint(
                fields=["employee_no"],
                condition=~Q(employee_no=""),
                name="accounts_user_employee_no_unique",
            ),
        ]

    def __str__(self):
        return f"{self.real_name}（{self.username}）" if self.real_name else self.username

    def get_absolute_url(self):
        return reverse("accounts:user_detail", args=[self.pk])

    def get_full_name(self):
        return self.real_name or self.username

    def get_short_name(self):
        return self.real_name or self.username

    def set_password(self, raw_password):
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()

    @classmethod
    def restrict_q(cls, user, action):
        """Staff see the members of the projects where they hold ``user.view``; user
        managers also see accounts that belong to no project yet (to grant them one)."""
        projects = access.projects_with(user, "user.view" if action == "view" else "user.manage")
        q = Q(pk=user.pk) if action == "view" else Q(pk__in=[])
        if projects:
            q |= Q(memberships__project_id__in=projects)
        if access.projects_with(user, "user.manage"):
            q |= Q(memberships__isnull=True)
        return q

    def password_expired(self) -> bool:
        days = settings.LOUPAN_PASSWORD_MAX_AGE_DAYS
        if not days or self.password_changed_at is None:
            return False
        return timezone.now() - self.password_changed_at > timezone.timedelta(days=days)

    def needs_password_change(self) -> bool:
        """True when the next page must be the password change (first login or expiry).
        Demo accounts are exempt only while the system runs in demo mode."""
        if self.is_demo and settings.LOUPAN_DEMO:
            return False
        return self.must_change_password or self.password_expired()


class Role(models.Model):
    """A named set of permissions (PRODUCT.md roles). System roles come from
    ``roles.SYSTEM_ROLES``; a user holds roles per project through ``Membership``."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    description = models.CharField(_("职责"), max_length=200, blank=True)
    permissions = models.JSONField(_("权限"), default=list, blank=True)
    is_system = models.BooleanField(_("系统角色"), default=False)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=100)

    class Meta:
        verbose_name = _("角色")
        verbose_name_plural = _("角色")
        ordering = ["sort_order", "code"]

    def __str__(self):
        return self.display_name

    def get_absolute_url(self):
        return reverse("accounts:role_detail", args=[self.code])

    @property
    def display_name(self) -> str:
        """The translated name for system roles, the stored name otherwise."""
        for spec in SYSTEM_ROLES:
            if spec["code"] == self.code:
                return str(spec["name"])
        return self.name

    @property
    def display_description(self) -> str:
        for spec in SYSTEM_ROLES:
            if spec["code"] == self.code:
                return str(spec["description"])
        return self.description


class MembershipQuerySet(RestrictedQuerySet):
    pass


class Membership(models.Model):
    """A user's role on one project: the unit of every permission check."""

    user = models.ForeignKey(
        User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="memberships"
    )
    project = models.ForeignKey(
        "inventory.Project",
        verbose_name=_("项目"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    role = models.ForeignKey(
        Role, verbose_name=_("角色"), on_delete=models.PROTECT, related_name="memberships"
    )
    granted_by = models.ForeignKey(
        User,
        verbose_name=_("授权人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("授权时间"), auto_now_add=True)

    objects = models.Manager.from_queryset(MembershipQuerySet)()

    scope_project_field = "project"
    scope_perm = "user"

    class Meta:
        verbose_name = _("项目授权")
        verbose_name_plural = _("项目授权")
        ordering = ["project_id", "role__sort_order", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "project", "role"], name="accounts_membership_unique"
            ),
        ]

    def __str__(self):
        return f"{self.user} · {self.project} · {self.role}"
