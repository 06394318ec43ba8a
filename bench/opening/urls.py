"""Loupan's URLs plus ``/bench/bare/``: the smallest JSON view, served through the same
middleware, workers and settings as every other view (the bench's ceiling). Only
``bench.opening.settings`` names this module."""

from django.http import JsonResponse
from django.urls import path

from loupan.urls import urlpatterns as loupan_urlpatterns


def bare(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare/", bare), *loupan_urlpatterns]
