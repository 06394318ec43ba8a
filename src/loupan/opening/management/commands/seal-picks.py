"""``loupan seal-picks``: opening day's sealer process (``LOUPAN_PICK_SEAL=process``)."""

import os
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from loupan.opening import sealer, services


class Command(BaseCommand):
    help = (
        "开盘选房：持续把选房生成保留单或认购（LOUPAN_PICK_SEAL=process 时与服务器一同运行）"
        "(opening day's sealer: writes every pick's reservation or subscription as soon as "
        "the pick is committed, at a lower CPU priority than the servers, until stopped)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--nice",
            type=int,
            default=10,
            help="how much lower its CPU priority is than the servers' (0: the same)",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="seconds at most between two sealings while no new pick comes",
        )
        parser.add_argument(
            "--quiet",
            type=float,
            default=None,
            help="while picks keep coming, seal once this many seconds bring none (0: at "
            "once; by default a buyer's pick interval, LOUPAN_PICK_MIN_INTERVAL_MS: a buyer "
            "refused tries again after it, so a shorter gap is still the rush)",
        )
        parser.add_argument(
            "--at-most",
            type=float,
            default=sealer.AT_MOST,
            dest="at_most",
            help="seconds a rush of picks may hold the sealing back at most",
        )

    def handle(self, *args, nice=10, interval=1.0, quiet=None, at_most=10.0, **options):
        if interval <= 0:
            raise CommandError("--interval 必须大于 0")
        if quiet is None:
            quiet = max(sealer.QUIET, services.min_interval().total_seconds())
        if quiet < 0 or at_most < 0:
            raise CommandError("--quiet 与 --at-most 不能为负数")
        if nice:
            os.nice(nice)
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write(f"sealing picks (nice {nice}); SIGTERM stops")
        sealer.follow(
            services.picks_seal, stop=stop, interval=interval, quiet=quiet, at_most=at_most
        )
