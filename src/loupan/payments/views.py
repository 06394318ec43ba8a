"""The mortgage calculator page 房贷计算器 (issue 13): any signed-in user, not tied to a
project. The form is sent by GET (a calculation writes nothing, and its URL can be kept
or shared); htmx swaps in the form and its result without reloading the page."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from loupan.core.errors import DomainError
from loupan.core.pages import site_page

from . import calculator
from .forms import MortgageForm

# The schedule table shows the first year and the last month; <details> shows them all.
HEAD_MONTHS = 12


@require_GET
@site_page()
def mortgage_calculator(request):
    """The form, and with values in the query string, the repayment and its schedule."""
    result = None
    submitted = "years" in request.GET
    form = MortgageForm(request.GET if submitted else None)
    if submitted and form.is_valid():
        try:
            result = calculator.mortgage(
                method=form.cleaned_data["method"], years=form.cleaned_data["years"], **form.loans()
            )
        except DomainError as exc:
            for path, reasons in exc.fields.items():
                field = form.field_of(path)
                for reason in reasons:
                    form.add_error(field if field in form.fields else None, reason)
    context = {
        "form": form,
        "result": result,
        "head": result.schedule[:HEAD_MONTHS] if result else [],
        "tail": result.schedule[HEAD_MONTHS:][-1:] if result else [],
        "skipped": max(len(result.schedule) - HEAD_MONTHS - 1, 0) if result else 0,
    }
    # htmx swaps the form and its result in place; restoring a page from the browser's
    # history (a cache miss) asks for the whole page.
    partial = request.htmx and not request.htmx.history_restore_request
    template = "payments/parts/calculator.html" if partial else "payments/calculator.html"
    # 200 with the reasons next to the fields: htmx swaps in only a successful response.
    return render(request, template, context)
