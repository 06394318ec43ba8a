"""The sign-offs' own error codes (core.errors.Code: value, HTTP status, default message)."""

from django.utils.translation import gettext_lazy as _

from loupan.core.errors import Code


class SignOffError(Code):
    # The day is signed already: a later correction is a new entry with a note.
    SIGNOFF_EXISTS = "signoff_exists", 409, _("该日已签核；如需更正，请提交更正并填写说明。")
    # A correction of a day nobody signed yet.
    SIGNOFF_MISSING = "signoff_missing", 409, _("该日尚未签核，不能更正。")
