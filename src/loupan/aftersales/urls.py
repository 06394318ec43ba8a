from django.urls import include, path

app_name = "aftersales"
urlpatterns = [
    path("", include("loupan.aftersales.calendar_urls")),
    path("", include("loupan.aftersales.archive_urls")),
    path("", include("loupan.aftersales.delivery_urls")),
    path("", include("loupan.aftersales.settlement_urls")),
    path("", include("loupan.aftersales.complaints_urls")),
]
