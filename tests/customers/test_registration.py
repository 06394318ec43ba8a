"""Registration, 撞单, ownership, follow-ups, the pool, reveal and search (issue Customers)."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from loupan.accounts.models import User
from loupan.audit.models import AuditEntry
from loupan.core.errors import DomainError
from loupan.core.identity import id_check_digit
from loupan.customers import selectors, services
from loupan.customers.models import ClaimStatus, Customer, Stage

pytestmark = pytest.mark.django_db

PHONE = "13912340001"


def user(name):
    return User.objects.get(username=name)


def register(username="consultant", phone=PHONE, name="张三", layout="B1", **kw):
    from loupan.inventory.models import Project

    return services.customer_register(
        actor=user(username),
        project=Project.objects.get(code="CHW"),
        name=name,
        phone=phone,
        wanted_layout=layout,
        **kw,
    )


@pytest.mark.parametrize("missing", ["name", "phone", "wanted_layout"])
def test_registration_needs_name_phone_and_layout(demo, missing):
    args = {"name": "张三", "phone": PHONE, "layout": "B1"}
    args["layout" if missing == "wanted_layout" else missing] = ""
    with pytest.raises(DomainError) as exc:
        register(**args)
    assert exc.value.code == "invalid" and missing in exc.value.fields


def test_registration_stores_the_normalized_number_and_owns_the_customer(demo):
    customer = register(phone="139 1234 0001")
    assert customer.phone == "+8613912340001" and customer.phone_tail == "0001"
    assert customer.owner == user("consultant") and customer.name_initials == "zs"
    assert customer.visits.count() == 1 and customer.stage == Stage.POTENTIAL
    assert customer.ownership_expires_at > timezone.now() + datetime.timedelta(days=29)
    assert AuditEntry.objects.filter(
        object_type="customers.customer", object_id=str(customer.pk)
    ).exists()


def test_second_registration_of_a_number_creates_nothing_and_names_the_owner(demo):
    register()
    before = Customer.objects.count()
    with pytest.raises(services.CustomerExists) as exc:
        register(username="consultant2", phone="+86 139-1234-0001", name="张先生")
    assert exc.value.code == "customer_exists" and exc.value.status == 409
    assert "李顾问" in exc.value.message
    assert exc.value.as_dict()["customer"]["owner"] == "李顾问"
    assert PHONE not in str(exc.value.as_dict())
    assert Customer.objects.count() == before


def test_id_number_needs_consent_and_is_checked(demo):
    body = "51010719900307123"
    number = body + id_check_digit(body)
    with pytest.raises(DomainError) as exc:
        register(id_number=number)
    assert "consent" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        register(id_number=body + ("0" if number[-1] != "0" else "1"), consent=True)
    assert "id_number" in exc.value.fields
    customer = register(id_number=number, consent=True)
    assert customer.birth_date == datetime.date(1990, 3, 7) and customer.consent_version
    with pytest.raises(services.CustomerExists):
        register(username="consultant2", phone="13912340002", id_number=number, consent=True)


def test_the_second_phone_of_a_live_customer_is_registered_already(demo):
    first = register(data={"phone2": "13912340002"})
    with pytest.raises(services.CustomerExists) as exc:
        register(username="consultant2", phone="13912340002", name="张太太")
    assert exc.value.code == "customer_exists" and exc.value.customer == first


def test_one_rule_answers_for_one_number_and_for_many(demo):
    project = register().project
    second = register(phone="13912340005", data={"phone2": "13912340006"})
    by_phone, by_id = selectors.existing_owners(
        project, phones=["+8613912340001", "+8613912340006", "+8613900000000", ""]
    )
    assert set(by_phone) == {"+8613912340001", "+8613912340006"} and by_id == {}
    assert by_phone["+8613912340006"] == second
    assert selectors.find_existing(project, phone="+8613912340006") == second
    assert selectors.find_existing(project) is None
    assert selectors.existing_owners(project) == ({}, {})


def test_companions_are_written_with_the_first_visit(demo):
    customer = register(companions=" 妻子、岳母 ")
    visit = customer.visits.get()
    assert visit.is_first and visit.companions == "妻子、岳母"


def test_a_refused_registration_writes_no_visit_and_no_companions(demo):
    from loupan.customers.models import Visit

    register()
    visits, customers = Visit.objects.count(), Customer.objects.count()
    with pytest.raises(services.CustomerExists):
        register(username="consultant2", name="张先生", companions="妻子")
    with pytest.raises(DomainError) as exc:
        register(phone="13912340007", companions="同" * 101)
    assert exc.value.code == "invalid" and "companions" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        register(phone="13912340008", companions="妻子", visited=False)
    assert exc.value.code == "invalid" and "companions" in exc.value.fields
    assert (Visit.objects.count(), Customer.objects.count()) == (visits, customers)


def test_only_the_owner_follows_up_and_it_renews_ownership(demo):
    customer = register()
    Customer.objects.filter(pk=customer.pk).update(
        ownership_expires_at=timezone.now() + datetime.timedelta(days=1)
    )
    customer.refresh_from_db()
    with pytest.raises(DomainError) as exc:
        services.follow_up_add(
            actor=user("consultant2"), customer=customer, way="phone", content="x"
        )
    assert exc.value.code == "permission_denied"
    services.follow_up_add(
        actor=user("consultant"),
        customer=customer,
        way="visit",
        content="带看样板间",
        next_date=timezone.localdate() + datetime.timedelta(days=3),
    )
    customer.refresh_from_db()
    assert customer.ownership_expires_at > timezone.now() + datetime.timedelta(days=29)
    assert customer.ownership_expires_at == services.ownership_expiry(customer.last_follow_up_at)
    assert customer.stage == Stage.INTENT
    with pytest.raises(DomainError) as exc:
        services.follow_up_add(actor=user("consultant"), customer=customer, way="phone", content="")
    assert "content" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        services.follow_up_add(
            actor=user("consultant"),
            customer=customer,
            way="phone",
            content="x",
            next_date=timezone.localdate() - datetime.timedelta(days=1),
        )
    assert "next_date" in exc.value.fields


def test_claim_goes_to_the_supervisor_and_defaults_to_the_earlier_registration(demo):
    customer = register()
    claim = services.claim_create(actor=user("consultant2"), customer=customer, reason="我先接待")
    with pytest.raises(DomainError) as exc:
        services.claim_create(actor=user("consultant2"), customer=customer)
    assert exc.value.code == "claim_exists" and exc.value.status == 409
    with pytest.raises(DomainError) as exc:
        services.claim_decide(actor=user("consultant"), claim=claim, grant=True, reason="x")
    assert exc.value.code == "permission_denied"
    with pytest.raises(DomainError) as exc:
        services.claim_decide(actor=user("supervisor"), claim=claim, grant=True, reason="")
    assert "reason" in exc.value.fields
    services.claim_decide(
        actor=user("supervisor"), claim=claim, grant=True, reason="首次接待记录在册"
    )
    customer.refresh_from_db()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.GRANTED and customer.owner == user("consultant2")
    entry = AuditEntry.objects.filter(
        object_type="customers.customer", object_id=str(customer.pk), action="update"
    ).last()
    assert entry.changes["owner_id"] == [user("consultant").pk, user("consultant2").pk]
    assert entry.extra["reason"].startswith("撞单裁定")
    with pytest.raises(DomainError) as exc:
        services.claim_decide(actor=user("supervisor"), claim=claim, grant=False, reason="再议")
    assert exc.value.code == "claim_decided" and exc.value.status == 409


def test_consultants_cannot_reassign(demo):
    customer = register()
    with pytest.raises(DomainError) as exc:
        services.customer_assign(
            actor=user("consultant"), customer=customer, to_user=user("consultant2"), reason="x"
        )
    assert exc.value.code == "permission_denied"


def test_expired_customers_go_to_the_pool_and_can_be_taken_once(demo):
    customer = register()
    Customer.objects.filter(pk=customer.pk).update(
        ownership_expires_at=timezone.now() - datetime.timedelta(hours=1)
    )
    assert services.pool_expire() >= 1
    customer.refresh_from_db()
    assert customer.in_pool and customer.owner is None
    taken = services.pool_take(actor=user("consultant2"), customer=customer)
    assert taken.owner == user("consultant2") and not taken.in_pool
    with pytest.raises(DomainError) as exc:
        services.pool_take(actor=user("consultant"), customer=customer)
    assert exc.value.code == "conflict"


def test_a_consultant_sees_own_customers_and_the_pool_only(demo):
    mine = register()
    theirs = register(username="consultant2", phone="13912340003", name="李四")
    project = mine.project
    visible = set(
        selectors.customer_list(user=user("consultant"), project=project).values_list(
            "pk", flat=True
        )
    )
    assert mine.pk in visible and theirs.pk not in visible
    assert theirs.pk in set(
        selectors.customer_list(user=user("supervisor"), project=project).values_list(
            "pk", flat=True
        )
    )


def test_numbers_are_masked_for_all_but_the_owner_and_reveal_is_audited(demo):
    customer = register()
    assert selectors.contact(user("consultant"), customer)["phone"] == PHONE
    masked = selectors.contact(user("supervisor"), customer)
    assert masked["phone"] == "139****0001" and masked["can_reveal"]
    with pytest.raises(DomainError):
        services.customer_reveal(actor=user("finance"), customer=customer)
    revealed = services.customer_reveal(actor=user("supervisor"), customer=customer)
    assert revealed["phone"] == PHONE
    assert AuditEntry.objects.filter(
        action="reveal", object_id=str(customer.pk), actor_username="supervisor"
    ).exists()


def test_search_by_initials_and_phone_tail(demo):
    customer = register(name="欧阳娜娜", phone="13912345678")
    qs = selectors.customer_list(user=user("consultant"), project=customer.project)
    assert customer in selectors.search(qs, "oy")
    assert customer in selectors.search(qs, "5678")
    assert customer not in selectors.search(qs, "1111")
    assert customer in selectors.search(qs, "娜娜")


def test_household_links_family_members(demo):
    a = register()
    b = register(phone="13912340009", name="张太太")
    household = services.household_link(actor=user("supervisor"), customers=[a, b])
    assert set(household.members.all()) == {a, b}
    with pytest.raises(DomainError):
        services.household_link(actor=user("consultant"), customers=[a, b])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_consultants_registering_one_number_at_once_yield_one_customer(demo):
    assert connection.vendor == "postgresql"
    barrier = threading.Barrier(2)
    results = []

    def worker(username):
        try:
            barrier.wait()
            register(username=username, phone="13912349999")
            results.append("ok")
        except services.CustomerExists:
            results.append("exists")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(name,)) for name in ("consultant", "consultant2")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["exists", "ok"]
    assert Customer.objects.filter(phone="+8613912349999").count() == 1
