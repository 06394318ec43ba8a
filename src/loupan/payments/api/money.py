"""The money API (issue 13): receipts, recording money, the ledger, a deal's schedule,
the customer payment detail list, collection and deferrals, the day sheet and receipt
books — under ``/api/v1/``.

* ``POST /payments/`` records money received against a deal's schedule and answers its
  receipt (finance); ``GET /receipts/`` and ``/receipts/{id}/`` (with the entries, the
  作废 / 红冲 mark and the amount in capital numerals); ``POST /receipts/{id}/reverse/``
  asks for a red reversal (approval engine), ``…/invoice/`` records the VAT invoice.
* ``GET /ledger-entries/``: the append-only ledger (filters ``project``, ``deal``,
  ``kind``, ``method``, ``paid_after``, ``paid_before``).
* ``GET /payment-schedules/{deal_id}/``: the deal's schedule as of today (paid, owed,
  days overdue, late fee); ``PUT`` replaces it (finance; ``items`` with ``amount`` or
  ``percent``, summing to the deal total).
* ``GET /payment-details/?project=``: 客户交款情况明细表 (filters ``payment_method``,
  ``consultant``, ``overdue``, ``q``).
* ``GET /collection/?project=``: the overdue items (a consultant: their own);
  ``GET/POST /collection-records/``; ``GET/POST /deferrals/``.
* ``GET /day-closes/?project=``, ``GET /day-closes/sheet/?project=&day=``, ``POST
  /day-closes/`` (submit a day), ``POST /day-closes/{id}/review/`` and ``…/reopen/``.
* ``GET/POST /receipt-books/``, ``POST /receipt-books/{id}/spoil/``.

Every list starts from the restricted queryset (another consultant's deal, or another
project's, is a 404); every write calls one service; refusals have the one error shape.
Amounts travel as strings; a JSON float is refused."""

import datetime

import django_filters
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from loupan.approvals import services as approvals
from loupan.approvals.models import ApprovalRequest
from loupan.core.api import project_filtered, project_param
from loupan.core.errors import DomainError, ErrorCode, invalid
from loupan.core.money import rmb_upper
from loupan.core.viewsets import ReadOnlyRestrictedViewSet, RestrictedViewSet
from loupan.deals.api.serializers import DecisionSerializer
from loupan.deals.models import Deal, PaymentMethod
from loupan.inventory.models import Project
from loupan.payments import arrears, closing, rules, selectors, services
from loupan.payments.models import (
    RECEIVED_METHOD_CHOICES,
    Channel,
    CollectionRecord,
    DayClose,
    Deferral,
    EntryKind,
    ItemKind,
    LedgerEntry,
    Method,
    Receipt,
    ReceiptBook,
    ScheduleItem,
)
from loupan.payments.money_forms import DetailFilterSet
from loupan.payments.schedule import schedule_set

from .serializers import NoFloatsMixin

MONEY = {"max_digits": 14, "decimal_places": 2}
METHODS = RECEIVED_METHOD_CHOICES

urlpatterns: list = []


def _project(request, required=True):
    """The ``project`` query parameter as a project the caller belongs to (404 else)."""
    project = project_param(request, required=required)
    return project


def _deal(request, pk, project=None) -> Deal:
    """A deal whose money the caller may see (a 404 otherwise)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError) as exc:
        raise DomainError(ErrorCode.NOT_FOUND) from exc
    deal = Deal.objects.select_related("project", "customer").filter(pk=pk).first()
    if (
        deal is None
        or not selectors.deals_for_money(request.user, deal.project).filter(pk=pk).exists()
    ):
        raise DomainError(ErrorCode.NOT_FOUND)
    return deal


# --- receipts -------------------------------------------------------------------------------


class EntrySerializer(serializers.ModelSerializer):
    item_name = serializers.CharField(source="item.name", read_only=True, default="")
    receipt_number = serializers.CharField(source="receipt.number", read_only=True, default="")

    class Meta:
        model = LedgerEntry
        fields = [
            "id",
            "project",
            "deal",
            "customer",
            "reference",
            "item",
            "item_name",
            "kind",
            "purpose",
            "method",
            "amount",
            "paid_on",
            "payer",
            "bank",
            "bank_reference",
            "receipt",
            "receipt_number",
            "reverses",
            "counterpart",
            "reason",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class ReceiptSerializer(serializers.ModelSerializer):
    # a sincerity deposit's receipt 诚意金收据 has no deal: its customer and reference
    unit = serializers.CharField(source="deal.unit.number", read_only=True, default="")
    deal_number = serializers.CharField(source="deal.number", read_only=True, default="")
    mark = serializers.SerializerMethodField(label=_("作废 / 红冲"))

    class Meta:
        model = Receipt
        fields = [
            "id",
            "project",
            "deal",
            "deal_number",
            "unit",
            "customer",
            "reference",
            "number",
            "amount",
            "method",
            "paid_on",
            "payer",
            "form_serial",
            "cashier",
            "issued_at",
            "invoice_number",
            "invoice_date",
            "mark",
        ]
        read_only_fields = fields

    def get_mark(self, obj) -> str:
        return services.receipt_mark(obj)


class ReceiptDetailSerializer(ReceiptSerializer):
    entries = EntrySerializer(many=True, read_only=True)
    amount_upper = serializers.SerializerMethodField(label=_("人民币大写"))

    class Meta(ReceiptSerializer.Meta):
        fields = [*ReceiptSerializer.Meta.fields, "amount_upper", "entries"]
        read_only_fields = fields

    def get_amount_upper(self, obj) -> str:
        return rmb_upper(obj.amount)


class AllocationSerializer(NoFloatsMixin, serializers.Serializer):
    item = serializers.IntegerField(label=_("付款计划"))
    amount = serializers.DecimalField(label=_("金额"), **MONEY)


class PaymentInputSerializer(NoFloatsMixin, serializers.Serializer):
    deal = serializers.IntegerField(label=_("交易"))
    amount = serializers.DecimalField(label=_("金额（元）"), **MONEY)
    method = serializers.ChoiceField(label=_("收款方式"), choices=METHODS)
    paid_on = serializers.DateField(label=_("收款日期"), required=False)
    payer = serializers.CharField(
        label=_("交款人"), max_length=100, required=False, allow_blank=True
    )
    bank_reference = serializers.CharField(max_length=60, required=False, allow_blank=True)
    bank = serializers.CharField(max_length=50, required=False, allow_blank=True)
    allocations = AllocationSerializer(many=True, required=False)
    late_fee = serializers.BooleanField(required=False, default=False)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class MoneyReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(label=_("原因"), max_length=300)


class InvoiceSerializer(serializers.Serializer):
    invoice_number = serializers.CharField(label=_("发票号码"), max_length=40)
    invoice_date = serializers.DateField(label=_("开票日期"), required=False)


class ApprovalOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApprovalRequest
        fields = ["id", "kind", "status", "level", "reason", "payload", "requested_at"]
        read_only_fields = fields


class ReceiptFilter(django_filters.FilterSet):
    project = django_filters.NumberFilter(field_name="project_id")
    deal = django_filters.NumberFilter(field_name="deal_id")
    method = django_filters.ChoiceFilter(choices=Method.choices)
    paid_after = django_filters.DateFilter(field_name="paid_on", lookup_expr="gte")
    paid_before = django_filters.DateFilter(field_name="paid_on", lookup_expr="lte")
    number = django_filters.CharFilter(field_name="number", lookup_expr="icontains")

    class Meta:
        model = Receipt
        fields = ["project", "deal", "method", "paid_after", "paid_before", "number"]


class ReceiptViewSet(ReadOnlyRestrictedViewSet):
    """收据: the receipts the caller may see (finance and the leads: the project's; a
    consultant: their own deals')."""

    queryset = Receipt.objects.select_related("deal__unit").prefetch_related("entries__reversed_by")
    serializer_class = ReceiptSerializer
    filterset_class = ReceiptFilter
    ordering = ["-issued_at", "-pk"]

    def get_queryset(self):
        return super().get_queryset().order_by("-issued_at", "-pk")

    def get_serializer_class(self):
        return ReceiptDetailSerializer if self.action == "retrieve" else ReceiptSerializer

    @extend_schema(request=MoneyReasonSerializer, responses={201: ApprovalOutSerializer})
    @action(detail=True, methods=["post"])
    def reverse(self, request, pk=None):
        """Ask for the receipt's red reversal 红冲 (approved by ``payment.approve``)."""
        receipt = self.get_object()
        data = _valid(MoneyReasonSerializer, request)
        req = services.reversal_request(actor=request.user, receipt=receipt, reason=data["reason"])
        return Response(ApprovalOutSerializer(req).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=InvoiceSerializer, responses=ReceiptDetailSerializer)
    @action(detail=True, methods=["post"])
    def invoice(self, request, pk=None):
        """Record the VAT invoice 发票 issued outside Loupan against the receipt."""
        receipt = self.get_object()
        data = _valid(InvoiceSerializer, request)
        receipt = services.invoice_record(actor=request.user, receipt=receipt, **data)
        return Response(ReceiptDetailSerializer(receipt).data)


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class PaymentViewSet(RestrictedViewSet):
    """``POST /payments/``: finance records money received; answers the receipt."""

    queryset = Receipt.objects.all()
    serializer_class = PaymentInputSerializer

    @extend_schema(request=PaymentInputSerializer, responses={201: ReceiptDetailSerializer})
    def create(self, request):
        data = _valid(PaymentInputSerializer, request)
        deal = _deal(request, data.pop("deal"))
        allocations = [(a["item"], a["amount"]) for a in data.pop("allocations", [])]
        receipt = services.payment_record(
            actor=request.user, deal=deal, allocations=allocations or None, **data
        )
        return Response(ReceiptDetailSerializer(receipt).data, status=status.HTTP_201_CREATED)


# --- the ledger ---------------------------------------------------------------------------------


class EntryFilter(django_filters.FilterSet):
    project = django_filters.NumberFilter(field_name="project_id")
    deal = django_filters.NumberFilter(field_name="deal_id")
    kind = django_filters.ChoiceFilter(choices=EntryKind.choices)
    method = django_filters.ChoiceFilter(choices=Method.choices)
    paid_after = django_filters.DateFilter(field_name="paid_on", lookup_expr="gte")
    paid_before = django_filters.DateFilter(field_name="paid_on", lookup_expr="lte")

    class Meta:
        model = LedgerEntry
        fields = ["project", "deal", "kind", "method", "paid_after", "paid_before"]


class LedgerEntryViewSet(ReadOnlyRestrictedViewSet):
    """收付款流水: the append-only ledger (never changed: a mistake is a red entry)."""

    queryset = LedgerEntry.objects.select_related("item", "receipt")
    serializer_class = EntrySerializer
    filterset_class = EntryFilter

    def get_queryset(self):
        return super().get_queryset().order_by("-paid_on", "-pk")


# --- the schedule -------------------------------------------------------------------------------


class ItemStateSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="item.pk")
    seq = serializers.IntegerField(source="item.seq")
    kind = serializers.ChoiceField(source="item.kind", choices=ItemKind.choices)
    name = serializers.CharField(source="item.name")
    amount = serializers.DecimalField(source="item.amount", **MONEY)
    due_date = serializers.DateField(source="item.due_date")
    original_due_date = serializers.DateField(source="item.original_due_date")
    paid = serializers.DecimalField(**MONEY)
    owed = serializers.DecimalField(**MONEY)
    overdue_days = serializers.IntegerField()
    late_fee = serializers.DecimalField(**MONEY)


class ScheduleSerializer(serializers.Serializer):
    deal = serializers.IntegerField()
    total = serializers.DecimalField(**MONEY, allow_null=True)
    received = serializers.DecimalField(**MONEY)
    late_fee_due = serializers.DecimalField(**MONEY)
    items = ItemStateSerializer(many=True)


class ScheduleRowSerializer(NoFloatsMixin, serializers.Serializer):
    kind = serializers.ChoiceField(choices=ItemKind.choices)
    name = serializers.CharField(max_length=50, required=False, allow_blank=True)
    amount = serializers.DecimalField(**MONEY, required=False, allow_null=True)
    percent = serializers.DecimalField(
        max_digits=7, decimal_places=4, required=False, allow_null=True
    )
    due_date = serializers.DateField()


class ScheduleInputSerializer(NoFloatsMixin, serializers.Serializer):
    items = ScheduleRowSerializer(many=True)


def schedule_of(deal) -> dict:
    state = arrears.schedule_state(deal)  # read once: the items and the late fee
    return {
        "deal": deal.pk,
        "total": deal.total,
        "received": services.received_of(deal),
        "late_fee_due": arrears.late_fee_due(deal, state=state),
        "items": state,
    }


class ScheduleViewSet(RestrictedViewSet):
    """A deal's payment schedule 付款计划, by the deal's id."""

    queryset = ScheduleItem.objects.all()
    serializer_class = ScheduleSerializer
    lookup_field = "deal"

    @extend_schema(responses=ScheduleSerializer)
    def retrieve(self, request, deal=None):
        return Response(ScheduleSerializer(schedule_of(_deal(request, deal))).data)

    @extend_schema(request=ScheduleInputSerializer, responses=ScheduleSerializer)
    def update(self, request, deal=None):
        found = _deal(request, deal)
        data = _valid(ScheduleInputSerializer, request)
        schedule_set(actor=request.user, deal=found, rows=[dict(r) for r in data["items"]])
        return Response(ScheduleSerializer(schedule_of(found)).data)


# --- 客户交款情况明细表 ------------------------------------------------------------------------------


class DetailSerializer(serializers.Serializer):
    deal = serializers.IntegerField(source="pk")
    number = serializers.CharField()
    contract_number = serializers.CharField()
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices)
    unit = serializers.CharField(source="unit.number")
    customer = serializers.CharField(source="customer.name")
    consultant = serializers.IntegerField(source="consultant_id")
    total = serializers.DecimalField(**MONEY)
    received = serializers.DecimalField(**MONEY)
    balance = serializers.DecimalField(**MONEY)
    overdue = serializers.DecimalField(**MONEY)
    next_due = serializers.DateField(allow_null=True)
    last_paid = serializers.DateField(allow_null=True)


PROJECT = OpenApiParameter("project", OpenApiTypes.INT, required=True)


class PaymentDetailViewSet(RestrictedViewSet):
    """客户交款情况明细表 (seed 002 二.5(1)) by payment method, as of today."""

    queryset = Deal.objects.all()
    serializer_class = DetailSerializer

    @extend_schema(
        parameters=[
            PROJECT,
            OpenApiParameter("payment_method", OpenApiTypes.STR),
            OpenApiParameter("consultant", OpenApiTypes.INT),
            OpenApiParameter("overdue", OpenApiTypes.BOOL),
            OpenApiParameter("q", OpenApiTypes.STR),
        ]
    )
    def list(self, request):
        project = _project(request)
        qs = selectors.detail_rows(request.user, project)
        filterset = DetailFilterSet(request.query_params, queryset=qs, project=project)
        if not filterset.is_valid():
            raise DomainError(ErrorCode.INVALID, fields=filterset.errors)
        page = self.paginate_queryset(filterset.qs)
        return self.get_paginated_response(DetailSerializer(page, many=True).data)


# --- collection and deferrals -----------------------------------------------------------------


class CollectionItemSerializer(serializers.Serializer):
    item = serializers.IntegerField(source="pk")
    deal = serializers.IntegerField(source="deal_id")
    unit = serializers.CharField(source="deal.unit.number")
    customer = serializers.CharField(source="deal.customer.name")
    consultant = serializers.IntegerField(source="deal.consultant_id")
    name = serializers.CharField()
    due_date = serializers.DateField()
    owed = serializers.DecimalField(**MONEY)
    days_overdue = serializers.SerializerMethodField()
    last_contact_at = serializers.DateTimeField(source="last_at", allow_null=True)
    promised_on = serializers.DateField(allow_null=True)

    def get_days_overdue(self, obj) -> int:
        return (timezone.localdate() - obj.due_date).days


class CollectionViewSet(RestrictedViewSet):
    """催款: the overdue items as of today (a consultant: their own buyers')."""

    queryset = ScheduleItem.objects.all()
    serializer_class = CollectionItemSerializer

    @extend_schema(parameters=[PROJECT])
    def list(self, request):
        project = _project(request)
        page = self.paginate_queryset(selectors.collection_items(request.user, project))
        return self.get_paginated_response(CollectionItemSerializer(page, many=True).data)


class CollectionRecordSerializer(NoFloatsMixin, serializers.ModelSerializer):
    channel = serializers.ChoiceField(choices=Channel.choices)

    class Meta:
        model = CollectionRecord
        fields = [
            "id",
            "project",
            "deal",
            "item",
            "channel",
            "contact",
            "note",
            "promised_amount",
            "promised_on",
            "by",
            "at",
        ]
        read_only_fields = ["id", "project", "by", "at"]
        extra_kwargs = {
            "deal": {"queryset": Deal.objects.all()},
            "item": {"queryset": ScheduleItem.objects.all()},
        }


class ProjectDealFilter(django_filters.FilterSet):
    project = django_filters.NumberFilter(field_name="project_id")
    deal = django_filters.NumberFilter(field_name="deal_id")


class CollectionRecordViewSet(mixins.CreateModelMixin, ReadOnlyRestrictedViewSet):
    """催款记录: who contacted whom, how, what was promised."""

    queryset = CollectionRecord.objects.select_related("deal")
    serializer_class = CollectionRecordSerializer
    filterset_class = ProjectDealFilter

    def get_queryset(self):
        return super().get_queryset().order_by("-at", "-pk")

    def create(self, request, *args, **kwargs):
        deal = _deal(request, request.data.get("deal"))
        data = _valid(CollectionRecordSerializer, request)
        data.pop("deal")
        item = data.pop("item", None)
        record = arrears.collection_record(actor=request.user, deal=deal, item=item, **data)
        return Response(CollectionRecordSerializer(record).data, status=status.HTTP_201_CREATED)


class DeferralSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="request.status", read_only=True)

    class Meta:
        model = Deferral
        fields = [
            "id",
            "project",
            "deal",
            "item",
            "old_due_date",
            "new_due_date",
            "reason",
            "request",
            "status",
            "created_at",
        ]
        read_only_fields = ["id", "project", "old_due_date", "request", "status", "created_at"]
        extra_kwargs = {
            "deal": {"queryset": Deal.objects.all()},
            "item": {"queryset": ScheduleItem.objects.all()},
        }


class DeferralViewSet(mixins.CreateModelMixin, ReadOnlyRestrictedViewSet):
    """延期付款客户一览表; ``POST`` asks for one (approved by ``payment.approve``)."""

    queryset = Deferral.objects.select_related("request")
    serializer_class = DeferralSerializer
    filterset_class = ProjectDealFilter

    def get_queryset(self):
        return super().get_queryset().order_by("-created_at", "-pk")

    def create(self, request, *args, **kwargs):
        deal = _deal(request, request.data.get("deal"))
        data = _valid(DeferralSerializer, request)
        deferral = arrears.deferral_request(
            actor=request.user,
            deal=deal,
            item=data["item"],
            new_due_date=data["new_due_date"],
            reason=data["reason"],
        )
        return Response(DeferralSerializer(deferral).data, status=status.HTTP_201_CREATED)


# --- the day sheet ---------------------------------------------------------------------------


class DayCloseSerializer(serializers.ModelSerializer):
    class Meta:
        model = DayClose
        fields = [
            "id",
            "project",
            "day",
            "status",
            "totals",
            "entries_total",
            "cash_expected",
            "cash_counted",
            "note",
            "prepared_by",
            "prepared_at",
            "reviewed_by",
            "closed_at",
        ]
        read_only_fields = fields


class DaySubmitSerializer(NoFloatsMixin, serializers.Serializer):
    project = serializers.IntegerField()
    day = serializers.DateField()
    cash_counted = serializers.DecimalField(**MONEY)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class DayReviewSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)


class DayCloseViewSet(ReadOnlyRestrictedViewSet):
    """日清日结: the day sheets; submit a day, review it (a second person), reopen it
    (approved)."""

    queryset = DayClose.objects.all()
    serializer_class = DayCloseSerializer

    def get_queryset(self):
        return project_filtered(super().get_queryset().order_by("-day"), self.request)

    @extend_schema(request=DaySubmitSerializer, responses={201: DayCloseSerializer})
    def create(self, request):
        data = _valid(DaySubmitSerializer, request)
        project = _project(request)
        close = closing.day_submit(
            actor=request.user,
            project=project,
            day=data["day"],
            cash_counted=data["cash_counted"],
            note=data.get("note", ""),
        )
        return Response(DayCloseSerializer(close).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[PROJECT, OpenApiParameter("day", OpenApiTypes.DATE)],
        responses=OpenApiTypes.OBJECT,
    )
    @action(detail=False, methods=["get"])
    def sheet(self, request):
        """The day's entries by kind and method, and the cash expected (as of now)."""
        project = _project(request)
        if not (rules.may_see_all(request.user, project)):
            raise DomainError(ErrorCode.NOT_FOUND)
        raw = request.query_params.get("day") or timezone.localdate().isoformat()
        try:
            day = datetime.date.fromisoformat(raw)
        except ValueError as exc:
            raise invalid("day", "日期格式应为 YYYY-MM-DD") from exc
        sheet = closing.day_sheet(project, day)
        return Response(
            {
                **sheet,
                "day": day.isoformat(),
                "total": str(sheet["total"]),
                "cash_expected": str(sheet["cash_expected"]),
            }
        )

    @extend_schema(request=DayReviewSerializer, responses=DayCloseSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        close = self.get_object()
        data = _valid(DayReviewSerializer, request)
        close = closing.day_review(
            actor=request.user, close=close, approve=data["approve"], reason=data.get("reason", "")
        )
        return Response(DayCloseSerializer(close).data)

    @extend_schema(request=MoneyReasonSerializer, responses={201: ApprovalOutSerializer})
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        close = self.get_object()
        data = _valid(MoneyReasonSerializer, request)
        req = closing.day_reopen_request(actor=request.user, close=close, reason=data["reason"])
        return Response(ApprovalOutSerializer(req).data, status=status.HTTP_201_CREATED)


# --- receipt books ----------------------------------------------------------------------------


class BookSerializer(serializers.ModelSerializer):
    left = serializers.IntegerField(read_only=True)

    class Meta:
        model = ReceiptBook
        fields = [
            "id",
            "project",
            "cashier",
            "first_serial",
            "last_serial",
            "next_serial",
            "left",
            "issued_by",
            "issued_at",
            "note",
        ]
        read_only_fields = ["id", "next_serial", "left", "issued_by", "issued_at"]
        extra_kwargs = {
            "project": {"queryset": Project.objects.all()},
            "cashier": {"queryset": get_user_model().objects.all()},
        }


class BookViewSet(mixins.CreateModelMixin, ReadOnlyRestrictedViewSet):
    """票据管理: receipt books issued to cashiers, their spoiled forms."""

    queryset = ReceiptBook.objects.all()
    serializer_class = BookSerializer

    def get_queryset(self):
        return super().get_queryset().order_by("first_serial")

    def create(self, request, *args, **kwargs):
        project = _project(request)
        data = _valid(BookSerializer, request)
        book = services.book_issue(
            actor=request.user,
            project=project,
            cashier=data["cashier"],
            first_serial=data["first_serial"],
            last_serial=data["last_serial"],
            note=data.get("note", ""),
        )
        return Response(BookSerializer(book).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MoneyReasonSerializer, responses={201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def spoil(self, request, pk=None):
        """Spoil the book's next form 作废 (its serial kept with the reason)."""
        book = self.get_object()
        data = _valid(MoneyReasonSerializer, request)
        spoiled = services.form_spoil(actor=request.user, book=book, reason=data["reason"])
        return Response(
            {"serial": spoiled.serial, "reason": spoiled.reason}, status=status.HTTP_201_CREATED
        )


# --- payment approvals -----------------------------------------------------------------------

PAYMENT_KINDS = (services.REVERSAL, arrears.DEFERRAL, closing.DAY_REOPEN)


class PaymentApprovalViewSet(ReadOnlyRestrictedViewSet):
    """Payments' approval requests (红冲 ``reversal``, 延期付款 ``deferral``, 重开日结
    ``day_reopen``) the caller may see; ``?mine=pending&project=<id>`` lists those
    waiting for the caller. ``approve`` / ``reject`` decide one (the approval engine:
    whoever holds ``payment.approve``, never the requester); ``withdraw`` takes back a
    waiting one."""

    queryset = ApprovalRequest.objects.filter(kind__in=PAYMENT_KINDS).select_related(
        "requested_by", "decided_by"
    )
    serializer_class = ApprovalOutSerializer

    def get_queryset(self):
        qs = super().get_queryset().order_by("-requested_at", "-pk")
        params = self.request.query_params
        if self.action == "list" and params.get("mine") == "pending":
            project = _project(self.request)
            pending = approvals.pending_for(self.request.user, project)
            return qs.filter(pk__in=pending.values("pk")).order_by("requested_at", "pk")
        if self.action == "list" and params.get("project"):
            return qs.filter(project=_project(self.request))
        return qs

    @extend_schema(
        parameters=[
            OpenApiParameter("project", OpenApiTypes.INT),
            OpenApiParameter("mine", OpenApiTypes.STR, enum=["pending"]),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _decide(self, approve: bool):
        req = self.get_object()
        data = _valid(DecisionSerializer, self.request)
        approvals.approval_decide(
            actor=self.request.user, request=req, approve=approve, reason=data["reason"]
        )
        return Response(ApprovalOutSerializer(ApprovalRequest.objects.get(pk=req.pk)).data)

    @extend_schema(request=DecisionSerializer, responses=ApprovalOutSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(True)

    @extend_schema(request=DecisionSerializer, responses=ApprovalOutSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(False)

    @extend_schema(request=None, responses=ApprovalOutSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        req = approvals.approval_withdraw(actor=self.request.user, request=self.get_object())
        return Response(ApprovalOutSerializer(req).data)


def register(router) -> None:
    router.register("payment-approvals", PaymentApprovalViewSet, basename="paymentapproval")
    router.register("receipts", ReceiptViewSet, basename="receipt")
    router.register("payments", PaymentViewSet, basename="payment")
    router.register("ledger-entries", LedgerEntryViewSet, basename="ledgerentry")
    router.register("payment-schedules", ScheduleViewSet, basename="paymentschedule")
    router.register("payment-details", PaymentDetailViewSet, basename="paymentdetail")
    router.register("collection", CollectionViewSet, basename="collection")
    router.register("collection-records", CollectionRecordViewSet, basename="collectionrecord")
    router.register("deferrals", DeferralViewSet, basename="deferral")
    router.register("day-closes", DayCloseViewSet, basename="dayclose")
    router.register("receipt-books", BookViewSet, basename="receiptbook")
