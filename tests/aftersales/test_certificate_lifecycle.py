"""Certificates 权证: open once on a contracted deal (mortgage_needed with a loan), the
stages filing → transfer → issued → handed with their refusals (exact codes), the
checklist, the mortgage registration before the handover, days in stage and the
reminders (reads only), the demo's stages; the pages and the API as the roles."""

import datetime

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from loupan.aftersales import settlement as s
from loupan.aftersales.errors import AftersalesError
from loupan.aftersales.models import Certificate, CertificateEvent
from loupan.core.errors import DomainError
from tests.deals.helpers import client_of, project, subscribed, user

pytestmark = pytest.mark.django_db


def code_of(call):
    with pytest.raises(DomainError) as info:
        call()
    return info.value.code


@pytest.fixture
def deal(demo):
    return subscribed(0, "13700008001", contract=True)  # paid by a commercial loan


def tick_all(cert):
    for d in cert.documents:
        cert = s.certificate_check_document(
            actor=user("service"), certificate=cert, name=d["name"], done=True
        )
    return cert


def test_open_once_on_a_contracted_deal(deal, demo):
    assert code_of(lambda: s.certificate_open(actor=user("consultant"), deal=deal)) == (
        "permission_denied"
    )
    pending = subscribed(1, "13700008002")
    code = code_of(lambda: s.certificate_open(actor=user("service"), deal=pending))
    assert code == AftersalesError.NOT_CONTRACTED
    cert = s.certificate_open(actor=user("service"), deal=deal)
    assert cert.stage == "filing" and cert.mortgage_needed and cert.filed_on
    assert s.MORTGAGE_DOCUMENT in [d["name"] for d in cert.documents]
    assert CertificateEvent.objects.filter(certificate=cert, to_stage="filing").count() == 1
    code = code_of(lambda: s.certificate_open(actor=user("service"), deal=deal))
    assert code == s.SettlementError.CERTIFICATE_EXISTS


def test_the_whole_lifecycle_with_its_refusals(deal):
    service = user("service")
    cert = s.certificate_open(actor=service, deal=deal)
    move = s.certificate_move
    assert code_of(lambda: move(actor=service, certificate=cert, to_stage="issued")) == (
        AftersalesError.STAGE_TRANSITION
    )
    assert code_of(lambda: move(actor=service, certificate=cert, to_stage="transfer")) == (
        s.SettlementError.DOCUMENTS_MISSING
    )
    cert = tick_all(cert)
    cert = move(actor=service, certificate=cert, to_stage="transfer", note="已递交")
    assert cert.stage == "transfer" and cert.submitted_on == timezone.localdate()
    assert code_of(lambda: move(actor=service, certificate=cert, to_stage="issued")) == (
        s.SettlementError.CERTIFICATE_NUMBER_REQUIRED
    )
    cert = move(actor=service, certificate=cert, to_stage="issued", certificate_number="川第1号")
    assert cert.certificate_number == "川第1号" and cert.issued_on
    assert code_of(lambda: move(actor=service, certificate=cert, to_stage="handed")) == (
        s.SettlementError.MORTGAGE_NOT_REGISTERED
    )
    cert = s.certificate_register_mortgage(actor=service, certificate=cert)
    cert = move(actor=service, certificate=cert, to_stage="handed")
    assert cert.stage == "handed" and cert.handed_on
    assert code_of(lambda: move(actor=service, certificate=cert, to_stage="handed")) == (
        AftersalesError.STAGE_TRANSITION
    )
    stages = list(
        CertificateEvent.objects.filter(certificate=cert)
        .exclude(from_stage=F("to_stage"))
        .values_list("to_stage", flat=True)
    )
    assert stages == ["filing", "transfer", "issued", "handed"]


def test_a_date_in_the_future_or_before_the_stage_is_refused(deal):
    cert = tick_all(s.certificate_open(actor=user("service"), deal=deal))
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    code = code_of(
        lambda: s.certificate_move(
            actor=user("service"), certificate=cert, to_stage="transfer", on=tomorrow
        )
    )
    assert code == "invalid"


def test_days_in_stage_and_reminders_read_only(deal):
    cert = s.certificate_open(actor=user("service"), deal=deal)
    long_ago = timezone.now() - datetime.timedelta(days=45)
    Certificate.objects.filter(pk=cert.pk).update(stage_since=long_ago)
    cert.refresh_from_db()
    assert s.days_in_stage(cert) == 45
    assert s.days_in_stage(cert, timezone.localdate() + datetime.timedelta(days=5)) == 50
    reminders = dict(s.certificate_reminders(user("service"), project()))
    assert reminders.get(cert) == 45
    assert s.certificate_reminders(user("planner"), project()) == []
    # a consultant's own buyers only; the list reads and writes nothing
    events = CertificateEvent.objects.count()
    client_of("service").get(reverse("aftersales:certificate_list", args=[project().pk]))
    assert CertificateEvent.objects.count() == events


def test_the_demo_has_certificates_in_the_stages(demo):
    stages = set(Certificate.objects.filter(project=demo["main"]).values_list("stage", flat=True))
    assert {"transfer", "issued", "handed"} <= stages


def test_pages_as_roles(deal):
    url = reverse("aftersales:certificate_list", args=[project().pk])
    service = client_of("service")
    page = service.get(url)
    assert page.status_code == 200 and "certificate-awaiting" in page.content.decode()
    opened = service.post(reverse("aftersales:certificate_open", args=[project().pk, deal.pk]))
    assert opened.status_code == 302
    cert = Certificate.objects.get(deal=deal)
    detail_url = reverse("aftersales:certificate_detail", args=[project().pk, cert.pk])
    detail = service.get(detail_url)
    assert detail.status_code == 200 and "move-form" in detail.content.decode()
    assert "certificate-events" in detail.content.decode()
    refused = service.post(
        reverse("aftersales:certificate_move", args=[project().pk, cert.pk]),
        {"m-to_stage": "transfer"},
    )
    assert refused.status_code == 400 and "资料未收齐" in refused.content.decode()
    ticked = service.post(
        reverse("aftersales:certificate_document", args=[project().pk, cert.pk]),
        {"name": cert.documents[0]["name"], "done": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert ticked.status_code == 200 and "✓" in ticked.content.decode()
    # the deal's consultant reads their buyer's certificate, acts on nothing
    consultant = client_of("consultant")
    page = consultant.get(detail_url)
    assert page.status_code == 200 and "move-form" not in page.content.decode()
    assert (
        consultant.post(
            reverse("aftersales:certificate_move", args=[project().pk, cert.pk]),
            {"m-to_stage": "transfer"},
        ).status_code
        == 403
    )
    assert client_of("consultant2").get(detail_url).status_code == 404
    assert client_of("planner").get(url).status_code == 404
    assert client_of("planner").get(detail_url).status_code == 404


def test_the_api(api, deal):
    client = api("service")
    created = client.post("/api/v1/certificates/", {"deal": deal.pk}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["stage"] == "filing" and body["mortgage_needed"] is True
    pk = body["id"]
    refused = client.post(
        f"/api/v1/certificates/{pk}/move/", {"to_stage": "transfer"}, format="json"
    )
    assert refused.status_code == 409 and refused.json()["code"] == "documents_missing"
    for d in body["documents"]:
        r = client.post(
            f"/api/v1/certificates/{pk}/check-document/",
            {"name": d["name"], "done": True},
            format="json",
        )
        assert r.status_code == 200
    moved = client.post(f"/api/v1/certificates/{pk}/move/", {"to_stage": "transfer"}, format="json")
    assert moved.status_code == 200 and moved.json()["stage"] == "transfer"
    listing = client.get(f"/api/v1/certificates/?project={project().pk}&outstanding=true").json()
    assert pk in [x["id"] for x in listing["results"]]
    assert all("days_in_stage" in x for x in listing["results"])
    assert api("consultant2").get(f"/api/v1/certificates/{pk}/").status_code == 404
    denied = api("consultant").post(
        f"/api/v1/certificates/{pk}/move/", {"to_stage": "issued"}, format="json"
    )
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
