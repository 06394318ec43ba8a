"""The mortgages pages' URLs (included by payments/urls.py, app ``payments``)."""

from django.urls import path

from . import mortgages_views as v

P = "projects/<int:project_pk>/payments/mortgages/"

urlpatterns = [
    path(P, v.MortgageList.as_view(), name="mortgage_list"),
    path(P + "reconcile/", v.mortgage_reconcile, name="mortgage_reconcile"),
    path(P + "open/<int:deal_pk>/", v.mortgage_open, name="mortgage_open"),
    path(P + "<int:pk>/", v.mortgage_detail, name="mortgage_detail"),
    path(P + "<int:pk>/edit/", v.mortgage_update, name="mortgage_update"),
    path(P + "<int:pk>/document/", v.mortgage_document, name="mortgage_document"),
    path(P + "<int:pk>/move/", v.mortgage_move, name="mortgage_move"),
    path(P + "<int:pk>/disburse/", v.mortgage_disburse, name="mortgage_disburse"),
]
