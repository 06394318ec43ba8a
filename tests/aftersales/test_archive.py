"""The owner archive 业主档案: search, the timeline, who sees it."""

from loupan.payments import services as payment_services
from tests.deals.helpers import client_of, project, subscribed, user


def url(tail=""):
    return f"/projects/{project().pk}/aftersales/{tail}"


def test_service_finds_an_owner_and_sees_the_timeline(demo):
    deal = subscribed(offset=0, phone="13740000001", contract=True)
    payment_services.payment_record(actor=user("finance"), deal=deal, amount="1000", method="cash")
    service = client_of("service")
    listing = service.get(url(), {"q": deal.customer.name}).content.decode()
    assert f"owners/{deal.pk}/" in listing
    assert f"owners/{deal.pk}/" in service.get(url(), {"q": "0001"}).content.decode()
    assert f"owners/{deal.pk}/" in service.get(url(), {"q": deal.contract_number}).content.decode()
    page = service.get(url(f"owners/{deal.pk}/"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "签约" in body and "收款 1000.00" in body and deal.contract_number in body


def test_a_consultant_sees_only_their_own_buyers(demo):
    deal = subscribed(offset=1, phone="13740000002", contract=True)
    assert client_of("consultant").get(url(f"owners/{deal.pk}/")).status_code == 200
    assert client_of("consultant2").get(url(f"owners/{deal.pk}/")).status_code == 404
    assert client_of("planner").get(url()).status_code == 404
    assert "nav-aftersales" in client_of("service").get("/").content.decode()


def test_customer_services_home_page_lists_what_is_late(demo):
    from loupan.aftersales.models import Complaint

    body = client_of("service").get("/").content.decode()
    assert 'id="home-service"' in body
    late = Complaint.objects.filter(project=project(), escalated_at__isnull=False).first()
    assert late is not None and late.number in body
    assert 'id="home-service"' not in client_of("consultant").get("/").content.decode()
