import time

from django.core.management.base import BaseCommand

from loupan.core.due import all_due


class Command(BaseCommand):
    help = (
        "执行到期任务：保留单到期、销控保留到期释放、滚动释放计划、定时执行的价格方案、客户归属到期转入公客池、"
        "超过保存期限的客户匿名化 (run what is due: expired reservations and holds, release plans, scheduled "
        "price lists, expired ownership to the public pool, expired retention). "
        "Run it from cron every minute, or with --loop as a small scheduler."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--loop", action="store_true", help="keep running, once every --interval seconds"
        )
        parser.add_argument("--interval", type=int, default=60)

    def handle(self, *args, loop=False, interval=60, **options):
        while True:
            done = all_due()
            self.stdout.write(
                f"保留单到期 {done['reservations_expired']} 笔，"
                f"销控保留到期释放 {done['holds_expired']} 套，释放计划 {done['plans']} 个，"
                f"价格方案 {done['price_lists']} 个，转入公客池 {done['pool']} 位，"
                f"匿名化 {done['anonymized']} 位"
            )
            if not loop:
                return
            time.sleep(interval)
