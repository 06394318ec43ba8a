"""Reports at scale (issue 15 "Every report"): every report registered in
``loupan.reports.engine.REPORTS``, for the office (the demo manager) and for a consultant
(their own figures), for its default period, a month and a year, first on the demo office
and then on a large one: 1,000,000 customers, 5,000,000 follow-ups, 50,000 deals with
their money, built by ``loupan bench-office``. The budget is one second per report.

    eval "$(scripts/pg.sh start)"
    .venv/bin/python bench/reports.py                                   # full size
    .venv/bin/python bench/reports.py --customers 20000 --follow-ups 100000 --deals 2000
    scripts/pg.sh stop "$PGTMP"

Each report is also exported as the year's xlsx through the API (``POST
/api/v1/reports/<code>/export/``: the whole file, every line of a long table; the
period column says "year … xlsx"), and the 成交客户档案 of the year is read as JSON from
the API (``GET /api/v1/reports/buyers/``, a page of ``engine.PAGE_SIZE`` lines: the
first, "year … api", and the twentieth, "year … api p20"): a year's archive is twenty
thousand lines, which the API answers a page at a time.

Prints, per report, viewer and period: the median and p99 in milliseconds (after one
warm-up call), the number of queries and the median time spent in them ("db ms"; the
rest is Python), and the ratio large / demo of the medians measured side by side in the
same run; rows over budget are flagged. Also prints how long the
generator took. ``--explain`` adds EXPLAIN ANALYZE of the slowest queries of every case
over budget; ``--keep`` keeps the database (``loupan_bench_reports``) for a closer look,
otherwise it is dropped at the end. PostgreSQL only for the large office: on SQLite only
the demo office is measured.

Periods: the default is the report's own period around today (as the page opens it); the
month is the last full calendar month, the year the last full calendar year (the
generator spreads the history over the 24 months before today), and a range of six
weeks from the middle of the month before the last to near the end of the last.
"""

import argparse
import datetime
import math
import os
import statistics
import sys
import tempfile
import time
from urllib.parse import urlencode

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loupan.settings")
os.environ.setdefault("LOUPAN_VAR_DIR", tempfile.mkdtemp(prefix="loupan-bench-"))
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("TEST_DATABASE_NAME", "loupan_bench_reports")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

BUDGET_MS = 1000.0


def stats(samples):
    samples = sorted(samples)
    p99 = samples[min(len(samples) - 1, math.ceil(len(samples) * 0.99) - 1)]
    return statistics.median(samples), p99


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--follow-ups", type=int, default=5_000_000, dest="follow_ups")
    parser.add_argument("--deals", type=int, default=50_000)
    parser.add_argument("--calls", type=int, default=None)
    parser.add_argument("--visits", type=int, default=None)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--consultants", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per case (max)")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=8.0,
        help="stop repeating a case after this long (at least 3 calls, 1 if over 3 s)",
    )
    parser.add_argument("--only", default="", help="comma-separated report codes")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE over budget")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the large office of a database kept by --keep again (implies --keep)",
    )
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows when piped to a file
    setup_test_environment()
    if connection.vendor != "postgresql":
        print(
            "bench/reports.py: the large office needs PostgreSQL (set DATABASE_URL); "
            "measuring the demo office on SQLite only.",
            file=sys.stderr,
        )
    args.keep = args.keep or args.reuse
    name = connection.creation.create_test_db(
        verbosity=0, autoclobber=True, keepdb=args.reuse, serialize=False
    )
    try:
        run(args)
    finally:
        if args.keep:
            print(f"\n(database {name} kept)")
        else:
            connection.creation.destroy_test_db(name, verbosity=0)
    return 0


def cases(spec, today):
    """(label, params, way) of the periods to time: the report's default, a month, a
    year and a range of six weeks across two months (no kept figures are by such a
    range), built as the page builds it (way "build"); then the year's workbook as the
    API exports it (``POST /api/v1/reports/<code>/export/``, way "xlsx": the whole
    file, every line of a long table), and for the 成交客户档案 the year's JSON from the
    API (``GET /api/v1/reports/buyers/``, way "api": its first page and its twentieth,
    the total and the count of the whole year on each)."""
    last_month = today.replace(day=1) - datetime.timedelta(days=1)
    last_year = today.replace(month=1, day=1) - datetime.timedelta(days=1)
    start = last_month.replace(day=1) - datetime.timedelta(days=17)
    end = start + datetime.timedelta(days=41)
    year = {"period": "year", "date": str(last_year)}
    found = [
        (f"{spec.period} (default)", {}, "build"),
        (f"month {last_month:%Y-%m}", {"period": "month", "date": str(last_month)}, "build"),
        (f"year {last_year:%Y}", year, "build"),
        (f"{start:%m-%d}–{end:%m-%d}", {"start": str(start), "end": str(end)}, "build"),
        (f"year {last_year:%Y} xlsx", year, "xlsx"),
    ]
    if spec.code == "buyers":
        found.append((f"year {last_year:%Y} api", year, "api"))
        found.append((f"year {last_year:%Y} api p20", {**year, "page": 20}, "api"))
    return found


def caller(code, user, project, params, way):
    """A call of one case: the report built (as the page builds it), or the API's
    answer through the URL, the middleware and the renderer (the xlsx export, the
    JSON), the status checked."""
    from loupan.reports import engine

    if way == "build":
        return lambda: engine.build(code, user, project, params)
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    query = {"project": project.pk, **params}
    if way == "xlsx":

        def call():
            response = client.post(f"/api/v1/reports/{code}/export/?" + urlencode(query))
            assert response.status_code == 200 and response.content[:2] == b"PK", response
            return response

        return call

    def call():
        response = client.get(f"/api/v1/reports/{code}/", query)
        assert response.status_code == 200, response
        return response.content

    return call


def measure(args, project, users, label):
    """Every registered report, for each viewer who may open it, for each period:
    {(code, who, period): (median, p99, queries, error)}."""
    from loupan.reports import engine

    today = timezone.localdate()
    only = {c.strip() for c in args.only.split(",") if c.strip()}
    results = {}
    print(f"\n## {label}")
    print(
        f"{'report':<30}{'as':<12}{'period':<18}{'median ms':>10}{'p99 ms':>10}{'queries':>9}"
        f"{'db ms':>9}"
    )
    for code, spec in list(engine.REPORTS.items()):
        if only and code not in only:
            continue
        for who, user in users.items():
            if not engine.may_open(user, project, spec):
                continue
            for period, params, way in cases(spec, today):
                call = caller(code, user, project, params, way)
                error = None
                samples, db, queries = [], [], 0
                try:
                    t0 = time.perf_counter()
                    call()  # warm-up: caches, the first query plans
                    # a case far over budget is timed fewer times (at least once)
                    least = 1 if time.perf_counter() - t0 > 3 * BUDGET_MS / 1000 else 3
                    started = time.perf_counter()
                    for _i in range(max(1, args.repeat)):
                        reset_queries()
                        with CaptureQueriesContext(connection) as ctx:
                            t0 = time.perf_counter()
                            call()
                            samples.append((time.perf_counter() - t0) * 1000)
                        queries = len(ctx.captured_queries)
                        db.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
                        elapsed = time.perf_counter() - started
                        if len(samples) >= least and elapsed > args.max_seconds:
                            break
                except Exception as exc:  # a report that fails is a finding, not the end
                    error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:80]}"
                if error:
                    results[(code, who, period)] = (None, None, None, error, None)
                    print(f"{code:<30}{who:<12}{period:<18}  ERROR {error}")
                    continue
                median, p99 = stats(samples)
                db_ms = statistics.median(db)
                results[(code, who, period)] = (median, p99, queries, None, db_ms)
                flag = "  OVER 1 s" if median > BUDGET_MS or p99 > BUDGET_MS else ""
                print(
                    f"{code:<30}{who:<12}{period:<18}{median:>10.1f}{p99:>10.1f}{queries:>9}"
                    f"{db_ms:>9.1f}{flag}"
                )
    return results


def explain(project, users, keys):
    """The three slowest queries of each case over budget, with EXPLAIN ANALYZE."""
    from loupan.reports import engine

    today = timezone.localdate()
    for code, who, period in keys:
        spec = engine.REPORTS[code]
        params, way = {label: (p, w) for label, p, w in cases(spec, today)}[period]
        with CaptureQueriesContext(connection) as ctx:
            caller(code, users[who], project, params, way)()
        reads = [q for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
        slowest = sorted(reads, key=lambda q: float(q["time"]), reverse=True)[:3]
        print(f"\n### {code} · {who} · {period}: {len(ctx.captured_queries)} queries")
        for q in slowest:
            print(f"\n-- {float(q['time']) * 1000:.0f} ms\n{q['sql']}")
            with connection.cursor() as cur:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + q["sql"])
                print("\n".join(row[0] for row in cur.fetchall()))


def sizes(project):
    from loupan.customers.models import CallRecord, Customer, FollowUp, Visit
    from loupan.deals.models import Deal
    from loupan.inventory.models import Unit
    from loupan.payments.models import LedgerEntry, ScheduleItem

    return {
        "customers": Customer.objects.filter(project=project).count(),
        "follow-ups": FollowUp.objects.filter(customer__project=project).count(),
        "visits": Visit.objects.filter(customer__project=project).count(),
        "calls": CallRecord.objects.filter(project=project).count(),
        "units": Unit.objects.filter(project=project).count(),
        "deals": Deal.objects.filter(project=project).count(),
        "schedule items": ScheduleItem.objects.filter(project=project).count(),
        "ledger entries": LedgerEntry.objects.filter(project=project).count(),
    }


def run(args):
    from loupan.accounts.models import User
    from loupan.core.demo import build_demo
    from loupan.reports import engine

    if args.reuse:
        from loupan.inventory.models import Project

        project = Project.objects.get(code="CHW")
        users = {
            "manager": User.objects.get(username="manager"),
            "consultant": User.objects.get(username="consultant"),
        }
        big_sizes = sizes(project)
        big = measure(
            args,
            project,
            users,
            "large office (reused): " + ", ".join(f"{v:,} {k}" for k, v in big_sizes.items()),
        )
        over = [k for k, v in big.items() if v[0] is not None and max(v[0], v[1]) > BUDGET_MS]
        print(f"\n{len(big)} cases, {len(over)} over {BUDGET_MS:.0f} ms")
        if over and args.explain:
            explain(project, users, over)
        return
    office = build_demo()
    project = office["main"]
    users = {
        "manager": User.objects.get(username="manager"),
        "consultant": User.objects.get(username="consultant"),
    }
    print(
        f"# Reports on {connection.vendor}: {len(engine.REPORTS)} registered "
        f"({', '.join(engine.REPORTS)}); budget {BUDGET_MS:.0f} ms; today {timezone.localdate()}"
    )
    small_sizes = sizes(project)
    small = measure(
        args,
        project,
        users,
        "demo office: " + ", ".join(f"{v:,} {k}" for k, v in small_sizes.items()),
    )
    if connection.vendor != "postgresql":
        print("\n(the large office needs PostgreSQL: set DATABASE_URL)")
        return
    print("\n## generator: loupan bench-office")
    started = time.perf_counter()
    call_command(
        "bench-office",
        project=project.code,
        customers=args.customers,
        follow_ups=args.follow_ups,
        deals=args.deals,
        calls=args.calls,
        visits=args.visits,
        months=args.months,
        consultants=args.consultants,
    )
    generator = time.perf_counter() - started
    big_sizes = sizes(project)
    print(f"generator: {generator:.1f} s")
    big = measure(
        args,
        project,
        users,
        "large office: " + ", ".join(f"{v:,} {k}" for k, v in big_sizes.items()),
    )
    print(f"\n## large / demo (medians; generator {generator:.0f} s)")
    print(
        f"{'report':<30}{'as':<12}{'period':<18}{'demo ms':>9}{'large ms':>10}{'p99 ms':>9}"
        f"{'queries':>9}{'db ms':>9}{'ratio':>8}"
    )
    over = []
    for key, (median, p99, queries, error, db_ms) in big.items():
        code, who, period = key
        before = small.get(key, (None,))[0]
        if error:
            print(f"{code:<30}{who:<12}{period:<18}  ERROR {error}")
            continue
        ratio = f"{median / before:.1f}×" if before else "—"
        flag = ""
        if median > BUDGET_MS or p99 > BUDGET_MS:
            flag = "  OVER 1 s"
            over.append(key)
        demo = f"{before:.1f}" if before is not None else "—"
        print(
            f"{code:<30}{who:<12}{period:<18}{demo:>9}{median:>10.1f}{p99:>9.1f}"
            f"{queries:>9}{db_ms:>9.1f}{ratio:>8}{flag}"
        )
    errors = [k for k, v in big.items() if v[3]]
    print(
        f"\n{len(big) - len(errors)} cases measured, {len(over)} over {BUDGET_MS:.0f} ms, "
        f"{len(errors)} errors; generator {generator:.1f} s"
    )
    if over and args.explain:
        explain(project, users, over)


if __name__ == "__main__":
    sys.exit(main())
