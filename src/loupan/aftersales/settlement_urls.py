"""The settlement pages' URLs (included by aftersales/urls.py)."""

urlpatterns: list = []
