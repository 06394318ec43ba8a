"""The rules at their exact edges, each checked against the published rule or the
settings' number, not against the code's own tables (issue 12: four rules could be
broken with every test green)."""

import datetime
import random
from decimal import Decimal

import pytest

from loupan.accounts import access
from loupan.audit.models import AuditEntry
from loupan.core.errors import DomainError
from loupan.core.identity import check_id_number
from loupan.core.money import round_to
from loupan.customers import services as customer_services
from loupan.customers.models import Customer, Stage
from loupan.deals import rules


def gb11643_check(first17: str) -> str:
    """GB 11643-1999 §8.2, computed here from its definition: weights Wi = 2^(i-1) mod 11
    for positions i = 18 … 2, the check code a1 = (12 − ΣWi·ai mod 11) mod 11, 10 → X."""
    weights = [pow(2, i - 1, 11) for i in range(18, 1, -1)]
    assert weights == [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    code = (12 - sum(int(a) * w for a, w in zip(first17, weights, strict=True)) % 11) % 11
    return "X" if code == 10 else str(code)


def _bodies(n=200):
    """17-digit bodies with no zero digit (so that a changed weight changes the sum) and
    a real birth date."""
    rng = random.Random(11643)
    for _ in range(n):
        region = "".join(rng.choice("123456789") for _ in range(6))
        birth = (
            f"19{rng.choice('56789')}{rng.choice('123456789')}"  # year
            f"1{rng.choice('12')}"  # month
            f"{rng.choice('12')}{rng.choice('123456789')}"  # day
        )
        seq = "".join(rng.choice("123456789") for _ in range(3))
        yield region + birth + seq


def test_id_check_digit_follows_the_published_rule():
    for body in _bodies():
        good = gb11643_check(body)
        assert check_id_number(body + good).number == body + good
        for other in "0123456789X":
            if other != good:
                with pytest.raises(DomainError):
                    check_id_number(body + other)


def test_a_published_number_is_valid():
    # the standard's own example (GB 11643-1999 appendix) and its check code
    assert gb11643_check("11010519491231002") == "X"
    assert check_id_number("11010519491231002X").birth_date == datetime.date(1949, 12, 31)


def test_ownership_lasts_exactly_the_set_days(demo, settings):
    users, project = demo["users"], demo["main"]
    assert settings.LOUPAN_OWNERSHIP_DAYS == 30
    customer = customer_services.customer_register(
        actor=users["consultant"],
        project=project,
        name="三十天",
        phone="13900012345",
        wanted_layout="other",
        wanted_layout_other="三室",
    )
    assert customer.ownership_expires_at - customer.last_follow_up_at == datetime.timedelta(days=30)
    expires = customer.ownership_expires_at
    customer_services.pool_expire(now=expires - datetime.timedelta(seconds=1))
    customer.refresh_from_db()
    assert not customer.in_pool
    customer_services.pool_expire(now=expires)
    customer.refresh_from_db()
    assert customer.in_pool and customer.owner is None


@pytest.mark.parametrize(
    "pct,level",
    [
        ("1.00", "consultant"),
        ("1.01", "supervisor"),
        ("2.00", "supervisor"),
        ("2.01", "manager"),
        ("3.00", "manager"),
        ("3.01", "director"),
        ("5.00", "director"),
    ],
)
def test_discount_authority_edges(demo, settings, pct, level):
    """Each role's own authority (seed: 顾问 1%, 主管 2%, 经理 3%, 总监 5%) is the last
    percent it grants alone: a hundredth more goes up."""
    assert settings.LOUPAN_DISCOUNT_AUTHORITY == {
        "consultant": 1,
        "supervisor": 2,
        "manager": 3,
        "director": 5,
    }
    assert rules.final_level_for(demo["main"], Decimal(pct), below_floor=False) == level


def test_one_number_in_two_projects_is_two_customers(demo):
    """撞单 looks in the project only: the same person may be a customer of two
    projects; within one, by phone or second phone, they are one."""
    users = demo["users"]
    first, second = demo["main"], demo["second"]
    register = customer_services.customer_register
    a = register(
        actor=users["consultant"],
        project=first,
        name="两盘",
        phone="13900054321",
        wanted_layout="other",
        wanted_layout_other="两室",
    )
    member = next(u for u in users.values() if access.has_perm(u, "customer.add", second))
    b = register(
        actor=member,
        project=second,
        name="两盘",
        phone="13900054321",
        wanted_layout="other",
        wanted_layout_other="两室",
    )
    assert a.pk != b.pk
    for phone, data in (("13900054321", {}), ("13900099999", {"phone2": "13900054321"})):
        with pytest.raises(DomainError) as taken:
            register(
                actor=users["consultant2"],
                project=first,
                name="同一人",
                phone=phone,
                wanted_layout="other",
                wanted_layout_other="两室",
                data=data,
            )
        assert taken.value.code == "customer_exists"


@pytest.mark.parametrize(
    ("value", "step", "rounded"),
    [
        ("12345.49", "1", "12345.00"),
        ("12345.50", "1", "12346.00"),
        ("12344.99", "10", "12340.00"),
        ("12345.00", "10", "12350.00"),  # half up, not to the even ten
        ("12349.99", "100", "12300.00"),
        ("12350.00", "100", "12400.00"),
        ("-12345.00", "10", "-12350.00"),  # half away from zero
        ("12345.675", "0", "12345.68"),  # no step: to the fen
        ("12345.675", "-10", "12345.68"),
        ("12345.675", "0.5", "12345.50"),
    ],
)
def test_a_price_rounds_half_up_to_its_step(value, step, rounded):
    """A price list's rounding step (整数, 十元, 百元): half up, to a multiple of the
    step; a step of zero or less leaves the fen."""
    assert round_to(Decimal(value), Decimal(step)) == Decimal(rounded)
    assert str(round_to(Decimal(value), Decimal(step))) == rounded


def test_a_change_is_approved_by_the_site_manager_or_higher(settings):
    """Seed 001: 换房/更名/退房 after subscription go to the site manager; a change that
    also needs a higher authority (an exchanged price) goes to that level."""
    assert settings.LOUPAN_CHANGE_APPROVER == "manager"
    assert rules.change_level() == "manager"
    assert rules.change_level("supervisor") == "manager"
    assert rules.change_level("consultant", "director") == "director"
    assert rules.clause_level() == "director"


def test_pool_takes_expired_owned_customers_only_once_and_never_a_buyer(demo):
    users, project = demo["users"], demo["main"]

    def owned(name, phone):
        return customer_services.customer_register(
            actor=users["consultant"],
            project=project,
            name=name,
            phone=phone,
            wanted_layout="other",
            wanted_layout_other="三室",
        )

    lapsed, buyer = owned("到期", "13900067671"), owned("已成交", "13900067672")
    Customer.objects.filter(pk=buyer.pk).update(stage=Stage.DEAL)
    later = lapsed.ownership_expires_at + datetime.timedelta(days=1)
    ours = Customer.objects.filter(pk__in=[lapsed.pk, buyer.pk])
    before = customer_services.pool_expire(now=later)
    assert set(ours.filter(in_pool=True).values_list("pk", flat=True)) == {lapsed.pk}
    assert ours.get(pk=buyer.pk).owner == users["consultant"]
    assert before >= 1
    # a second run finds nobody new: those in the pool already are not counted again
    assert customer_services.pool_expire(now=later) == 0
    # the move is in the audit trail, with the reason and who owned them before
    entries = AuditEntry.objects.filter(object_type="customers.customer", action="update")
    entry = entries.filter(object_id=str(lapsed.pk)).order_by("-id").first()
    assert entry.actor is None and entry.extra == {"reason": "归属到期，转入公客池"}
    assert entry.changes["in_pool"] == [False, True] and entry.changes["owner_id"][1] is None
    assert not entries.filter(object_id=str(buyer.pk)).exists()
    # an anonymized customer stays where they are
    gone = owned("已匿名", "13900067673")
    Customer.objects.filter(pk=gone.pk).update(anonymized_at=later)
    assert customer_services.pool_expire(now=later) == 0
    assert Customer.objects.get(pk=gone.pk).in_pool is False


def test_a_duplicate_registration_names_the_field_that_matched(demo):
    """撞单 answers under the field the second consultant typed the taken number in."""
    users, project = demo["users"], demo["main"]
    body = "11010519800101123"
    id_number = body + gb11643_check(body)

    def register(phone, id_number="", **data):
        return customer_services.customer_register(
            actor=users["consultant"],
            project=project,
            name="撞单",
            phone=phone,
            wanted_layout="other",
            wanted_layout_other="三室",
            id_number=id_number,
            consent=bool(id_number),
            data=data,
        )

    register("13900078781", phone2="13900078782", id_number=id_number)
    for phone, data, field in (
        ("13900078781", {}, "phone"),
        ("13900078782", {}, "phone"),
        ("13900078789", {"phone2": "13900078781"}, "phone2"),
        (
            "13900078789",
            {"phone2": "13900078788", "id_number": id_number},
            "id_number",
        ),
    ):
        with pytest.raises(DomainError) as taken:
            register(phone, **data)
        assert taken.value.code == "customer_exists"
        assert list(taken.value.fields) == [field], (phone, data)


def test_a_projects_own_discount_authority_wins_over_the_default(demo):
    """The office may set each role's authority per project (折扣权限); a project that
    has not keeps the settings' defaults, and a role outside the chain grants nothing."""
    from loupan.accounts.models import Role
    from loupan.deals.models import DiscountAuthority

    main, second = demo["main"], demo["second"]
    DiscountAuthority.objects.filter(project__in=[main, second]).delete()
    for code, pct in (("consultant", "0.50"), ("supervisor", "1.50")):
        DiscountAuthority.objects.create(
            project=main, role=Role.objects.get(code=code), max_pct=Decimal(pct)
        )
    assert rules.authority(main, "consultant") == Decimal("0.50")
    assert rules.authority(main, "supervisor") == Decimal("1.50")
    assert rules.authority(main, "manager") == Decimal("3")
    assert rules.authority(second, "consultant") == Decimal("1")
    assert rules.authority(main, "finance") == Decimal("0")
    assert rules.final_level_for(main, Decimal("0.51"), below_floor=False) == "supervisor"
    assert rules.final_level_for(main, Decimal("1.51"), below_floor=False) == "manager"
    assert rules.final_level_for(second, Decimal("0.51"), below_floor=False) == "consultant"


def test_a_deals_list_total_counts_a_unit_without_a_price_as_nothing(demo):
    """The floor total is known only when every unit has a floor price."""
    from types import SimpleNamespace

    from loupan.deals.services import price_units

    a = SimpleNamespace(list_price=Decimal("1000000.00"), floor_price=Decimal("950000.00"))
    b = SimpleNamespace(list_price=None, floor_price=None)
    c = SimpleNamespace(list_price=Decimal("20000.00"), floor_price=Decimal("18000.00"))
    quote, floor = price_units([a, b], [])
    assert quote.total == Decimal("1000000.00") and floor is None
    quote, floor = price_units([a, c], [("折扣", "percent", Decimal("1"))])
    assert quote.list_total == Decimal("1020000.00") and quote.total == Decimal("1009800.00")
    assert floor == Decimal("968000.00")


def test_a_projects_deal_policy_or_the_defaults(demo):
    """``rules.policy``: the project's own deal settings (保留时长, 签约期限, 定金上限),
    else the defaults (24 hours, 7 days, 20%) for that project, unsaved."""
    from loupan.deals.models import DealPolicy

    main, second = demo["main"], demo["second"]
    DealPolicy.objects.filter(project__in=[main, second]).delete()
    own = DealPolicy.objects.create(
        project=main, reservation_hours=48, signing_days=10, deposit_max_pct=Decimal("15")
    )
    found = rules.policy(main)
    assert found.pk == own.pk
    assert (found.reservation_hours, found.signing_days, found.deposit_max_pct) == (
        48,
        10,
        Decimal("15"),
    )
    default = rules.policy(second)
    assert default.pk is None
    assert default.project_id == second.pk
    assert (default.reservation_hours, default.signing_days, default.deposit_max_pct) == (
        24,
        7,
        Decimal("20"),
    )
    assert rules.deposit_cap(main, Decimal("100000")) == Decimal("15000.00")
    assert rules.deposit_cap(second, Decimal("100000")) == Decimal("20000.00")
