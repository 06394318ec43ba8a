"""The demo office's payment settings and fee tables (called by payments/demo.py)."""

from decimal import Decimal

from loupan.audit.models import AuditEntry
from loupan.audit.services import object_label

from .models import FeeBasis, FeeKind, FeeRate, HomeOrder, PaymentSettings

# 契税 of a home bought as a family's first or second home (财政部 税务总局 住房城乡建设部
# 公告 2024 年第 16 号, from 2024-12-01): 140㎡ and below 1%; above 140㎡ 1.5% for a first
# home and 2% for a second. Bands run above area_min up to and including area_max
# (payments.plans). 维修资金: 100 yuan per ㎡ of gross area, whatever the home (a
# typical city rate for homes with lifts; the office edits it).
DEMO_SETTINGS = {
    "min_down_pct_first": Decimal("15"),
    "min_down_pct_second": Decimal("15"),
    "down_payment_days": 30,
    "full_payment_days": 30,
    "loan_days": 90,
    "late_fee_daily_pct": Decimal("0.05"),
    "late_fee_grace_days": 3,
}
DEMO_FEE_RATES = [
    # kind, home, area_min, area_max, basis, rate
    (FeeKind.DEED_TAX, HomeOrder.FIRST, "0", "140", FeeBasis.PERCENT, "1"),
    (FeeKind.DEED_TAX, HomeOrder.FIRST, "140", None, FeeBasis.PERCENT, "1.5"),
    (FeeKind.DEED_TAX, HomeOrder.SECOND, "0", "140", FeeBasis.PERCENT, "1"),
    (FeeKind.DEED_TAX, HomeOrder.SECOND, "140", None, FeeBasis.PERCENT, "2"),
    (FeeKind.MAINTENANCE, HomeOrder.ANY, "0", None, FeeBasis.PER_SQM, "100"),
]


def demo_plans(context: dict) -> None:
    """The main project's payment settings (minimum down payment 15% for a first and a
    second home, late fees on at 0.05% a day after 3 days' grace) and the fee tables of
    both projects. Idempotent: rows that exist are left as the office has them."""
    # The row may exist already with the model's defaults: recording the demo deposits
    # locks it (services.lock_project_money). The demo's values go in unless the office
    # has saved its own (an audit entry of the settings service).
    row, _created = PaymentSettings.objects.get_or_create(project=context["main"])
    saved = AuditEntry.objects.filter(object_type=object_label(row), object_id=str(row.pk))
    if not saved.exists():
        for name, value in DEMO_SETTINGS.items():
            setattr(row, name, value)
        row.save()
    for project in (context["main"], context["second"]):
        if FeeRate.objects.filter(project=project).exists():
            continue
        FeeRate.objects.bulk_create(
            FeeRate(
                project=project,
                kind=kind,
                home=home,
                area_min=Decimal(low),
                area_max=Decimal(high) if high is not None else None,
                basis=basis,
                rate=Decimal(rate),
            )
            for kind, home, low, high, basis, rate in DEMO_FEE_RATES
        )
