"""Reception rotation, roster, call records and the morning check (included in the
``customers`` namespace by ``customers/urls.py``)."""

from django.urls import path

from . import reception_views as views

P = "projects/<int:project_pk>/"

urlpatterns = [
    path(f"{P}reception/", views.reception_desk, name="reception_desk"),
    path(f"{P}reception/take/", views.reception_take, name="reception_take"),
    path(f"{P}roster/", views.roster, name="roster_day"),
    path(f"{P}roster/<int:pk>/away/", views.roster_away, name="roster_away"),
    path(f"{P}calls/", views.call_list, name="call_list"),
    path(f"{P}calls/new/", views.call_create, name="call_create"),
    path(f"{P}calls/<int:pk>/", views.call_edit, name="call_edit"),
    path(f"{P}calls/<int:pk>/confirm/", views.call_confirm, name="call_confirm"),
    path(f"{P}calls/<int:pk>/link/", views.call_link, name="call_link"),
    path(f"{P}morning-check/", views.morning_check, name="morning_check"),
]
