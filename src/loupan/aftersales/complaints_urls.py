"""The complaints pages' URLs (included by aftersales/urls.py)."""

urlpatterns: list = []
