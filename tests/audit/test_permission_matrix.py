"""The reusable access checks (tests/testing.py) applied to the audit trail: the API
(``/api/v1/audit-entries/``, read-only) and the audit pages (list and export)."""

from loupan.audit.models import AuditAction
from loupan.audit.services import audit_record
from tests.testing import APIAccessCase, Endpoint, Objects, ReadOnlyAPIMixin, UIAccessCase


def _entry(project, marker):
    return audit_record(
        actor=None,
        action=AuditAction.UPDATE,
        project_id=project.pk,
        object_type="test",
        object_id="1",
        object_repr=marker,
        username="test",
    )


class _AuditCase:
    # The auditor reads (audit.view) and exports (audit.export) the trail; a consultant
    # does neither.
    permitted_role = "auditor"
    unpermitted_role = "consultant"
    unpermitted_reads = False

    def objects(self, demo):
        return Objects(
            obj=_entry(demo["main"], "测试审计甲"),
            foreign=_entry(demo["second"], "测试审计乙"),
            project=demo["main"],
            other=demo["second"],
            list_marker="测试审计甲",
        )


class TestAuditEntryAPI(_AuditCase, ReadOnlyAPIMixin, APIAccessCase):
    def endpoints(self, objs):
        return [
            Endpoint("list", "get", "/api/v1/audit-entries/", scoped=False),
            Endpoint("detail", "get", f"/api/v1/audit-entries/{objs.obj.pk}/"),
        ]

    def read_only_urls(self, objs):
        return "/api/v1/audit-entries/", f"/api/v1/audit-entries/{objs.obj.pk}/"


class TestAuditEntryPages(_AuditCase, UIAccessCase):
    def endpoints(self, objs):
        return [
            Endpoint("list", "get", "/audit/", scoped=False),
            # The export (an audited read: the auditor's export adds its own entry).
            Endpoint("export", "post", "/audit/export/", scoped=False),
        ]
