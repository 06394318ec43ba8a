"""The figures every report counts, read from the rows the other apps hold (issue 15:
"nobody types a figure that the system knows"). Each function takes the ``Filters`` and
returns a queryset or sums over it; the reports group and lay them out.

What counts as what, once:
* a call 来电: a ``CallRecord`` of the project received in the period (peer research
  calls 同行调研 are counted apart and left out of the channel figures);
* a visit 来访: a ``Visit`` in the period (``is_first``: new; otherwise returning);
  a visitor, a customer with one;
* a new customer: a ``Customer`` registered in the period;
* the traffic: calls, visits and new customers counted by day, channel and person, read
  from the rows the database keeps as they happen (``customers.traffic``; ``traffic``),
  never counted again from a year of raw rows;
* a reservation 预留 / subscription 认购 / contract 签约: a deal reserved, subscribed
  or signed in the period; a deal that came from an exchange 换房 is the old sale moved,
  not a new one, so it is counted as an exchange and not again as a subscription;
* a cancellation 退房: a ``Cancellation`` made in the period;
* money 回款: ``LedgerEntry`` rows paid in the period (signed: refunds and red entries
  subtract); a carry between exchanged deals moves money, it is not money in;
* the units: ``Unit`` rows by status now (``SOLD_STATUSES`` are sold).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import connections
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce

from loupan.core.money import money as to_fen
from loupan.customers import visitors as kept_visitors
from loupan.customers.models import CallRecord, Customer, DailyTraffic, Visit
from loupan.deals import reports as deal_reports
from loupan.deals.models import Cancellation, ChangeKind, Deal, DealChange
from loupan.inventory.models import SOLD_STATUSES, Unit
from loupan.payments.models import EntryKind, LedgerEntry, Method

from .engine import Filters

ZERO = Decimal("0.00")


def deal_scope(f: Filters, prefix: str = "") -> Q:
    """The building, consultant and channel filters on a deal (at ``prefix``)."""
    q = Q(**{f"{prefix}project": f.project})
    if f.building:
        q &= Q(**{f"{prefix}unit__building": f.building})
    if f.consultant:
        q &= Q(**{f"{prefix}consultant": f.consultant})
    if f.channel:
        q &= Q(**{f"{prefix}customer__channel": f.channel})
    return q


def calls(f: Filters, *, research: bool = False):
    """The project's calls received in the period (peer research calls when asked)."""
    qs = CallRecord.objects.filter(
        project=f.project, called_at__gte=f.since, called_at__lt=f.until, is_research=research
    )
    if f.consultant:
        qs = qs.filter(received_by=f.consultant)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    return qs


def visits(f: Filters):
    """The project's visits in the period (``is_first`` tells new from returning)."""
    qs = Visit.objects.filter(
        customer__project=f.project, visited_at__gte=f.since, visited_at__lt=f.until
    )
    if f.consultant:
        qs = qs.filter(consultant=f.consultant)
    if f.channel:
        qs = qs.filter(customer__channel=f.channel)
    return qs


def visitors(f: Filters):
    """The distinct customers of ``visits``: the project's customers (of the channel,
    when one is asked) with a visit in the period (received by the consultant, when one
    is asked). The customer's own tests are made on the customer, so the visits are read
    by time alone, with no join back to the customer per visit."""
    seen = Visit.objects.filter(visited_at__gte=f.since, visited_at__lt=f.until)
    if f.consultant:
        seen = seen.filter(consultant=f.consultant)
    qs = Customer.objects.filter(project=f.project, pk__in=seen.values("customer_id"))
    if f.channel:
        qs = qs.filter(channel=f.channel)
    return qs


def visitor_counts(f: Filters) -> dict[str, list[tuple]]:
    """The visitors of ``visitors`` counted along the customer analysis' dimensions
    (``deals.reports.dimension_counts``): for a calendar month, quarter or year from the
    profile the database keeps (``customers.visitors``: a year's visitors are a third of
    a million customers), for any other period from the rows."""
    kind = kept_visitors.period_kind(f.start, f.end)
    if kind is None:
        return deal_reports.dimension_counts(visitors(f))
    return kept_visitors.counts(
        f.project, kind, f.start, consultant=f.consultant, channel=f.channel
    )


def traffic(f: Filters):
    """The kept daily traffic of the period (``customers.traffic``): the same calls,
    visits and registrations as ``calls``, ``visits`` and ``registrations``, a row per
    day, channel and person (who received the call, received the visit, registered the
    customer: the consultant filter; the channel of the call or of the customer: the
    channel filter)."""
    qs = DailyTraffic.objects.filter(project=f.project, day__gte=f.start, day__lte=f.end)
    if f.consultant:
        qs = qs.filter(consultant_key=f.consultant.pk)
    if f.channel:
        qs = qs.filter(channel_key=f.channel.pk)
    return qs


TRAFFIC = {
    "calls": "calls",
    "research": "research_calls",
    "first": "first_visits",
    "returning": "returning_visits",
    "new": "registrations",
}
# the traffic's keys: a channel or a person, 0 for none
TRAFFIC_KEYS = {"channel": "channel_key", "consultant": "consultant_key"}


def traffic_by(f: Filters, *keys, **expressions) -> dict:
    """The period's traffic summed in one GROUP BY over ``keys`` ("channel",
    "consultant", "day" or names of ``expressions`` on the traffic rows):
    {key: {calls, research, first, returning, new}}, the key a value for one key (None
    for no channel or person), a tuple for several, () for none. By one of "day",
    "channel", "consultant" or by none, the sums come from ``_traffic_sets``: read once
    for the report (``Filters.memo``), all four at once, and shared by its tables."""
    if not expressions and (not keys or (len(keys) == 1 and keys[0] in SET_KEYS)):
        sets = f.memo.get("traffic")
        if sets is None:
            sets = f.memo["traffic"] = _traffic_sets(f)
        return sets[keys[0] if keys else ()]
    return _traffic_grouped(f, *keys, **expressions)


def _traffic_grouped(f: Filters, *keys, **expressions) -> dict:
    """``traffic_by`` in one GROUP BY over ``keys``."""
    names = [TRAFFIC_KEYS.get(k, k) for k in keys]
    qs = traffic(f).annotate(**expressions).values(*names) if names else traffic(f)
    sums = {name: Coalesce(Sum(field), 0) for name, field in TRAFFIC.items()}
    rows = [qs.aggregate(**sums)] if not names else qs.annotate(**sums).order_by()
    out: dict = {}
    for r in rows:
        values = tuple((r[n] or None) if n in TRAFFIC_KEYS.values() else r[n] for n in names)
        key = values[0] if len(values) == 1 else values
        counts = out.setdefault(key, dict.fromkeys(TRAFFIC, 0))
        for name in TRAFFIC:
            counts[name] += r[name]
    return out


# the sums every report of the traffic reads, by one key or none (``traffic_by``)
SET_KEYS = ("day", "channel", "consultant")


def _traffic_sets(f: Filters) -> dict:
    """``traffic_by`` of each of ``SET_KEYS`` and of none: {"day": …, "channel": …,
    "consultant": …, (): {(): counts}}. On PostgreSQL one query (``GROUPING SETS``: the
    period's kept rows read once, not once per table: a year's are a hundred thousand),
    elsewhere one GROUP BY each; the same sums either way."""
    qs = traffic(f)
    connection = connections[qs.db]
    if connection.vendor != "postgresql":
        return {key: _traffic_grouped(f, *((key,) if key else ())) for key in (*SET_KEYS, ())}
    keys = [TRAFFIC_KEYS.get(k, k) for k in SET_KEYS]
    fields = list(TRAFFIC.values())
    sql, params = (
        qs.values_list(*keys, *fields).order_by().query.get_compiler(connection=connection).as_sql()
    )
    key_names = [f"k{i}" for i in range(len(keys))]
    sum_names = [f"s{i}" for i in range(len(fields))]
    listed = ", ".join(key_names)
    query = (
        f"SELECT GROUPING({listed}), {listed}, "
        + ", ".join(f"COALESCE(SUM({n}), 0)" for n in sum_names)
        + f" FROM ({sql}) AS kept ({listed}, {', '.join(sum_names)}) GROUP BY GROUPING SETS ("
        + ", ".join(f"({n})" for n in key_names)
        + ", ())"
    )
    # GROUPING(…) has a bit set for each key the row is not grouped by, the first key
    # the highest bit: the set of key i leaves every bit but its own set, () all
    every = (1 << len(keys)) - 1
    set_of = {every ^ (1 << (len(keys) - 1 - i)): SET_KEYS[i] for i in range(len(keys))}
    set_of[every] = ()
    out: dict = {key: {} for key in (*SET_KEYS, ())}
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        for row in cursor.fetchall():
            grouped = set_of[row[0]]
            counts = dict(zip(TRAFFIC, row[1 + len(keys) :], strict=True))
            if grouped == ():
                out[()][()] = counts
                continue
            value = row[1 + SET_KEYS.index(grouped)]
            if grouped != "day":
                value = value or None  # no channel or person: 0 kept, None shown
            sums = out[grouped].setdefault(value, dict.fromkeys(TRAFFIC, 0))
            for name in TRAFFIC:
                sums[name] += counts[name]
    if () not in out[()]:
        out[()][()] = dict.fromkeys(TRAFFIC, 0)
    return out


def registrations(f: Filters):
    """Customers registered in the period (the consultant's: those they registered)."""
    qs = Customer.objects.filter(
        project=f.project, registered_at__gte=f.since, registered_at__lt=f.until
    )
    if f.consultant:
        qs = qs.filter(registered_by=f.consultant)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    return qs


def reserved(f: Filters):
    return Deal.objects.filter(
        deal_scope(f), reserved_at__gte=f.since, reserved_at__lt=f.until
    ).filter(exchanged_from__isnull=True)


def subscribed_q(f: Filters, prefix: str = "") -> Q:
    """What makes a deal a subscription 认购 of the period (``subscribed``)."""
    return Q(
        **{
            f"{prefix}subscribed_at__gte": f.since,
            f"{prefix}subscribed_at__lt": f.until,
            f"{prefix}exchanged_from__isnull": True,
        }
    )


def contracted_q(f: Filters, prefix: str = "") -> Q:
    """What makes a deal a contract 签约 of the period (``contracted``)."""
    return Q(**{f"{prefix}signed_on__gte": f.start, f"{prefix}signed_on__lte": f.end})


def subscribed(f: Filters):
    """Subscriptions 认购 of the period, an exchange's new deal left out (not a sale)."""
    return Deal.objects.filter(deal_scope(f), subscribed_q(f))


def contracted(f: Filters):
    """Contracts 签约 signed in the period."""
    return Deal.objects.filter(deal_scope(f), contracted_q(f))


def sold(f: Filters):
    """The deals subscribed or signed in the period (``subscribed`` or ``contracted``):
    both steps read in one pass over the deals, told apart by ``sold_sums``."""
    return Deal.objects.filter(deal_scope(f)).filter(subscribed_q(f) | contracted_q(f))


def sold_sums(f: Filters, *, area: bool = False) -> dict:
    """The aggregates of ``sold``: the count and amount of its subscriptions
    (``subscribed``, ``subscribed_amount``) and of its contracts (``contracted``,
    ``contracted_amount``), each step counted as ``subscribed`` and ``contracted``
    count it; with ``area``, their priced areas too (``subscribed_area``,
    ``contracted_area``)."""
    subs, cons = subscribed_q(f), contracted_q(f)
    sums = {
        "subscribed": Count("pk", filter=subs),
        "subscribed_amount": Coalesce(Sum("total", filter=subs), ZERO),
        "contracted": Count("pk", filter=cons),
        "contracted_amount": Coalesce(Sum("total", filter=cons), ZERO),
    }
    if area:
        sums["subscribed_area"] = Coalesce(Sum("area", filter=subs), ZERO)
        sums["contracted_area"] = Coalesce(Sum("area", filter=cons), ZERO)
    return sums


def sold_by_consultant(f: Filters) -> dict:
    """``sold`` by consultant with ``sold_sums`` and their areas: {consultant id: sums},
    read once for a report (``Filters.memo``): the daily report's consultants and its
    成交 table (the sums of every consultant's) read the deals in one pass."""
    found = f.memo.get("sold_by_consultant")
    if found is None:
        rows = sold(f).values("consultant").annotate(**sold_sums(f, area=True)).order_by()
        found = f.memo["sold_by_consultant"] = {r.pop("consultant"): r for r in rows}
    return found


def step_sums(f: Filters, step: str) -> dict:
    """The count, priced area and amount of the period's subscriptions
    (``step="subscribed"``) or contracts (``"contracted"``), as ``deal_sums`` gives
    them, summed from ``sold_by_consultant``."""
    rows = sold_by_consultant(f).values()
    return {
        "count": sum(r[step] for r in rows),
        "area": to_fen(sum((to_fen(r[f"{step}_area"]) for r in rows), ZERO)),
        "amount": to_fen(sum((to_fen(r[f"{step}_amount"]) for r in rows), ZERO)),
    }


def cancelled(f: Filters):
    """Cancellations 退房 of the period."""
    return Cancellation.objects.filter(
        deal_scope(f, "deal__"), cancelled_at__gte=f.since, cancelled_at__lt=f.until
    )


def exchanges(f: Filters):
    return DealChange.objects.filter(
        deal_scope(f, "deal__"), kind=ChangeKind.EXCHANGE, at__gte=f.since, at__lt=f.until
    )


def deal_sums(qs, prefix: str = "") -> dict:
    """Count, priced area and total of deals (``prefix`` to reach the deal)."""
    row = qs.aggregate(
        count=Count("pk"),
        area=Coalesce(Sum(f"{prefix}area"), ZERO),
        amount=Coalesce(Sum(f"{prefix}total"), ZERO),
    )
    # to the fen: SQLite sums decimals as floats
    return {"count": row["count"], "area": to_fen(row["area"]), "amount": to_fen(row["amount"])}


def money(f: Filters):
    """Money in and out in the period, as finance's day sheet counts it: the project's
    signed ledger rows, carries left out (they move money between a deal and another,
    or from a sincerity deposit into a deal's deposit: it was counted when it came in).
    A sincerity deposit 诚意金 has no deal yet: it counts for its customer's owner and
    channel, and not under a building filter."""
    qs = LedgerEntry.objects.filter(
        project=f.project, paid_on__gte=f.start, paid_on__lte=f.end
    ).exclude(kind=EntryKind.CARRY)
    if f.building:
        qs = qs.filter(deal__unit__building=f.building)
    if f.consultant:
        qs = qs.filter(
            Q(deal__consultant=f.consultant) | Q(deal__isnull=True, customer__owner=f.consultant)
        )
    if f.channel:
        qs = qs.filter(
            Q(deal__customer__channel=f.channel) | Q(deal__isnull=True, customer__channel=f.channel)
        )
    return qs


def money_owner():
    """Whose a ledger row is (the consultant ``money`` filters on): its deal's
    consultant, or for a sincerity deposit without a deal its customer's owner."""
    return Coalesce(F("deal__consultant"), F("customer__owner"))


def money_by_method(f: Filters) -> list[dict]:
    """Collections by method: received (receipts and their reversals) and refunded."""
    rows = {}
    for row in (
        money(f)
        .values("method")
        .annotate(
            received=Coalesce(Sum("amount", filter=~Q(kind=EntryKind.REFUND)), ZERO),
            refunded=Coalesce(Sum("amount", filter=Q(kind=EntryKind.REFUND)), ZERO),
            count=Count("pk", filter=Q(kind=EntryKind.RECEIPT)),
        )
        .order_by()
    ):
        rows[row["method"]] = row
    labels = dict(Method.choices)
    result = []
    for method, label in labels.items():
        if method not in rows:
            continue
        r = rows[method]
        r["received"], r["refunded"] = to_fen(r["received"]), to_fen(r["refunded"])
        result.append(
            {
                "method": str(label),
                "count": r["count"],
                "received": r["received"],
                "refunded": -r["refunded"],
                "net": r["received"] + r["refunded"],
            }
        )
    return result


def units(f: Filters):
    """The project's units (the building filter applied), attached parking and storage
    included, as they stand now."""
    qs = Unit.objects.filter(project=f.project)
    if f.building:
        qs = qs.filter(building=f.building)
    return qs


def units_by_status(f: Filters) -> dict[str, int]:
    counts = dict(units(f).values_list("status").annotate(n=Count("pk")).order_by())
    return counts


def sold_q(prefix: str = "") -> Q:
    return Q(**{f"{prefix}status__in": SOLD_STATUSES})


def consultant_name(user) -> str:
    if user is None:
        return ""
    return user.real_name or user.username
