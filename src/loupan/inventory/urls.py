from django.urls import include, path

from . import views

app_name = "inventory"
urlpatterns = [
    path("projects/", views.project_list, name="project_list"),
    path("projects/new/", views.project_create, name="project_create"),
    path("projects/switch/", views.switch_project, name="switch_project"),
    path("projects/<int:pk>/", views.project_detail, name="project_detail"),
    path("projects/<int:pk>/edit/", views.project_edit, name="project_edit"),
    path("projects/<int:pk>/delete/", views.project_delete, name="project_delete"),
    path("projects/<int:pk>/history/", views.project_history, name="project_history"),
    path("projects/<int:pk>/permits/new/", views.permit_form, name="permit_create"),
    path("projects/<int:pk>/permits/<int:permit_pk>/edit/", views.permit_form, name="permit_edit"),
    path(
        "projects/<int:pk>/permits/<int:permit_pk>/delete/",
        views.permit_delete,
        name="permit_delete",
    ),
]
