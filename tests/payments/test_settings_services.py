"""Payment settings 收款设置 and fee tables 税费标准 (``payments.plans`` services): the
allowed path with its audit entry, each refusal naming its field, and the permission
(``payment.configure``: manager and director; not the consultant, planner or finance)."""

from decimal import Decimal

import pytest

from loupan.audit.models import AuditEntry
from loupan.core.errors import DomainError
from loupan.payments import plans
from loupan.payments.models import FeeRate, PaymentSettings

pytestmark = pytest.mark.django_db


def test_manager_saves_settings_with_an_audit_entry(demo):
    main, manager = demo["main"], demo["users"]["manager"]
    before = AuditEntry.objects.count()
    row = plans.payment_settings_save(
        actor=manager,
        project=main,
        min_down_pct_first="20",
        min_down_pct_second="30.5",
        late_fee_daily_pct="0.1",
        late_fee_grace_days=5,
        loan_days="120",
    )
    row.refresh_from_db()
    assert row.min_down_pct_first == Decimal("20.00")
    assert row.min_down_pct_second == Decimal("30.50")
    assert row.late_fee_daily_pct == Decimal("0.1000")
    assert (row.late_fee_grace_days, row.loan_days) == (5, 120)
    assert row.down_payment_days == 30  # untouched
    entry = AuditEntry.objects.order_by("-id").first()
    assert AuditEntry.objects.count() == before + 1
    assert entry.object_type == "payments.paymentsettings" and entry.actor == manager
    assert "min_down_pct_second" in entry.changes


def test_settings_for_a_project_without_a_row_are_created(demo):
    second = demo["second"]
    PaymentSettings.objects.filter(project=second).delete()
    row = plans.payment_settings_save(
        actor=demo["users"]["director"], project=second, min_down_pct_first="25"
    )
    assert row.pk and row.min_down_pct_first == Decimal("25.00")
    assert AuditEntry.objects.filter(
        object_type="payments.paymentsettings", object_id=str(row.pk), action="create"
    ).exists()


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("min_down_pct_first", "100.01", "首套最低首付比例"),
        ("min_down_pct_second", "-1", "二套最低首付比例"),
        ("min_down_pct_first", "abc", "首套最低首付比例"),
        ("min_down_pct_first", "15.555", "最多 2 位小数"),
        ("late_fee_daily_pct", "1.0001", "滞纳金日费率"),
        ("late_fee_daily_pct", "-0.01", "滞纳金日费率"),
        ("late_fee_daily_pct", 0.05, "浮点数"),
        ("down_payment_days", "-1", "首付款期限"),
        ("loan_days", "x", "贷款预计到账天数"),
        ("late_fee_grace_days", "1.5", "滞纳金宽限天数"),
        ("colour", "1", "未知"),
    ],
)
def test_settings_refusals_name_the_field(demo, field, value, words):
    with pytest.raises(DomainError) as exc:
        plans.payment_settings_save(
            actor=demo["users"]["manager"], project=demo["main"], **{field: value}
        )
    assert exc.value.code == "invalid"
    assert list(exc.value.fields) == [field]
    assert words in exc.value.message


@pytest.mark.parametrize("username", ["consultant", "planner", "finance", "supervisor", "auditor"])
def test_only_payment_configure_saves(demo, username):
    with pytest.raises(DomainError) as exc:
        plans.payment_settings_save(
            actor=demo["users"][username], project=demo["main"], min_down_pct_first="20"
        )
    assert exc.value.code == "permission_denied"
    with pytest.raises(DomainError) as exc:
        plans.fee_rate_save(
            actor=demo["users"][username],
            project=demo["main"],
            data={"kind": "deed_tax", "home": "any", "basis": "percent", "rate": "3"},
        )
    assert exc.value.code == "permission_denied"
    row = FeeRate.objects.filter(project=demo["main"]).first()
    with pytest.raises(DomainError):
        plans.fee_rate_delete(actor=demo["users"][username], fee_rate=row)
    assert FeeRate.objects.filter(pk=row.pk).exists()


def test_fee_rate_add_change_delete_audited(demo):
    main, manager = demo["main"], demo["users"]["manager"]
    row = plans.fee_rate_save(
        actor=manager,
        project=main,
        data={"kind": "deed_tax", "home": "any", "area_min": "", "basis": "percent", "rate": "3"},
    )
    assert (row.area_min, row.area_max, row.rate) == (Decimal("0"), None, Decimal("3.0000"))
    row = plans.fee_rate_save(
        actor=manager,
        project=main,
        fee_rate=row,
        data={"kind": "deed_tax", "home": "any", "area_max": "90", "basis": "percent", "rate": "1"},
    )
    assert row.area_max == Decimal("90.00")
    pk = row.pk
    plans.fee_rate_delete(actor=manager, fee_rate=row)
    assert not FeeRate.objects.filter(pk=pk).exists()
    actions = list(
        AuditEntry.objects.filter(object_type="payments.feerate", object_id=str(pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "update", "delete"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "stamp"}, "kind"),
        ({"home": "third"}, "home"),
        ({"basis": "flat"}, "basis"),
        ({"rate": "-1"}, "rate"),
        ({"rate": "100.5"}, "rate"),
        ({"rate": ""}, "rate"),
        ({"basis": "per_sqm", "rate": "100001"}, "rate"),
        ({"area_min": "-1"}, "area_min"),
        ({"area_min": "90", "area_max": "90"}, "area_max"),
        ({"area_max": "abc"}, "area_max"),
    ],
)
def test_fee_rate_refusals(demo, data, field):
    base = {"kind": "deed_tax", "home": "any", "basis": "percent", "rate": "3"}
    with pytest.raises(DomainError) as exc:
        plans.fee_rate_save(
            actor=demo["users"]["manager"], project=demo["main"], data={**base, **data}
        )
    assert exc.value.code == "invalid" and field in exc.value.fields


@pytest.mark.parametrize(
    ("low", "high", "overlaps"),
    [
        ("0", "100", True),  # inside the demo's (0, 140]
        ("139.99", None, True),
        ("140", "200", True),  # the demo's (140, ∞)
        ("100", "140.01", True),
    ],
)
def test_bands_of_one_fee_and_home_may_not_overlap(demo, low, high, overlaps):
    with pytest.raises(DomainError) as exc:
        plans.fee_rate_save(
            actor=demo["users"]["manager"],
            project=demo["main"],
            data={
                "kind": "deed_tax",
                "home": "first",
                "area_min": low,
                "area_max": high,
                "basis": "percent",
                "rate": "3",
            },
        )
    assert "area_min" in exc.value.fields and "重叠" in exc.value.message


def test_touching_bands_and_other_homes_do_not_overlap(demo):
    main, manager = demo["main"], demo["users"]["manager"]
    FeeRate.objects.filter(project=main, kind="deed_tax", home="first").delete()
    for low, high in (("0", "90"), ("90", "140"), ("140", None)):
        plans.fee_rate_save(
            actor=manager,
            project=main,
            data={
                "kind": "deed_tax",
                "home": "first",
                "area_min": low,
                "area_max": high,
                "basis": "percent",
                "rate": "1",
            },
        )
    # another home, or another fee, over the same band is fine
    plans.fee_rate_save(
        actor=manager,
        project=main,
        data={"kind": "deed_tax", "home": "any", "basis": "percent", "rate": "3"},
    )
    # changing a row keeps its own band
    row = FeeRate.objects.get(project=main, kind="deed_tax", home="first", area_min=90)
    plans.fee_rate_save(
        actor=manager,
        project=main,
        fee_rate=row,
        data={
            "kind": "deed_tax",
            "home": "first",
            "area_min": "90",
            "area_max": "140",
            "basis": "percent",
            "rate": "1.2",
        },
    )
    assert FeeRate.objects.filter(project=main, kind="deed_tax", home="first").count() == 3


def test_a_row_of_another_project_is_refused(demo):
    row = FeeRate.objects.filter(project=demo["second"]).first()
    with pytest.raises(DomainError) as exc:
        plans.fee_rate_save(
            actor=demo["users"]["director"],
            project=demo["main"],
            fee_rate=row,
            data={"kind": "deed_tax", "home": "any", "basis": "percent", "rate": "3"},
        )
    assert "project" in exc.value.fields
