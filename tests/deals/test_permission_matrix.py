"""The reusable access checks (tests/testing.py) applied to the deals app: deals, deal
changes (read-only) and discount types, pages and API. A consultant sees only their own
deals and the changes of their own deals (``OwnObjectsMixin``)."""

from django.utils import timezone

from loupan.deals.models import ChangeKind, Deal, DealChange, DealStatus, DiscountType
from loupan.inventory.models import Unit, UnitStatus
from tests import other_project
from tests.testing import (
    APIAccessCase,
    Endpoint,
    Objects,
    OwnObjectsMixin,
    ReadOnlyAPIMixin,
    UIAccessCase,
)


def _changed(obj, **values):
    def check(response):
        fresh = type(obj)._base_manager.get(pk=obj.pk)
        for name, value in values.items():
            assert getattr(fresh, name) == value, (name, getattr(fresh, name))

    return check


def _free_unit(project, offset=0):
    return (
        Unit.objects.filter(
            project=project, status=UnitStatus.AVAILABLE, sellable=True, attached_to=None
        )
        .exclude(list_price=None)
        .order_by("pk")[offset]
    )


def _reserved_deal(demo):
    """A reservation of the demo consultant in the main project."""
    return (
        Deal.objects.filter(
            project=demo["main"],
            status=DealStatus.RESERVED,
            consultant=demo["users"]["consultant"],
        )
        .order_by("pk")
        .first()
    )


# --- Deal -----------------------------------------------------------------------------


class _DealCase(OwnObjectsMixin):
    # A manager reserves for any customer (customer.assign) and releases; finance sees
    # every deal (to confirm deposits) but reserves and releases none.
    permitted_role = "manager"
    unpermitted_role = "finance"

    def objects(self, demo):
        deal = _reserved_deal(demo)
        return Objects(
            obj=deal,
            foreign=other_project.deal(),
            project=demo["main"],
            other=demo["second"],
            extra={"unit": _free_unit(demo["main"]), "customer": deal.customer},
        )

    def own_object(self, objs, user):
        return other_project.deal(
            project=objs.project, consultant=user, unit_=_free_unit(objs.project, 5)
        )

    def list_text(self, obj):
        return obj.reservation_number


class TestDealPages(_DealCase, UIAccessCase):
    def endpoints(self, objs):
        deal, p = objs.obj, objs.project.pk
        base = f"/projects/{p}/deals/"
        unit = objs.extra["unit"]
        return [
            Endpoint("list", "get", base),
            Endpoint("detail", "get", f"{base}{deal.pk}/"),
            Endpoint("detail", "get", f"{base}{deal.pk}/slip/"),
            Endpoint("create_form", "get", f"{base}reserve/?unit={unit.pk}"),
            Endpoint(
                "create",
                "post",
                f"{base}reserve/",
                {"unit": unit.pk, "customer": objs.extra["customer"].pk, "note": ""},
                ok=(302,),
                check=lambda r: Deal.objects.filter(unit=unit, status="reserved").exists(),
            ),
            Endpoint(
                "release",
                "post",
                f"{base}{deal.pk}/release/",
                {"reason": "测试撤销"},
                ok=(302,),
                check=_changed(deal, status=DealStatus.RELEASED),
            ),
        ]


class TestDealPagesWithoutDealView(TestDealPages):
    """Planning holds no deal permission: the deals are not there for it."""

    unpermitted_role = "planner"
    unpermitted_reads = False


class TestDealAPI(_DealCase, APIAccessCase):
    def endpoints(self, objs):
        deal = objs.obj
        unit = objs.extra["unit"]
        return [
            Endpoint("list", "get", "/api/v1/deals/", scoped=False),
            Endpoint("detail", "get", f"/api/v1/deals/{deal.pk}/"),
            Endpoint(
                "create",
                "post",
                "/api/v1/deals/",
                {"unit": unit.pk, "customer": objs.extra["customer"].pk},
                ok=(201,),
                scoped=False,
                check=lambda r: Deal.objects.filter(unit=unit, status="reserved").exists(),
            ),
            Endpoint(
                "release",
                "post",
                f"/api/v1/deals/{deal.pk}/release/",
                {"reason": "测试撤销"},
                check=_changed(deal, status=DealStatus.RELEASED),
            ),
        ]


class TestDealAPIWithoutDealView(TestDealAPI):
    unpermitted_role = "planner"
    unpermitted_reads = False


# --- DealChange (read-only) -----------------------------------------------------------


def _change(deal):
    request = other_project.approval_request(deal, status="approved")
    return DealChange.objects.create(
        project=deal.project,
        deal=deal,
        request=request,
        kind=ChangeKind.RENAME,
        before={"buyers": ["甲"]},
        after={"buyers": ["乙"]},
        at=timezone.now(),
    )


class _DealChangeCase(OwnObjectsMixin):
    permitted_role = "manager"
    unpermitted_role = "finance"

    def objects(self, demo):
        return Objects(
            obj=_change(_reserved_deal(demo)),
            foreign=_change(other_project.deal()),
            project=demo["main"],
            other=demo["second"],
        )

    def own_object(self, objs, user):
        deal = other_project.deal(
            project=objs.project, consultant=user, unit_=_free_unit(objs.project, 5)
        )
        return _change(deal)


class TestDealChangeAPI(_DealChangeCase, ReadOnlyAPIMixin, APIAccessCase):
    def endpoints(self, objs):
        return [
            Endpoint("list", "get", "/api/v1/deal-changes/", scoped=False),
            Endpoint("detail", "get", f"/api/v1/deal-changes/{objs.obj.pk}/"),
        ]

    def read_only_urls(self, objs):
        return "/api/v1/deal-changes/", f"/api/v1/deal-changes/{objs.obj.pk}/"


class TestDealChangeAPIWithoutDealView(TestDealChangeAPI):
    unpermitted_role = "planner"
    unpermitted_reads = False


class TestDealChangePages(_DealChangeCase, UIAccessCase):
    """The 客户换房、退房一览表 lists the changes."""

    def endpoints(self, objs):
        return [Endpoint("list", "get", f"/projects/{objs.project.pk}/deals/changes/")]


class TestDealChangePagesWithoutDealView(TestDealChangePages):
    unpermitted_role = "planner"
    unpermitted_reads = False


# --- DiscountType ---------------------------------------------------------------------


class _DiscountTypeCase:
    # The manager configures the deal settings (deal.configure); finance does not.
    permitted_role = "manager"
    unpermitted_role = "finance"

    def objects(self, demo):
        foreign = DiscountType.objects.create(
            project=demo["second"], name="测试优惠", kind="percent", value=1
        )
        obj = DiscountType.objects.filter(project=demo["main"]).order_by("pk").first()
        return Objects(obj=obj, foreign=foreign, project=demo["main"], other=demo["second"])


class TestDiscountTypePages(_DiscountTypeCase, UIAccessCase):
    unpermitted_reads = False  # the settings page is deal.configure's

    def endpoints(self, objs):
        dt, p = objs.obj, objs.project.pk
        base = f"/projects/{p}/deal-settings/"
        return [
            Endpoint("list", "get", base),
            Endpoint("create_form", "get", f"{base}discount-types/add/"),
            Endpoint(
                "create",
                "post",
                f"{base}discount-types/add/",
                {"name": "测试新优惠", "kind": "percent", "value": "0.5", "sort_order": 9},
                ok=(302,),
                check=lambda r: DiscountType.objects.filter(
                    project_id=p, name="测试新优惠"
                ).exists(),
            ),
            Endpoint("edit_form", "get", f"{base}discount-types/{dt.pk}/"),
            Endpoint(
                "edit",
                "post",
                f"{base}discount-types/{dt.pk}/",
                {"name": dt.name, "kind": dt.kind, "value": str(dt.value), "sort_order": 42},
                ok=(302,),
                check=_changed(dt, sort_order=42),
            ),
            Endpoint(
                "deactivate",
                "post",
                f"{base}discount-types/{dt.pk}/active/",
                {"active": "0"},
                ok=(302,),
                check=_changed(dt, is_active=False),
            ),
        ]


class TestDiscountTypeAPI(_DiscountTypeCase, ReadOnlyAPIMixin, APIAccessCase):
    # Whoever makes or sees deals reads the discount types (to build a subscription).
    unpermitted_role = "planner"
    unpermitted_reads = False

    def endpoints(self, objs):
        return [
            Endpoint("list", "get", "/api/v1/discount-types/", scoped=False),
            Endpoint("detail", "get", f"/api/v1/discount-types/{objs.obj.pk}/"),
        ]

    def read_only_urls(self, objs):
        return "/api/v1/discount-types/", f"/api/v1/discount-types/{objs.obj.pk}/"
