"""``core.prepared``: a values queryset compiled once and run again with other ids gives
what the queryset itself gives, with the backend's conversions (SQLite's datetimes and
booleans), and refuses an argument that does not come out as a parameter."""

import datetime

import pytest
from django.db.models import Exists, OuterRef
from django.utils import timezone

from loupan.audit.models import AuditEntry
from loupan.core.prepared import Prepared, fields_of
from loupan.inventory.models import Building, Unit

pytestmark = pytest.mark.django_db


def _units(building: int, floor: int):
    return (
        Unit.objects.filter(building_id=building, floor__gte=floor)
        .order_by("pk")
        .annotate(has_building=Exists(Building.objects.filter(pk=OuterRef("building_id"))))
        .values("pk", "number", "floor", "has_building")
    )


def test_the_compiled_query_gives_what_the_queryset_gives_for_every_argument(demo):
    prepared = Prepared(_units, "building", "floor")
    buildings = list(Building.objects.values_list("pk", flat=True))[:3]
    assert len(buildings) >= 2
    for building in buildings:
        for floor in (1, 3, 99):
            got = prepared.rows(building=building, floor=floor)
            assert got == list(_units(building, floor))
    assert prepared.first(building=buildings[0], floor=99) is None
    # booleans come back as booleans on every database
    assert {type(row["has_building"]) for row in prepared.rows(building=buildings[0], floor=1)} == {
        bool
    }


def test_datetimes_come_back_as_the_orm_reads_them(demo):
    latest = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first()
    prepared = Prepared(
        lambda pk: AuditEntry.objects.filter(pk=pk).values("pk", "created_at"), "pk"
    )
    row = prepared.first(pk=latest)
    assert isinstance(row["created_at"], datetime.datetime) and timezone.is_aware(row["created_at"])
    assert row == AuditEntry.objects.filter(pk=latest).values("pk", "created_at").get()


def test_an_argument_folded_into_the_sql_is_refused():
    # ``floor`` is never used: it cannot come out as a parameter
    prepared = Prepared(
        lambda building, floor: Unit.objects.filter(building_id=building).values("pk"),
        "building",
        "floor",
    )
    with pytest.raises(ValueError, match="floor"):
        prepared.rows(building=1, floor=2)


def test_a_constant_equal_to_a_sentinel_is_not_taken_for_the_argument():
    prepared = Prepared(
        lambda building: Unit.objects.filter(building_id=building, floor__lt=32767).values("pk"),
        "building",
    )
    with pytest.raises(ValueError, match="constant"):
        prepared.rows(building=1)


def test_a_text_argument(demo):
    prepared = Prepared(
        lambda building, number: (
            Unit.objects.filter(building_id=building, number=number).order_by().values("pk")
        ),
        "building",
        text=("number",),
    )
    unit = Unit.objects.first()
    assert prepared.first(building=unit.building_id, number=unit.number) == {"pk": unit.pk}
    assert prepared.first(building=unit.building_id, number=unit.number + "x") is None


def test_a_moment_argument(demo):
    # an aware datetime, bound as the backend binds it (SQLite: a text), microseconds kept
    prepared = Prepared(
        lambda since: AuditEntry.objects.filter(created_at__gte=since).order_by().values("pk"),
        moments=("since",),
    )
    entries = list(AuditEntry.objects.order_by("created_at").values_list("pk", "created_at"))
    assert len(entries) >= 2
    for pk, at in entries[-2:]:
        got = {row["pk"] for row in prepared.rows(since=at)}
        assert pk in got and got == set(
            AuditEntry.objects.filter(created_at__gte=at).values_list("pk", flat=True)
        )
        later = at + datetime.timedelta(microseconds=1)
        assert pk not in {row["pk"] for row in prepared.rows(since=later)}


def test_an_instance_as_the_orm_loads_it(demo):
    prepared = Prepared(
        lambda pk: Unit.objects.filter(pk=pk).order_by().values(*fields_of(Unit)), "pk"
    )
    unit = Unit.objects.order_by("pk").last()
    got = prepared.instance(Unit, pk=unit.pk)
    assert isinstance(got, Unit) and not got._state.adding and got.pk == unit.pk
    assert {f.attname: getattr(got, f.attname) for f in Unit._meta.concrete_fields} == {
        f.attname: getattr(unit, f.attname) for f in Unit._meta.concrete_fields
    }
    assert prepared.instance(Unit, pk=unit.pk + 10_000) is None


def test_a_prepared_cursor_has_postgresql_plan_each_statement_once(demo):
    """PostgreSQL keeps the plan of what runs through ``prepared_cursor`` (Django's
    cursors bind on the client: nothing kept); the statements still pass Django's
    wrappers (counted, logged) and give the same rows. Elsewhere it is Django's cursor."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from loupan.core.prepared import prepared_cursor

    sql = "SELECT number FROM inventory_unit WHERE id = %s"
    ids = list(Unit.objects.order_by("pk").values_list("pk", flat=True)[:3])
    with CaptureQueriesContext(connection) as ctx:
        got = []
        for pk in ids:
            with prepared_cursor() as cursor:
                cursor.execute(sql, [pk])
                got.append(cursor.fetchone()[0])
    assert got == [Unit.objects.get(pk=pk).number for pk in ids]
    assert len(ctx.captured_queries) == 3
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                ["%FROM inventory_unit WHERE id = $1%"],
            )
            assert cursor.fetchone()[0] == 1  # one plan for the three
        # Django's own cursors stay as they were (bound on the client, nothing prepared)
        assert connection.connection.cursor_factory.__name__ != "PreparingCursor"


def test_a_prepared_cursor_without_listeners_is_psycopgs_with_djangos_errors(demo):
    """With nothing counting or logging queries, ``prepared_cursor`` skips Django's
    cursor wrapper: the same rows (timestamps aware, in UTC, as the ORM reads them,
    though sent in binary), the same plan kept, and a database error raised as Django's
    (what callers catch)."""
    from django.db import DataError, connection, transaction

    from loupan.core.prepared import prepared_cursor

    latest = AuditEntry.objects.order_by("-pk").first()
    sql = "SELECT id, created_at FROM audit_auditentry WHERE id = %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [latest.pk])
        djangos = cursor.fetchone()
    with prepared_cursor() as cursor:
        cursor.execute(sql, [latest.pk])
        assert cursor.fetchone() == djangos
        cursor.execute("SELECT id FROM audit_auditentry WHERE id <= %s", [latest.pk])
        assert len(cursor.fetchall()) == AuditEntry.objects.count()
    if connection.vendor != "postgresql":
        return
    assert djangos == (latest.pk, latest.created_at)  # aware, UTC
    assert type(prepared_cursor()).__name__ == "_Cursor"
    with prepared_cursor() as cursor:
        ids = list(Unit.objects.order_by("pk").values_list("pk", flat=True)[:3])
        cursor.execute("UPDATE inventory_unit SET number = number WHERE id <= %s", [ids[-1]])
        assert cursor.rowcount == 3
    with prepared_cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%FROM audit_auditentry WHERE id = $1%"],
        )
        assert cursor.fetchone()[0] == 1
    with pytest.raises(DataError):  # not psycopg's own DivisionByZero
        with transaction.atomic():
            with prepared_cursor() as cursor:
                cursor.execute("SELECT 1 / %s", [0])


def test_loaded_makes_the_instance_the_orm_would_load(demo, django_assert_num_queries):
    """``loaded``: the fields given set, the others deferred, the related objects given
    read without a query; ``adding``: the fields not given take their defaults."""
    from loupan.core.prepared import loaded
    from loupan.opening.models import Pick

    unit = Unit.objects.select_related("building").order_by("pk").first()
    with django_assert_num_queries(0):
        got = loaded(Unit, {"id": unit.pk, "number": "X-1"}, {"building": unit.building})
        assert (got.pk, got.number, got.building) == (unit.pk, "X-1", unit.building)
        assert not got._state.adding and got._state.db == "default"
    assert "floor" in got.get_deferred_fields() and "number" not in got.get_deferred_fields()
    with django_assert_num_queries(1):
        assert got.floor == unit.floor  # deferred: read when asked
    with django_assert_num_queries(0):
        new = loaded(Pick, {"seq": 2, "unit_id": unit.pk}, {"unit": unit}, adding=True)
        assert new._state.adding and new._state.db is None
        assert new.pk is None and new.deal_id is None
        assert new.seal_error == Pick._meta.get_field("seal_error").get_default() == ""
        assert new.unit is unit and not new.get_deferred_fields()
