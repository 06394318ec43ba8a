"""The office's code lists (issue 12, core.codelists): 认知途径, 跟进方式, 退房原因 added,
renamed, reordered and retired on the page and through the API; a retired entry is no
longer offered nor accepted (the field named, a specific code) but old records keep and
show it, reports too; system entries are relabelled, never retired."""

import pytest

from loupan.approvals.models import ApprovalStatus
from loupan.approvals.services import approval_decide
from loupan.audit.models import AuditEntry
from loupan.core import codelists
from loupan.customers import services as customer_services
from loupan.customers.models import Channel, Customer, FollowUp
from loupan.deals import changes
from loupan.deals.models import Cancellation
from loupan.deals.reports import cancel_summary
from tests.deals.helpers import base as deals_base
from tests.deals.helpers import client_of, deal_url, subscribed, user
from tests.testing import assert_error

pytestmark = pytest.mark.django_db

API = "/api/v1/code-lists/"


def page(demo):
    return f"/projects/{demo['main'].pk}/code-lists/"


def customer_of(demo, phone="13700009911"):
    return customer_services.customer_register(
        actor=demo["users"]["consultant"],
        project=demo["main"],
        name="老客户",
        phone=phone,
        wanted_layout="B1",
    )


def test_channels_on_the_page_add_rename_retire_and_old_records_keep_theirs(login, demo):
    project = demo["main"]
    manager = login("manager")
    assert "nav-code-lists" in manager.get(f"/projects/{project.pk}/customers/").content.decode()
    response = manager.post(page(demo), {"action": "add", "kind": "channel", "label": "抖音直播"})
    assert response.status_code == 302
    channel = Channel.objects.get(project=project, name="抖音直播")
    assert AuditEntry.objects.filter(object_type="customers.channel", object_id=channel.pk).exists()
    # a second one of the same name: refused next to the field, nothing written
    response = manager.post(page(demo), {"action": "add", "kind": "channel", "label": "抖音直播"})
    assert response.status_code == 400 and "已有同名选项" in response.content.decode()
    assert Channel.objects.filter(project=project, name="抖音直播").count() == 1
    response = manager.post(
        page(demo),
        {
            "action": "change",
            "kind": "channel",
            "entry": str(channel.pk),
            "label": "抖音",
            "sort_order": "1",
        },
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.sort_order) == ("抖音", 1)
    customer = customer_of(demo)
    Customer.objects.filter(pk=customer.pk).update(channel=channel)
    response = manager.post(
        page(demo), {"action": "retire", "kind": "channel", "entry": str(channel.pk)}
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert not channel.is_active
    # no longer offered at registration, still shown on the old customer and the list
    consultant = login("consultant")
    form = consultant.get(f"/projects/{project.pk}/customers/register/").content.decode()
    assert "抖音" not in form
    detail = consultant.get(customer.get_absolute_url()).content.decode()
    assert "抖音" in detail
    listing = manager.get(page(demo)).content.decode()
    assert "抖音" in listing and "已停用" in listing
    # a consultant sees the lists but may not change them
    response = consultant.post(page(demo), {"action": "add", "kind": "channel", "label": "x"})
    assert response.status_code == 403
    assert 'id="add-channel"' not in consultant.get(page(demo)).content.decode()


def test_channels_and_follow_up_ways_by_api(api, demo):
    project = demo["main"]
    manager = api("manager")
    body = {"project": project.pk, "kind": "channel", "label": "小红书"}
    response = manager.post(API, body, format="json")
    assert response.status_code == 201, response.json()
    code = response.json()["code"]
    assert Channel.objects.get(pk=int(code)).name == "小红书"
    response = manager.post(
        f"{API}change/",
        {"project": project.pk, "kind": "channel", "code": code, "label": "小红书笔记"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["label"] == "小红书笔记"
    response = manager.post(
        f"{API}retire/", {"project": project.pk, "kind": "channel", "code": code}, format="json"
    )
    assert response.status_code == 200 and response.json()["active"] is False
    listed = api("consultant").get(API, {"project": project.pk, "kind": "channel"}).json()
    entry = next(e for e in listed[0]["entries"] if e["code"] == code)
    assert entry["label"] == "小红书笔记" and entry["active"] is False
    # the consultant may read, not write
    assert_error(
        api("consultant").post(API, {**body, "label": "别的"}, format="json"),
        403,
        "permission_denied",
    )
    # an unknown list, a blank label: refused naming the field
    assert_error(
        manager.post(API, {**body, "kind": "nothing"}, format="json"),
        404,
        "not_found",
        fields=["kind"],
    )
    assert_error(
        manager.post(API, {**body, "label": " "}, format="json"), 400, "invalid", fields=["label"]
    )
    # 跟进方式: the office's own way, used, then retired
    response = manager.post(
        API,
        {"project": project.pk, "kind": "followup_way", "label": "视频看房", "code": "video"},
        format="json",
    )
    assert response.status_code == 201
    customer = customer_of(demo)
    consultant = api("consultant")
    url = f"/api/v1/customers/{customer.pk}/follow-ups/"
    response = consultant.post(url, {"way": "video", "content": "视频讲解B1"}, format="json")
    assert response.status_code == 201, response.json()
    manager.post(
        f"{API}retire/",
        {"project": project.pk, "kind": "followup_way", "code": "video"},
        format="json",
    )
    before = FollowUp.objects.count()
    body = assert_error(
        consultant.post(url, {"way": "video", "content": "再次"}, format="json"),
        400,
        "code_retired",
        fields=["way"],
    )
    assert "视频看房" in body["fields"]["way"][0]
    assert_error(
        consultant.post(url, {"way": "fax", "content": "传真"}, format="json"),
        400,
        "code_unknown",
        fields=["way"],
    )
    assert FollowUp.objects.count() == before
    # the old follow-up still shows its (retired) way
    detail = client_of("consultant").get(customer.get_absolute_url()).content.decode()
    assert "视频看房（已停用）" in detail
    # the form offers the active ways only
    assert 'value="video"' not in detail and 'value="phone"' in detail


def test_a_system_entry_is_relabelled_never_retired(api, demo):
    project = demo["main"]
    manager = api("manager")
    ref = {"project": project.pk, "kind": "followup_way", "code": "visit"}
    assert_error(manager.post(f"{API}retire/", ref, format="json"), 409, "system_entry")
    response = manager.post(f"{API}change/", {**ref, "label": "来访面谈"}, format="json")
    assert response.status_code == 200 and response.json()["system"] is True
    assert codelists.labels("followup_way", project)["visit"] == "来访面谈"
    # its rule keeps its meaning: a follow-up by visit still makes a prospect 意向
    customer = customer_of(demo)
    response = api("consultant").post(
        f"/api/v1/customers/{customer.pk}/follow-ups/",
        {"way": "visit", "content": "到访"},
        format="json",
    )
    assert response.status_code == 201
    customer.refresh_from_db()
    assert customer.stage == "intent"
    # the other project keeps the default label
    assert codelists.labels("followup_way", demo["second"])["visit"] == "到访"


def test_cancellation_reasons_of_the_office_label_old_rows_in_the_reports(demo):
    project = demo["main"]
    manager = user("manager")
    entry = codelists.entry_add(
        actor=manager, project=project, kind="cancel_reason", label="工作调动"
    )
    deal = subscribed(deposit="30000")
    request = changes.cancel_request(
        actor=user("consultant"),
        deal=deal,
        cancel_reason=entry.code,
        detail="调往外地",
        deposit_treatment="refund",
    )
    while request.status == ApprovalStatus.PENDING:
        request = approval_decide(actor=user(request.level), request=request, approve=True)
    codelists.entry_change(
        actor=manager, project=project, kind="cancel_reason", code=entry.code, label="工作异地调动"
    )
    codelists.entry_retire(actor=manager, project=project, kind="cancel_reason", code=entry.code)
    summary = cancel_summary(manager, project)
    row = next(r for r in summary["rows"] if r["reason"] == entry.code)
    assert row["label"] == "工作异地调动（已停用）" and row["count"] == 1
    listing = client_of("manager").get(f"{deals_base()}deals/changes/").content.decode()
    assert "工作异地调动" in listing
    assert "工作异地调动" in client_of("manager").get(deal_url(deal)).content.decode()
    # the retired reason is no longer offered nor accepted
    other = subscribed(offset=1, phone="13700003333", deposit="30000")
    page_html = client_of("manager").get(deal_url(other)).content.decode()
    assert f'value="{entry.code}"' not in page_html and 'value="funds"' in page_html
    response = client_of("manager").post(
        deal_url(other, "cancel/"),
        {"cx-cancel_reason": entry.code, "cx-detail": "x", "cx-deposit_treatment": "refund"},
    )
    html = response.content.decode()
    assert response.status_code == 400 and "已停用" in html
    assert not Cancellation.objects.filter(deal=other).exists()
