"""After the event (issue 16): the results list, the unpicked entrants with their
sincerity deposit and finance's refund, the event report — pages and audited xlsx
exports; names masked as the published list masks them, phones as the customers' rule
lets the viewer see them."""

import io

import pytest
from openpyxl import load_workbook

from loupan.audit.models import AuditEntry
from loupan.core.identity import display_phone
from loupan.deals.models import Deal
from loupan.opening import results as r
from loupan.opening import services as s
from loupan.opening.models import OpeningEvent
from tests.deals.helpers import project, user
from tests.testing import web_client

pytestmark = pytest.mark.django_db


def finished():
    return OpeningEvent.objects.get(project=project(), status="finished")


def url(event, kind):
    return f"/projects/{project().pk}/opening/{event.pk}/{kind}/"


def test_the_report_of_the_finished_event(demo):
    event = finished()
    figures = r.report(event)
    deals = Deal.objects.filter(pk__in=event.picks.values("deal_id"))
    assert figures["entrants"] == figures["drawn"] == 5
    assert (figures["picked"], figures["unpicked"]) == (4, 1)
    assert figures["units"] == figures["sold"] == figures["picks"] == 4
    assert figures["amount"] == sum(d.total for d in deals)
    # every sincerity deposit of 20,000: four became deposits, one was refunded
    assert figures["converted"] == 80000 and figures["refunded"] == 20000
    assert figures["held"] == 0
    assert figures["per_minute"] > 0
    (batch,) = figures["batches"]
    assert (batch["entrants"], batch["picked"], batch["picks"]) == (5, 4, 4)
    page = web_client(user("manager")).get(url(event, "report"))
    html = page.content.decode()
    assert page.status_code == 200 and 'data-figure="sold">4<' in html


def test_the_results_in_order_with_masked_buyers(demo):
    event = finished()
    rows = r.results(event, user("consultant"))
    assert [row["position"] for row in rows] == [1, 2, 3, 4]
    picks = {p.entry.number: p for p in event.picks.select_related("entry__customer", "deal")}
    html = web_client(user("consultant")).get(url(event, "results")).content.decode()
    for row in rows:
        pick = picks[row["number"]]
        assert row["deal"] == pick.deal.number and row["unit"] == pick.unit.number
        customer = pick.entry.customer
        assert customer.name not in html and row["buyer"] in html
        if customer.owner != user("consultant"):
            # not the consultant's own customer: the phone stays masked
            assert display_phone(customer.phone) not in html


def test_the_unpicked_entrants_and_the_refund(demo, settings):
    settings.LOUPAN_PICK_MIN_INTERVAL_MS = 0
    event = finished()
    (row,) = r.unpicked(event, user("manager"))
    assert row["sincerity"] == "已退还" and row["refunded"] == 20000 and row["held"] == 0
    live = OpeningEvent.objects.get(project=project(), status="selecting")
    waiting = [x for x in r.unpicked(live, user("finance")) if x["held"] > 0]
    assert len(waiting) == live.entries.count() - live.picks.count()
    page = web_client(user("finance")).get(url(live, "unpicked")).content.decode()
    assert "entry-refund" in page
    # a pick whose deal ended: unpicked again, its money refundable
    pick = live.picks.select_related("deal", "entry").first()
    from loupan.deals import services as deal_services

    deal_services.deal_release(actor=user("manager"), deal=pick.deal, reason="放弃")
    again = {x["number"]: x for x in r.unpicked(live, user("finance"))}
    assert again[pick.entry.number]["why"] == "所选交易已失效"
    assert again[pick.entry.number]["held"] == 20000
    s.event_finish(actor=user("manager"), event=live)
    client = web_client(user("finance"))
    done = client.post(
        f"/projects/{project().pk}/opening/{live.pk}/entries/{pick.entry.pk}/refund/",
        {"method": "transfer", "bank_reference": "RF-1"},
    )
    assert done.status_code == 302
    again = {x["number"]: x for x in r.unpicked(live, user("finance"))}
    assert again[pick.entry.number]["sincerity"] == "已退还"


@pytest.mark.parametrize("kind", ["results", "unpicked", "report"])
def test_exports_are_audited_posts_for_the_office(demo, kind):
    event = finished()
    client = web_client(user("manager"))
    before = AuditEntry.objects.filter(action="export").count()
    assert "attachment" not in client.get(url(event, kind) + "?format=xlsx").get(
        "Content-Disposition", ""
    )
    response = client.post(url(event, kind) + "?format=xlsx")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    values = list(sheet.values)
    expected = {"results": 4, "unpicked": 1}.get(kind)
    if expected is not None:
        assert len(values) - 1 == expected
    else:
        assert ("成交套数（交易有效）", 4) in values
    header = values[0]
    assert header[0] == r.KINDS[kind][1][0].header
    names = {p.entry.customer.name for p in event.picks.select_related("entry__customer")}
    assert not any(cell in names for row in values for cell in row)
    exports = AuditEntry.objects.filter(action="export")
    assert exports.count() == before + 1
    last = exports.latest("pk")
    assert last.object_type == f"opening.{kind}" and last.extra["filters"]["event"] == event.pk
    assert last.extra["rows"] == len(values) - 1
    # a consultant (no opening.manage) takes nothing away
    refused = web_client(user("consultant")).post(url(event, kind) + "?format=xlsx")
    assert refused.status_code == 403 and exports.count() == before + 1


def test_the_api_reads_the_same(demo):
    from tests.testing import api_client

    event = finished()
    api = api_client(user("consultant"))
    base = f"/api/v1/opening-events/{event.pk}/"
    rows = api.get(base + "results/").json()
    assert [row["number"] for row in rows] == [
        x["number"] for x in r.results(event, user("consultant"))
    ]
    names = {p.entry.customer.name for p in event.picks.select_related("entry__customer")}
    assert not any(name in str(rows) for name in names)
    assert api.get(base + "report/").json()["sold"] == 4
    (row,) = api.get(base + "unpicked/").json()
    assert row["refunded"] == "20000.00" and row["held"] == "0.00"


@pytest.mark.parametrize("kind", ["results", "unpicked", "report"])
def test_the_pages_read_in_a_fixed_number_of_queries(demo, kind):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    live = OpeningEvent.objects.get(project=project(), status="selecting")
    client = web_client(user("manager"))
    counts = []
    for event in (finished(), live):  # 4 picks and 1 unpicked; 2 picks and 6 unpicked
        client.get(url(event, kind))  # warm the session and the caches
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url(event, kind)).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
