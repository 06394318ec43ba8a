"""API of the customers app's handover part."""


def register(router):
    """Register this part's viewsets on the API router."""
