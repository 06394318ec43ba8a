"""Pages for intended units 意向房源, the 撞车 list, and problem customers 问题客户. Thin:
every write is a service in ``customers.intentions``; the customer page shows both parts
through the ``customers_extras`` template tags."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loupan.core.errors import invalid
from loupan.core.pages import project_page, run_action
from loupan.inventory.models import Unit

from . import intentions as svc
from . import selectors
from .models import IntendedUnit
from .views import SEE, _customer


def _unit_from_post(request, project):
    """The unit named in the form: its number 房间编号 in this project (the form lists
    them), or its id."""
    value = (request.POST.get("unit") or "").strip()
    if not value:
        raise invalid("unit", _("请填写房间编号"), _("房间：请填写房间编号"))
    units = Unit.objects.filter(project=project)
    unit = units.filter(number=value).first()
    if unit is None and value.isdigit():
        unit = units.filter(pk=int(value)).first()
    if unit is None:
        raise invalid(
            "unit", _("本项目没有该房间"), _("房间：本项目没有房间 %(number)s") % {"number": value}
        )
    return unit


@require_POST
@project_page(*SEE)
def intended_unit_add(request, project, pk):
    customer = _customer(request, project, pk)
    ok, intended = run_action(
        request,
        lambda: svc.intended_unit_add(
            actor=request.user, customer=customer, unit=_unit_from_post(request, project)
        ),
        success=lambda i: _("已登记意向房源 %(unit)s。") % {"unit": i.unit.number},
    )
    rivals = svc.rival_owners(intended) if ok else []
    if rivals:
        messages.warning(
            request,
            _("撞车：%(unit)s 也是 %(names)s 的客户的意向房源，请与销控协调。")
            % {"unit": intended.unit.number, "names": "、".join(rivals)},
        )
    return redirect(customer)


@require_POST
@project_page(*SEE)
def intended_unit_remove(request, project, pk, unit_pk):
    customer = _customer(request, project, pk)
    intended = get_object_or_404(
        IntendedUnit.objects.select_related("customer", "unit"), customer=customer, unit_id=unit_pk
    )
    run_action(
        request,
        lambda: svc.intended_unit_remove(actor=request.user, intended=intended),
        success=_("已移除意向房源 %(unit)s。") % {"unit": intended.unit.number},
    )
    return redirect(customer)


@project_page(*SEE)
def conflict_list(request, project):
    """撞车: units that customers of two or more consultants want. A consultant sees those
    of their own customers; the sales admin, supervisors and managers all of them."""
    return render(
        request,
        "customers/conflict_list.html",
        {
            "project": project,
            "conflicts": svc.conflict_list(user=request.user, project=project),
            "see_all": svc.sees_all_conflicts(request.user, project),
        },
    )


@require_POST
@project_page(*SEE)
def problem_flag(request, project, pk):
    customer = _customer(request, project, pk)
    run_action(
        request,
        lambda: svc.problem_flag(
            actor=request.user, customer=customer, problem=request.POST.get("problem", "")
        ),
        success=_("已标记为问题客户并上报经理。"),
    )
    return redirect(customer)


@require_POST
@project_page(*SEE)
def problem_resolve(request, project, pk):
    customer = _customer(request, project, pk)
    run_action(
        request,
        lambda: svc.problem_resolve(
            actor=request.user, customer=customer, resolution=request.POST.get("resolution", "")
        ),
        success=_("问题已处理：%(name)s。") % {"name": customer.name},
    )
    if request.POST.get("next") == "list":
        return redirect("customers:problem_list", project.pk)
    return redirect(customer)


@project_page(*SEE, when=svc.can_view_problems)
def problem_list(request, project):
    """问题客户一览表 (seed 002 二.6) for the supervisors, the manager and the director."""
    customers = list(svc.problem_customers(user=request.user, project=project))
    flagged = svc.flagged_by(customers)
    rows = [(c, selectors.contact(request.user, c), flagged.get(c.pk, "")) for c in customers]
    return render(
        request,
        "customers/problem_list.html",
        {
            "project": project,
            "rows": rows,
            "can_resolve": svc.can_resolve_problem(request.user, project),
            "resolved": svc.recent_resolutions(project),
        },
    )
