"""The one approval engine across kinds: a price list and a deal's discount in one inbox,
each kind's rule of who decides (never over a superior's head for a deal; a director in
a manager's place for a price list; a lower level may stop a price list; never one's
own), withdrawal, and the kinds' own effects."""

from decimal import Decimal

import pytest

from loupan.approvals import services as approvals
from loupan.approvals.kinds import kind_of
from loupan.approvals.models import ApprovalRequest, ApprovalStatus
from loupan.core.errors import DomainError
from loupan.deals import services as deals
from loupan.deals.models import DealStatus, DiscountType
from loupan.inventory import pricelists as ps
from loupan.inventory.models import PriceListStatus
from tests.deals.helpers import customer_of, free_unit, user
from tests.inventory import pricing_helpers as helpers

data = helpers.data
priced = helpers.priced


def _adjust(data, pct):
    return ps.adjustment_create(
        actor=data["users"]["planner"],
        project=data["project"],
        name=f"调价 {pct}%",
        unit_ids=[u.pk for u in data["units"]],
        mode="percent",
        value=pct,
    )


def _discount_request(pct="1.5"):
    special = DiscountType.objects.get(project=free_unit().project, name="特批")
    deal = deals.deal_reserve(actor=user("consultant"), unit=free_unit(), customer=customer_of())
    deal = deals.deal_subscribe(
        actor=user("consultant"),
        deal=deal,
        buyers=[(deal.customer, "100")],
        payment_method="commercial",
        deposit="50000",
        discounts=[(special, Decimal(pct))],
        reason="老业主",
    )
    assert deal.status == DealStatus.APPROVAL
    return ApprovalRequest.objects.get(deal=deal, kind="discount")


def test_one_inbox_holds_every_kind_and_each_kind_keeps_its_rule(priced, settings):
    settings.LOUPAN_PRICE_MANAGER_MAX_CHANGE_PCT = Decimal("5")
    users = priced["users"]
    project = priced["project"]
    pl = ps.pricelist_submit(actor=users["planner"], price_list=_adjust(priced, "3"))
    listed = approvals.requests_of(pl).get()
    assert listed.requested_by == users["planner"]  # the drafter's request
    discount = _discount_request()
    manager = approvals.pending_for(users["manager"], project)
    supervisor = approvals.pending_for(users["supervisor"], project)
    assert listed in manager and discount not in manager  # the discount waits below
    assert discount in supervisor and listed not in supervisor
    # the director may decide a price list in the manager's place, not a discount
    director = users["director"]
    assert approvals.can_decide(director, listed) == (True, "")
    assert approvals.can_decide(director, discount) == (
        False,
        "该申请当前不在您的审批级别，不能越级审批。",
    )
    # the inbox page shows both kinds, each with its card
    from django.test import Client

    client = Client()
    client.force_login(users["manager"])
    page = client.get(f"/projects/{project.pk}/approvals/").content.decode()
    assert "V" in page and str(pl) in page and "最大调幅" in page


def test_a_manager_may_stop_a_list_beyond_the_limit_but_never_approve_it(priced, settings):
    settings.LOUPAN_PRICE_MANAGER_MAX_CHANGE_PCT = Decimal("5")
    users = priced["users"]
    pl = ps.pricelist_submit(actor=users["planner"], price_list=_adjust(priced, "8"))
    request = approvals.requests_of(pl).get()
    assert request.level == request.final_level == "pricelist.approve_any"
    allowed, why = approvals.can_decide(users["manager"], request)
    assert not allowed and "超过销售经理审批限额" in why
    assert approvals.can_decide(users["manager"], request, approve=False) == (True, "")
    pl = ps.pricelist_reject(actor=users["manager"], price_list=pl, note="涨幅过大")
    assert pl.status == PriceListStatus.REJECTED and pl.decided_by == users["manager"]
    request.refresh_from_db()
    assert request.status == ApprovalStatus.REJECTED
    assert [s.decision for s in request.steps.all()] == ["reject"]


def test_the_drafter_withdraws_a_list_back_to_a_draft(priced):
    users = priced["users"]
    pl = ps.pricelist_submit(actor=users["planner"], price_list=_adjust(priced, "3"))
    request = approvals.requests_of(pl).get()
    with pytest.raises(DomainError) as exc:
        approvals.approval_withdraw(actor=users["consultant"], request=request)
    assert exc.value.code == "permission_denied"
    approvals.approval_withdraw(actor=users["planner"], request=request)
    pl.refresh_from_db()
    assert pl.status == PriceListStatus.DRAFT and pl.required_approver == ""
    # and it can be submitted again: a new request, the old one kept as withdrawn
    ps.pricelist_submit(actor=users["planner"], price_list=pl)
    statuses = sorted(approvals.requests_of(pl).values_list("status", flat=True))
    assert statuses == ["pending", "withdrawn"]


def test_a_second_open_request_of_a_kind_on_one_object_is_refused(priced):
    users = priced["users"]
    pl = ps.pricelist_submit(actor=users["planner"], price_list=_adjust(priced, "3"))
    with pytest.raises(DomainError) as exc:
        approvals.approval_request(
            actor=users["planner"],
            project=priced["project"],
            subject=pl,
            kind="pricelist",
            payload={},
            reason="再来一次",
            final="pricelist.approve",
        )
    assert exc.value.code == "conflict"


def test_every_kind_is_registered_with_its_card(demo):
    for code in ("discount", "clause", "exchange", "rename", "cancel", "pricelist"):
        kind = kind_of(code)
        assert kind.card_template and kind.subjects is not None


def test_a_decided_request_is_decided_by_nobody_again(demo):
    request = _discount_request("1.5")
    assert request.level == "supervisor"
    assert approvals.can_decide(user("supervisor"), request) == (True, "")
    approvals.approval_decide(
        actor=user("supervisor"), request=request, approve=False, reason="价格过低"
    )
    request.refresh_from_db()
    assert approvals.can_decide(user("supervisor"), request) == (False, "该申请已处理。")
    assert approvals.can_decide(user("director"), request, approve=False)[0] is False


def test_nobody_decides_a_request_of_their_own_though_they_hold_its_level(priced):
    """A price list's kind never lets its requester decide (``self_decide=False``): a
    manager whose request it is (filed for them, as a list is its drafter's) holds its
    level and is still refused, with the rule's words; another decider is not."""
    users = priced["users"]
    manager = users["manager"]
    request = approvals.approval_request(
        actor=users["planner"],
        project=priced["project"],
        subject=_adjust(priced, "3"),
        kind="pricelist",
        payload={},
        reason="经理本人的方案",
        final="pricelist.approve",
        requested_by=manager,
    )
    assert request.requested_by == manager and request.level == "pricelist.approve"
    assert request.level in kind_of("pricelist").held_levels(manager, request.project_id)
    refused = (False, "不能审批自己提交的申请。")
    assert approvals.can_decide(manager, request) == refused
    assert approvals.can_decide(manager, request, approve=False) == refused
    assert approvals.can_decide(users["director"], request) == (True, "")


def test_a_decider_counts_on_the_request_s_project_only(demo):
    """``Kind.held_levels`` reads the decide permission and the levels on the project
    asked: a supervisor of the second project who is a consultant here decides nothing
    here, even at a level their role here is named in; the main project's supervisor
    holds the main project's levels (here a kind whose levels differ per project)."""
    from loupan.accounts import access

    main, second = demo["main"], demo["second"]
    kind, elsewhere = _per_project_kind(demo, "test_per_project", "supervisor_elsewhere")
    assert access.has_perm(elsewhere, "deal.approve", second)
    assert not access.has_perm(elsewhere, "deal.approve", main)
    assert kind.held_levels(elsewhere, main.pk) == []
    assert kind.held_levels(elsewhere, main) == []
    assert kind.held_levels(user("supervisor"), main.pk) == ["supervisor"]


def test_holds_final_is_the_final_level_held_on_the_project_asked(demo):
    """``holds_final``: whether the actor may decide a kind's request at ``final``
    themselves, on that project only: a supervisor of the second project who is a
    consultant here holds the supervisor's level there, not here."""
    from loupan.accounts.models import Membership, Role, User

    main, second = demo["main"], demo["second"]
    elsewhere = User.objects.create_user(
        username="supervisor_final", password="x", real_name="乙项目主管"
    )
    for project, role in ((second, "supervisor"), (main, "consultant")):
        Membership.objects.create(user=elsewhere, project=project, role=Role.objects.get(code=role))
    assert approvals.holds_final(user("supervisor"), main, "discount", "supervisor")
    assert not approvals.holds_final(user("supervisor"), main, "discount", "manager")
    assert approvals.holds_final(user("manager"), main, "discount", "manager")
    assert not approvals.holds_final(user("consultant"), main, "discount", "supervisor")
    assert approvals.holds_final(elsewhere, second, "discount", "supervisor")
    assert not approvals.holds_final(elsewhere, main, "discount", "supervisor")
    assert not approvals.holds_final(elsewhere, main.pk, "discount", "supervisor")


def test_a_kind_places_a_user_at_their_highest_level_on_the_project_asked(demo):
    """``Kind.level_of`` (where a requester stands): the highest of the project's levels
    the user holds there, -1 for nobody in the chain; read on the project asked (a kind
    whose levels differ per project; a supervisor of the second project who is a
    consultant here stands at the consultant's level here)."""
    main, second = demo["main"], demo["second"]
    kind, elsewhere = _per_project_kind(demo, "test_level_of", "supervisor_level")
    assert kind.level_of(user("consultant"), main) == 0
    assert kind.level_of(user("supervisor"), main) == 1
    assert kind.level_of(user("manager"), main) == 2
    assert kind.level_of(user("manager"), second) == -1  # a manager of the main project only
    assert kind.level_of(elsewhere, main) == 0
    assert kind.level_of(elsewhere, second) == -1
    assert kind.level_of(user("finance"), main) == -1
    assert kind_of("discount").level_of(user("finance"), main) == -1
    assert kind_of("discount").level_of(user("director"), main) == 3


def _per_project_kind(demo, code, username):
    """A kind whose levels differ per project (three in the main project, the manager
    alone elsewhere), and a supervisor of the second project who is a consultant in the
    main one."""
    from loupan.accounts import access
    from loupan.accounts.models import Membership, Role, User
    from loupan.approvals.kinds import Kind

    main, second = demo["main"], demo["second"]
    kind = Kind(
        code=code,
        label="测试",
        apply=lambda **kwargs: None,
        view_perm="deal",
        decide_perms=("deal.approve",),
        levels=lambda project: (
            ["consultant", "supervisor", "manager"]
            if access.scope_of(project) == main.pk
            else ["manager"]
        ),
    )
    elsewhere = User.objects.create_user(username=username, password="x", real_name="乙项目主管")
    for project, role in ((second, "supervisor"), (main, "consultant")):
        Membership.objects.create(user=elsewhere, project=project, role=Role.objects.get(code=role))
    return kind, elsewhere
