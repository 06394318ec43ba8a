"""Price-list API."""


def register(router):
    """Register the price-list viewsets on the API router."""
