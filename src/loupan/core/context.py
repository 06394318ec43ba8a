"""Who is acting and from where, for the audit trail.

The request middleware fills it; services read it so that they need no request object,
and management commands leave it empty (recorded as the command line).
"""

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestInfo:
    ip: str | None = None
    user_agent: str = ""
    path: str = ""


_EMPTY = RequestInfo()
_current: ContextVar[RequestInfo | None] = ContextVar("loupan_request", default=None)


def current() -> RequestInfo:
    return _current.get() or _EMPTY


def set_current(info: RequestInfo):
    return _current.set(info)


def reset(token) -> None:
    _current.reset(token)


def client_ip(request) -> str | None:
    """The client address. Behind a reverse proxy set LOUPAN_TRUST_X_FORWARDED_FOR=1."""
    from django.conf import settings

    if getattr(settings, "LOUPAN_TRUST_X_FORWARDED_FOR", False):
        fwd = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if fwd:
            return fwd.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR")
