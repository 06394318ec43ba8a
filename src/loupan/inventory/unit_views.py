"""Pages for buildings, layouts, units, the sales-control board, holds and release plans."""

import datetime

from django.forms import formset_factory
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loupan.accounts import access
from loupan.audit.views import object_history
from loupan.core.errors import DomainError
from loupan.core.masking import can_see_floor_price
from loupan.core.pages import ProjectListView, id_query, project_page, run_action
from loupan.core.uploads import serve_document
from loupan.core.views import query_without_page

from . import board as board_mod
from . import services
from .filters import UnitFilterSet
from .forms import (
    BuildingForm,
    BulkEditForm,
    GenerateForm,
    GeneratePositionForm,
    HoldForm,
    LayoutForm,
    PhaseForm,
    ReleasePlanForm,
    UnitForm,
)
from .models import Building, Layout, ReleasePlan, Unit, UnitStatus

# The board and the units are confidential (seed 000): a member of the project without
# unit.view does not learn they exist (404). Editing pages ask for unit.change (403).
SEE = "unit.view"


def _selected_ids(request):
    try:
        return [int(v) for v in request.POST.getlist("units") if v]
    except ValueError as exc:
        raise Http404 from exc


# --- board ------------------------------------------------------------------------------


def _building_id(request) -> int | None:
    """The board's ``?building=`` (an id) or None; anything that cannot be an id is a
    bad request (400) naming the parameter, never a server error."""
    return id_query(request, "building")


@project_page(SEE)
def board(request, project):
    """销控表: every unit as a coloured cell, floor by floor, with filters, legend and
    statistics. Confidential: only staff holding ``unit.view`` on the project."""
    building_id = _building_id(request)
    building = None
    if building_id is not None:
        building = get_object_or_404(Building.objects.filter(project=project), pk=building_id)
    filterset = UnitFilterSet(
        request.GET or None, queryset=Unit.objects.filter(project=project), project=project
    )
    matching = set(filterset.qs.values_list("id", flat=True)) if filterset.is_filtering() else None
    grids, rows = board_mod.build_board(project, building=building, matching_ids=matching)
    context = {
        "project": project,
        "building": building,
        "buildings": Building.objects.filter(project=project).order_by("sort_order", "name"),
        "grids": grids,
        "legend": board_mod.legend(rows),
        "stats": board_mod.statistics(rows, [g.building for g in grids]),
        "filter": filterset,
        "cursor": _cursor(rows),
        "query": request.GET.urlencode(),
        "can_hold": access.has_perm(request.user, "unit.hold", project),
    }
    return render(request, "inventory/board.html", context)


def _cursor(rows):
    latest = max((r["updated_at"] for r in rows), default=None)
    return (latest or timezone.now()).isoformat()


def _since(request):
    """The feed's cursor; an unreadable one (also a well-formed but impossible date such
    as month 13) is none: the feed starts from a few seconds ago."""
    try:
        return parse_datetime(request.GET.get("since", ""))
    except ValueError:
        return None


@project_page(SEE)
def board_changes(request, project):
    """The live part of the board: cells changed since ``since`` (swapped in place by
    htmx every few seconds) and the refreshed legend."""
    building_id = _building_id(request)
    since = _since(request) or timezone.now() - datetime.timedelta(seconds=10)
    qs = Unit.objects.filter(project=project, updated_at__gt=since)
    if building_id is not None:
        qs = qs.filter(building_id=building_id)
    changed = board_mod.board_values(qs)
    legend = None
    cursor = since.isoformat()
    if changed:
        cursor = _cursor(changed)
        legend = board_mod.legend(board_mod.unit_rows(project))
    cells = [board_mod.Cell(row) for row in changed]
    return render(
        request,
        "inventory/board_changes.html",
        {
            "project": project,
            "cells": cells,
            "legend": legend,
            "cursor": cursor,
            "query": query_without_page(request),
        },
    )


# --- units ------------------------------------------------------------------------------


class UnitListView(ProjectListView):
    """The units of the project with the board's filters, and the bulk actions."""

    see = (SEE,)
    filterset_class = UnitFilterSet
    template_name = "inventory/unit_list.html"
    ordering = ("building__sort_order", "building__name", "stair", "-floor", "room")
    per_page = 100

    def get_queryset(self):
        return (
            Unit.objects.restrict(self.request.user, "view")
            .filter(project=self.project)
            .select_related("building", "layout")
        )

    def get_filterset(self, queryset):
        return UnitFilterSet(self.request.GET or None, queryset=queryset, project=self.project)

    def get_context_data(self, **context):
        return {
            **context,
            "perms": access.perms_in(self.request.user, self.project),
            "show_floor_price": can_see_floor_price(self.request.user, self.project),
            "hold_form": HoldForm(),
            "bulk_form": BulkEditForm(),
            "plan_form": ReleasePlanForm(),
        }


unit_list = UnitListView.as_view()


@require_POST
@project_page(SEE)
def unit_bulk(request, project):
    """One action on the selected units: release, hold, unhold, bulk edit, release plan."""
    ids = _selected_ids(request)
    _run_unit_action(
        request, project, request.POST.get("action"), ids, _("%(n)s 套") % {"n": len(ids)}
    )
    nxt = request.POST.get("next") or ""
    return redirect(
        nxt
        if nxt.startswith("/") and not nxt.startswith("//")
        else f"/projects/{project.pk}/units/"
    )


def _run_unit_action(request, project, action, ids, what) -> None:
    """Do ``action`` on the units ``ids`` and say so (``what`` names them)."""
    run_action(
        request,
        lambda: _unit_action(request, project, action, ids),
        success=lambda done: done % {"what": what},
    )


def _unit_action(request, project, action, ids) -> str:
    """The service call of ``action`` on the units ``ids``; returns what to say when done."""
    post, actor = request.POST, request.user
    if action == "release":
        services.units_release(actor=actor, project=project, unit_ids=ids)
        return _("已推盘 %(what)s。")
    if action == "withdraw":
        services.units_withdraw(
            actor=actor, project=project, unit_ids=ids, reason=post.get("reason", "")
        )
        return _("已设为未推 %(what)s。")
    if action == "hold":
        form = HoldForm(post)
        if not form.is_valid():
            raise DomainError("invalid", _("请填写保留原因。"), {"reason": [_("请填写保留原因")]})
        services.units_hold(
            actor=actor,
            project=project,
            unit_ids=ids,
            reason=form.cleaned_data["reason"],
            until=form.cleaned_data["until"],
        )
        return _("已保留 %(what)s。")
    if action == "unhold":
        services.units_unhold(
            actor=actor, project=project, unit_ids=ids, reason=post.get("reason", "")
        )
        return _("已释放 %(what)s。")
    if action == "edit":
        form = BulkEditForm(post)
        if not form.is_valid():
            raise DomainError("invalid", _("请选择字段。"), {"field": [_("请选择字段")]})
        field = form.cleaned_data["field"]
        value = _bulk_value(project, field, form.cleaned_data["value"])
        services.units_bulk_update(actor=actor, project=project, unit_ids=ids, data={field: value})
        return _("已修改 %(what)s。")
    if action == "plan":
        form = ReleasePlanForm(post)
        if not form.is_valid():
            raise DomainError(
                "invalid", _("请填写名称和释放时间。"), {"release_at": [_("请填写释放时间")]}
            )
        services.release_plan_create(
            actor=actor,
            project=project,
            name=form.cleaned_data["name"],
            release_at=form.cleaned_data["release_at"],
            unit_ids=ids,
        )
        return _("已为 %(what)s 制定释放计划。")
    raise Http404


def _bulk_value(project, field, raw):
    """Turn the bulk edit's text value into the field's Python value (validated by the
    model field, errors named after the field)."""
    from django.core.exceptions import ValidationError

    model_field = Unit._meta.get_field(field)
    if field == "layout":
        if not raw:
            return None
        layout = Layout.objects.filter(project=project, name=raw.strip()).first()
        if layout is None:
            raise DomainError(
                "invalid", _("未知户型：%(v)s") % {"v": raw}, {"value": [_("未知户型")]}
            )
        return layout
    if field == "sellable":
        return raw.strip() in ("1", "true", "True", "是", "可售")
    if model_field.choices:
        lookup = {str(lbl): val for val, lbl in model_field.choices}
        raw = lookup.get(raw.strip(), raw.strip())
    try:
        value = model_field.to_python(raw if raw != "" else None)
        if value is None and not model_field.null:
            value = ""
        model_field.run_validators(value) if value not in (None, "") else None
        if (
            model_field.choices
            and value not in dict(model_field.choices)
            and value not in ("", None)
        ):
            raise ValidationError(_("无效的选项"))
    except ValidationError as exc:
        raise DomainError(
            "invalid", f"{model_field.verbose_name}：{exc.messages[0]}", {"value": exc.messages}
        ) from exc
    return value


@project_page(SEE)
def unit_detail(request, project, pk):
    unit = get_object_or_404(
        Unit.objects.filter(project=project).select_related(
            "building", "layout", "attached_to", "held_by"
        ),
        pk=pk,
    )
    perms = access.perms_in(request.user, project)
    return render(
        request,
        "inventory/unit_detail.html",
        {
            "project": project,
            "object": unit,
            "perms": perms,
            "show_floor_price": can_see_floor_price(request.user, project),
            "price_changes": unit.price_changes.select_related("actor", "price_list")[:50],
            "status_changes": unit.status_changes.select_related("actor")[:50],
            "attachments": unit.attachments.all(),
            "hold_form": HoldForm(),
        },
    )


@project_page(SEE)
def unit_card(request, project, pk):
    """The card a board cell opens (htmx partial)."""
    unit = get_object_or_404(
        Unit.objects.filter(project=project).select_related("building", "layout", "held_by"), pk=pk
    )
    return render(
        request,
        "inventory/unit_card.html",
        {
            "project": project,
            "object": unit,
            "perms": access.perms_in(request.user, project),
            "show_floor_price": can_see_floor_price(request.user, project),
            "hold_form": HoldForm(),
        },
    )


@project_page(act="unit.change")
def unit_edit(request, project, pk):
    unit = get_object_or_404(Unit.objects.filter(project=project), pk=pk)
    show_floor = can_see_floor_price(request.user, project)
    form = UnitForm(
        request.POST or None,
        instance=Unit.objects.get(pk=unit.pk),
        project=project,
        show_floor_price=show_floor,
    )
    if request.method == "POST" and form.is_valid():
        ok, _result = run_action(
            request,
            lambda: services.unit_update(actor=request.user, unit=unit, data=form.cleaned_data),
            success=_("已保存。"),
            form=form,
        )
        if ok:
            return redirect(unit)
    return render(
        request,
        "inventory/simple_form.html",
        {
            "project": project,
            "form": form,
            "title": _("编辑房间 %(n)s") % {"n": unit.number},
            "cancel_url": unit.get_absolute_url(),
        },
    )


def may_see_history(user, project, pk=None) -> bool:
    """A unit's 历史 tab: for whoever reads the audit trail or edits the units."""
    return access.has_perm(user, "audit.view", project) or access.has_perm(
        user, "unit.change", project
    )


@project_page(SEE, when=may_see_history)
def unit_history(request, project, pk):
    unit = get_object_or_404(Unit.objects.filter(project=project), pk=pk)
    return object_history(request, unit, allowed=True)


# --- buildings, layouts, phases -------------------------------------------------------


@project_page(SEE)
def building_list(request, project):
    from django.db.models import Count

    buildings = (
        Building.objects.filter(project=project)
        .select_related("phase", "permit")
        .annotate(unit_count=Count("units"))
        .order_by("sort_order", "name")
    )
    return render(
        request,
        "inventory/building_list.html",
        {
            "project": project,
            "buildings": buildings,
            "layouts": Layout.objects.filter(project=project).annotate(unit_count=Count("units")),
            "phases": project.phases.all(),
            "perms": access.perms_in(request.user, project),
        },
    )


def _simple_form(request, project, form, service, title, success_url):
    if request.method == "POST" and form.is_valid():
        ok, obj = run_action(
            request, lambda: service(form.cleaned_data), success=_("已保存。"), form=form
        )
        if ok:
            return redirect(success_url(obj))
    return render(
        request,
        "inventory/simple_form.html",
        {
            "project": project,
            "form": form,
            "title": title,
            "cancel_url": f"/projects/{project.pk}/buildings/",
        },
    )


@project_page(act="unit.change")
def building_form(request, project, pk=None):
    building = get_object_or_404(Building.objects.filter(project=project), pk=pk) if pk else None
    form = BuildingForm(
        request.POST or None, instance=Building.objects.get(pk=pk) if pk else None, project=project
    )

    def service(data):
        if building:
            return services.building_update(actor=request.user, building=building, data=data)
        return services.building_create(actor=request.user, project=project, data=data)

    return _simple_form(
        request,
        project,
        form,
        service,
        _("编辑楼栋") if building else _("新建楼栋"),
        lambda b: f"/projects/{project.pk}/buildings/",
    )


@project_page(act="unit.change")
def layout_form(request, project, pk=None):
    layout = get_object_or_404(Layout.objects.filter(project=project), pk=pk) if pk else None
    form = LayoutForm(
        request.POST or None,
        request.FILES or None,
        instance=Layout.objects.get(pk=pk) if pk else None,
    )

    def service(data):
        if layout:
            return services.layout_update(actor=request.user, layout=layout, data=data)
        return services.layout_create(actor=request.user, project=project, data=data)

    return _simple_form(
        request,
        project,
        form,
        service,
        _("编辑户型") if layout else _("新建户型"),
        lambda obj: f"/projects/{project.pk}/buildings/",
    )


@project_page(SEE)
def layout_plan(request, project, pk):
    """The layout's plan image, served only to staff who may see the project's units."""
    layout = get_object_or_404(Layout.objects.filter(project=project).exclude(plan=""), pk=pk)
    return serve_document(layout.plan)


@project_page(act="unit.change")
def phase_form(request, project):
    form = PhaseForm(request.POST or None)
    return _simple_form(
        request,
        project,
        form,
        lambda data: services.phase_create(actor=request.user, project=project, data=data),
        _("新建分期"),
        lambda obj: f"/projects/{project.pk}/buildings/",
    )


@project_page(act="unit.change")
def building_generate(request, project, pk):
    """Generate a building's units from its shape: floors × stairs × positions."""
    building = get_object_or_404(Building.objects.filter(project=project), pk=pk)
    PositionFormSet = formset_factory(GeneratePositionForm, extra=0, min_num=1, validate_min=True)
    initial = [{"use": "residential"} for _ in range(building.units_per_floor)]
    formset = PositionFormSet(
        request.POST or None,
        initial=None if request.POST else initial,
        form_kwargs={"project": project},
        prefix="pos",
    )
    form = GenerateForm(
        request.POST or None, initial={"floor_from": 1, "floor_to": building.floors_above}
    )
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        positions = [
            {k: v for k, v in f.cleaned_data.items() if v not in (None, "")} for f in formset
        ]
        floors = [
            f
            for f in range(form.cleaned_data["floor_from"], form.cleaned_data["floor_to"] + 1)
            if f != 0
        ]
        ok, _units = run_action(
            request,
            lambda: services.building_generate_units(
                actor=request.user, building=building, positions=positions, floors=floors
            ),
            success=lambda units: _("已生成 %(n)s 个房间（未推）。") % {"n": len(units)},
            form=form,
        )
        if ok:
            return redirect(f"/projects/{project.pk}/board/?building={building.pk}")
    return render(
        request,
        "inventory/building_generate.html",
        {"project": project, "building": building, "form": form, "formset": formset},
    )


# --- holds and release plans -------------------------------------------------------------


@require_POST
@project_page(SEE)
def unit_action(request, project, pk, action):
    """Single-unit actions from the card or the unit page: hold, unhold, release."""
    unit = get_object_or_404(Unit.objects.filter(project=project), pk=pk)
    if action not in ("hold", "unhold", "release"):
        raise Http404
    _run_unit_action(request, project, action, [unit.pk], unit.number)
    if request.htmx:
        return unit_card(request, project.pk, pk)
    return redirect(request.POST.get("next") or unit.get_absolute_url())


@project_page(SEE)
def release_plan_list(request, project):
    plans = (
        ReleasePlan.objects.filter(project=project)
        .prefetch_related("units")
        .select_related("created_by")
        .order_by("-release_at")
    )
    held = Unit.objects.filter(project=project, status=UnitStatus.HELD).select_related("building")
    return render(
        request,
        "inventory/release_plans.html",
        {
            "project": project,
            "plans": plans,
            "held": held,
            "perms": access.perms_in(request.user, project),
            "plan_form": ReleasePlanForm(),
        },
    )
