"""Opening day under load (issue 16 "Load"): 5,000 buyers contending for 1,000 units
through the buyer API of a granian (or gunicorn) server on PostgreSQL, run as production runs it,
with scripted bots and 2,000 phones watching the free units; the machine's two ceilings
(pgbench TPC-B and a bare JSON view of the same server) measured in the same run.

    eval "$(scripts/pg.sh start)"
    .venv/bin/python -m bench.opening --buyers 500 --units 100 --clients 20 --phones 200
    .venv/bin/python -m bench.opening            # 5,000 buyers, 1,000 units, 200 clients
    scripts/pg.sh stop "$PGTMP"

Prints picks/s, p50/p99 of a pick, the time to sell out, refusals by reason (error code),
the invariants read back from the database (no unit twice, no buyer over quota, no pick
outside its window, every pick in the audit trail, ``verify-audit``), how long a pick
takes to reach the phones (p99) and the rate the free-unit view is served, pgbench's
tps and the bare view's rate with the ratios against the targets, the CPU seconds of the
load generator, the server and PostgreSQL, and a profile of one pick (queries and their
time, locks held, Python time, the serialised part). Its own database
``loupan_bench_opening`` (and ``loupan_bench_opening_pgbench``), dropped at the end
unless ``--keep``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # python bench/opening
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loupan.settings")
os.environ.setdefault("LOUPAN_VAR_DIR", tempfile.mkdtemp(prefix="loupan-bench-"))
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ["TEST_DATABASE_NAME"] = "loupan_bench_opening"

TARGETS = {"picks_vs_tps": 0.25, "p99_pick_ms": 300.0, "seen_s": 2.0, "view_vs_bare": 0.5}
CLK = os.sysconf("SC_CLK_TCK")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--buyers", type=int, default=5000)
    p.add_argument("--units", type=int, default=1000)
    p.add_argument("--clients", type=int, default=200, help="concurrent buyers picking")
    p.add_argument("--bots", type=int, default=4, help="scripts firing every --bot-ms")
    p.add_argument("--bot-ms", type=int, default=200, dest="bot_ms")
    p.add_argument("--phones", type=int, default=2000)
    p.add_argument("--poll", type=float, default=2.0, help="seconds between a phone's polls")
    p.add_argument(
        "--phones-mode",
        choices=("push", "poll"),
        default="push",
        dest="phones_mode",
        help="phones hold the pushed feed (as the buyer's page does) or poll it",
    )
    p.add_argument(
        "--push-server",
        choices=("uvicorn", "granian"),
        default="uvicorn",
        dest="push_server",
        help="the ASGI server of the phones' streams (uvicorn under gunicorn, or granian)",
    )
    p.add_argument("--push-ms", type=int, default=500, dest="push_ms", help="LOUPAN_LIVE_PUSH_MS")
    p.add_argument(
        "--push-workers",
        type=int,
        default=1,
        dest="push_workers",
        help="uvicorn workers of the ASGI server holding the phones' streams",
    )
    p.add_argument(
        "--phone-connections",
        type=int,
        default=128,
        dest="phone_connections",
        help="connections the phones share (a proxy's upstream pool)",
    )
    p.add_argument(
        "--seal",
        choices=("process", "background", "inline"),
        default="process",
        help="LOUPAN_PICK_SEAL: who writes a pick's reservation (opening/sealer.py)",
    )
    p.add_argument(
        "--seal-nice",
        type=int,
        default=10,
        dest="seal_nice",
        help="loupan seal-picks --nice (with --seal process)",
    )
    p.add_argument("--tries", type=int, default=8, help="picks a buyer tries before giving up")
    p.add_argument(
        "--server",
        choices=("granian", "gunicorn"),
        default="granian",
        help="the WSGI server of the picks and views (the phones' feed: uvicorn under gunicorn)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 2,
        help="WSGI worker processes (one a core: four on two cores lengthened the p99)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=4,
        help="threads a WSGI worker (granian's blocking threads, gunicorn's gthread)",
    )
    p.add_argument(
        "--conn-max-age",
        type=int,
        default=int(os.environ.get("DB_CONN_MAX_AGE", 60)),
        dest="conn_max_age",
        help="DB_CONN_MAX_AGE of the server (60, as the README's production section)",
    )
    p.add_argument("--interval-ms", type=int, default=1000, dest="interval_ms")
    p.add_argument("--ceiling-seconds", type=float, default=8.0, dest="ceiling_seconds")
    p.add_argument("--pgbench-scale", type=int, default=10, dest="pgbench_scale")
    p.add_argument("--pgbench-clients", type=int, default=16, dest="pgbench_clients")
    p.add_argument("--profile-picks", type=int, default=10, dest="profile_picks")
    p.add_argument("--keep", action="store_true", help="keep the databases")
    return p.parse_args()


# --- CPU of processes (from /proc) ------------------------------------------------------


def _stat(pid: int):
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    ppid = int(fields[1])
    own = int(fields[11]) + int(fields[12])
    reaped = int(fields[13]) + int(fields[14])
    return ppid, own, reaped


def tree_cpu(root: int) -> float:
    """CPU seconds of ``root``, its children alive and those it has reaped."""
    total = 0
    stat = _stat(root)
    if stat is None:
        return 0.0
    total += stat[1] + stat[2]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            child = _stat(int(entry.name))
            if child and child[0] == root:
                total += child[1]
    return total / CLK


def self_cpu() -> float:
    t = os.times()
    return t.user + t.system


# --- the server -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def db_url(name: str) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + name))


def server_env(args, database: str, *, asgi: bool = False) -> dict:
    """The environment of the servers and the sealer process: production's settings on
    ``database``."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.opening.settings",
        "LOUPAN_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": db_url(database),
        "DB_CONN_MAX_AGE": str(args.conn_max_age),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOUPAN_TRUSTED_PROXIES": "127.0.0.1",
        "LOUPAN_PICK_MIN_INTERVAL_MS": str(args.interval_ms),
        "LOUPAN_PICK_ADDRESS_INTERVAL_MS": str(args.interval_ms),
        "LOUPAN_VAR_DIR": tempfile.mkdtemp(prefix="loupan-bench-server-"),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "LOUPAN_LIVE_PUSH_MS": str(args.push_ms),
        "LOUPAN_PICK_SEAL": args.seal,
        "LOUPAN_LIVE_STREAMS": str(args.phones + 100 if asgi else 64),
    }
    env.pop("TEST_DATABASE_NAME", None)
    return env


def start_sealer(args, database: str):
    """``loupan seal-picks`` beside the servers (``LOUPAN_PICK_SEAL=process``), as
    production runs it: a process of its own, ``--seal-nice`` lower in CPU priority."""
    env = server_env(args, database)
    log = open(Path(env["LOUPAN_VAR_DIR"]) / "seal-picks.log", "w")  # noqa: SIM115
    command = [sys.executable, "-m", "loupan", "seal-picks", "--nice", str(args.seal_nice)]
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def start_server(args, database: str, *, asgi: bool = False):
    """The server on ``database`` as production runs it: the WSGI side (``--server``:
    granian's or gunicorn's threaded workers), or (``asgi``) the phones' pushed feed
    (``loupan.asgi``, ``--push-server``: uvicorn's worker under gunicorn, or granian),
    as many phones as they come."""
    port = free_port()
    env = server_env(args, database, asgi=asgi)
    if (args.push_server if asgi else args.server) == "granian":
        # granian: Rust's HTTP/1.1 in front of the same application, its blocking threads
        # running Django (keep-alive on: the proxy's pool stays open); ASGI without the
        # lifespan protocol, which Django does not speak
        command = [
            str(Path(sys.executable).with_name("granian")),
            "--interface",
            "asginl" if asgi else "wsgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.push_workers if asgi else args.workers),
            *(() if asgi else ("--blocking-threads", str(args.threads))),
            "--http",
            "1",
            "--log-level",
            "warning",
            "loupan.asgi:application" if asgi else "loupan.wsgi:application",
        ]
    else:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "loupan.asgi:application" if asgi else "loupan.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(args.push_workers if asgi else args.workers),
            *(
                ("-k", "uvicorn_worker.UvicornWorker")
                if asgi
                # the generator plays the proxy, whose upstream connections stay open
                # longer than gunicorn's 2 s default: a connection gunicorn closed as
                # the proxy reused it was a ServerDisconnectedError at full size
                else ("-k", "gthread", "--threads", str(args.threads), "--keep-alive", "75")
            ),
            "--log-level",
            "warning",
        ]
    name = "asgi.log" if asgi else f"{args.server}.log"
    log = open(Path(env["LOUPAN_VAR_DIR"]) / name, "w")  # noqa: SIM115
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    import urllib.request

    for _ in range(300):
        try:
            request = urllib.request.Request(
                base + "/bench/bare/", headers={"X-Forwarded-Proto": "https"}
            )
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited: see {log.name}") from None
            time.sleep(0.2)
    else:
        raise SystemExit(f"the server did not answer: see {log.name}")
    # warm every worker (imports, URL resolvers, first connections)
    return proc, base, log.name


def stop_server(proc) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


# --- PostgreSQL: its CPU and pgbench ----------------------------------------------------


def postmaster_pid() -> int | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    stat = _stat(backend)
    return stat[0] if stat else None


def pgbench(args) -> dict:
    """TPC-B (pgbench's default script) on the same server and settings."""
    if shutil.which("pgbench") is None:
        return {"error": "pgbench not found"}
    parts = urlsplit(os.environ["DATABASE_URL"])
    env = {**os.environ, "PGHOST": parts.hostname or "127.0.0.1", "PGPORT": str(parts.port or 5432)}
    if parts.username:
        env["PGUSER"] = parts.username
    if parts.password:
        env["PGPASSWORD"] = parts.password
    name = "loupan_bench_opening_pgbench"
    import psycopg

    admin = db_url(parts.path.lstrip("/") or "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        subprocess.run(
            ["pgbench", "-i", "-q", "-s", str(args.pgbench_scale), name],
            env=env,
            check=True,
            capture_output=True,
        )
        run = subprocess.run(
            [
                "pgbench",
                "-c",
                str(args.pgbench_clients),
                "-j",
                "2",
                "-T",
                str(int(args.ceiling_seconds)),
                name,
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", run.stdout)
        latency = re.search(r"latency average = ([\d.]+) ms", run.stdout)
        return {
            "tps": float(tps.group(1)) if tps else float("nan"),
            "latency_ms": float(latency.group(1)) if latency else float("nan"),
        }
    finally:
        if not args.keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


# --- the profile of one pick (in-process, same database) --------------------------------


def profile(event, entries, units, count: int) -> dict:
    """``count`` picks through the buyer API in this process, called as the server calls
    it (``loupan.wsgi.application``: the pick's own handler, ``opening.pick_http``),
    timed query by query, one of them inside an outer transaction to read the locks it
    holds before the commit, one under cProfile."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections, connection, transaction
    from django.test import RequestFactory

    from loupan.wsgi import application

    url = f"/api/v1/opening-events/{event.pk}/buyer-picks/"
    rows = []

    def one(i, number, code, unit, *, keep_open=False):
        body = json.dumps({"entry": number, "code": code, "unit": unit})
        environ = (
            RequestFactory()
            .post(url, body, "application/json", REMOTE_ADDR=f"192.0.2.{i + 1}")
            .environ
        )
        timeline = []
        answered = []

        def wrapper(execute, sql, params, many, context):
            start = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                timeline.append((start, time.perf_counter(), sql))

        # the connection stays open between requests here (the outer transaction below)
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            with connection.execute_wrapper(wrapper):
                start = time.perf_counter()
                response = application(environ, lambda status, headers: answered.append(status))
                content = b"".join(response)
                response.close()
                total = time.perf_counter() - start
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        assert answered[0].startswith("201"), content
        return total, timeline

    # the request answers at its claim; the sealing is timed on its own below (as the
    # server's sealer thread does it, in batches)
    from django.test.utils import override_settings

    from loupan.opening import sealer, services

    woken = []
    seal_mode = override_settings(LOUPAN_PICK_SEAL="background")
    seal_mode.enable()
    wake, sealer.wake = sealer.wake, woken.append
    # warm-up: the first request imports and resolves
    used = 0
    one(0, *entries[0], units[0])
    used += 1
    for i in range(1, count):
        total, timeline = one(i, *entries[i], units[i])
        sql_time = sum(end - start for start, end, _ in timeline)
        lock_at = next(
            (s for s, _e, q in timeline if q.startswith("SELECT pg_advisory_xact_lock(%s)")), None
        )
        end = timeline[-1][1]
        first_lock = next(
            (
                s
                for s, _e, q in timeline
                if "FOR UPDATE" in q or q.startswith('UPDATE "opening_entry"')
            ),
            None,
        )
        counter_at = next(
            (s for s, _e, q in timeline if q.startswith('UPDATE "core_documentcounter"')), None
        )
        rows.append(
            {
                "total": total,
                "queries": len(timeline),
                "sql": sql_time,
                "chain_held": (end - lock_at) if lock_at else 0.0,
                "locked": (end - first_lock) if first_lock else 0.0,
                "counter_held": (end - counter_at) if counter_at else 0.0,
                "timeline": timeline,
            }
        )
        used += 1
    # the locks one pick holds just before its commit
    number, code = entries[used]
    with transaction.atomic():
        one(used, number, code, units[used])
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT l.locktype, string_agg(DISTINCT l.mode, ', '), "
                "COALESCE(c.relname, ''), l.objid "
                "FROM pg_locks l LEFT JOIN pg_class c ON c.oid = l.relation "
                "WHERE l.pid = pg_backend_pid() AND l.granted "
                "AND l.locktype IN ('relation', 'advisory') "
                "AND (c.relkind IS NULL OR c.relkind = 'r') AND c.relname IS DISTINCT FROM 'pg_locks' "
                "GROUP BY 1, 3, 4 ORDER BY 1, 3"
            )
            locks = cursor.fetchall()
    used += 1
    # where the Python time goes
    profiler = cProfile.Profile()
    number, code = entries[used]
    profiler.enable()
    one(used, number, code, units[used])
    profiler.disable()
    used += 1
    sealer.wake = wake
    seal_mode.disable()
    start = time.perf_counter()
    with connection.execute_wrapper(counting := _Counter()):
        sealed = services.picks_seal()["picks_sealed"]
    seal_s = time.perf_counter() - start
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(r"loupan/", 14)
    return {
        "rows": rows,
        "locks": locks,
        "cprofile": out.getvalue(),
        "used": used,
        "sealed": sealed,
        "seal_s": seal_s,
        "seal_queries": counting.n,
    }


class _Counter:
    def __init__(self):
        self.n = 0

    def __call__(self, execute, sql, params, many, context):
        self.n += 1
        return execute(sql, params, many, context)


def print_profile(result) -> None:
    rows = result["rows"]
    if not rows:
        return
    n = len(rows)
    avg = {
        k: sum(r[k] for r in rows) / n
        for k in ("total", "queries", "sql", "chain_held", "locked", "counter_held")
    }
    print(
        "\n## One pick, in-process (loupan.wsgi as the server calls it, same database), mean of", n
    )
    print(
        f"wall {avg['total'] * 1000:.1f} ms = SQL {avg['sql'] * 1000:.1f} ms in "
        f"{avg['queries']:.0f} queries + Python {(avg['total'] - avg['sql']) * 1000:.1f} ms"
    )
    print(
        f"row locks held (the entry's UPDATE or FOR UPDATE → last query): {avg['locked'] * 1000:.1f} ms (the "
        f"entry's row); the audit chain's lock held {avg['chain_held'] * 1000:.1f} ms and the "
        f"reservation number's counter {avg['counter_held'] * 1000:.1f} ms by the pick itself"
    )
    sealed = result.get("sealed") or 0
    if sealed:
        per = result["seal_s"] / sealed
        print(
            f"sealing (services.picks_seal, one sealer at a time): {sealed} picks in "
            f"{result['seal_s'] * 1000:.0f} ms = {per * 1000:.1f} ms and "
            f"{result['seal_queries'] / sealed:.0f} queries a pick → at most "
            f"{1 / max(per, 1e-9):,.0f} reservations/s behind the picks"
        )
    print("queries of the last pick (ms, SQL shortened):")
    timeline = rows[-1]["timeline"]
    t0 = timeline[0][0]
    for start, end, sql in timeline:
        text = re.sub(r"\s+", " ", sql)
        text = re.sub(r"SELECT .*? FROM", "SELECT … FROM", text)
        print(f"  +{(start - t0) * 1000:6.1f} {(end - start) * 1000:5.2f}  {text[:110]}")
    print(
        "locks held before the commit (pg_locks, tables and advisory; the row locks are "
        "the rows of the FOR UPDATE and UPDATE statements above):"
    )
    for locktype, mode, relation, objid in result["locks"]:
        what = relation or (f"objid {objid}" if objid else "")
        print(f"  {locktype:<9} {what:<30} {mode}")
    print("Python, cumulative (one pick under cProfile, loupan's functions):")
    lines = [
        line for line in result["cprofile"].splitlines() if "loupan/" in line or "ncalls" in line
    ]
    for line in lines[:16]:
        print("  " + line.strip()[:150])


# --- invariants -------------------------------------------------------------------------


def wait_sealed(event, timeout: float = 300.0) -> float:
    """Seconds until every pick of ``event`` has its deal (or its reason not to): the
    servers' sealer threads write them after the picks answered."""
    from loupan.opening.models import Pick

    start = time.perf_counter()
    pending = Pick.objects.filter(event=event, deal__isnull=True, seal_error="")
    while pending.exists() and time.perf_counter() - start < timeout:
        time.sleep(0.1)
    return time.perf_counter() - start


def seal_lags(event) -> dict:
    """From each pick (its time) to its audit entry (the time it joined the chain, with
    its deal): how long a reservation follows its pick."""
    from bench.opening import load
    from loupan.audit.models import AuditEntry
    from loupan.opening.models import Pick

    picks = dict(Pick.objects.filter(event=event).values_list("pk", "at"))
    joined = AuditEntry.objects.filter(
        object_type="opening.pick", object_id__in=[str(pk) for pk in picks]
    ).values_list("object_id", "created_at")
    lags = [(at - picks[int(pk)]).total_seconds() for pk, at in joined]
    return {
        "p50": load.percentile(lags, 50) if lags else float("nan"),
        "p99": load.percentile(lags, 99) if lags else float("nan"),
        "max": max(lags) if lags else float("nan"),
        "failed": Pick.objects.filter(event=event, deal__isnull=True).count(),
    }


def invariants(event) -> list[tuple[str, bool, str]]:
    from django.db.models import Count, F, Q

    from loupan.audit.models import AuditEntry
    from loupan.audit.services import verify_chain
    from loupan.deals.models import DealUnit
    from loupan.opening.models import Batch, Pick

    picks = Pick.objects.filter(event=event)
    n = picks.count()
    twice = picks.values("unit").annotate(n=Count("pk")).filter(n__gt=1).count()
    live_twice = (
        DealUnit.objects.filter(live=True, unit__in=picks.values("unit"))
        .values("unit")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    over = picks.values("entry").annotate(n=Count("pk")).filter(n__gt=event.max_units).count()
    windows = list(
        Batch.objects.filter(event=event).values_list("first", "last", "starts_at", "ends_at")
    )
    outside = 0
    for position, at in picks.values_list("entry__position", "at"):
        if not any(f <= position <= last and s <= at < e for f, last, s, e in windows):
            outside += 1
    audited = (
        AuditEntry.objects.filter(
            object_type="opening.pick",
            object_id__in=[str(pk) for pk in picks.values_list("pk", flat=True)],
        )
        .values("object_id")
        .distinct()
        .count()
    )
    start = time.perf_counter()
    checked, broken, reason = verify_chain()
    verify_s = time.perf_counter() - start
    del F, Q
    return [
        (
            "no unit picked twice",
            twice == 0 and live_twice == 0,
            f"{twice} units in two picks, {live_twice} in two live deals",
        ),
        ("no buyer over the quota", over == 0, f"{over} entries over {event.max_units}"),
        ("no pick outside its window", outside == 0, f"{outside} of {n}"),
        ("every pick in the audit trail", audited == n, f"{audited} of {n}"),
        (
            "verify-audit",
            broken is None,
            f"{checked} entries in {verify_s:.1f} s"
            + (f", broken at {broken} ({reason})" if broken else ""),
        ),
    ]


# --- the run ----------------------------------------------------------------------------


def ms(value: float) -> str:
    return f"{value * 1000:.0f} ms"


def main() -> int:
    args = parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    if connection.vendor != "postgresql":
        print(
            "bench/opening needs PostgreSQL: set DATABASE_URL (scripts/pg.sh start)",
            file=sys.stderr,
        )
        return 2
    setup_test_environment()
    started = time.perf_counter()
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    server = pusher = sealing = None
    try:
        print(
            f"# Opening day under load — {args.buyers} buyers, {args.units} units, "
            f"{args.clients} clients, {args.bots} bots, {args.phones} phones; {args.server} "
            f"{args.workers} workers × {args.threads} threads, DB_CONN_MAX_AGE="
            f"{args.conn_max_age}; {os.cpu_count()} CPUs; phones {args.phones_mode}; sealing "
            f"{args.seal}"
        )
        from bench.opening.build import build

        t = time.perf_counter()
        built = build(units=args.units, buyers=args.buyers)
        event = built["event"]
        with connection.cursor() as cursor:  # as autovacuum would have by the day, and
            cursor.execute("VACUUM ANALYZE")  # not in the middle of the picking
        print(
            f"built the event in {time.perf_counter() - t:.1f} s (database {name}; "
            f"migrated in {t - started:.1f} s)"
        )
        entries, units = built["entries"], built["units"]
        prof = profile(event, entries, units, max(3, args.profile_picks))
        used = prof["used"]
        buyers = entries[used:]
        bots, buyers = buyers[: args.bots], buyers[args.bots :]
        free = units[used:]

        server, base, log = start_server(args, name)
        sealing = start_sealer(args, name) if args.seal == "process" else None
        push_base = None
        if args.phones_mode == "push":
            pusher, push_base, _push_log = start_server(args, name, asgi=True)
        from bench.opening import load

        pg_root = postmaster_pid()

        # the ceilings, the server idle otherwise
        conc = args.workers * args.threads
        bare = load.run(
            load.hammer(base, "/bench/bare/", concurrency=conc, seconds=args.ceiling_seconds)
        )
        live_path = f"/api/v1/opening-events/{event.pk}/live/"
        feed_path = f"/opening/{event.pk}/feed/"
        from loupan.opening.models import Pick

        last = Pick.objects.filter(event=event).order_by("-pk").values_list("pk", flat=True).first()
        view = load.run(
            load.hammer(
                base, f"{feed_path}?since={last}", concurrency=conc, seconds=args.ceiling_seconds
            )
        )
        full = load.run(
            load.hammer(base, live_path, concurrency=conc, seconds=args.ceiling_seconds / 2)
        )
        bench = pgbench(args)

        # the opening: the CPU of each process (tree) by its name
        servers = [server] + ([pusher] if pusher else []) + ([sealing] if sealing else [])
        server_names = [f"{args.server} (WSGI: picks, views" + (")" if sealing else ", sealer)")]
        server_names += ["ASGI server (pushed feed)"] if pusher else []
        server_names += [f"sealer process (nice {args.seal_nice})"] if sealing else []

        def servers_cpu():
            return sum(tree_cpu(p.pid) for p in servers)

        cpu0 = (self_cpu(), servers_cpu(), tree_cpu(pg_root) if pg_root else 0.0)
        wall0 = time.perf_counter()
        marks = {}

        def mark(phase):
            marks[phase] = (
                self_cpu(),
                *(tree_cpu(p.pid) for p in servers),
                tree_cpu(pg_root) if pg_root else 0.0,
            )

        run = load.Run(base, event.pk, buyers, bots, free, args, push_base=push_base, mark=mark)
        outcome = run.execute()
        sealed_after = wait_sealed(event)
        wall = time.perf_counter() - wall0
        cpu1 = (self_cpu(), servers_cpu(), tree_cpu(pg_root) if pg_root else 0.0)
        gen_cpu, srv_cpu, pg_cpu = (b - a for a, b in zip(cpu0, cpu1, strict=True))
        gen_cpu += run.phones_cpu[1]  # the generator's phones' process
        stop_server(server)
        server = None
        if pusher is not None:
            stop_server(pusher)
            pusher = None
        if sealing is not None:
            stop_server(sealing)
            sealing = None

        picks = Pick.objects.filter(event=event).count() - used  # the database's count
        outcome["sold_out"] = picks >= len(free)
        rate = picks / outcome["picking_s"] if outcome["picking_s"] else float("nan")
        p50, p99 = load.percentile(run.pick_latency, 50), load.percentile(run.pick_latency, 99)
        r50, r99 = (
            load.percentile(run.request_latency, 50),
            load.percentile(run.request_latency, 99),
        )
        lags = list(run.lags)
        lag99 = load.percentile(lags, 99) if lags else float("nan")
        lag_max = max(lags) if lags else float("nan")
        expected = args.phones * (args.units - used)
        watch = outcome["watching_s"]
        print("\n## The opening")
        print(
            f"phones loaded the board in {outcome['phones_loaded_s']:.1f} s before the batch opened"
        )
        print(
            f"picks: {picks} of {len(free)} units ({outcome['answered']} with their 201 in time) "
            f"({'sold out' if outcome['sold_out'] else 'NOT sold out'}) in "
            f"{outcome['picking_s']:.1f} s = {rate:,.1f} picks/s; time to sell out "
            f"{outcome['picking_s']:.1f} s"
        )
        answered = sorted(run.picked_at.values())
        if answered:
            nine = answered[max(0, int(len(answered) * 0.9) - 1)] - run.started
            print(
                f"the busiest second: {load.busiest(answered):,} picks; 90% of the units "
                f"answered in {nine:.1f} s; pick requests answered "
                f"{len(run.request_latency) / outcome['picking_s']:,.0f}/s (each buyer waits "
                f"{args.interval_ms} ms after a refusal, as the server's limit asks)"
            )
        print(
            f"pick latency (201): p50 {ms(p50)}, p99 {ms(p99)}; every pick request: "
            f"p50 {ms(r50)}, p99 {ms(r99)} ({len(run.request_latency)} requests)"
        )
        print(
            "pick requests by the second they were sent in: "
            + "; ".join(
                f"{s}–{s + 1} s: {n} p50 {ms(a)} p99 {ms(b)}"
                for s, n, a, b in load.by_second(run.request_sent, run.request_latency)
            )
        )
        print(
            "buyers' requests by answer: "
            + ", ".join(f"{k} {v}" for k, v in run.refusals.most_common())
        )
        print(
            "bots' requests by answer:   "
            + ", ".join(f"{k} {v}" for k, v in run.bot_results.most_common())
        )
        if run.errors:
            print("client errors: " + ", ".join(f"{k} {v}" for k, v in run.errors.items()))
        if args.phones_mode == "push":
            print(
                f"phones: {run.streams} held the pushed feed ({run.frames} frames, "
                f"{run.frames / watch:,.0f}/s), {run.streams_refused} refused, "
                f"{run.fell_back} polled instead; ASGI server {args.push_workers} "
                f"{args.push_server} worker(s), "
                f"tick {args.push_ms} ms"
            )
        print(
            f"phones: {run.polls} polls in {watch:.1f} s = {run.polls / watch:,.0f}/s served, "
            f"p50 {ms(load.percentile(run.poll_latency, 50))}, p99 "
            f"{ms(load.percentile(run.poll_latency, 99))}; {run.phones_done} of {args.phones} saw every pick; "
            f"misses {run.phone_misses}"
        )
        print(
            f"pick → seen by a phone (from the buyer's 201): p99 {lag99:.2f} s, max {lag_max:.2f} s over "
            f"{len(lags)} of {expected} (phone, pick) pairs; {run.seen_early} seen before the 201 arrived"
        )

        seal = seal_lags(event)
        print(
            f"reservations ({args.seal} sealing): from a pick to its deal and audit entry "
            f"p50 {ms(seal['p50'])}, p99 {ms(seal['p99'])}, max {ms(seal['max'])}; the last "
            f"one {sealed_after:.1f} s after the picking ended; {seal['failed']} picks "
            f"without a deal"
        )

        print("\n## Invariants (read back from the database)")
        for label, ok, detail in invariants(event):
            print(f"{'ok ' if ok else 'FAIL'} {label}: {detail}")

        print("\n## Ceilings (same server, same database settings, measured in this run)")
        print(
            f"pgbench TPC-B: {bench.get('tps', float('nan')):,.0f} tps "
            f"(scale {args.pgbench_scale}, {args.pgbench_clients} clients, "
            f"latency {bench.get('latency_ms', float('nan')):.1f} ms) {bench.get('error', '')}"
        )
        print(
            f"bare JSON view: {bare['rate']:,.0f} req/s (p50 {ms(bare['p50'])}, p99 {ms(bare['p99'])}, "
            f"{conc} connections)"
        )
        print(
            f"free-unit view (?since=, what phones poll): {view['rate']:,.0f} req/s "
            f"(p50 {ms(view['p50'])}, p99 {ms(view['p99'])}); whole board: {full['rate']:,.0f} req/s"
        )

        print("\n## Against the targets")
        tps = bench.get("tps", float("nan"))
        rows = [
            (
                "picks/s ≥ 0.25 × pgbench tps",
                rate / tps if tps else float("nan"),
                TARGETS["picks_vs_tps"],
                f"{rate:,.1f} / {tps:,.0f}",
            ),
            (
                "p99 of a pick < 300 ms",
                TARGETS["p99_pick_ms"] / (p99 * 1000) if p99 else float("nan"),
                1.0,
                ms(p99),
            ),
            (
                "a pick seen by every phone within 2 s",
                TARGETS["seen_s"] / lag_max if lag_max else float("nan"),
                1.0,
                f"max {lag_max:.2f} s, p99 {lag99:.2f} s",
            ),
            (
                "free-unit view ≥ 0.5 × bare view",
                view["rate"] / bare["rate"],
                TARGETS["view_vs_bare"],
                f"{view['rate']:,.0f} / {bare['rate']:,.0f}",
            ),
        ]
        for label, ratio, target, detail in rows:
            verdict = "met" if ratio >= target else "MISSED"
            print(f"{label:<42} ratio {ratio:5.2f} (target {target:g}) {verdict:<7} {detail}")
        print(
            f"\nCPU seconds during the opening ({wall:.1f} s wall): load generator {gen_cpu:.1f}, "
            f"servers{' and sealer' if args.seal == 'process' else ''} {srv_cpu:.1f}, "
            f"PostgreSQL {pg_cpu:.1f} "
            f"(server + database per pick: {(srv_cpu + pg_cpu) / max(picks, 1) * 1000:.0f} ms "
            f"incl. the phones' polls)"
        )
        if "picking" in marks and "picked" in marks:
            spent = [b - a for a, b in zip(marks["picking"], marks["picked"], strict=True)]
            buyers_cpu = spent[0]
            spent[0] += run.phones_cpu[0]
            names = ["load generator", *server_names]
            print(
                f"  of which while the buyers picked ({outcome['picking_s']:.1f} s): "
                + ", ".join(
                    f"{n} {c:.2f}" for n, c in zip([*names, "PostgreSQL"], spent, strict=True)
                )
                + f" (the generator: buyers {buyers_cpu:.2f}, phones {run.phones_cpu[0]:.2f})"
            )
            # what the database alone would take, its servers' Python elsewhere (several
            # application servers behind one address, issue 16)
            per_pick = spent[-1] / max(picks, 1)
            alone = (os.cpu_count() or 1) / per_pick if per_pick else float("nan")
            print(
                f"  PostgreSQL's CPU a pick while the buyers picked: {per_pick * 1000:.2f} ms; "
                f"at that cost the database alone on {os.cpu_count()} cores would take "
                f"{alone:,.0f} picks/s ({alone / tps if tps else float('nan'):.2f} × pgbench)"
            )
        print_profile(prof)
        print(f"\n(server log: {log}; total {time.perf_counter() - started:.0f} s)")
    finally:
        if server is not None:
            stop_server(server)
        if pusher is not None:
            stop_server(pusher)
        if sealing is not None:
            stop_server(sealing)
        if args.keep:
            print(f"(database {name} kept)")
        else:
            connection.creation.destroy_test_db(name, verbosity=0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
