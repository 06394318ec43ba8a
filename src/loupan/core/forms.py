"""Form pieces every app's pages share."""

from django import forms


class DateInput(forms.DateInput):
    """The browser's date picker: its value is ISO (YYYY-MM-DD) whatever the page's
    language, as ``<input type="date">`` requires (the zh-hans format 2026/12/06 would
    leave it empty)."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class OpenChoiceField(forms.ChoiceField):
    """A select of the choices offered now (a code list's active entries, the project's
    layouts) that passes any other value on to the service, which refuses it naming the
    field with its specific code (``code_retired``, ``code_unknown``, ``layout_unknown``)
    instead of the form's generic "not one of the choices"."""

    def valid_value(self, value):
        return True
