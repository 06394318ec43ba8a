"""The shared date picker keeps an ISO value in every language (a zh-hans 2026/12/06
would leave ``<input type="date">`` empty: the signing date of the contract form)."""

import datetime

from django import forms
from django.utils import translation

from loupan.core.forms import DateInput


class _Form(forms.Form):
    on = forms.DateField(widget=DateInput())


def test_the_date_picker_value_is_iso_in_chinese_and_english():
    for language in ("zh-hans", "en"):
        with translation.override(language):
            html = str(_Form(initial={"on": datetime.date(2026, 12, 6)})["on"])
        assert 'type="date"' in html and 'value="2026-12-06"' in html, (language, html)
