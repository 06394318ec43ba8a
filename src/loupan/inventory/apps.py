from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "loupan.inventory"
    label = "inventory"
    verbose_name = "项目与房源"

    def ready(self):
        from loupan.core import due

        from . import services

        due.register(
            "inventory",
            services.process_due,
            order=20,
            labels={
                "holds_expired": "销控保留到期释放",
                "plans": "释放计划",
                "price_lists": "价格方案",
            },
        )
