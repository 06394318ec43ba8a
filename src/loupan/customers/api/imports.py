"""API of the customers app's import part."""


def register(router):
    """Register this part's viewsets on the API router."""
