from django.urls import path

from . import views

app_name = "payments"
urlpatterns = [
    path("calculator/", views.mortgage_calculator, name="calculator"),
]
