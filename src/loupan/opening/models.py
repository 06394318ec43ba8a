"""Opening day 开盘 (issue 16): an event for a set of released units, its registrations
of intent 认筹, the lottery 摇号 that sets the order of selection, the batches and their
time windows, and the picks 选房.

What the database itself guarantees, whatever the load:
* a unit is picked once per event: ``Pick`` is unique on (event, unit), and the pick
  reserves the unit through the deals' conditional UPDATE and one-live-deal index, so a
  unit is never sold twice even outside the event;
* a buyer never picks beyond the quota: a pick locks its entry row and takes the next
  ``seq``, unique per entry, checked against the event's maximum under that lock;
* one entry per household and per buyer in an event (unique constraints);
* the drawn order is written once: ``Entry.position`` is set by the draw, and the
  published package (``OpeningEvent.package``) with its digest is never changed.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from loupan.core.querysets import RestrictedManager
from loupan.deals.models import PaymentMethod

MONEY = {"max_digits": 14, "decimal_places": 2}


class Scoped(models.Model):
    """Opening rows of a project: ``opening.view`` shows a project's."""

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "opening"

    class Meta:
        abstract = True


class EventStatus(models.TextChoices):
    """An event's day: prepared, taking registrations, list frozen, drawn, selecting,
    over. The services move it along ``EVENT_TRANSITIONS`` only."""

    DRAFT = "draft", _("筹备")
    REGISTERING = "registering", _("认筹中")
    CLOSED = "closed", _("认筹截止")
    DRAWN = "drawn", _("已摇号")
    SELECTING = "selecting", _("选房中")
    FINISHED = "finished", _("已结束")


EVENT_TRANSITIONS: dict[str, set[str]] = {
    EventStatus.DRAFT: {EventStatus.REGISTERING},
    EventStatus.REGISTERING: {EventStatus.CLOSED},
    EventStatus.CLOSED: {EventStatus.DRAWN},
    EventStatus.DRAWN: {EventStatus.SELECTING},
    EventStatus.SELECTING: {EventStatus.FINISHED},
    EventStatus.FINISHED: set(),
}


class PickBecomes(models.TextChoices):
    RESERVATION = "reservation", _("预留（保留单）")
    SUBSCRIPTION = "subscription", _("认购")


class OpeningEvent(Scoped):
    """开盘活动: the units on sale with their prices frozen for the event, the rules
    (units per buyer, whether the office must confirm each buyer's 购房资格, what a pick
    becomes: a reservation 保留单, or a subscription 认购 with ``deposit_amount`` as its
    deposit and the entry's ``payment_method``) and the lottery's commitment: the SHA-256
    of a secret seed published before entries close, and the public value named in
    advance that is mixed in at the draw."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("活动名称"), max_length=100)
    status = models.CharField(
        _("状态"), max_length=12, choices=EventStatus.choices, default=EventStatus.DRAFT
    )
    registration_closes_at = models.DateTimeField(_("认筹截止时间"))
    selection_on = models.DateField(_("选房日期"))
    max_units = models.PositiveSmallIntegerField(_("每户限选套数"), default=1)
    requires_qualification = models.BooleanField(_("须确认购房资格"), default=True)
    pick_becomes = models.CharField(
        _("选房后生成"),
        max_length=12,
        choices=PickBecomes.choices,
        default=PickBecomes.RESERVATION,
    )
    sincerity_amount = models.DecimalField(_("诚意金（元）"), default=0, **MONEY)
    deposit_amount = models.DecimalField(
        _("认购定金（元）"),
        default=0,
        help_text=_("选房后生成认购时每套的定金；诚意金转为其中的一部分"),
        **MONEY,
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("现场负责人"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("买受人自助选房时以其名义生成保留单"),
    )
    # the lottery
    public_source = models.CharField(
        _("公开随机值来源"),
        max_length=300,
        help_text=_("事先公布：如 drand 第 N 轮随机值，或公证员现场摇出的号码"),
    )
    seed_commitment = models.CharField(_("种子承诺（SHA-256）"), max_length=64)
    seed = models.CharField(_("服务器种子"), max_length=64, help_text=_("摇号时才公开"))
    list_hash = models.CharField(_("名单摘要（SHA-256）"), max_length=64, blank=True)
    list_frozen_at = models.DateTimeField(_("名单冻结时间"), null=True, blank=True)
    public_value = models.CharField(_("公开随机值"), max_length=300, blank=True)
    drawn_at = models.DateTimeField(_("摇号时间"), null=True, blank=True)
    package = models.JSONField(_("摇号公示文件"), null=True, blank=True)
    package_digest = models.CharField(_("公示文件摘要"), max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("开盘活动")
        verbose_name_plural = _("开盘活动")
        ordering = ["-selection_on", "-pk"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("opening:event_detail", args=[self.project_id, self.pk])


class EventUnit(models.Model):
    """A unit on sale in the event, with its price frozen when the event opened
    registrations (the price list the buyers were shown)."""

    event = models.ForeignKey(
        OpeningEvent, verbose_name=_("开盘活动"), on_delete=models.CASCADE, related_name="units"
    )
    unit = models.ForeignKey(
        "inventory.Unit", verbose_name=_("房间"), on_delete=models.PROTECT, related_name="+"
    )
    unit_price = models.DecimalField(_("单价（元）"), null=True, **MONEY)
    list_price = models.DecimalField(_("总价（元）"), null=True, **MONEY)
    # the event held the unit (销控保留) when selection started, so that nobody sells it
    # outside the event while buyers pick; the event's end releases the ones not picked
    held = models.BooleanField(_("选房期间保留"), default=False)

    class Meta:
        verbose_name = _("开盘房源")
        verbose_name_plural = _("开盘房源")
        constraints = [
            models.UniqueConstraint(fields=["event", "unit"], name="opening_eventunit_unique")
        ]

    def __str__(self):
        return str(self.unit_id)


class Round(models.Model):
    """A lottery round 摇号轮次: the entries of round 1 (e.g. first-home families) pick
    before those of round 2; each round is shuffled on its own."""

    event = models.ForeignKey(
        OpeningEvent, verbose_name=_("开盘活动"), on_delete=models.CASCADE, related_name="rounds"
    )
    number = models.PositiveSmallIntegerField(_("轮次"))
    label = models.CharField(_("名称"), max_length=50)
    first_home_only = models.BooleanField(_("仅首套家庭"), default=False)

    class Meta:
        verbose_name = _("摇号轮次")
        verbose_name_plural = _("摇号轮次")
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["event", "number"], name="opening_round_unique")
        ]

    def __str__(self):
        return self.label


class EntryStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    WITHDRAWN = "withdrawn", _("已退筹")


class Entry(models.Model):
    """认筹: a buyer's registration of intent for the event with its entry number 认筹号.
    One entry per buyer and per household (the household rule of Customers; the cities'
    notaries remove duplicates by ID number). ``qualified_at``: the office confirmed
    the buyer's 购房资格 (e.g. the purchase-limit certificate). ``position``: the place
    in the order of selection the draw gave; ``round`` the lottery round it was drawn in."""

    event = models.ForeignKey(
        OpeningEvent, verbose_name=_("开盘活动"), on_delete=models.CASCADE, related_name="entries"
    )
    number = models.CharField(_("认筹号"), max_length=20)
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("客户"), on_delete=models.PROTECT, related_name="+"
    )
    household = models.ForeignKey(
        "customers.Household",
        verbose_name=_("家庭"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    id_number = models.CharField(_("身份证号"), max_length=18)
    first_home = models.BooleanField(_("首套家庭"), default=False)
    payment_method = models.CharField(
        _("付款方式"), max_length=12, choices=PaymentMethod.choices, blank=True
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=EntryStatus.choices, default=EntryStatus.ACTIVE
    )
    qualified_at = models.DateTimeField(_("资格确认时间"), null=True, blank=True)
    qualified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("资格确认人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    round = models.ForeignKey(
        Round, verbose_name=_("摇号轮次"), null=True, blank=True, on_delete=models.PROTECT
    )
    position = models.PositiveIntegerField(_("选房顺序"), null=True, blank=True)
    code_hash = models.CharField(_("选房码摘要"), max_length=64, blank=True)
    code_failures = models.PositiveSmallIntegerField(_("选房码错误次数"), default=0)
    tried_at = models.DateTimeField(_("最近一次选房请求"), null=True, blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    registered_at = models.DateTimeField(_("认筹时间"))

    audit_masked_fields = {"id_number": "id_number"}

    class Meta:
        verbose_name = _("认筹")
        verbose_name_plural = _("认筹")
        ordering = ["event", "position", "number"]
        constraints = [
            models.UniqueConstraint(fields=["event", "number"], name="opening_entry_number_unique"),
            models.UniqueConstraint(
                fields=["event", "customer"],
                condition=Q(status="active"),
                name="opening_entry_customer_unique",
            ),
            models.UniqueConstraint(
                fields=["event", "id_number"],
                condition=Q(status="active"),
                name="opening_entry_id_number_unique",
            ),
            models.UniqueConstraint(
                fields=["event", "household"],
                condition=Q(status="active", household__isnull=False),
                name="opening_entry_household_unique",
            ),
            models.UniqueConstraint(
                fields=["event", "position"],
                condition=Q(position__isnull=False),
                name="opening_entry_position_unique",
            ),
        ]

    def __str__(self):
        return self.number


class Batch(models.Model):
    """A batch 批次 of the selection: the entries whose position is within
    ``first``–``last`` pick between ``starts_at`` and ``ends_at`` (the server's clock)."""

    event = models.ForeignKey(
        OpeningEvent, verbose_name=_("开盘活动"), on_delete=models.CASCADE, related_name="batches"
    )
    number = models.PositiveSmallIntegerField(_("批次"))
    first = models.PositiveIntegerField(_("起始顺序号"))
    last = models.PositiveIntegerField(_("截止顺序号"))
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))

    class Meta:
        verbose_name = _("选房批次")
        verbose_name_plural = _("选房批次")
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["event", "number"], name="opening_batch_unique"),
            models.CheckConstraint(
                condition=Q(last__gte=models.F("first")), name="opening_batch_range"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="opening_batch_window"
            ),
        ]

    def __str__(self):
        return f"{self.number}"


class PickVia(models.TextChoices):
    TERMINAL = "terminal", _("现场终端")
    PHONE = "phone", _("手机")
    CONSULTANT = "consultant", _("置业顾问代选")
    API = "api", _("接口")


class Pick(models.Model):
    """A pick 选房: one unit for one entry, once. Unique on (event, unit) and on
    (entry, seq). The pick itself is the buyer's claim, made in one short transaction
    (``services.unit_pick``); the deal it makes (a reservation or a subscription) is
    written after it by the sealer (``services.picks_seal``), in batches, with the pick's
    audit entry: ``deal`` is empty until then. A pick the sealer could not turn into a
    deal keeps the reason in ``seal_error`` for the office."""

    event = models.ForeignKey(
        OpeningEvent, verbose_name=_("开盘活动"), on_delete=models.PROTECT, related_name="picks"
    )
    entry = models.ForeignKey(
        Entry, verbose_name=_("认筹"), on_delete=models.PROTECT, related_name="picks"
    )
    seq = models.PositiveSmallIntegerField(_("第几套"))
    unit = models.ForeignKey(
        "inventory.Unit", verbose_name=_("房间"), on_delete=models.PROTECT, related_name="+"
    )
    deal = models.OneToOneField(
        "deals.Deal",
        verbose_name=_("交易"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    seal_error = models.CharField(_("未能生成交易的原因"), max_length=200, blank=True)
    via = models.CharField(_("方式"), max_length=12, choices=PickVia.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    ip = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    at = models.DateTimeField(_("选房时间"))

    class Meta:
        verbose_name = _("选房")
        verbose_name_plural = _("选房")
        ordering = ["at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["event", "unit"], name="opening_pick_unit_unique"),
            models.UniqueConstraint(fields=["entry", "seq"], name="opening_pick_seq_unique"),
        ]
        indexes = [
            # the sealer's queue: the picks still waiting for their deal
            models.Index(
                fields=["id"],
                name="opening_pick_unsealed",
                condition=Q(deal__isnull=True, seal_error=""),
            )
        ]

    def __str__(self):
        return f"{self.entry} → {self.unit_id}"


class Favourite(models.Model):
    """收藏: a unit of the event a buyer marks before picking (on their phone, signed in
    with the code, or by a consultant for them). It shows first on the buyer's page with
    its live free or taken state; it never reserves anything."""

    entry = models.ForeignKey(
        Entry, verbose_name=_("认筹"), on_delete=models.CASCADE, related_name="favourites"
    )
    unit = models.ForeignKey(
        "inventory.Unit", verbose_name=_("房间"), on_delete=models.PROTECT, related_name="+"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("代收藏的置业顾问"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    added_at = models.DateTimeField(_("收藏时间"))

    class Meta:
        verbose_name = _("收藏")
        verbose_name_plural = _("收藏")
        ordering = ["entry", "added_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "unit"], name="opening_favourite_unique")
        ]

    def __str__(self):
        return f"{self.entry} ☆ {self.unit_id}"


class PickAddress(models.Model):
    """The last pick request that came from one client address in an event: the
    per-address limit (issue 16 "rate-limited per buyer and per address"). One row per
    (event, address), moved on by one conditional upsert (``services.throttle_address``),
    so every worker and every server agrees."""

    event = models.ForeignKey(
        OpeningEvent, verbose_name=_("开盘活动"), on_delete=models.CASCADE, related_name="+"
    )
    address = models.CharField(_("来源地址"), max_length=45)
    tried_at = models.DateTimeField(_("最近一次选房请求"))

    class Meta:
        verbose_name = _("选房来源地址")
        verbose_name_plural = _("选房来源地址")
        constraints = [
            models.UniqueConstraint(fields=["event", "address"], name="opening_pickaddress_unique")
        ]

    def __str__(self):
        return self.address
