"""The office's report data pages (issue 15): the targets 销售目标 (the year's 12 months ×
the project and each consultant, and the form that sets one), the spend per channel
推广费用 (months × channels, and its form) and the report settings 报表设置 (the form,
and the scheduled files written and mailed).

The pages show to ``report.view``; their forms to ``report.target``, ``report.spend`` and
``report.configure`` (a POST without it is a 403). A GET writes nothing. Views stay
thin: they parse, call one service of ``reports.office`` through ``run_action`` (a
refusal goes next to the form's field) and render."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django import forms
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loupan.core.pages import project_page, require, run_action
from loupan.customers.models import Channel

from . import office, scheduled
from .daily import settings_of
from .models import REQUIRED_FIELD_CHOICES, ReportRun

SEE = (office.VIEW,)
RUNS_SHOWN = 30
ZERO = Decimal("0.00")


def _year(request) -> int:
    """The year asked (``?year=``), this year when none or not a sensible one."""
    raw = (request.POST.get("year") or request.GET.get("year") or "").strip()
    if raw.isdigit() and office.FIRST_YEAR <= int(raw) <= office.LAST_YEAR:
        return int(raw)
    return timezone.localdate().year


def _months(year: int) -> list[datetime.date]:
    return [datetime.date(year, m, 1) for m in range(1, 13)]


def _month_text(value) -> str:
    return f"{value:%Y-%m}" if isinstance(value, datetime.date) else ""


def _back(request, year: int):
    return redirect(f"{request.path}?year={year}")


def _pk(value):
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def _person(user) -> str:
    return user.real_name or user.username


class MonthInput(forms.TextInput):
    input_type = "month"


# --- forms: they only parse; the rules are the services' -------------------------------------


class TargetForm(forms.Form):
    month = forms.CharField(label=gettext_lazy("月份"), widget=MonthInput())
    consultant = forms.CharField(
        label=gettext_lazy("目标对象"), required=False, widget=forms.Select
    )
    amount = forms.CharField(
        label=gettext_lazy("销售额目标（元）"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    units = forms.CharField(
        label=gettext_lazy("套数目标"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    collections = forms.CharField(
        label=gettext_lazy("回款目标（元）"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )

    def __init__(self, *args, consultants, **kwargs):
        kwargs.setdefault("auto_id", "target-%s")
        super().__init__(*args, **kwargs)
        self.fields["consultant"].widget.choices = [
            ("", _("项目（整体）")),
            *[(str(u.pk), _person(u)) for u in consultants],
        ]


class SpendForm(forms.Form):
    month = forms.CharField(label=gettext_lazy("月份"), widget=MonthInput())
    channel = forms.CharField(label=gettext_lazy("认知途径"), widget=forms.Select)
    amount = forms.CharField(
        label=gettext_lazy("推广费用（元）"),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    note = forms.CharField(label=gettext_lazy("说明"), required=False, max_length=200)

    def __init__(self, *args, channels, **kwargs):
        kwargs.setdefault("auto_id", "spend-%s")
        super().__init__(*args, **kwargs)
        self.fields["channel"].widget.choices = [
            ("", "—"),
            *[(str(c.pk), c.name) for c in channels],
        ]


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%H:%M")


class SettingsForm(forms.Form):
    close_time = forms.TimeField(label=gettext_lazy("日报截止时间"), widget=TimeInput())
    recipients = forms.CharField(
        label=gettext_lazy("报表收件人"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("每行一个电子邮箱；留空则只写入报表文件夹"),
    )
    entry_days = forms.IntegerField(
        label=gettext_lazy("客户录入时限（工作日）"),
        help_text=gettext_lazy("首次接触后几个工作日内须录入系统（1–60）"),
    )
    scan_days = forms.IntegerField(
        label=gettext_lazy("合同扫描件时限（工作日）"),
        help_text=gettext_lazy("签约后几个工作日内须上传扫描件（1–60）"),
    )
    follow_up_days = forms.IntegerField(
        label=gettext_lazy("跟进周期（天）"), help_text=gettext_lazy("1–365 天")
    )
    min_follow_ups = forms.IntegerField(
        label=gettext_lazy("周期内最少跟进次数"),
        help_text=gettext_lazy("名下意向客户在跟进周期内至少跟进的次数（0 为不考核）"),
    )
    required_fields = forms.MultipleChoiceField(
        label=gettext_lazy("客户必填项"),
        choices=REQUIRED_FIELD_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "settings-%s")
        super().__init__(*args, **kwargs)


# --- targets -------------------------------------------------------------------------------------


def _sum(cells, key):
    found = [getattr(c, key) for c in cells if c is not None]
    return sum(found, ZERO if key != "units" else 0) if found else None


def _targets(request, project, year, *, form=None, status=200):
    consultants = list(office.consultant_candidates(project))
    targets = list(office.targets_of(request.user, project).filter(month__year=year))
    # A colleague who no longer sells keeps a column for the targets they had.
    known = {u.pk for u in consultants}
    for t in targets:
        if t.consultant_id and t.consultant_id not in known:
            consultants.append(t.consultant)
            known.add(t.consultant_id)
    columns = [None, *consultants]
    by_key = {(t.month, t.consultant_id): t for t in targets}
    rows = []
    for month in _months(year):
        cells = [by_key.get((month, getattr(c, "pk", None))) for c in columns]
        rows.append({"month": month, "key": _month_text(month), "cells": cells})
    totals = []
    for row in rows:
        row["links"] = [
            {"target": cell, "consultant": getattr(col, "pk", "")}
            for cell, col in zip(row["cells"], columns, strict=True)
        ]
    for index in range(len(columns)):
        cells = [row["cells"][index] for row in rows]
        totals.append(
            {
                "amount": _sum(cells, "amount"),
                "units": _sum(cells, "units"),
                "collections": _sum(cells, "collections"),
            }
        )
    can_set = office.may_set_targets(request.user, project)
    editing = None
    if form is None and can_set:
        initial = {"month": request.GET.get("month") or f"{year}-{timezone.localdate():%m}"}
        consultant = _pk(request.GET.get("consultant"))
        if consultant:
            initial["consultant"] = str(consultant)
        month = request.GET.get("month")
        if month:
            try:
                first = office.parse_month(month)
            except Exception:  # a hand-made query string: just no prefill
                first = None
            editing = by_key.get((first, consultant)) if first else None
            if editing is not None:
                initial.update(
                    amount=editing.amount, units=editing.units, collections=editing.collections
                )
        form = TargetForm(initial=initial, consultants=consultants)
    return render(
        request,
        "reports/targets.html",
        {
            "project": project,
            "year": year,
            "years": [year - 1, year, year + 1],
            "columns": [
                {"pk": getattr(c, "pk", ""), "name": _person(c) if c else _("项目（整体）")}
                for c in columns
            ],
            "rows": rows,
            "totals": totals,
            "form": form,
            "editing": editing,
            "can_set": can_set,
            "tab": "targets",
            **_tabs(request.user, project),
        },
        status=status,
    )


@project_page(*SEE)
def target_list(request, project):
    """销售目标: the year's months × the project and each consultant; the form sets one."""
    year = _year(request)
    if request.method != "POST":
        return _targets(request, project, year)
    require(request.user, project, office.TARGET)
    if request.POST.get("delete"):
        target = get_object_or_404(
            office.targets_of(request.user, project), pk=_pk(request.POST.get("delete")) or 0
        )
        run_action(
            request,
            lambda: office.target_delete(actor=request.user, target=target),
            success=_("销售目标已删除。"),
        )
        return _back(request, target.month.year)
    consultants = list(office.consultant_candidates(project))
    form = TargetForm(request.POST, consultants=consultants)
    if form.is_valid():
        data = form.cleaned_data
        ok, target = run_action(
            request,
            lambda: office.target_set(
                actor=request.user,
                project=project,
                month=data["month"],
                consultant=data["consultant"] or None,
                amount=data["amount"],
                units=data["units"],
                collections=data["collections"],
            ),
            success=_("销售目标已保存。"),
            form=form,
        )
        if ok:
            return _back(request, target.month.year)
    return _targets(request, project, year, form=form, status=400)


# --- spend ---------------------------------------------------------------------------------------


def _spend(request, project, year, *, form=None, status=200):
    spends = list(office.spends_of(request.user, project).filter(month__year=year))
    used = {s.channel_id for s in spends}
    channels = [c for c in Channel.objects.filter(project=project) if c.is_active or c.pk in used]
    by_key = {(s.month, s.channel_id): s for s in spends}
    rows = []
    for month in _months(year):
        cells = [by_key.get((month, c.pk)) for c in channels]
        total = sum((c.amount for c in cells if c is not None), ZERO)
        rows.append({"month": month, "key": _month_text(month), "cells": cells, "total": total})
    totals = [
        sum((row["cells"][i].amount for row in rows if row["cells"][i] is not None), ZERO)
        for i in range(len(channels))
    ]
    can_set = office.may_set_spend(request.user, project)
    editing = None
    if form is None and can_set:
        initial = {"month": request.GET.get("month") or f"{year}-{timezone.localdate():%m}"}
        channel = _pk(request.GET.get("channel"))
        if channel:
            initial["channel"] = str(channel)
        month = request.GET.get("month")
        if month and channel:
            try:
                first = office.parse_month(month)
            except Exception:  # a hand-made query string: just no prefill
                first = None
            editing = by_key.get((first, channel)) if first else None
            if editing is not None:
                initial.update(amount=editing.amount, note=editing.note)
        form = SpendForm(initial=initial, channels=channels)
    return render(
        request,
        "reports/spend.html",
        {
            "project": project,
            "year": year,
            "years": [year - 1, year, year + 1],
            "channels": channels,
            "rows": rows,
            "totals": totals,
            "grand_total": sum(totals, ZERO),
            "form": form,
            "editing": editing,
            "can_set": can_set,
            "tab": "spend",
            **_tabs(request.user, project),
        },
        status=status,
    )


@project_page(*SEE)
def spend_list(request, project):
    """推广费用: the year's months × the project's channels; the form sets one month's."""
    year = _year(request)
    if request.method != "POST":
        return _spend(request, project, year)
    require(request.user, project, office.SPEND)
    if request.POST.get("delete"):
        spend = get_object_or_404(
            office.spends_of(request.user, project), pk=_pk(request.POST.get("delete")) or 0
        )
        run_action(
            request,
            lambda: office.spend_delete(actor=request.user, spend=spend),
            success=_("推广费用已删除。"),
        )
        return _back(request, spend.month.year)
    channels = list(Channel.objects.filter(project=project))
    form = SpendForm(request.POST, channels=channels)
    if form.is_valid():
        data = form.cleaned_data
        ok, spend = run_action(
            request,
            lambda: office.spend_set(
                actor=request.user,
                project=project,
                channel=data["channel"],
                month=data["month"],
                amount=data["amount"],
                note=data["note"],
            ),
            success=_("推广费用已保存。"),
            form=form,
        )
        if ok:
            return _back(request, spend.month.year)
    return _spend(request, project, year, form=form, status=400)


# --- settings ------------------------------------------------------------------------------------


def _settings_initial(row) -> dict:
    return {
        "close_time": row.close_time,
        "recipients": row.recipients,
        "entry_days": row.entry_days,
        "scan_days": row.scan_days,
        "follow_up_days": row.follow_up_days,
        "min_follow_ups": row.min_follow_ups,
        "required_fields": list(row.required_fields or []),
    }


@project_page(*SEE)
def report_settings(request, project):
    """报表设置: the closing time, the recipients, the compliance limits; below, the
    scheduled files written and mailed (the latest first)."""
    row = settings_of(project)
    status = 200
    if request.method == "POST":
        require(request.user, project, office.CONFIGURE)
        form = SettingsForm(request.POST)
        if form.is_valid():
            ok, _saved = run_action(
                request,
                lambda: office.settings_save(
                    actor=request.user, project=project, **form.cleaned_data
                ),
                success=_("报表设置已保存。"),
                form=form,
            )
            if ok:
                return redirect(request.path)
        status = 400
    else:
        form = SettingsForm(initial=_settings_initial(row))
    labels = dict(REQUIRED_FIELD_CHOICES)
    runs = list(
        ReportRun.objects.restrict(request.user, "view")
        .filter(project=project)
        .order_by("-created_at", "-pk")[:RUNS_SHOWN]
    )
    for run in runs:
        run.recipients_shown = ", ".join(run.mailed_to.split())
    return render(
        request,
        "reports/settings.html",
        {
            "project": project,
            "row": row,
            "form": form,
            "required_labels": [labels[k] for k in row.required_fields or [] if k in labels],
            "recipients": row.recipient_list(),
            "runs": runs,
            "mail_enabled": scheduled.mail_enabled(),
            "tab": "settings",
            **_tabs(request.user, project),
        },
        status=status,
    )


def _tabs(user, project) -> dict:
    return {
        "can_targets": office.may_set_targets(user, project),
        "can_spend": office.may_set_spend(user, project),
        "can_configure": office.may_configure(user, project),
    }
