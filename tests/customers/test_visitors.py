"""The visitors of each month, quarter and year and their profile that the database keeps
(``customers.visitors``): whatever writes the visits and the customers, the kept rows
equal counts made here from the raw rows, and what ``rebuild`` counts again."""

import datetime
from collections import Counter
from zoneinfo import ZoneInfo

from django.utils import timezone

from loupan.customers import visitors
from loupan.customers.models import Channel, Customer, Visit, VisitorPeriod, VisitorProfile

from .helpers import make_customer

SHANGHAI = ZoneInfo("Asia/Shanghai")
ANSWERS = ("occupation", "income_band", "education", "residence_district", "motive")


def kept() -> dict:
    """The kept profile, the rows with any visitor, by key."""
    return {
        r[:-1]: r[-1]
        for r in VisitorProfile.objects.filter(visitors__gt=0).values_list(
            "project_id",
            "kind",
            "first_day",
            "consultant_key",
            "channel_key",
            "dimension",
            "value",
            "visitors",
        )
    }


def firsts(day: datetime.date) -> dict:
    return {
        "m": day.replace(day=1),
        "q": day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1),
        "y": day.replace(month=1, day=1),
    }


def visited() -> set:
    """(customer, kind, first day, consultant key) of every visit, from the raw rows."""
    seen = set()
    for customer, consultant, at in Visit.objects.values_list(
        "customer_id", "consultant_id", "visited_at"
    ):
        day = at.astimezone(SHANGHAI).date()
        for kind, first in firsts(day).items():
            seen.add((customer, kind, first, 0))
            seen.add((customer, kind, first, consultant))
    return seen


def counted() -> dict:
    """The profile counted here: each customer once per period and consultant key, under
    their channel and each of their five answers."""
    customers = {
        c["pk"]: c for c in Customer.objects.values("pk", "project_id", "channel_id", *ANSWERS)
    }
    out: Counter = Counter()
    for customer, kind, first, who in visited():
        c = customers[customer]
        for dim, name in enumerate(ANSWERS):
            out[(c["project_id"], kind, first, who, c["channel_id"] or 0, dim, c[name])] += 1
    return dict(out)


def kept_periods() -> set:
    return set(VisitorPeriod.objects.values_list(*visitors.PERIOD_KEY))


def at(day, hour, minute=0):
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def test_the_demo_office_is_counted_as_its_rows(demo):
    assert kept()
    assert kept() == counted()
    assert kept_periods() == visited()


def test_every_write_keeps_the_visitors_true(demo):
    project, users = demo["main"], demo["users"]
    consultant, other = users["consultant"], users["consultant2"]
    a, b = Channel.objects.filter(project=project)[:2]
    day = datetime.date(timezone.localdate().year - 6, 3, 31)  # before any demo row
    customer = make_customer(project, consultant, phone="+8619912349981", name="测来访")
    Customer.objects.filter(pk=customer.pk).update(channel=a, occupation="教师")

    # a visit late on the local 31 March is March's and the first quarter's
    late = Visit.objects.create(customer=customer, consultant=consultant, visited_at=at(day, 23))
    assert kept() == counted()
    march = (project.pk, "m", day.replace(day=1), 0, a.pk, 0, "教师")
    assert kept()[march] == 1
    # a second visit the same month counts the visitor once; by another consultant it
    # counts for them too
    Visit.objects.create(customer=customer, consultant=other, visited_at=at(day, 9))
    assert kept()[march] == 1
    assert kept()[(project.pk, "m", day.replace(day=1), other.pk, a.pk, 0, "教师")] == 1
    assert kept() == counted()
    # one just after local midnight is April's (and the second quarter's)
    late.visited_at = at(day, 23, 59) + datetime.timedelta(minutes=2)
    late.save()
    assert kept() == counted()
    assert (
        project.pk,
        "m",
        datetime.date(day.year, 4, 1),
        consultant.pk,
        a.pk,
        0,
        "教师",
    ) in kept()

    # several visits of one customer in one statement, added and taken away
    Visit.objects.bulk_create(
        [
            Visit(customer=customer, consultant=consultant, visited_at=at(day, h), is_first=False)
            for h in (10, 11, 12)
        ]
    )
    assert kept() == counted() and kept_periods() == visited()
    Visit.objects.filter(customer=customer, visited_at__lt=at(day, 13)).delete()
    assert kept() == counted() and kept_periods() == visited()
    Visit.objects.filter(customer=customer).update(visited_at=at(day, 15))
    assert kept() == counted() and kept_periods() == visited()

    # a visit moved to another customer and another consultant
    second = make_customer(project, other, phone="+8619912349982", name="测来访二")
    Visit.objects.filter(pk=late.pk).update(customer=second, consultant=other)
    assert kept() == counted()

    # the customer's answers, channel and project move their periods
    Customer.objects.filter(pk=customer.pk).update(
        occupation="医生", education="master", motive="改善", channel=b
    )
    assert kept() == counted()
    customer.refresh_from_db()
    customer.channel = None
    customer.income_band = "20万以上"
    customer.save()
    assert kept() == counted()
    Customer.objects.filter(pk=second.pk).update(project=demo["second"])
    assert kept() == counted()

    # deleting the customers takes their visits and periods away
    customer.delete()
    second.delete()
    assert kept() == counted() and kept_periods() == visited()


def test_rebuild_counts_the_same_as_the_triggers(demo):
    before, periods = kept(), kept_periods()
    VisitorProfile.objects.all().delete()
    VisitorPeriod.objects.all().delete()
    assert kept() == {}
    visitors.rebuild(demo["main"].pk)
    assert {k: v for k, v in before.items() if k[0] == demo["main"].pk} == kept()
    visitors.rebuild()
    assert kept() == before and kept_periods() == periods


def test_the_periods_the_profile_keeps():
    assert visitors.period_kind(datetime.date(2025, 1, 1), datetime.date(2025, 1, 31)) == "m"
    assert visitors.period_kind(datetime.date(2025, 2, 1), datetime.date(2025, 2, 28)) == "m"
    assert visitors.period_kind(datetime.date(2025, 4, 1), datetime.date(2025, 6, 30)) == "q"
    assert visitors.period_kind(datetime.date(2025, 1, 1), datetime.date(2025, 12, 31)) == "y"
    for start, end in (
        ("2025-02-01", "2025-04-30"),  # three months, not a quarter
        ("2025-01-02", "2025-01-31"),
        ("2025-01-01", "2025-01-30"),
        ("2025-01-01", "2026-12-31"),
        ("2025-07-01", "2026-06-30"),
    ):
        assert (
            visitors.period_kind(
                datetime.date.fromisoformat(start), datetime.date.fromisoformat(end)
            )
            is None
        )


def test_a_database_emptied_table_by_table_grows_nothing_back(demo):
    """As SQLite's flush empties the tables one by one, in any order: the visits that go
    after the kept rows are gone take nothing from, and add nothing to, empty tables."""
    from django.db import connection

    assert Visit.objects.exists()
    with connection.cursor() as cur:
        for table in ("customers_visitorprofile", "customers_visitorperiod", "customers_visit"):
            cur.execute(f"DELETE FROM {table}")
    assert not VisitorPeriod.objects.exists() and not VisitorProfile.objects.exists()
