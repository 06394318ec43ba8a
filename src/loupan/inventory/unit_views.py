"""Pages for buildings, layouts, units, the sales-control board, holds and release plans."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.forms import formset_factory
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loupan.accounts import access
from loupan.accounts.permissions import label
from loupan.audit.views import object_history
from loupan.core.errors import DomainError
from loupan.core.masking import can_see_floor_price
from loupan.core.views import form_error, paginate, query_without_page

from . import board as board_mod
from . import selectors, services
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


def _project(request, project_pk, perm="unit.view"):
    """The project, if the user belongs to it (404 otherwise) and holds ``perm`` (403)."""
    project = get_object_or_404(selectors.project_list(user=request.user), pk=project_pk)
    if not access.has_perm(request.user, perm, project):
        if perm == "unit.view":
            raise Http404
        raise PermissionDenied(_("您没有执行此操作的权限：%(perm)s") % {"perm": label(perm)})
    return project


def _selected_ids(request):
    try:
        return [int(v) for v in request.POST.getlist("units") if v]
    except ValueError as exc:
        raise Http404 from exc


# --- board ------------------------------------------------------------------------------


@login_required
def board(request, project_pk):
    """销控表: every unit as a coloured cell, floor by floor, with filters, legend and
    statistics. Confidential: only staff holding ``unit.view`` on the project."""
    project = _project(request, project_pk)
    building = None
    if request.GET.get("building"):
        building = get_object_or_404(
            Building.objects.filter(project=project), pk=request.GET["building"]
        )
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


@login_required
def board_changes(request, project_pk):
    """The live part of the board: cells changed since ``since`` (swapped in place by
    htmx every few seconds) and the refreshed legend."""
    project = _project(request, project_pk)
    since = parse_datetime(request.GET.get("since", "")) or timezone.now() - datetime.timedelta(
        seconds=10
    )
    qs = Unit.objects.filter(project=project, updated_at__gt=since)
    if request.GET.get("building"):
        qs = qs.filter(building_id=request.GET["building"])
    changed = list(qs.values(*board_mod.BOARD_FIELDS))
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


@login_required
def unit_list(request, project_pk):
    project = _project(request, project_pk)
    qs = (
        Unit.objects.filter(project=project)
        .select_related("building", "layout")
        .order_by("building__sort_order", "building__name", "stair", "-floor", "room")
    )
    filterset = UnitFilterSet(request.GET or None, queryset=qs, project=project)
    perms = access.perms_in(request.user, project)
    return render(
        request,
        "inventory/unit_list.html",
        {
            "project": project,
            "filter": filterset,
            "page": paginate(request, filterset.qs, 100),
            "query": query_without_page(request),
            "perms": perms,
            "show_floor_price": can_see_floor_price(request.user, project),
            "hold_form": HoldForm(),
            "bulk_form": BulkEditForm(),
            "plan_form": ReleasePlanForm(),
        },
    )


@require_POST
@login_required
def unit_bulk(request, project_pk):
    """One action on the selected units: release, hold, unhold, bulk edit, release plan."""
    project = _project(request, project_pk)
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
    """Do ``action`` on the units ``ids`` and say so in a message; a refusal becomes the
    message (403 when it is a permission)."""
    post, actor = request.POST, request.user
    try:
        if action == "release":
            services.units_release(actor=actor, project=project, unit_ids=ids)
            done = _("已推盘 %(what)s。")
        elif action == "withdraw":
            services.units_withdraw(
                actor=actor, project=project, unit_ids=ids, reason=post.get("reason", "")
            )
            done = _("已设为未推 %(what)s。")
        elif action == "hold":
            form = HoldForm(post)
            if not form.is_valid():
                raise DomainError(
                    "invalid", _("请填写保留原因。"), {"reason": [_("请填写保留原因")]}
                )
            services.units_hold(
                actor=actor,
                project=project,
                unit_ids=ids,
                reason=form.cleaned_data["reason"],
                until=form.cleaned_data["until"],
            )
            done = _("已保留 %(what)s。")
        elif action == "unhold":
            services.units_unhold(
                actor=actor, project=project, unit_ids=ids, reason=post.get("reason", "")
            )
            done = _("已释放 %(what)s。")
        elif action == "edit":
            form = BulkEditForm(post)
            if not form.is_valid():
                raise DomainError("invalid", _("请选择字段。"), {"field": [_("请选择字段")]})
            field = form.cleaned_data["field"]
            value = _bulk_value(project, field, form.cleaned_data["value"])
            services.units_bulk_update(
                actor=actor, project=project, unit_ids=ids, data={field: value}
            )
            done = _("已修改 %(what)s。")
        elif action == "plan":
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
            done = _("已为 %(what)s 制定释放计划。")
        else:
            raise Http404
    except DomainError as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.message) from exc
        messages.error(request, exc.message)
    else:
        messages.success(request, done % {"what": what})


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


@login_required
def unit_detail(request, project_pk, pk):
    project = _project(request, project_pk)
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


@login_required
def unit_card(request, project_pk, pk):
    """The card a board cell opens (htmx partial)."""
    project = _project(request, project_pk)
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


@login_required
def unit_edit(request, project_pk, pk):
    project = _project(request, project_pk, "unit.change")
    unit = get_object_or_404(Unit.objects.filter(project=project), pk=pk)
    show_floor = can_see_floor_price(request.user, project)
    form = UnitForm(
        request.POST or None,
        instance=Unit.objects.get(pk=unit.pk),
        project=project,
        show_floor_price=show_floor,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.unit_update(actor=request.user, unit=unit, data=form.cleaned_data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("已保存。"))
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


@login_required
def unit_history(request, project_pk, pk):
    project = _project(request, project_pk)
    unit = get_object_or_404(Unit.objects.filter(project=project), pk=pk)
    return object_history(
        request,
        unit,
        allowed=access.has_perm(request.user, "audit.view", project)
        or access.has_perm(request.user, "unit.change", project),
    )


# --- buildings, layouts, phases -------------------------------------------------------


@login_required
def building_list(request, project_pk):
    project = _project(request, project_pk)
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
        try:
            obj = service(form.cleaned_data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("已保存。"))
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


@login_required
def building_form(request, project_pk, pk=None):
    project = _project(request, project_pk, "unit.change")
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


@login_required
def layout_form(request, project_pk, pk=None):
    project = _project(request, project_pk, "unit.change")
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


@login_required
def layout_plan(request, project_pk, pk):
    """The layout's plan image, served only to staff who may see the project's units."""
    from loupan.core.uploads import serve_document

    project = _project(request, project_pk)
    layout = get_object_or_404(Layout.objects.filter(project=project).exclude(plan=""), pk=pk)
    return serve_document(layout.plan)


@login_required
def phase_form(request, project_pk):
    project = _project(request, project_pk, "unit.change")
    form = PhaseForm(request.POST or None)
    return _simple_form(
        request,
        project,
        form,
        lambda data: services.phase_create(actor=request.user, project=project, data=data),
        _("新建分期"),
        lambda obj: f"/projects/{project.pk}/buildings/",
    )


@login_required
def building_generate(request, project_pk, pk):
    """Generate a building's units from its shape: floors × stairs × positions."""
    project = _project(request, project_pk, "unit.change")
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
        try:
            units = services.building_generate_units(
                actor=request.user, building=building, positions=positions, floors=floors
            )
        except DomainError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("已生成 %(n)s 个房间（未推）。") % {"n": len(units)})
            return redirect(f"/projects/{project.pk}/board/?building={building.pk}")
    return render(
        request,
        "inventory/building_generate.html",
        {"project": project, "building": building, "form": form, "formset": formset},
    )


# --- holds and release plans -------------------------------------------------------------


@require_POST
@login_required
def unit_action(request, project_pk, pk, action):
    """Single-unit actions from the card or the unit page: hold, unhold, release."""
    project = _project(request, project_pk)
    unit = get_object_or_404(Unit.objects.filter(project=project), pk=pk)
    if action not in ("hold", "unhold", "release"):
        raise Http404
    _run_unit_action(request, project, action, [unit.pk], unit.number)
    if request.htmx:
        return unit_card(request, project_pk, pk)
    return redirect(request.POST.get("next") or unit.get_absolute_url())


@login_required
def release_plan_list(request, project_pk):
    project = _project(request, project_pk)
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
