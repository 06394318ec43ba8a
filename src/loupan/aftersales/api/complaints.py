"""The complaints API (registered by loupan/api_urls.py)."""

urlpatterns: list = []


def register(router) -> None:
    """Register this part's viewsets on the API router."""
