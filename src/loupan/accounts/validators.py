import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class LettersAndDigitsValidator:
    """Passwords contain at least one letter and at least one digit (seed 004 四(三))."""

    def validate(self, password, user=None):
        if not re.search(r"[A-Za-z]", password or "") or not re.search(r"\d", password or ""):
            raise ValidationError(_("密码必须同时包含字母和数字。"), code="password_letters_digits")

    def get_help_text(self):
        return _("密码必须同时包含字母和数字。")
