"""The deal lists (全部交易, 未签约客户一览表, 契约签署一览表, 特殊优惠客户一览表) and the
approvals inbox: who sees which rows, the one filter set, and query counts that do not
grow with the rows."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loupan.approvals import services as approvals
from loupan.customers import services as customer_services
from loupan.deals import services
from loupan.deals.filters import DealFilterSet
from loupan.deals.models import Deal, DealStatus, DiscountType
from loupan.inventory.models import Unit, UnitStatus
from tests.deals.helpers import project, sign, user
from tests.testing import web_client

pytestmark = pytest.mark.django_db


def url(tail=""):
    return f"/projects/{project().pk}/{tail}"


def client_of(name):
    return web_client(user(name))


_phones = iter(range(13700100000, 13700199999))


def new_deal(consultant="consultant", *, to="reserved", special=None, clause=False, late=False):
    """A deal of ``consultant`` on the next free unit, taken to ``to``."""
    unit = (
        Unit.objects.filter(
            project=project(), status=UnitStatus.AVAILABLE, sellable=True, use="residential"
        )
        .exclude(list_price=None)
        .order_by("pk")
        .first()
    )
    n = next(_phones)
    customer = customer_services.customer_register(
        actor=user(consultant),
        project=project(),
        name=f"列表客户{n}",
        phone=str(n),
        wanted_layout="B1",
    )
    deal = services.deal_reserve(actor=user(consultant), unit=unit, customer=customer)
    if to == "reserved":
        return deal
    discounts = []
    if special:
        discounts = [(DiscountType.objects.get(project=project(), name="特批"), special)]
    deal = services.deal_subscribe(
        actor=user(consultant),
        deal=deal,
        buyers=[(customer, "100")],
        payment_method="commercial",
        deposit="10000",
        discounts=discounts,
        reason="列表测试",
    )
    if to == "approval":
        return deal
    if deal.status == DealStatus.APPROVAL:
        for level in ("supervisor", "manager", "director"):
            request = deal.approvals.filter(status="pending").first()
            if request is None:
                break
            approvals.approval_decide(actor=user(level), request=request, approve=True)
        deal.refresh_from_db()
    deal = services.deal_confirm_deposit(actor=user("finance"), deal=deal)
    if late:
        Deal.objects.filter(pk=deal.pk).update(
            signing_deadline=timezone.localdate() - datetime.timedelta(days=3)
        )
    if to == "subscribed":
        return deal
    if clause:
        services.clause_add(actor=user(consultant), deal=deal, text=f"条款{n}")
        approvals.approval_decide(
            actor=user("director"), request=deal.approvals.get(kind="clause"), approve=True
        )
    return sign(deal)


def queries(client, path, params=None):
    client.get(path, params)  # warm the session
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# --- who sees what ------------------------------------------------------------------------


def test_consultant_sees_only_their_own_deals(demo):
    mine, theirs = new_deal(), new_deal("consultant2")
    html = client_of("consultant").get(url("deals/")).content.decode()
    assert mine.reservation_number in html and theirs.reservation_number not in html
    assert 'name="consultant"' not in html  # no consultant filter on one's own list
    html = client_of("supervisor").get(url("deals/")).content.decode()
    assert mine.reservation_number in html and theirs.reservation_number in html
    assert 'name="consultant"' in html
    assert client_of("finance").get(url("deals/")).status_code == 200
    assert client_of("planner").get(url("deals/")).status_code == 404


def test_filters(demo):
    a = new_deal(to="subscribed")
    b = new_deal("consultant2")
    client = client_of("manager")

    def listed(**params):
        response = client.get(url("deals/"), params)
        assert response.status_code == 200
        return {d.pk for d in response.context["page"]}

    assert a.pk in listed(status="subscribed") and b.pk not in listed(status="subscribed")
    assert listed(consultant=user("consultant2").pk) >= {b.pk}
    assert a.pk not in listed(consultant=user("consultant2").pk)
    by_unit = listed(q=a.unit.number)  # the unit's earlier, ended deals too
    assert a.pk in by_unit and b.pk not in by_unit
    assert {d.unit_id for d in Deal.objects.filter(pk__in=by_unit)} == {a.unit_id}
    assert listed(q=a.customer.name) == {a.pk}
    assert listed(q=a.number) == {a.pk}
    today = timezone.localdate()
    assert {a.pk, b.pk} <= listed(reserved_after=today.isoformat())
    assert not ({a.pk, b.pk} & listed(reserved_before=(today - datetime.timedelta(days=1))))
    assert b.pk in listed(live="true")
    released = Deal.objects.filter(project=project(), status="released").values_list(
        "pk", flat=True
    )
    assert set(released) <= listed(live="false") and b.pk not in listed(live="false")


def test_the_filter_set_serves_without_a_project():
    """The API builds it from its request; without either it offers no consultants."""
    filterset = DealFilterSet({}, queryset=Deal.objects.none())
    assert list(filterset.filters["consultant"].queryset) == []


def test_unsigned_list_groups_late_subscriptions_per_consultant(demo):
    late = new_deal("consultant2", to="subscribed", late=True)
    on_time = new_deal("consultant2", to="subscribed")
    response = client_of("supervisor").get(url("deals/unsigned/"))
    html = response.content.decode()
    assert late.number in html and on_time.number not in html
    groups = dict(response.context["groups"])
    consultant2 = user("consultant2")
    assert [d.pk for d, days in groups[consultant2] if days == 3] == [late.pk]
    assert all(d.consultant == c for c, rows in groups.items() for d, _days in rows)
    # the demo's late subscription belongs to someone too, and contracted deals never show
    assert all(
        d.status in ("approval", "pending", "subscribed")
        for rows in groups.values()
        for d, _ in rows
    )
    mine = client_of("consultant").get(url("deals/unsigned/")).context["groups"]
    assert all(c.username == "consultant" for c, _rows in mine)


def test_contract_ledger_shows_contracts_with_clauses_and_filing(demo):
    deal = new_deal(to="contracted", clause=True)
    services.contract_update_filing(
        actor=user("salesadmin"), deal=deal, filing_status="signed", filing_number="WQ-9"
    )
    html = client_of("salesadmin").get(url("deals/contracts/")).content.decode()
    assert deal.contract_number in html and "WQ-9" in html and "已网签" in html
    assert deal.clauses.get().text in html
    assert "交房时赠送一年物业费" in html  # the demo's approved clause
    assert new_deal(to="subscribed").number not in html


def test_special_discount_list_shows_the_approver_chain(demo):
    deal = new_deal(to="subscribed", special="2.5")  # supervisor forwards, manager approves
    plain = new_deal(to="subscribed")
    response = client_of("director").get(url("deals/special-discounts/"))
    html = response.content.decode()
    assert deal.number in html and plain.number not in html
    row = html[html.index(deal.number) :]
    row = row[: row.index("</tr>")]
    assert "销售主管" in row and "销售经理" in row and "批准" in row and "列表测试" in row
    assert f"{deal.discount_pct}%" in row
    waiting = Deal.objects.filter(project=project(), status=DealStatus.APPROVAL).first()
    assert waiting.number in html and "待销售主管审批" in html  # the demo's open request


# --- query counts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("deals/", "supervisor"),
        ("deals/", "consultant"),
        ("deals/unsigned/", "supervisor"),
        ("deals/contracts/", "salesadmin"),
        ("deals/special-discounts/", "manager"),
        ("approvals/", "supervisor"),
        ("approvals/", "consultant"),
    ],
)
def test_list_query_counts_do_not_grow_with_rows(demo, path, role):
    client = client_of(role)
    before = queries(client, url(path))
    assert before <= 16, before
    for i in range(3):
        new_deal(to="contracted", clause=i == 0, late=True)
        new_deal(to="subscribed", special="2.5", late=True)
        new_deal("consultant", to="approval", special="1.5")
        new_deal("consultant2", to="subscribed", late=True)
    assert queries(client, url(path)) == before


def test_deal_page_query_count_is_bounded(demo):
    deal = new_deal(to="contracted", clause=True, special="2.5")
    client = client_of("manager")
    assert queries(client, deal.get_absolute_url()) <= 25


def test_list_totals_are_formatted(demo):
    deal = new_deal(to="subscribed")
    html = client_of("consultant").get(url("deals/")).content.decode()
    assert f"{Decimal(deal.total):,.2f}" in html
