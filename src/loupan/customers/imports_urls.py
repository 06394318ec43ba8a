"""URLs of the customers import and the 意向客户登记表 (included by customers/urls.py)."""

from django.urls import path

from . import imports_views as views

urlpatterns = [
    path(
        "projects/<int:project_pk>/customers/import/",
        views.customers_import,
        name="customers_import",
    ),
    path(
        "projects/<int:project_pk>/customers/import/template/",
        views.customers_template,
        name="customers_template",
    ),
    path(
        "projects/<int:project_pk>/customers/import/<uuid:token>/",
        views.customers_import_preview,
        name="customers_import_preview",
    ),
    path(
        "projects/<int:project_pk>/customers/import/<uuid:token>/commit/",
        views.customers_import_commit,
        name="customers_import_commit",
    ),
    path(
        "projects/<int:project_pk>/customers/import/<uuid:token>/cancel/",
        views.customers_import_cancel,
        name="customers_import_cancel",
    ),
    path(
        "projects/<int:project_pk>/customers/intent-register/",
        views.intent_register,
        name="intent_register",
    ),
    path(
        "projects/<int:project_pk>/customers/intent-register/export/",
        views.intent_register_export,
        name="intent_register_export",
    ),
    path(
        "projects/<int:project_pk>/customers/exports/",
        views.export_list,
        name="export_list",
    ),
    path(
        "projects/<int:project_pk>/customers/exports/request/",
        views.export_request,
        name="export_request",
    ),
    path(
        "projects/<int:project_pk>/customers/exports/policy/",
        views.export_policy,
        name="export_policy",
    ),
    path(
        "projects/<int:project_pk>/customers/exports/<int:pk>/download/",
        views.export_download,
        name="export_download",
    ),
]
