"""The reports API's URLs (included by api_urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("reports/", views.ReportCatalogueView.as_view(), name="report-list"),
    path("reports/company/", views.CompanyView.as_view(), name="report-company"),
    path("reports/daily/confirm/", views.DailyConfirmView.as_view(), name="report-daily-confirm"),
    path("reports/<slug:report>/", views.ReportView.as_view(), name="report-detail"),
    path("reports/<slug:report>/export/", views.ReportExportView.as_view(), name="report-export"),
]
