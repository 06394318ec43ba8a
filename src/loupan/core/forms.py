"""Form pieces every app's pages share."""

from django import forms


class DateInput(forms.DateInput):
    """The browser's date picker: its value is ISO (YYYY-MM-DD) whatever the page's
    language, as ``<input type="date">`` requires (the zh-hans format 2026/12/06 would
    leave it empty)."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")
