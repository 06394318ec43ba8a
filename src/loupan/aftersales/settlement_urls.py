"""The pages of area settlement 面积补差 and certificates 权证 (included by
aftersales/urls.py, namespace ``aftersales``)."""

from django.urls import path

from . import settlement_views as v

P = "projects/<int:project_pk>/aftersales/"
S = P + "settlements/"
M = P + "measured-areas/"
C = P + "certificates/"

urlpatterns = [
    # 实测面积 and its import
    path(M, v.measured_list, name="measured_list"),
    path(M + "import/", v.measured_import, name="measured_import"),
    path(M + "import/template/", v.measured_template, name="measured_template"),
    path(M + "import/<uuid:token>/", v.measured_import_preview, name="measured_import_preview"),
    path(
        M + "import/<uuid:token>/commit/", v.measured_import_commit, name="measured_import_commit"
    ),
    path(
        M + "import/<uuid:token>/cancel/", v.measured_import_cancel, name="measured_import_cancel"
    ),
    # 面积补差
    path(S, v.SettlementList.as_view(), name="settlement_list"),
    path(S + "building/", v.settlement_building, name="settlement_building"),
    path(S + "compute/<int:deal_pk>/", v.settlement_compute, name="settlement_compute"),
    path(S + "<int:pk>/", v.settlement_detail, name="settlement_detail"),
    path(S + "<int:pk>/notify/", v.settlement_notify, name="settlement_notify"),
    path(S + "<int:pk>/refund-paid/", v.settlement_refund, name="settlement_refund"),
    path(S + "<int:pk>/notice/", v.settlement_notice, name="settlement_notice"),
    # 权证
    path(C, v.CertificateList.as_view(), name="certificate_list"),
    path(C + "open/<int:deal_pk>/", v.certificate_open, name="certificate_open"),
    path(C + "<int:pk>/", v.certificate_detail, name="certificate_detail"),
    path(C + "<int:pk>/move/", v.certificate_move, name="certificate_move"),
    path(C + "<int:pk>/mortgage/", v.certificate_mortgage, name="certificate_mortgage"),
    path(C + "<int:pk>/document/", v.certificate_document, name="certificate_document"),
]
