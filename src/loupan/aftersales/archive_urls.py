"""The after-sales home and the owner archive (included by aftersales/urls.py)."""

from django.urls import path

from . import archive_views as v

P = "projects/<int:project_pk>/aftersales/"
urlpatterns = [
    path(P, v.owner_list, name="owner_list"),
    path(P + "owners/<int:pk>/", v.owner_detail, name="owner_detail"),
]
