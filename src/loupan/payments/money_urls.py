"""The money pages' URLs: ``/projects/<id>/payments/…`` (included by payments/urls.py)."""

from django.urls import path

from . import money_views as v

P = "projects/<int:project_pk>/payments/"
urlpatterns = [
    path(P, v.DetailList.as_view(), name="detail_list"),
    path(P + "deals/<int:pk>/", v.deal_money, name="deal_money"),
    path(P + "deals/<int:pk>/record/", v.deal_record, name="deal_record"),
    path(P + "deals/<int:pk>/collect/", v.deal_collect, name="deal_collect"),
    path(P + "deals/<int:pk>/defer/", v.deal_defer, name="deal_defer"),
    path(P + "deals/<int:pk>/schedule/", v.deal_schedule, name="deal_schedule"),
    path(P + "receipts/", v.ReceiptList.as_view(), name="receipt_list"),
    path(P + "receipts/<int:pk>/", v.receipt_detail, name="receipt_detail"),
    path(P + "receipts/<int:pk>/print/", v.receipt_print, name="receipt_print"),
    path(P + "receipts/<int:pk>/reverse/", v.receipt_reverse, name="receipt_reverse"),
    path(P + "receipts/<int:pk>/invoice/", v.receipt_invoice, name="receipt_invoice"),
    path(P + "ledger/", v.LedgerList.as_view(), name="ledger"),
    path(P + "collection/", v.collection_list, name="collection"),
    path(P + "deferrals/", v.deferral_list, name="deferral_list"),
    path(P + "days/", v.day_list, name="day_list"),
    path(P + "days/<str:day>/", v.day_detail, name="day_detail"),
    path(P + "days/<str:day>/<str:action>/", v.day_action, name="day_action"),
    path(P + "books/", v.book_list, name="book_list"),
    path(P + "books/issue/", v.book_issue, name="book_issue"),
    path(P + "books/<int:pk>/spoil/", v.book_spoil, name="book_spoil"),
]
