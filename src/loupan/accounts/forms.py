from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from .models import Role, User


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("用户名或密码错误。请注意区分大小写。"),
        "inactive": _("账号已停用。"),
    }


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label=_("原密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label=_("新密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    new_password2 = forms.CharField(
        label=_("确认新密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("new_password") != data.get("new_password2"):
            self.add_error("new_password2", _("两次输入的新密码不一致。"))
        return data


class UserForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["username", "real_name", "mobile", "employee_no", "email", "language"]


class UserCreateForm(UserForm):
    project = forms.ModelChoiceField(label=_("项目"), queryset=None)
    role = forms.ModelChoiceField(label=_("角色"), queryset=Role.objects.all())
    password = forms.CharField(
        label=_("初始密码"),
        strip=False,
        widget=forms.PasswordInput,
        help_text=_("用户首次登录时必须修改。"),
    )

    def __init__(self, *args, projects=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = projects

    def _post_clean(self):
        # Validation (uniqueness, password policy) belongs to the service, which
        # reports field by field through DomainError.
        pass


class MembershipForm(forms.Form):
    project = forms.ModelChoiceField(label=_("项目"), queryset=None)
    role = forms.ModelChoiceField(label=_("角色"), queryset=Role.objects.all())

    def __init__(self, *args, projects=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = projects
