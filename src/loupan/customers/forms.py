from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Channel, Education, FollowUpWay, Gender, Grade, Purpose


class RegisterForm(forms.Form):
    """Visit registration 来访登记: name, mobile and wanted layout are required."""

    name = forms.CharField(label=_("姓名或称呼"), max_length=50)
    phone = forms.CharField(label=_("手机号"), max_length=30)
    wanted_layout = forms.CharField(label=_("意向户型"), max_length=50)
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
    occupation = forms.CharField(label=_("职业"), max_length=50, required=False)
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
        for name in ("name", "phone", "wanted_layout"):
            self.fields[name].required = False  # the service names what is missing


class FollowUpForm(forms.Form):
    way = forms.ChoiceField(label=_("方式"), choices=FollowUpWay.choices)
    content = forms.CharField(
        label=_("内容"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    reaction = forms.CharField(label=_("客户反应"), max_length=200, required=False)
    next_step = forms.CharField(label=_("下一步"), max_length=200, required=False)
    next_date = forms.DateField(
        label=_("下次跟进日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
