"""The reusable access checks (tests/testing.py) applied to approval requests: the API
(``/api/v1/approvals/``) and the inbox's decide page. A consultant sees only the requests
they made (``OwnObjectsMixin``)."""

from loupan.approvals.models import ApprovalRequest, ApprovalStatus
from loupan.deals.models import Deal, DealStatus
from tests import other_project
from tests.testing import APIAccessCase, Endpoint, Objects, OwnObjectsMixin, UIAccessCase


def _status_is(req, status):
    def check(response):
        assert ApprovalRequest.objects.get(pk=req.pk).status == status

    return check


class _ApprovalCase(OwnObjectsMixin):
    # A rename waiting at the manager's level: the manager decides it; finance sees the
    # requests of the project's deals (deal.view) but decides none.
    permitted_role = "manager"
    unpermitted_role = "finance"

    def objects(self, demo):
        deal = (
            Deal.objects.filter(
                project=demo["main"],
                status=DealStatus.SUBSCRIBED,
                consultant=demo["users"]["consultant"],
            )
            .order_by("pk")
            .first()
        )
        return Objects(
            obj=other_project.approval_request(deal, requested_by=demo["users"]["consultant"]),
            foreign=other_project.approval_request(other_project.deal()),
            project=demo["main"],
            other=demo["second"],
        )

    def own_object(self, objs, user):
        deal = other_project.deal(
            project=objs.project,
            consultant=user,
            unit_=objs.project.units.filter(status="available").order_by("pk")[3],
        )
        return other_project.approval_request(deal, requested_by=user)


class TestApprovalRequestAPI(_ApprovalCase, APIAccessCase):
    def endpoints(self, objs):
        req = objs.obj
        return [
            Endpoint("list", "get", "/api/v1/approvals/", scoped=False),
            Endpoint("detail", "get", f"/api/v1/approvals/{req.pk}/"),
            Endpoint(
                "reject",
                "post",
                f"/api/v1/approvals/{req.pk}/reject/",
                {"reason": "测试驳回"},
                check=_status_is(req, ApprovalStatus.REJECTED),
            ),
        ]


class TestApprovalRequestAPIWithoutDealView(TestApprovalRequestAPI):
    """Planning sees no deal, so no request about one."""

    unpermitted_role = "planner"
    unpermitted_reads = False


class TestApprovalRequestPages(_ApprovalCase, UIAccessCase):
    def endpoints(self, objs):
        req, p = objs.obj, objs.project.pk
        return [
            # 待我审批: every member has an inbox (empty when nothing waits for them).
            Endpoint("list", "get", f"/projects/{p}/approvals/"),
            Endpoint(
                "reject",
                "post",
                f"/projects/{p}/approval-requests/{req.pk}/decide/",
                {"decision": "reject", "reason": "测试驳回"},
                ok=(302,),
                check=_status_is(req, ApprovalStatus.REJECTED),
            ),
        ]
