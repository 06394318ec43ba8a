"""The demo office's after sales (issue 14 "Done when"): registered in
``AftersalesConfig.ready()`` after the payments; the working-day calendar first (the
deadlines count on it), then each part."""

from .calendar_demo import demo_calendar
from .complaints_demo import demo_complaints
from .delivery_demo import demo_delivery
from .settlement_demo import demo_settlement


def demo_aftersales(context: dict) -> None:
    demo_calendar(context)
    demo_settlement(context)
    demo_delivery(context)
    demo_complaints(context)
