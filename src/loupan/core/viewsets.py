"""The API's base viewset: every list and detail starts from the restricted queryset
(a forbidden object is a 404), and every write goes through a service."""

from django.db import transaction
from rest_framework import mixins, viewsets

from .api import project_filtered


class RestrictedViewSet(viewsets.GenericViewSet):
    """Subclasses set ``queryset`` (a model with a restricted manager)."""

    restrict_action = "view"
    # The lookup that the query's ``?project=`` narrows (``project_id``), validated as an
    # id (``core.api.project_filtered``); None: the viewset has no such filter.
    project_filter: str | None = None

    def get_queryset(self):
        qs = super().get_queryset().restrict(self.request.user, self.restrict_action)
        if self.project_filter:
            qs = project_filtered(qs, self.request, self.project_filter)
        return qs


class ReadOnlyRestrictedViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet
):
    pass


class ServiceModelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """create/update/destroy call ``perform_service_*``; serializers only validate shape."""

    def create(self, request, *args, **kwargs):
        from rest_framework import status
        from rest_framework.response import Response

        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            obj = self.service_create(serializer.validated_data)
        return Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        from rest_framework.response import Response

        partial = kwargs.pop("partial", False)
        obj = self.get_object()
        serializer = self.get_serializer(obj, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        obj = self.service_update(obj, serializer.validated_data)
        return Response(self.get_serializer(obj).data)

    def partial_update(self, request, *args, **kwargs):
        kwargs["partial"] = True
        return self.update(request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        from rest_framework import status
        from rest_framework.response import Response

        self.service_delete(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def service_create(self, data):
        raise NotImplementedError

    def service_update(self, obj, data):
        raise NotImplementedError

    def service_delete(self, obj):
        raise NotImplementedError
