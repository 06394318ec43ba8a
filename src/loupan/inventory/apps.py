from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "loupan.inventory"
    label = "inventory"
    verbose_name = "项目与房源"

    def ready(self):
        from loupan.accounts.role_table import role_label
        from loupan.approvals import kinds
        from loupan.audit import presenting
        from loupan.core import due

        from . import jobs, pricelists
        from .filters import UnitFilterSet
        from .models import PriceList

        due.register("inventory", jobs.process_due, order=20, labels=jobs.LABELS)
        # Price lists 价格方案 in the approval engine: the manager's level within the
        # threshold, the director's for any list (a director decides a manager's level
        # too); nobody approves a list they drafted.
        role_of = {level: role for role, level in pricelists.LEVELS.items()}
        kinds.register(
            kinds.Kind(
                code=pricelists.APPROVAL_KIND,
                label=PriceList._meta.verbose_name,
                apply=pricelists.apply_decision,
                view_perm="pricelist",
                decide_perms=tuple(pricelists.LEVELS.values()),
                levels=lambda project: list(pricelists.LEVELS.values()),
                holds=kinds.holds_perm,
                level_label=lambda level: role_label(role_of.get(level, level)),
                higher_may_decide=True,
                lower_may_reject=True,
                self_decide=False,
                explain=pricelists.why_director,
                card_template="inventory/parts/pricelist_approval_card.html",
                subjects=lambda: PriceList.objects.all(),
            )
        )

        presenting.register_export("inventory.unit", filterset=UnitFilterSet)

        # The demo office (``loupan demo``): the company and projects first (the accounts'
        # memberships need them), the buildings, units and prices after the accounts.
        from loupan.core import demo as demo_office

        from . import demo

        demo_office.register("inventory.office", demo.demo_office, order=10, days_ago=60)
        demo_office.register("inventory.units", demo.demo_inventory, order=30, days_ago=60)

        # Its pages in the navigation (``core.navigation``).
        from django.utils.translation import gettext_lazy as _

        from loupan.core import navigation as nav

        nav.register("inventory:project_list", _("项目"), order=15, in_project=False)
        nav.group("inventory", _("房源"), order=50)
        for order, (name, label, dom_id) in enumerate(
            [
                ("inventory:board", _("销控表"), "nav-board"),
                ("inventory:unit_list", _("房源列表"), "nav-units"),
                ("inventory:building_list", _("楼栋与户型"), ""),
                ("inventory:release_plans", _("推盘计划"), ""),
                ("inventory:pricelist_list", _("价格方案"), "nav-pricelists"),
                ("inventory:units_import", _("导入房源"), ""),
            ]
        ):
            nav.register(name, label, group="inventory", order=order, dom_id=dom_id)
