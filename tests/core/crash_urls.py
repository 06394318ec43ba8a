"""A URLconf with a page and an API path that fail (tests/core/test_debug_off.py): the
application's own handlers answer them."""

from django.urls import path


def boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("crash/", boom), path("api/v1/crash/", boom)]

handler403 = "loupan.core.views.permission_denied"
handler404 = "loupan.core.views.page_not_found"
handler500 = "loupan.core.views.server_error"
