from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "loupan.payments"
    label = "payments"
    verbose_name = "收款"
