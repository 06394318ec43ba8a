from django.db import migrations


def reservation_ends_on_units(apps, schema_editor):
    """A reserved unit carries when its reservation runs out (``Unit.hold_until``), so
    pages read it as available from then on without a write: set it for the
    reservations that are open now."""
    Deal = apps.get_model("deals", "Deal")
    Unit = apps.get_model("inventory", "Unit")
    for deal in Deal.objects.filter(status="reserved", reservation_expires_at__isnull=False):
        unit_ids = deal.units.filter(live=True).values_list("unit_id", flat=True)
        Unit.objects.filter(pk__in=list(unit_ids), status="reserved").update(
            hold_until=deal.reservation_expires_at
        )


class Migration(migrations.Migration):
    dependencies = [
        ("deals", "0003_engines_move"),
        ("inventory", "0003_pricelists_on_approvals"),
    ]

    operations = [migrations.RunPython(reservation_ends_on_units, migrations.RunPython.noop)]
