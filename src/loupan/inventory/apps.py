from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "loupan.inventory"
    label = "inventory"
    verbose_name = "项目与房源"

    def ready(self):
        from loupan.core import due

        from . import jobs

        due.register("inventory", jobs.process_due, order=20, labels=jobs.LABELS)

        # The demo office (``loupan demo``): the company and projects first (the accounts'
        # memberships need them), the buildings, units and prices after the accounts.
        from loupan.core import demo as demo_office

        from . import demo

        demo_office.register("inventory.office", demo.demo_office, order=10)
        demo_office.register("inventory.units", demo.demo_inventory, order=30)
