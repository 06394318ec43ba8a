from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from loupan.core.querysets import RestrictedManager


class PricingBasis(models.TextChoices):
    """How a unit's total is computed from its unit price (PRODUCT.md "Inventory")."""

    GROSS_AREA = "gross_area", _("按建筑面积")
    INTERNAL_AREA = "internal_area", _("按套内面积")
    PER_UNIT = "per_unit", _("按套")


class ProjectStatus(models.TextChoices):
    PREPARING = "preparing", _("筹备")
    SELLING = "selling", _("在售")
    SOLD_OUT = "sold_out", _("售罄")
    CLOSED = "closed", _("结案")


class Company(models.Model):
    """The developer company (开发商) that runs one or more projects."""

    name = models.CharField(_("公司名称"), max_length=100, unique=True)
    short_name = models.CharField(_("简称"), max_length=30, blank=True)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    phone = models.CharField(_("电话"), max_length=30, blank=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("开发商")
        verbose_name_plural = _("开发商")
        ordering = ["name"]

    def __str__(self):
        return self.short_name or self.name

    @classmethod
    def restrict_q(cls, user, action):
        """A company is visible through the projects of it that the user may see; those
        who may create projects see every company (to choose the developer)."""
        from loupan.accounts import access

        if access.has_perm(user, "project.add"):
            return Q()
        return Q(projects__id__in=access.projects_with(user, f"project.{action}"))


class Project(models.Model):
    """A sales project (项目): the scope of every permission and the root of everything
    the office sells (PRODUCT.md "Inventory"; later issues hang phases, buildings,
    customers and deals off it)."""

    company = models.ForeignKey(
        Company, verbose_name=_("开发商"), on_delete=models.PROTECT, related_name="projects"
    )
    name = models.CharField(_("项目名称"), max_length=100)
    code = models.SlugField(
        _("项目代码"), max_length=20, unique=True, help_text=_("用于单据编号，如 HY")
    )
    city = models.CharField(_("城市"), max_length=50)
    district = models.CharField(_("区县"), max_length=50, blank=True)
    address = models.CharField(_("项目地址"), max_length=200)
    sales_office_phone = models.CharField(_("售楼处电话"), max_length=30, blank=True)
    default_pricing_basis = models.CharField(
        _("默认计价方式"),
        max_length=20,
        choices=PricingBasis.choices,
        default=PricingBasis.GROSS_AREA,
    )
    status = models.CharField(
        _("状态"), max_length=20, choices=ProjectStatus.choices, default=ProjectStatus.PREPARING
    )
    is_active = models.BooleanField(_("启用"), default=True)
    note = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()

    scope_project_field = "id"
    scope_perm = "project"

    class Meta:
        verbose_name = _("项目")
        verbose_name_plural = _("项目")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "name"], name="inventory_project_name_unique"
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("inventory:project_detail", args=[self.pk])


class PresalePermit(models.Model):
    """A presale permit (商品房预售许可证) and the buildings it covers; a building may be
    sold only under a permit (《城市商品房预售管理办法》)."""

    project = models.ForeignKey(
        Project, verbose_name=_("项目"), on_delete=models.CASCADE, related_name="permits"
    )
    number = models.CharField(_("预售许可证号"), max_length=60)
    issued_on = models.DateField(_("发证日期"), null=True, blank=True)
    authority = models.CharField(_("发证机关"), max_length=100, blank=True)
    buildings = models.CharField(
        _("楼栋"), max_length=200, help_text=_("许可证覆盖的楼栋，如 1栋、2栋")
    )
    area = models.DecimalField(
        _("预售面积（㎡）"), max_digits=12, decimal_places=2, null=True, blank=True
    )

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "project"

    class Meta:
        verbose_name = _("预售许可证")
        verbose_name_plural = _("预售许可证")
        ordering = ["project_id", "issued_on", "number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="inventory_permit_unique"),
        ]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("inventory:project_detail", args=[self.project_id])
