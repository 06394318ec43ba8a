"""The change pages through the real URLs: exchange, rename, cancellation from the deal
page, withdraw a request, dispute and refund; the 业主登记一览表 with the buyer analysis,
the 客户换房、退房一览表 with the reason summary, and the xlsx exports of the lists."""

import io

import pytest
from openpyxl import load_workbook

from loupan.approvals.models import ApprovalRequest, ApprovalStatus
from loupan.audit.models import AuditEntry
from loupan.customers.models import Customer
from loupan.deals import changes
from loupan.deals.models import Cancellation, Deal, DealChange, DealStatus
from loupan.inventory.models import UnitStatus
from tests.deals.helpers import (
    base,
    client_of,
    customer_of,
    deal_url,
    free_unit,
    project,
    subscribed,
    subscribed_by_two,
    user,
)

pytestmark = pytest.mark.django_db


def sheet_rows(response):
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]


def test_the_demo_office_has_every_change(demo):
    deals = Deal.objects.filter(project=project())
    assert deals.filter(status=DealStatus.EXCHANGED).exists()
    assert deals.filter(status=DealStatus.CANCELLED).exists()
    assert DealChange.objects.filter(project=project(), kind="rename").exists()
    assert Cancellation.objects.filter(deal__project=project(), dispute="arbitration").exists()
    assert ApprovalRequest.objects.filter(
        project=project(), kind="cancel", status=ApprovalStatus.PENDING
    ).exists()


def test_exchange_from_the_deal_page(demo):
    deal = subscribed(contract=True)
    consultant = client_of("consultant")
    page = consultant.get(deal_url(deal))
    assert 'id="exchange-form"' in page.content.decode()
    # a number that does not exist is named next to the field
    response = consultant.post(
        deal_url(deal, "exchange/"), {"ex-unit": "不存在", "ex-reason": "换"}
    )
    assert response.status_code == 400
    assert "没有房号为 不存在 的房间" in response.content.decode()
    target = free_unit(1)
    response = consultant.post(
        deal_url(deal, "exchange/"), {"ex-unit": target.number, "ex-reason": "高楼层"}
    )
    assert response.status_code == 302
    page = consultant.get(deal_url(deal)).content.decode()
    assert 'id="change-waiting"' in page and 'id="exchange-form"' not in page
    request = ApprovalRequest.objects.get(deal=deal, kind="exchange")
    # the supervisor sees it in 待我审批 with both units and the difference
    inbox = client_of("supervisor").get(f"{base()}approvals/").content.decode()
    assert target.number in inbox and "应补(+)/应退(-)" in inbox
    for who in ("supervisor", "manager"):
        response = client_of(who).post(
            f"{base()}approval-requests/{request.pk}/decide/", {"decision": "approve"}
        )
        assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.status == DealStatus.EXCHANGED
    new = Deal.objects.get(exchanged_from=deal)
    page = consultant.get(deal_url(deal)).content.decode()
    assert 'id="exchanged-to"' in page and new.number in page
    page = consultant.get(deal_url(new)).content.decode()
    assert 'id="exchanged-from"' in page and deal.number in page


def test_withdraw_from_the_deal_page(demo):
    deal = subscribed()
    target = free_unit(1)
    request = changes.exchange_request(
        actor=user("consultant"), deal=deal, unit=target, reason="换"
    )
    # another consultant cannot even see the request
    assert (
        client_of("consultant2")
        .post(f"{base()}approval-requests/{request.pk}/withdraw/")
        .status_code
        == 404
    )
    response = client_of("consultant").post(f"{base()}approval-requests/{request.pk}/withdraw/")
    assert response.status_code == 302
    request.refresh_from_db()
    target.refresh_from_db()
    assert request.status == ApprovalStatus.WITHDRAWN and target.status == UnitStatus.AVAILABLE


def test_rename_from_the_deal_page(demo):
    deal = subscribed()
    spouse = customer_of(phone="13700009999", name="配偶")
    consultant = client_of("consultant")
    data = {
        "rn-buyer_0": deal.customer_id,
        "rn-share_0": "60",
        "rn-buyer_1": spouse.pk,
        "rn-share_1": "30",
        "rn-reason": "加名",
    }
    response = consultant.post(deal_url(deal, "rename/"), data)
    assert response.status_code == 400 and "100%" in response.content.decode()
    data["rn-share_1"] = "40"
    assert consultant.post(deal_url(deal, "rename/"), data).status_code == 302
    request = ApprovalRequest.objects.get(deal=deal, kind="rename")
    assert request.status == ApprovalStatus.PENDING  # never the consultant alone
    inbox = client_of("supervisor").get(f"{base()}approvals/").content.decode()
    assert "配偶（40.00%）" in inbox


def test_cancel_dispute_and_refund_from_the_deal_page(demo):
    deal = subscribed(deposit="40000")
    manager = client_of("manager")
    response = manager.post(
        deal_url(deal, "cancel/"),
        {"cx-cancel_reason": "funds", "cx-detail": "", "cx-deposit_treatment": "refund"},
    )
    assert response.status_code == 400 and "请填写退房原因说明" in response.content.decode()
    response = manager.post(
        deal_url(deal, "cancel/"),
        {
            "cx-cancel_reason": "funds",
            "cx-detail": "资金周转困难",
            "cx-deposit_treatment": "part",
            "cx-forfeited": "15000",
            "cx-originals_returned": "on",
        },
    )
    assert response.status_code == 302  # the manager's own level: done at once
    deal.refresh_from_db()
    assert deal.status == DealStatus.CANCELLED
    page = manager.get(deal_url(deal)).content.decode()
    assert 'id="cancellation"' in page and "25,000.00" in page
    # finance sees the refund to pay; the sales admin records the dispute
    finance = client_of("finance")
    assert 'id="refund-form"' in finance.get(deal_url(deal)).content.decode()
    assert client_of("salesadmin").post(deal_url(deal, "refund-paid/")).status_code == 403
    assert finance.post(deal_url(deal, "refund-paid/")).status_code == 302
    response = client_of("salesadmin").post(
        deal_url(deal, "dispute/"), {"dispute": "litigation", "dispute_note": ""}
    )
    assert response.status_code == 400 and "请填写争议说明" in response.content.decode()
    response = client_of("salesadmin").post(
        deal_url(deal, "dispute/"), {"dispute": "litigation", "dispute_note": "区法院已立案"}
    )
    assert response.status_code == 302
    c = Cancellation.objects.get(deal=deal)
    assert c.dispute == "litigation" and c.refund_paid_at is not None
    # the consultant may not mark disputes
    assert (
        client_of("consultant")
        .post(deal_url(deal, "dispute/"), {"dispute": "closed", "dispute_note": "x"})
        .status_code
        == 403
    )
    # the changes list and the reason summary show it
    listing = manager.get(f"{base()}deals/changes/").content.decode()
    assert deal.number in listing and "资金困难" in listing and 'id="cancel-summary"' in listing


def test_owners_list_and_buyer_analysis(demo):
    deal = subscribed()
    Customer.objects.filter(pk=deal.customer_id).update(
        occupation="宇航员", education="master", income_band="100万以上"
    )
    page = client_of("manager").get(f"{base()}deals/owners/").content.decode()
    assert 'id="owners-table"' in page and deal.customer.name in page
    assert "宇航员" in page and 'data-dimension="education"' in page
    # a consultant sees only their own owners
    other = client_of("consultant2").get(f"{base()}deals/owners/").content.decode()
    assert deal.get_absolute_url() not in other and "宇航员" not in other
    rows = sheet_rows(client_of("manager").post(f"{base()}deals/owners/?format=xlsx"))
    assert rows[0][:2] == ["楼栋", "房间"]
    line = next(r for r in rows if r[9] == deal.customer.name)
    assert line[13] == "宇航员" and line[14] == "硕士及以上"
    assert "*" in line[11]  # the manager does not own the customer: the phone is masked
    assert AuditEntry.objects.filter(action="export", object_type="deals.deal").exists()


def test_buyer_analysis_counts_each_buyer_once(demo):
    from loupan.deals.reports import buyer_analysis

    a = subscribed(offset=0, phone="13700020001")
    b = subscribed(offset=1, phone="13700020002")
    Customer.objects.filter(pk__in=[a.customer_id, b.customer_id]).update(occupation="测试职业X")
    deals = Deal.objects.filter(pk__in=[a.pk, b.pk])
    occupation = next(d for d in buyer_analysis(deals) if d["field"] == "occupation")
    assert occupation["rows"] == [{"name": "测试职业X", "count": 2, "pct": 100.0}]


def test_owner_rows_are_the_owner_lines_of_every_deal(demo):
    """``owner_rows`` (a year's 成交客户档案, the xlsx) reads only the columns the lines
    show, with the labels built once: the lines ``owner_lines`` gives deal by deal, in
    the same order, labels in the viewer's language, contacts masked as the viewer may
    see them, in a few queries whatever the number of deals."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import translation

    from loupan.deals import reports

    first = customer_of(phone="13700030001", name="甲买受人")
    second = customer_of(phone="13700030002", name="乙买受人")
    Customer.objects.filter(pk=second.pk).update(education="master", occupation="教师")
    deal = subscribed_by_two(free_unit(0), first, second)
    subscribed(offset=1, phone="13700030003", contract=True)
    deals = Deal.objects.filter(project=project())
    for viewer, language, master, status in (
        ("manager", "zh-hans", "硕士及以上", "认购"),
        ("consultant", "en", "Master or higher", "Subscribed"),
    ):
        with translation.override(language):
            expected = [
                line for d in reports.owners(deals) for line in reports.owner_lines(user(viewer), d)
            ]
            viewer_user = user(viewer)
            with CaptureQueriesContext(connection) as ctx:
                lines = list(reports.owner_rows(viewer_user, deals))
            chunked = list(reports.owner_rows(viewer_user, deals, chunk_size=2))
        assert lines == expected and [list(x) for x in lines] == [list(x) for x in expected]
        assert chunked == expected and len(expected) > 4
        assert len(ctx.captured_queries) <= 3  # the deals, their buyers, the viewer's grants
        mine = [x for x in lines if x["deal"].pk == deal.pk]
        assert [(x["name"], x["first"], x["span"]) for x in mine] == [
            ("甲买受人", True, 2),
            ("乙买受人", False, 2),
        ]
        assert mine[1]["education"] == master and mine[0]["status"] == status
        assert ("*" in mine[0]["phone"]) is (viewer == "manager")  # the consultant owns them


def test_the_deal_lists_export_as_xlsx_for_the_office_only(demo):
    for path, title in [
        ("deals/", "保留单号"),
        ("deals/unsigned/", "保留单号"),
        ("deals/contracts/", "保留单号"),
        ("deals/special-discounts/", "保留单号"),
        ("deals/changes/", "办理时间"),
    ]:
        rows = sheet_rows(client_of("salesadmin").post(f"{base()}{path}?format=xlsx"))
        assert rows[0][0] == title, path
        assert client_of("consultant").post(f"{base()}{path}?format=xlsx").status_code == 403
    rows = sheet_rows(client_of("salesadmin").post(f"{base()}deals/?format=xlsx&status=contracted"))
    assert len(rows) - 1 == Deal.objects.filter(project=project(), status="contracted").count()
    assert all(r[3] == "签约" for r in rows[1:])


def test_changes_list_filters_by_kind_and_period(demo):
    manager = client_of("manager")
    page = manager.get(f"{base()}deals/changes/?kind=rename").content.decode()
    assert 'data-kind="rename"' in page and 'data-kind="cancel"' not in page
    page = manager.get(f"{base()}deals/changes/?start=2000-01-01&end=2000-01-31").content.decode()
    assert "所选期间没有换房或退房" in page and "所选期间没有退房" in page


def test_a_unit_held_for_a_waiting_exchange_names_the_exchange_on_its_card(demo):
    """The board's card (and the unit's page) of a unit reserved by an exchange waiting
    for approval names the deal that asked for it and links to the deal's approvals;
    a unit in a live deal names that deal; the link only for who may open the deal."""
    from loupan.deals import changes
    from tests.deals.helpers import base, client_of, free_unit, subscribed, user

    deal = subscribed(contract=True)
    target = free_unit(1)
    changes.exchange_request(actor=user("consultant"), deal=deal, unit=target, reason="高楼层")
    card_url = f"{base()}units/{target.pk}/card/"
    html = client_of("salesadmin").get(card_url).content.decode()
    holder = html[html.index('id="unit-holder"') :]
    assert "换房待审批" in holder and str(deal) in holder
    assert f"{deal.get_absolute_url()}#deal-approvals" in holder
    page = client_of("salesadmin").get(f"{base()}units/{target.pk}/").content.decode()
    assert 'id="unit-holder"' in page and str(deal) in page
    old = client_of("salesadmin").get(f"{base()}units/{deal.unit_id}/card/").content.decode()
    old_holder = old[old.index('id="unit-holder"') :]
    assert "换房待审批" not in old_holder and str(deal) in old_holder
    # another consultant sees which deal holds it, without a link into it
    other = client_of("consultant2").get(card_url).content.decode()
    assert str(deal) in other and deal.get_absolute_url() not in other
    free = client_of("salesadmin").get(f"{base()}units/{free_unit(2).pk}/card/")
    assert 'id="unit-holder"' not in free.content.decode()


def test_the_unit_page_lists_the_deals_that_held_the_unit(demo):
    """交易 on the unit's page (issue 12: it promised "交易模块上线后…"): every deal that
    held the unit, newest first, one released marked as no longer on it, each linked;
    a consultant sees their own and the number of those they may not open."""
    from loupan.deals import services
    from tests.deals.helpers import base, client_of, customer_of, free_unit, user

    unit = free_unit(3)
    first = services.deal_reserve(
        actor=user("consultant"), unit=unit, customer=customer_of(phone="13700003333")
    )
    services.deal_release(actor=user("consultant"), deal=first, reason="客户放弃")
    unit.refresh_from_db()
    second = services.deal_reserve(
        actor=user("consultant"), unit=unit, customer=customer_of(phone="13700004444")
    )
    page = client_of("salesadmin").get(f"{base()}units/{unit.pk}/").content.decode()
    assert "交易模块上线后" not in page
    table = page[page.index('id="unit-deals"') :]
    assert table.index(str(second)) < table.index(str(first))
    assert second.get_absolute_url() in table and first.get_absolute_url() in table
    assert table.count("已不在此房") == 1
    assert table.index("已不在此房") > table.index(str(first))
    # another consultant: neither deal is theirs
    other = client_of("consultant2").get(f"{base()}units/{unit.pk}/").content.decode()
    assert 'id="unit-deals"' not in other and "另有 2 笔交易您无权查看" in other
    assert first.get_absolute_url() not in other
    untouched = client_of("salesadmin").get(f"{base()}units/{free_unit(4).pk}/").content.decode()
    assert 'id="unit-deals-none"' in untouched
