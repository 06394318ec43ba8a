"""The plans pages' URLs (included by payments/urls.py): the payment settings 收款设置
with the fee tables 税费标准, and the purchase plan 置业计划 with its printable sheet."""

from django.urls import path

from . import plans_views as views

urlpatterns = [
    path(
        "projects/<int:project_pk>/payments/settings/",
        views.payment_settings,
        name="payment_settings",
    ),
    path(
        "projects/<int:project_pk>/payments/settings/fee-rates/",
        views.fee_rate_add,
        name="fee_rate_add",
    ),
    path(
        "projects/<int:project_pk>/payments/settings/fee-rates/<int:pk>/delete/",
        views.fee_rate_delete,
        name="fee_rate_delete",
    ),
    path(
        "projects/<int:project_pk>/payments/plan/",
        views.purchase_plan,
        name="purchase_plan",
    ),
    path(
        "projects/<int:project_pk>/payments/plan/print/",
        views.purchase_plan_print,
        name="purchase_plan_print",
    ),
]
