"""Default permission of every API view (kept apart from ``api.py`` to avoid an import
cycle with DRF's settings)."""

from rest_framework import permissions

from .errors import DomainError, ErrorCode


class IsAuthenticatedWithCurrentPassword(permissions.IsAuthenticated):
    """Authenticated, and not waiting for a first-login or expired-password change."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if request.user.needs_password_change():
            raise DomainError(
                ErrorCode.PASSWORD_CHANGE_REQUIRED,
                "请先修改密码（首次登录或密码已过期）：POST /api/v1/auth/password/",
            )
        return True
