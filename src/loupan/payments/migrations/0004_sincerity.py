"""Money held for a customer before there is a deal (issue 16: the sincerity deposit
诚意金 of an opening's registration): a ledger entry and a receipt may name a customer
and a reference instead of a deal.

The guards of ``0002`` read no ``deal_id`` (the append-only trigger refuses any UPDATE,
the open-day trigger reads ``project_id`` and ``paid_on``), so they hold for these rows
as they are. PostgreSQL alters the table in place and keeps its triggers. SQLite cannot
alter a column or add a constraint in place: Django rebuilds the table (a new table, the
rows copied, the old one dropped), and a dropped table takes its triggers with it — so on
SQLite the guards of ``0002`` are installed again on the rebuilt table, at the end of
this migration and, going back, after the reverse rebuild.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

LOCKED = "('pending', 'closed')"

# the SQLite guards of 0002, as they are there
SQLITE_CREATE = [
    """
    CREATE TRIGGER payments_ledgerentry_no_update BEFORE UPDATE ON payments_ledgerentry
    BEGIN SELECT RAISE(ABORT, 'payments_ledgerentry is append-only: UPDATE refused'); END
    """,
    f"""
    CREATE TRIGGER payments_ledgerentry_open_day BEFORE INSERT ON payments_ledgerentry
    WHEN EXISTS (SELECT 1 FROM payments_dayclose
                 WHERE project_id = NEW.project_id AND day = NEW.paid_on
                   AND status IN {LOCKED})
    BEGIN SELECT RAISE(ABORT, 'day is closed: no new ledger entry'); END
    """,
]

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS payments_ledgerentry_no_update",
    "DROP TRIGGER IF EXISTS payments_ledgerentry_open_day",
]


def sqlite_guards(apps, schema_editor):
    """Install the ledger's guards again on SQLite after its table was rebuilt."""
    if schema_editor.connection.vendor != "sqlite":
        return
    for sql in [*SQLITE_DROP, *SQLITE_CREATE]:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0004_customer_education'),
        ('deals', '0005_deal_contract_scanned_at'),
        ('inventory', '0003_pricelists_on_approvals'),
        ('payments', '0003_commission_entry_terms'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # going back, the guards are installed again after the reverse rebuild
        migrations.RunPython(migrations.RunPython.noop, sqlite_guards),
        migrations.AddField(
            model_name='ledgerentry',
            name='customer',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='customers.customer', verbose_name='客户'),
        ),
        migrations.AddField(
            model_name='ledgerentry',
            name='reference',
            field=models.CharField(blank=True, db_default='', default='', help_text='暂收款为何而收，如「认筹 一期开盘 0007」', max_length=40, verbose_name='款项用途'),
        ),
        migrations.AddField(
            model_name='receipt',
            name='customer',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='customers.customer', verbose_name='客户'),
        ),
        migrations.AddField(
            model_name='receipt',
            name='reference',
            field=models.CharField(blank=True, db_default='', default='', max_length=40, verbose_name='款项用途'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='deal',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ledger', to='deals.deal', verbose_name='交易'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='purpose',
            field=models.CharField(choices=[('deposit', '定金'), ('price', '房款'), ('late_fee', '滞纳金'), ('sincerity', '诚意金')], default='price', max_length=10, verbose_name='款项性质'),
        ),
        migrations.AlterField(
            model_name='receipt',
            name='deal',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='receipts', to='deals.deal', verbose_name='交易'),
        ),
        migrations.AddIndex(
            model_name='ledgerentry',
            index=models.Index(condition=models.Q(('customer__isnull', False)), fields=['customer', 'reference'], name='payments_entry_held_idx'),
        ),
        migrations.AddConstraint(
            model_name='ledgerentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('customer__isnull', False), ('deal__isnull', True), ('purpose', 'sincerity'), models.Q(('reference', ''), _negated=True)), models.Q(models.Q(('purpose', 'sincerity'), _negated=True), ('deal__isnull', False)), _connector='OR'), name='payments_entry_deal_or_customer'),
        ),
        migrations.AddConstraint(
            model_name='receipt',
            constraint=models.CheckConstraint(condition=models.Q(('deal__isnull', False), ('customer__isnull', False), _connector='OR'), name='payments_receipt_deal_or_customer'),
        ),
        # the rebuilt SQLite table has no trigger yet
        migrations.RunPython(sqlite_guards, migrations.RunPython.noop),
    ]
