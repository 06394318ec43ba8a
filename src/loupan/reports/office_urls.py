"""The office's report data pages (included by reports/urls.py, app ``reports``, before
the catalogue's ``<report>/`` pattern)."""

from django.urls import path

from . import office_views as v

R = "projects/<int:project_pk>/reports/"

urlpatterns = [
    path(R + "office/targets/", v.target_list, name="target_list"),
    path(R + "office/spend/", v.spend_list, name="spend_list"),
    path(R + "office/settings/", v.report_settings, name="report_settings"),
]
