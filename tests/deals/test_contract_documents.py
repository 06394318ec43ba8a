"""The contract's documents (issue 12): templates (.docx, placeholders checked,
versions), the printed contract filled by docxtpl, finance's review 计财部审核 before
signing, and supplementary agreements 补充协议 (numbered per deal, superseded, never
deleted), on pages and in the API."""

import io

import docx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from loupan.approvals import services as approvals
from loupan.approvals.models import ApprovalRequest
from loupan.audit.models import AuditEntry
from loupan.core.errors import DomainError
from loupan.deals import contracts, services
from loupan.deals.contracts_demo import CONTRACT_LINES, docx_of
from loupan.deals.models import ContractTemplate, DealStatus, Supplement
from tests.deals.helpers import base, client_of, deal_url, project, reviewed, subscribed, user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path, demo):
    """Files under the test's own media root, with the demo's templates uploaded again."""
    from loupan.deals.contracts_demo import SUPPLEMENT_LINES

    settings.MEDIA_ROOT = tmp_path
    new_template()
    new_template(SUPPLEMENT_LINES, kind="supplement")


def upload(lines, name="t.docx"):
    return SimpleUploadedFile(name, docx_of(lines))


def refused(code, call):
    with pytest.raises(DomainError) as exc:
        call()
    assert exc.value.code == code, exc.value.as_dict()
    return exc.value


def text_of(content: bytes) -> str:
    document = docx.Document(io.BytesIO(content))
    return "\n".join(p.text for p in document.paragraphs)


def new_template(lines=CONTRACT_LINES, kind="contract"):
    return contracts.template_upload(
        actor=user("salesadmin"),
        project=project(),
        kind=kind,
        name="示范文本",
        upload=upload(lines),
    )


# --- templates --------------------------------------------------------------------------


def test_template_upload_checks_the_file_and_the_placeholders(demo):
    salesadmin = user("salesadmin")

    def up(file, kind="contract"):
        return lambda: contracts.template_upload(
            actor=salesadmin, project=project(), kind=kind, name="合同", upload=file
        )

    error = refused("file_type", up(SimpleUploadedFile("a.pdf", b"%PDF-1.4")))
    assert "file" in error.fields
    refused("file_content", up(SimpleUploadedFile("a.docx", b"not a zip at all")))
    error = refused("unknown_placeholder", up(upload(["{{ total }} {{ totl }} {{ buyer_nam }}"])))
    assert "buyer_nam、totl" in error.fields["file"][0]
    # supplement-only placeholders are unknown to a contract
    refused("unknown_placeholder", up(upload(["{{ supplement_text }}"])))
    refused("template_syntax", up(upload(["{{ total "])))
    with pytest.raises(DomainError) as exc:
        contracts.template_upload(
            actor=user("consultant"),
            project=project(),
            kind="contract",
            name="x",
            upload=upload(["{{ total }}"]),
        )
    assert exc.value.code == "permission_denied"


def test_versions_are_kept_and_one_is_active(demo):
    first = ContractTemplate.objects.get(project=project(), kind="contract", is_active=True)
    count = ContractTemplate.objects.filter(project=project(), kind="contract").count()
    second = new_template(["{{ total }}"])
    assert second.version == first.version + 1 and second.placeholders == ["total"]
    first.refresh_from_db()
    assert second.is_active and not first.is_active
    contracts.template_activate(actor=user("salesadmin"), template=first)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.is_active and not second.is_active
    assert ContractTemplate.objects.filter(project=project(), kind="contract").count() == count + 1


# --- printing ---------------------------------------------------------------------------


def test_printed_contract_holds_the_deals_values(demo):
    deal = subscribed(phone="13700003333")
    buyer = deal.buyers.get().customer
    buyer.id_number = "110101199003070013"
    buyer.save()
    content, name = contracts.contract_print(actor=user("consultant"), deal=deal)
    assert name.endswith(".docx") and deal.number in name
    text = text_of(content)
    assert deal.number in text and deal.unit.number in text
    assert f"{deal.total:,.2f}" in text
    assert "110101199003070013" in text  # the buyer's own consultant sees the ID in full
    assert buyer.name in text and "锦城置业有限公司" in text
    entry = AuditEntry.objects.filter(action="export", object_id=str(deal.pk)).latest("id")
    assert entry.extra["document"] == "contract" and entry.extra["masked"] is False
    # the sales admin without the customer: masked, as core.masking says
    text = text_of(contracts.contract_print(actor=user("salesadmin"), deal=deal)[0])
    assert "110101199003070013" not in text and "110101" in text


def test_capital_amount_is_right(demo):
    new_template(["总价 {{ total }} 元，大写 {{ total_upper }}；定金 {{ deposit_upper }}"])
    deal = subscribed(phone="13700004444", deposit="10005")
    text = text_of(contracts.contract_print(actor=user("salesadmin"), deal=deal)[0])
    assert "定金 人民币壹万零伍元整" in text or "定金 壹万零伍元整" in text
    from loupan.core.money import rmb_upper

    assert f"大写 {rmb_upper(deal.total)}" in text


def test_personal_numbers_masked_for_who_may_not_see_them(demo):
    deal = subscribed(phone="13700005555")
    buyer = deal.buyers.get().customer
    buyer.id_number = "110101199003070013"
    buyer.save()
    # the director holds deal.approve but the buyer is not theirs: as customer.reveal says
    text = text_of(contracts.contract_print(actor=user("finance"), deal=deal)[0])
    from loupan.customers.selectors import can_see_contact

    if can_see_contact(user("finance"), buyer):
        assert "110101199003070013" in text
    else:
        assert "110101199003070013" not in text
    refused("permission_denied", lambda: contracts.contract_print(actor=user("planner"), deal=deal))


def test_values_are_escaped(demo):
    deal = subscribed(phone="13700006666")
    buyer = deal.buyers.get().customer
    buyer.name = "张<三>&"
    buyer.save()
    text = text_of(contracts.contract_print(actor=user("salesadmin"), deal=deal)[0])
    assert "张<三>&" in text


# --- finance's review -------------------------------------------------------------------


def test_no_signing_before_finance_approves(demo):
    deal = subscribed(phone="13700007777")
    refused(
        "contract_not_reviewed",
        lambda: services.deal_contract(actor=user("salesadmin"), deal=deal),
    )
    request = contracts.contract_submit_review(actor=user("salesadmin"), deal=deal)
    assert request.level == "contract.review"
    refused(
        "conflict", lambda: contracts.contract_submit_review(actor=user("salesadmin"), deal=deal)
    )
    refused(
        "contract_not_reviewed",
        lambda: services.deal_contract(actor=user("salesadmin"), deal=deal),
    )
    # only finance decides (not the sales admin, not the manager)
    with pytest.raises(DomainError):
        approvals.approval_decide(actor=user("manager"), request=request, approve=True)
    # refusal with a reason sends it back
    refused(
        "invalid",
        lambda: approvals.approval_decide(actor=user("finance"), request=request, approve=False),
    )
    approvals.approval_decide(
        actor=user("finance"), request=request, approve=False, reason="首付款比例有误"
    )
    error = refused(
        "contract_not_reviewed",
        lambda: services.deal_contract(actor=user("salesadmin"), deal=deal),
    )
    assert "首付款比例有误" in error.message
    assert contracts.review_state(deal)["state"] == "rejected"
    # submitted again and approved: signed and sealed
    request = contracts.contract_submit_review(actor=user("salesadmin"), deal=deal)
    approvals.approval_decide(actor=user("finance"), request=request, approve=True)
    assert services.deal_contract(actor=user("salesadmin"), deal=deal).status == "contracted"


def test_a_change_after_approval_needs_a_new_review(demo):
    deal = reviewed(subscribed(phone="13700008888"))
    assert contracts.review_state(deal)["current"]
    # what finance approved is printed from the approved version, even after a new one
    new_template(["{{ total }} {{ buyer_names }}"])
    assert contracts.printed_template(deal).pk == contracts.review_of(deal).payload["template"]
    buyer = deal.buyers.get().customer
    buyer.id_number = "110101199003070013"  # the contract's content changes
    buyer.save()
    error = refused(
        "contract_not_reviewed",
        lambda: services.deal_contract(actor=user("salesadmin"), deal=deal),
    )
    assert "重新提交" in error.message
    reviewed(deal)
    assert services.deal_contract(actor=user("salesadmin"), deal=deal).status == "contracted"


def test_review_needs_a_subscribed_deal_and_the_desk(demo):
    deal = subscribed(phone="13700009999")
    refused(
        "permission_denied",
        lambda: contracts.contract_submit_review(actor=user("finance"), deal=deal),
    )
    signed = subscribed(offset=1, phone="13700009998", contract=True)
    refused(
        "conflict", lambda: contracts.contract_submit_review(actor=user("salesadmin"), deal=signed)
    )


# --- supplements ------------------------------------------------------------------------


def test_supplements_are_numbered_and_superseded(demo):
    deal = subscribed(phone="13700001212", contract=True)
    first = contracts.supplement_add(
        actor=user("salesadmin"), deal=deal, title="车位协议", text="赠送车位使用权一年"
    )
    assert first.seq == 1 and first.number == f"{deal.contract_number}-BC01"
    assert "赠送车位使用权一年" in text_of(first.file.read())
    pdf = SimpleUploadedFile("s.pdf", b"%PDF-1.4 signed")
    second = contracts.supplement_add(
        actor=user("consultant"), deal=deal, title="车位协议（修订）", upload=pdf, replaces=first
    )
    assert second.seq == 2 and second.replaces_id == first.pk and second.source == "uploaded"
    refused(
        "superseded",
        lambda: contracts.supplement_add(
            actor=user("salesadmin"), deal=deal, title="再改", text="x", replaces=first
        ),
    )
    refused(
        "invalid",
        lambda: contracts.supplement_add(actor=user("salesadmin"), deal=deal, title="空"),
    )
    refused(
        "file_content",
        lambda: contracts.supplement_add(
            actor=user("salesadmin"),
            deal=deal,
            title="坏文件",
            upload=SimpleUploadedFile("x.pdf", b"nope"),
        ),
    )
    refused(
        "permission_denied",
        lambda: contracts.supplement_add(actor=user("finance"), deal=deal, title="x", text="y"),
    )
    assert Supplement.objects.filter(deal=deal).count() == 2  # nothing half-written
    assert AuditEntry.objects.filter(object_type="deals.supplement").count() >= 2


# --- pages and API ----------------------------------------------------------------------


def test_pages(demo):
    salesadmin = client_of("salesadmin")
    page = salesadmin.get(f"{base()}contract-templates/")
    assert page.status_code == 200 and "total_upper" in page.content.decode()
    response = salesadmin.post(
        f"{base()}contract-templates/",
        {"kind": "contract", "name": "坏模板", "file": upload(["{{ totl }}"]), "activate": "on"},
    )
    assert response.status_code == 400 and "totl" in response.content.decode()
    assert client_of("consultant").get(f"{base()}contract-templates/").status_code == 403
    deal = subscribed(phone="13700001313")
    page = salesadmin.get(deal_url(deal)).content.decode()
    assert 'id="contract-document"' in page and 'id="review-form"' in page
    response = salesadmin.post(deal_url(deal, "contract-docx/"))
    assert response.status_code == 200 and deal.number in text_of(response.content)
    salesadmin.post(deal_url(deal, "review/"))
    request = ApprovalRequest.objects.get(deal=deal, kind="contract_review")
    finance = client_of("finance")
    assert deal.unit.number in finance.get(f"{base()}approvals/").content.decode()
    finance.post(f"{base()}approval-requests/{request.pk}/decide/", {"decision": "approve"})
    deal = services.deal_contract(actor=user("salesadmin"), deal=deal)
    response = salesadmin.post(
        deal_url(deal, "supplements/"), {"sup-title": "付款补充协议", "sup-text": "延期一个月"}
    )
    assert response.status_code == 302
    supplement = Supplement.objects.get(deal=deal)
    page = salesadmin.get(deal_url(deal)).content.decode()
    assert supplement.number in page
    assert salesadmin.get(f"{base()}supplements/{supplement.pk}/").status_code == 200
    response = salesadmin.post(deal_url(deal, "supplements/"), {"sup-title": ""})
    assert response.status_code == 400


def test_api(api, demo):
    deal = subscribed(phone="13700001414")
    salesadmin, finance = api("salesadmin"), api("finance")
    response = salesadmin.post(f"/api/v1/deals/{deal.pk}/contract/", {}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "contract_not_reviewed"
    response = salesadmin.post(f"/api/v1/deals/{deal.pk}/contract-document/")
    assert response.status_code == 200 and deal.number in text_of(response.content)
    response = salesadmin.post(f"/api/v1/deals/{deal.pk}/review/", {}, format="json")
    assert response.status_code == 202
    rid = response.json()["id"]
    response = finance.post(f"/api/v1/approvals/{rid}/reject/", {"reason": "价格有误"})
    assert response.status_code == 200
    response = salesadmin.post(f"/api/v1/deals/{deal.pk}/review/", {}, format="json")
    rid = response.json()["id"]
    assert finance.post(f"/api/v1/approvals/{rid}/approve/").status_code == 200
    response = salesadmin.post(f"/api/v1/deals/{deal.pk}/contract/", {}, format="json")
    assert response.status_code == 200 and response.json()["status"] == DealStatus.CONTRACTED
    response = salesadmin.post(
        f"/api/v1/deals/{deal.pk}/supplements/", {"title": "补充", "text": "条款"}
    )
    assert response.status_code == 201 and response.json()["seq"] == 1
    response = salesadmin.get(f"/api/v1/deals/{deal.pk}/supplements/")
    assert [s["current"] for s in response.json()] == [True]
    response = salesadmin.get(f"/api/v1/supplements/?deal={deal.pk}")
    assert response.status_code == 200
    # templates
    response = salesadmin.post(
        "/api/v1/contract-templates/",
        {"project": project().pk, "kind": "contract", "name": "x", "file": upload(["{{ totl }}"])},
        format="multipart",
    )
    body = response.json()
    assert response.status_code == 400 and body["code"] == "unknown_placeholder"
    assert "totl" in body["fields"]["file"][0]
    response = salesadmin.post(
        "/api/v1/contract-templates/",
        {"project": project().pk, "kind": "contract", "name": "y", "file": upload(["{{ total }}"])},
        format="multipart",
    )
    assert response.status_code == 201 and response.json()["is_active"]
    assert (
        api("consultant")
        .post(
            "/api/v1/contract-templates/",
            {
                "project": project().pk,
                "kind": "contract",
                "name": "z",
                "file": upload(["{{ total }}"]),
            },
            format="multipart",
        )
        .status_code
        == 403
    )
    assert salesadmin.get("/api/v1/contract-templates/placeholders/").status_code == 200
