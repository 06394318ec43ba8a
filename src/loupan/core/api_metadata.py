"""The API's ``OPTIONS`` answer (``DEFAULT_METADATA_CLASS``); a module of its own, as DRF
imports it while ``rest_framework.views`` is still loading."""

from rest_framework.metadata import SimpleMetadata


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
