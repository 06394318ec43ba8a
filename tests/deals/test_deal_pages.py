"""Deal pages through the real URLs, as the roles that use them: reserve from the board,
subscribe with discounts, the approval inbox, finance's deposit confirmation, special
clauses, contract, filing and scan, the printables and the deal settings; each refusal
(wrong role 403, another consultant's deal 404, a rule shown next to its field)."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from loupan.approvals.models import ApprovalRequest, ApprovalStatus
from loupan.audit.models import AuditEntry
from loupan.core.money import rmb_upper
from loupan.deals import rules, services
from loupan.deals.models import Deal, DealPolicy, DealStatus, DiscountAuthority, DiscountType
from loupan.inventory.models import Unit, UnitStatus
from tests.deals.helpers import (
    base,
    client_of,
    customer_of,
    deal_url,
    free_unit,
    project,
    reviewed,
    user,
)

pytestmark = pytest.mark.django_db


def reserved(username="consultant", phone="13700001111", name="买房人", offset=0):
    """A fresh reservation of an available unit that has a floor price (95% of its list
    price, an amount no list or unit price of the demo has)."""
    unit = free_unit(offset)
    floor = (unit.list_price * Decimal("0.95")).quantize(Decimal("0.01")) + Decimal("0.37")
    Unit.objects.filter(pk=unit.pk).update(floor_price=floor)
    unit.refresh_from_db()
    return services.deal_reserve(
        actor=user(username), unit=unit, customer=customer_of(username, phone, name)
    )


def discount(name):
    return DiscountType.objects.get(project=project(), name=name)


def subscribe_data(deal, **extra):
    data = {
        "sub-share_0": "100",
        "sub-payment_method": "commercial",
        "sub-deposit": "50000",
        "sub-down_payment": "",
        "sub-reason": "",
    }
    data.update({f"sub-{k}": v for k, v in extra.items()})
    return data


def subscribed(username="consultant", **kw):
    deal = reserved(username, **kw)
    deal = services.deal_subscribe(
        actor=user(username),
        deal=deal,
        buyers=[(deal.customer, "100")],
        payment_method="commercial",
        deposit="50000",
    )
    return services.deal_confirm_deposit(actor=user("finance"), deal=deal)


# --- reserve ------------------------------------------------------------------------------


def test_the_board_card_offers_reserve_to_those_who_may(demo):
    unit = free_unit()
    card = f"{base()}units/{unit.pk}/card/"
    assert 'id="reserve-link"' in client_of("consultant").get(card).content.decode()
    assert 'id="reserve-link"' not in client_of("finance").get(card).content.decode()
    held = Unit.objects.filter(project=project(), status=UnitStatus.HELD).first()
    html = client_of("consultant").get(f"{base()}units/{held.pk}/card/").content.decode()
    assert 'id="reserve-link"' not in html


def test_consultant_reserves_a_unit_for_their_customer(demo):
    unit, buyer = free_unit(), customer_of()
    client = client_of("consultant")
    page = client.get(f"{base()}deals/reserve/", {"unit": unit.pk, "q": "买房"})
    html = page.content.decode()
    assert page.status_code == 200 and unit.number in html and "买房人" in html
    assert buyer.phone[-4:] in html and buyer.phone[3:7] not in html.replace("****", "")
    response = client.post(f"{base()}deals/reserve/", {"unit": unit.pk, "customer": buyer.pk})
    deal = Deal.objects.get(customer=buyer)
    assert response.status_code == 302 and response["Location"] == deal.get_absolute_url()
    unit.refresh_from_db()
    assert unit.status == UnitStatus.RESERVED
    html = client.get(deal.get_absolute_url()).content.decode()
    assert deal.reservation_number in html and 'id="subscribe-form"' in html
    assert "已预留" in html  # the message


def test_reserve_refusals_are_shown_on_the_page(demo):
    client = client_of("consultant")
    other = customer_of("consultant2", "13700002222", "别人的客户")
    unit = free_unit()
    response = client.post(f"{base()}deals/reserve/", {"unit": unit.pk, "customer": other.pk})
    assert response.status_code == 400 and "请选择您的客户" in response.content.decode()
    held = Unit.objects.filter(project=project(), status=UnitStatus.HELD).first()
    mine = customer_of()
    response = client.post(f"{base()}deals/reserve/", {"unit": held.pk, "customer": mine.pk})
    html = response.content.decode()
    assert response.status_code == 400 and "不能预留" in html and 'id="not-reservable"' in html
    assert not Deal.objects.filter(customer__in=[other, mine]).exists()
    assert client.get(f"{base()}deals/reserve/", {"unit": "x"}).status_code == 404


def test_finance_cannot_reserve(demo):
    client = client_of("finance")
    unit = free_unit()
    assert client.get(f"{base()}deals/reserve/", {"unit": unit.pk}).status_code == 403
    customer = customer_of()
    response = client.post(f"{base()}deals/reserve/", {"unit": unit.pk, "customer": customer.pk})
    assert response.status_code == 403
    assert not Deal.objects.filter(customer=customer).exists()


# --- subscribe ----------------------------------------------------------------------------


def test_subscribe_with_discounts_then_finance_confirms(demo):
    deal = reserved()
    client = client_of("consultant")
    one_off = discount("一次性付款")
    preview = client.get(deal_url(deal, "quote/"), {f"sub-discount_{one_off.pk}": "on"})
    expected = (deal.unit.list_price * Decimal("0.99")).quantize(Decimal("0.01"))
    assert preview.status_code == 200 and f"{expected:,.2f}" in preview.content.decode()
    response = client.post(
        deal_url(deal, "subscribe/"),
        subscribe_data(deal, **{f"discount_{one_off.pk}": "on", "payment_method": "one_off"}),
    )
    deal.refresh_from_db()
    assert response.status_code == 302, response.content.decode()[:2000]
    assert deal.status == DealStatus.PENDING and deal.total == expected
    html = client.get(deal.get_absolute_url()).content.decode()
    assert deal.number in html and "等待财务确认定金" in html and 'id="agreement-link"' in html
    assert 'id="confirm-form"' not in html  # the consultant does not confirm deposits
    assert client.post(deal_url(deal, "confirm-deposit/")).status_code == 403
    finance = client_of("finance")
    assert 'id="confirm-form"' in finance.get(deal.get_absolute_url()).content.decode()
    response = finance.post(deal_url(deal, "confirm-deposit/"))
    deal.refresh_from_db(), deal.unit.refresh_from_db()
    assert response.status_code == 302 and deal.status == DealStatus.SUBSCRIBED
    assert deal.unit.status == UnitStatus.SUBSCRIBED
    # the history shows each step
    html = finance.get(deal.get_absolute_url()).content.decode()
    assert '待确认定金 → <span class="fw-semibold">认购</span>' in html


def test_subscribe_refusals_show_next_to_their_fields(demo):
    deal = reserved()
    client = client_of("consultant")
    cap = (deal.unit.list_price * Decimal("0.2")).quantize(Decimal("0.01"))
    response = client.post(deal_url(deal, "subscribe/"), subscribe_data(deal, deposit=str(cap + 1)))
    html = response.content.decode()
    assert response.status_code == 400 and "民法典第586条" in html
    assert "invalid-feedback" in html  # next to the deposit field
    spouse = customer_of(phone="13700004444", name="配偶")
    response = client.post(
        deal_url(deal, "subscribe/"),
        subscribe_data(deal, share_0="60", buyer_1=spouse.pk, share_1="30"),
    )
    html = response.content.decode()
    assert response.status_code == 400 and 'id="buyers-error"' in html
    assert "买受人的产权份额合计必须为 100%" in html
    special = discount("特批")
    response = client.post(
        deal_url(deal, "subscribe/"), subscribe_data(deal, **{f"discount_{special.pk}": "on"})
    )
    assert response.status_code == 400 and "请填写「特批」的折扣值" in response.content.decode()
    deal.refresh_from_db()
    assert deal.status == DealStatus.RESERVED and not deal.number
    # with a co-buyer the shares add up
    response = client.post(
        deal_url(deal, "subscribe/"),
        subscribe_data(deal, share_0="50", buyer_1=spouse.pk, share_1="50"),
    )
    assert response.status_code == 302
    assert sorted(deal.buyers.values_list("share", flat=True)) == [Decimal(50), Decimal(50)]


def test_beyond_authority_goes_through_the_inbox_level_by_level(demo):
    deal = reserved()
    special = discount("特批")
    client = client_of("consultant")
    response = client.post(
        deal_url(deal, "subscribe/"),
        subscribe_data(
            deal,
            **{f"discount_{special.pk}": "on", f"discount_{special.pk}_value": "2.5"},
            reason="老业主介绍",
        ),
    )
    assert response.status_code == 302
    deal.refresh_from_db()
    request = ApprovalRequest.objects.get(deal=deal, status=ApprovalStatus.PENDING)
    assert request.level == "supervisor" and request.final_level == "manager"
    inbox = f"{base()}approvals/"
    # the consultant sees it among their requests, and cannot decide it
    html = client.get(inbox).content.decode()
    assert "老业主介绍" in html and 'id="no-pending"' in html
    decide = f"{base()}approval-requests/{request.pk}/decide/"
    assert client.post(decide, {"decision": "approve"}).status_code == 403
    # the supervisor: below-floor flag only, never the floor total
    supervisor = client_of("supervisor")
    html = supervisor.get(inbox).content.decode()
    assert deal.unit.number in html and "老业主介绍" in html and "低于最低限价" in html
    assert "底价总额" not in html
    response = supervisor.post(decide, {"decision": "reject", "reason": ""}, follow=True)
    assert "驳回须填写意见" in response.content.decode()
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING
    supervisor.post(decide, {"decision": "approve", "reason": "同意"})
    request.refresh_from_db()
    assert request.level == "manager"
    # the manager sees the floor total
    manager = client_of("manager")
    html = manager.get(inbox).content.decode()
    assert "底价总额" in html and f"{deal.floor_total:,.2f}" in html
    assert 'id="nav-approvals"' in html
    badge = manager.get(f"{base()}approvals/count/").content.decode()
    assert "badge" in badge
    manager.post(decide, {"decision": "approve"})
    deal.refresh_from_db()
    assert deal.status == DealStatus.PENDING
    html = client_of("consultant").get(f"{base()}deals/special-discounts/").content.decode()
    assert deal.number in html and "批准" in html


def test_consultant_cannot_see_another_consultants_deal(demo):
    deal = reserved("consultant2", "13700002222", "别人的客户")
    client = client_of("consultant")
    for tail in ("", "slip/", "agreement/", "quote/", "scan/"):
        assert client.get(deal_url(deal, tail)).status_code == 404, tail
    for tail in ("subscribe/", "release/", "confirm-deposit/", "clauses/", "contract/"):
        assert client.post(deal_url(deal, tail), {"reason": "x"}).status_code == 404, tail
    deal.refresh_from_db()
    assert deal.status == DealStatus.RESERVED
    assert deal.reservation_number not in client.get(f"{base()}deals/").content.decode()
    # a lead sees it
    assert client_of("supervisor").get(deal.get_absolute_url()).status_code == 200


def test_release_needs_a_reason(demo):
    deal = reserved()
    client = client_of("consultant")
    response = client.post(deal_url(deal, "release/"), {"reason": ""})
    assert response.status_code == 400 and "请填写撤销原因" in response.content.decode()
    response = client.post(deal_url(deal, "release/"), {"reason": "客户放弃"})
    deal.refresh_from_db()
    assert response.status_code == 302 and deal.status == DealStatus.RELEASED
    assert Unit.objects.get(pk=deal.unit_id).status == UnitStatus.AVAILABLE


def test_clause_contract_filing_and_scan(demo, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    deal = subscribed()
    consultant, salesadmin = client_of("consultant"), client_of("salesadmin")
    response = consultant.post(deal_url(deal, "clauses/"), {"text": ""})
    assert response.status_code == 400 and "请填写条款内容" in response.content.decode()
    consultant.post(deal_url(deal, "clauses/"), {"text": "赠送车位使用权一年"})
    response = salesadmin.post(
        deal_url(deal, "contract/"),
        {"signed_on": timezone.localdate().isoformat(), "filing_status": "none"},
    )
    assert response.status_code == 400 and "须经计财部审核" in response.content.decode()
    response = salesadmin.post(deal_url(deal, "review/"), follow=True)
    assert "还有特殊条款未经销售总监批准" in response.content.decode()
    request = ApprovalRequest.objects.get(deal=deal, kind="clause")
    director = client_of("director")
    assert "赠送车位使用权一年" in director.get(f"{base()}approvals/").content.decode()
    director.post(f"{base()}approval-requests/{request.pk}/decide/", {"decision": "approve"})
    reviewed(deal)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = salesadmin.post(
        deal_url(deal, "contract/"), {"signed_on": tomorrow.isoformat(), "filing_status": "none"}
    )
    assert response.status_code == 400 and "签约日期不能晚于今天" in response.content.decode()
    response = salesadmin.post(
        deal_url(deal, "contract/"),
        {"signed_on": timezone.localdate().isoformat(), "filing_status": "none"},
    )
    deal.refresh_from_db()
    assert response.status_code == 302 and deal.status == DealStatus.CONTRACTED
    response = salesadmin.post(deal_url(deal, "filing/"), {"filing_status": "signed"})
    assert response.status_code == 400 and "请填写网签备案号" in response.content.decode()
    salesadmin.post(deal_url(deal, "filing/"), {"filing_status": "filed", "filing_number": "BA1"})
    deal.refresh_from_db()
    assert deal.filing_status == "filed" and deal.filing_number == "BA1"
    bad = SimpleUploadedFile("scan.pdf", b"not a pdf", content_type="application/pdf")
    response = salesadmin.post(deal_url(deal, "scan/upload/"), {"contract_scan": bad})
    assert response.status_code == 400 and "文件内容与扩展名不符" in response.content.decode()
    pdf = SimpleUploadedFile("scan.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    assert (
        salesadmin.post(deal_url(deal, "scan/upload/"), {"contract_scan": pdf}).status_code == 302
    )
    served = salesadmin.get(deal_url(deal, "scan/"))
    assert served.status_code == 200 and served["Content-Type"] == "application/pdf"
    assert b"".join(served.streaming_content).startswith(b"%PDF")
    assert client_of("consultant").get(deal_url(deal, "scan/")).status_code == 200  # their deal
    assert client_of("finance").get(deal_url(deal, "scan/")).status_code == 403
    assert client_of("consultant2").get(deal_url(deal, "scan/")).status_code == 404
    html = client_of("finance").get(f"{base()}deals/contracts/").content.decode()
    assert deal.contract_number in html and "赠送车位使用权一年" in html and "BA1" in html


def test_printables(demo):
    deal = reserved()
    client = client_of("consultant")
    slip = client.get(deal_url(deal, "slip/")).content.decode()
    assert "房位确认单" in slip and deal.reservation_number in slip and "@media print" in slip
    assert "<link" not in slip and "<script src" not in slip  # self-contained
    assert client.get(deal_url(deal, "agreement/")).status_code == 404  # no subscription yet
    services.deal_subscribe(
        actor=user("consultant"),
        deal=deal,
        buyers=[(deal.customer, "100")],
        payment_method="one_off",
        deposit="20000",
        down_payment="300000",
    )
    deal.refresh_from_db()
    html = client.get(deal_url(deal, "agreement/")).content.decode()
    assert deal.number in html and rmb_upper(deal.total) in html
    assert "贰万元整" in html and "叁拾万元整" in html and "第五百八十七条" in html
    assert f"{deal.floor_total:,.2f}" not in html


def test_floor_price_never_in_consultant_or_supervisor_pages(demo):
    special = discount("特批")
    deal = reserved()
    deal = services.deal_subscribe(
        actor=user("consultant"),
        deal=deal,
        buyers=[(deal.customer, "100")],
        payment_method="commercial",
        deposit="20000",
        discounts=[(special, "12")],  # below the floor
        reason="清盘特价",
    )
    assert deal.floor_total and deal.total < deal.floor_total
    secret = f"{deal.floor_total:,.2f}"
    pages = [
        deal_url(deal),
        deal_url(deal, "agreement/"),
        deal_url(deal, "slip/"),
        f"{base()}deals/",
        f"{base()}deals/special-discounts/",
        f"{base()}approvals/",
    ]
    for name in ("consultant", "supervisor"):
        client = client_of(name)
        for url in pages:
            response = client.get(url)
            assert response.status_code == 200, (name, url)
            html = response.content.decode()
            assert secret not in html and "底价" not in html, (name, url)
    html = client_of("supervisor").get(deal_url(deal)).content.decode()
    assert "低于最低限价" in html and 'class="text-danger">是' in html
    assert "低于最低限价" not in client_of("consultant").get(deal_url(deal)).content.decode()
    assert secret in client_of("director").get(deal_url(deal)).content.decode()


def test_the_subscribe_preview_hides_the_floor_from_the_consultant(demo):
    deal = reserved()
    special = discount("特批")
    query = {f"sub-discount_{special.pk}": "on", f"sub-discount_{special.pk}_value": "3"}
    html = client_of("consultant").get(deal_url(deal, "quote/"), query).content.decode()
    assert 'id="quote-needs-approval"' in html and "底价" not in html
    assert client_of("finance").get(deal_url(deal, "quote/"), query).status_code == 404


def test_navigation_entries(demo):
    # a consultant's inbox holds their own requests (core.navigation: the page opens)
    home = client_of("consultant").get("/").content.decode()
    assert 'id="nav-deals"' in home and 'id="nav-approvals"' in home
    home = client_of("supervisor").get("/").content.decode()
    assert 'id="nav-deals"' in home and 'id="nav-approvals"' in home
    assert 'id="nav-deals"' not in client_of("planner").get("/").content.decode()
    assert client_of("planner").get(f"{base()}deals/").status_code == 404


# --- settings -----------------------------------------------------------------------------


def test_deal_settings_for_the_manager_only(demo):
    url = f"{base()}deal-settings/"
    for name in ("consultant", "supervisor", "finance", "salesadmin"):
        assert client_of(name).get(url).status_code == 403, name
    manager = client_of("manager")
    html = manager.get(url).content.decode()
    assert "一次性付款" in html and 'id="policy-form"' in html
    response = manager.post(
        url, {"reservation_hours": "48", "signing_days": "10", "deposit_max_pct": "30"}
    )
    assert response.status_code == 400 and "定金上限须在 0 到 20% 之间" in response.content.decode()
    response = manager.post(
        url, {"reservation_hours": "0", "signing_days": "10", "deposit_max_pct": "20"}
    )
    assert response.status_code == 400 and "保留时长须在 1 到 720 之间" in response.content.decode()
    response = manager.post(
        url, {"reservation_hours": "48", "signing_days": "10", "deposit_max_pct": "15"}
    )
    assert response.status_code == 302
    policy = DealPolicy.objects.get(project=project())
    assert (policy.reservation_hours, policy.signing_days) == (48, 10)
    assert AuditEntry.objects.filter(object_type="deals.dealpolicy").exists()
    # a new reservation now holds 48 hours
    deal = reserved()
    assert deal.reservation_expires_at > timezone.now() + datetime.timedelta(hours=47)


def test_discount_authority_settings(demo):
    url = f"{base()}deal-settings/authority/"
    manager = client_of("manager")
    levels = {"consultant": "1", "supervisor": "0.5", "manager": "3", "director": "5"}
    response = manager.post(url, levels)
    assert response.status_code == 400 and "上级的折扣权限不能低于下级" in response.content.decode()
    response = manager.post(url, {**levels, "supervisor": "2.5"})
    assert response.status_code == 302
    assert rules.authority(project(), "supervisor") == Decimal("2.5")
    assert DiscountAuthority.objects.filter(project=project()).count() == 4
    assert client_of("supervisor").post(url, levels).status_code == 403


def test_discount_types_add_edit_deactivate(demo):
    manager = client_of("manager")
    add = f"{base()}deal-settings/discount-types/add/"
    response = manager.post(add, {"name": "一次性付款", "kind": "percent", "value": "1"})
    assert response.status_code == 400 and "本项目已有同名折扣" in response.content.decode()
    response = manager.post(add, {"name": "国庆优惠", "kind": "percent", "value": "120"})
    assert response.status_code == 400 and "折扣比例不能超过 100%" in response.content.decode()
    response = manager.post(
        add, {"name": "国庆优惠", "kind": "amount", "value": "8000", "sort_order": "6"}
    )
    assert response.status_code == 302
    added = DiscountType.objects.get(project=project(), name="国庆优惠")
    assert added.value == 8000 and added.is_active
    edit = f"{base()}deal-settings/discount-types/{added.pk}/"
    assert manager.get(edit).status_code == 200
    manager.post(edit, {"name": "国庆优惠", "kind": "amount", "value": "9000", "sort_order": "6"})
    added.refresh_from_db()
    assert added.value == 9000
    deal = reserved()
    form_html = client_of("consultant").get(deal.get_absolute_url()).content.decode()
    assert "国庆优惠" in form_html
    manager.post(f"{edit}active/", {"active": "0"})
    added.refresh_from_db()
    assert not added.is_active
    form_html = client_of("consultant").get(deal.get_absolute_url()).content.decode()
    assert "国庆优惠" not in form_html
    assert client_of("consultant").post(f"{edit}active/", {"active": "1"}).status_code == 403
    assert (
        AuditEntry.objects.filter(object_type="deals.discounttype", object_id=str(added.pk)).count()
        == 3
    )


def test_settings_services_refusals_have_codes_and_fields(demo):
    from loupan.core.errors import DomainError
    from loupan.deals import settings_services as ss

    one_off = discount("一次性付款")
    calls = [
        lambda actor: ss.deal_policy_update(
            actor=actor,
            project=project(),
            reservation_hours=24,
            signing_days=7,
            deposit_max_pct="20",
        ),
        lambda actor: ss.discount_authority_set(
            actor=actor, project=project(), max_pcts={"consultant": "1"}
        ),
        lambda actor: ss.discount_type_create(
            actor=actor, project=project(), data={"name": "新折扣", "kind": "percent", "value": 1}
        ),
        lambda actor: ss.discount_type_update(
            actor=actor, discount_type=one_off, data={"name": "一次性付款", "kind": "percent"}
        ),
        lambda actor: ss.discount_type_set_active(actor=actor, discount_type=one_off, active=False),
    ]
    for call in calls:
        with pytest.raises(DomainError) as exc:
            call(user("supervisor"))
        assert exc.value.code == "permission_denied"
    manager = user("manager")
    refusals = [
        (dict(reservation_hours="x", signing_days=7, deposit_max_pct="20"), "reservation_hours"),
        (dict(reservation_hours=24, signing_days=91, deposit_max_pct="20"), "signing_days"),
        (dict(reservation_hours=24, signing_days=7, deposit_max_pct="0"), "deposit_max_pct"),
        (dict(reservation_hours=24, signing_days=7, deposit_max_pct="20.5"), "deposit_max_pct"),
    ]
    for kwargs, field in refusals:
        with pytest.raises(DomainError) as exc:
            ss.deal_policy_update(actor=manager, project=project(), **kwargs)
        assert exc.value.code == "invalid" and field in exc.value.fields, kwargs
    with pytest.raises(DomainError) as exc:
        ss.discount_authority_set(actor=manager, project=project(), max_pcts={"finance": "1"})
    assert exc.value.code == "invalid" and "finance" in exc.value.fields
    with pytest.raises(DomainError) as exc:  # above the manager's 3%
        ss.discount_authority_set(actor=manager, project=project(), max_pcts={"supervisor": "4"})
    assert exc.value.code == "invalid" and "manager" in exc.value.fields
    for data, field in (
        ({"name": "", "kind": "percent", "value": 1}, "name"),
        ({"name": "甲", "kind": "other", "value": 1}, "kind"),
        ({"name": "甲", "kind": "amount", "value": "-1"}, "value"),
        ({"name": "甲", "kind": "amount", "value": "abc"}, "value"),
        ({"name": "甲", "kind": "amount", "value": 1, "sort_order": "-1"}, "sort_order"),
    ):
        with pytest.raises(DomainError) as exc:
            ss.discount_type_create(actor=manager, project=project(), data=data)
        assert exc.value.code == "invalid" and field in exc.value.fields, data
    variable = ss.discount_type_create(
        actor=manager,
        project=project(),
        data={"name": "总监特批", "kind": "percent", "variable": True},
    )
    assert variable.value == 0 and variable.variable
    ss.discount_type_set_active(actor=manager, discount_type=one_off, active=False)
    deal = reserved()
    with pytest.raises(DomainError) as exc:  # a deal cannot use it any more
        services.deal_subscribe(
            actor=user("consultant"),
            deal=deal,
            buyers=[(deal.customer, "100")],
            payment_method="one_off",
            deposit="1",
            discounts=[(DiscountType.objects.get(pk=one_off.pk), None)],
        )
    assert exc.value.code == "invalid" and "discounts" in exc.value.fields
