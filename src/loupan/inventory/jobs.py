"""What inventory runs by itself when due (``loupan run-due``, registered with
``core.due`` in ``apps.py``): expired holds and release plans (``services``), then the
price lists whose scheduled time has come (``pricelists``). This module only puts the
two together, so that neither of them imports the other.
"""

from django.utils import timezone

from . import pricelists, services

# The keys of ``process_due``'s result, in Chinese for the command's report.
LABELS = {
    "holds_expired": "销控保留到期释放",
    "plans": "释放计划",
    "price_lists": "价格方案",
}


def process_due(*, now=None) -> dict:
    """``{"holds_expired": n, "plans": n, "price_lists": n}``, in that order."""
    now = now or timezone.now()
    return {
        **services.process_due(now=now),
        "price_lists": pricelists.pricelist_apply_due(now=now),
    }
