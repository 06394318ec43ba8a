"""Price-list pages (included in the inventory namespace: ``inventory:pricelist_…``)."""

from django.urls import path

from . import pricelists_views as views

urlpatterns = [
    path("projects/<int:project_pk>/pricelists/", views.pricelist_list, name="pricelist_list"),
    path(
        "projects/<int:project_pk>/pricelists/new/", views.pricelist_create, name="pricelist_create"
    ),
    path(
        "projects/<int:project_pk>/pricelists/adjust/",
        views.pricelist_adjust,
        name="pricelist_adjust",
    ),
    path(
        "projects/<int:project_pk>/pricelists/<int:pk>/",
        views.pricelist_detail,
        name="pricelist_detail",
    ),
    path(
        "projects/<int:project_pk>/pricelists/<int:pk>/override/",
        views.pricelist_override,
        name="pricelist_override",
    ),
    path(
        "projects/<int:project_pk>/pricelists/<int:pk>/scale/",
        views.pricelist_scale,
        name="pricelist_scale",
    ),
    path(
        "projects/<int:project_pk>/pricelists/<int:pk>/<str:action>/",
        views.pricelist_action,
        name="pricelist_action",
    ),
]
