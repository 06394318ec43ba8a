import time

from django.core.management.base import BaseCommand

from loupan.core import due


class Command(BaseCommand):
    help = (
        "执行到期任务（各应用登记的到期任务，按顺序）：保留单到期、销控保留到期释放、滚动释放计划、"
        "定时执行的价格方案、客户归属到期转入公客池、超过保存期限的客户匿名化 … "
        "(run every registered due job in order). "
        "Run it from cron every minute, or with --loop as a small scheduler."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--loop", action="store_true", help="keep running, once every --interval seconds"
        )
        parser.add_argument("--interval", type=int, default=60)

    def handle(self, *args, loop=False, interval=60, **options):
        while True:
            self.stdout.write(due.report(due.run_due()))
            if not loop:
                return
            time.sleep(interval)
