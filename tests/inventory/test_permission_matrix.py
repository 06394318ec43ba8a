"""The reusable access checks (tests/testing.py) applied to the inventory's units,
buildings, layouts and price lists, pages and API: refused without the permission,
working with it, not found in another project."""

from decimal import Decimal

from loupan.inventory.models import (
    Building,
    Layout,
    PriceList,
    PriceListItem,
    PriceListStatus,
    Unit,
    UnitStatus,
)
from loupan.inventory.services import UNIT_FIELDS
from tests import other_project
from tests.testing import (
    APIAccessCase,
    Endpoint,
    Objects,
    UIAccessCase,
    api_client,
    assert_error,
    form_data,
    make_user,
    web_client,
)

# the unit form edits every unit field but the building it stands in
UNIT_FORM_FIELDS = [f for f in UNIT_FIELDS if f != "building"]
BUILDING_FORM_FIELDS = [
    "phase",
    "name",
    "floors_above",
    "floors_below",
    "stairs",
    "units_per_floor",
    "has_elevator",
    "permit",
    "sort_order",
]


def second_building(demo, name="测试1栋"):
    """A building with one unit in the second demo project (which has none)."""
    building = other_project.building(name)
    return building, other_project.unit(building)


def free_unit(project):
    """An available unit of the project with no deal and nothing attached."""
    return (
        Unit.objects.filter(project=project, status=UnitStatus.AVAILABLE, attached_to=None)
        .exclude(list_price=None)
        .order_by("pk")
        .first()
    )


def _changed(obj, **values):
    def check(response):
        fresh = type(obj)._base_manager.get(pk=obj.pk)
        for name, value in values.items():
            assert getattr(fresh, name) == value, (name, getattr(fresh, name))

    return check


def _exists(model, **lookup):
    def check(response):
        assert model._base_manager.filter(**lookup).exists(), lookup

    return check


# --- Unit ---------------------------------------------------------------------------


class _UnitCase:
    # Planning edits units; finance sees the board and the units but edits nothing.
    permitted_role = "planner"
    unpermitted_role = "finance"

    def objects(self, demo):
        _building, foreign = second_building(demo)
        unit = free_unit(demo["main"])
        return Objects(obj=unit, foreign=foreign, project=demo["main"], other=demo["second"])


class TestUnitPages(_UnitCase, UIAccessCase):
    def endpoints(self, objs):
        unit, p = objs.obj, objs.project.pk
        return [
            Endpoint("list", "get", f"/projects/{p}/units/"),
            Endpoint("detail", "get", f"/projects/{p}/units/{unit.pk}/"),
            Endpoint("detail", "get", f"/projects/{p}/units/{unit.pk}/card/"),
            Endpoint("edit_form", "get", f"/projects/{p}/units/{unit.pk}/edit/"),
            Endpoint(
                "edit",
                "post",
                f"/projects/{p}/units/{unit.pk}/edit/",
                form_data(unit, UNIT_FORM_FIELDS, view="测试景观"),
                ok=(302,),
                check=_changed(unit, view="测试景观"),
            ),
        ]


class TestUnitPagesWithoutUnitView(TestUnitPages):
    """Customer service holds no ``unit.view``: the units are not there for it (404)."""

    unpermitted_role = "service"
    unpermitted_reads = False


class TestUnitAPI(_UnitCase, APIAccessCase):
    def endpoints(self, objs):
        unit = objs.obj
        return [
            Endpoint("list", "get", "/api/v1/units/", scoped=False),
            Endpoint("detail", "get", f"/api/v1/units/{unit.pk}/"),
            Endpoint(
                "create",
                "post",
                "/api/v1/units/",
                {
                    "project": objs.project.pk,
                    "building": unit.building_id,
                    "floor": 99,
                    "room": "01",
                    "gross_area": "88.00",
                },
                ok=(201,),
                scoped=False,
                check=_exists(Unit, building_id=unit.building_id, floor=99, room="01"),
            ),
            Endpoint(
                "edit",
                "patch",
                f"/api/v1/units/{unit.pk}/",
                {"view": "测试景观"},
                check=_changed(unit, view="测试景观"),
            ),
        ]


class TestUnitAPIWithoutUnitView(TestUnitAPI):
    unpermitted_role = "service"
    unpermitted_reads = False

    def assert_refused_write(self, response, endpoint):
        if endpoint.action == "create":
            # The building it names is not there for a role without unit.view.
            assert_error(response, 400, "invalid", fields=["building"])
        else:
            super().assert_refused_write(response, endpoint)


# --- Building -----------------------------------------------------------------------


class _BuildingCase:
    permitted_role = "planner"
    unpermitted_role = "finance"

    def objects(self, demo):
        foreign, _unit = second_building(demo)
        building = Building.objects.filter(project=demo["main"]).order_by("pk").first()
        return Objects(
            obj=building,
            foreign=foreign,
            project=demo["main"],
            other=demo["second"],
            list_marker=building.name,
        )


class TestBuildingPages(_BuildingCase, UIAccessCase):
    def endpoints(self, objs):
        building, p = objs.obj, objs.project.pk
        return [
            Endpoint("list", "get", f"/projects/{p}/buildings/"),
            Endpoint("create_form", "get", f"/projects/{p}/buildings/new/"),
            Endpoint(
                "create",
                "post",
                f"/projects/{p}/buildings/new/",
                {
                    "name": "测试新楼",
                    "floors_above": 3,
                    "floors_below": 0,
                    "stairs": 1,
                    "units_per_floor": 2,
                    "sort_order": 0,
                },
                ok=(302,),
                check=_exists(Building, project_id=p, name="测试新楼"),
            ),
            Endpoint("edit_form", "get", f"/projects/{p}/buildings/{building.pk}/edit/"),
            Endpoint(
                "edit",
                "post",
                f"/projects/{p}/buildings/{building.pk}/edit/",
                form_data(building, BUILDING_FORM_FIELDS, sort_order=42),
                ok=(302,),
                check=_changed(building, sort_order=42),
            ),
            Endpoint("generate_form", "get", f"/projects/{p}/buildings/{building.pk}/generate/"),
        ]


class TestBuildingAPI(_BuildingCase, APIAccessCase):
    def endpoints(self, objs):
        building = objs.obj
        return [
            Endpoint("list", "get", "/api/v1/buildings/", scoped=False),
            Endpoint("detail", "get", f"/api/v1/buildings/{building.pk}/"),
            Endpoint(
                "create",
                "post",
                "/api/v1/buildings/",
                {"project": objs.project.pk, "name": "测试新楼", "floors_above": 3},
                ok=(201,),
                scoped=False,
                check=_exists(Building, project=objs.project, name="测试新楼"),
            ),
            Endpoint(
                "edit",
                "patch",
                f"/api/v1/buildings/{building.pk}/",
                {"sort_order": 42},
                check=_changed(building, sort_order=42),
            ),
        ]


class TestBuildingAPIWithoutUnitView(TestBuildingAPI):
    unpermitted_role = "service"
    unpermitted_reads = False


# --- Layout -------------------------------------------------------------------------


class _LayoutCase:
    permitted_role = "planner"
    unpermitted_role = "finance"

    def objects(self, demo):
        foreign = Layout.objects.create(project=demo["second"], name="测试户型")
        return Objects(
            obj=Layout.objects.filter(project=demo["main"]).order_by("pk").first(),
            foreign=foreign,
            project=demo["main"],
            other=demo["second"],
        )


class TestLayoutPages(_LayoutCase, UIAccessCase):
    def endpoints(self, objs):
        layout, p = objs.obj, objs.project.pk
        return [
            Endpoint("create_form", "get", f"/projects/{p}/layouts/new/"),
            Endpoint(
                "create",
                "post",
                f"/projects/{p}/layouts/new/",
                {"name": "测试户型X", "rooms": 2, "halls": 1, "baths": 1},
                ok=(302,),
                check=_exists(Layout, project_id=p, name="测试户型X"),
            ),
            Endpoint("edit_form", "get", f"/projects/{p}/layouts/{layout.pk}/edit/"),
            Endpoint(
                "edit",
                "post",
                f"/projects/{p}/layouts/{layout.pk}/edit/",
                form_data(layout, ["name", "rooms", "halls", "baths", "note"], note="测试说明"),
                ok=(302,),
                check=_changed(layout, note="测试说明"),
            ),
        ]


class TestLayoutAPI(_LayoutCase, APIAccessCase):
    def endpoints(self, objs):
        layout = objs.obj
        return [
            Endpoint("list", "get", "/api/v1/layouts/", scoped=False),
            Endpoint("detail", "get", f"/api/v1/layouts/{layout.pk}/"),
            Endpoint(
                "create",
                "post",
                "/api/v1/layouts/",
                {"project": objs.project.pk, "name": "测试户型X", "rooms": 2},
                ok=(201,),
                scoped=False,
                check=_exists(Layout, project=objs.project, name="测试户型X"),
            ),
            Endpoint(
                "edit",
                "patch",
                f"/api/v1/layouts/{layout.pk}/",
                {"note": "测试说明"},
                check=_changed(layout, note="测试说明"),
            ),
        ]


# --- PriceList ------------------------------------------------------------------------


def _draft(project, planner, version=99):
    """A draft price list of one unit (submittable)."""
    price_list = PriceList.objects.create(
        project=project, version=version, name=f"测试方案{version}", created_by=planner
    )
    unit = free_unit(project)
    if unit is not None:
        PriceListItem.objects.create(
            price_list=price_list,
            unit=unit,
            unit_price=Decimal("10000.00"),
            list_price=(unit.list_price or Decimal("1000000")) + Decimal("100.00"),
            old_list_price=unit.list_price,
        )
    return price_list


class _PriceListCase:
    # Planning drafts and submits; the sales admin reads price lists but drafts none.
    permitted_role = "planner"
    unpermitted_role = "sales_admin"

    def objects(self, demo):
        planner = demo["users"]["planner"]
        _building, _unit = second_building(demo)
        return Objects(
            obj=_draft(demo["main"], planner),
            foreign=_draft(demo["second"], planner, version=1),
            project=demo["main"],
            other=demo["second"],
            list_marker="测试方案99",
        )


class TestPriceListPages(_PriceListCase, UIAccessCase):
    def endpoints(self, objs):
        pl, p = objs.obj, objs.project.pk
        return [
            Endpoint("list", "get", f"/projects/{p}/pricelists/"),
            Endpoint("detail", "get", f"/projects/{p}/pricelists/{pl.pk}/"),
            Endpoint("create_form", "get", f"/projects/{p}/pricelists/new/"),
            Endpoint("adjust_form", "get", f"/projects/{p}/pricelists/adjust/"),
            Endpoint(
                "submit",
                "post",
                f"/projects/{p}/pricelists/{pl.pk}/submit/",
                {},
                ok=(302,),
                check=_changed(pl, status=PriceListStatus.SUBMITTED),
            ),
        ]


class TestPriceListPagesWithoutPricelistView(TestPriceListPages):
    """Finance holds no ``pricelist.view``: price lists are not there for it."""

    unpermitted_role = "finance"
    unpermitted_reads = False


class TestPriceListAPI(_PriceListCase, APIAccessCase):
    def endpoints(self, objs):
        pl = objs.obj
        return [
            Endpoint("list", "get", "/api/v1/price-lists/", scoped=False),
            Endpoint("detail", "get", f"/api/v1/price-lists/{pl.pk}/"),
            Endpoint("detail", "get", f"/api/v1/price-lists/{pl.pk}/items/"),
            Endpoint(
                "submit",
                "post",
                f"/api/v1/price-lists/{pl.pk}/submit/",
                check=_changed(pl, status=PriceListStatus.SUBMITTED),
            ),
        ]


class TestPriceListAPIWithoutPricelistView(TestPriceListAPI):
    unpermitted_role = "finance"
    unpermitted_reads = False


# --- a layout of another project ------------------------------------------------------


def _generate_with_foreign_layout(demo):
    main = demo["main"]
    planner = make_user(None, (main, "planner"))
    foreign = Layout.objects.create(project=demo["second"], name="乙项目户型")
    building = Building.objects.create(project=main, name="测试生成楼", floors_above=1)
    return planner, foreign, building


def test_generate_page_refuses_a_layout_of_another_project(demo):
    """The page's position form offers the project's layouts only."""
    planner, foreign, building = _generate_with_foreign_layout(demo)
    p = demo["main"].pk
    response = web_client(planner).post(
        f"/projects/{p}/buildings/{building.pk}/generate/",
        {
            "pos-TOTAL_FORMS": "1",
            "pos-INITIAL_FORMS": "0",
            "pos-MIN_NUM_FORMS": "1",
            "pos-MAX_NUM_FORMS": "1000",
            "pos-0-layout": foreign.pk,
            "pos-0-gross_area": "90",
            "pos-0-use": "residential",
            "floor_from": 1,
            "floor_to": 1,
        },
    )
    assert response.status_code == 200  # the form again, with the reason
    assert not Unit.objects.filter(building=building).exists()


def test_generate_api_refuses_a_layout_of_another_project(demo):
    planner, foreign, building = _generate_with_foreign_layout(demo)
    response = api_client(planner).post(
        f"/api/v1/buildings/{building.pk}/generate/",
        {"positions": [{"layout": foreign.pk, "gross_area": "90.00"}]},
        format="json",
    )
    assert response.status_code in (400, 404), response.status_code
    assert response.json()["code"] in ("invalid", "not_found")
    assert not Unit.objects.filter(building=building).exists()


# --- Phase --------------------------------------------------------------------------


class TestPhaseAPI(APIAccessCase):
    permitted_role = "planner"
    unpermitted_role = "finance"

    def objects(self, demo):
        from loupan.inventory.models import Phase

        return Objects(
            obj=Phase.objects.filter(project=demo["main"]).order_by("pk").first(),
            foreign=Phase.objects.create(project=demo["second"], name="测试一期"),
            project=demo["main"],
            other=demo["second"],
        )

    def endpoints(self, objs):
        from loupan.inventory.models import Phase

        phase = objs.obj
        return [
            Endpoint("list", "get", "/api/v1/phases/", scoped=False),
            Endpoint("detail", "get", f"/api/v1/phases/{phase.pk}/"),
            Endpoint(
                "create",
                "post",
                "/api/v1/phases/",
                {"project": objs.project.pk, "name": "测试三期"},
                ok=(201,),
                scoped=False,
                check=_exists(Phase, project=objs.project, name="测试三期"),
            ),
            Endpoint(
                "edit",
                "patch",
                f"/api/v1/phases/{phase.pk}/",
                {"sort_order": 42},
                check=_changed(phase, sort_order=42),
            ),
        ]


# --- ReleasePlan ----------------------------------------------------------------------


def _release_plan(project, unit, name):
    from django.utils import timezone

    from loupan.inventory.models import ReleasePlan

    plan = ReleasePlan.objects.create(
        project=project, name=name, release_at=timezone.now() + timezone.timedelta(days=7)
    )
    plan.units.add(unit)
    return plan


class _ReleasePlanCase:
    # Holds and release plans are the sales office's (unit.hold); planning sees them.
    permitted_role = "sales_admin"
    unpermitted_role = "planner"

    def objects(self, demo):
        main = demo["main"]
        held = Unit.objects.filter(project=main, status=UnitStatus.HELD).order_by("pk")
        _building, foreign_unit = second_building(demo)
        return Objects(
            obj=_release_plan(main, held[0], "测试释放甲"),
            foreign=_release_plan(demo["second"], foreign_unit, "测试释放乙"),
            project=main,
            other=demo["second"],
            extra={"held": held[1]},
        )


class TestReleasePlanAPI(_ReleasePlanCase, APIAccessCase):
    def endpoints(self, objs):
        from django.utils import timezone

        from loupan.inventory.models import ReleasePlan

        return [
            Endpoint("list", "get", "/api/v1/release-plans/", scoped=False),
            Endpoint("detail", "get", f"/api/v1/release-plans/{objs.obj.pk}/"),
            Endpoint(
                "create",
                "post",
                "/api/v1/release-plans/",
                {
                    "project": objs.project.pk,
                    "name": "测试释放丙",
                    "release_at": (timezone.now() + timezone.timedelta(days=3)).isoformat(),
                    "units": [objs.extra["held"].pk],
                },
                ok=(201,),
                scoped=False,
                check=_exists(ReleasePlan, project=objs.project, name="测试释放丙"),
            ),
        ]


class TestReleasePlanPages(_ReleasePlanCase, UIAccessCase):
    def endpoints(self, objs):
        return [Endpoint("list", "get", f"/projects/{objs.project.pk}/release-plans/")]
