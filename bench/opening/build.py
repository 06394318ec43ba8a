"""The opening the bench runs: the demo office, ``units`` new homes in new buildings,
``buyers`` customers registered, qualified and drawn with known selection codes, one
batch whose window is open now. The event, its opening, closing, draw, batches and start
go through the services; the customers and their entries are bulk inserts (5,000
registrations one transaction each would take longer than the opening itself)."""

from __future__ import annotations

import datetime
import hashlib
import secrets
from decimal import Decimal

from django.db import transaction
from django.utils import timezone


def id_number(i: int) -> str:
    from loupan.core.identity import id_check_digit

    born = datetime.date(1970, 1, 1) + datetime.timedelta(days=i // 800)
    body = f"510104{born:%Y%m%d}{100 + i % 800:03d}"
    return body + id_check_digit(body)


def units_for(project, count: int):
    from loupan.inventory.models import Building, Unit

    per_building = 250  # 25 floors, 2 stairs, 5 homes per floor
    rows = []
    for b in range((count + per_building - 1) // per_building):
        building = Building.objects.create(
            project=project,
            name=f"开盘{b + 1}栋",
            floors_above=25,
            stairs=2,
            units_per_floor=5,
            sort_order=100 + b,
        )
        for stair in (1, 2):
            for floor in range(1, 26):
                for room in range(1, 6):
                    if len(rows) >= count:
                        break
                    price = Decimal(15000 + floor * 50) * Decimal("100.00")
                    rows.append(
                        Unit(
                            project=project,
                            building=building,
                            stair=stair,
                            floor=floor,
                            room=f"{room:02d}",
                            number=f"开盘{b + 1}栋{stair}单元{floor}{room:02d}",
                            gross_area=Decimal("100.00"),
                            list_price=price,
                            unit_price=price / 100,
                            status="available",
                        )
                    )
    return Unit.objects.bulk_create(rows, batch_size=1000)


def build(*, units: int, buyers: int) -> dict:
    """Build the event; returns its id, the entries in drawn order as (number, code),
    and the event's unit ids."""
    from loupan.accounts.models import User
    from loupan.core.demo import build_demo
    from loupan.customers.models import Customer
    from loupan.inventory.models import Project
    from loupan.opening import services
    from loupan.opening.models import Entry

    build_demo()
    project = Project.objects.get(code="CHW")
    manager = User.objects.get(username="manager")
    consultant = User.objects.get(username="consultant")
    now = timezone.now()
    homes = units_for(project, units)
    event = services.event_create(
        actor=manager,
        project=project,
        name="基准开盘",
        units=homes,
        registration_closes_at=now + datetime.timedelta(hours=1),
        selection_on=timezone.localdate(),
        operator=manager,
        public_source="公证员现场摇出的六位数字",
    )
    event = services.event_open(actor=manager, event=event)
    codes: dict[str, str] = {}
    with transaction.atomic():
        customers = Customer.objects.bulk_create(
            (
                Customer(
                    project=project,
                    owner=consultant,
                    name=f"买家{i:05d}",
                    name_initials="MJ",
                    phone=f"+86139{i:08d}",
                    phone_tail=f"{i:08d}"[-4:],
                    id_number=id_number(i),
                    wanted_layout="三室",
                    registered_at=now,
                    registered_by=consultant,
                    consent_at=now,
                )
                for i in range(buyers)
            ),
            batch_size=1000,
        )
        entries = []
        for i, customer in enumerate(customers, start=1):
            number = f"{i:05d}"
            code = f"{secrets.randbelow(10**8):08d}"
            codes[number] = code
            entries.append(
                Entry(
                    event=event,
                    number=number,
                    customer=customer,
                    id_number=customer.id_number,
                    code_hash=hashlib.sha256(code.encode()).hexdigest(),
                    registered_by=manager,
                    registered_at=now,
                    qualified_at=now,
                    qualified_by=manager,
                )
            )
        Entry.objects.bulk_create(entries, batch_size=1000)
    event = services.event_close(actor=manager, event=event)
    event = services.event_draw(actor=manager, event=event, public_value="483920")
    services.batches_set(
        actor=manager,
        event=event,
        batches=[
            (1, buyers, now - datetime.timedelta(minutes=1), now + datetime.timedelta(hours=2))
        ],
    )
    event = services.selection_start(actor=manager, event=event)
    order = Entry.objects.filter(event=event).order_by("position").values_list("number", flat=True)
    return {
        "event": event,
        "entries": [(number, codes[number]) for number in order],
        "units": [u.pk for u in homes],
    }
