"""API of the customers app's intention part."""


def register(router):
    """Register this part's viewsets on the API router."""
