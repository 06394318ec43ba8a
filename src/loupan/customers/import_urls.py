"""URLs of the customers app's import pages (included by customers/urls.py)."""

urlpatterns = []
