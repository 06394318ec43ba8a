"""The payment settings page 收款设置 and the purchase plan 置业计划 (issue 13).

* 收款设置 (``payments:payment_settings``): shown to whoever sees the project's money
  (``payment.view``) or configures it (``payment.configure``), read-only for the former;
  saved only by ``payment.configure`` (sales manager, director) — anyone else's POST is a
  403 (a consultant, who sees neither, a 404). The fee tables 税费标准 are edited on the
  same page (add a row, delete a row).
* 置业计划 (``payments:purchase_plan``, ``payments:purchase_plan_print``): anyone who may
  see the units (``unit.view``, consultants included). A GET form and its result; the
  printable sheet takes the same query string. Both only compute: a GET writes nothing.
  A plan shows the list price and the discounted price, never the floor price.

Every write is a service of ``payments.plans``, which checks it.
"""

from django import forms
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_GET, require_POST

from loupan.accounts import access
from loupan.core.errors import DomainError
from loupan.core.pages import project_page, require, run_action
from loupan.core.views import form_error
from loupan.deals.models import PaymentMethod

from . import plans
from .calculator import MAX_YEARS, MIN_YEARS
from .models import FeeBasis, FeeKind, FeeRate, HomeOrder, PaymentSettings
from .schedule import settings_of

SEE_SETTINGS = ("payment.view", "payment.configure")
settings_page = project_page(*SEE_SETTINGS)
settings_action = project_page(*SEE_SETTINGS, act="payment.configure")
plan_page = project_page("unit.view")

# The rates the plan form starts with (the consultant types the bank's own): the 5-year
# LPR from 2025-05-20 (3.5%) and the provident-fund rate for a first home over 5 years
# from 2025-05-08 (2.6%).
INITIAL_COMMERCIAL_RATE = "3.5"
INITIAL_PROVIDENT_RATE = "2.6"


# --- forms (they only parse; the rules are the services') ---------------------------------


class SettingsForm(forms.ModelForm):
    """Parsed here, checked by ``plans.payment_settings_save``."""

    class Meta:
        model = PaymentSettings
        fields = list(plans.SETTINGS_LABELS)

    def _post_clean(self):
        """No model validation here: the service checks the values, with reasons that
        name the field in Chinese."""


class FeeRateForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("费用"), choices=FeeKind.choices)
    home = forms.ChoiceField(label=gettext_lazy("套数"), choices=HomeOrder.choices)
    area_min = forms.DecimalField(label=gettext_lazy("面积超过（㎡）"), required=False, initial="0")
    area_max = forms.DecimalField(
        label=gettext_lazy("面积至（含，㎡）"),
        required=False,
        help_text=gettext_lazy("留空表示不设上限"),
    )
    basis = forms.ChoiceField(label=gettext_lazy("计费方式"), choices=FeeBasis.choices)
    rate = forms.DecimalField(label=gettext_lazy("费率"))


class PlanForm(forms.Form):
    """The plan's inputs: the unit (grouped by building), discounts, payment method,
    first or second home, down payment, term and rates."""

    unit = forms.TypedChoiceField(label=gettext_lazy("房间"), coerce=int)
    discounts = forms.MultipleChoiceField(
        label=gettext_lazy("折扣"), required=False, widget=forms.CheckboxSelectMultiple
    )
    method = forms.ChoiceField(
        label=gettext_lazy("付款方式"),
        choices=[(m.value, m.label) for m in plans.PLAN_METHODS],
        initial=PaymentMethod.COMMERCIAL,
        widget=forms.RadioSelect,
    )
    home = forms.ChoiceField(
        label=gettext_lazy("购房套数"),
        choices=[(h.value, h.label) for h in (HomeOrder.FIRST, HomeOrder.SECOND)],
        initial=HomeOrder.FIRST,
        widget=forms.RadioSelect,
    )
    down_payment_pct = forms.DecimalField(label=gettext_lazy("首付比例（%）"), required=False)
    down_payment = forms.DecimalField(
        label=gettext_lazy("或首付金额（元）"),
        required=False,
        help_text=gettext_lazy("填写金额时以金额为准"),
    )
    years = forms.IntegerField(label=gettext_lazy("贷款年限（年）"), initial=MAX_YEARS)
    commercial_rate = forms.DecimalField(
        label=gettext_lazy("商贷年利率（%）"), required=False, initial=INITIAL_COMMERCIAL_RATE
    )
    provident_rate = forms.DecimalField(
        label=gettext_lazy("公积金年利率（%）"), required=False, initial=INITIAL_PROVIDENT_RATE
    )
    provident_amount = forms.DecimalField(
        label=gettext_lazy("组合贷中公积金贷款金额（元）"), required=False
    )

    def __init__(self, *args, units=(), discount_types=(), min_pct=None, **kwargs):
        super().__init__(*args, **kwargs)
        groups: dict[str, list] = {}
        for unit in units:
            label = f"{unit.number} · {unit.gross_area}㎡ · {unit.list_price:,.2f}"
            groups.setdefault(unit.building.name, []).append((unit.pk, label))
        self.fields["unit"].choices = [("", "—")] + list(groups.items())
        self.fields["discounts"].choices = [
            (str(t.pk), f"{t.name}（{_discount_text(t)}）") for t in discount_types
        ]
        if min_pct is not None:
            self.fields["down_payment_pct"].initial = plans.number_text(min_pct)
        self.fields["years"].widget.attrs.update(min=MIN_YEARS, max=MAX_YEARS)
        for name in ("down_payment_pct", "commercial_rate", "provident_rate"):
            self.fields[name].widget.attrs.update(min="0", step="0.01", inputmode="decimal")
        for name in ("down_payment", "provident_amount"):
            self.fields[name].widget.attrs.update(min="0", step="0.01", inputmode="decimal")

    def arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "discounts": [int(pk) for pk in data.get("discounts") or ()],
            "method": data["method"],
            "home": data["home"],
            "down_payment_pct": data.get("down_payment_pct"),
            "down_payment": data.get("down_payment"),
            "years": data["years"],
            "commercial_rate": data.get("commercial_rate"),
            "provident_rate": data.get("provident_rate"),
            "provident_amount": data.get("provident_amount"),
        }


def _discount_text(discount_type) -> str:
    if discount_type.kind == "percent":
        return f"{plans.number_text(discount_type.value)}%"
    return _("减 %(amount)s 元") % {"amount": f"{discount_type.value:,.2f}"}


def _setting_text(name: str, value) -> str:
    if name == "late_fee_daily_pct":
        return _("%(rate)s%%/日") % {"rate": plans.number_text(value)} if value else _("不收")
    if name.startswith("min_down_pct"):
        return f"{plans.number_text(value)}%"
    return pgettext("a number of days", "%(n)s 天") % {"n": value}


# --- 收款设置 ------------------------------------------------------------------------------


def _settings_context(request, project, *, settings_form=None, fee_form=None) -> dict:
    may_configure = access.has_perm(request.user, "payment.configure", project)
    current = settings_of(project)
    rows = plans.fee_table(project)
    return {
        "project": project,
        "may_configure": may_configure,
        "current": current,
        "settings_values": [
            (plans.SETTINGS_LABELS[name], _setting_text(name, getattr(current, name)), name)
            for name in plans.SETTINGS_LABELS
        ],
        "settings_form": settings_form or SettingsForm(instance=current),
        "fee_rows": [(row, plans.band_text(row), plans.rate_text(row)) for row in rows],
        "fee_form": fee_form or FeeRateForm(),
    }


@settings_page
def payment_settings(request, project):
    """The settings and fee tables; a POST saves the settings (``payment.configure``)."""
    if request.method != "POST":
        return render(
            request, "payments/settings_payment.html", _settings_context(request, project)
        )
    require(request.user, project, "payment.configure")
    form = SettingsForm(request.POST, instance=PaymentSettings(project=project))
    if (
        form.is_valid()
        and run_action(
            request,
            lambda: plans.payment_settings_save(
                actor=request.user, project=project, **form.cleaned_data
            ),
            success=_("已保存收款设置。"),
            form=form,
        )[0]
    ):
        return redirect("payments:payment_settings", project.pk)
    return render(
        request,
        "payments/settings_payment.html",
        _settings_context(request, project, settings_form=form),
        status=400,
    )


@require_POST
@settings_action
def fee_rate_add(request, project):
    """Add a row to the fee tables."""
    form = FeeRateForm(request.POST)
    if (
        form.is_valid()
        and run_action(
            request,
            lambda: plans.fee_rate_save(
                actor=request.user, project=project, data=dict(form.cleaned_data)
            ),
            success=_("已添加税费标准。"),
            form=form,
        )[0]
    ):
        return redirect("payments:payment_settings", project.pk)
    return render(
        request,
        "payments/settings_payment.html",
        _settings_context(request, project, fee_form=form),
        status=400,
    )


@require_POST
@settings_action
def fee_rate_delete(request, project, pk):
    """Delete a row of the fee tables."""
    row = get_object_or_404(FeeRate.objects.filter(project=project), pk=pk)
    run_action(
        request,
        lambda: plans.fee_rate_delete(actor=request.user, fee_rate=row),
        success=_("已删除税费标准。"),
    )
    return redirect("payments:payment_settings", project.pk)


# --- 置业计划 ------------------------------------------------------------------------------


def _plan(request, project):
    """The form and, when the query string carries a unit, the plan (or the reasons
    next to the fields)."""
    units = list(plans.plan_units(request.user, project))
    discount_types = list(plans.plan_discounts(project))
    settings = settings_of(project)
    submitted = "unit" in request.GET
    form = PlanForm(
        request.GET if submitted else None,
        units=units,
        discount_types=discount_types,
        min_pct=settings.min_down_pct_first,
    )
    plan = None
    if submitted and form.is_valid():
        unit = next(u for u in units if u.pk == form.cleaned_data["unit"])
        try:
            plan = plans.purchase_plan(project=project, unit=unit, **form.arguments())
        except DomainError as exc:
            form_error(form, exc)
    return form, plan, settings


@require_GET
@plan_page
def purchase_plan(request, project):
    """The plan form and its result."""
    form, plan, settings = _plan(request, project)
    return render(
        request,
        "payments/plan.html",
        {
            "project": project,
            "form": form,
            "plan": plan,
            "settings": settings,
            "min_first": plans.number_text(settings.min_down_pct_first),
            "min_second": plans.number_text(settings.min_down_pct_second),
            "query": request.GET.urlencode(),
            "may_see_settings": any(
                access.has_perm(request.user, code, project) for code in SEE_SETTINGS
            ),
        },
    )


@require_GET
@plan_page
def purchase_plan_print(request, project):
    """The printable 置业计划书 for the same query string; without a valid plan, the
    form with its reasons."""
    if not request.GET:
        return redirect("payments:purchase_plan", project.pk)
    form, plan, settings = _plan(request, project)
    if plan is None:
        return render(
            request,
            "payments/plan.html",
            {
                "project": project,
                "form": form,
                "plan": None,
                "min_first": plans.number_text(settings.min_down_pct_first),
                "min_second": plans.number_text(settings.min_down_pct_second),
            },
            status=400,
        )
    return render(
        request,
        "payments/plan_print.html",
        {
            "project": project,
            "plan": plan,
            "consultant": request.user,
            "printed_at": timezone.localtime(),
            "back": request.GET.urlencode(),
        },
    )
