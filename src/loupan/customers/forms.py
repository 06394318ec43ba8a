"""The customers' forms: registration and follow-up, the call record of the front desk,
the handover. They read and type what the user typed; the rules are the services'."""

from django import forms
from django.utils.translation import gettext_lazy as _

from loupan.accounts.models import User
from loupan.core import codelists
from loupan.core.forms import DateInput, OpenChoiceField
from loupan.inventory.models import Layout

from . import handover
from .models import Channel, Education, Gender, Grade, HandoverMode, Purpose
from .reception import eligible_users
from .services import OTHER_LAYOUT, OTHER_OCCUPATION


class RegisterForm(forms.Form):
    """Visit registration 来访登记: name, mobile and wanted layout are required."""

    name = forms.CharField(label=_("姓名或称呼"), max_length=50)
    phone = forms.CharField(label=_("手机号"), max_length=30)
    wanted_layout = OpenChoiceField(label=_("意向户型"), choices=())
    wanted_layout_other = forms.CharField(
        label=_("其他户型"),
        max_length=50,
        required=False,
        help_text=_("意向户型选择“其他”时填写"),
    )
    gender = forms.ChoiceField(
        label=_("性别"), choices=[("", "—"), *Gender.choices], required=False
    )
    grade = forms.ChoiceField(label=_("等级"), choices=Grade.choices, initial=Grade.C)
    channel = forms.ModelChoiceField(
        label=_("认知途径"), queryset=Channel.objects.none(), required=False
    )
    purpose = forms.ChoiceField(
        label=_("购房目的"), choices=[("", "—"), *Purpose.choices], required=False
    )
    budget_max = forms.DecimalField(
        label=_("预算上限（万元）"), required=False, max_digits=10, decimal_places=2
    )
    wanted_area = forms.CharField(label=_("意向面积"), max_length=30, required=False)
    residence_district = forms.CharField(label=_("居住区域"), max_length=50, required=False)
    occupation = OpenChoiceField(label=_("职业"), choices=(), required=False)
    occupation_other = forms.CharField(
        label=_("其他职业"),
        max_length=50,
        required=False,
        help_text=_("职业选择“其他”时填写"),
    )
    phone2 = forms.CharField(label=_("备用电话"), max_length=30, required=False)
    age_band = forms.CharField(label=_("年龄段"), max_length=20, required=False)
    income_band = forms.CharField(label=_("收入段"), max_length=30, required=False)
    education = forms.ChoiceField(
        label=_("文化程度"), choices=[("", "—"), *Education.choices], required=False
    )
    work_district = forms.CharField(label=_("工作区域"), max_length=50, required=False)
    family_size = forms.IntegerField(label=_("家庭人数"), min_value=1, required=False)
    budget_min = forms.DecimalField(
        label=_("预算下限（万元）"), required=False, max_digits=10, decimal_places=2
    )
    floor_preference = forms.CharField(label=_("楼层偏好"), max_length=30, required=False)
    timing = forms.CharField(label=_("购房时间"), max_length=30, required=False)
    motive = forms.CharField(label=_("购房动机"), max_length=100, required=False)
    companions = forms.CharField(label=_("同行人"), max_length=100, required=False)
    consent = forms.BooleanField(
        label=_("客户已同意个人信息处理（登记身份证号时必须）"), required=False
    )
    id_number = forms.CharField(label=_("身份证号"), max_length=18, required=False)
    note = forms.CharField(
        label=_("备注"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )

    def __init__(self, *args, project=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = Channel.objects.filter(project=project, is_active=True)
        # the project's layouts, then 其他 (the layout in words)
        self.fields["wanted_layout"].choices = [
            ("", "—"),
            *(
                (n, n)
                for n in Layout.objects.filter(project=project).values_list("name", flat=True)
            ),
            (OTHER_LAYOUT, _("其他")),
        ]
        # the office's occupations (core.codelists), then 其他 (the occupation in words)
        listed = codelists.choices("occupation", project, blank=True)
        self.fields["occupation"].choices = [
            *(c for c in listed if c[0] != OTHER_OCCUPATION),
            *(c for c in listed if c[0] == OTHER_OCCUPATION),
        ]
        for name in ("name", "phone", "wanted_layout"):
            self.fields[name].required = False  # the service names what is missing


class FollowUpForm(forms.Form):
    way = OpenChoiceField(label=_("方式"), choices=())
    content = forms.CharField(
        label=_("内容"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    reaction = forms.CharField(label=_("客户反应"), max_length=200, required=False)
    next_step = forms.CharField(label=_("下一步"), max_length=200, required=False)
    next_date = forms.DateField(label=_("下次跟进日期"), required=False, widget=DateInput())

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        # the office's active ways; a retired or unknown one is left for the service to
        # refuse by name
        self.fields["way"].choices = codelists.choices("followup_way", project)


class CallForm(forms.Form):
    called_at = forms.DateTimeField(
        label=_("来电时间"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    phone = forms.CharField(label=_("来电号码"), max_length=30, required=False)
    name = forms.CharField(label=_("称呼"), max_length=50, required=False)
    question = forms.CharField(label=_("咨询内容"), max_length=200, required=False)
    channel = forms.ModelChoiceField(
        label=_("认知途径"), queryset=Channel.objects.none(), required=False
    )
    is_research = forms.BooleanField(label=_("同行调研"), required=False)
    competitor = forms.CharField(label=_("同行单位"), max_length=100, required=False)
    received_by = forms.ModelChoiceField(
        label=_("接听顾问"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("按轮次（当班顾问）"),
    )

    def __init__(self, *args, project, with_receiver=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = Channel.objects.filter(project=project, is_active=True)
        if with_receiver:
            self.fields["received_by"].queryset = eligible_users(project)
        else:
            del self.fields["received_by"]


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        name = obj.get_full_name()
        return name if obj.is_active else f"{name}（{_('已停用')}）"


class UsersChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name()


class HandoverForm(forms.Form):
    """Who leaves, how the three groups are handed over, and whether the account is
    deactivated in the same action."""

    from_user = UserChoiceField(label=_("离职顾问"), queryset=User.objects.none())
    mode = forms.ChoiceField(
        label=_("交接方式"),
        choices=HandoverMode.choices,
        initial=HandoverMode.BY_GROUP,
        widget=forms.RadioSelect,
    )
    calls_to = UserChoiceField(
        label=_("未成交来电交给"), queryset=User.objects.none(), required=False
    )
    open_to = UserChoiceField(
        label=_("未成交来访客户交给"), queryset=User.objects.none(), required=False
    )
    closed_to = UserChoiceField(
        label=_("已成交客户交给"), queryset=User.objects.none(), required=False
    )
    recipients = UsersChoiceField(
        label=_("平均分配给"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("按登记先后轮流分配给所选同事"),
    )
    deactivate = forms.BooleanField(
        label=_("同时停用该顾问的账号"),
        required=False,
        help_text=_("停用后其登录和 API 令牌立即失效，历史记录仍归属本人"),
    )
    note = forms.CharField(label=_("备注"), max_length=150, required=False)

    def __init__(self, *args, project, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from_user"].queryset = handover.departing_choices(project)
        recipients = handover.recipient_choices(project)
        for name in ("calls_to", "open_to", "closed_to", "recipients"):
            self.fields[name].queryset = recipients

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        kwargs = {
            "from_user": data["from_user"],
            "mode": data["mode"],
            "deactivate": data["deactivate"],
            "note": data["note"],
        }
        if data["mode"] == HandoverMode.BY_GROUP:
            kwargs["to"] = {g: data[name] for g, name in handover.GROUP_FIELDS.items()}
        else:
            kwargs["recipients"] = list(data["recipients"])
        return kwargs
