from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loupan.accounts import access
from loupan.core.querysets import RestrictedManager, RestrictedQuerySet


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


# --- phases, buildings, layouts, units (issue: Inventory) -----------------------------


class UnitStatus(models.TextChoices):
    """A unit's place in the sales process (PRODUCT.md "Unit status"). The colour is the
    board's; ``SOLD`` are the statuses counted as sold in the statistics."""

    NOT_RELEASED = "not_released", _("未推")
    AVAILABLE = "available", _("可售")
    HELD = "held", _("销控保留")
    RESERVED = "reserved", _("预留")
    SUBSCRIBED = "subscribed", _("认购")
    CONTRACTED = "contracted", _("签约")
    DELIVERED = "delivered", _("交付")


UNIT_STATUS_COLORS = {
    UnitStatus.NOT_RELEASED: "#adb5bd",
    UnitStatus.AVAILABLE: "#198754",
    UnitStatus.HELD: "#6f42c1",
    UnitStatus.RESERVED: "#fd7e14",
    UnitStatus.SUBSCRIBED: "#dc3545",
    UnitStatus.CONTRACTED: "#842029",
    UnitStatus.DELIVERED: "#212529",
}
SOLD_STATUSES = (UnitStatus.SUBSCRIBED, UnitStatus.CONTRACTED, UnitStatus.DELIVERED)
# A price list or adjustment never touches units already promised to a buyer.
LOCKED_PRICE_STATUSES = (UnitStatus.RESERVED, *SOLD_STATUSES)

# The allowed status moves; services check every change against this table.
UNIT_TRANSITIONS: dict[str, set[str]] = {
    UnitStatus.NOT_RELEASED: {UnitStatus.AVAILABLE},
    UnitStatus.AVAILABLE: {UnitStatus.HELD, UnitStatus.RESERVED, UnitStatus.NOT_RELEASED},
    UnitStatus.HELD: {UnitStatus.AVAILABLE},
    UnitStatus.RESERVED: {UnitStatus.AVAILABLE, UnitStatus.SUBSCRIBED},
    UnitStatus.SUBSCRIBED: {UnitStatus.CONTRACTED, UnitStatus.AVAILABLE},
    UnitStatus.CONTRACTED: {UnitStatus.DELIVERED, UnitStatus.AVAILABLE},
    UnitStatus.DELIVERED: set(),
}


class UnitUse(models.TextChoices):
    RESIDENTIAL = "residential", _("住宅")
    SHOP = "shop", _("商铺")
    PARKING = "parking", _("车位")
    STORAGE = "storage", _("储藏室")
    APARTMENT = "apartment", _("公寓")


class Orientation(models.TextChoices):
    SOUTH = "S", _("南")
    NORTH = "N", _("北")
    EAST = "E", _("东")
    WEST = "W", _("西")
    SOUTH_EAST = "SE", _("东南")
    SOUTH_WEST = "SW", _("西南")
    NORTH_EAST = "NE", _("东北")
    NORTH_WEST = "NW", _("西北")
    SOUTH_NORTH = "SN", _("南北通透")
    EAST_WEST = "EW", _("东西")


class FitOut(models.TextChoices):
    SHELL = "shell", _("毛坯")
    SIMPLE = "simple", _("简装")
    FINE = "fine", _("精装")
    LUXURY = "luxury", _("豪装")


class ScopedModel(models.Model):
    """A business object that belongs to one project (restricted by ``inventory`` rights)."""

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "unit"

    class Meta:
        abstract = True


class Phase(ScopedModel):
    """A sales phase 分期 of a project."""

    project = models.ForeignKey(
        Project, verbose_name=_("项目"), on_delete=models.CASCADE, related_name="phases"
    )
    name = models.CharField(_("分期"), max_length=50)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("分期")
        verbose_name_plural = _("分期")
        ordering = ["project_id", "sort_order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="inventory_phase_unique")
        ]

    def __str__(self):
        return self.name


class Layout(ScopedModel):
    """A floor plan 户型 of the project's catalogue (e.g. A1 三室两厅两卫)."""

    project = models.ForeignKey(
        Project, verbose_name=_("项目"), on_delete=models.CASCADE, related_name="layouts"
    )
    name = models.CharField(_("户型"), max_length=50)
    rooms = models.PositiveSmallIntegerField(_("室"), default=0)
    halls = models.PositiveSmallIntegerField(_("厅"), default=0)
    baths = models.PositiveSmallIntegerField(_("卫"), default=0)
    plan = models.FileField(_("户型图"), upload_to="layouts/", blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("户型")
        verbose_name_plural = _("户型")
        ordering = ["project_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="inventory_layout_unique")
        ]

    def __str__(self):
        return self.name

    @property
    def shape(self) -> str:
        return f"{self.rooms}室{self.halls}厅{self.baths}卫"


class Building(ScopedModel):
    """A building 楼栋: its shape (floors above and below ground, stairs 单元, units per
    floor per stair) generates its units; it is sold under a presale permit."""

    project = models.ForeignKey(
        Project, verbose_name=_("项目"), on_delete=models.CASCADE, related_name="buildings"
    )
    phase = models.ForeignKey(
        Phase,
        verbose_name=_("分期"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="buildings",
    )
    name = models.CharField(_("楼栋"), max_length=30, help_text=_("如 3栋"))
    floors_above = models.PositiveSmallIntegerField(_("地上层数"), default=1)
    floors_below = models.PositiveSmallIntegerField(_("地下层数"), default=0)
    stairs = models.PositiveSmallIntegerField(_("单元数"), default=1)
    units_per_floor = models.PositiveSmallIntegerField(_("每单元每层户数"), default=1)
    has_elevator = models.BooleanField(_("电梯"), default=True)
    permit = models.ForeignKey(
        PresalePermit,
        verbose_name=_("预售许可证"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="permit_buildings",
    )
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("楼栋")
        verbose_name_plural = _("楼栋")
        ordering = ["project_id", "sort_order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="inventory_building_unique")
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("inventory:board", args=[self.project_id]) + f"?building={self.pk}"


# A held (销控保留) or reserved (预留) unit whose ``hold_until`` has passed is available
# as of now, before ``loupan run-due`` writes it: pages read the status as of now and a
# GET never writes (see ``Unit.status_now`` and ``UnitQuerySet.as_of_now``).
LAPSING_STATUSES = (UnitStatus.HELD, UnitStatus.RESERVED)


class UnitQuerySet(RestrictedQuerySet):
    def without_permit(self):
        """Units whose building has no presale permit 预售许可证 yet: nothing of them may
        be sold, and no money of any kind taken for them (商品房销售管理办法 Art. 22)."""
        return self.filter(building__permit__isnull=True)

    def open_for_sale(self, now=None):
        """The units open for sale 在售 as of now: see ``Unit.is_open_for_sale``."""
        return self.as_of_now(now).filter(current_status=UnitStatus.AVAILABLE, sellable=True)

    def as_of_now(self, now=None):
        """Each unit's ``current_status`` (``Unit.status_now`` in SQL): its status, or 可售
        once its hold or reservation has run out (``hold_until`` passed), written or not."""
        return self.annotate(
            current_status=Case(
                When(
                    status__in=LAPSING_STATUSES,
                    hold_until__lte=now or timezone.now(),
                    then=Value(UnitStatus.AVAILABLE),
                ),
                default=F("status"),
                output_field=models.CharField(),
            )
        )


class Unit(ScopedModel):
    """A unit 房间 (home, shop, parking space, storage room, apartment).

    Numbered as the office writes it (3栋2单元1502). Its prices are the current list;
    a deal copies price and area when it is made, so later changes here never touch a
    live deal. The status moves only along ``UNIT_TRANSITIONS`` through the services, with
    a conditional UPDATE so that two people changing one unit at once cannot both win.
    ``floor_price`` (底价) is visible only to roles holding ``unit.view_floor_price``.
    """

    project = models.ForeignKey(
        Project, verbose_name=_("项目"), on_delete=models.CASCADE, related_name="units"
    )
    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="units"
    )
    stair = models.PositiveSmallIntegerField(_("单元"), default=1)
    floor = models.SmallIntegerField(_("楼层"))
    room = models.CharField(_("房号"), max_length=10, help_text=_("如 02"))
    number = models.CharField(_("房间编号"), max_length=50, help_text=_("如 3栋2单元1502"))
    layout = models.ForeignKey(
        Layout,
        verbose_name=_("户型"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="units",
    )
    use = models.CharField(
        _("用途"), max_length=20, choices=UnitUse.choices, default=UnitUse.RESIDENTIAL
    )
    gross_area = models.DecimalField(_("建筑面积（㎡）"), max_digits=10, decimal_places=2)
    internal_area = models.DecimalField(
        _("套内面积（㎡）"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    shared_area = models.DecimalField(
        _("分摊面积（㎡）"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    orientation = models.CharField(_("朝向"), max_length=2, choices=Orientation.choices, blank=True)
    view = models.CharField(_("景观"), max_length=50, blank=True)
    fit_out = models.CharField(
        _("装修"), max_length=10, choices=FitOut.choices, default=FitOut.SHELL
    )
    pricing_basis = models.CharField(
        _("计价方式"), max_length=20, choices=PricingBasis.choices, default=PricingBasis.GROSS_AREA
    )
    unit_price = models.DecimalField(
        _("单价（元/㎡）"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    list_price = models.DecimalField(
        _("表价（元）"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    floor_price = models.DecimalField(
        _("底价（元）"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    status = models.CharField(
        _("状态"),
        max_length=20,
        choices=UnitStatus.choices,
        default=UnitStatus.NOT_RELEASED,
        db_index=True,
    )
    sellable = models.BooleanField(_("可售"), default=True)
    unsellable_reason = models.CharField(_("不可售原因"), max_length=200, blank=True)
    attached_to = models.ForeignKey(
        "self",
        verbose_name=_("附属于"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attachments",
        help_text=_("车位、储藏室随所附房屋一起成交"),
    )
    hold_reason = models.CharField(_("保留原因"), max_length=200, blank=True)
    hold_until = models.DateTimeField(_("保留至"), null=True, blank=True)
    held_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("保留人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.TextField(_("备注"), blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True, db_index=True)

    objects = RestrictedManager.from_queryset(UnitQuerySet)()

    class Meta:
        verbose_name = _("房间")
        verbose_name_plural = _("房间")
        ordering = ["project_id", "building__sort_order", "building_id", "stair", "-floor", "room"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "number"], name="inventory_unit_number_unique"
            ),
            models.UniqueConstraint(
                fields=["building", "stair", "floor", "room"], name="inventory_unit_position_unique"
            ),
            models.CheckConstraint(
                condition=Q(gross_area__gt=0), name="inventory_unit_gross_area_positive"
            ),
            models.CheckConstraint(
                condition=Q(internal_area__isnull=True)
                | Q(internal_area__lte=models.F("gross_area")),
                name="inventory_unit_internal_le_gross",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "status"]),
            models.Index(fields=["building", "floor"]),
        ]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("inventory:unit_detail", args=[self.project_id, self.pk])

    @property
    def status_color(self) -> str:
        """The colour of the status as of now (the board's and the card's)."""
        return UNIT_STATUS_COLORS[self.status_now]

    @property
    def status_now_label(self) -> str:
        return UnitStatus(self.status_now).label

    @property
    def pricing_area(self):
        """The area the unit price applies to (None for per-unit pricing)."""
        if self.pricing_basis == PricingBasis.INTERNAL_AREA:
            return self.internal_area
        if self.pricing_basis == PricingBasis.GROSS_AREA:
            return self.gross_area
        return None

    @property
    def status_now(self) -> str:
        """The status as of now: a hold or reservation past ``hold_until`` reads as 可售
        before ``loupan run-due`` writes it (``UnitQuerySet.as_of_now`` for querysets)."""
        if (
            self.status in LAPSING_STATUSES
            and self.hold_until is not None
            and self.hold_until <= timezone.now()
        ):
            return UnitStatus.AVAILABLE
        return self.status

    @property
    def is_open_for_sale(self) -> bool:
        """Open for sale: status 可售 (released, neither held nor in a deal) and not
        marked 不可售. Only such a unit may be held by the office, reserved for a buyer
        or taken in an exchange (PRODUCT.md "Unit status"); ``Unit.objects.open_for_sale()``
        is the same rule for querysets. As of now: a hold or reservation that has run out
        counts as 可售 (the action that takes the unit ends it first)."""
        return self.status_now == UnitStatus.AVAILABLE and self.sellable

    def can_move_to(self, status: str) -> bool:
        return status in UNIT_TRANSITIONS[self.status]


class UnitStatusChange(models.Model):
    """One step of a unit's status history (who, when, why)."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("房间"), on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(_("原状态"), max_length=20, choices=UnitStatus.choices)
    to_status = models.CharField(_("新状态"), max_length=20, choices=UnitStatus.choices)
    actor = models.ForeignKey(
        "accounts.User",
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("状态变更")
        verbose_name_plural = _("状态变更")
        ordering = ["-id"]
        indexes = [
            # when a unit first became available (the sell-through report's ageing)
            models.Index(
                fields=["unit", "to_status", "created_at"], name="inventory_usc_first_idx"
            ),
        ]

    def __str__(self):
        return f"{self.unit_id}: {self.from_status} → {self.to_status}"


class UnitPriceChange(models.Model):
    """One step of a unit's price history, with the price list that caused it."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("房间"), on_delete=models.CASCADE, related_name="price_changes"
    )
    price_list = models.ForeignKey(
        "PriceList",
        verbose_name=_("价格方案"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    old_unit_price = models.DecimalField(_("原单价"), max_digits=14, decimal_places=2, null=True)
    new_unit_price = models.DecimalField(_("新单价"), max_digits=14, decimal_places=2, null=True)
    old_list_price = models.DecimalField(_("原表价"), max_digits=14, decimal_places=2, null=True)
    new_list_price = models.DecimalField(_("新表价"), max_digits=14, decimal_places=2, null=True)
    old_floor_price = models.DecimalField(_("原底价"), max_digits=14, decimal_places=2, null=True)
    new_floor_price = models.DecimalField(_("新底价"), max_digits=14, decimal_places=2, null=True)
    actor = models.ForeignKey(
        "accounts.User",
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("价格变更")
        verbose_name_plural = _("价格变更")
        ordering = ["-id"]

    def __str__(self):
        return f"{self.unit_id}: {self.old_list_price} → {self.new_list_price}"


# --- price lists 价格方案 -------------------------------------------------------------


class PriceListKind(models.TextChoices):
    PRICE_LIST = "price_list", _("价格方案")
    ADJUSTMENT = "adjustment", _("调价")


class PriceListStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("待审批")
    APPROVED = "approved", _("已批准")
    APPLIED = "applied", _("已执行")
    REJECTED = "rejected", _("已驳回")


PRICE_LIST_TRANSITIONS: dict[str, set[str]] = {
    PriceListStatus.DRAFT: {PriceListStatus.SUBMITTED},
    # back to a draft when its drafter withdraws the approval request
    PriceListStatus.SUBMITTED: {
        PriceListStatus.APPROVED,
        PriceListStatus.REJECTED,
        PriceListStatus.DRAFT,
    },
    PriceListStatus.APPROVED: {PriceListStatus.APPLIED},
    PriceListStatus.REJECTED: {PriceListStatus.DRAFT},
    PriceListStatus.APPLIED: set(),
}


class PriceList(ScopedModel):
    """A versioned set of prices for some or all units of a project (价格方案), or an
    adjustment (调价). Planning drafts it; the sales manager (within their threshold) or
    the director approves; applying writes the units and their price history in one
    transaction, at once or at ``scheduled_at``."""

    project = models.ForeignKey(
        Project, verbose_name=_("项目"), on_delete=models.CASCADE, related_name="price_lists"
    )
    version = models.PositiveIntegerField(_("版本号"))
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(
        _("类型"), max_length=20, choices=PriceListKind.choices, default=PriceListKind.PRICE_LIST
    )
    pricing_basis = models.CharField(
        _("计价方式"), max_length=20, choices=PricingBasis.choices, default=PricingBasis.GROSS_AREA
    )
    status = models.CharField(
        _("状态"),
        max_length=20,
        choices=PriceListStatus.choices,
        default=PriceListStatus.DRAFT,
        db_index=True,
    )
    parameters = models.JSONField(_("生成参数"), default=dict, blank=True)
    scheduled_at = models.DateTimeField(_("计划执行时间"), null=True, blank=True)
    required_approver = models.CharField(_("审批角色"), max_length=20, blank=True)
    max_change_pct = models.DecimalField(
        _("最大调幅 %"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    created_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("制定人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("审批人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.CharField(_("审批意见"), max_length=200, blank=True)
    applied_at = models.DateTimeField(_("执行时间"), null=True, blank=True)
    note = models.TextField(_("说明"), blank=True)

    scope_perm = "pricelist"

    class Meta:
        verbose_name = _("价格方案")
        verbose_name_plural = _("价格方案")
        ordering = ["project_id", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "version"], name="inventory_pricelist_version_unique"
            )
        ]

    def __str__(self):
        return f"V{self.version} {self.name}"

    def get_absolute_url(self):
        return reverse("inventory:pricelist_detail", args=[self.project_id, self.pk])

    def can_move_to(self, status: str) -> bool:
        return status in PRICE_LIST_TRANSITIONS[self.status]


class PriceListItem(models.Model):
    """One unit's new price in a price list; ``skipped`` units (already reserved or sold
    when the list is applied) keep their price and are listed with the reason."""

    price_list = models.ForeignKey(
        PriceList, verbose_name=_("价格方案"), on_delete=models.CASCADE, related_name="items"
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("房间"), on_delete=models.CASCADE, related_name="+"
    )
    unit_price = models.DecimalField(_("单价"), max_digits=14, decimal_places=2, null=True)
    list_price = models.DecimalField(_("表价"), max_digits=14, decimal_places=2)
    floor_price = models.DecimalField(
        _("底价"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    old_list_price = models.DecimalField(_("原表价"), max_digits=14, decimal_places=2, null=True)
    manual = models.BooleanField(_("手工调整"), default=False)
    skipped = models.BooleanField(_("跳过"), default=False)
    skip_reason = models.CharField(_("跳过原因"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("方案明细")
        verbose_name_plural = _("方案明细")
        ordering = ["price_list_id", "unit_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "unit"], name="inventory_pricelistitem_unique"
            )
        ]

    def __str__(self):
        return f"{self.price_list_id}/{self.unit_id}: {self.list_price}"


class ReleasePlan(ScopedModel):
    """A rolling release 滚动释放 of held units at a date and time (seed 002 二.1(2));
    it runs by itself when due."""

    project = models.ForeignKey(
        Project, verbose_name=_("项目"), on_delete=models.CASCADE, related_name="release_plans"
    )
    name = models.CharField(_("名称"), max_length=100)
    release_at = models.DateTimeField(_("释放时间"), db_index=True)
    units = models.ManyToManyField(Unit, verbose_name=_("房间"), related_name="release_plans")
    created_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("制定人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    executed_at = models.DateTimeField(_("执行时间"), null=True, blank=True)
    result = models.JSONField(_("执行结果"), default=dict, blank=True)

    class Meta:
        verbose_name = _("释放计划")
        verbose_name_plural = _("释放计划")
        ordering = ["project_id", "release_at"]

    def __str__(self):
        return self.name
