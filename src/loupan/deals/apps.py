from django.apps import AppConfig


class DealsConfig(AppConfig):
    name = "loupan.deals"
    label = "deals"
    verbose_name = "交易"

    def ready(self):
        from loupan.core import due

        from . import services

        due.register(
            "deals", services.process_due, order=10, labels={"reservations_expired": "保留单到期"}
        )
