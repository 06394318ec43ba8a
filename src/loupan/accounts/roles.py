"""System roles follow the code: ``sync_system_roles`` writes the table of
``role_table.SYSTEM_ROLES`` into ``Role`` rows after every migrate."""

from django.utils import translation

from .models import Role
from .role_table import ROLE_CODES, SYSTEM_ROLES, role_label

__all__ = ["ROLE_CODES", "SYSTEM_ROLES", "role_label", "sync_system_roles"]


def sync_system_roles(**kwargs):
    """Create or update the system roles from ``SYSTEM_ROLES`` (runs after migrate)."""
    with translation.override("zh-hans"):
        for order, spec in enumerate(SYSTEM_ROLES):
            Role.objects.update_or_create(
                code=spec["code"],
                defaults={
                    "name": str(spec["name"]),
                    "description": str(spec["description"]),
                    "permissions": sorted(set(spec["permissions"])),
                    "is_system": True,
                    "sort_order": order,
                },
            )
