"""Shared helpers of the deals tests: the demo users and project, a free unit, a fresh
customer of a consultant."""

from loupan.accounts.models import User
from loupan.customers import services as customer_services
from loupan.inventory.models import Project, Unit, UnitStatus


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
    return customer_services.customer_register(
        actor=user(username),
        project=where or project(),
        name=name,
        phone=phone,
        wanted_layout="B1",
    )
