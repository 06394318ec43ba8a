"""Unit import and export pages (included in the inventory namespace)."""

from django.urls import path

from . import imports_views as views

urlpatterns = [
    path("projects/<int:project_pk>/units/import/", views.units_import, name="units_import"),
    path(
        "projects/<int:project_pk>/units/import/template/",
        views.units_template,
        name="units_template",
    ),
    path(
        "projects/<int:project_pk>/units/import/export/",
        views.units_export,
        name="units_export",
    ),
    path(
        "projects/<int:project_pk>/units/import/<uuid:token>/",
        views.units_import_preview,
        name="units_import_preview",
    ),
    path(
        "projects/<int:project_pk>/units/import/<uuid:token>/commit/",
        views.units_import_commit,
        name="units_import_commit",
    ),
    path(
        "projects/<int:project_pk>/units/import/<uuid:token>/cancel/",
        views.units_import_cancel,
        name="units_import_cancel",
    ),
]
