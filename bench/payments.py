"""Payments at scale (issue 13): recording a receipt end to end, and the customer payment
detail list 客户交款情况明细表 on 50,000 deals.

    .venv/bin/python bench/payments.py                       # SQLite (a temporary db)
    DATABASE_URL=postgres://… .venv/bin/python bench/payments.py [--deals 50000]

Prints medians and p99 in milliseconds, query counts, and ratios measured side by side
in the same run (the service alone against the whole request; the list on the demo's
deals against the list on ``--deals`` deals). Builds its own database
(``loupan_bench_payments``) and drops it at the end.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loupan.settings")
os.environ.setdefault("LOUPAN_VAR_DIR", tempfile.mkdtemp(prefix="loupan-bench-"))
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("TEST_DATABASE_NAME", "loupan_bench_payments")

import django  # noqa: E402

django.setup()

from django.db import connection, reset_queries  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402


def stats(samples):
    samples = sorted(samples)
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.99) - 1)]


def timed(fn, repeat):
    samples, queries = [], 0
    for i in range(repeat):
        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            fn(i)
            samples.append((time.perf_counter() - start) * 1000)
        queries = len(ctx.captured_queries)
    median, p99 = stats(samples)
    return median, p99, queries


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--deals", type=int, default=50_000)
    parser.add_argument("--receipts", type=int, default=40)
    args = parser.parse_args()
    setup_test_environment()
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(args)
    finally:
        connection.creation.destroy_test_db(name, verbosity=0)
    return 0


def client_of(user):
    from django.test import Client

    client = Client()
    client.force_login(user, backend="loupan.accounts.backends.ProjectRoleBackend")
    return client


def receipts_bench(office, n):
    from loupan.accounts.models import User
    from loupan.deals.models import Deal
    from loupan.payments import services

    project = office["main"]
    finance = User.objects.get(username="finance")
    deal = (
        Deal.objects.filter(project=project, status="subscribed", payment_method="commercial")
        .order_by("pk")
        .first()
    )
    client = client_of(finance)
    url = f"/projects/{project.pk}/payments/deals/{deal.pk}/record/"

    def by_service(i):
        services.payment_record(actor=finance, deal=deal, amount="1.00", method="cash")

    def by_page(i):
        response = client.post(url, {"amount": "1.00", "method": "cash"})
        assert response.status_code == 302, response.status_code
        assert response["Location"].endswith(f"/payments/deals/{deal.pk}/"), response["Location"]

    def by_api(i):
        response = api.post(
            "/api/v1/payments/",
            {"deal": deal.pk, "amount": "1.00", "method": "cash"},
            format="json",
        )
        assert response.status_code == 201, response.content

    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(finance)
    print(f"\n## recording a receipt end to end ({connection.vendor}, {n} receipts each)")
    print(f"{'path':<34}{'median ms':>11}{'p99 ms':>9}{'queries':>9}")
    rows = []
    for label, fn in (
        ("service (payment_record)", by_service),
        ("page POST …/record/ (+ redirect)", by_page),
        ("API POST /api/v1/payments/", by_api),
    ):
        median, p99, queries = timed(fn, n)
        rows.append(median)
        print(f"{label:<34}{median:>11.1f}{p99:>9.1f}{queries:>9}")
    print(f"page / service: {rows[1] / rows[0]:.2f}×; API / service: {rows[2] / rows[0]:.2f}×")


def detail_bench(office, label, repeat=15):
    from loupan.accounts.models import User

    project = office["main"]
    finance = User.objects.get(username="finance")
    consultant = User.objects.get(username="consultant")
    out = {}
    for who, user in (("finance", finance), ("consultant", consultant)):
        client = client_of(user)
        for tail in ("", "?overdue=on", "?payment_method=instalments&page=3"):
            url = f"/projects/{project.pk}/payments/{tail}"

            def get(i, url=url, client=client):
                response = client.get(url)
                assert response.status_code == 200, response.status_code

            median, p99, queries = timed(get, repeat)
            out[(who, tail)] = median
            print(
                f"{label:<10}{who:<12}{tail or '(first page)':<40}{median:>9.1f}{p99:>9.1f}{queries:>9}"
            )
    return out


def grow(project, n):
    """``n`` more paying deals with a schedule of two items and two ledger entries each
    (about a third overdue), inserted in bulk."""
    from loupan.deals.models import Deal

    if connection.vendor != "postgresql":
        raise SystemExit("growing the office needs PostgreSQL")
    base = Deal.objects.filter(project=project).order_by("pk").first()
    start = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            """
            CREATE TEMP TABLE bench_units AS
              SELECT row_number() OVER (ORDER BY id) - 1 AS i, id FROM inventory_unit WHERE project_id = %s;
            CREATE TEMP TABLE bench_customers AS
              SELECT row_number() OVER (ORDER BY id) - 1 AS i, id, owner_id FROM customers_customer
              WHERE project_id = %s AND owner_id IS NOT NULL;
            """,
            [project.pk, project.pk],
        )
        cur.execute(
            """
            INSERT INTO deals_deal (project_id, unit_id, customer_id, consultant_id, status,
                reservation_number, reserved_at, number, subscribed_at, pricing_basis, area,
                unit_price, list_total, discount_amount, total, payment_method, deposit,
                signing_deadline, deposit_confirmed_at, deposit_confirmed_by_id,
                contract_number, signed_on, filing_status, filing_number, contract_scan,
                end_reason, note, created_by_id, updated_at)
            SELECT %(project)s, u.id, c.id, c.owner_id,
                   CASE WHEN g %% 2 = 0 THEN 'contracted' ELSE 'subscribed' END,
                   'BENCH-BL-' || g, now(), 'BENCH-RG-' || g, now(), 'gross_area', 100,
                   20000, 2000000, 0, 2000000,
                   (ARRAY['one_off','instalments','commercial','provident','combined'])[1 + g %% 5],
                   100000, current_date + 7, now(), %(user)s,
                   CASE WHEN g %% 2 = 0 THEN 'BENCH-HT-' || g ELSE '' END,
                   CASE WHEN g %% 2 = 0 THEN current_date ELSE NULL END,
                   'none', '', '', '', '', %(user)s, now()
            FROM generate_series(1, %(n)s) AS g
            JOIN bench_units u ON u.i = g %% (SELECT count(*) FROM bench_units)
            JOIN bench_customers c ON c.i = g %% (SELECT count(*) FROM bench_customers)
            """,
            {"project": project.pk, "user": base.created_by_id, "n": n},
        )
        cur.execute(
            """
            INSERT INTO payments_scheduleitem (project_id, deal_id, seq, kind, name, amount,
                due_date, original_due_date, live, created_at)
            SELECT project_id, id, s.seq,
                   CASE WHEN s.seq = 1 THEN 'down_payment' ELSE 'commercial_loan' END,
                   CASE WHEN s.seq = 1 THEN '首付款' ELSE '商业贷款' END,
                   CASE WHEN s.seq = 1 THEN 600000 ELSE 1400000 END,
                   current_date + (CASE WHEN s.seq = 1 THEN (id %% 90) - 30 ELSE 90 END)::int,
                   current_date + (CASE WHEN s.seq = 1 THEN (id %% 90) - 30 ELSE 90 END)::int,
                   true, now()
            FROM deals_deal, (VALUES (1), (2)) AS s(seq)
            WHERE number LIKE 'BENCH-RG-%%'
            """,
            [],
        )
        cur.execute(
            """
            INSERT INTO payments_ledgerentry (project_id, deal_id, item_id, kind, purpose,
                method, amount, paid_on, payer, bank, bank_reference, reason, created_by_id,
                created_at)
            SELECT i.project_id, i.deal_id, i.id, 'receipt', p.purpose, p.method, p.amount,
                   current_date - 40, '', '', '', '', %(user)s, now()
            FROM payments_scheduleitem i
            JOIN deals_deal d ON d.id = i.deal_id AND d.number LIKE 'BENCH-RG-%%'
            CROSS JOIN (VALUES ('deposit', 'transfer', 100000), ('price', 'pos', 200000))
                AS p(purpose, method, amount)
            WHERE i.seq = 1
            """,
            {"user": base.created_by_id},
        )
        cur.execute("ANALYZE")
    return time.perf_counter() - start


def run(args):
    from loupan.accounts.models import User
    from loupan.core.demo import build_demo

    office = build_demo()
    # the demo accounts have changed their first password (no forced change here)
    User.objects.update(must_change_password=False)
    receipts_bench(office, args.receipts)
    from loupan.deals.models import Deal

    project = office["main"]
    small = Deal.objects.filter(project=project, status__in=("subscribed", "contracted")).count()
    print("\n## 客户交款情况明细表 (the customer payment detail list)")
    print(f"{'deals':<10}{'as':<12}{'page':<40}{'median ms':>9}{'p99 ms':>9}{'queries':>9}")
    before = detail_bench(office, f"{small}")
    if connection.vendor != "postgresql":
        print("(the 50,000-deal run needs PostgreSQL: set DATABASE_URL)")
        return
    seconds = grow(project, args.deals)
    big = Deal.objects.filter(project=project, status__in=("subscribed", "contracted")).count()
    print(f"(inserted {args.deals:,} deals with schedules and receipts in {seconds:.1f} s)")
    after = detail_bench(office, f"{big}")
    print(f"ratio {big:,} deals / {small} deals (median):")
    for key, value in after.items():
        print(f"  {key[0]:<12}{key[1] or '(first page)':<40}{value / before[key]:>6.1f}×")


if __name__ == "__main__":
    sys.exit(main())
