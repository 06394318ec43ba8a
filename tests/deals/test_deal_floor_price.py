"""A deal's floor total (底价总额) reaches only the roles holding unit.view_floor_price
(managers and the director): never a consultant, supervisor, finance, the sales admin or
the auditor — not in a list, a detail, an approval or an action's answer (issue Deals,
after tests/inventory/test_floor_price_everywhere.py)."""

import pytest
from rest_framework.test import APIClient

from loupan.accounts.models import User
from loupan.approvals.models import ApprovalRequest
from loupan.customers import services as customer_services
from loupan.deals.models import Deal, DealDiscount, DealUnit, DiscountType
from loupan.inventory.models import Unit, UnitStatus
from tests.deals.helpers import reviewed

pytestmark = pytest.mark.django_db

ROLES_WITHOUT = ["consultant", "supervisor", "finance", "salesadmin", "auditor"]
ROLES_WITH = ["manager", "director"]
DEALS = "/api/v1/deals/"
APPROVALS = "/api/v1/approvals/"


def client_for(username):
    client = APIClient()
    client.force_authenticate(User.objects.get(username=username))
    return client


def _money(value):
    return {f"{value:.2f}", f"{value:,.2f}"} if value is not None else set()


def floor_secrets(project):
    """The deals' floor totals as they would print, minus any amount the viewer may see
    anyway (a list or deal price that happens to be equal)."""
    floors, visible = set(), set()
    for deal in Deal.objects.filter(project=project):
        floors |= _money(deal.floor_total)
        for value in (
            deal.list_total,
            deal.total,
            deal.discount_amount,
            deal.deposit,
            deal.down_payment,
            deal.unit_price,
        ):
            visible |= _money(value)
    for unit_price, list_price in Unit.objects.filter(project=project).values_list(
        "unit_price", "list_price"
    ):
        visible |= _money(unit_price) | _money(list_price)
    for amount, total_after in DealDiscount.objects.values_list("amount", "total_after"):
        visible |= _money(amount) | _money(total_after)
    for (price,) in DealUnit.objects.values_list("list_price"):
        visible |= _money(price)
    return floors - visible


def _below_floor_deal(demo):
    """A consultant's deal priced below the floor: it waits for the director."""
    project = demo["main"]
    unit = (
        Unit.objects.filter(
            project=project, status=UnitStatus.AVAILABLE, sellable=True, use="residential"
        )
        .exclude(list_price=None)
        .order_by("pk")
        .first()
    )
    Unit.objects.filter(pk=unit.pk).update(floor_price=unit.list_price - 1000)
    customer = customer_services.customer_register(
        actor=User.objects.get(username="consultant"),
        project=project,
        name="底价客户",
        phone="13700006543",
        wanted_layout="B1",
    )
    consultant = client_for("consultant")
    deal = consultant.post(DEALS, {"unit": unit.pk, "customer": customer.pk}, format="json").json()
    special = DiscountType.objects.get(project=project, name="特批")
    response = consultant.post(
        f"{DEALS}{deal['id']}/subscribe/",
        {
            "buyers": [{"customer": customer.pk, "share": "100"}],
            "payment_method": "one_off",
            "deposit": "10000",
            "discounts": [{"discount_type": special.pk, "value": "0.5"}],
            "reason": "老业主",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert '"floor_total"' not in response.content.decode()
    return Deal.objects.get(pk=deal["id"])


def _urls(project):
    urls = [DEALS, f"{DEALS}?project={project.pk}", APPROVALS]
    urls += [
        f"{DEALS}{pk}/" for pk in Deal.objects.filter(project=project).values_list("pk", flat=True)
    ]
    urls += [
        f"{APPROVALS}{pk}/"
        for pk in ApprovalRequest.objects.filter(project=project).values_list("pk", flat=True)
    ]
    urls += [f"{APPROVALS}?mine=pending&project={project.pk}"]
    return urls


@pytest.mark.parametrize("username", ROLES_WITHOUT)
def test_no_deal_response_carries_a_floor_total(demo, username):
    deal = _below_floor_deal(demo)
    assert deal.floor_total is not None and deal.total < deal.floor_total
    request = ApprovalRequest.objects.get(deal=deal)
    assert request.final_level == "director" and request.payload["below_floor"] is True
    secrets = floor_secrets(demo["main"])
    assert secrets
    client = client_for(username)
    seen = 0
    for url in _urls(demo["main"]):
        response = client.get(url)
        if response.status_code != 200:
            assert response.status_code == 404, (url, response.status_code)
            continue
        seen += 1
        text = response.content.decode()
        assert '"floor_total"' not in text and '"floor_price"' not in text, url
        assert not sorted(s for s in secrets if s in text), url
    assert seen >= 4  # a consultant sees their own deals and requests


def test_action_answers_carry_no_floor_total(api, demo):
    """The answers of finance's and the sales admin's actions are stripped too."""
    deal = Deal.objects.filter(project=demo["main"], status="pending").first()
    assert deal.floor_total is not None
    response = api("finance").post(f"{DEALS}{deal.pk}/confirm-deposit/")
    assert response.status_code == 200 and '"floor_total"' not in response.content.decode()
    reviewed(deal)
    response = api("salesadmin").post(f"{DEALS}{deal.pk}/contract/", {}, format="json")
    assert response.status_code == 200 and '"floor_total"' not in response.content.decode()
    response = api("manager").get(f"{DEALS}{deal.pk}/")
    assert response.json()["floor_total"] == f"{deal.floor_total:.2f}"


@pytest.mark.parametrize("username", ROLES_WITH)
def test_managers_and_the_director_see_the_floor_total(demo, username):
    deal = _below_floor_deal(demo)
    client = client_for(username)
    listed = client.get(DEALS, {"project": demo["main"].pk}).json()["results"]
    row = next(r for r in listed if r["id"] == deal.pk)
    assert row["floor_total"] == f"{deal.floor_total:.2f}"
    assert client.get(f"{DEALS}{deal.pk}/").json()["floor_total"] == f"{deal.floor_total:.2f}"
    request = ApprovalRequest.objects.get(deal=deal)
    summary = client.get(f"{APPROVALS}{request.pk}/").json()["deal_summary"]
    assert summary["floor_total"] == f"{deal.floor_total:.2f}"
    assert summary["list_total"] == f"{deal.list_total:.2f}"


def test_a_manager_of_another_project_sees_no_floor_total_here(demo):
    """unit.view_floor_price counts on its own project only: a manager of the second
    project who is a consultant here sees this project's deals as a consultant does."""
    from loupan.accounts.models import Membership, Role

    deal = _below_floor_deal(demo)
    both = User.objects.create_user(
        username="two_hats", password="x", real_name="两顶帽", must_change_password=False
    )
    Membership.objects.create(
        user=both, project=demo["second"], role=Role.objects.get(code="manager")
    )
    Membership.objects.create(
        user=both, project=demo["main"], role=Role.objects.get(code="consultant")
    )
    Deal.objects.filter(pk=deal.pk).update(consultant=both)
    client = client_for("two_hats")
    for url in (f"{DEALS}{deal.pk}/", f"{DEALS}?project={demo['main'].pk}"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert '"floor_total"' not in response.content.decode(), url


def _two_hats(demo):
    """A manager of the second project who is a consultant in the main one."""
    from loupan.accounts.models import Membership, Role

    both = User.objects.create_user(
        username="two_hats_fields", password="x", real_name="两顶帽", must_change_password=False
    )
    for project, role in ((demo["second"], "manager"), (demo["main"], "consultant")):
        Membership.objects.create(user=both, project=project, role=Role.objects.get(code=role))
    return both


def _unit_serializer(user, **kwargs):
    from rest_framework.test import APIRequestFactory

    from loupan.inventory.api.serializers import UnitSerializer

    context = {}
    if user is not None:
        request = APIRequestFactory().get("/")
        request.user = user
        context["request"] = request
    return UnitSerializer(context=context, **kwargs)


def test_the_writable_floor_price_is_accepted_only_from_who_may_see_it_there(demo):
    """``FloorPriceSerializerMixin.get_fields``: the writable ``floor_price`` of a unit
    stays for a manager of its project and is dropped for a consultant, and for a manager
    of another project only; read-only fields are left as they are."""
    unit = Unit.objects.filter(project=demo["main"]).first()
    users = demo["users"]
    fields = _unit_serializer(users["manager"], instance=unit).fields
    assert "floor_price" in fields and not fields["floor_price"].read_only
    assert "status_display" in fields  # read-only: never dropped
    two_hats = _two_hats(demo)
    for viewer in (users["consultant"], two_hats):
        fields = _unit_serializer(viewer, instance=unit).fields
        assert "floor_price" not in fields, viewer
        assert "status_display" in fields and "list_price" in fields
        assert "floor_price" not in _unit_serializer(viewer, instance=unit).data
    # created with the data naming a project: the same rule by that project
    data = {"project": demo["main"].pk}
    assert "floor_price" in _unit_serializer(users["manager"], data=data).fields
    assert "floor_price" not in _unit_serializer(two_hats, data=data).fields


def test_without_a_request_a_serializer_drops_no_floor_price(demo):
    """Internal use (no request in the context): floor prices shown and accepted."""
    unit = Unit.objects.filter(project=demo["main"], floor_price__isnull=False).first()
    serializer = _unit_serializer(None, instance=unit)
    assert "floor_price" in serializer.fields
    assert serializer.data["floor_price"] == f"{unit.floor_price:.2f}"


def test_strip_floor_price_keeps_the_data_of_who_may_see_it_on_that_project(demo):
    """``strip_floor_price`` (an audit entry's changes, a price list's parameters): the
    data as it is for a manager of the project, without its floor-price keys at any depth
    for a consultant there, by the project asked: a manager of the second project who is
    a consultant in the main one sees them there and not here."""
    from loupan.core.masking import strip_floor_price

    main, second = demo["main"], demo["second"]
    data = {
        "name": "一期",
        "floor_price": "9000.00",
        "items": [{"unit": 1, "floor_total": "1.00"}, {"unit": 2}],
    }
    stripped = {"name": "一期", "items": [{"unit": 1}, {"unit": 2}]}
    two_hats = _two_hats(demo)
    assert strip_floor_price(demo["users"]["manager"], main, data) == data
    assert strip_floor_price(demo["users"]["manager"], main.pk, data) == data
    assert strip_floor_price(demo["users"]["consultant"], main, data) == stripped
    assert strip_floor_price(two_hats, main, data) == stripped
    assert strip_floor_price(two_hats, main.pk, data) == stripped
    assert strip_floor_price(two_hats, second, data) == data
    assert data["floor_price"] == "9000.00"  # the caller's data left as it was


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"many": True},
        {"data": {"name": "无项目"}},
        {"data": {"project": ""}},
        {"data": {"project": "不是编号"}},
        {"data": [{"project": 1}], "many": True},
    ],
    ids=["nothing", "a-list", "no-project", "empty-project", "bad-project", "a-list-of-data"],
)
def test_a_serializer_naming_no_project_keeps_the_floor_price_for_who_sees_it_anywhere(
    demo, kwargs
):
    """``FloorPriceSerializerMixin._floor_price_fields_project``: for a list, or when
    nothing names a project, the writable ``floor_price`` is kept for whoever may see
    floor prices on some project (a manager of the second project) and dropped for
    whoever may see them nowhere (a consultant)."""
    if kwargs.get("many") and "data" not in kwargs:
        kwargs = {**kwargs, "instance": list(Unit.objects.filter(project=demo["main"])[:2])}
    for viewer, kept in ((_two_hats(demo), True), (demo["users"]["consultant"], False)):
        serializer = _unit_serializer(viewer, **kwargs)
        fields = serializer.child.fields if kwargs.get("many") else serializer.fields
        assert ("floor_price" in fields) is kept, (viewer, kwargs)
        assert "list_price" in fields
