from django.core.management.base import BaseCommand, CommandError

from loupan.audit.services import verify_chain


class Command(BaseCommand):
    help = "校验审计日志哈希链 (verify the audit trail's hash chain); exits 1 at the first broken link."

    def handle(self, *args, **options):
        checked, broken, reason = verify_chain()
        if broken is not None:
            what = (
                "内容被修改 (content edited)"
                if reason == "content"
                else "链接断开 (previous hash mismatch: a row was removed or reordered)"
            )
            raise CommandError(
                f"审计日志在第 {broken} 条记录处断开：{what}。此前 {checked} 条完好。"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"审计日志完好：共 {checked} 条记录 (audit trail intact: {checked} entries)"
            )
        )
