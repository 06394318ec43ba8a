"""Shared helpers of the deals tests: the demo users and project, a free unit, a fresh
customer of a consultant, a subscribed deal, the page URLs and a logged-in client."""

from loupan.accounts.models import User
from loupan.customers import services as customer_services
from loupan.inventory.models import Project, Unit, UnitStatus
from tests.testing import web_client


def user(name):
    return User.objects.get(username=name)


def project():
    return Project.objects.get(code="CHW")


def free_unit(offset=0):
    """The ``offset``-th available, sellable, priced home of the main project."""
    return (
        Unit.objects.filter(
            project=project(), status=UnitStatus.AVAILABLE, sellable=True, use="residential"
        )
        .exclude(list_price=None)
        .order_by("pk")[offset]
    )


def customer_of(username="consultant", phone="13700001111", name="买房人", where=None):
    where = where or project()
    # 意向户型: the main project's B1; a project without layouts takes 其他 in words
    has_b1 = where.layouts.filter(name="B1").exists()
    return customer_services.customer_register(
        actor=user(username),
        project=where,
        name=name,
        phone=phone,
        wanted_layout="B1" if has_b1 else "other",
        wanted_layout_other="" if has_b1 else "三室",
    )


def subscribed(offset=0, phone="13700002222", contract=False, deposit="50000"):
    """A deal whose deposit finance has confirmed (and signed, with ``contract``)."""
    from loupan.deals import services

    buyer = customer_of(phone=phone)
    deal = services.deal_reserve(actor=user("consultant"), unit=free_unit(offset), customer=buyer)
    deal = services.deal_subscribe(
        actor=user("consultant"),
        deal=deal,
        buyers=[(buyer, "100")],
        payment_method="commercial",
        deposit=deposit,
    )
    deal = services.deal_confirm_deposit(actor=user("finance"), deal=deal)
    if contract:
        deal = sign(deal)
    return deal


def subscribed_by_two(unit, first, second, payment_method="commercial"):
    """A deal of ``unit`` subscribed by ``first`` (60%) and ``second`` (40%), by the
    consultant, its deposit confirmed by finance (the archive's two lines of one deal)."""
    from loupan.deals import services

    consultant = user("consultant")
    deal = services.deal_reserve(actor=consultant, unit=unit, customer=first)
    deal = services.deal_subscribe(
        actor=consultant,
        deal=deal,
        buyers=[(first, "60"), (second, "40")],
        payment_method=payment_method,
        deposit="50000",
    )
    return services.deal_confirm_deposit(actor=user("finance"), deal=deal)


def reviewed(deal):
    """The contract submitted by the contract desk and approved by finance (计财部审核)."""
    from loupan.approvals import services as approvals
    from loupan.deals import contracts

    deal.refresh_from_db()
    request = contracts.contract_submit_review(actor=user("salesadmin"), deal=deal)
    approvals.approval_decide(actor=user("finance"), request=request, approve=True)
    return deal


def sign(deal, actor="salesadmin", **terms):
    """签约 after finance's review."""
    from loupan.deals import services

    return services.deal_contract(actor=user(actor), deal=reviewed(deal), **terms)


def base():
    return f"/projects/{project().pk}/"


def deal_url(deal, tail=""):
    return f"{base()}deals/{deal.pk}/{tail}"


def client_of(name):
    return web_client(user(name))
