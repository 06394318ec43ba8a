"""The working-day calendar's URLs (included by aftersales/urls.py)."""

from django.urls import path

from . import calendar_views as v

urlpatterns = [
    path("calendar/", v.calendar_page, name="calendar"),
    path("calendar/<str:action>/", v.calendar_action, name="calendar_action"),
]
