from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "loupan.customers"
    label = "customers"
    verbose_name = "客户"

    def ready(self):
        from django.utils.translation import gettext_lazy as _

        from loupan.audit import presenting
        from loupan.core import codelists, due

        from . import services
        from .filters import CustomerFilterSet
        from .imports import REGISTER_SHEET
        from .models import Channel, FollowUpWay

        # 认知途径: the office's channels, kept in Channel (customers and calls point to it)
        codelists.register("channel", _("认知途径"), store=codelists.ModelStore(Channel), order=10)

        # 跟进方式: the office's list; 到访 moves a prospect to 意向, so the codes of
        # FollowUpWay are fixed (relabel and reorder only).
        codelists.register("followup_way", _("跟进方式"), system=FollowUpWay.choices, order=20)

        due.register(
            "customers",
            services.process_due,
            order=30,
            labels={"pool": "转入公客池", "anonymized": "匿名化"},
        )

        # the 意向客户登记表 export as the audit trail reads it
        presenting.register_export(
            "customers.customer",
            filterset=CustomerFilterSet,
            choices={"report": {"intent_register": REGISTER_SHEET}},
        )

        # The demo office's customers (``loupan demo``), after the inventory.
        from loupan.core import demo as demo_office

        from . import demo

        demo_office.register("customers", demo.demo_customers, order=40)
