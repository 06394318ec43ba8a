"""The customers API's serializers, all in one place (the viewsets in ``views.py``,
``reception.py``, ``intentions.py``, ``handovers.py`` and ``imports.py`` import them).
They shape what goes in and out; the rules are the services' (``customers.services``,
``reception``, ``intentions``, ``handover``). Contact numbers go out as
``selectors.contact`` (or, for calls, the receiver and ``customer.reveal``) shows them."""

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loupan.accounts import access
from loupan.core import codelists
from loupan.core.api import StrictInputMixin
from loupan.core.identity import display_phone
from loupan.core.masking import mask_phone

from .. import handover, reception, selectors, services
from ..models import (
    CallRecord,
    Customer,
    FollowUp,
    Handover,
    HandoverMode,
    IntendedUnit,
    OwnershipClaim,
    Post,
    Reception,
    ReceptionKind,
    RosterEntry,
    Stage,
)

# --- customers ------------------------------------------------------------------------


class CustomerSerializer(serializers.ModelSerializer):
    phone = serializers.SerializerMethodField()
    id_number = serializers.SerializerMethodField()
    owner_name = serializers.CharField(source="owner.real_name", default=None, read_only=True)
    occupation_label = serializers.SerializerMethodField(
        help_text=gettext_lazy("职业按本项目代码表的名称（已停用的标注；其他职业和旧的文字原样）")
    )

    class Meta:
        model = Customer
        fields = [
            "id",
            "project",
            "name",
            "phone",
            "id_number",
            "owner",
            "owner_name",
            "grade",
            "stage",
            "wanted_layout",
            "occupation",
            "occupation_label",
            "channel",
            "purpose",
            "budget_min",
            "budget_max",
            "registered_at",
            "last_follow_up_at",
            "ownership_expires_at",
            "in_pool",
            "household",
        ]
        read_only_fields = fields

    def _contact(self, obj):
        return selectors.contact(self.context["request"].user, obj)

    def get_phone(self, obj) -> str:
        return self._contact(obj)["phone"]

    def get_id_number(self, obj) -> str:
        return self._contact(obj)["id_number"]

    def get_occupation_label(self, obj) -> str:
        if not obj.occupation:
            return ""
        # the list read once per project for a page of customers (no query per row)
        listed = self.context.setdefault("_occupations", {})
        if obj.project_id not in listed:
            listed[obj.project_id] = codelists.entries("occupation", obj.project_id)
        return codelists.label_of("occupation", None, obj.occupation, listed=listed[obj.project_id])


class RegisterSerializer(StrictInputMixin, serializers.Serializer):
    """Registration: the required fields, and every optional one (``budget_max``, …)
    inside ``data``; any other field is refused, never dropped."""

    project = serializers.IntegerField()
    name = serializers.CharField(allow_blank=True)
    phone = serializers.CharField(allow_blank=True)
    wanted_layout = serializers.CharField(
        allow_blank=True,
        help_text=gettext_lazy("本项目户型的名称（/api/v1/layouts/），或 other（其他）"),
    )
    wanted_layout_other = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=100,
        help_text=gettext_lazy("意向户型为 other 时填写的户型"),
    )
    consent = serializers.BooleanField(default=False)
    id_number = serializers.CharField(required=False, allow_blank=True, default="")
    data = serializers.DictField(
        required=False,
        default=dict,
        help_text=gettext_lazy(
            "可选字段；occupation 为项目代码表“职业”中启用的代码（/api/v1/code-lists/），"
            "或 other 并在 occupation_other 中填写职业"
        ),
    )


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True)


class CustomerStageSerializer(StrictInputMixin, serializers.Serializer):
    stage = serializers.ChoiceField(label=gettext_lazy("阶段"), choices=[])
    reason = serializers.CharField(
        label=gettext_lazy("原因"), required=False, allow_blank=True, default=""
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [(s, Stage(s).label) for s in services.MANUAL_STAGES]


class AssignSerializer(ReasonSerializer):
    to_user = serializers.IntegerField()


class HouseholdSerializer(serializers.Serializer):
    members = serializers.ListField(child=serializers.IntegerField(), min_length=1)


class FollowUpSerializer(serializers.ModelSerializer):
    class Meta:
        model = FollowUp
        fields = [
            "id",
            "customer",
            "consultant",
            "at",
            "way",
            "content",
            "reaction",
            "next_step",
            "next_date",
        ]
        read_only_fields = ["id", "customer", "consultant"]
        extra_kwargs = {
            "at": {"required": False},
            "way": {
                "help_text": gettext_lazy("项目代码表“跟进方式”中启用的代码（/api/v1/code-lists/）")
            },
        }


class ClaimSerializer(serializers.ModelSerializer):
    class Meta:
        model = OwnershipClaim
        fields = [
            "id",
            "customer",
            "claimant",
            "reason",
            "status",
            "decided_by",
            "decision_reason",
            "created_at",
        ]
        read_only_fields = fields


class RevealSerializer(serializers.Serializer):
    """The full contact numbers of one customer."""

    phone = serializers.CharField(read_only=True)
    phone2 = serializers.CharField(read_only=True)
    id_number = serializers.CharField(read_only=True)


# --- reception, roster and calls ------------------------------------------------------


class UserBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="get_full_name")


class RosterEntrySerializer(serializers.ModelSerializer):
    user_name = serializers.CharField(source="user.get_full_name", read_only=True)

    class Meta:
        model = RosterEntry
        fields = ["id", "project", "date", "post", "position", "user", "user_name", "away"]
        read_only_fields = fields


class RosterSetSerializer(serializers.Serializer):
    project = serializers.IntegerField(label="项目")
    date = serializers.DateField(label="日期")
    post = serializers.ChoiceField(label="岗位", choices=Post.choices)
    user_ids = serializers.ListField(label="排班顾问", child=serializers.IntegerField())


class AwaySerializer(serializers.Serializer):
    away = serializers.BooleanField(label="暂离")


class ReceptionSerializer(serializers.ModelSerializer):
    consultant_name = serializers.CharField(source="consultant.get_full_name", read_only=True)
    customer_name = serializers.CharField(source="customer.name", default=None, read_only=True)
    is_research = serializers.SerializerMethodField()

    class Meta:
        model = Reception
        fields = [
            "id",
            "project",
            "kind",
            "consultant",
            "consultant_name",
            "customer",
            "customer_name",
            "call",
            "is_research",
            "at",
            "by_turn",
            "skipped",
            "note",
        ]
        read_only_fields = fields

    def get_is_research(self, obj) -> bool:
        return bool(obj.call_id and obj.call.is_research)


class ReceptionTakeSerializer(serializers.Serializer):
    project = serializers.IntegerField(label="项目")
    post = serializers.ChoiceField(label="岗位", choices=Post.choices + ReceptionKind.choices)
    customer = serializers.IntegerField(label="客户", required=False, allow_null=True)
    call = serializers.IntegerField(label="来电", required=False, allow_null=True)
    returning_customer = serializers.IntegerField(label="老客户", required=False, allow_null=True)
    brought_by = serializers.IntegerField(label="带访老客户", required=False, allow_null=True)
    note = serializers.CharField(label="备注", required=False, allow_blank=True, max_length=200)


class NextTurnSerializer(serializers.Serializer):
    post = serializers.CharField()
    user = UserBriefSerializer(allow_null=True)
    skipped = UserBriefSerializer(many=True)


class CallRecordSerializer(serializers.ModelSerializer):
    phone = serializers.SerializerMethodField()
    received_by_name = serializers.CharField(source="received_by.get_full_name", read_only=True)
    missing = serializers.SerializerMethodField()

    class Meta:
        model = CallRecord
        fields = [
            "id",
            "project",
            "called_at",
            "phone",
            "name",
            "question",
            "channel",
            "is_research",
            "competitor",
            "received_by",
            "received_by_name",
            "customer",
            "confirmed_by",
            "confirmed_at",
            "missing",
        ]
        read_only_fields = fields

    def get_phone(self, obj) -> str:
        user = self.context["request"].user
        shown = display_phone(obj.phone)
        if obj.received_by_id == user.pk or access.has_perm(
            user, "customer.reveal", obj.project_id
        ):
            return shown
        return mask_phone(shown)

    def get_missing(self, obj) -> list[str]:
        return reception.call_missing(obj)


class CallWriteSerializer(serializers.Serializer):
    project = serializers.IntegerField(label="项目", required=False)
    called_at = serializers.DateTimeField(label="来电时间", required=False)
    phone = serializers.CharField(label="来电号码", required=False, allow_blank=True, max_length=30)
    name = serializers.CharField(label="称呼", required=False, allow_blank=True, max_length=50)
    question = serializers.CharField(
        label="咨询内容", required=False, allow_blank=True, max_length=200
    )
    channel = serializers.IntegerField(label="认知途径", required=False, allow_null=True)
    is_research = serializers.BooleanField(label="同行调研", required=False)
    competitor = serializers.CharField(
        label="同行单位", required=False, allow_blank=True, max_length=100
    )
    received_by = serializers.IntegerField(label="接听顾问", required=False, allow_null=True)
    confirm = serializers.BooleanField(label="核查", required=False, default=False)


class LinkSerializer(serializers.Serializer):
    customer = serializers.IntegerField(label="客户")


# --- intended units, 撞车 and problem customers -----------------------------------------


class BriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


def _owner(customer):
    owner = customer.owner
    return {"id": owner.pk, "name": owner.real_name} if owner else None


class IntendedUnitSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    unit_number = serializers.CharField(source="unit.number", read_only=True)
    unit_status = serializers.CharField(source="unit.status", read_only=True)
    rivals = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = IntendedUnit
        fields = [
            "id",
            "customer",
            "customer_name",
            "unit",
            "unit_number",
            "unit_status",
            "rivals",
            "created_at",
        ]
        read_only_fields = fields


class IntendedUnitAddSerializer(serializers.Serializer):
    customer = serializers.IntegerField(label=gettext_lazy("客户"))
    unit = serializers.IntegerField(label=gettext_lazy("房间"))


class ConflictCustomerSerializer(serializers.Serializer):
    """``id``, ``grade``, ``phone`` and ``since`` are null for another consultant's
    customer shown to a consultant (name and owner only)."""

    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    owner = BriefSerializer()
    grade = serializers.CharField(allow_null=True)
    phone = serializers.CharField(allow_null=True)
    since = serializers.DateTimeField(allow_null=True)


class ConflictUnitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.CharField()


class ConflictSerializer(serializers.Serializer):
    unit = ConflictUnitSerializer()
    since = serializers.DateTimeField()
    consultants = BriefSerializer(many=True)
    customers = ConflictCustomerSerializer(many=True)


def conflict_data(conflict) -> dict:
    customers = []
    for side in conflict.sides:
        c = side.customer
        customers.append(
            {
                "id": c.pk if side.visible else None,
                "name": c.name,
                "owner": _owner(c),
                "grade": c.grade if side.visible else None,
                "phone": side.contact["phone"] if side.visible else None,
                "since": side.intended.created_at if side.visible else None,
            }
        )
    unit = conflict.unit
    return {
        "unit": {"id": unit.pk, "number": unit.number, "status": unit.status},
        "since": conflict.since,
        "consultants": [{"id": u.pk, "name": u.real_name} for u in conflict.consultants],
        "customers": customers,
    }


class ProblemCustomerSerializer(serializers.ModelSerializer):
    phone = serializers.SerializerMethodField()
    owner_name = serializers.CharField(source="owner.real_name", default=None, read_only=True)
    flagged_by = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = [
            "id",
            "project",
            "name",
            "phone",
            "grade",
            "owner",
            "owner_name",
            "problem",
            "problem_at",
            "flagged_by",
        ]
        read_only_fields = fields

    def get_phone(self, obj) -> str:
        return selectors.contact(self.context["request"].user, obj)["phone"]

    def get_flagged_by(self, obj) -> str:
        return self.context.get("flagged_by", {}).get(obj.pk, "")


class ProblemFlagSerializer(serializers.Serializer):
    customer = serializers.IntegerField(label=gettext_lazy("客户"))
    problem = serializers.CharField(label=gettext_lazy("问题"), allow_blank=True)


class ProblemResolveSerializer(serializers.Serializer):
    resolution = serializers.CharField(label=gettext_lazy("处理结果"), allow_blank=True)


# --- handover -------------------------------------------------------------------------


class HandoverUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="get_full_name")


class HandoverRequestSerializer(serializers.Serializer):
    project = serializers.IntegerField(label="项目")
    from_user = serializers.IntegerField(label="离职顾问")
    mode = serializers.ChoiceField(label="交接方式", choices=HandoverMode.choices)
    calls_to = serializers.IntegerField(label="未成交来电接收人", required=False, allow_null=True)
    open_to = serializers.IntegerField(
        label="未成交来访客户接收人", required=False, allow_null=True
    )
    closed_to = serializers.IntegerField(label="已成交客户接收人", required=False, allow_null=True)
    recipients = serializers.ListField(
        label="接收人（平均分配）", child=serializers.IntegerField(), required=False
    )
    deactivate = serializers.BooleanField(label="同时停用账号", required=False, default=False)
    note = serializers.CharField(label="备注", required=False, allow_blank=True, max_length=150)


class HandoverExecuteSerializer(HandoverRequestSerializer):
    expected = serializers.DictField(
        label="预览时的数量",
        child=serializers.IntegerField(min_value=0),
        required=False,
        help_text="预览返回的 counts；数量有变化时拒绝（409 conflict）。",
    )


class HandoverAssignmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    to = serializers.IntegerField()
    to_name = serializers.CharField()


class HandoverGroupSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    items = HandoverAssignmentSerializer(many=True)


class HandoverRecipientCountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    calls = serializers.IntegerField()
    open = serializers.IntegerField()
    closed = serializers.IntegerField()
    total = serializers.IntegerField()


class HandoverPreviewSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    from_user = HandoverUserSerializer()
    mode = serializers.CharField()
    reason = serializers.CharField()
    deactivate = serializers.BooleanField()
    counts = serializers.DictField(child=serializers.IntegerField())
    total = serializers.IntegerField()
    groups = HandoverGroupSerializer(many=True)
    recipients = HandoverRecipientCountSerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField())


def preview_data(plan) -> dict:
    return {
        "project": plan.project.pk,
        "from_user": plan.from_user,
        "mode": plan.mode,
        "reason": plan.reason,
        "deactivate": plan.deactivate,
        "counts": plan.counts,
        "total": plan.total,
        "groups": [
            {
                "key": g["key"],
                "label": str(g["label"]),
                "count": g["count"],
                "items": [
                    {
                        "id": obj.pk,
                        "name": handover.item_label(obj),
                        "to": u.pk,
                        "to_name": u.get_full_name(),
                    }
                    for obj, u in g["assignments"]
                ],
            }
            for g in plan.groups
        ],
        "recipients": plan.per_recipient,
        "warnings": [str(w) for w in plan.warnings],
    }


class HandoverSerializer(serializers.ModelSerializer):
    from_user_name = serializers.CharField(source="from_user.get_full_name", read_only=True)
    actor_name = serializers.CharField(source="actor.get_full_name", read_only=True)

    class Meta:
        model = Handover
        fields = [
            "id",
            "project",
            "from_user",
            "from_user_name",
            "actor",
            "actor_name",
            "created_at",
            "mode",
            "calls_count",
            "open_count",
            "closed_count",
            "deactivated",
            "reason",
            "recipients",
        ]
        read_only_fields = fields


class HandoverTransferSerializer(serializers.Serializer):
    group = serializers.CharField()
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    object_repr = serializers.CharField()
    to_id = serializers.IntegerField()
    to = serializers.CharField()


class HandoverDetailSerializer(HandoverSerializer):
    transfers = serializers.SerializerMethodField()

    class Meta(HandoverSerializer.Meta):
        fields = [*HandoverSerializer.Meta.fields, "transfers"]
        read_only_fields = fields

    @extend_schema_field(HandoverTransferSerializer(many=True))
    def get_transfers(self, obj) -> list[dict]:
        return HandoverTransferSerializer(handover.handover_transfers(obj), many=True).data


class HandoverCandidatesSerializer(serializers.Serializer):
    departing = HandoverUserSerializer(many=True)
    recipients = HandoverUserSerializer(many=True)


# --- import and the 意向客户登记表 -----------------------------------------------------------


class RegisterRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="customer.pk")
    registered_at = serializers.DateTimeField()
    name = serializers.CharField()
    phone = serializers.CharField(help_text="仅归属顾问本人可见完整号码")
    grade = serializers.CharField()
    stage = serializers.CharField()
    wanted_layout = serializers.CharField()
    wanted_area = serializers.CharField()
    budget = serializers.CharField(help_text="万元")
    channel = serializers.CharField()
    last_follow_up = serializers.DateTimeField(allow_null=True)
    follow_ups = serializers.IntegerField()
    owner = serializers.CharField()
