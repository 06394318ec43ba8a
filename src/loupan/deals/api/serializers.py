"""Deal API shapes. Output serializers only read; input serializers only check the shape
of a request (types, choices, required keys). Every rule lives in ``deals.services``.

Floor prices (底价) leave only through ``masking.FloorPriceSerializerMixin``: the
floor-price fields are removed for callers without ``unit.view_floor_price`` on the
deal's project."""

from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loupan.approvals import services as approvals
from loupan.approvals.models import ApprovalRequest, ApprovalStep
from loupan.core import masking
from loupan.deals.models import (
    Cancellation,
    Deal,
    DealBuyer,
    DealChange,
    DealDiscount,
    DealStatus,
    DealUnit,
    DepositTreatment,
    DiscountType,
    DisputeStatus,
    FilingStatus,
    PaymentMethod,
    SpecialClause,
)

MONEY = {"max_digits": 14, "decimal_places": 2}


# --- output --------------------------------------------------------------------------------


class DealUnitSerializer(serializers.ModelSerializer):
    number = serializers.CharField(source="unit.number", read_only=True)
    use = serializers.CharField(source="unit.use", read_only=True)

    class Meta:
        model = DealUnit
        fields = ["unit", "number", "use", "is_main", "list_price", "live"]
        read_only_fields = fields


class DealBuyerSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="customer.name", read_only=True)

    class Meta:
        model = DealBuyer
        fields = ["customer", "name", "share"]
        read_only_fields = fields


class DealDiscountSerializer(serializers.ModelSerializer):
    class Meta:
        model = DealDiscount
        fields = ["discount_type", "name", "kind", "value", "amount", "total_after", "sort_order"]
        read_only_fields = fields


class SpecialClauseSerializer(serializers.ModelSerializer):
    class Meta:
        model = SpecialClause
        fields = ["id", "text", "approved", "created_at"]
        read_only_fields = fields


class ApprovalStepSerializer(serializers.ModelSerializer):
    level_display = serializers.SerializerMethodField()
    actor_name = serializers.CharField(source="actor.real_name", read_only=True)

    class Meta:
        model = ApprovalStep
        fields = ["level", "level_display", "actor", "actor_name", "decision", "reason", "at"]
        read_only_fields = fields

    def get_level_display(self, obj) -> str:
        return obj.request.name_of_level(obj.level)


class ApprovalSerializer(serializers.ModelSerializer):
    """An approval request 审批申请 in a list."""

    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    level_display = serializers.SerializerMethodField()
    final_level_display = serializers.SerializerMethodField()
    deal = serializers.IntegerField(source="subject_id", read_only=True)
    deal_number = serializers.CharField(source="subject.__str__", read_only=True)
    unit_number = serializers.CharField(source="subject.unit.number", read_only=True)
    customer_name = serializers.CharField(source="subject.customer.name", read_only=True)
    requested_by_name = serializers.CharField(source="requested_by.real_name", read_only=True)
    decided_by_name = serializers.CharField(
        source="decided_by.real_name", default=None, read_only=True
    )

    class Meta:
        model = ApprovalRequest
        fields = [
            "id",
            "project",
            "deal",
            "deal_number",
            "unit_number",
            "customer_name",
            "kind",
            "kind_display",
            "payload",
            "reason",
            "requested_by",
            "requested_by_name",
            "requested_at",
            "level",
            "level_display",
            "final_level",
            "final_level_display",
            "status",
            "status_display",
            "decided_by",
            "decided_by_name",
            "decided_at",
            "decision_reason",
        ]
        read_only_fields = fields

    def get_level_display(self, obj) -> str:
        return obj.name_of_level(obj.level)

    def get_final_level_display(self, obj) -> str:
        return obj.name_of_level(obj.final_level)


class ApprovalInDealSerializer(ApprovalSerializer):
    """A request shown inside its deal, with each level's decision."""

    steps = ApprovalStepSerializer(many=True, read_only=True)

    class Meta(ApprovalSerializer.Meta):
        fields = [
            f
            for f in ApprovalSerializer.Meta.fields
            if f not in ("deal_number", "unit_number", "customer_name", "project")
        ] + ["steps"]
        read_only_fields = fields


class DealSummarySerializer(masking.FloorPriceSerializerMixin, serializers.ModelSerializer):
    """What an approver weighs: list price, (floor price), discount and final total."""

    status = serializers.ChoiceField(
        choices=DealStatus.choices, source="status_now", read_only=True
    )
    status_display = serializers.CharField(source="get_status_now_display", read_only=True)
    unit_number = serializers.CharField(source="unit.number", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    discount_pct = serializers.DecimalField(max_digits=7, decimal_places=2, read_only=True)

    class Meta:
        model = Deal
        fields = [
            "id",
            "number",
            "reservation_number",
            "status",
            "status_display",
            "unit",
            "unit_number",
            "customer",
            "customer_name",
            "list_total",
            "floor_total",
            "discount_amount",
            "discount_pct",
            "total",
            "deposit",
            "payment_method",
        ]
        read_only_fields = fields


class ApprovalDetailSerializer(ApprovalSerializer):
    """One request with its steps, the deal's figures and whether the caller decides."""

    steps = ApprovalStepSerializer(many=True, read_only=True)
    deal_summary = DealSummarySerializer(source="subject", read_only=True)
    can_decide = serializers.SerializerMethodField()

    class Meta(ApprovalSerializer.Meta):
        fields = [*ApprovalSerializer.Meta.fields, "deal_summary", "steps", "can_decide"]
        read_only_fields = fields

    def get_can_decide(self, obj) -> bool:
        return approvals.can_decide(self.context["request"].user, obj)[0]


class DealSerializer(masking.FloorPriceSerializerMixin, serializers.ModelSerializer):
    """A deal in a list; ``floor_total`` only for callers with unit.view_floor_price.
    ``status`` is as of now (an expired reservation reads ``expired`` before run-due)."""

    status = serializers.ChoiceField(
        choices=DealStatus.choices, source="status_now", read_only=True
    )
    status_display = serializers.CharField(source="get_status_now_display", read_only=True)
    unit_number = serializers.CharField(source="unit.number", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    consultant_name = serializers.CharField(source="consultant.real_name", read_only=True)
    discount_pct = serializers.DecimalField(max_digits=7, decimal_places=2, read_only=True)
    has_contract_scan = serializers.SerializerMethodField()

    class Meta:
        model = Deal
        fields = [
            "id",
            "project",
            "status",
            "status_display",
            "unit",
            "unit_number",
            "customer",
            "customer_name",
            "consultant",
            "consultant_name",
            "reservation_number",
            "reserved_at",
            "reservation_expires_at",
            "number",
            "subscribed_at",
            "pricing_basis",
            "area",
            "unit_price",
            "list_total",
            "floor_total",
            "discount_amount",
            "discount_pct",
            "total",
            "payment_method",
            "down_payment",
            "deposit",
            "signing_deadline",
            "deposit_confirmed_at",
            "deposit_confirmed_by",
            "contract_number",
            "signed_on",
            "delivery_date",
            "filing_status",
            "filing_number",
            "has_contract_scan",
            "exchanged_from",
            "ended_at",
            "end_reason",
            "note",
            "created_by",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "floor_total": {
                "required": False,
                "help_text": _("底价总额；仅对有「查看底价」权限的角色返回"),
            }
        }

    def get_has_contract_scan(self, obj) -> bool:
        return bool(obj.contract_scan)


class CancellationSerializer(serializers.ModelSerializer):
    """退房: reason, deposit treatment (民法典 587), the refund, voided documents, dispute."""

    reason_display = serializers.CharField(source="reason_label", read_only=True)
    deposit_treatment_display = serializers.CharField(
        source="get_deposit_treatment_display", read_only=True
    )
    dispute_display = serializers.CharField(source="get_dispute_display", read_only=True)

    class Meta:
        model = Cancellation
        fields = [
            "reason",
            "reason_display",
            "detail",
            "deposit_treatment",
            "deposit_treatment_display",
            "received",
            "forfeited",
            "compensation",
            "refund",
            "voided_documents",
            "originals_returned",
            "cancelled_at",
            "refund_paid_at",
            "refund_paid_by",
            "dispute",
            "dispute_display",
            "dispute_note",
        ]
        read_only_fields = fields


class DealChangeSerializer(serializers.ModelSerializer):
    """An applied change (换房, 更名, 退房) with the terms before and after."""

    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    deal_number = serializers.CharField(source="deal.__str__", read_only=True)
    reason = serializers.CharField(source="request.reason", read_only=True)
    requested_by = serializers.IntegerField(source="request.requested_by_id", read_only=True)
    requested_by_name = serializers.CharField(
        source="request.requested_by.real_name", read_only=True
    )
    approved_by = serializers.IntegerField(source="request.decided_by_id", read_only=True)
    approved_by_name = serializers.CharField(source="request.decided_by.real_name", read_only=True)

    class Meta:
        model = DealChange
        fields = [
            "id",
            "project",
            "deal",
            "deal_number",
            "kind",
            "kind_display",
            "new_deal",
            "request",
            "before",
            "after",
            "reason",
            "requested_by",
            "requested_by_name",
            "approved_by",
            "approved_by_name",
            "at",
        ]
        read_only_fields = fields


class DealDetailSerializer(DealSerializer):
    """One deal with its units, buyers, price steps, special clauses, approvals, the
    changes applied to it, its cancellation and the deal it was exchanged into."""

    units = DealUnitSerializer(many=True, read_only=True)
    buyers = DealBuyerSerializer(many=True, read_only=True)
    discounts = DealDiscountSerializer(many=True, read_only=True)
    clauses = SpecialClauseSerializer(many=True, read_only=True)
    approvals = ApprovalInDealSerializer(many=True, read_only=True)
    changes = DealChangeSerializer(many=True, read_only=True)
    cancellation = serializers.SerializerMethodField()
    exchanged_to = serializers.SerializerMethodField()

    class Meta(DealSerializer.Meta):
        fields = [
            *DealSerializer.Meta.fields,
            "units",
            "buyers",
            "discounts",
            "clauses",
            "approvals",
            "changes",
            "cancellation",
            "exchanged_to",
        ]
        read_only_fields = fields

    @extend_schema_field(CancellationSerializer(allow_null=True))
    def get_cancellation(self, obj):
        found = _reverse_one(obj, "cancellation")
        return CancellationSerializer(found).data if found else None

    def get_exchanged_to(self, obj) -> int | None:
        found = _reverse_one(obj, "exchanged_to")
        return found.pk if found else None


def _reverse_one(obj, name):
    """The object on the other side of a one-to-one, or None (select_related it)."""
    try:
        return getattr(obj, name)
    except ObjectDoesNotExist:
        return None


class DiscountTypeSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = DiscountType
        fields = [
            "id",
            "project",
            "name",
            "kind",
            "kind_display",
            "value",
            "sort_order",
            "variable",
            "is_active",
        ]
        read_only_fields = fields


# --- input ---------------------------------------------------------------------------------


class ReserveSerializer(serializers.Serializer):
    """保留单: hold the unit for one of the caller's customers."""

    unit = serializers.IntegerField(label=_("房间"))
    customer = serializers.IntegerField(label=_("客户"))
    note = serializers.CharField(label=_("备注"), required=False, allow_blank=True, default="")


class BuyerInputSerializer(serializers.Serializer):
    customer = serializers.IntegerField(label=_("买受人"))
    share = serializers.DecimalField(label=_("产权份额（%）"), max_digits=5, decimal_places=2)


class DiscountInputSerializer(serializers.Serializer):
    discount_type = serializers.IntegerField(label=_("折扣类型"))
    value = serializers.DecimalField(
        label=_("折扣值"),
        **MONEY,
        required=False,
        allow_null=True,
        default=None,
        help_text=_("只用于「金额由申请人填写」的折扣（特批）；其他折扣取项目设定的值"),
    )


class SubscribeSerializer(serializers.Serializer):
    """认购: buyers and shares (summing to 100%), payment method, deposit (at most the
    project's cap, 20% by 民法典 586), down payment, discounts; ``reason`` is sent to the
    approver when the discount is beyond the caller's authority."""

    buyers = BuyerInputSerializer(label=_("买受人"), many=True)
    payment_method = serializers.ChoiceField(label=_("付款方式"), choices=PaymentMethod.choices)
    deposit = serializers.DecimalField(label=_("定金"), **MONEY)
    down_payment = serializers.DecimalField(
        label=_("首付款"), **MONEY, required=False, allow_null=True, default=None
    )
    discounts = DiscountInputSerializer(label=_("折扣"), many=True, required=False, default=list)
    reason = serializers.CharField(
        label=_("申请理由"), required=False, allow_blank=True, default=""
    )


class PaymentSerializer(serializers.Serializer):
    """How the money moved (all optional): the payments ledger records it and refuses,
    naming the field, what it cannot take (a closed day, an unknown method)."""

    method = serializers.CharField(
        label=_("收付方式"),
        required=False,
        help_text="cash | transfer | pos | cheque（默认 transfer）",
    )
    paid_on = serializers.DateField(label=_("日期"), required=False)
    bank_reference = serializers.CharField(
        label=_("银行流水号"), required=False, allow_blank=True, max_length=60
    )


class ReleaseSerializer(serializers.Serializer):
    reason = serializers.CharField(
        label=_("撤销原因"), required=False, allow_blank=True, default=""
    )


class DecisionSerializer(serializers.Serializer):
    """An approver's opinion; required when rejecting."""

    reason = serializers.CharField(
        label=_("审批意见"), required=False, allow_blank=True, default=""
    )


class ClauseSerializer(serializers.Serializer):
    text = serializers.CharField(label=_("条款内容"), allow_blank=True)


class ContractSerializer(serializers.Serializer):
    """签约; an empty ``contract_number`` takes the project's next gapless one."""

    contract_number = serializers.CharField(
        label=_("合同编号"), max_length=40, required=False, allow_blank=True, default=""
    )
    signed_on = serializers.DateField(
        label=_("签约日期"), required=False, allow_null=True, default=None
    )
    delivery_date = serializers.DateField(
        label=_("交付日期"), required=False, allow_null=True, default=None
    )
    filing_status = serializers.ChoiceField(
        label=_("网签备案"), choices=FilingStatus.choices, required=False, default=FilingStatus.NONE
    )
    filing_number = serializers.CharField(
        label=_("网签备案号"), max_length=50, required=False, allow_blank=True, default=""
    )


class FilingSerializer(serializers.Serializer):
    filing_status = serializers.ChoiceField(label=_("网签备案"), choices=FilingStatus.choices)
    filing_number = serializers.CharField(
        label=_("网签备案号"), max_length=50, required=False, allow_blank=True, default=""
    )


class ScanUploadSerializer(serializers.Serializer):
    contract_scan = serializers.FileField(label=_("合同扫描件"))


# --- changes after subscription -------------------------------------------------------------


class ExchangeSerializer(serializers.Serializer):
    """换房: the new unit (available, same project) and the reason."""

    unit = serializers.IntegerField(label=_("换入房间"))
    reason = serializers.CharField(label=_("申请理由"), allow_blank=True)


class RenameSerializer(serializers.Serializer):
    """更名 / co-buyers: the buyers after the change, shares summing to 100%."""

    buyers = BuyerInputSerializer(label=_("买受人"), many=True)
    reason = serializers.CharField(label=_("申请理由"), allow_blank=True)


class CancelSerializer(serializers.Serializer):
    """退房: reason (list and words), deposit treatment, the amount kept when partly."""

    cancel_reason = serializers.CharField(
        label=_("退房原因"),
        max_length=20,
        help_text=_("项目代码表“退房原因”中启用的代码（/api/v1/code-lists/）"),
    )
    detail = serializers.CharField(label=_("原因说明"), allow_blank=True)
    deposit_treatment = serializers.ChoiceField(
        label=_("定金处理"), choices=DepositTreatment.choices
    )
    forfeited = serializers.DecimalField(
        label=_("扣除定金"), **MONEY, required=False, allow_null=True, default=None
    )
    originals_returned = serializers.BooleanField(
        label=_("原件已收回存档"), required=False, default=False
    )


class DisputeSerializer(serializers.Serializer):
    dispute = serializers.ChoiceField(label=_("争议"), choices=DisputeStatus.choices)
    dispute_note = serializers.CharField(
        label=_("争议说明"), required=False, allow_blank=True, default=""
    )


class PeriodSerializer(serializers.Serializer):
    """A project and an optional period (dates inclusive)."""

    project = serializers.IntegerField(label=_("项目"))
    kind = serializers.ChoiceField(
        label=_("类型"),
        choices=[("", ""), *DealChange._meta.get_field("kind").choices],
        required=False,
        default="",
    )
    start = serializers.DateField(label=_("自"), required=False, allow_null=True, default=None)
    end = serializers.DateField(label=_("至"), required=False, allow_null=True, default=None)
