"""Deal pages (namespace ``deals``)."""

from django.urls import path

from .views import contracts, deal, lists, printables, review, settings

app_name = "deals"

P = "projects/<int:project_pk>/"
D = P + "deals/<int:pk>/"

urlpatterns = [
    path(P + "deals/", lists.DealList.as_view(), name="deal_list"),
    path(P + "deals/unsigned/", lists.UnsignedList.as_view(), name="deal_unsigned"),
    path(P + "deals/contracts/", lists.ContractLedger.as_view(), name="deal_ledger"),
    path(P + "deals/special-discounts/", lists.SpecialDiscounts.as_view(), name="deal_special"),
    path(P + "deals/owners/", lists.OwnerList.as_view(), name="deal_owners"),
    path(P + "deals/changes/", lists.deal_changes, name="deal_changes"),
    path(P + "deals/review/", review.deal_review, name="deal_review"),
    path(P + "deals/reserve/", deal.deal_reserve, name="deal_reserve"),
    path(D, deal.deal_detail, name="deal_detail"),
    path(D + "subscribe/", deal.deal_subscribe, name="deal_subscribe"),
    path(D + "quote/", deal.deal_quote, name="deal_quote"),
    path(D + "release/", deal.deal_release, name="deal_release"),
    path(D + "confirm-deposit/", deal.deal_confirm, name="deal_confirm"),
    path(D + "clauses/", deal.deal_clause, name="deal_clause"),
    path(D + "contract/", deal.deal_contract, name="deal_contract"),
    path(D + "filing/", deal.deal_filing, name="deal_filing"),
    path(D + "scan/", deal.deal_scan, name="deal_scan"),
    path(D + "scan/upload/", deal.deal_scan_upload, name="deal_scan_upload"),
    path(D + "exchange/", deal.deal_exchange, name="deal_exchange"),
    path(D + "rename/", deal.deal_rename, name="deal_rename"),
    path(D + "cancel/", deal.deal_cancel, name="deal_cancel"),
    path(D + "dispute/", deal.deal_dispute, name="deal_dispute"),
    path(D + "refund-paid/", deal.deal_refund_paid, name="deal_refund_paid"),
    path(D + "contract-docx/", contracts.deal_contract_print, name="deal_contract_print"),
    path(D + "review/", contracts.deal_review, name="deal_review"),
    path(D + "supplements/", contracts.deal_supplement_add, name="deal_supplement_add"),
    path(P + "supplements/<int:pk>/", contracts.supplement_file, name="supplement_file"),
    path(P + "contract-templates/", contracts.contract_templates, name="contract_templates"),
    path(
        P + "contract-templates/<int:pk>/",
        contracts.contract_template_file,
        name="contract_template_file",
    ),
    path(
        P + "contract-templates/<int:pk>/activate/",
        contracts.contract_template_activate,
        name="contract_template_activate",
    ),
    path(D + "slip/", printables.deal_slip, name="deal_slip"),
    path(D + "agreement/", printables.deal_agreement, name="deal_agreement"),
    # 交易设置
    path(P + "deal-settings/", settings.deal_settings, name="deal_settings"),
    path(
        P + "deal-settings/authority/",
        settings.deal_settings_authority,
        name="deal_settings_authority",
    ),
    path(
        P + "deal-settings/discount-types/add/",
        settings.discount_type_form,
        name="discount_type_add",
    ),
    path(
        P + "deal-settings/discount-types/<int:pk>/",
        settings.discount_type_form,
        name="discount_type_edit",
    ),
    path(
        P + "deal-settings/discount-types/<int:pk>/active/",
        settings.discount_type_active,
        name="discount_type_active",
    ),
]
