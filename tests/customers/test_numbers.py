"""No number belongs to two live customers of a project, as phone or second phone
(撞单, seed 002): refused before (the selector) and by the database (the numbers table
its triggers keep), at registration and at an edit; another project may hold it."""

import pytest
from django.db import IntegrityError, transaction

from loupan.core.errors import DomainError
from loupan.customers import services
from loupan.customers.models import Customer, CustomerNumber
from tests.testing import race, web_client

from .helpers import make_customer


def register(user, project, phone, **data):
    return services.customer_register(
        actor=user,
        project=project,
        name="号码",
        phone=phone,
        wanted_layout="other",
        wanted_layout_other="三室",
        data=data,
    )


def test_a_second_phone_cannot_be_someone_elses_number(demo):
    users, project = demo["users"], demo["main"]
    first = register(users["consultant"], project, "13900001111", phone2="13900002222")
    # another consultant registers someone whose phone is the first one's second phone
    with pytest.raises(DomainError) as taken:
        register(users["consultant2"], project, "13900002222")
    assert taken.value.code == "customer_exists"
    assert taken.value.customer == first
    # or whose second phone is the first one's phone
    with pytest.raises(DomainError) as taken:
        register(users["consultant2"], project, "13900003333", phone2="139 0000 1111")
    assert taken.value.code == "customer_exists"
    assert "phone2" in taken.value.fields
    assert not Customer.objects.filter(phone="+8613900003333").exists()


def test_an_edit_cannot_take_someone_elses_number(demo):
    users, project = demo["users"], demo["main"]
    first = register(users["consultant"], project, "13900004444")
    second = register(users["consultant2"], project, "13900005555")
    with pytest.raises(DomainError) as taken:
        services.customer_update(
            actor=users["consultant2"], customer=second, data={"phone2": "139 0000 4444"}
        )
    assert taken.value.code == "customer_exists"
    second.refresh_from_db()
    assert second.phone2 == ""
    # one's own second number, normalized as at registration
    services.customer_update(
        actor=users["consultant2"], customer=second, data={"phone2": "139 0000 6666"}
    )
    second.refresh_from_db()
    assert second.phone2 == "+8613900006666"
    assert set(CustomerNumber.objects.filter(customer=second).values_list("phone", flat=True)) == {
        "+8613900005555",
        "+8613900006666",
    }
    assert first.pk != second.pk


def test_the_database_refuses_a_number_held_as_a_second_phone(demo):
    """Whatever writes (not only the services): the numbers table decides."""
    users, project = demo["users"], demo["main"]
    holder = make_customer(project, users["consultant"], phone="+8613900007777")
    Customer.objects.filter(pk=holder.pk).update(phone2="+8613900008888")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_customer(project, users["consultant2"], phone="+8613900008888")
    # anonymized, the numbers are free again; another project may hold them anyway
    Customer.objects.filter(pk=holder.pk).update(anonymized_at="2026-01-01T00:00:00Z")
    make_customer(project, users["consultant2"], phone="+8613900008888", name="再登记")
    make_customer(demo["second"], users["consultant"], phone="+8613900007777", name="别的项目")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_consultants_racing_one_person_by_two_fields_give_one_customer(demo):
    """One registers the number as a phone, the other as a second phone, at once."""
    users, project = demo["users"], demo["main"]

    def attempt(i):
        if i % 2:
            register(users["consultant"], project, "13900009999")
        else:
            register(users["consultant2"], project, f"1390001{i:04d}", phone2="13900009999")

    outcomes = race(6, attempt)
    assert sorted(outcomes) == ["customer_exists"] * 5 + ["ok"], outcomes
    assert CustomerNumber.objects.filter(project=project, phone="+8613900009999").count() == 1


@pytest.mark.parametrize(
    "text", ["13900012121", "139 0001 2121", "+86 139-0001-2121", "+8613900012121", "2121"]
)
def test_any_form_of_the_number_finds_the_customer(demo, text):
    """On the customer list, the pool and the reserve page (one search): the full number
    in any form, or its last four digits; the second phone too."""
    from loupan.customers import selectors

    users, project = demo["users"], demo["main"]
    found = register(users["consultant"], project, "13900012121")
    other = register(users["consultant"], project, "13900034343", phone2="13900056565")
    qs = Customer.objects.filter(project=project)
    assert found.pk in set(selectors.search(qs, text).values_list("pk", flat=True))
    # a second phone is found by its whole number
    for second in ("139 0005 6565", "+8613900056565"):
        assert other.pk in set(selectors.search(qs, second).values_list("pk", flat=True))
    assert not selectors.search(qs, "139 0000 0000 0000").exists()
    # the page, as the consultant types it
    page = web_client(users["consultant"]).get(f"/projects/{project.pk}/customers/", {"q": text})
    assert page.status_code == 200
    assert found.name in page.content.decode()


def _registered_days_ago(customer, days, **fields):
    import datetime

    from django.utils import timezone

    fields["registered_at"] = timezone.now() - datetime.timedelta(days=days)
    Customer.objects.filter(pk=customer.pk).update(**fields)
    customer.refresh_from_db()
    return customer


def test_existing_owners_reads_every_number_500_a_query(demo, django_assert_num_queries):
    """``existing_owners`` (撞单 for a registration or a whole imported file): each given
    number a live customer of the project holds, as phone, second phone or ID number,
    with that customer and its owner; not an anonymized one, not another project's;
    500 numbers a query, none lost at a chunk's edge."""
    from django.utils import timezone

    from loupan.customers.selectors import existing_owners

    project, owner = demo["main"], demo["users"]["consultant"]
    a, b, id_number = _two_registered(project, owner, "+86199123400", ("甲", "乙"), 1)
    gone = make_customer(project, owner, "+8619912340004", "丙")
    Customer.objects.filter(pk=gone.pk).update(anonymized_at=timezone.now())
    _registered_days_ago(make_customer(demo["second"], owner, "+8619912340001", "丁"), 10)
    below = [f"+86198{n:08d}" for n in range(500)]
    above = [f"+86199999{n:05d}" for n in range(600)]
    registered = ["+8619912340001", "+8619912340002", "+8619912340003", "+8619912340004"]
    phones = [*above, *registered, "", *below]  # sorted: A's phone is the 501st number
    with django_assert_num_queries(3):  # the owners (a 撞单 names them) come along
        by_phone, by_id = existing_owners(project, phones=phones, id_numbers=["", id_number])
        assert {c.owner.real_name for c in [*by_phone.values(), *by_id.values()]} == {
            owner.real_name
        }
    assert by_phone == {"+8619912340001": a, "+8619912340002": b, "+8619912340003": b}
    assert by_id == {id_number: b}
    with django_assert_num_queries(0):
        assert existing_owners(project) == ({}, {})


def _two_registered(project, owner, prefix, names, n):
    """Two customers of ``owner``: the first with phone ``prefix``+``n``, registered 3
    days ago; the second with the two phones after it and an ID number, 5 days ago."""
    from loupan.core.identity import id_check_digit

    id_number = "11010519491231002" + id_check_digit("11010519491231002")
    one = _registered_days_ago(make_customer(project, owner, f"{prefix}{n:02d}", names[0]), 3)
    two = _registered_days_ago(
        make_customer(project, owner, f"{prefix}{n + 1:02d}", names[1]),
        5,
        phone2=f"{prefix}{n + 2:02d}",
        id_number=id_number,
    )
    return one, two, id_number


def test_find_existing_answers_the_earliest_registration_besides_the_one_edited(demo):
    """``find_existing``: of the customers holding one of the numbers, the one
    registered first; ``besides`` (the customer being edited) never counts."""
    from loupan.customers.selectors import find_existing

    project, owner = demo["main"], demo["users"]["consultant"]
    later, first, id_number = _two_registered(project, owner, "+86199123400", ("后", "先"), 11)
    assert find_existing(project, phone="+8619912340011", id_number=id_number) == first
    assert find_existing(project, "+8619912340011", id_number, besides=first) == later
    assert find_existing(project, "+8619912340011", besides=later) is None
    assert find_existing(project, id_number=id_number) == first
    assert find_existing(project, phone2="+8619912340013") == first
    assert find_existing(project, phone="+8619912340013") == first
    assert find_existing(project, "+8619912340019") is None
    assert find_existing(demo["second"], "+8619912340011", id_number) is None
