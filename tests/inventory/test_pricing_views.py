"""Price-list pages through their real URLs, as the roles that use them."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from loupan.inventory import pricelists as ps
from loupan.inventory.models import PriceList, PriceListStatus, Unit

from . import pricing_helpers as helpers
from .pricing_helpers import approve_and_apply, generate, make_rule

# the fixtures of pricing_helpers
data = helpers.data
priced = helpers.priced


def url(name, data, *args):
    return reverse(f"inventory:{name}", args=[data["project"].pk, *args])


def _rule_post(data, **extra):
    post = {
        "name": "二期首开",
        "pricing_basis": "gross_area",
        "buildings": [str(data["b1"].pk), str(data["b2"].pk)],
        f"building_{data['b1'].pk}": "12000",
        f"building_{data['b2'].pk}": "15000",
        f"layout_{data['a1'].pk}": "",
        "floor_mode": "step",
        "floor_base": "1",
        "floor_step": "30",
        "floor_exceptions": "1: -200\n顶层: -100",
        "floor_table": "",
        "orientation_S": "100",
        "orientation_N": "-1%",
        "view_premiums": "湖景: 2%",
        "rounding_step": "100",
        "rounding_on": "total",
        "floor_price_discount": "3",
        "target_average": "",
        "note": "",
    }
    post.update(extra)
    return post


def test_planner_creates_a_draft_from_the_rule_form(data, login):
    client = login("planner")
    page = client.get(url("pricelist_create", data))
    assert page.status_code == 200
    assert "P1栋" in page.content.decode() and "底价折让" in page.content.decode()
    response = client.post(url("pricelist_create", data), _rule_post(data))
    assert response.status_code == 302
    pl = PriceList.objects.get(project=data["project"], name="二期首开")
    assert response["Location"] == pl.get_absolute_url()
    assert pl.items.count() == 20
    assert pl.parameters["rule"]["floor"]["exceptions"] == {"1": "-200", "top": "-100"}
    detail = client.get(pl.get_absolute_url())
    body = detail.content.decode()
    assert detail.status_code == 200
    for marker in (
        "stats-overall",
        "stats-building",
        "stats-layout",
        "item-table",
        "override-form",
        "scale-form",
        "submit-button",
    ):
        assert marker in body
    assert "底价" in body  # the planner sees floor prices


def test_rule_errors_are_shown_next_to_the_form(data, login):
    client = login("planner")
    lists_before = PriceList.objects.filter(project=data["project"]).count()
    post = _rule_post(data, **{f"building_{data['b1'].pk}": "", f"building_{data['b2'].pk}": ""})
    response = client.post(url("pricelist_create", data), post)
    assert response.status_code == 200
    assert "请至少填写一个楼栋或户型的基准单价" in response.content.decode()
    bad = client.post(url("pricelist_create", data), _rule_post(data, floor_exceptions="十楼 -100"))
    assert "第 1 行应写成" in bad.content.decode()
    target = client.post(url("pricelist_create", data), _rule_post(data, target_average="abc"))
    assert (
        target.status_code == 200
        and PriceList.objects.filter(project=data["project"]).count() == lists_before
    )


def test_override_scale_submit_approve_apply_through_pages(data, login, client):
    pl = generate(data)
    unit = data["units"][0]
    client = login("planner")
    response = client.post(
        url("pricelist_override", data, pl.pk),
        {"ov-unit_number": unit.number, "ov-kind": "total", "ov-value": "1000000"},
    )
    assert response.status_code == 302
    assert pl.items.get(unit=unit).manual
    bad = client.post(
        url("pricelist_override", data, pl.pk),
        {"ov-unit_number": "不存在", "ov-kind": "total", "ov-value": "1"},
    )
    assert bad.status_code == 400 and "本项目没有该房间" in bad.content.decode()
    response = client.post(
        url("pricelist_scale", data, pl.pk), {"sc-target_average": "14000", "sc-building": ""}
    )
    assert response.status_code == 302
    impossible = client.post(
        url("pricelist_scale", data, pl.pk),
        {"sc-target_average": "1", "sc-building": str(data["b1"].pk)},
    )
    assert impossible.status_code == 400 and "目标均价" in impossible.content.decode()
    assert client.post(url("pricelist_action", data, pl.pk, "submit")).status_code == 302
    pl.refresh_from_db()
    assert pl.status == PriceListStatus.SUBMITTED and pl.required_approver == "director"

    manager = login("manager")
    page = manager.get(pl.get_absolute_url()).content.decode()
    assert "reject-button" in page and "approve-button" not in page  # beyond the manager
    assert (
        manager.post(url("pricelist_action", data, pl.pk, "approve"), {"dc-note": ""}).status_code
        == 403
    )

    director = login("director")
    assert "approve-button" in director.get(pl.get_absolute_url()).content.decode()
    assert (
        director.post(
            url("pricelist_action", data, pl.pk, "approve"), {"dc-note": "同意"}
        ).status_code
        == 302
    )
    pl.refresh_from_db()
    assert pl.status == PriceListStatus.APPROVED

    planner = login("planner")
    response = planner.post(url("pricelist_action", data, pl.pk, "apply"), {"ap-scheduled_at": ""})
    assert response.status_code == 302
    pl.refresh_from_db()
    assert pl.status == PriceListStatus.APPLIED
    assert Unit.objects.get(pk=unit.pk).list_price == 1000000
    page = planner.get(pl.get_absolute_url()).content.decode()
    assert "apply-result" in page


def test_reject_needs_a_note_shown_on_the_page(priced, login):
    pl = ps.adjustment_create(
        actor=priced["users"]["planner"],
        project=priced["project"],
        name="降价",
        unit_ids=[u.pk for u in priced["units"]],
        mode="percent",
        value="-2",
    )
    ps.pricelist_submit(actor=priced["users"]["planner"], price_list=pl)
    manager = login("manager")
    assert "approve-button" in manager.get(pl.get_absolute_url()).content.decode()
    response = manager.post(url("pricelist_action", priced, pl.pk, "reject"), {"dc-note": ""})
    assert response.status_code == 400 and "请填写驳回原因" in response.content.decode()
    assert (
        manager.post(
            url("pricelist_action", priced, pl.pk, "reject"), {"dc-note": "幅度不够"}
        ).status_code
        == 302
    )
    pl.refresh_from_db()
    assert pl.status == PriceListStatus.REJECTED
    planner = login("planner")
    assert planner.post(url("pricelist_action", priced, pl.pk, "reopen")).status_code == 302
    pl.refresh_from_db()
    assert pl.status == PriceListStatus.DRAFT


def test_schedule_and_unschedule_through_the_page(priced, login):
    pl = ps.adjustment_create(
        actor=priced["users"]["planner"],
        project=priced["project"],
        name="涨价",
        unit_ids=[u.pk for u in priced["units"]],
        mode="amount",
        value="100",
    )
    ps.pricelist_submit(actor=priced["users"]["planner"], price_list=pl)
    ps.pricelist_approve(actor=priced["users"]["manager"], price_list=pl)
    planner = login("planner")
    at = timezone.localtime() + datetime.timedelta(days=1)
    response = planner.post(
        url("pricelist_action", priced, pl.pk, "apply"),
        {"ap-scheduled_at": at.strftime("%Y-%m-%dT%H:%M")},
    )
    assert response.status_code == 302
    pl.refresh_from_db()
    assert pl.status == PriceListStatus.APPROVED and pl.scheduled_at is not None
    assert "unschedule-button" in planner.get(pl.get_absolute_url()).content.decode()
    assert planner.post(url("pricelist_action", priced, pl.pk, "unschedule")).status_code == 302
    pl.refresh_from_db()
    assert pl.scheduled_at is None
    assert planner.post(url("pricelist_action", priced, pl.pk, "nonsense")).status_code == 404


def test_adjustment_page_by_filter_and_ticked_units(priced, login):
    planner = login("planner")
    page = planner.get(
        url("pricelist_adjust", priced) + f"?building={priced['b2'].pk}&status=available"
    )
    assert (
        page.status_code == 200
        and "P2栋101" in page.content.decode()
        and "P1栋101" not in page.content.decode()
    )
    ticked = [priced["units"][0].pk, priced["units"][1].pk]
    response = planner.post(
        url("pricelist_adjust", priced),
        {
            "name": "两套降价",
            "mode": "percent",
            "value": "-3",
            "rounding_step": "100",
            "rounding_on": "total",
            "units": ticked,
        },
    )
    assert response.status_code == 302
    pl = PriceList.objects.get(name="两套降价")
    assert sorted(pl.items.values_list("unit_id", flat=True)) == ticked
    by_filter = planner.post(
        url("pricelist_adjust", priced) + f"?building={priced['b2'].pk}",
        {
            "name": "2栋涨价",
            "mode": "amount",
            "value": "50",
            "rounding_step": "1",
            "rounding_on": "total",
        },
    )
    assert by_filter.status_code == 302
    assert PriceList.objects.get(name="2栋涨价").items.count() == 8
    bad = planner.post(
        url("pricelist_adjust", priced),
        {
            "name": "零",
            "mode": "percent",
            "value": "0",
            "rounding_step": "1",
            "rounding_on": "total",
            "units": ticked,
        },
    )
    assert bad.status_code == 400 and "调价幅度不能为 0" in bad.content.decode()


def test_list_page_and_its_query_count(priced, login, django_assert_max_num_queries):
    for _ in range(3):
        generate(priced)
    client = login("salesadmin")
    with django_assert_max_num_queries(12):
        response = client.get(url("pricelist_list", priced))
    assert response.status_code == 200
    assert response.content.decode().count("<tr>") >= 4
    assert "new-pricelist" not in response.content.decode()  # the sales admin only looks


@pytest.mark.parametrize("name", ["pricelist_list", "pricelist_create", "pricelist_adjust"])
def test_consultant_is_refused_the_project_pages(data, login, name):
    assert login("consultant").get(url(name, data)).status_code == 403


def test_consultant_gets_404_for_a_price_list(priced, login):
    pl = PriceList.objects.filter(project=priced["project"]).first()
    client = login("consultant")
    assert client.get(pl.get_absolute_url()).status_code == 404
    for action in ("submit", "approve", "apply"):
        assert client.post(url("pricelist_action", priced, pl.pk, action)).status_code == 404
    assert client.post(url("pricelist_override", priced, pl.pk), {}).status_code == 404


def test_salesadmin_and_manager_cannot_draft(data, login):
    assert login("salesadmin").get(url("pricelist_create", data)).status_code == 403
    assert login("manager").post(url("pricelist_create", data), _rule_post(data)).status_code == 403


def test_other_project_is_404(priced, login, demo):
    pl = PriceList.objects.filter(project=priced["project"]).first()
    wrong = reverse("inventory:pricelist_detail", args=[demo["second"].pk, pl.pk])
    assert login("director").get(wrong).status_code == 404


def test_salesadmin_sees_prices_but_never_floor_prices(priced, login):
    pl = generate(priced, rule=make_rule(priced, floor_price={"discount_pct": "7"}))
    floors = [i.floor_price for i in pl.items.all()]
    body = login("salesadmin").get(pl.get_absolute_url()).content.decode()
    assert "item-table" in body
    assert "底价" not in body
    for value in floors:
        assert f"{value:,.2f}" not in body and str(value) not in body


def test_applied_opening_list_page(priced, login):
    pl = PriceList.objects.filter(project=priced["project"], status=PriceListStatus.APPLIED).latest(
        "version"
    )
    body = login("director").get(pl.get_absolute_url()).content.decode()
    assert "apply-result" in body and "已执行" in body
    assert approve_and_apply  # the helper used by the fixture
