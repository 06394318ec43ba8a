from django.apps import AppConfig


class DealsConfig(AppConfig):
    name = "loupan.deals"
    label = "deals"
    verbose_name = "交易"
