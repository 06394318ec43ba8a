from django.urls import include, path

from . import unit_views, views

app_name = "inventory"
urlpatterns = [
    path("projects/", views.project_list, name="project_list"),
    path("projects/new/", views.project_create, name="project_create"),
    path("projects/switch/", views.switch_project, name="switch_project"),
    path("projects/<int:project_pk>/", views.project_detail, name="project_detail"),
    path("projects/<int:project_pk>/edit/", views.project_edit, name="project_edit"),
    path("projects/<int:project_pk>/delete/", views.project_delete, name="project_delete"),
    path("projects/<int:project_pk>/history/", views.project_history, name="project_history"),
    path("projects/<int:project_pk>/permits/new/", views.permit_form, name="permit_create"),
    path(
        "projects/<int:project_pk>/permits/<int:permit_pk>/edit/",
        views.permit_form,
        name="permit_edit",
    ),
    path(
        "projects/<int:project_pk>/permits/<int:permit_pk>/delete/",
        views.permit_delete,
        name="permit_delete",
    ),
    # inventory and the sales-control board
    path("projects/<int:project_pk>/board/", unit_views.board, name="board"),
    path(
        "projects/<int:project_pk>/board/changes/", unit_views.board_changes, name="board_changes"
    ),
    path("projects/<int:project_pk>/units/", unit_views.unit_list, name="unit_list"),
    path("projects/<int:project_pk>/units/bulk/", unit_views.unit_bulk, name="unit_bulk"),
    path("projects/<int:project_pk>/units/<int:pk>/", unit_views.unit_detail, name="unit_detail"),
    path("projects/<int:project_pk>/units/<int:pk>/card/", unit_views.unit_card, name="unit_card"),
    path("projects/<int:project_pk>/units/<int:pk>/edit/", unit_views.unit_edit, name="unit_edit"),
    path(
        "projects/<int:project_pk>/units/<int:pk>/history/",
        unit_views.unit_history,
        name="unit_history",
    ),
    path(
        "projects/<int:project_pk>/units/<int:pk>/<str:action>/",
        unit_views.unit_action,
        name="unit_action",
    ),
    path("projects/<int:project_pk>/buildings/", unit_views.building_list, name="building_list"),
    path(
        "projects/<int:project_pk>/buildings/new/", unit_views.building_form, name="building_create"
    ),
    path(
        "projects/<int:project_pk>/buildings/<int:pk>/edit/",
        unit_views.building_form,
        name="building_edit",
    ),
    path(
        "projects/<int:project_pk>/buildings/<int:pk>/generate/",
        unit_views.building_generate,
        name="building_generate",
    ),
    path("projects/<int:project_pk>/layouts/new/", unit_views.layout_form, name="layout_create"),
    path(
        "projects/<int:project_pk>/layouts/<int:pk>/edit/",
        unit_views.layout_form,
        name="layout_edit",
    ),
    path(
        "projects/<int:project_pk>/layouts/<int:pk>/plan/",
        unit_views.layout_plan,
        name="layout_plan",
    ),
    path("projects/<int:project_pk>/phases/new/", unit_views.phase_form, name="phase_create"),
    path(
        "projects/<int:project_pk>/release-plans/",
        unit_views.release_plan_list,
        name="release_plans",
    ),
    # price lists and the unit import/export live in their own modules
    path("", include("loupan.inventory.pricelists_urls")),
    path("", include("loupan.inventory.imports_urls")),
]
