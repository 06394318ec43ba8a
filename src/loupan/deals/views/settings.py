"""交易设置, for those who may configure deals on the project (``deal.configure``): the
reservation time, signing period and deposit cap; the discount authority of each level
of the approval chain; the project's discount types. Every change is a service of
``deals.settings_services``, which checks it."""

from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loupan.accounts.role_table import role_label
from loupan.core.pages import project_page, run_action

from .. import rules, settings_services
from ..forms import AuthorityForm, DiscountTypeForm, PolicyForm
from ..models import DiscountType

settings_page = project_page(act="deal.configure")


def _page(request, project, *, status=200, policy_form=None, authority_form=None):
    levels = [(code, role_label(code), rules.authority(project, code)) for code in rules.chain()]
    return render(
        request,
        "deals/deal_settings.html",
        {
            "project": project,
            "policy_form": policy_form or PolicyForm(instance=rules.policy(project)),
            "authority_form": authority_form or AuthorityForm(levels=levels),
            "discount_types": DiscountType.objects.filter(project=project).order_by(
                "-is_active", "sort_order", "pk"
            ),
            "type_form": DiscountTypeForm(),
        },
        status=status,
    )


def _back(project):
    return redirect("deals:deal_settings", project.pk)


@settings_page
def deal_settings(request, project):
    """The page, and the deal policy it saves."""
    if request.method != "POST":
        return _page(request, project)
    form = PolicyForm(request.POST, instance=rules.policy(project))
    if (
        form.is_valid()
        and run_action(
            request,
            lambda: settings_services.deal_policy_update(
                actor=request.user, project=project, **form.cleaned_data
            ),
            success=_("已保存交易设置。"),
            form=form,
        )[0]
    ):
        return _back(project)
    return _page(request, project, status=400, policy_form=form)


@require_POST
@settings_page
def deal_settings_authority(request, project):
    """The discount authority (%) of each level of the chain."""
    levels = [(code, role_label(code), None) for code in rules.chain()]
    form = AuthorityForm(request.POST, levels=levels)
    if (
        form.is_valid()
        and run_action(
            request,
            lambda: settings_services.discount_authority_set(
                actor=request.user, project=project, max_pcts=form.cleaned_data
            ),
            success=_("已保存折扣权限。"),
            form=form,
        )[0]
    ):
        return _back(project)
    return _page(request, project, status=400, authority_form=form)


def _type_data(form) -> dict:
    data = dict(form.cleaned_data)
    if data.get("value") is None:
        data["value"] = ""
    return data


@settings_page
def discount_type_form(request, project, pk=None):
    """Add a discount type, or edit one (``pk``)."""
    instance = (
        get_object_or_404(DiscountType.objects.filter(project=project), pk=pk) if pk else None
    )
    # a ModelForm writes what it parsed into its instance: it gets a copy, the service
    # the row as stored
    form = DiscountTypeForm(
        request.POST or None,
        instance=DiscountType.objects.get(pk=instance.pk) if instance else None,
    )

    def save():
        if instance is None:
            return settings_services.discount_type_create(
                actor=request.user, project=project, data=_type_data(form)
            )
        return settings_services.discount_type_update(
            actor=request.user, discount_type=instance, data=_type_data(form)
        )

    if (
        request.method == "POST"
        and form.is_valid()
        and run_action(request, save, success=_("已保存折扣类型。"), form=form)[0]
    ):
        return _back(project)
    return render(
        request,
        "deals/discount_type_form.html",
        {"project": project, "form": form, "object": instance},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@settings_page
def discount_type_active(request, project, pk):
    """Offer a discount type again, or stop offering it (it is never deleted)."""
    discount_type = get_object_or_404(DiscountType.objects.filter(project=project), pk=pk)
    active = request.POST.get("active") == "1"
    run_action(
        request,
        lambda: settings_services.discount_type_set_active(
            actor=request.user, discount_type=discount_type, active=active
        ),
        success=(_("已启用「%(n)s」。") if active else _("已停用「%(n)s」。"))
        % {"n": discount_type.name},
    )
    return _back(project)
