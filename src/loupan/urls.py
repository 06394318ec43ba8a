from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from loupan.core.views import healthz
from loupan.home import home
from loupan.opening.screen import feed as opening_feed
from loupan.opening.screen import phone_stream as opening_feed_stream

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    # what 2,000 buyers' phones poll every 2 s on opening day: first, before any include
    path("opening/<int:pk>/feed/", opening_feed, name="opening_feed"),
    path("opening/<int:pk>/feed/stream/", opening_feed_stream, name="opening_feed_stream"),
    # Django tries the patterns in order: the API first, behind its own prefix, so that an
    # API request is not matched against every page's pattern first (bench/opening: 3 ms
    # of a phone's 5 ms poll went there); a page's path fails the prefix at once.
    path("api/v1/", include("loupan.api_urls")),
    path("", include("loupan.accounts.urls")),
    path("", include("loupan.inventory.urls")),
    path("", include("loupan.audit.urls")),
    path("", include("loupan.customers.urls")),
    path("", include("loupan.approvals.urls")),
    path("", include("loupan.signoffs.urls")),
    path("", include("loupan.deals.urls")),
    path("", include("loupan.payments.urls")),
    path("", include("loupan.aftersales.urls")),
    path("", include("loupan.opening.urls")),
    path("", include("loupan.reports.urls")),
    path("", include("loupan.core.codelist_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]

handler400 = "loupan.core.views.bad_request"
handler403 = "loupan.core.views.permission_denied"
handler404 = "loupan.core.views.page_not_found"
handler500 = "loupan.core.views.server_error"
