from django.contrib.auth import authenticate
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from loupan.accounts import access, services
from loupan.accounts.models import Membership, Role, User
from loupan.core.errors import DomainError, ErrorCode
from loupan.core.scope import visible_projects
from loupan.core.viewsets import ReadOnlyRestrictedViewSet, RestrictedViewSet, ServiceModelViewSet

from ..filters import UserFilterSet
from .serializers import (
    LanguageSerializer,
    MembershipSerializer,
    MeSerializer,
    PasswordChangeSerializer,
    RoleSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    UserCreateSerializer,
    UserSerializer,
)


class TokenView(APIView):
    """Exchange username and password for an API token (lockout rules apply)."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenSerializer}, auth=[])
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if getattr(request._request, "axes_locked_out", False):
            raise DomainError(ErrorCode.LOCKED_OUT)
        if user is None:
            raise DomainError(
                ErrorCode.INVALID_CREDENTIALS, fields={"password": ["用户名或密码错误"]}
            )
        token = services.token_issue(user=user)
        return Response({"token": token.key})


class MeView(APIView):
    """The caller's own account and permission codes per project id."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class PasswordChangeView(APIView):
    """Change one's own password; every token and other session of the user ends."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=PasswordChangeSerializer, responses={204: OpenApiResponse(description="已修改")}
    )
    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_change_password(user=request.user, **serializer.validated_data)
        if hasattr(request, "session") and "_auth_user_id" in request.session:
            # A browser session that changed its own password stays logged in.
            from django.contrib.auth import update_session_auth_hash

            update_session_auth_hash(request._request, user)
        return Response(status=204)


class LanguageView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=LanguageSerializer, responses={204: OpenApiResponse(description="已修改")}
    )
    def post(self, request):
        serializer = LanguageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_set_language(
            user=request.user, language=serializer.validated_data["language"]
        )
        return Response(status=204)


class UserViewSet(ServiceModelViewSet):
    """Staff accounts. Listing needs ``user.view``; writes need ``user.manage``."""

    queryset = User.objects.prefetch_related("memberships__role", "memberships__project")
    serializer_class = UserSerializer
    filterset_class = UserFilterSet
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self):
        return super().get_queryset().order_by("username")

    def get_serializer_class(self):
        return UserCreateSerializer if self.action == "create" else UserSerializer

    def service_create(self, data):
        project = get_object_or_404(visible_projects(self.request.user), pk=data.pop("project"))
        role = data.pop("role_code")
        password = data.pop("password")
        return services.user_create(
            actor=self.request.user, data=data, project=project, role=role, password=password
        )

    def service_update(self, obj, data):
        return services.user_update(actor=self.request.user, user=obj, data=data)

    @extend_schema(request=None, responses=UserSerializer)
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        user = services.user_set_active(actor=request.user, user=self.get_object(), active=False)
        return Response(self.get_serializer(user).data)

    @extend_schema(request=None, responses=UserSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        user = services.user_set_active(actor=request.user, user=self.get_object(), active=True)
        return Response(self.get_serializer(user).data)

    @extend_schema(request=None, responses={200: TokenSerializer})
    @action(detail=True, methods=["post"], url_path="reset-password")
    def reset_password(self, request, pk=None):
        temporary = services.user_reset_password(actor=request.user, user=self.get_object())
        return Response({"temporary_password": temporary})


class MembershipViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    RestrictedViewSet,
):
    """Roles of users on projects (项目授权)."""

    queryset = Membership.objects.select_related("user", "project", "role")
    serializer_class = MembershipSerializer
    filterset_fields = ["user", "project", "role__code"]

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.membership_grant(
            actor=self.request.user, user=data["user"], project=data["project"], role=data["role"]
        )

    def perform_destroy(self, instance):
        services.membership_revoke(actor=self.request.user, membership=instance)


class RoleViewSet(ReadOnlyRestrictedViewSet):
    """The roles and their permission codes (read-only; system roles follow the code)."""

    queryset = Role.objects.all()
    serializer_class = RoleSerializer
    lookup_field = "code"
    pagination_class = None

    def get_queryset(self):

        if not access.has_perm(self.request.user, "role.view"):
            return Role.objects.none()
        return Role.objects.all()
