"""Unit import and export pages (included in the inventory namespace)."""

urlpatterns = []
