"""Background imports (issue 12, finding Imports): a 10,000-row customer import and a
3,000-unit import through the real pages (upload → check job → preview → commit job),
with the latency of a light page while each job runs next to the same page idle.

    .venv/bin/python bench/imports.py                 # SQLite file under a temporary var/
    .venv/bin/python bench/imports.py --customers 2000 --units 600

The jobs run in a background thread of this process (LOUPAN_IMPORT_BACKGROUND, as under
`make demo` or gunicorn); the Django test client polls the job's progress and opens the
other page from the main thread, as another request of the same server process would.
Prints figures, asserts nothing about time.
"""

import argparse
import io
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loupan.settings")
os.environ.setdefault("LOUPAN_VAR_DIR", tempfile.mkdtemp(prefix="loupan-bench-"))
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("TEST_DATABASE_NAME", "loupan_bench_imports")
os.environ["LOUPAN_IMPORT_BACKGROUND"] = "1"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(sheet_title, headers, rows) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_title)
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(h) for h in headers])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def customers_file(count) -> bytes:
    from loupan.customers import imports

    headers = [c.header for c in imports.COLUMNS]
    owner = next(h for h in headers if h.startswith("置业顾问"))
    rows = (
        {
            "姓名/称呼": f"客户{i}",
            "手机号": f"166{i:08d}",
            "意向户型": "B1 三室",
            "等级": "ABCD"[i % 4],
            "阶段": "意向",
            owner: "consultant",
            "登记时间": "2026-01-05 10:30",
            "认知途径": "朋友介绍",
            "预算上限（万元）": 180,
        }
        for i in range(1, count + 1)
    )
    return workbook(imports.DATA_SHEET, headers, rows)


def units_file(project, planner, count) -> bytes:
    """``count`` units in buildings of 30 floors × 20 units made for the bench."""
    from loupan.inventory import imports, services

    per_building = 30 * 20
    for b in range((count + per_building - 1) // per_building):
        services.building_create(
            actor=planner,
            project=project,
            data={
                "name": f"B{b + 1}栋",
                "floors_above": 30,
                "stairs": 1,
                "units_per_floor": 20,
                "sort_order": 80 + b,
            },
        )
    services.layout_create(actor=planner, project=project, data={"name": "B-A1", "rooms": 2})
    headers = [c.header for c in imports.COLUMNS]
    rows = (
        {
            "楼栋": f"B{i // per_building + 1}栋",
            "单元": 1,
            "楼层": i % per_building // 20 + 1,
            "房号": f"{i % 20 + 1:02d}",
            "户型": "B-A1",
            "用途": "住宅",
            "建筑面积": 89.5,
            "套内面积": 72.3,
            "分摊面积": 17.2,
            "朝向": "南",
            "装修": "毛坯",
            "表价": 1342500,
        }
        for i in range(count)
    )
    return workbook(imports.FORMAT.sheet, headers, rows)


def page_ms(client, url, repeat=1):
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return samples


def run_job(client, preview_url, light, start):
    """Poll the job until it ends, opening the light page between polls; the seconds
    since ``start`` (before the POST that started it) and the light page's samples while
    it ran."""
    busy = []
    while True:
        state = client.get(preview_url, {"progress": "1"}).json()
        if state["status"] != "running":
            break
        busy.extend(page_ms(*light))
        time.sleep(0.05)
    assert state["status"] == "done", state
    return time.perf_counter() - start, busy


def fmt(samples):
    """Median / p95 in ms."""
    if not samples:
        return "      — /       —"
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return f"{statistics.median(samples):7.1f} / {p95:7.1f}"


def one_import(client, name, upload_url, content, light, rows):
    """``light``: (client, url) of the other page, opened by another user between polls."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    start = time.perf_counter()
    response = client.post(upload_url, {"file": SimpleUploadedFile(name, content, XLSX)})
    assert response.status_code == 302, response.status_code
    preview_url = response.url
    check_s, check_busy = run_job(client, preview_url, light, start)
    preview = client.get(preview_url)
    assert preview.status_code == 200 and "import-valid" in preview.content.decode(), (
        preview.context and preview.context.get("problems", [])[:3]
    )
    start = time.perf_counter()
    response = client.post(preview_url + "commit/")
    assert response.status_code == 302 and response.url == preview_url
    commit_s, commit_busy = run_job(client, preview_url, light, start)
    done = client.get(preview_url)
    assert done.status_code == 302, done.status_code
    return {
        "name": name,
        "rows": rows,
        "kb": len(content) / 1024,
        "check": (check_s, check_busy),
        "commit": (commit_s, commit_busy),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--units", type=int, default=3_000)
    args = parser.parse_args()
    setup_test_environment()
    if connection.vendor == "sqlite":
        # A file database as `make demo` has (WAL), not the test runner's in-memory one:
        # the job's thread opens its own connection.
        call_command("migrate", verbosity=0)
        run(args)
        return 0
    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(args)
    finally:
        connection.creation.destroy_test_db(db_name, verbosity=0)
    return 0


def run(args):
    from django.test import Client
    from django.urls import reverse

    from loupan.accounts.models import User
    from loupan.core.demo import build_demo
    from loupan.inventory.models import Project

    build_demo()
    project = Project.objects.get(code="CHW")
    users = {u.username: u for u in User.objects.filter(is_demo=True)}
    User.objects.filter(is_demo=True).update(must_change_password=False)
    settings.AXES_ENABLED = False
    backend = "loupan.accounts.backends.ProjectRoleBackend"
    print(f"# imports through the pages ({connection.vendor}, background jobs)")

    light_url = reverse("customers:customer_list", args=[project.pk])
    results = []

    client = Client()
    client.force_login(users["supervisor"], backend=backend)
    idle = page_ms(client, light_url, repeat=30)
    content = customers_file(args.customers)
    results.append(
        one_import(
            client,
            "客户.xlsx",
            reverse("customers:customers_import", args=[project.pk]),
            content,
            (client, light_url),
            args.customers,
        )
    )

    planner = Client()
    planner.force_login(users["planner"], backend=backend)
    content = units_file(project, users["planner"], args.units)
    results.append(
        one_import(
            planner,
            "房源.xlsx",
            reverse("inventory:units_import", args=[project.pk]),
            content,
            (client, light_url),
            args.units,
        )
    )
    idle_after = page_ms(client, light_url, repeat=30)

    print(
        f"\n{'import':<10}{'rows':>7}{'KB':>7}{'check s':>9}{'rows/s':>8}"
        f"{'commit s':>10}{'rows/s':>8}"
    )
    for r in results:
        check_s, commit_s = r["check"][0], r["commit"][0]
        print(
            f"{r['name']:<10}{r['rows']:>7}{r['kb']:>7.0f}{check_s:>9.1f}{r['rows'] / check_s:>8.0f}"
            f"{commit_s:>10.1f}{r['rows'] / commit_s:>8.0f}"
        )
    print(f"\nlight page: {light_url} (the customer list), ms median / p95, samples")
    print(f"{'idle before':<28}{fmt(idle)}  n={len(idle)}")
    for r in results:
        for phase in ("check", "commit"):
            busy = r[phase][1]
            print(f"{'during ' + r['name'] + ' ' + phase:<28}{fmt(busy)}  n={len(busy)}")
    print(f"{'idle after':<28}{fmt(idle_after)}  n={len(idle_after)}")


if __name__ == "__main__":
    sys.exit(main())
