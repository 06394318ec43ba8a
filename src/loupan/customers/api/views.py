"""Customers API: registration answers 201, or 409 ``customer_exists`` with the owner's
name only; phone and ID numbers are masked unless the caller owns the customer; reveal
is its own audited endpoint."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from loupan.core.api import ID_PATTERN
from loupan.core.errors import invalid
from loupan.core.viewsets import RestrictedViewSet
from loupan.customers import services
from loupan.customers.api.serializers import (
    AssignSerializer,
    ClaimSerializer,
    CustomerSerializer,
    CustomerStageSerializer,
    FollowUpSerializer,
    HouseholdSerializer,
    ReasonSerializer,
    RegisterSerializer,
    RevealSerializer,
)
from loupan.customers.filters import CustomerApiFilterSet
from loupan.customers.models import Customer
from loupan.customers.reception import eligible_users
from loupan.inventory.models import Project


class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """Customers the caller may see (a consultant: their own and the pool)."""

    queryset = Customer.objects.filter(anonymized_at__isnull=True).select_related("owner")
    serializer_class = CustomerSerializer
    filterset_class = CustomerApiFilterSet

    def get_queryset(self):
        return super().get_queryset().order_by("-registered_at", "-pk")

    @extend_schema(request=RegisterSerializer, responses={201: CustomerSerializer})
    def create(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project = get_object_or_404(
            Project.objects.restrict(request.user, "view"), pk=data["project"]
        )
        customer = services.customer_register(
            actor=request.user,
            project=project,
            name=data["name"],
            phone=data["phone"],
            wanted_layout=data["wanted_layout"],
            wanted_layout_other=data["wanted_layout_other"],
            consent=data["consent"],
            id_number=data["id_number"],
            data=data["data"],
        )
        return Response(CustomerSerializer(customer, context={"request": request}).data, status=201)

    @extend_schema(request=None, responses={200: RevealSerializer})
    @action(detail=True, methods=["post"])
    def reveal(self, request, pk=None):
        """The full phone and ID number; recorded in the audit trail."""
        return Response(services.customer_reveal(actor=request.user, customer=self.get_object()))

    @extend_schema(request=AssignSerializer, responses={200: CustomerSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """Reassign to another consultant of the project (supervisors and managers, with a
        reason in the audit trail)."""
        customer = self.get_object()
        serializer = AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        to_user = eligible_users(customer.project).filter(pk=serializer.validated_data["to_user"])
        if not to_user:
            raise invalid("to_user", "不是本项目的置业顾问", "接收人不是本项目的置业顾问。")
        customer = services.customer_assign(
            actor=request.user,
            customer=customer,
            to_user=to_user[0],
            reason=serializer.validated_data["reason"],
        )
        return Response(self.get_serializer(customer).data)

    @extend_schema(request=HouseholdSerializer, responses={200: CustomerSerializer})
    @action(detail=True, methods=["post"])
    def household(self, request, pk=None):
        """Link family members (other customers of the project, by id) as one customer."""
        customer = self.get_object()
        serializer = HouseholdSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ids = set(serializer.validated_data["members"]) - {customer.pk}
        others = list(self.get_queryset().filter(project=customer.project, pk__in=ids))
        if len(others) != len(ids):
            raise invalid("members", "未找到客户", "家庭成员必须是本项目的客户。")
        services.household_link(actor=request.user, customers=[customer, *others])
        customer.refresh_from_db()
        return Response(self.get_serializer(customer).data)

    @extend_schema(request=ReasonSerializer, responses={204: None})
    @action(detail=True, methods=["post"])
    def anonymize(self, request, pk=None):
        """Erase the customer's personal data (PIPL); statistics keep counting them."""
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.customer_anonymize(
            actor=request.user,
            customer=self.get_object(),
            reason=serializer.validated_data["reason"],
        )
        return Response(status=204)

    @extend_schema(request=CustomerStageSerializer, responses={200: CustomerSerializer})
    @action(detail=True, methods=["post"])
    def stage(self, request, pk=None):
        """潜在 ↔ 意向 by hand, with a reason (成交 comes from a deal)."""
        serializer = CustomerStageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = services.customer_set_stage(
            actor=request.user, customer=self.get_object(), **serializer.validated_data
        )
        return Response(CustomerSerializer(customer, context={"request": request}).data)

    @extend_schema(request=FollowUpSerializer, responses={201: FollowUpSerializer})
    @action(detail=True, methods=["get", "post"], url_path="follow-ups")
    def follow_ups(self, request, pk=None):
        customer = self.get_object()
        if request.method == "GET":
            return Response(FollowUpSerializer(customer.follow_ups.all()[:200], many=True).data)
        serializer = FollowUpSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        follow_up = services.follow_up_add(
            actor=request.user, customer=customer, **serializer.validated_data
        )
        return Response(FollowUpSerializer(follow_up).data, status=201)

    @extend_schema(request=None, responses={201: ClaimSerializer})
    @action(detail=False, methods=["post"], url_path=rf"(?P<customer_id>{ID_PATTERN})/claim")
    def claim(self, request, customer_id=None):
        """File a 撞单 claim on a customer that another consultant registered."""
        customer = get_object_or_404(
            Customer.objects.filter(project__in=Project.objects.restrict(request.user, "view")),
            pk=customer_id,
        )
        claim = services.claim_create(
            actor=request.user, customer=customer, reason=request.data.get("reason", "")
        )
        return Response(ClaimSerializer(claim).data, status=201)


def register(router):
    router.register("customers", CustomerViewSet, basename="customer")
