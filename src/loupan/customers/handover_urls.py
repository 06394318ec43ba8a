"""URLs of the customers app's handover pages (included by customers/urls.py)."""

from django.urls import path

from . import handover_views as views

P = "projects/<int:project_pk>/handover/"

urlpatterns = [
    path(P, views.handover_list, name="handover_list"),
    path(f"{P}new/", views.handover_new, name="handover_new"),
    path(f"{P}<int:pk>/", views.handover_detail, name="handover_detail"),
]
