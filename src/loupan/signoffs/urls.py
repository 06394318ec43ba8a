"""Sign-off pages (namespace ``signoffs``)."""

from django.urls import path

from . import views

app_name = "signoffs"

P = "projects/<int:project_pk>/"

urlpatterns = [
    path(P + "signoffs/", views.overview, name="overview"),
    path(P + "signoffs/sign/", views.sign, name="sign"),
    path(P + "signoffs/deadline/", views.deadline, name="deadline"),
]
