from django.core.management.base import BaseCommand

from loupan.core import demo


class Command(BaseCommand):
    help = "建立演示售楼处（幂等）Build the demo sales office (idempotent) and print the demo accounts."

    def handle(self, *args, **options):
        result = demo.build_demo(stdout=self.stdout if options["verbosity"] > 1 else None)
        self.stdout.write(
            self.style.SUCCESS(
                f"演示数据就绪：{result['company']} · {result['main']} / {result['second']}"
            )
        )
        self.stdout.write(demo.report())
