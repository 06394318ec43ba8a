"""The demo office's money (issue 13 "Done when"): registered in ``PaymentsConfig.ready()``
after the deals; each part of payments adds its own, in this order (the settings first,
the receipts before the mortgages' disbursements and the commissions they earn)."""

from .commissions_demo import demo_commissions
from .money_demo import demo_money
from .mortgages_demo import demo_mortgages
from .plans_demo import demo_plans


def demo_payments(context: dict) -> None:
    demo_plans(context)
    demo_money(context)
    demo_mortgages(context)


# The commissions last of the whole office (``apps.py`` registers them after every other
# step): what the deliveries of after sales earn is in the month's statements.
__all__ = ["demo_commissions", "demo_payments"]
