"""Opening day's pages (app ``opening``)."""

from django.urls import path

from . import buyer, favourites_views, kiosk, manage_views, results_views, screen_urls, views

app_name = "opening"

E = "projects/<int:project_pk>/opening/"

urlpatterns = [
    path(E, views.event_list, name="event_list"),
    path(E + "new/", manage_views.event_create, name="event_create"),
    path(E + "<int:pk>/", views.event_detail, name="event_detail"),
    path(E + "<int:pk>/draw/", manage_views.event_draw, name="event_draw"),
    path(E + "<int:pk>/batches/", manage_views.event_batches, name="event_batches"),
    path(E + "<int:pk>/entries/", manage_views.entry_register, name="entry_register"),
    path(
        E + "<int:pk>/entries/<int:entry>/favourites/",
        favourites_views.entry_favourites,
        name="entry_favourites",
    ),
    path(
        E + "<int:pk>/entries/<int:entry>/<slug:step>/",
        manage_views.entry_action,
        name="entry_action",
    ),
    path(E + "<int:pk>/package/", views.event_package, name="event_package"),
    path(E + "<int:pk>/results/", results_views.event_results, name="event_results"),
    path(E + "<int:pk>/unpicked/", results_views.event_unpicked, name="event_unpicked"),
    path(E + "<int:pk>/report/", results_views.event_report, name="event_report"),
    path("lottery/verify/", views.verify, name="verify"),
    # the buyer's phone (no account: entry number and selection code)
    path("opening/<int:pk>/", buyer.buyer_home, name="buyer_home"),
    path("opening/<int:pk>/pick/", buyer.buyer_pick, name="buyer_pick"),
    path("opening/<int:pk>/logout/", buyer.buyer_logout, name="buyer_logout"),
    path("opening/<int:pk>/favourites/", favourites_views.buyer_favourite, name="buyer_favourite"),
    # the hall's terminals (no account; signed out after the pick or when idle)
    path("opening/<int:pk>/kiosk/", kiosk.kiosk_home, name="kiosk_home"),
    path("opening/<int:pk>/kiosk/pick/", kiosk.kiosk_pick, name="kiosk_pick"),
    path("opening/<int:pk>/kiosk/logout/", kiosk.kiosk_logout, name="kiosk_logout"),
    path(
        "opening/<int:pk>/picks/<int:pick>/confirmation/",
        buyer.buyer_confirmation,
        name="buyer_confirmation",
    ),
    path(
        E + "<int:pk>/picks/<int:pick>/confirmation/",
        views.pick_confirmation,
        name="pick_confirmation",
    ),
    path(E + "<int:pk>/picks/<int:pick>/deposit/", manage_views.pick_deposit, name="pick_deposit"),
    *screen_urls.urlpatterns,
    # open, close, start, finish (after every fixed path of an event)
    path(E + "<int:pk>/<slug:step>/", manage_views.event_step, name="event_step"),
]
