from django.db import migrations

LEVELS = {"manager": "pricelist.approve", "director": "pricelist.approve_any"}


def open_requests(apps, schema_editor):
    """Price lists waiting for approval get their request in the approval engine (the
    drafter's request, at the level the list needs), as ``pricelist_submit`` now
    opens it."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    PriceList = apps.get_model("inventory", "PriceList")
    Request = apps.get_model("approvals", "ApprovalRequest")
    pricelist_type, _ = ContentType.objects.get_or_create(app_label="inventory", model="pricelist")
    for pl in PriceList.objects.filter(status="submitted", created_by__isnull=False).order_by("pk"):
        level = LEVELS.get(pl.required_approver, LEVELS["director"])
        Request.objects.create(
            project_id=pl.project_id,
            subject_type=pricelist_type,
            subject_id=pl.pk,
            kind="pricelist",
            payload={
                "version": pl.version,
                "name": pl.name,
                "max_change_pct": None if pl.max_change_pct is None else str(pl.max_change_pct),
                "first_pricing": pl.max_change_pct is None,
            },
            reason=f"价格方案 V{pl.version} {pl.name} 提交审批",
            requested_by_id=pl.created_by_id,
            requested_at=pl.submitted_at or pl.created_at,
            level=level,
            final_level=level,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0002_units_pricelists"),
        ("approvals", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(open_requests, migrations.RunPython.noop)]
