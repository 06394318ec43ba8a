"""The approval inbox 待我审批 and the decisions on a request (namespace ``approvals``)."""

from django.urls import path

from . import views

app_name = "approvals"

P = "projects/<int:project_pk>/"

urlpatterns = [
    path(P + "approvals/", views.inbox, name="inbox"),
    path(P + "approvals/count/", views.count, name="count"),
    path(P + "approval-requests/<int:pk>/decide/", views.decide, name="decide"),
    path(P + "approval-requests/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
]
