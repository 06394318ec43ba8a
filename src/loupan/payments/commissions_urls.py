"""The commissions pages' URLs (included by payments/urls.py under ``payments:``)."""

from django.urls import path

from . import commissions_views as v

P = "projects/<int:project_pk>/payments/commissions/"

urlpatterns: list = [
    path(P, v.commission_list, name="commission_list"),
    path(f"{P}build/", v.commission_build, name="commission_build"),
    path(f"{P}settings/", v.commission_settings, name="commission_settings"),
    path(f"{P}assist/", v.commission_assist, name="commission_assist"),
    path(f"{P}<int:pk>/", v.commission_statement, name="commission_statement"),
    path(f"{P}<int:pk>/confirm/", v.commission_confirm, name="commission_confirm"),
    path(f"{P}<int:pk>/print/", v.commission_print, name="commission_print"),
]
