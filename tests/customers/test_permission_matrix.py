"""The reusable access checks (tests/testing.py) applied to the customers app's models,
pages and API: customers, call records, the roster, receptions, handovers and intended
units. A consultant sees only their own customers, calls and intended units
(``OwnObjectsMixin``)."""

import datetime

from django.utils import timezone

from loupan.customers.models import (
    CallRecord,
    Customer,
    Grade,
    Handover,
    IntendedUnit,
    Post,
    Reception,
    RosterEntry,
)
from loupan.inventory.models import Unit, UnitStatus
from tests import other_project
from tests.testing import (
    APIAccessCase,
    Endpoint,
    Objects,
    OwnObjectsMixin,
    UIAccessCase,
)


def _exists(model, **lookup):
    def check(response):
        assert model._base_manager.filter(**lookup).exists(), lookup

    return check


def _changed(obj, **values):
    def check(response):
        fresh = type(obj)._base_manager.get(pk=obj.pk)
        for name, value in values.items():
            assert getattr(fresh, name) == value, (name, getattr(fresh, name))

    return check


def _consultant_customer(demo):
    """A customer of the main project owned by the demo consultant (not in the pool)."""
    return (
        Customer.objects.filter(
            project=demo["main"],
            owner=demo["users"]["consultant"],
            in_pool=False,
            anonymized_at__isnull=True,
        )
        .order_by("pk")
        .first()
    )


# --- Customer -------------------------------------------------------------------------


class _CustomerCase(OwnObjectsMixin):
    # The manager registers and reveals; finance sees the customer register (customer.view)
    # but registers nobody and reveals no number.
    permitted_role = "manager"
    unpermitted_role = "finance"

    def objects(self, demo):
        return Objects(
            obj=_consultant_customer(demo),
            foreign=other_project.customer(),
            project=demo["main"],
            other=demo["second"],
        )

    def own_object(self, objs, user):
        return other_project.customer(
            project=objs.project, owner=user, phone="+8613988887777", name="测试本人客户"
        )

    def list_text(self, obj):
        return f'/customers/{obj.pk}/"'  # the link to its page


class TestCustomerPages(_CustomerCase, UIAccessCase):
    def endpoints(self, objs):
        customer, p = objs.obj, objs.project.pk
        base = f"/projects/{p}/customers/"
        return [
            Endpoint("list", "get", base),
            Endpoint("detail", "get", f"{base}{customer.pk}/"),
            Endpoint("create_form", "get", f"{base}register/"),
            Endpoint(
                "create",
                "post",
                f"{base}register/",
                {"name": "测试新客", "phone": "13811112222", "wanted_layout": "B1", "grade": "B"},
                ok=(302,),
                check=_exists(Customer, project_id=p, phone="+8613811112222"),
            ),
            Endpoint("reveal", "post", f"{base}{customer.pk}/reveal/", {}, ok=(200, 302)),
        ]


class TestCustomerPagesWithoutCustomerView(TestCustomerPages):
    """Planning holds no customer permission: the customers are not there for it."""

    unpermitted_role = "planner"
    unpermitted_reads = False


class TestCustomerAPI(_CustomerCase, APIAccessCase):
    def endpoints(self, objs):
        customer = objs.obj
        return [
            Endpoint("list", "get", "/api/v1/customers/", scoped=False),
            Endpoint("detail", "get", f"/api/v1/customers/{customer.pk}/"),
            Endpoint("detail", "get", f"/api/v1/customers/{customer.pk}/follow-ups/"),
            Endpoint(
                "create",
                "post",
                "/api/v1/customers/",
                {
                    "project": objs.project.pk,
                    "name": "测试新客",
                    "phone": "13811112222",
                    "wanted_layout": "B1",
                    "consent": True,
                },
                ok=(201,),
                scoped=False,
                check=_exists(Customer, project=objs.project, phone="+8613811112222"),
            ),
            Endpoint("reveal", "post", f"/api/v1/customers/{customer.pk}/reveal/"),
        ]


class TestCustomerAPIWithoutCustomerView(TestCustomerAPI):
    unpermitted_role = "planner"
    unpermitted_reads = False


# --- CallRecord -----------------------------------------------------------------------


class _CallCase(OwnObjectsMixin):
    # The manager records and confirms calls (roster.manage); finance sees them only.
    permitted_role = "manager"
    unpermitted_role = "finance"

    def objects(self, demo):
        return Objects(
            obj=other_project.call(
                project=demo["main"], received_by=demo["users"]["consultant"], name="测试来电"
            ),
            foreign=other_project.call(),
            project=demo["main"],
            other=demo["second"],
        )

    def own_object(self, objs, user):
        return other_project.call(project=objs.project, received_by=user, name="测试本人来电")


class TestCallPages(_CallCase, UIAccessCase):
    def endpoints(self, objs):
        call, p = objs.obj, objs.project.pk
        return [
            Endpoint("list", "get", f"/projects/{p}/calls/"),
            # The call's page is its correction form: the receiver's, or roster.manage.
            Endpoint("edit_form", "get", f"/projects/{p}/calls/{call.pk}/"),
            Endpoint("create_form", "get", f"/projects/{p}/calls/new/"),
            Endpoint(
                "create",
                "post",
                f"/projects/{p}/calls/new/",
                {
                    "called_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
                    "phone": "13811113333",
                    "name": "测试新来电",
                    "question": "户型",
                    "received_by": objs.obj.received_by_id,
                },
                ok=(302,),
                check=_exists(CallRecord, project_id=p, name="测试新来电"),
            ),
            Endpoint(
                "confirm",
                "post",
                f"/projects/{p}/calls/{call.pk}/confirm/",
                {},
                ok=(302,),
                check=lambda r: CallRecord.objects.get(pk=call.pk).confirmed_at,
            ),
        ]


class TestCallPagesWithoutCustomerView(TestCallPages):
    unpermitted_role = "planner"
    unpermitted_reads = False


class TestCallAPI(_CallCase, APIAccessCase):
    def endpoints(self, objs):
        call = objs.obj
        return [
            Endpoint("list", "get", "/api/v1/calls/", scoped=False),
            Endpoint("detail", "get", f"/api/v1/calls/{call.pk}/"),
            Endpoint(
                "create",
                "post",
                "/api/v1/calls/",
                {
                    "project": objs.project.pk,
                    "phone": "13811113333",
                    "name": "测试新来电",
                    "received_by": call.received_by_id,
                },
                ok=(201,),
                check=_exists(CallRecord, project=objs.project, name="测试新来电"),
            ),
            Endpoint(
                "edit",
                "patch",
                f"/api/v1/calls/{call.pk}/",
                {"question": "测试更正"},
                check=_changed(call, question="测试更正"),
            ),
            Endpoint(
                "confirm",
                "post",
                f"/api/v1/calls/{call.pk}/confirm/",
                check=lambda r: CallRecord.objects.get(pk=call.pk).confirmed_at,
            ),
        ]


class TestCallAPIWithoutCustomerView(TestCallAPI):
    unpermitted_role = "planner"
    unpermitted_reads = False


# --- RosterEntry ----------------------------------------------------------------------


def _roster_entry(project, user, position=1):
    return RosterEntry.objects.create(
        project=project, date=timezone.localdate(), post=Post.FLOOR, user=user, position=position
    )


class _RosterCase:
    # Supervisors and managers keep the roster (roster.manage); finance reads it through
    # the API (customer.view) but has no roster page (the desk's: customer.add or
    # roster.manage).
    permitted_role = "manager"
    unpermitted_role = "finance"

    def objects(self, demo):
        return Objects(
            obj=_roster_entry(demo["main"], demo["users"]["consultant"]),
            foreign=_roster_entry(demo["second"], other_project.other_consultant()),
            project=demo["main"],
            other=demo["second"],
        )


class TestRosterPages(_RosterCase, UIAccessCase):
    unpermitted_reads = False

    def endpoints(self, objs):
        entry, p = objs.obj, objs.project.pk
        return [
            Endpoint("list", "get", f"/projects/{p}/roster/"),
            Endpoint(
                "away",
                "post",
                f"/projects/{p}/roster/{entry.pk}/away/",
                {"away": "1"},
                ok=(200, 302),
                check=_changed(entry, away=True),
            ),
        ]


class TestRosterAPI(_RosterCase, APIAccessCase):
    def endpoints(self, objs):
        entry = objs.obj
        return [
            Endpoint("list", "get", "/api/v1/roster/", scoped=False),
            Endpoint("detail", "get", f"/api/v1/roster/{entry.pk}/"),
            Endpoint(
                "set",
                "post",
                "/api/v1/roster/set/",
                {
                    "project": objs.project.pk,
                    "date": (timezone.localdate() + datetime.timedelta(days=1)).isoformat(),
                    "post": Post.PHONE,
                    "user_ids": [entry.user_id],
                },
                check=_exists(RosterEntry, project=objs.project, post=Post.PHONE),
            ),
            Endpoint(
                "away",
                "post",
                f"/api/v1/roster/{entry.pk}/away/",
                {"away": True},
                check=_changed(entry, away=True),
            ),
        ]


class TestRosterAPIWithoutCustomerView(TestRosterAPI):
    unpermitted_role = "planner"
    unpermitted_reads = False


# --- Reception ------------------------------------------------------------------------


def _reception(project, consultant):
    return Reception.objects.create(
        project=project, kind="visit", consultant=consultant, at=timezone.now()
    )


class _ReceptionCase:
    # Anyone of the office registering customers takes the next visitor (customer.add);
    # planning has nothing to do with receptions.
    permitted_role = "manager"
    unpermitted_role = "planner"
    unpermitted_reads = False

    def objects(self, demo):
        consultant = demo["users"]["consultant"]
        _roster_entry(demo["main"], consultant)
        return Objects(
            obj=_reception(demo["main"], consultant),
            foreign=_reception(demo["second"], other_project.other_consultant()),
            project=demo["main"],
            other=demo["second"],
        )


class TestReceptionPages(_ReceptionCase, UIAccessCase):
    def endpoints(self, objs):
        p = objs.project.pk
        return [
            Endpoint("list", "get", f"/projects/{p}/reception/"),
            Endpoint(
                "take",
                "post",
                f"/projects/{p}/reception/take/",
                {"post": Post.FLOOR},
                ok=(302,),
                check=lambda r: Reception.objects.filter(project_id=p).count() >= 2,
            ),
        ]


class TestReceptionAPI(_ReceptionCase, APIAccessCase):
    def endpoints(self, objs):
        reception = objs.obj
        return [
            Endpoint("list", "get", "/api/v1/receptions/", scoped=False),
            Endpoint("detail", "get", f"/api/v1/receptions/{reception.pk}/"),
            Endpoint(
                "take",
                "post",
                "/api/v1/receptions/",
                {"project": objs.project.pk, "post": Post.FLOOR},
                ok=(201,),
                check=lambda r: r.json()["consultant"] == reception.consultant_id,
            ),
        ]


# --- Handover -------------------------------------------------------------------------


def _handover(project, actor, from_user):
    return Handover.objects.create(
        project=project,
        from_user=from_user,
        actor=actor,
        created_at=timezone.now(),
        mode="group",
        reason="测试交接",
    )


class _HandoverCase:
    # Handovers are the managers' (customer.assign); finance sees customers, not these.
    permitted_role = "manager"
    unpermitted_role = "finance"
    unpermitted_reads = False

    def objects(self, demo):
        users = demo["users"]
        return Objects(
            obj=_handover(demo["main"], users["manager"], users["consultant2"]),
            foreign=_handover(demo["second"], users["director"], users["consultant2"]),
            project=demo["main"],
            other=demo["second"],
        )


class TestHandoverPages(_HandoverCase, UIAccessCase):
    def endpoints(self, objs):
        handover, p = objs.obj, objs.project.pk
        return [
            Endpoint("list", "get", f"/projects/{p}/handover/"),
            Endpoint("detail", "get", f"/projects/{p}/handover/{handover.pk}/"),
            Endpoint("create_form", "get", f"/projects/{p}/handover/new/"),
        ]


class TestHandoverAPI(_HandoverCase, APIAccessCase):
    def endpoints(self, objs):
        handover = objs.obj
        return [
            Endpoint("list", "get", "/api/v1/handovers/", scoped=False),
            Endpoint("detail", "get", f"/api/v1/handovers/{handover.pk}/"),
        ]


# --- IntendedUnit ---------------------------------------------------------------------


def _intended(customer, unit):
    return IntendedUnit.objects.create(customer=customer, unit=unit)


def _available_units(project):
    return Unit.objects.filter(project=project, status=UnitStatus.AVAILABLE).order_by("pk")


class _IntendedUnitCase(OwnObjectsMixin):
    # A supervisor records intended units of anyone's customers; finance reads them only.
    permitted_role = "supervisor"
    unpermitted_role = "finance"

    def objects(self, demo):
        customer = _consultant_customer(demo)
        Customer.objects.filter(pk=customer.pk).update(grade=Grade.A)
        units = _available_units(demo["main"])
        foreign_customer = other_project.customer()
        return Objects(
            obj=_intended(customer, units[0]),
            foreign=_intended(foreign_customer, other_project.unit()),
            project=demo["main"],
            other=demo["second"],
            extra={"customer": customer, "unit": units[1]},
        )

    def own_object(self, objs, user):
        mine = other_project.customer(
            project=objs.project, owner=user, phone="+8613988886666", name="测试本人客户"
        )
        return _intended(mine, _available_units(objs.project)[2])


class TestIntendedUnitAPI(_IntendedUnitCase, APIAccessCase):
    def endpoints(self, objs):
        intended = objs.obj
        return [
            Endpoint("list", "get", "/api/v1/intended-units/", scoped=False),
            Endpoint("detail", "get", f"/api/v1/intended-units/{intended.pk}/"),
            Endpoint(
                "create",
                "post",
                "/api/v1/intended-units/",
                {"customer": intended.customer_id, "unit": objs.extra["unit"].pk},
                ok=(201,),
                check=_exists(
                    IntendedUnit, customer_id=intended.customer_id, unit=objs.extra["unit"]
                ),
            ),
            Endpoint(
                "delete",
                "delete",
                f"/api/v1/intended-units/{intended.pk}/",
                ok=(204,),
                check=lambda r: not IntendedUnit.objects.filter(pk=intended.pk).exists(),
            ),
        ]


class TestIntendedUnitPages(_IntendedUnitCase, UIAccessCase):
    def endpoints(self, objs):
        intended, p = objs.obj, objs.project.pk
        base = f"/projects/{p}/customers/{intended.customer_id}/intended-units/"
        return [
            Endpoint("detail", "get", f"/projects/{p}/customers/{intended.customer_id}/"),
            Endpoint(
                "create",
                "post",
                base,
                {"unit": objs.extra["unit"].number},
                ok=(302,),
                check=_exists(
                    IntendedUnit, customer_id=intended.customer_id, unit=objs.extra["unit"]
                ),
            ),
            Endpoint(
                "delete",
                "post",
                f"{base}{intended.unit_id}/remove/",
                {},
                ok=(302,),
                check=lambda r: not IntendedUnit.objects.filter(pk=intended.pk).exists(),
            ),
        ]


# --- problem customers ----------------------------------------------------------------


def _flagged(customer):
    Customer.objects.filter(pk=customer.pk).update(problem="测试问题", problem_at=timezone.now())
    return Customer.objects.get(pk=customer.pk)


class _ProblemCase:
    # The manager resolves problem customers; finance sees customers, not this list
    # (customer.assign).
    permitted_role = "manager"
    unpermitted_role = "finance"
    unpermitted_reads = False

    def objects(self, demo):
        return Objects(
            obj=_flagged(_consultant_customer(demo)),
            foreign=_flagged(other_project.customer()),
            project=demo["main"],
            other=demo["second"],
        )


class TestProblemCustomerAPI(_ProblemCase, APIAccessCase):
    def endpoints(self, objs):
        customer = objs.obj
        return [
            Endpoint("list", "get", "/api/v1/problem-customers/", scoped=False),
            Endpoint("detail", "get", f"/api/v1/problem-customers/{customer.pk}/"),
            Endpoint(
                "resolve",
                "post",
                f"/api/v1/problem-customers/{customer.pk}/resolve/",
                {"resolution": "测试已处理"},
                check=_changed(customer, problem=""),
            ),
        ]


class TestProblemCustomerPages(_ProblemCase, UIAccessCase):
    def endpoints(self, objs):
        customer, p = objs.obj, objs.project.pk
        return [
            Endpoint("list", "get", f"/projects/{p}/problem-customers/"),
            Endpoint(
                "resolve",
                "post",
                f"/projects/{p}/customers/{customer.pk}/problem/resolve/",
                {"resolution": "测试已处理", "next": "list"},
                ok=(302,),
                check=_changed(customer, problem=""),
            ),
        ]


# --- ownership claims (撞单) ------------------------------------------------------------


class TestClaimPages(UIAccessCase):
    # Supervisors and managers decide claims (customer.assign); finance does not.
    permitted_role = "manager"
    unpermitted_role = "finance"
    unpermitted_reads = False

    def objects(self, demo):
        from loupan.customers.models import OwnershipClaim

        users = demo["users"]
        foreign_customer = other_project.customer()
        return Objects(
            obj=OwnershipClaim.objects.create(
                customer=_consultant_customer(demo), claimant=users["consultant2"]
            ),
            foreign=OwnershipClaim.objects.create(
                customer=foreign_customer, claimant=users["director"]
            ),
            project=demo["main"],
            other=demo["second"],
        )

    def endpoints(self, objs):
        claim, p = objs.obj, objs.project.pk
        return [
            Endpoint("list", "get", f"/projects/{p}/claims/"),
            Endpoint(
                "decide",
                "post",
                f"/projects/{p}/claims/{claim.pk}/decide/",
                {"grant": "0", "reason": "测试：先登记者保留"},
                ok=(302,),
                check=lambda r: type(claim).objects.get(pk=claim.pk).status != "open",
            ),
        ]
