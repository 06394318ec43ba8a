"""Deal pages (namespace ``deals``)."""

from django.urls import path

from . import report_views, views

app_name = "deals"

P = "projects/<int:project_pk>/"
D = P + "deals/<int:pk>/"

urlpatterns = [
    path(P + "deals/", views.deal_list, name="deal_list"),
    path(P + "deals/unsigned/", views.deal_unsigned, name="deal_unsigned"),
    path(P + "deals/contracts/", views.deal_ledger, name="deal_ledger"),
    path(P + "deals/special-discounts/", views.deal_special, name="deal_special"),
    path(P + "deals/reserve/", views.deal_reserve, name="deal_reserve"),
    path(P + "deals/owners/", report_views.deal_owners, name="deal_owners"),
    path(P + "deals/changes/", report_views.deal_changes, name="deal_changes"),
    path(D, views.deal_detail, name="deal_detail"),
    path(D + "subscribe/", views.deal_subscribe, name="deal_subscribe"),
    path(D + "quote/", views.deal_quote, name="deal_quote"),
    path(D + "release/", views.deal_release, name="deal_release"),
    path(D + "confirm-deposit/", views.deal_confirm, name="deal_confirm"),
    path(D + "clauses/", views.deal_clause, name="deal_clause"),
    path(D + "contract/", views.deal_contract, name="deal_contract"),
    path(D + "filing/", views.deal_filing, name="deal_filing"),
    path(D + "scan/", views.deal_scan, name="deal_scan"),
    path(D + "scan/upload/", views.deal_scan_upload, name="deal_scan_upload"),
    path(D + "exchange/", views.deal_exchange, name="deal_exchange"),
    path(D + "rename/", views.deal_rename, name="deal_rename"),
    path(D + "cancel/", views.deal_cancel, name="deal_cancel"),
    path(D + "dispute/", views.deal_dispute, name="deal_dispute"),
    path(D + "refund-paid/", views.deal_refund_paid, name="deal_refund_paid"),
    path(D + "slip/", views.deal_slip, name="deal_slip"),
    path(D + "agreement/", views.deal_agreement, name="deal_agreement"),
    # 交易设置
    path(P + "deal-settings/", views.deal_settings, name="deal_settings"),
    path(
        P + "deal-settings/authority/",
        views.deal_settings_authority,
        name="deal_settings_authority",
    ),
    path(
        P + "deal-settings/discount-types/add/",
        views.discount_type_form,
        name="discount_type_add",
    ),
    path(
        P + "deal-settings/discount-types/<int:pk>/",
        views.discount_type_form,
        name="discount_type_edit",
    ),
    path(
        P + "deal-settings/discount-types/<int:pk>/active/",
        views.discount_type_active,
        name="discount_type_active",
    ),
]
