"""URLs of the customers app's handover pages (included by customers/urls.py)."""

urlpatterns = []
