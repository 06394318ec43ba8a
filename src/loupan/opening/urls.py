"""Opening day's pages (app ``opening``)."""

from django.urls import path

from . import views

app_name = "opening"

E = "projects/<int:project_pk>/opening/"

urlpatterns = [
    path(E, views.event_list, name="event_list"),
    path(E + "<int:pk>/", views.event_detail, name="event_detail"),
    path(E + "<int:pk>/package/", views.event_package, name="event_package"),
    path("lottery/verify/", views.verify, name="verify"),
]
