"""URLs of the customers app's intention pages (included by customers/urls.py)."""

urlpatterns = []
