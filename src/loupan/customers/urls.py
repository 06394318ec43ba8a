from django.urls import include, path

from . import views

app_name = "customers"
urlpatterns = [
    path("projects/<int:project_pk>/customers/", views.customer_list, name="customer_list"),
    path(
        "projects/<int:project_pk>/customers/register/",
        views.customer_register,
        name="customer_register",
    ),
    path(
        "projects/<int:project_pk>/customers/<int:pk>/",
        views.customer_detail,
        name="customer_detail",
    ),
    path(
        "projects/<int:project_pk>/customers/<int:pk>/follow-up/",
        views.follow_up_add,
        name="follow_up_add",
    ),
    path(
        "projects/<int:project_pk>/customers/<int:pk>/reveal/",
        views.customer_reveal,
        name="customer_reveal",
    ),
    path(
        "projects/<int:project_pk>/customers/<int:pk>/grade/",
        views.customer_grade,
        name="customer_grade",
    ),
    path(
        "projects/<int:project_pk>/customers/<int:pk>/stage/",
        views.customer_stage,
        name="customer_stage",
    ),
    path(
        "projects/<int:project_pk>/customers/<int:pk>/claim/",
        views.claim_create,
        name="claim_create",
    ),
    path(
        "projects/<int:project_pk>/customers/<int:pk>/assign/",
        views.customer_assign,
        name="customer_assign",
    ),
    path(
        "projects/<int:project_pk>/customers/<int:pk>/household/",
        views.customer_household,
        name="customer_household",
    ),
    path(
        "projects/<int:project_pk>/customers/<int:pk>/anonymize/",
        views.customer_anonymize,
        name="customer_anonymize",
    ),
    path("projects/<int:project_pk>/claims/", views.claim_list, name="claim_list"),
    path(
        "projects/<int:project_pk>/claims/<int:pk>/decide/", views.claim_decide, name="claim_decide"
    ),
    path("projects/<int:project_pk>/pool/", views.pool_list, name="pool_list"),
    path("projects/<int:project_pk>/customers/<int:pk>/take/", views.pool_take, name="pool_take"),
    # the reception rotation, roster, call records and morning check
    path("", include("loupan.customers.reception_urls")),
    path("", include("loupan.customers.imports_urls")),
    path("", include("loupan.customers.handover_urls")),
    path("", include("loupan.customers.intentions_urls")),
]
