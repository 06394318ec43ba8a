from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "loupan.inventory"
    label = "inventory"
    verbose_name = "项目与房源"
