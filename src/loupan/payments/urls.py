from django.urls import include, path

from . import views

app_name = "payments"
urlpatterns = [
    path("calculator/", views.mortgage_calculator, name="calculator"),
    path("", include("loupan.payments.money_urls")),
    path("", include("loupan.payments.mortgages_urls")),
    path("", include("loupan.payments.commissions_urls")),
    path("", include("loupan.payments.plans_urls")),
]
