"""The reports' pages (app ``reports``)."""

from django.urls import path

from . import office_urls, views

app_name = "reports"

R = "projects/<int:project_pk>/reports/"

urlpatterns = [
    path(R, views.report_index, name="index"),
    path(R + "daily/confirm/", views.daily_confirm, name="daily_confirm"),
    *office_urls.urlpatterns,
    path(R + "<slug:report>/", views.report_page, name="report"),
    path("reports/company/", views.company, name="company"),
]
