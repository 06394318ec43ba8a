"""Loupan benchmarks: print figures, not pass/fail.

    .venv/bin/python bench/run.py                 # SQLite (a temporary database)
    DATABASE_URL=postgres://… .venv/bin/python bench/run.py   # PostgreSQL (creates test_… db)

Foundation figures: audit-trail append rate, chain verification rate, the permission
check, and the server time and query count of the main pages as the office grows.
"""

import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loupan.settings")
os.environ.setdefault("LOUPAN_VAR_DIR", tempfile.mkdtemp(prefix="loupan-bench-"))
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
# Its own database on PostgreSQL, never the test suite's.
os.environ.setdefault("TEST_DATABASE_NAME", "loupan_bench")

import django  # noqa: E402

django.setup()

from django.db import connection, reset_queries  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402


def timed(fn, repeat=20):
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[
        int(len(samples) * 0.99) - 1 if len(samples) > 1 else 0
    ]


def main():
    setup_test_environment()
    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(db_name)
    finally:
        connection.creation.destroy_test_db(db_name, verbosity=0)


def board_bench(office, client):
    """The 销控 board of a 300-unit and a 3,000-unit project: server time and queries."""
    from decimal import Decimal

    from loupan.accounts.models import Membership, Role, User
    from loupan.inventory.models import Building, Project, Unit

    print("\n## sales-control board (issue Inventory)")
    print(
        f"{'units':>7}{'page median ms':>16}{'p99 ms':>9}{'queries':>9}{'api median ms':>15}{'queries':>9}"
    )
    admin = User.objects.get(username="salesadmin")
    figures = {}
    for size in (300, 3000):
        project = Project.objects.create(
            company=office["company"],
            name=f"基准项目{size}",
            code=f"B{size}",
            city="成都",
            address="—",
        )
        Membership.objects.create(
            user=admin, project=project, role=Role.objects.get(code="sales_admin")
        )
        per_building = 300
        units = []
        for b in range(size // per_building):
            building = Building.objects.create(
                project=project,
                name=f"{b + 1}栋",
                floors_above=30,
                stairs=2,
                units_per_floor=5,
                sort_order=b,
            )
            for stair in (1, 2):
                for floor in range(1, 31):
                    for room in range(1, 6):
                        price = Decimal(15000 + floor * 50) * Decimal("100.00")
                        units.append(
                            Unit(
                                project=project,
                                building=building,
                                stair=stair,
                                floor=floor,
                                room=f"{room:02d}",
                                number=f"{b + 1}栋{stair}单元{floor}{room:02d}",
                                gross_area=Decimal("100.00"),
                                list_price=price,
                                unit_price=price / 100,
                                status=["available", "held", "subscribed", "contracted"][room % 4],
                            )
                        )
        Unit.objects.bulk_create(units, batch_size=1000)
        from loupan.accounts.access import clear_cache

        clear_cache(admin)
        client.force_login(admin, backend="loupan.accounts.backends.ProjectRoleBackend")
        page, api = (
            f"/projects/{project.pk}/board/",
            f"/api/v1/projects/{project.pk}/sales-control/",
        )
        for path in (page, api):
            assert client.get(path).status_code == 200, path
        reset_queries()
        with CaptureQueriesContext(connection) as q_page:
            client.get(page)
        reset_queries()
        with CaptureQueriesContext(connection) as q_api:
            client.get(api)
        page_med, page_p99 = timed(lambda p=page: client.get(p), repeat=10)
        api_med, _ = timed(lambda a=api: client.get(a), repeat=10)
        figures[size] = (page_med, api_med)
        print(
            f"{size:>7}{page_med:>16.1f}{page_p99:>9.1f}{len(q_page.captured_queries):>9}{api_med:>15.1f}"
            f"{len(q_api.captured_queries):>9}"
        )
    print(
        f"ratio 3000/300: page {figures[3000][0] / figures[300][0]:.2f}x, api {figures[3000][1] / figures[300][1]:.2f}x"
        " (queries stay the same)"
    )


def run(db_name):
    from django.test import Client

    from loupan.accounts import access
    from loupan.accounts.models import Membership, Role, User
    from loupan.audit.services import audit_record, verify_chain
    from loupan.core.demo import build_demo

    vendor = connection.vendor
    print(f"# Loupan foundation benchmarks on {vendor} ({db_name})")
    office = build_demo()
    User.objects.update(must_change_password=False)

    # 1. Audit trail append rate (each append: lock, read last hash, hash, insert).
    n = 2000
    start = time.perf_counter()
    for i in range(n):
        audit_record(
            actor=None, action="action", object_type="bench.item", object_id=i, username="bench"
        )
    append_s = time.perf_counter() - start
    print(
        f"audit append: {n} entries in {append_s:.2f} s = {n / append_s:,.0f} entries/s "
        f"({append_s / n * 1000:.2f} ms each)"
    )

    start = time.perf_counter()
    checked, broken, _ = verify_chain()
    verify_s = time.perf_counter() - start
    print(
        f"verify-audit: {checked} entries in {verify_s:.2f} s = {checked / verify_s:,.0f} entries/s "
        f"(intact: {broken is None})"
    )

    # 2. The permission check: first call loads grants (1 query), then it is cached.
    consultant = User.objects.get(username="consultant")
    reset_queries()
    with CaptureQueriesContext(connection) as ctx:
        for _ in range(1000):
            access.has_perm(consultant, "project.view", office["main"])
    print(f"has_perm x1000: {len(ctx.captured_queries)} queries")

    # 3. Pages as the office grows: users and memberships x1 and x10.
    client = Client()
    client.force_login(
        User.objects.get(username="sysadmin"), backend="loupan.accounts.backends.ProjectRoleBackend"
    )
    pages = [
        "/",
        "/users/",
        "/projects/",
        f"/projects/{office['main'].pk}/",
        "/roles/",
        "/audit/",
        "/api/v1/users/",
        "/api/v1/audit-entries/",
    ]
    results = {}
    for label, extra_users in (("11 users", 0), ("511 users", 500)):
        role = Role.objects.get(code="consultant")
        users = [
            User(username=f"bench{label[:3].strip()}{i}", real_name=f"顾问{i}")
            for i in range(extra_users)
        ]
        User.objects.bulk_create(users)
        Membership.objects.bulk_create(
            Membership(user=u, project=office["main"], role=role)
            for u in User.objects.filter(username__startswith="bench")
        )
        print(f"\n## {label}")
        print(f"{'page':<32}{'median ms':>10}{'p99 ms':>10}{'queries':>9}")
        for path in pages:
            reset_queries()
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            median, p99 = timed(lambda p=path: client.get(p))
            results[(label, path)] = (median, len(ctx.captured_queries))
            print(f"{path:<32}{median:>10.1f}{p99:>10.1f}{len(ctx.captured_queries):>9}")
    print("\n## ratio 511 users / 11 users (time, queries)")
    for path in pages:
        t1, q1 = results[("11 users", path)]
        t2, q2 = results[("511 users", path)]
        print(f"{path:<32}{t2 / t1:>8.2f}x{q2 / max(q1, 1):>8.2f}x")

    board_bench(office, client)


if __name__ == "__main__":
    sys.exit(main())
