"""The price-list API: generation, adjustments, the transitions as POST actions with
their permissions, the one error shape, and floor prices never sent to a consultant."""

import datetime

from django.utils import timezone

from loupan.inventory import pricelists as ps
from loupan.inventory.models import PriceList, PriceListStatus, Unit, UnitPriceChange

from . import pricing_helpers as helpers
from .pricing_helpers import generate, make_rule

# the fixtures of pricing_helpers
data = helpers.data
priced = helpers.priced

BASE = "/api/v1/price-lists/"


def _body(data, **extra):
    body = {
        "project": data["project"].pk,
        "name": "API 方案",
        "rule": make_rule(data),
        "building_ids": [data["b1"].pk, data["b2"].pk],
    }
    body.update(extra)
    return body


def test_planner_generates_and_the_whole_path_runs(data, api):
    planner, director = api("planner"), api("director")
    response = planner.post(BASE, _body(data), format="json")
    assert response.status_code == 201, response.json()
    pl = response.json()
    assert pl["status"] == "draft" and pl["item_count"] == 20
    assert pl["distribution"]["overall"]["count"] == 20
    assert {g["label"] for g in pl["distribution"]["by_building"]} == {"P1栋", "P2栋"}
    pk = pl["id"]
    items = planner.get(f"{BASE}{pk}/items/").json()
    assert items["count"] == 20 and "floor_price" in items["results"][0]
    unit = items["results"][0]["unit"]
    item = planner.post(
        f"{BASE}{pk}/override/", {"unit": unit, "total": "999900"}, format="json"
    ).json()
    assert item["manual"] and item["list_price"] == "999900.00"
    scaled = planner.post(f"{BASE}{pk}/scale/", {"target_average": "14000"}, format="json").json()
    assert abs(float(scaled["reached"]) - 14000) <= 1
    submitted = planner.post(f"{BASE}{pk}/submit/").json()
    assert submitted["status"] == "submitted" and submitted["required_approver"] == "director"
    approved = director.post(f"{BASE}{pk}/approve/", {"note": "同意"}, format="json").json()
    assert approved["status"] == "approved" and approved["decided_by"] == "director"
    result = planner.post(f"{BASE}{pk}/apply/", {}, format="json").json()
    assert result["applied"] == 20 and result["skipped"] == []
    assert result["price_list"]["status"] == "applied"
    assert UnitPriceChange.objects.filter(price_list_id=pk).count() == 20
    assert Unit.objects.get(pk=unit).list_price == 999900


def test_json_numbers_in_the_rule_are_read_as_decimals(data, api):
    rule = make_rule(data)
    rule["building_prices"] = {str(data["b1"].pk): 12000.5, str(data["b2"].pk): 15000}
    response = api("planner").post(BASE, _body(data, rule=rule), format="json")
    assert response.status_code == 201
    assert response.json()["parameters"]["rule"]["building_prices"][str(data["b1"].pk)] == "12000.5"


def test_errors_come_in_one_shape(data, api):
    planner = api("planner")
    response = planner.post(BASE, _body(data, rule={}), format="json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "message": "请至少填写一个楼栋或户型的基准单价",
        "fields": {"building_prices": ["请至少填写一个楼栋或户型的基准单价"]},
    }
    missing = planner.post(BASE, {"project": data["project"].pk}, format="json").json()
    assert missing["code"] == "invalid" and "name" in missing["fields"]
    pl = generate(data)
    wrong_state = planner.post(f"{BASE}{pl.pk}/apply/", {}, format="json")
    assert wrong_state.status_code == 409 and wrong_state.json()["code"] == "conflict"


def test_consultant_is_refused_and_sees_nothing(priced, api):
    consultant = api("consultant")
    response = consultant.post(BASE, _body(priced), format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    adjustment = consultant.post(
        f"{BASE}adjustments/",
        {
            "project": priced["project"].pk,
            "name": "x",
            "unit_ids": [priced["units"][0].pk],
            "mode": "percent",
            "value": "1",
        },
        format="json",
    )
    assert adjustment.status_code == 403
    assert consultant.get(BASE).json()["count"] == 0
    pl = PriceList.objects.filter(project=priced["project"]).first()
    for path in (f"{BASE}{pl.pk}/", f"{BASE}{pl.pk}/items/"):
        assert consultant.get(path).status_code == 404
    for action in ("submit", "approve", "reject", "apply", "scale", "override"):
        assert consultant.post(f"{BASE}{pl.pk}/{action}/", {}, format="json").status_code == 404


def test_manager_within_threshold_director_beyond_drafter_never(priced, api, settings):
    settings.LOUPAN_PRICE_MANAGER_MAX_CHANGE_PCT = 5
    planner, manager, director = api("planner"), api("manager"), api("director")
    ids = [u.pk for u in priced["units"]]
    small = planner.post(
        f"{BASE}adjustments/",
        {
            "project": priced["project"].pk,
            "name": "小涨",
            "unit_ids": ids,
            "mode": "percent",
            "value": "2",
        },
        format="json",
    ).json()
    big = planner.post(
        f"{BASE}adjustments/",
        {
            "project": priced["project"].pk,
            "name": "大涨",
            "building_ids": [priced["b1"].pk],
            "mode": "percent",
            "value": "9",
        },
        format="json",
    ).json()
    assert big["item_count"] == 12
    for pl in (small, big):
        planner.post(f"{BASE}{pl['id']}/submit/")
    assert planner.post(f"{BASE}{small['id']}/approve/", {}, format="json").status_code == 403
    refused = manager.post(f"{BASE}{big['id']}/approve/", {}, format="json")
    assert refused.status_code == 403 and "销售总监" in refused.json()["message"]
    assert (
        manager.post(f"{BASE}{small['id']}/approve/", {}, format="json").json()["status"]
        == "approved"
    )
    assert (
        director.post(f"{BASE}{big['id']}/approve/", {}, format="json").json()["status"]
        == "approved"
    )


def test_reject_reopen_and_schedule(priced, api):
    planner, manager = api("planner"), api("manager")
    pl = ps.adjustment_create(
        actor=priced["users"]["planner"],
        project=priced["project"],
        name="降",
        unit_ids=[u.pk for u in priced["units"]],
        mode="amount",
        value="-100",
    )
    planner.post(f"{BASE}{pl.pk}/submit/")
    empty = manager.post(f"{BASE}{pl.pk}/reject/", {"note": ""}, format="json")
    assert empty.status_code == 400 and empty.json()["fields"] == {"note": ["请填写驳回原因"]}
    assert (
        manager.post(f"{BASE}{pl.pk}/reject/", {"note": "再等等"}, format="json").json()["status"]
        == "rejected"
    )
    assert planner.post(f"{BASE}{pl.pk}/reopen/").json()["status"] == "draft"
    planner.post(f"{BASE}{pl.pk}/submit/")
    manager.post(f"{BASE}{pl.pk}/approve/", {}, format="json")
    at = timezone.now() + datetime.timedelta(hours=3)
    scheduled = planner.post(
        f"{BASE}{pl.pk}/apply/", {"scheduled_at": at.isoformat()}, format="json"
    ).json()
    assert scheduled["price_list"]["status"] == "approved" and scheduled["scheduled_at"]
    assert ps.pricelist_apply_due(now=at + datetime.timedelta(seconds=1)) == 1
    pl.refresh_from_db()
    assert pl.status == PriceListStatus.APPLIED


def test_skipped_units_are_listed(priced, api):
    unit = priced["units"][5]
    Unit.objects.filter(pk=unit.pk).update(status="reserved")
    response = api("planner").post(
        f"{BASE}adjustments/",
        {
            "project": priced["project"].pk,
            "name": "含预留",
            "unit_ids": [u.pk for u in priced["units"]],
            "mode": "percent",
            "value": "1",
        },
        format="json",
    )
    pl = response.json()
    items = api("planner").get(f"{BASE}{pl['id']}/items/?page_size=100").json()["results"]
    skipped = [i for i in items if i["skipped"]]
    assert [(i["unit_number"], i["skip_reason"]) for i in skipped] == [(unit.number, "已预留")]


def test_list_query_count(priced, api, django_assert_max_num_queries):
    for _ in range(3):
        generate(priced)
    client = api("salesadmin")
    with django_assert_max_num_queries(10):
        response = client.get(f"{BASE}?project={priced['project'].pk}")
    expected = PriceList.objects.filter(project=priced["project"]).count()
    assert response.status_code == 200 and response.json()["count"] == expected


def test_floor_prices_never_reach_a_consultant_or_the_sales_admin(priced, api, login):
    """Every price-list page and endpoint, as a consultant (no access) and as the sales
    admin (may read price lists, not floor prices): no floor price in any response."""
    pl = generate(priced, rule=make_rule(priced, floor_price={"discount_pct": "7"}))
    floor_values = {i.floor_price for i in pl.items.all()} | {
        u.floor_price for u in Unit.objects.filter(pk__in=[u.pk for u in priced["units"]])
    }
    assert None not in floor_values and len(floor_values) > 5
    project = priced["project"].pk
    pages = [
        f"/projects/{project}/pricelists/",
        f"/projects/{project}/pricelists/new/",
        f"/projects/{project}/pricelists/adjust/",
        f"/projects/{project}/pricelists/{pl.pk}/",
        f"/projects/{project}/pricelists/{pl.pk}/?building={priced['b1'].pk}",
    ]
    endpoints = [
        BASE,
        f"{BASE}?project={project}",
        f"{BASE}{pl.pk}/",
        f"{BASE}{pl.pk}/items/",
        "/api/schema/",
    ]
    seen = 0
    for username in ("consultant", "salesadmin"):
        client = login(username)
        responses = [client.get(p) for p in pages]
        client.logout()
        rest = api(username)
        responses += [rest.get(e) for e in endpoints if e != "/api/schema/"]
        responses.append(
            rest.post(
                f"{BASE}{pl.pk}/override/",
                {"unit": priced["units"][0].pk, "total": "1"},
                format="json",
            )
        )
        for response in responses:
            body = response.content.decode()
            seen += response.status_code == 200
            assert '"floor_price"' not in body and "floor_price" not in body, response.request
            assert "底价" not in body, response.request
            for value in floor_values:
                assert f"{value:,.2f}" not in body and f'"{value}"' not in body, (
                    username,
                    response.request,
                )
    assert seen >= 5  # the sales admin did read the lists, the detail and the items
