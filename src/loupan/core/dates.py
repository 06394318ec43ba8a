"""Dates as the services take them: a ``date``, an ISO string (``YYYY-MM-DD``) from a
form or a JSON body, or nothing. One parser, so that every refusal reads the same and
names its field."""

import datetime

from django.utils import timezone

from .errors import invalid

PAST_OR_TODAY = "past"
TODAY_OR_LATER = "future"


def parse_date(value, field: str, *, default_today=False, when=None, message=""):
    """``value`` as a date, or None when empty (today with ``default_today``).
    ``when``: ``PAST_OR_TODAY`` refuses a date after today, ``TODAY_OR_LATER`` one
    before today; ``message`` says why in the field's words."""
    if value in (None, ""):
        return timezone.localdate() if default_today else None
    if isinstance(value, datetime.datetime):
        value = timezone.localdate(value)
    elif isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value.strip())
        except ValueError as exc:
            raise invalid(field, "日期格式应为 YYYY-MM-DD") from exc
    if not isinstance(value, datetime.date):
        raise invalid(field, "日期格式应为 YYYY-MM-DD")
    today = timezone.localdate()
    if when == PAST_OR_TODAY and value > today:
        raise invalid(field, message or "日期不能晚于今天")
    if when == TODAY_OR_LATER and value < today:
        raise invalid(field, message or "日期不能早于今天")
    return value
