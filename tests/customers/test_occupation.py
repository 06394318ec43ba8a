"""职业 as a code list (issue 12): the customer's occupation is a code of the office's list
``occupation`` (core.codelists) or, for 其他, the words; registration (page, API,
import) refuses an unknown or retired entry naming the field; a retired entry and the
free text of an older record stay shown as they are; the reports group by the label."""

import pytest

from loupan.core import codelists
from loupan.core.errors import DomainError, ErrorCode
from loupan.customers import services
from loupan.customers.models import Customer
from loupan.deals.reports import profile
from tests.testing import assert_error

pytestmark = pytest.mark.django_db


def register(demo, phone, **data):
    return services.customer_register(
        actor=demo["users"]["consultant"],
        project=demo["main"],
        name="职业测试",
        phone=phone,
        wanted_layout="B1",
        data=data,
    )


def test_occupation_is_a_code_of_the_list_or_other_in_words(demo):
    project, manager = demo["main"], demo["users"]["manager"]
    entry = codelists.entry_add(actor=manager, project=project, kind="occupation", label="律师")
    customer = register(demo, "13700008801", occupation=entry.code)
    assert customer.occupation == entry.code
    assert customer.get_occupation_display() == "律师"
    other = register(demo, "13700008802", occupation="other", occupation_other="飞行员")
    assert other.occupation == "飞行员" and other.get_occupation_display() == "飞行员"
    # words that are an entry's label are stored as the entry
    same = register(demo, "13700008803", occupation="other", occupation_other="律师")
    assert same.occupation == entry.code
    with pytest.raises(DomainError) as exc:
        register(demo, "13700008804", occupation="other")
    assert "occupation_other" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        register(demo, "13700008805", occupation="no-such")
    assert exc.value.code == ErrorCode.CODE_UNKNOWN and "occupation" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        register(demo, "13700008806", occupation=entry.code, occupation_other="x")
    assert "occupation_other" in exc.value.fields
    # retired: refused on input, kept and shown (marked) on the old record
    codelists.entry_retire(actor=manager, project=project, kind="occupation", code=entry.code)
    with pytest.raises(DomainError) as exc:
        register(demo, "13700008807", occupation=entry.code)
    assert exc.value.code == ErrorCode.CODE_RETIRED
    customer.refresh_from_db()
    assert customer.occupation == entry.code
    assert customer.get_occupation_display() == "律师（已停用）"
    # an edit that leaves it keeps it
    services.customer_update(actor=manager, customer=customer, data={"grade": "A"})
    customer.refresh_from_db()
    assert customer.occupation == entry.code
    # older free text is shown as it is
    Customer.objects.filter(pk=other.pk).update(occupation="老职业文字")
    other.refresh_from_db()
    assert other.get_occupation_display() == "老职业文字"


def test_the_register_page_offers_the_list_then_other(login, demo):
    project = demo["main"]
    consultant = login("consultant")
    url = f"/projects/{project.pk}/customers/register/"
    html = consultant.get(url).content.decode()
    teacher = codelists.choices("occupation", project)
    code = next(c for c, label in teacher if label == "教师")
    assert f'value="{code}"' in html and 'name="occupation_other"' in html
    select = html[html.index('name="occupation"') :]
    select = select[: select.index("</select>")]
    assert select.index(f'value="{code}"') < select.index('value="other"')
    body = {"name": "页面职业", "phone": "13700008811", "wanted_layout": "B1", "grade": "C"}
    response = consultant.post(url, {**body, "occupation": code})
    assert response.status_code == 302
    customer = Customer.objects.get(name="页面职业", project=project)
    assert customer.occupation == code
    assert "教师" in consultant.get(customer.get_absolute_url()).content.decode()
    response = consultant.post(
        url, {**body, "phone": "13700008812", "occupation": "nope", "occupation_other": ""}
    )
    assert "“nope”不是本项目职业中的选项" in response.content.decode()
    assert Customer.objects.filter(name="页面职业", project=project).count() == 1
    response = consultant.post(
        url, {**body, "phone": "13700008813", "occupation": "other", "occupation_other": "潜水员"}
    )
    assert response.status_code == 302
    assert Customer.objects.filter(name="页面职业", occupation="潜水员").exists()


def test_the_api_takes_a_code_and_shows_the_label(api, demo):
    project = demo["main"]
    code = next(c for c, label in codelists.choices("occupation", project) if label == "医生")
    client = api("consultant")
    body = {
        "project": project.pk,
        "name": "接口职业",
        "phone": "13700008821",
        "wanted_layout": "B1",
        "data": {"occupation": code},
    }
    response = client.post("/api/v1/customers/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["occupation"] == code
    assert response.json()["occupation_label"] == "医生"
    body.update(phone="13700008822", data={"occupation": "c999"})
    response = client.post("/api/v1/customers/", body, format="json")
    assert_error(response, 400, "code_unknown")
    body.update(data={"occupation": "other", "occupation_other": "宇航员"})
    response = client.post("/api/v1/customers/", body, format="json")
    assert response.status_code == 201 and response.json()["occupation_label"] == "宇航员"


def test_the_analysis_groups_by_label(demo):
    project, manager = demo["main"], demo["users"]["manager"]
    entry = codelists.entry_add(actor=manager, project=project, kind="occupation", label="建筑师")
    a = register(demo, "13700008831", occupation=entry.code)
    b = register(demo, "13700008832", occupation="other", occupation_other="建筑师")
    assert b.occupation == entry.code
    codelists.entry_change(
        actor=manager, project=project, kind="occupation", code=entry.code, label="建筑设计师"
    )
    rows = profile(Customer.objects.filter(pk__in=[a.pk, b.pk]), project)
    occupation = next(d for d in rows if d["field"] == "occupation")
    assert occupation["rows"] == [{"name": "建筑设计师", "count": 2, "pct": 100.0}]
