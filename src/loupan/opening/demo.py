"""The demo office's opening day (issue 16 "Done when"): registered after the after-sales
demo. Two events on free homes of the main project: one whose selection is over (drawn,
every entrant picked or passed, finished; its picks became subscriptions) and one in
progress today (drawn in public, the first batch picking now, the second batch later;
its picks become reservations), each with a verified lottery."""

import datetime

from django.utils import timezone

from loupan.core.identity import id_check_digit
from loupan.customers import services as customer_services
from loupan.deals import services as deal_services
from loupan.inventory.models import Unit, UnitStatus

from . import favourites, lottery
from . import services as s
from .models import OpeningEvent

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


def _buyers(project, users, first: int, count: int):
    people = []
    for n in range(first, first + count):
        body = f"51010719880{n % 10}{(n % 28) + 1:02d}{n:03d}"[:17]
        people.append(
            customer_services.customer_register(
                actor=users["consultant" if n % 2 else "consultant2"],
                project=project,
                name=f"{SURNAMES[n % len(SURNAMES)]}{'建国明华丽芳军伟'[n % 8]}",
                phone=f"1350008{n:04d}",
                id_number=body + id_check_digit(body),
                wanted_layout="other",
                wanted_layout_other="三室两厅",
                consent=True,
            )
        )
    return people


def _units(project, count: int, skip: int = 0):
    """Free homes with a presale permit, from the end of the list (the other demos take
    the first ones)."""
    qs = Unit.objects.filter(
        project=project,
        status=UnitStatus.AVAILABLE,
        sellable=True,
        use="residential",
        building__permit__isnull=False,
        attached_to__isnull=True,
    ).order_by("-pk")
    return list(qs[skip : skip + count])


def _event(project, users, name, units, buyers, public_value, first_home, **terms):
    manager = users["manager"]
    event = s.event_create(
        actor=manager,
        project=project,
        name=name,
        units=units,
        registration_closes_at=timezone.now() + datetime.timedelta(hours=2),
        selection_on=timezone.localdate(),
        operator=manager,
        public_source="公证员在售楼大厅当众摇出的六位数字",
        sincerity_amount="20000",
        **terms,
    )
    event = s.event_open(actor=manager, event=event)
    methods = ("commercial", "one_off", "combined", "provident")
    for i, buyer in enumerate(buyers):
        entry, _code = s.entry_register(
            actor=manager,
            event=event,
            customer=buyer,
            first_home=i < first_home,
            payment_method=methods[i % len(methods)],
        )
        s.entry_qualify(actor=manager, entry=entry)
        s.entry_pay(
            actor=users["finance"],
            entry=entry,
            method="transfer",
            bank_reference=f"ICBC-{event.pk:02d}{entry.number}",
        )
    event = s.event_close(actor=manager, event=event)
    event = s.event_draw(actor=manager, event=event, public_value=public_value)
    assert lottery.verify(event.package)[0]
    return event


def demo_opening(context: dict) -> None:
    project, users = context["main"], context["users"]
    if OpeningEvent.objects.filter(project=project).exists():
        return
    manager = users["manager"]
    now = timezone.now()
    # the finished one: five entrants, four units; everyone in one batch that has ended;
    # each pick became a subscription 认购 whose deposit took in the sincerity deposit
    done = _event(
        project,
        users,
        "翠湖湾 首期加推",
        _units(project, 4),
        _buyers(project, users, 1, 5),
        "104729",
        first_home=2,
        pick_becomes="subscription",
        deposit_amount="50000",
    )
    s.batches_set(
        actor=manager,
        event=done,
        batches=[(1, 5, now - datetime.timedelta(hours=1), now + datetime.timedelta(minutes=30))],
    )
    done = s.selection_start(actor=manager, event=done)
    entries = list(done.entries.order_by("position"))
    units = [eu.unit for eu in done.units.order_by("pk")]
    for entry, unit in zip(entries[:4], units, strict=False):
        pick = s.unit_pick(actor=None, event=done, entry=entry, unit=unit, via="terminal")
        # finance turns the sincerity deposit into the deal's deposit, and confirms the
        # deposit (receipting the rest) for all but the last, still waiting
        s.pick_to_deposit(actor=users["finance"], pick=pick)
        if unit != units[-1]:
            deal_services.deal_confirm_deposit(
                actor=users["finance"],
                deal=pick.deal,
                method="transfer",
                bank_reference=f"ICBC-DJ{entry.number}",
            )
    done = s.event_finish(actor=manager, event=done)
    # the entrant who found nothing gets the sincerity deposit back in full
    for entry in entries[4:]:
        s.entry_refund(
            actor=users["finance"], entry=entry, method="transfer", bank_reference="ICBC-RF"
        )
    # the one in progress: eight entrants, six units, two batches
    live = _event(
        project,
        users,
        "翠湖湾 二期开盘",
        _units(project, 6, skip=4),
        _buyers(project, users, 11, 8),
        "580341",
        first_home=3,
    )
    s.batches_set(
        actor=manager,
        event=live,
        batches=[
            (1, 4, now - datetime.timedelta(minutes=30), now + datetime.timedelta(hours=3)),
            (5, 8, now + datetime.timedelta(hours=3), now + datetime.timedelta(hours=6)),
        ],
    )
    live = s.selection_start(actor=manager, event=live)
    entries = list(live.entries.order_by("position"))
    units = [eu.unit for eu in live.units.order_by("pk")]
    s.unit_pick(
        actor=users["consultant"], event=live, entry=entries[0], unit=units[0], via="consultant"
    )
    s.unit_pick(actor=None, event=live, entry=entries[1], unit=units[1], via="phone")
    # buyers of the second batch marked favourites (one by their consultant): one of
    # them is already taken, the phone shows it so
    favourites.favourite_set(actor=None, entry=entries[4], unit=units[1])
    favourites.favourite_set(actor=None, entry=entries[4], unit=units[3])
    favourites.favourite_set(actor=users["consultant"], entry=entries[5], unit=units[4])
