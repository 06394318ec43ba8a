"""Intended units 意向房源, the 撞车 list and problem customers 问题客户 (included in the
``customers`` namespace by ``customers/urls.py``)."""

from django.urls import path

from . import intentions_views as views

P = "projects/<int:project_pk>/"
C = f"{P}customers/<int:pk>/"

urlpatterns = [
    path(f"{C}intended-units/", views.intended_unit_add, name="intended_unit_add"),
    path(
        f"{C}intended-units/<int:unit_pk>/remove/",
        views.intended_unit_remove,
        name="intended_unit_remove",
    ),
    path(f"{P}conflicts/", views.conflict_list, name="conflict_list"),
    path(f"{C}problem/", views.problem_flag, name="problem_flag"),
    path(f"{C}problem/resolve/", views.problem_resolve, name="problem_resolve"),
    path(f"{P}problem-customers/", views.problem_list, name="problem_list"),
]
