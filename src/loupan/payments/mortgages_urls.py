"""The mortgages pages' URLs (included by payments/urls.py)."""

urlpatterns: list = []
