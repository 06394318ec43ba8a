"""Deals: one unit (with its attached parking or storage) from reservation to contract
for one or more buyers (PRODUCT.md "Deal", "Sales control", "Exchange", "Cancellation";
seeds 000, 001 销售案场管理/签约管理, 002 售楼部客户信息管理制度 二.3–二.4).

Money received is the Payments issue; a deal records what is owed and agreed."""

from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loupan.core.querysets import RestrictedManager
from loupan.inventory.models import PricingBasis


class DealStatus(models.TextChoices):
    """A deal's life. The unit follows: reserved while 预留/待审批/待确认定金, 认购 once
    finance confirms the deposit (seed 002 二.1(1)), 签约 when contracted."""

    RESERVED = "reserved", _("预留")
    APPROVAL = "approval", _("待审批")
    PENDING = "pending", _("待确认定金")
    SUBSCRIBED = "subscribed", _("认购")
    CONTRACTED = "contracted", _("签约")
    EXPIRED = "expired", _("预留过期")
    RELEASED = "released", _("已撤销")
    EXCHANGED = "exchanged", _("已换房")
    CANCELLED = "cancelled", _("已退房")


LIVE_STATUSES = (
    DealStatus.RESERVED,
    DealStatus.APPROVAL,
    DealStatus.PENDING,
    DealStatus.SUBSCRIBED,
    DealStatus.CONTRACTED,
)
# Subscription terms are set: a subscription number exists.
SUBSCRIPTION_STATUSES = (DealStatus.APPROVAL, DealStatus.PENDING, DealStatus.SUBSCRIBED)

DEAL_STATUS_COLORS = {
    DealStatus.RESERVED: "#fd7e14",
    DealStatus.APPROVAL: "#ffc107",
    DealStatus.PENDING: "#0dcaf0",
    DealStatus.SUBSCRIBED: "#dc3545",
    DealStatus.CONTRACTED: "#842029",
    DealStatus.EXPIRED: "#adb5bd",
    DealStatus.RELEASED: "#adb5bd",
    DealStatus.EXCHANGED: "#6c757d",
    DealStatus.CANCELLED: "#212529",
}

# The allowed moves; services check every change against this table.
DEAL_TRANSITIONS: dict[str, set[str]] = {
    DealStatus.RESERVED: {
        DealStatus.APPROVAL,
        DealStatus.PENDING,
        DealStatus.EXPIRED,
        DealStatus.RELEASED,
    },
    DealStatus.APPROVAL: {DealStatus.PENDING, DealStatus.RESERVED, DealStatus.RELEASED},
    DealStatus.PENDING: {DealStatus.SUBSCRIBED, DealStatus.RELEASED},
    DealStatus.SUBSCRIBED: {DealStatus.CONTRACTED, DealStatus.EXCHANGED, DealStatus.CANCELLED},
    DealStatus.CONTRACTED: {DealStatus.EXCHANGED, DealStatus.CANCELLED},
    DealStatus.EXPIRED: set(),
    DealStatus.RELEASED: set(),
    DealStatus.EXCHANGED: set(),
    DealStatus.CANCELLED: set(),
}


class PaymentMethod(models.TextChoices):
    ONE_OFF = "one_off", _("一次性付款")
    INSTALMENTS = "instalments", _("分期付款")
    COMMERCIAL = "commercial", _("商业贷款")
    PROVIDENT = "provident", _("公积金贷款")
    COMBINED = "combined", _("组合贷款")


class FilingStatus(models.TextChoices):
    """网签备案 (online signing and filing with the housing authority)."""

    NONE = "none", _("未网签")
    SIGNED = "signed", _("已网签")
    FILED = "filed", _("已备案")


class DealPolicy(models.Model):
    """A project's deal settings: how long a reservation holds, how long a subscription
    has to sign, the deposit cap (民法典 586: at most 20% of the price)."""

    project = models.OneToOneField(
        "inventory.Project",
        verbose_name=_("项目"),
        on_delete=models.CASCADE,
        related_name="deal_policy",
    )
    reservation_hours = models.PositiveIntegerField(_("保留时长（小时）"), default=24)
    signing_days = models.PositiveIntegerField(_("签约期限（天）"), default=7)
    deposit_max_pct = models.DecimalField(
        _("定金上限（%）"), max_digits=5, decimal_places=2, default=Decimal("20")
    )

    class Meta:
        verbose_name = _("交易设置")
        verbose_name_plural = _("交易设置")

    def __str__(self):
        return str(self.project)


class DiscountKind(models.TextChoices):
    PERCENT = "percent", _("折扣（%）")
    AMOUNT = "amount", _("减免金额（元）")


class DiscountType(models.Model):
    """A discount the project offers (一次性付款, 按揭, 开盘优惠, 老带新, 员工, 特批 …), a
    percentage or an amount, applied in ``sort_order`` (seed 002 二.3(5))."""

    project = models.ForeignKey(
        "inventory.Project",
        verbose_name=_("项目"),
        on_delete=models.CASCADE,
        related_name="discount_types",
    )
    name = models.CharField(_("名称"), max_length=50)
    kind = models.CharField(_("方式"), max_length=10, choices=DiscountKind.choices)
    value = models.DecimalField(_("折扣值"), max_digits=14, decimal_places=2)
    sort_order = models.PositiveSmallIntegerField(_("顺序"), default=0)
    # 特批: the amount or percentage is entered on the deal, always within approval.
    variable = models.BooleanField(_("金额由申请人填写"), default=False)
    is_active = models.BooleanField(_("启用"), default=True)

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "deal"

    class Meta:
        verbose_name = _("折扣类型")
        verbose_name_plural = _("折扣类型")
        ordering = ["project", "sort_order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="deals_discounttype_unique"),
            models.CheckConstraint(condition=Q(value__gte=0), name="deals_discount_value_gte_0"),
        ]

    def __str__(self):
        return self.name


class DiscountAuthority(models.Model):
    """How much total discount (in % of the list price) a role may grant on its own
    (seed 002 万科 1(5)); beyond it the deal climbs the approval chain level by level."""

    project = models.ForeignKey(
        "inventory.Project",
        verbose_name=_("项目"),
        on_delete=models.CASCADE,
        related_name="discount_authorities",
    )
    role = models.ForeignKey(
        "accounts.Role", verbose_name=_("角色"), on_delete=models.CASCADE, related_name="+"
    )
    max_pct = models.DecimalField(_("折扣权限（%）"), max_digits=5, decimal_places=2)

    class Meta:
        verbose_name = _("折扣权限")
        verbose_name_plural = _("折扣权限")
        constraints = [
            models.UniqueConstraint(fields=["project", "role"], name="deals_authority_unique")
        ]

    def __str__(self):
        return f"{self.role}: {self.max_pct}%"


class Deal(models.Model):
    """One unit's deal (交易): reservation 保留单 → subscription 认购 → contract 签约.

    The unit is never in two live deals: ``DealUnit`` carries a partial unique index on
    the unit over live deals, so the database refuses a second one whatever the timing.
    The agreed terms (area, prices, discounts, total) are copied here at subscription:
    later changes to the unit never change a live deal (issue Inventory)."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="deals"
    )
    unit = models.ForeignKey(
        "inventory.Unit", verbose_name=_("房间"), on_delete=models.PROTECT, related_name="deals"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("客户"),
        on_delete=models.PROTECT,
        related_name="deals",
    )
    consultant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("置业顾问"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("状态"), max_length=12, choices=DealStatus.choices, default=DealStatus.RESERVED
    )
    # reservation 保留单
    reservation_number = models.CharField(_("保留单号"), max_length=30)
    reserved_at = models.DateTimeField(_("预留时间"))
    reservation_expires_at = models.DateTimeField(_("保留到期"), null=True, blank=True)
    # subscription 认购 (the agreed terms)
    number = models.CharField(_("认购书编号"), max_length=30, blank=True)
    subscribed_at = models.DateTimeField(_("认购时间"), null=True, blank=True)
    pricing_basis = models.CharField(
        _("计价方式"), max_length=20, choices=PricingBasis.choices, blank=True
    )
    area = models.DecimalField(_("计价面积（㎡）"), max_digits=10, decimal_places=2, null=True)
    unit_price = models.DecimalField(_("单价（元）"), max_digits=14, decimal_places=2, null=True)
    list_total = models.DecimalField(
        _("表价总额（元）"), max_digits=14, decimal_places=2, null=True
    )
    floor_total = models.DecimalField(
        _("底价总额（元）"), max_digits=14, decimal_places=2, null=True
    )
    discount_amount = models.DecimalField(
        _("优惠金额（元）"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    total = models.DecimalField(_("成交总价（元）"), max_digits=14, decimal_places=2, null=True)
    payment_method = models.CharField(
        _("付款方式"), max_length=12, choices=PaymentMethod.choices, blank=True
    )
    down_payment = models.DecimalField(
        _("首付款（元）"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    deposit = models.DecimalField(_("定金（元）"), max_digits=14, decimal_places=2, null=True)
    signing_deadline = models.DateField(_("签约期限"), null=True, blank=True)
    deposit_confirmed_at = models.DateTimeField(_("定金确认时间"), null=True, blank=True)
    deposit_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("定金确认人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # contract 签约
    contract_number = models.CharField(_("合同编号"), max_length=40, blank=True)
    signed_on = models.DateField(_("签约日期"), null=True, blank=True)
    delivery_date = models.DateField(_("交付日期"), null=True, blank=True)
    filing_status = models.CharField(
        _("网签备案"), max_length=10, choices=FilingStatus.choices, default=FilingStatus.NONE
    )
    filing_number = models.CharField(_("网签备案号"), max_length=50, blank=True)
    contract_scan = models.FileField(_("合同扫描件"), upload_to="contracts/", blank=True)
    contract_scanned_at = models.DateTimeField(_("扫描件上传时间"), null=True, blank=True)
    # ends and changes
    exchanged_from = models.OneToOneField(
        "self",
        verbose_name=_("换房前交易"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="exchanged_to",
    )
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    end_reason = models.CharField(_("结束原因"), max_length=200, blank=True)
    note = models.TextField(_("备注"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    # Its approval requests (discount, clause, changes) in the one approval engine;
    # ``ApprovalRequest.objects.filter(deal=…)`` reads them from the other side.
    approvals = GenericRelation(
        "approvals.ApprovalRequest",
        content_type_field="subject_type",
        object_id_field="subject_id",
        related_query_name="deal",
    )

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "deal"
    scope_owner_field = "consultant"

    class Meta:
        verbose_name = _("交易")
        verbose_name_plural = _("交易")
        ordering = ["-reserved_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "reservation_number"], name="deals_reservation_number_unique"
            ),
            models.UniqueConstraint(
                fields=["project", "number"],
                condition=~Q(number=""),
                name="deals_subscription_number_unique",
            ),
            models.UniqueConstraint(
                fields=["project", "contract_number"],
                condition=~Q(contract_number=""),
                name="deals_contract_number_unique",
            ),
            models.CheckConstraint(
                condition=Q(total__isnull=True) | Q(total__gte=0), name="deals_total_gte_0"
            ),
        ]
        indexes = [
            models.Index(fields=["project", "status"]),
            models.Index(fields=["project", "consultant", "status"]),
        ]

    def __str__(self):
        return self.number or self.reservation_number

    def get_absolute_url(self):
        return reverse("deals:deal_detail", args=[self.project_id, self.pk])

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def status_now(self) -> str:
        """The status as of now: a reservation past its time reads 已过期 before
        ``loupan run-due`` writes it (a GET never writes)."""
        if (
            self.status == DealStatus.RESERVED
            and self.reservation_expires_at is not None
            and self.reservation_expires_at <= timezone.now()
        ):
            return DealStatus.EXPIRED
        return self.status

    def get_status_now_display(self) -> str:
        return DealStatus(self.status_now).label

    @property
    def status_color(self) -> str:
        return DEAL_STATUS_COLORS[DealStatus(self.status_now)]

    def can_move_to(self, status: str) -> bool:
        return status in DEAL_TRANSITIONS[DealStatus(self.status)]

    @property
    def discount_pct(self) -> Decimal:
        if not self.list_total:
            return Decimal("0")
        # rounded up, as the authority check rounds it (pricing.Quote.discount_pct)
        pct = self.discount_amount * 100 / self.list_total
        return pct.quantize(Decimal("0.01"), rounding=ROUND_CEILING)


class DealUnit(models.Model):
    """The units of a deal: the home and what is attached to it (parking, storage). The
    partial unique index on ``unit`` over live rows is the database's guarantee that a
    unit is never in two live deals."""

    deal = models.ForeignKey(
        Deal, verbose_name=_("交易"), on_delete=models.CASCADE, related_name="units"
    )
    unit = models.ForeignKey(
        "inventory.Unit", verbose_name=_("房间"), on_delete=models.PROTECT, related_name="+"
    )
    is_main = models.BooleanField(_("主房"), default=True)
    list_price = models.DecimalField(_("表价（元）"), max_digits=14, decimal_places=2)
    live = models.BooleanField(_("有效"), default=True)

    class Meta:
        verbose_name = _("交易房间")
        verbose_name_plural = _("交易房间")
        constraints = [
            models.UniqueConstraint(
                fields=["unit"], condition=Q(live=True), name="deals_one_live_deal_per_unit"
            )
        ]

    def __str__(self):
        return f"{self.deal_id}: {self.unit_id}"


class DealBuyer(models.Model):
    """A buyer of the deal and their ownership share; the shares sum to 100%."""

    deal = models.ForeignKey(
        Deal, verbose_name=_("交易"), on_delete=models.CASCADE, related_name="buyers"
    )
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("买受人"), on_delete=models.PROTECT, related_name="+"
    )
    share = models.DecimalField(_("产权份额（%）"), max_digits=5, decimal_places=2)
    sort_order = models.PositiveSmallIntegerField(_("顺序"), default=0)

    class Meta:
        verbose_name = _("买受人")
        verbose_name_plural = _("买受人")
        ordering = ["deal", "sort_order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["deal", "customer"], name="deals_buyer_unique"),
            models.CheckConstraint(
                condition=Q(share__gt=0) & Q(share__lte=100), name="deals_buyer_share_range"
            ),
        ]

    def __str__(self):
        return f"{self.customer_id} {self.share}%"


class DealDiscount(models.Model):
    """One step of the price: the discount applied, in order, and what it took off."""

    deal = models.ForeignKey(
        Deal, verbose_name=_("交易"), on_delete=models.CASCADE, related_name="discounts"
    )
    discount_type = models.ForeignKey(
        DiscountType,
        verbose_name=_("折扣类型"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    name = models.CharField(_("名称"), max_length=50)
    kind = models.CharField(_("方式"), max_length=10, choices=DiscountKind.choices)
    value = models.DecimalField(_("折扣值"), max_digits=14, decimal_places=2)
    amount = models.DecimalField(_("优惠金额（元）"), max_digits=14, decimal_places=2)
    total_after = models.DecimalField(_("优惠后总价（元）"), max_digits=14, decimal_places=2)
    sort_order = models.PositiveSmallIntegerField(_("顺序"), default=0)

    class Meta:
        verbose_name = _("优惠明细")
        verbose_name_plural = _("优惠明细")
        ordering = ["deal", "sort_order", "pk"]

    def __str__(self):
        return f"{self.name} -{self.amount}"


class SpecialClause(models.Model):
    """A special clause 特殊条款 of a contract; each needs the sales director's approval
    before signing (seed 001 篇2)."""

    deal = models.ForeignKey(
        Deal, verbose_name=_("交易"), on_delete=models.CASCADE, related_name="clauses"
    )
    text = models.TextField(_("条款内容"))
    approved = models.BooleanField(_("已批准"), default=False)
    rejected = models.BooleanField(_("未获批准"), default=False)
    created_at = models.DateTimeField(_("提出时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("特殊条款")
        verbose_name_plural = _("特殊条款")
        ordering = ["deal", "pk"]

    def __str__(self):
        return self.text[:30]


class CancelReason(models.TextChoices):
    """Why a buyer cancels 退房 (seed 002 二.3(4): the summary groups by these)."""

    LOAN = "loan", _("贷款未获批")
    FUNDS = "funds", _("资金困难")
    PRICE = "price", _("价格因素")
    PRODUCT = "product", _("对房屋不满意")
    PERSONAL = "personal", _("家庭或个人原因")
    POLICY = "policy", _("限购等政策原因")
    COMPETITOR = "competitor", _("选择其他楼盘")
    SELLER = "seller", _("开发商原因")
    OTHER = "other", _("其他")


class DepositTreatment(models.TextChoices):
    """What happens to the deposit 定金 on cancellation (民法典 587: the buyer who does not
    perform loses it; the seller who does not perform returns it twice)."""

    REFUND = "refund", _("全额退还定金")
    PART = "part", _("扣除部分定金")
    FORFEIT = "forfeit", _("定金不予退还（民法典第587条）")
    DOUBLE = "double", _("双倍返还定金（出卖人违约，民法典第587条）")


class DisputeStatus(models.TextChoices):
    NONE = "none", _("无争议")
    NEGOTIATING = "negotiating", _("协商中")
    ARBITRATION = "arbitration", _("仲裁")
    LITIGATION = "litigation", _("诉讼")
    CLOSED = "closed", _("已结案")


class ChangeKind(models.TextChoices):
    EXCHANGE = "exchange", _("换房")
    RENAME = "rename", _("更名")
    CANCEL = "cancel", _("退房")


class DealChange(models.Model):
    """A change after subscription, as applied (seeds 000, 002 二.3(3)–(4)): exchange
    换房, rename 更名 / co-buyer change, cancellation 退房, with the deal's terms before
    and after. Nothing is deleted: the old deal stays (exchanged or cancelled) and this
    row says what became what. Who asked, why and who approved are on its ``request``.
    The 客户换房、退房一览表 reads these rows."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    deal = models.ForeignKey(
        Deal, verbose_name=_("交易"), on_delete=models.PROTECT, related_name="changes"
    )
    kind = models.CharField(_("类型"), max_length=10, choices=ChangeKind.choices)
    new_deal = models.OneToOneField(
        Deal,
        verbose_name=_("换房后交易"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="change_origin",
    )
    request = models.OneToOneField(
        "approvals.ApprovalRequest",
        verbose_name=_("审批申请"),
        on_delete=models.PROTECT,
        related_name="change",
    )
    before = models.JSONField(_("变更前"), default=dict)
    after = models.JSONField(_("变更后"), default=dict)
    at = models.DateTimeField(_("办理时间"))

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "deal"
    scope_owner_field = "deal__consultant"

    class Meta:
        verbose_name = _("交易变更")
        verbose_name_plural = _("交易变更")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["project", "kind", "at"])]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.deal}"


class Cancellation(models.Model):
    """退房: the reason, the deposit treatment and the refund finance pays, the voided
    documents archived, and a dispute that may go to arbitration or court (seed 000)."""

    deal = models.OneToOneField(
        Deal, verbose_name=_("交易"), on_delete=models.PROTECT, related_name="cancellation"
    )
    # a code of the office's list ``cancel_reason`` (core.codelists; CancelReason's are fixed)
    reason = models.CharField(_("退房原因"), max_length=20)
    detail = models.CharField(_("原因说明"), max_length=300, blank=True)
    deposit_treatment = models.CharField(
        _("定金处理"), max_length=10, choices=DepositTreatment.choices
    )
    received = models.DecimalField(_("已收房款（元）"), max_digits=14, decimal_places=2)
    forfeited = models.DecimalField(_("扣除定金（元）"), max_digits=14, decimal_places=2)
    compensation = models.DecimalField(
        _("另行赔付（元）"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    refund = models.DecimalField(_("应退金额（元）"), max_digits=14, decimal_places=2)
    voided_documents = models.CharField(_("作废单据"), max_length=200, blank=True)
    originals_returned = models.BooleanField(_("原件已收回存档"), default=False)
    cancelled_at = models.DateTimeField(_("退房时间"))
    refund_paid_at = models.DateTimeField(_("退款时间"), null=True, blank=True)
    refund_paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("退款经办"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    dispute = models.CharField(
        _("争议"), max_length=12, choices=DisputeStatus.choices, default=DisputeStatus.NONE
    )
    dispute_note = models.CharField(_("争议说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("退房")
        verbose_name_plural = _("退房")
        ordering = ["-cancelled_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(refund__gte=0) & Q(forfeited__gte=0), name="deals_cancel_amounts_gte_0"
            )
        ]

    def __str__(self):
        return f"{self.deal} {self.reason_label}"

    @property
    def reason_label(self) -> str:
        from loupan.core import codelists

        return codelists.label_of("cancel_reason", self.deal.project_id, self.reason)


class ApprovalKind(models.TextChoices):
    """What a deal asks approval for (the kinds deals registers with the approval
    engine, ``approvals``); the changes after subscription are also ``ChangeKind``."""

    DISCOUNT = "discount", _("折扣审批")
    CLAUSE = "clause", _("特殊条款")
    EXCHANGE = "exchange", _("换房")
    RENAME = "rename", _("更名")
    CANCEL = "cancel", _("退房")
    DEFERRAL = "deferral", _("延期付款")
    CONTRACT_REVIEW = "contract_review", _("计财部审核合同")


class TemplateKind(models.TextChoices):
    CONTRACT = "contract", _("商品房买卖合同")
    SUPPLEMENT = "supplement", _("补充协议")


class ContractTemplate(models.Model):
    """The office's Word template (.docx with placeholders) of the contract — the city's
    model contract 商品房买卖合同示范文本 — or of a supplementary agreement 补充协议.
    Every upload is a new version of its kind, kept; one version per project and kind
    is active (the partial unique index), and printing fills that one (seed 001
    签约管理: the office prepares the contract from the filed model)."""

    project = models.ForeignKey(
        "inventory.Project",
        verbose_name=_("项目"),
        on_delete=models.PROTECT,
        related_name="contract_templates",
    )
    kind = models.CharField(_("模板类型"), max_length=12, choices=TemplateKind.choices)
    version = models.PositiveIntegerField(_("版本"))
    name = models.CharField(_("模板名称"), max_length=100)
    file = models.FileField(_("模板文件"), upload_to="contract_templates/")
    placeholders = models.JSONField(_("使用的占位符"), default=list)
    is_active = models.BooleanField(_("启用"), default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上传人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("上传时间"))

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "deal"

    class Meta:
        verbose_name = _("合同模板")
        verbose_name_plural = _("合同模板")
        ordering = ["project", "kind", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "kind", "version"], name="deals_template_version_unique"
            ),
            models.UniqueConstraint(
                fields=["project", "kind"],
                condition=Q(is_active=True),
                name="deals_template_one_active",
            ),
        ]

    def __str__(self):
        return f"{self.name} v{self.version}"


class DocumentSource(models.TextChoices):
    UPLOADED = "uploaded", _("上传")
    GENERATED = "generated", _("按模板生成")


class Supplement(models.Model):
    """补充协议: a supplementary agreement of the deal, numbered per deal (第 1 号, 第 2
    号 …), uploaded as signed or generated from the project's supplement template.
    Append-only: a replaced agreement stays, superseded by the one that ``replaces`` it
    (seed 004 二(三): the contract papers are kept; nothing is deleted)."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    deal = models.ForeignKey(
        Deal, verbose_name=_("交易"), on_delete=models.PROTECT, related_name="supplements"
    )
    seq = models.PositiveSmallIntegerField(_("序号"))
    number = models.CharField(_("协议编号"), max_length=60)
    title = models.CharField(_("协议名称"), max_length=100)
    source = models.CharField(_("来源"), max_length=10, choices=DocumentSource.choices)
    file = models.FileField(_("协议文件"), upload_to="supplements/")
    template = models.ForeignKey(
        ContractTemplate,
        verbose_name=_("合同模板"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    replaces = models.OneToOneField(
        "self",
        verbose_name=_("替代的协议"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaced_by",
    )
    note = models.CharField(_("说明"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("登记时间"))

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "deal"
    scope_owner_field = "deal__consultant"

    class Meta:
        verbose_name = _("补充协议")
        verbose_name_plural = _("补充协议")
        ordering = ["deal", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["deal", "seq"], name="deals_supplement_seq_unique")
        ]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("deals:deal_detail", args=[self.project_id, self.deal_id]) + "#supplements"
