"""``loupan verify-lottery FILE``: recompute a published lottery package 摇号公示文件 alone."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from loupan.opening import lottery


class Command(BaseCommand):
    help = (
        "校验摇号公示文件 (verify a published lottery package): recomputes the order from the "
        "file alone; exits 0 when it matches, 1 otherwise. Needs no database."
    )
    requires_system_checks = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("file", help="摇号公示文件（JSON）")

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"无法读取文件 {path}：{exc.strerror or exc}") from None
        try:
            pkg = lottery.loads(data)
        except ValueError as exc:
            raise CommandError(f"不一致：{exc}") from None
        ok, problems = lottery.verify(pkg)
        if not ok:
            listing = "\n".join(f"  - {p}" for p in problems)
            raise CommandError(f"不一致：共 {len(problems)} 处问题 (does not match)\n{listing}")
        name, entrants, rounds = lottery.summary(pkg)
        self.stdout.write(
            self.style.SUCCESS(
                f"一致：{name or '（未命名活动）'}，共 {entrants} 名报名者，{rounds} 轮"
                f"，文件摘要 {pkg['package_digest']} (the order recomputes exactly)"
            )
        )
