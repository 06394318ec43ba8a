"""The plans pages' URLs (included by payments/urls.py)."""

urlpatterns: list = []
