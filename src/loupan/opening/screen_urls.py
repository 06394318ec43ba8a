"""The big screen and the live feed (included by ``opening/urls.py``, namespace
``opening``)."""

from django.urls import path

from . import screen

E = "projects/<int:project_pk>/opening/<int:pk>/"

urlpatterns = [
    path(E + "screen/", screen.screen, name="screen"),
    path(E + "live/", screen.live_json, name="live"),
    path(E + "stream/", screen.stream, name="stream"),
    # a buyer's phone, signed in with the entry number and code (no account)
    path("opening/<int:pk>/live/", screen.buyer_live, name="buyer_live"),
]
