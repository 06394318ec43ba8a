"""Price-list pages (included in the inventory namespace)."""

urlpatterns = []
