"""One domain error class for every refused action (ENGINEERING.md: services raise it).

The API renders it as ``{"code": …, "message": …, "fields": {…}}`` and the UI shows the
Chinese message next to the field it names.
"""

from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class ErrorCode(StrEnum):
    INVALID = "invalid"
    NOT_AUTHENTICATED = "not_authenticated"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    LOCKED_OUT = "locked_out"
    PASSWORD_CHANGE_REQUIRED = "password_change_required"
    INVALID_CREDENTIALS = "invalid_credentials"
    INACTIVE_USER = "inactive_user"
    LAST_ADMIN = "last_admin"
    IN_USE = "in_use"
    CUSTOMER_EXISTS = "customer_exists"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    THROTTLED = "throttled"
    SERVER_ERROR = "server_error"


HTTP_STATUS = {
    ErrorCode.INVALID: 400,
    ErrorCode.NOT_AUTHENTICATED: 401,
    ErrorCode.INVALID_CREDENTIALS: 400,
    ErrorCode.INACTIVE_USER: 400,
    ErrorCode.PERMISSION_DENIED: 403,
    ErrorCode.PASSWORD_CHANGE_REQUIRED: 403,
    ErrorCode.LOCKED_OUT: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.CONFLICT: 409,
    ErrorCode.LAST_ADMIN: 409,
    ErrorCode.IN_USE: 409,
    ErrorCode.CUSTOMER_EXISTS: 409,
    ErrorCode.THROTTLED: 429,
    ErrorCode.SERVER_ERROR: 500,
}

DEFAULT_MESSAGES = {
    ErrorCode.INVALID: _("提交的数据有误"),
    ErrorCode.NOT_AUTHENTICATED: _("请先登录"),
    ErrorCode.PERMISSION_DENIED: _("您没有执行此操作的权限"),
    ErrorCode.NOT_FOUND: _("对象不存在"),
    ErrorCode.CONFLICT: _("数据已被他人修改，请刷新后重试"),
    ErrorCode.LOCKED_OUT: _("登录失败次数过多，账号或地址已被暂时锁定，请稍后再试"),
    ErrorCode.PASSWORD_CHANGE_REQUIRED: _("请先修改密码"),
    ErrorCode.INVALID_CREDENTIALS: _("用户名或密码错误"),
    ErrorCode.INACTIVE_USER: _("账号已停用"),
    ErrorCode.LAST_ADMIN: _("不能移除项目的最后一名系统管理员"),
    ErrorCode.IN_USE: _("对象仍被引用，不能删除"),
    ErrorCode.CUSTOMER_EXISTS: _("该客户已登记"),
    ErrorCode.METHOD_NOT_ALLOWED: _("不支持的请求方法"),
    ErrorCode.THROTTLED: _("请求过于频繁"),
    ErrorCode.SERVER_ERROR: _("服务器内部错误"),
}


class DomainError(Exception):
    """A business rule or permission refused the action; nothing was written."""

    def __init__(self, code: ErrorCode, message=None, fields: dict | None = None):
        self.code = ErrorCode(code)
        self.message = message or DEFAULT_MESSAGES[self.code]
        self.fields = {
            k: [str(m) for m in (v if isinstance(v, list | tuple) else [v])]
            for k, v in (fields or {}).items()
        }
        super().__init__(str(self.message))

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.code]

    def as_dict(self) -> dict:
        return {"code": str(self.code), "message": str(self.message), "fields": self.fields}

    @classmethod
    def from_validation_error(cls, exc, model=None) -> "DomainError":
        """Turn Django's ValidationError into the one error shape, field by field; the
        message names the first field by its Chinese label when the model is known."""
        if hasattr(exc, "error_dict"):
            fields = {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
        else:
            fields = {"non_field_errors": [str(m) for m in exc.messages]}
        name, reasons = next(iter(fields.items()), ("", [""]))
        message = reasons[0]
        if model is not None and name and name != "__all__" and name != "non_field_errors":
            try:
                message = f"{model._meta.get_field(name).verbose_name}：{message}"
            except Exception:  # a name that is not a field (e.g. a constraint's)
                pass
        return cls(ErrorCode.INVALID, message=message or None, fields=fields)


class PermissionDenied(DomainError):
    def __init__(self, message=None):
        super().__init__(ErrorCode.PERMISSION_DENIED, message)
