from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from loupan.core.viewsets import ServiceModelViewSet
from loupan.inventory import services
from loupan.inventory.models import Company, PresalePermit, Project

from .serializers import CompanySerializer, PresalePermitSerializer, ProjectSerializer


class CompanyViewSet(ServiceModelViewSet):
    """Developer companies (开发商)."""

    queryset = Company.objects.all()
    serializer_class = CompanySerializer
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self):
        return super().get_queryset().distinct()

    def service_create(self, data):
        return services.company_create(actor=self.request.user, data=data)

    def service_update(self, obj, data):
        return services.company_update(actor=self.request.user, company=obj, data=data)


class ProjectViewSet(ServiceModelViewSet):
    """Projects (项目) the caller belongs to; a project the caller is not a member of is 404."""

    queryset = Project.objects.select_related("company").prefetch_related("permits")
    serializer_class = ProjectSerializer
    filterset_fields = ["city", "status", "is_active", "company"]

    def service_create(self, data):
        return services.project_create(actor=self.request.user, data=data)

    def service_update(self, obj, data):
        return services.project_update(actor=self.request.user, project=obj, data=data)

    def service_delete(self, obj):
        services.project_delete(actor=self.request.user, project=obj)

    @extend_schema(request=PresalePermitSerializer, responses=PresalePermitSerializer)
    @action(detail=True, methods=["post"], url_path="permits")
    def add_permit(self, request, pk=None):
        project = self.get_object()
        serializer = PresalePermitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        permit = services.permit_create(
            actor=request.user, project=project, data=serializer.validated_data
        )
        return Response(PresalePermitSerializer(permit).data, status=201)


class PresalePermitViewSet(ServiceModelViewSet):
    """Presale permits (预售许可证); create them with POST /projects/{id}/permits/."""

    queryset = PresalePermit.objects.all()
    serializer_class = PresalePermitSerializer
    filterset_fields = ["project"]
    http_method_names = ["get", "put", "patch", "delete", "head", "options"]

    def service_update(self, obj, data):
        return services.permit_update(actor=self.request.user, permit=obj, data=data)

    def service_delete(self, obj):
        services.permit_delete(actor=self.request.user, permit=obj)


__all__ = ["CompanyViewSet", "PresalePermitViewSet", "ProjectViewSet", "get_object_or_404"]
