"""Authentication events enter the audit trail here.

Django announces logins, logouts and failed logins only through its auth signals, so
these receivers are the one place that listens to them (business actions never rely on
signals: their services write their own entries).
"""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .models import AuditAction
from .services import audit_record


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    audit_record(
        actor=user, action=AuditAction.LOGIN, obj=user, project_id=None, extra={"via": "web"}
    )


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit_record(actor=user, action=AuditAction.LOGOUT, obj=user, project_id=None)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    audit_record(
        actor=None,
        action=AuditAction.LOGIN_FAILED,
        username=username,
        object_type="accounts.user",
        object_repr=username,
        extra={"via": "api" if request is not None and request.path.startswith("/api/") else "web"},
    )


@receiver(user_locked_out)
def _locked_out(sender, request, username=None, ip_address=None, **kwargs):
    audit_record(
        actor=None,
        action=AuditAction.LOCKED_OUT,
        username=str(username or "")[:150],
        object_type="accounts.user",
        object_repr=str(username or ""),
        extra={"ip": ip_address},
    )
