"""The daily traffic 来电来访 that the database keeps (``customers.traffic``): whatever
writes the calls, visits and customers, the kept rows equal the rows counted again, and
equal counts made here from the raw rows."""

import datetime
from zoneinfo import ZoneInfo

from django.db import connection
from django.utils import timezone

from loupan.customers import traffic
from loupan.customers.models import CallRecord, Channel, Customer, DailyTraffic, Visit

from .helpers import make_customer

SHANGHAI = ZoneInfo("Asia/Shanghai")


def kept() -> dict:
    """The kept rows, those with any count, by key."""
    out = {}
    for r in DailyTraffic.objects.values_list(
        "project_id", "day", "channel_key", "consultant_key", *traffic.COUNTS
    ):
        if any(r[4:]):
            out[r[:4]] = r[4:]
    return out


def counted() -> dict:
    with connection.cursor() as cur:
        cur.execute(traffic.counted_sql(connection.vendor), {"p": None})
        rows = cur.fetchall()
    out = {}
    for r in rows:
        day = r[1] if isinstance(r[1], datetime.date) else datetime.date.fromisoformat(r[1])
        out[(r[0], day, r[2], r[3])] = tuple(int(x) for x in r[4:])
    return out


def at(day, hour, minute=0):
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def test_the_demo_office_is_counted_as_its_rows(demo):
    assert kept()
    assert kept() == counted()


def test_every_write_keeps_the_traffic_true(demo):
    project, users = demo["main"], demo["users"]
    consultant, other = users["consultant"], users["consultant2"]
    a, b = Channel.objects.filter(project=project)[:2]
    day = timezone.localdate() - datetime.timedelta(days=2000)  # before any demo row

    # a call late in the local evening is that local day's, one just after midnight the next's
    late = CallRecord.objects.create(
        project=project, received_by=consultant, called_at=at(day, 23, 30), channel=a
    )
    early = CallRecord.objects.create(
        project=project, received_by=consultant, called_at=at(day, 0, 30), channel=a
    )
    key = (project.pk, day, a.pk, consultant.pk)
    assert kept()[key][:2] == (2, 0)
    # a research call counts apart; flagged later it moves
    early.is_research = True
    early.save()
    assert kept()[key][:2] == (1, 1)
    CallRecord.objects.filter(pk=late.pk).update(
        called_at=at(day, 16, 0) + datetime.timedelta(days=1)
    )
    assert kept()[key][:2] == (0, 1)
    assert kept()[(project.pk, day + datetime.timedelta(days=1), a.pk, consultant.pk)][:2] == (1, 0)

    # a customer registered that day, with a first and a returning visit
    customer = make_customer(project, consultant, phone="+8619912349991", name="测流量")
    Customer.objects.filter(pk=customer.pk).update(registered_at=at(day, 10), channel=a)
    first = Visit.objects.create(
        customer=customer, consultant=consultant, visited_at=at(day, 10), is_first=True
    )
    Visit.objects.create(
        customer=customer, consultant=other, visited_at=at(day, 15), is_first=False
    )
    assert kept()[key] == (0, 1, 1, 0, 1)
    assert kept()[(project.pk, day, a.pk, other.pk)][2:4] == (0, 1)

    # the customer's channel changes: the registration and both visits move with it
    customer.refresh_from_db()
    customer.channel = b
    customer.save()
    assert kept()[key] == (0, 1, 0, 0, 0)
    assert kept()[(project.pk, day, b.pk, consultant.pk)] == (0, 0, 1, 0, 1)
    assert kept()[(project.pk, day, b.pk, other.pk)] == (0, 0, 0, 1, 0)

    # a visit corrected to another consultant, then deleted; bulk writes too
    first.consultant = other
    first.save()
    assert kept()[(project.pk, day, b.pk, other.pk)] == (0, 0, 1, 1, 0)
    first.delete()
    Visit.objects.bulk_create(
        [
            Visit(customer=customer, consultant=consultant, visited_at=at(day, 11), is_first=False)
            for _ in range(3)
        ]
    )
    assert kept()[(project.pk, day, b.pk, consultant.pk)] == (0, 0, 0, 3, 1)
    CallRecord.objects.filter(pk=early.pk).delete()

    # deleting the customer takes their registration and visits away
    assert kept() == counted()
    customer.delete()
    assert (project.pk, day, b.pk, consultant.pk) not in kept()
    assert kept() == counted()


def test_the_counts_match_the_raw_rows_of_a_day(demo):
    """One day's kept figures against counts made here from the rows."""
    project = demo["main"]
    day = timezone.localdate()
    start = datetime.datetime.combine(day, datetime.time(), tzinfo=SHANGHAI)
    end = start + datetime.timedelta(days=1)
    rows = DailyTraffic.objects.filter(project=project, day=day)
    calls = CallRecord.objects.filter(
        project=project, called_at__gte=start, called_at__lt=end, is_research=False
    ).count()
    visits = Visit.objects.filter(
        customer__project=project, visited_at__gte=start, visited_at__lt=end
    )
    registered = Customer.objects.filter(
        project=project, registered_at__gte=start, registered_at__lt=end
    ).count()
    assert sum(r.calls for r in rows) == calls
    assert sum(r.first_visits for r in rows) == visits.filter(is_first=True).count()
    assert sum(r.returning_visits for r in rows) == visits.filter(is_first=False).count()
    assert sum(r.registrations for r in rows) == registered


def test_rebuild_counts_the_same_as_the_triggers(demo):
    before = kept()
    DailyTraffic.objects.all().delete()
    assert kept() == {}
    traffic.rebuild(demo["main"].pk)
    assert {k: v for k, v in before.items() if k[0] == demo["main"].pk} == kept()
    traffic.rebuild()
    assert kept() == before


def first_contacts() -> dict:
    """Each customer's earliest visit or linked call, counted here from the rows."""
    out: dict = {}
    for customer, at in list(Visit.objects.values_list("customer_id", "visited_at")) + list(
        CallRecord.objects.filter(customer__isnull=False).values_list("customer_id", "called_at")
    ):
        out[customer] = min(out.get(customer, at), at)
    return out


def kept_first_contacts() -> dict:
    return dict(
        Customer.objects.filter(first_contact_at__isnull=False).values_list(
            "pk", "first_contact_at"
        )
    )


def test_the_first_contact_is_kept_through_every_write(demo):
    project, users = demo["main"], demo["users"]
    consultant = users["consultant"]
    assert kept_first_contacts() == first_contacts()
    day = timezone.localdate() - datetime.timedelta(days=2000)
    customer = make_customer(project, consultant, phone="+8619912349992", name="首次接触")
    assert Customer.objects.get(pk=customer.pk).first_contact_at is None
    stale = Customer.objects.get(pk=customer.pk)

    visit = Visit.objects.create(
        customer=customer, consultant=consultant, visited_at=at(day, 10), is_first=True
    )
    assert Customer.objects.get(pk=customer.pk).first_contact_at == at(day, 10)
    # a call linked later that came earlier lowers it; unlinking it raises it again
    call = CallRecord.objects.create(
        project=project, received_by=consultant, called_at=at(day, 9) - datetime.timedelta(days=3)
    )
    assert Customer.objects.get(pk=customer.pk).first_contact_at == at(day, 10)
    call.customer = customer
    call.save()
    assert Customer.objects.get(pk=customer.pk).first_contact_at == call.called_at
    # a copy read before any contact, saved now, does not write its old value back
    stale.note = "改个备注"
    stale.save()
    assert Customer.objects.get(pk=customer.pk).first_contact_at == call.called_at
    call.customer = None
    call.save()
    assert Customer.objects.get(pk=customer.pk).first_contact_at == at(day, 10)
    visit.visited_at = at(day, 8)
    visit.save()
    assert Customer.objects.get(pk=customer.pk).first_contact_at == at(day, 8)
    visit.delete()
    assert Customer.objects.get(pk=customer.pk).first_contact_at is None
    assert kept_first_contacts() == first_contacts()


def test_rebuild_sets_the_first_contacts(demo):
    before = kept_first_contacts()
    assert before
    with connection.cursor() as cur:
        # as a bulk load with the triggers off would leave them
        cur.execute(
            "DROP TRIGGER IF EXISTS customers_first_contact_guard"
            + (" ON customers_customer" if connection.vendor == "postgresql" else "")
        )
        cur.execute("UPDATE customers_customer SET first_contact_at = NULL")
    assert kept_first_contacts() == {}
    traffic.rebuild()
    for sql in traffic.install_sql(connection.vendor):
        with connection.cursor() as cur:
            cur.execute(sql)
    assert kept_first_contacts() == before
