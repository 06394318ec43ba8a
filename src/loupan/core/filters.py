"""Pieces the apps' filter sets share."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _


class YesNoFilter(django_filters.BooleanFilter):
    """A yes/no filter whose empty choice reads 全部 (Django's own select calls it
    "Unknown", 未知, which is not what an unset filter means)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget",
            forms.Select(choices=[("", _("全部")), ("true", _("是")), ("false", _("否"))]),
        )
        super().__init__(*args, **kwargs)
