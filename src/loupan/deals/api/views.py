"""Deals API (issue Deals, "Lists and API"): ``/api/v1/deals/``, ``/api/v1/approvals/``
and ``/api/v1/discount-types/``.

Every list and detail starts from the restricted queryset (a consultant sees their own
deals; a deal the caller may not see is a 404). Each transition is a POST to its own
action that calls one service and answers the deal, or the one error shape: 400 for a
request the rules refuse, 403 for a role that may not act, 404 for what the caller may
not see, 409 for a deal in the wrong state. Ids in a request body that do not belong to
the deal's project are a 400 naming the field. ``floor_total`` is removed for callers
without ``unit.view_floor_price`` (``masking.FloorPriceSerializerMixin``).
"""

import django_filters
from django.contrib.contenttypes.prefetch import GenericPrefetch
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from loupan.accounts import access
from loupan.approvals import services as approvals
from loupan.approvals.models import ApprovalRequest, ApprovalStatus, ApprovalStep
from loupan.core.api import project_param
from loupan.core.errors import DomainError, ErrorCode, invalid
from loupan.core.uploads import serve_document
from loupan.core.viewsets import ReadOnlyRestrictedViewSet, RestrictedViewSet
from loupan.customers.models import Customer
from loupan.deals import changes, reports, rules, services
from loupan.deals.filters import DealFilterSet
from loupan.deals.models import (
    ApprovalKind,
    Deal,
    DealBuyer,
    DealChange,
    DealUnit,
    DiscountType,
)
from loupan.inventory.models import Project, Unit

from . import contracts as contract_api
from . import serializers as s

# --- filters -------------------------------------------------------------------------------


class DealApiFilterSet(DealFilterSet):
    """The pages' filter set (status, live, consultant, dates, ``q``) plus what an API
    client names by id: project, unit (the main one or an attached one), customer (the
    one reserved for or any buyer) and a document number."""

    project = django_filters.NumberFilter(label=gettext_lazy("项目"), field_name="project_id")
    unit = django_filters.NumberFilter(label=gettext_lazy("房间"), method="filter_unit")
    customer = django_filters.NumberFilter(label=gettext_lazy("客户"), method="filter_customer")
    number = django_filters.CharFilter(label=gettext_lazy("单号"), method="filter_number")

    class Meta(DealFilterSet.Meta):
        fields = [*DealFilterSet.Meta.fields, "project", "unit", "customer", "number"]

    def filter_unit(self, queryset, name, value):
        attached = DealUnit.objects.filter(deal=OuterRef("pk"), unit_id=value)
        return queryset.filter(Q(unit_id=value) | Exists(attached))

    def filter_customer(self, queryset, name, value):
        buyer = DealBuyer.objects.filter(deal=OuterRef("pk"), customer_id=value)
        return queryset.filter(Q(customer_id=value) | Exists(buyer))

    def filter_number(self, queryset, name, value):
        """Reservation, subscription or contract number (or part of it)."""
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(reservation_number__icontains=value)
            | Q(number__icontains=value)
            | Q(contract_number__icontains=value)
        )


class ApprovalFilterSet(django_filters.FilterSet):
    project = django_filters.NumberFilter(label=gettext_lazy("项目"), field_name="project_id")
    deal = django_filters.NumberFilter(label=gettext_lazy("交易"), field_name="subject_id")
    kind = django_filters.ChoiceFilter(label=gettext_lazy("类型"), choices=ApprovalKind.choices)
    status = django_filters.ChoiceFilter(label=gettext_lazy("状态"), choices=ApprovalStatus.choices)

    class Meta:
        model = ApprovalRequest
        fields = ["project", "deal", "kind", "status"]


# --- deals ---------------------------------------------------------------------------------


def _approvals_prefetch():
    return Prefetch(
        "approvals",
        queryset=ApprovalRequest.objects.select_related("requested_by", "decided_by")
        .prefetch_related(Prefetch("steps", queryset=_steps()))
        .order_by("requested_at", "pk"),
    )


def _steps():
    return ApprovalStep.objects.select_related("actor")


class DealViewSet(
    contract_api.DealDocumentsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    RestrictedViewSet,
):
    """Deals 交易 the caller may see: a consultant their own, the office every deal of
    its projects. POST reserves a unit (保留单); the actions move the deal on."""

    queryset = Deal.objects.select_related("unit", "customer", "consultant")
    serializer_class = s.DealSerializer
    filterset_class = DealApiFilterSet

    def get_queryset(self):
        qs = super().get_queryset()
        return qs if self.action == "list" else _with_detail(qs)

    def get_serializer_class(self):
        return s.DealSerializer if self.action == "list" else s.DealDetailSerializer

    def _answer(self, deal, code=status.HTTP_200_OK):
        """The deal as it is now, read again through the caller's restricted queryset."""
        deal = self.get_queryset().get(pk=deal.pk)
        return Response(
            s.DealDetailSerializer(deal, context=self.get_serializer_context()).data, status=code
        )

    def _input(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _deal(self) -> Deal:
        """The deal named in the URL, if the caller may see it (404 otherwise)."""
        return get_object_or_404(super().get_queryset(), pk=self.kwargs["pk"])

    @extend_schema(request=s.ReserveSerializer, responses={201: s.DealDetailSerializer})
    def create(self, request, *args, **kwargs):
        """保留单: hold an available unit for one of the caller's customers for the
        project's reservation time (24 hours by default)."""
        data = self._input(s.ReserveSerializer)
        unit = Unit.objects.restrict(request.user, "view").filter(pk=data["unit"]).first()
        if unit is None:
            raise invalid("unit", _("房间不存在"))
        # An unknown id is the service's refusal of a customer not the caller's: the
        # answers are the same, so no consultant can tell which ids exist.
        customer = Customer.objects.filter(project_id=unit.project_id, pk=data["customer"]).first()
        deal = services.deal_reserve(
            actor=request.user, unit=unit, customer=customer, note=data["note"]
        )
        return self._answer(deal, status.HTTP_201_CREATED)

    @extend_schema(request=s.SubscribeSerializer, responses=s.DealDetailSerializer)
    @action(detail=True, methods=["post"])
    def subscribe(self, request, pk=None):
        """认购: within the caller's discount authority (and not below the floor price)
        the deal waits for finance to confirm the deposit (``pending``); beyond it, it
        waits for approval (``approval``) at the level above the caller."""
        deal = self._deal()
        data = self._input(s.SubscribeSerializer)
        buyers = self._buyers(deal, data["buyers"])
        types = DiscountType.objects.filter(
            project_id=deal.project_id, pk__in=[d["discount_type"] for d in data["discounts"]]
        ).in_bulk()
        discounts = []
        for row in data["discounts"]:
            discount_type = types.get(row["discount_type"])
            if discount_type is None:
                raise invalid("discounts", _("折扣类型不存在或不适用于本项目"))
            discounts.append((discount_type, row["value"]))
        deal = services.deal_subscribe(
            actor=request.user,
            deal=deal,
            buyers=buyers,
            payment_method=data["payment_method"],
            deposit=data["deposit"],
            down_payment=data["down_payment"],
            discounts=discounts,
            reason=data["reason"],
        )
        return self._answer(deal)

    @extend_schema(request=s.ReleaseSerializer, responses=s.DealDetailSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        """撤销: withdraw a reservation or a subscription whose deposit is not confirmed;
        the unit is available again."""
        deal = self._deal()
        reason = self._input(s.ReleaseSerializer)["reason"]
        return self._answer(services.deal_release(actor=request.user, deal=deal, reason=reason))

    @extend_schema(request=s.PaymentSerializer, responses=s.DealDetailSerializer)
    @action(detail=True, methods=["post"], url_path="confirm-deposit")
    def confirm_deposit(self, request, pk=None):
        """Finance confirms the deposit: the unit turns 认购 on the board, the deposit is
        the deal's first receipt and its payment schedule is generated."""
        deal = self._deal()
        payment = self._input(s.PaymentSerializer)
        return self._answer(services.deal_confirm_deposit(actor=request.user, deal=deal, **payment))

    @extend_schema(request=s.ClauseSerializer, responses={201: s.DealDetailSerializer})
    @action(detail=True, methods=["post"])
    def clauses(self, request, pk=None):
        """Add a special clause 特殊条款; it waits for the sales director's approval."""
        deal = self._deal()
        text = self._input(s.ClauseSerializer)["text"]
        services.clause_add(actor=request.user, deal=deal, text=text)
        return self._answer(deal, status.HTTP_201_CREATED)

    @extend_schema(request=s.ContractSerializer, responses=s.DealDetailSerializer)
    @action(detail=True, methods=["post"])
    def contract(self, request, pk=None):
        """签约: the subscription's terms carry over; every special clause approved."""
        deal = self._deal()
        data = self._input(s.ContractSerializer)
        return self._answer(services.deal_contract(actor=request.user, deal=deal, **data))

    @extend_schema(request=s.FilingSerializer, responses=s.DealDetailSerializer)
    @action(detail=True, methods=["post"])
    def filing(self, request, pk=None):
        """网签备案 status and number of a contracted deal."""
        deal = self._deal()
        data = self._input(s.FilingSerializer)
        return self._answer(services.contract_update_filing(actor=request.user, deal=deal, **data))

    @extend_schema(
        methods=["GET"],
        request=None,
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (200, "image/*"): OpenApiTypes.BINARY,
        },
        description="合同扫描件（仅对能查看该交易的用户；没有扫描件时 404）。",
    )
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": s.ScanUploadSerializer},
        responses=s.DealDetailSerializer,
        description="上传合同扫描件（PDF 或图片，按内容与大小检查），签约后才能上传。",
    )
    @action(
        detail=True,
        methods=["get", "post"],
        parser_classes=[MultiPartParser, FormParser, JSONParser],
    )
    def scan(self, request, pk=None):
        """The scanned contract: GET streams it to its consultant, the contract desk and the leads; POST (multipart
        ``contract_scan``) uploads it, checked by content and size, outside the web root."""
        deal = self._deal()
        if request.method == "GET":
            if not deal.contract_scan:
                raise DomainError(ErrorCode.NOT_FOUND, _("该交易还没有合同扫描件"))
            if not rules.can_see_scan(request.user, deal):
                raise DomainError(ErrorCode.PERMISSION_DENIED, _("您没有查看合同扫描件的权限"))
            return serve_document(deal.contract_scan, deal.contract_number or str(deal.pk))
        upload = request.FILES.get("contract_scan")
        if upload is None:
            raise invalid("contract_scan", _("请选择要上传的文件"))
        return self._answer(
            services.contract_upload_scan(actor=request.user, deal=deal, upload=upload)
        )

    # --- changes after subscription ------------------------------------------------------

    def _request_answer(self, req):
        """The request as it stands: approved at once (the caller's own level) or
        waiting at the next level."""
        req = ApprovalRequest.objects.prefetch_related(Prefetch("steps", queryset=_steps())).get(
            pk=req.pk
        )
        code = status.HTTP_200_OK if req.status == ApprovalStatus.APPROVED else 202
        return Response(
            s.ApprovalDetailSerializer(req, context=self.get_serializer_context()).data,
            status=code,
        )

    @extend_schema(
        request=s.ExchangeSerializer,
        responses={200: s.ApprovalDetailSerializer, 202: s.ApprovalDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def exchange(self, request, pk=None):
        """换房: the new unit is priced now with the same discounts and held while the
        request waits; 202 with the request waiting for the next level, 200 when the
        caller's own level approved it (the site manager or above)."""
        deal = self._deal()
        data = self._input(s.ExchangeSerializer)
        unit = Unit.objects.filter(project_id=deal.project_id, pk=data["unit"]).first()
        if unit is None:
            raise invalid("unit", _("房间不存在或不属于本项目"))
        return self._request_answer(
            changes.exchange_request(
                actor=request.user, deal=deal, unit=unit, reason=data["reason"]
            )
        )

    @extend_schema(
        request=s.RenameSerializer,
        responses={200: s.ApprovalDetailSerializer, 202: s.ApprovalDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def rename(self, request, pk=None):
        """更名 / co-buyers: the buyers after the change; never a consultant alone."""
        deal = self._deal()
        data = self._input(s.RenameSerializer)
        return self._request_answer(
            changes.rename_request(
                actor=request.user,
                deal=deal,
                buyers=self._buyers(deal, data["buyers"]),
                reason=data["reason"],
            )
        )

    @extend_schema(
        request=s.CancelSerializer,
        responses={200: s.ApprovalDetailSerializer, 202: s.ApprovalDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """退房: reason, deposit treatment (民法典 587) and the refund; applied when the
        site manager or above approves."""
        deal = self._deal()
        data = self._input(s.CancelSerializer)
        return self._request_answer(changes.cancel_request(actor=request.user, deal=deal, **data))

    @extend_schema(request=s.DisputeSerializer, responses=s.DealDetailSerializer)
    @action(detail=True, methods=["post"])
    def dispute(self, request, pk=None):
        """A cancelled deal's dispute: negotiating, 仲裁, 诉讼, closed."""
        deal = self._deal()
        data = self._input(s.DisputeSerializer)
        changes.cancellation_dispute(
            actor=request.user, deal=deal, dispute=data["dispute"], note=data["dispute_note"]
        )
        return self._answer(deal)

    @extend_schema(request=s.PaymentSerializer, responses=s.DealDetailSerializer)
    @action(detail=True, methods=["post"], url_path="refund-paid")
    def refund_paid(self, request, pk=None):
        """Finance pays a cancellation's refund out (a refund entry of the ledger)."""
        deal = self._deal()
        payment = self._input(s.PaymentSerializer)
        changes.cancellation_refund_paid(actor=request.user, deal=deal, **payment)
        return self._answer(deal)

    @extend_schema(
        parameters=[OpenApiParameter("project", int, required=True)],
        responses=s.DealDetailSerializer(many=True),
    )
    @action(detail=False, methods=["get"])
    def owners(self, request):
        """业主登记一览表: the subscribed and contracted deals with their buyers."""
        project = self._project_param()
        owners = reports.owners(
            self.filter_queryset(super().get_queryset().filter(project=project))
        )
        qs = _with_detail(owners.prefetch_related(None))
        page = self.paginate_queryset(qs)
        data = s.DealDetailSerializer(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)

    @extend_schema(
        parameters=[OpenApiParameter("project", int, required=True)],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"], url_path="owners/analysis")
    def owners_analysis(self, request):
        """The buyer analysis of the owners (seed 002 二.3(2)): counts by occupation,
        income, education, residence area, channel and motive."""
        project = self._project_param()
        qs = self.filter_queryset(super().get_queryset().filter(project=project))
        return Response({"project": project.pk, "dimensions": reports.buyer_analysis(qs, project)})

    def _project_param(self):
        return project_param(self.request)

    def _buyers(self, deal, rows):
        customers = Customer.objects.filter(
            project_id=deal.project_id,
            anonymized_at__isnull=True,
            pk__in=[b["customer"] for b in rows],
        ).in_bulk()
        buyers = []
        for row in rows:
            customer = customers.get(row["customer"])
            if customer is None:
                # As the service refuses a customer the caller may not name: an unknown
                # id and a colleague's customer read the same.
                raise invalid("buyers", services.BUYER_REFUSED)
            buyers.append((customer, row["share"]))
        return buyers


def _with_detail(qs):
    """What ``DealDetailSerializer`` reads, in a fixed number of queries for any count."""
    return qs.select_related("cancellation", "exchanged_to").prefetch_related(
        Prefetch("units", queryset=_deal_units()),
        Prefetch("buyers", queryset=_deal_buyers()),
        "discounts",
        "clauses",
        _approvals_prefetch(),
        Prefetch(
            "changes",
            queryset=DealChange.objects.select_related(
                "deal", "request__requested_by", "request__decided_by"
            ).order_by("at", "pk"),
        ),
    )


def _deal_units():
    return DealUnit.objects.select_related("unit").order_by("-is_main", "pk")


def _deal_buyers():
    return DealBuyer.objects.select_related("customer")


# --- approvals -----------------------------------------------------------------------------


class ApprovalViewSet(ReadOnlyRestrictedViewSet):
    """A deal's approval requests 审批申请 the caller may see (discount, special clause,
    exchange, rename, cancellation); ``?mine=pending&project=<id>`` is 待我审批 (the
    requests waiting at a level the caller holds). ``approve`` forwards a request one
    level up or, at its final level, applies the change; ``reject`` ends it (a reason is
    required). Price lists are decided through their own endpoints
    (``/api/v1/price-lists/<id>/approve/``), by the same engine."""

    queryset = (
        ApprovalRequest.objects.filter(kind__in=ApprovalKind.values)
        .select_related("requested_by", "decided_by")
        .prefetch_related(
            GenericPrefetch("subject", [Deal.objects.select_related("unit", "customer")])
        )
    )
    serializer_class = s.ApprovalSerializer
    filterset_class = ApprovalFilterSet

    def get_queryset(self):
        qs = super().get_queryset()
        if self.action == "list" and self.request.query_params.get("mine") == "pending":
            if not self.request.query_params.get("project"):
                raise invalid("project", _("待我审批须指定项目"))
            project = project_param(self.request)
            pending = approvals.pending_for(self.request.user, project)
            return qs.filter(pk__in=pending.values("pk")).order_by("requested_at", "pk")
        if self.action != "list":
            qs = qs.prefetch_related(Prefetch("steps", queryset=_steps()))
        return qs

    def get_serializer_class(self):
        return s.ApprovalSerializer if self.action == "list" else s.ApprovalDetailSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "mine",
                str,
                enum=["pending"],
                description="pending：待我审批（须同时指定 project）",
            )
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _decide(self, approve: bool):
        request = self.get_object()
        reason = s.DecisionSerializer(data=self.request.data)
        reason.is_valid(raise_exception=True)
        approvals.approval_decide(
            actor=self.request.user,
            request=request,
            approve=approve,
            reason=reason.validated_data["reason"],
        )
        request = self.get_queryset().get(pk=request.pk)
        return Response(
            s.ApprovalDetailSerializer(request, context=self.get_serializer_context()).data
        )

    @extend_schema(
        request=s.DecisionSerializer,
        responses={
            200: s.ApprovalDetailSerializer,
            403: OpenApiResponse(description="不在您的审批级别"),
        },
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(True)

    @extend_schema(request=s.DecisionSerializer, responses=s.ApprovalDetailSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(False)

    @extend_schema(request=None, responses=s.ApprovalDetailSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """The requester (or a lead) takes back a request still waiting; what it held
        (an exchange's new unit) is released."""
        req = approvals.approval_withdraw(actor=self.request.user, request=self.get_object())
        req = self.get_queryset().get(pk=req.pk)
        return Response(s.ApprovalDetailSerializer(req, context=self.get_serializer_context()).data)


# --- changes -------------------------------------------------------------------------------


class DealChangeFilterSet(django_filters.FilterSet):
    project = django_filters.NumberFilter(label=gettext_lazy("项目"), field_name="project_id")
    deal = django_filters.NumberFilter(label=gettext_lazy("交易"), field_name="deal_id")
    kind = django_filters.ChoiceFilter(
        label=gettext_lazy("类型"), choices=DealChange._meta.get_field("kind").choices
    )
    start = django_filters.DateFilter(
        label=gettext_lazy("自"), field_name="at", lookup_expr="date__gte"
    )
    end = django_filters.DateFilter(
        label=gettext_lazy("至"), field_name="at", lookup_expr="date__lte"
    )

    class Meta:
        model = DealChange
        fields = ["project", "deal", "kind", "start", "end"]


class DealChangeViewSet(ReadOnlyRestrictedViewSet):
    """客户换房、退房一览表: the changes applied to deals the caller may see (exchanges,
    renames, cancellations), newest first; ``cancel-summary`` is the 销售退房情况表."""

    queryset = DealChange.objects.select_related(
        "deal", "request__requested_by", "request__decided_by"
    )
    serializer_class = s.DealChangeSerializer
    filterset_class = DealChangeFilterSet

    def get_queryset(self):
        return super().get_queryset().order_by("-at", "-pk")

    @extend_schema(
        parameters=[s.PeriodSerializer],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"], url_path="cancel-summary")
    def cancel_summary(self, request):
        """Cancellations of a period by reason: count, share, contract value, deposits
        kept and refunds; disputes by status; exchanges in the period."""
        params = s.PeriodSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        project = get_object_or_404(
            Project.objects.restrict(request.user, "view"), pk=data["project"]
        )
        summary = reports.cancel_summary(
            request.user, project, start=data["start"], end=data["end"]
        )
        return Response({"project": project.pk, **summary})


# --- discount types ------------------------------------------------------------------------


class DiscountTypeViewSet(ReadOnlyRestrictedViewSet):
    """The discounts a project offers, in the order they apply (for building a
    subscription): visible to whoever may see or make deals in the project."""

    queryset = DiscountType.objects.all()
    serializer_class = s.DiscountTypeSerializer
    filterset_fields = ["project", "is_active"]

    def get_queryset(self):
        user = self.request.user
        projects = {
            *access.projects_with(user, "deal.view"),
            *access.projects_with(user, "deal.view_own"),
            *access.projects_with(user, "deal.add"),
        }
        qs = (
            DiscountType.objects.all()
            if user.is_superuser
            else DiscountType.objects.filter(project_id__in=projects)
        )
        return qs.order_by("project_id", "sort_order", "pk")


def register(router):
    """Register the deal viewsets on the API router."""
    router.register("deals", DealViewSet, basename="deal")
    router.register("approvals", ApprovalViewSet, basename="approval")
    router.register("deal-changes", DealChangeViewSet, basename="dealchange")
    router.register("discount-types", DiscountTypeViewSet, basename="discounttype")
    contract_api.register(router)
