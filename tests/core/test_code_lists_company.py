"""Company entries of the code lists (issue 12): kept for the whole company by who holds
codelist.manage on all its projects, shown on every project's list beside the
project's own, retired for the company while old records keep and show them."""

import pytest

from loupan.core import codelists
from loupan.core.errors import DomainError, ErrorCode, PermissionDenied
from loupan.core.models import CodeEntry
from loupan.customers import services as customer_services
from tests.testing import assert_error

pytestmark = pytest.mark.django_db

API = "/api/v1/code-lists/"


def test_a_company_entry_is_on_every_project_and_retires_for_the_company(demo):
    main, second = demo["main"], demo["second"]
    director, manager = demo["users"]["director"], demo["users"]["manager"]
    assert codelists.may_manage_company(director, main)
    assert not codelists.may_manage_company(manager, main)  # the main project's only
    entry = codelists.entry_add(
        actor=director, project=main, kind="occupation", label="自由职业", company=True
    )
    assert entry.company and entry.code.startswith("g")
    row = CodeEntry.objects.get(kind="occupation", code=entry.code)
    assert row.project_id is None and row.company_id == demo["company"].pk
    for project in (main, second):
        listed = {e.code: e for e in codelists.entries("occupation", project)}
        assert listed[entry.code].label == "自由职业" and listed[entry.code].company
        assert (entry.code, "自由职业") in codelists.choices("occupation", project)
    # a project's own entry stays on its project
    own = codelists.entry_add(actor=manager, project=main, kind="occupation", label="主播")
    assert own.code not in codelists.labels("occupation", second)
    # the label of a company entry cannot be taken again on a project, nor the reverse
    with pytest.raises(DomainError) as exc:
        codelists.entry_add(actor=manager, project=main, kind="occupation", label="自由职业")
    assert exc.value.code == ErrorCode.CODE_EXISTS
    with pytest.raises(DomainError) as exc:
        codelists.entry_add(
            actor=director, project=second, kind="occupation", label="主播", company=True
        )
    assert exc.value.code == ErrorCode.CODE_EXISTS
    # a project's manager may not add, change or retire the company's entries
    with pytest.raises(PermissionDenied):
        codelists.entry_add(actor=manager, project=main, kind="occupation", label="x", company=True)
    with pytest.raises(DomainError) as exc:
        codelists.entry_retire(actor=manager, project=main, kind="occupation", code=entry.code)
    assert exc.value.code == ErrorCode.CONFLICT
    # the customer of either project takes it; retired, the records keep and show it
    customer = customer_services.customer_register(
        actor=demo["users"]["consultant2"],
        project=second,
        name="公司职业",
        phone="13700007701",
        wanted_layout="other",
        wanted_layout_other="三室",
        data={"occupation": entry.code},
    )
    codelists.entry_change(
        actor=director,
        project=second,
        kind="occupation",
        code=entry.code,
        label="自由职业者",
        company=True,
    )
    codelists.entry_retire(
        actor=director, project=main, kind="occupation", code=entry.code, company=True
    )
    for project in (main, second):
        assert entry.code not in dict(codelists.choices("occupation", project))
    customer.refresh_from_db()
    assert customer.get_occupation_display() == "自由职业者（已停用）"
    with pytest.raises(DomainError) as exc:
        codelists.check("occupation", main, entry.code, "occupation")
    assert exc.value.code == ErrorCode.CODE_RETIRED
    codelists.entry_restore(
        actor=director, project=second, kind="occupation", code=entry.code, company=True
    )
    assert entry.code in dict(codelists.choices("occupation", main))
    # a list kept in an app's own table has no company entries
    with pytest.raises(DomainError):
        codelists.entry_add(actor=director, project=main, kind="channel", label="x", company=True)


def test_company_entries_on_the_page(login, demo):
    main, second = demo["main"], demo["second"]
    director = login("director")
    url = f"/projects/{main.pk}/code-lists/"
    assert 'id="occupation-new-company"' in director.get(url).content.decode()
    response = director.post(
        url, {"action": "add", "kind": "occupation", "label": "退休", "company": "1"}
    )
    assert response.status_code == 302
    row = CodeEntry.objects.get(kind="occupation", label="退休")
    assert row.project_id is None
    html = director.get(f"/projects/{second.pk}/code-lists/").content.decode()
    assert "退休" in html and f'id="entry-occupation-{row.code}"' in html
    # the main project's manager sees it, marked, without a form to change it
    manager = login("manager")
    html = manager.get(url).content.decode()
    assert "退休" in html and 'id="occupation-new-company"' not in html
    assert f'id="occupation-{row.code}-id_label"' not in html
    response = manager.post(
        url, {"action": "retire", "kind": "occupation", "entry": row.code, "company": "1"}
    )
    assert response.status_code == 403
    director = login("director")
    response = director.post(
        url, {"action": "retire", "kind": "occupation", "entry": row.code, "company": "1"}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.retired_at is not None


def test_company_entries_by_api(api, demo):
    main, second = demo["main"], demo["second"]
    body = {"project": main.pk, "kind": "occupation", "label": "军人", "company": True}
    assert_error(api("manager").post(API, body, format="json"), 403, "permission_denied")
    response = api("director").post(API, body, format="json")
    assert response.status_code == 201, response.json()
    code = response.json()["code"]
    assert response.json()["company"] is True
    listing = api("director").get(API, {"project": second.pk, "kind": "occupation"}).json()
    entry = next(e for e in listing[0]["entries"] if e["code"] == code)
    assert entry["company"] and entry["active"]
    ref = {"project": second.pk, "kind": "occupation", "code": code}
    assert_error(api("director").post(f"{API}retire/", ref, format="json"), 409, "conflict")
    response = api("director").post(f"{API}retire/", {**ref, "company": True}, format="json")
    assert response.status_code == 200 and response.json()["active"] is False
