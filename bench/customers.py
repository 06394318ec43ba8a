"""Customers at scale (issue Customers): registration with the duplicate check, and search
by phone tail and by pinyin initials, on one million customers. PostgreSQL only:

    DATABASE_URL=postgres://… .venv/bin/python bench/customers.py [--customers 1000000]

Prints the median and p99 of each operation, in milliseconds. Builds its own database
(``loupan_bench_customers``) and drops it at the end.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loupan.settings")
os.environ.setdefault("LOUPAN_VAR_DIR", tempfile.mkdtemp(prefix="loupan-bench-"))
os.environ.setdefault("TEST_DATABASE_NAME", "loupan_bench_customers")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


def stats(samples):
    samples = sorted(samples)
    p99 = samples[max(0, int(len(samples) * 0.99) - 1)]
    return statistics.median(samples), p99


def timed(fn, repeat):
    samples = []
    for i in range(repeat):
        start = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - start) * 1000)
    return stats(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("bench/customers.py needs PostgreSQL: set DATABASE_URL")
        return 1
    setup_test_environment()
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(args.customers)
    finally:
        connection.creation.destroy_test_db(name, verbosity=0)
    return 0


def run(n):
    from loupan.accounts.models import User
    from loupan.core.demo import build_demo
    from loupan.customers import selectors, services

    office = build_demo()
    project = office["main"]
    consultant = User.objects.get(username="consultant")
    start = time.perf_counter()
    with connection.cursor() as cur:
        # Names from a small syllable table; numbers 150xxxxxxxx upwards: unique per row.
        cur.execute(
            """
            INSERT INTO customers_customer
              (project_id, owner_id, name, name_initials, gender, age_band, phone, phone_tail, phone2, id_number,
               occupation, income_band, residence_district, work_district, wanted_layout, wanted_area,
               floor_preference, purpose, timing, motive, note, grade, stage, registered_at, registered_by_id,
               last_follow_up_at, ownership_expires_at, in_pool, consent_version, problem, updated_at)
            SELECT %s, %s,
                   (ARRAY['张','王','李','赵','刘','陈','杨','黄'])[1 + g %% 8] ||
                   (ARRAY['伟','芳','娜','敏','静','强','磊','军'])[1 + (g / 8) %% 8],
                   (ARRAY['z','w','l','z','l','c','y','h'])[1 + g %% 8] ||
                   (ARRAY['w','f','n','m','j','q','l','j'])[1 + (g / 8) %% 8],
                   '', '', '+86' || (15000000000 + g)::text, right((15000000000 + g)::text, 4), '', '',
                   '', '', '', '', 'B1', '', '', '', '', '', '', 'C', 'potential', now(), %s,
                   now(), now() + interval '30 days', false, '', '', now()
            FROM generate_series(1, %s) AS g
            """,
            [project.pk, consultant.pk, consultant.pk, n],
        )
        cur.execute("ANALYZE customers_customer")
    print(
        f"# Customers on PostgreSQL: {n:,} customers loaded in {time.perf_counter() - start:.1f} s"
    )
    print(f"{'operation':<44}{'median ms':>10}{'p99 ms':>10}")

    def register(i):
        services.customer_register(
            actor=consultant,
            project=project,
            name="基准客户",
            phone=f"1390000{i:04d}",
            wanted_layout="B1",
        )

    def duplicate(i):
        try:
            services.customer_register(
                actor=consultant,
                project=project,
                name="重复",
                phone=f"{15000000001 + i * 997}",
                wanted_layout="B1",
            )
        except services.CustomerExists:
            return
        raise AssertionError("duplicate not found")

    qs = selectors.customer_list(user=consultant, project=project)

    def by_tail(i):
        list(selectors.search(qs, f"{(i * 37) % 10000:04d}").order_by("-last_follow_up_at")[:50])

    def by_initials(i):
        list(
            selectors.search(qs, ["zw", "wf", "ln", "cq", "hj"][i % 5]).order_by(
                "-last_follow_up_at"
            )[:50]
        )

    for label, fn, repeat in (
        ("register a new customer (duplicate check)", register, 200),
        ("register an existing number (409)", duplicate, 200),
        ("search by phone tail, first page", by_tail, 200),
        ("search by pinyin initials, first page", by_initials, 200),
    ):
        median, p99 = timed(fn, repeat)
        print(f"{label:<44}{median:>10.2f}{p99:>10.2f}")


if __name__ == "__main__":
    sys.exit(main())
