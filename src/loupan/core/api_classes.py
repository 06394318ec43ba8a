"""The DRF classes named in settings: the ``OPTIONS`` answer (``DEFAULT_METADATA_CLASS``)
and the filter backend (``DEFAULT_FILTER_BACKENDS``); a module of their own, as DRF
imports them while its own modules are still loading."""

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.metadata import SimpleMetadata

from .params import check_id_filters


class Metadata(SimpleMetadata):
    """``OPTIONS`` on any endpoint: DRF's description, and the input fields of POST and
    PUT only where the view has a serializer (an upload or an action-only viewset has
    none, and must not answer 500 for asking)."""

    def determine_actions(self, request, view):
        try:
            view.get_serializer_class()
        except (AssertionError, AttributeError):
            return {}
        return super().determine_actions(request, view)


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, with every id filter taking only ids
    (``core.params.check_id_filters``): ``?project=9.2e18`` was an OverflowError."""

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None:
            check_id_filters(filterset, request.query_params)
        return filterset
