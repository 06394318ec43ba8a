"""One domain error class for every refused action (ENGINEERING.md: services raise it).

The API renders it as ``{"code": …, "message": …, "fields": {…}}`` and the UI shows the
Chinese message next to the field it names.
"""

from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class Code(StrEnum):
    """Base of every error-code enum: each member carries its HTTP status. Core's codes
    are ``ErrorCode``; each app lists its own specific codes in ``<app>/errors.py`` (as
    Saleor's ``error_codes.py``) so that a client or a test can tell "deposit over the
    cap" from "not a number", all rendered in the one error shape."""

    def __new__(cls, value: str, status: int = 400, message: str = ""):
        member = str.__new__(cls, value)
        member._value_ = value
        member.status = status
        member.default_message = message
        return member


class ErrorCode(Code):
    INVALID = "invalid", 400, _("提交的数据有误")
    NOT_AUTHENTICATED = "not_authenticated", 401, _("请先登录")
    PERMISSION_DENIED = "permission_denied", 403, _("您没有执行此操作的权限")
    NOT_FOUND = "not_found", 404, _("对象不存在")
    CONFLICT = "conflict", 409, _("数据已被他人修改，请刷新后重试")
    LOCKED_OUT = (
        "locked_out",
        403,
        _("登录失败次数过多，账号或地址已被暂时锁定，请稍后再试"),
    )
    PASSWORD_CHANGE_REQUIRED = "password_change_required", 403, _("请先修改密码")
    INVALID_CREDENTIALS = "invalid_credentials", 400, _("用户名或密码错误")
    INACTIVE_USER = "inactive_user", 400, _("账号已停用")
    LAST_ADMIN = "last_admin", 409, _("不能移除项目的最后一名系统管理员")
    IN_USE = "in_use", 409, _("对象仍被引用，不能删除")
    METHOD_NOT_ALLOWED = "method_not_allowed", 405, _("不支持的请求方法")
    THROTTLED = "throttled", 429, _("请求过于频繁")
    TOO_LARGE = "too_large", 413, _("请求内容过大")
    SERVER_ERROR = "server_error", 500, _("服务器内部错误")
    # code lists (core.codelists)
    CODE_UNKNOWN = "code_unknown", 400, _("不是本项目代码表中的选项")
    CODE_RETIRED = "code_retired", 400, _("该选项已停用")
    CODE_EXISTS = "code_exists", 409, _("代码表中已有该代码或名称")
    SYSTEM_ENTRY = "system_entry", 409, _("系统选项不能停用，只能改名或调整顺序")


def _lookup(code) -> Code:
    """A code given as a member of any app's enum, or as core's plain string."""
    return code if isinstance(code, Code) else ErrorCode(code)


class DomainError(Exception):
    """A business rule or permission refused the action; nothing was written."""

    def __init__(self, code: ErrorCode, message=None, fields: dict | None = None):
        self.code = _lookup(code)
        self.message = message or self.code.default_message or _("提交的数据有误")
        self.fields = {
            k: [str(m) for m in (v if isinstance(v, list | tuple) else [v])]
            for k, v in (fields or {}).items()
        }
        super().__init__(str(self.message))

    @property
    def status(self) -> int:
        return self.code.status

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


def invalid(field: str, reason, message=None, code: Code = ErrorCode.INVALID) -> DomainError:
    """A value refused: ``reason`` goes next to ``field``, ``message`` on top (the reason
    when not given)."""
    return DomainError(code, message or reason, {field: [reason]})


def conflict(message, field: str = "status", code: Code = ErrorCode.CONFLICT) -> DomainError:
    """The object is not in a state that allows the action (409 unless ``code`` says
    otherwise)."""
    return DomainError(code, message, {field: [message]})
