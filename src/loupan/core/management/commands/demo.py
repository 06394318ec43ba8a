from django.core.management.base import BaseCommand

from loupan.core.demo import build_demo, demo_accounts_table


class Command(BaseCommand):
    help = "建立演示售楼处（幂等）Build the demo sales office (idempotent) and print the demo accounts."

    def handle(self, *args, **options):
        result = build_demo()
        self.stdout.write(
            self.style.SUCCESS(
                f"演示数据就绪：{result['company']} · {result['main']} / {result['second']}"
            )
        )
        self.stdout.write(demo_accounts_table())
