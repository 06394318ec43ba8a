"""待我审批 counts every kind of waiting item (issue 12: the badge counted 1 while 2 claims
waited): the requests at the user's levels and each registered ``Waiting`` they decide
(撞单申请, a day sheet to review), in the badge, the inbox and the home page."""

import re

from loupan.approvals import services as approvals
from loupan.approvals.kinds import waiting_kinds
from loupan.customers import services as customers
from loupan.customers.models import ClaimStatus, Customer, OwnershipClaim
from tests.testing import web_client


def _badge(client, project) -> int:
    body = client.get(f"/projects/{project.pk}/approvals/count/").content.decode()
    found = re.search(r">(\d+)<", body)
    return int(found.group(1)) if found else 0


def _claim(demo, n=1):
    """``n`` more open 撞单申请 in the main project, by the second consultant."""
    claimant = demo["users"]["consultant2"]
    owned = Customer.objects.filter(project=demo["main"], owner=demo["users"]["consultant"])
    taken = OwnershipClaim.objects.values_list("customer_id", flat=True)
    for customer in owned.exclude(pk__in=taken).order_by("pk")[:n]:
        OwnershipClaim.objects.create(customer=customer, claimant=claimant, reason="同来访")


def test_the_badge_counts_requests_and_claims(demo):
    project, supervisor = demo["main"], demo["users"]["supervisor"]
    _claim(demo, 2)
    claims = OwnershipClaim.objects.filter(customer__project=project, status=ClaimStatus.OPEN)
    assert claims.count() >= 2
    requests = approvals.pending_for(supervisor, project).count()
    expected = requests + claims.count()
    assert approvals.waiting_count(supervisor, project) == expected
    client = web_client(supervisor)
    assert _badge(client, project) == expected
    inbox = client.get(f"/projects/{project.pk}/approvals/").content.decode()
    assert 'data-waiting="claim"' in inbox and f"/projects/{project.pk}/claims/" in inbox
    home = client.get("/").content.decode()
    assert 'id="home-waiting"' in home and 'data-waiting="claim"' in home


def test_who_may_not_decide_a_claim_does_not_count_it(demo):
    project, consultant = demo["main"], demo["users"]["consultant"]
    _claim(demo, 1)
    assert not customers.may_decide_claims(consultant, project)
    assert (
        approvals.waiting_count(consultant, project)
        == approvals.pending_for(consultant, project).count()
    )
    assert 'data-waiting="claim"' not in web_client(consultant).get("/").content.decode()


def test_the_claims_and_day_sheets_are_registered():
    assert {"claim", "day_close"} <= {w.code for w in waiting_kinds()}
