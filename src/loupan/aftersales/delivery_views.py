"""The delivery 交房 and repairs 维修 pages (issue 14; seed 001 七 入住管理, 房屋维修联系):
the batches and the form that creates one; a batch's page (its deliveries with their
status, flags and appointments, the bookings per day and slot, the notice list as xlsx);
the notices 入伙通知 as printable letters; a delivery's page (book, inspect with defects
and photos, hand over with the flags shown); the repairs list (filters, overdue, xlsx)
and a repair's page (assign, done, return visit).

Views stay thin: each action calls one service of ``delivery`` through
``core.pages.run_action``; a refusal is shown next to the form's field on the page drawn
again (400), a missing permission is a 403, what the user may not see is a 404. A GET
never writes. Consultants (``aftersales.view_own``) read their own buyers' files."""

from django import forms
from django.db.models import Count, Q
from django.forms import formset_factory
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from loupan.core.errors import invalid
from loupan.core.forms import DateInput
from loupan.core.pages import (
    ProjectListView,
    filters_used,
    id_query,
    project_page,
    refuse_invalid,
    run_action,
    used_filters,
    wants_xlsx,
    xlsx_download,
)
from loupan.core.params import check_id_filters, id_value
from loupan.core.uploads import serve_document
from loupan.deals.models import DealStatus
from loupan.inventory.models import Building, Unit

from . import delivery as s
from .models import Complaint, Defect, DeliveryStatus, Department, RepairSource, RepairStatus
from .rules import SEE

see_page = project_page(*SEE)
act_page = project_page(*SEE, act="aftersales.manage")


# --- forms -----------------------------------------------------------------------------------
# They only parse; every rule is the service's, whose refusal goes next to its field.


class BatchForm(forms.Form):
    building = forms.ModelChoiceField(label=gettext_lazy("楼栋"), queryset=Building.objects.none())
    name = forms.CharField(label=gettext_lazy("批次名称"), max_length=50)
    starts_on = forms.DateField(label=gettext_lazy("开始日期"), widget=DateInput())
    ends_on = forms.DateField(label=gettext_lazy("结束日期"), widget=DateInput())
    slots = forms.CharField(
        label=gettext_lazy("时段"),
        widget=forms.Textarea(attrs={"rows": 3}),
        initial="09:00-12:00\n14:00-17:00",
        help_text=gettext_lazy("每行一个时段"),
    )
    slot_capacity = forms.IntegerField(
        label=gettext_lazy("每时段户数"), min_value=1, max_value=500, initial=10
    )
    requirements = forms.CharField(
        label=gettext_lazy("业主须携带"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        initial="购房合同原件\n业主身份证原件\n全部购房款及面积补差款缴清凭证\n入伙通知书",
        help_text=gettext_lazy("每行一项"),
    )
    notice = forms.CharField(
        label=gettext_lazy("通知说明"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = Building.objects.filter(project=project).order_by("name")


class BookForm(forms.Form):
    day = forms.DateField(label=gettext_lazy("预约日期"), widget=DateInput())
    slot = forms.ChoiceField(label=gettext_lazy("时段"), choices=())

    def __init__(self, *args, batch, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slot"].choices = [(x, x) for x in batch.slots]


class InspectForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("验房意见"), max_length=300, required=False)


class DefectForm(forms.Form):
    room = forms.CharField(label=gettext_lazy("房间部位"), max_length=30, required=False)
    item = forms.CharField(label=gettext_lazy("项目"), max_length=50, required=False)
    description = forms.CharField(label=gettext_lazy("问题描述"), max_length=300, required=False)
    photo = forms.FileField(label=gettext_lazy("照片"), required=False)


DefectFormSet = formset_factory(DefectForm, extra=3, max_num=s.MAX_DEFECTS)


class HandoverForm(forms.Form):
    quality_guarantee = forms.BooleanField(
        label=gettext_lazy("《住宅质量保证书》已交付"), required=False
    )
    user_manual = forms.BooleanField(label=gettext_lazy("《住宅使用说明书》已交付"), required=False)
    keys = forms.IntegerField(label=gettext_lazy("交付钥匙（把）"), min_value=1, max_value=50)
    override_reason = forms.CharField(
        label=gettext_lazy("放行原因"),
        max_length=300,
        required=False,
        help_text=gettext_lazy("有欠款或面积补差未结清时，须填写放行原因才能交付"),
    )


class RepairForm(forms.Form):
    unit = forms.ModelChoiceField(label=gettext_lazy("房间"), queryset=Unit.objects.none())
    description = forms.CharField(label=gettext_lazy("维修内容"), max_length=300)
    source = forms.ChoiceField(
        label=gettext_lazy("来源"),
        choices=[c for c in RepairSource.choices if c[0] != RepairSource.INSPECTION],
    )
    complaint = forms.ModelChoiceField(
        label=gettext_lazy("投诉"), queryset=Complaint.objects.none(), required=False
    )
    team = forms.ChoiceField(
        label=gettext_lazy("责任单位"), choices=Department.choices, initial=Department.REPAIR
    )
    due_on = forms.DateField(
        label=gettext_lazy("要求完成日期"),
        widget=DateInput(),
        required=False,
        help_text=gettext_lazy("不填则为 7 个工作日后"),
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.filter(
            project=project, status__in=("contracted", "delivered")
        ).order_by("building__name", "number")
        self.fields["complaint"].queryset = Complaint.objects.filter(project=project).order_by(
            "-received_at"
        )


class AssignForm(forms.Form):
    assigned_to = forms.ModelChoiceField(label=gettext_lazy("维修负责人"), queryset=None)
    team = forms.ChoiceField(label=gettext_lazy("责任单位"), choices=Department.choices)
    due_on = forms.DateField(label=gettext_lazy("要求完成日期"), widget=DateInput(), required=False)

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = s.assignees(project)
        self.fields["assigned_to"].label_from_instance = lambda u: u.real_name or u.username


class DoneForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("完工说明"), max_length=300)


class VisitForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("回访记录"), max_length=300)
    satisfaction = forms.TypedChoiceField(
        label=gettext_lazy("满意度"),
        coerce=int,
        choices=[
            (5, "5 非常满意"),
            (4, "4 满意"),
            (3, "3 一般"),
            (2, "2 不满意"),
            (1, "1 很不满意"),
        ],
        initial=5,
    )


# --- batches ---------------------------------------------------------------------------------


@see_page
def batch_list(request, project):
    """交房批次: the project's batches with their deliveries per status."""
    batches = list(batches_with_counts(request.user, project))
    return render(
        request,
        "aftersales/delivery_batch_list.html",
        {
            "project": project,
            "batches": batches,
            "can_manage": s.may_manage(request.user, project),
            "overdue": s.overdue_repairs(request.user, project).count(),
        },
    )


def batches_with_counts(user, project):
    return (
        s.batches_of(user, project)
        .annotate(
            total=Count("deliveries", distinct=True),
            booked=Count(
                "deliveries",
                filter=Q(deliveries__status__in=("booked", "inspected", "delivered")),
                distinct=True,
            ),
            delivered=Count("deliveries", filter=Q(deliveries__status="delivered"), distinct=True),
        )
        .order_by("-starts_on", "pk")
    )


@act_page
def batch_create(request, project):
    """新建交房批次: the building, the days and slots, what the owner must bring."""
    form = BatchForm(request.POST or None, project=project)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            ok, batch = run_action(
                request,
                lambda: s.batch_create(actor=request.user, project=project, **data),
                success=lambda b: (
                    _("交房批次已创建，已通知 %(n)d 户。") % {"n": b.deliveries.count()}
                ),
                form=form,
            )
            if ok:
                return redirect("aftersales:delivery_batch_detail", project.pk, batch.pk)
        status = 400
    return render(
        request,
        "aftersales/delivery_batch_form.html",
        {"project": project, "form": form},
        status=status,
    )


def _batch(request, project, pk):
    return get_object_or_404(s.batches_of(request.user, project), pk=pk)


def _notices(user, project, batch, params):
    """A batch's deliveries as its page lists them with ``params``' filters."""
    filterset = s.DeliveryFilterSet(
        params or None, queryset=s.deliveries_of(user, project).filter(batch=batch)
    )
    qs = (filterset.qs if filterset.is_bound else filterset.queryset).order_by("unit__number", "pk")
    return filterset, qs


def _notices_of(actor, project, params):
    """The batch a notice list's export request names (``batch``), and its filters."""
    params = params.copy()
    batch_pk = id_value(params.pop("batch", [None])[0], "batch")
    batch = s.batches_of(actor, project).filter(pk=batch_pk).first() if batch_pk else None
    if batch is None:
        raise invalid("batch", _("入伙批次不存在"))
    return batch, params


def notices_check(*, actor, project, params) -> None:
    """入伙通知名单's filters (its batch and the page's), checked when requested."""
    batch, params = _notices_of(actor, project, params)
    filterset, _qs = _notices(actor, project, batch, params)
    check_id_filters(filterset, params)
    refuse_invalid(filterset)


def notices_content(*, actor, project, params) -> bytes:
    """入伙通知名单 of the batch ``params`` names, with the page's filters (an approved
    export request's download: ``customers.exports.register_list``)."""
    batch, params = _notices_of(actor, project, params)
    _filterset, qs = _notices(actor, project, batch, params)
    return s.notices_export(
        actor=actor, project=project, batch=batch, queryset=qs, filters=filters_used(params)
    )


@see_page
def batch_detail(request, project, pk):
    """A batch: its deliveries (a consultant: their own buyers'), with status, flags and
    appointments, and the bookings per day and slot. A POST with ``?format=xlsx`` is the
    notice list as a file (for the office)."""
    batch = _batch(request, project, pk)
    filterset, qs = _notices(request.user, project, batch, request.GET)
    if request.method == "POST":
        if not wants_xlsx(request):
            raise Http404
        return xlsx_download(
            request,
            project,
            "入伙通知名单",
            lambda: s.notices_export(
                actor=request.user,
                project=project,
                batch=batch,
                queryset=qs,
                filters=used_filters(request),
            ),
        )
    deliveries = list(qs)
    names = s.owners_of([d.deal_id for d in deliveries])
    rows = [
        (
            d,
            s.owner_names(d.deal, names),
            d.flags if d.status == DeliveryStatus.DELIVERED else s.flags_of(d),
            s.DELIVERY_COLORS[d.status],
        )
        for d in deliveries
    ]
    counts = s.slot_counts(batch)
    grid = [
        (day, [(slot, counts.get((day, slot), 0)) for slot in batch.slots])
        for day in s.batch_days(batch)
    ]
    return render(
        request,
        "aftersales/delivery_batch_detail.html",
        {
            "project": project,
            "batch": batch,
            "rows": rows,
            "filter": filterset,
            "form": filterset.form,
            "grid": grid,
            "status_counts": s.status_counts(
                s.deliveries_of(request.user, project).filter(batch=batch), DeliveryStatus
            ),
            "can_manage": s.may_manage(request.user, project),
            "can_export": s.may_export(request.user, project),
            "query": request.GET.urlencode(),
            "notice_query": "&".join(filter(None, [f"batch={batch.pk}", request.GET.urlencode()])),
        },
    )


@require_POST
@act_page
def batch_refresh(request, project, pk):
    """Notify the building's deals contracted since the batch was made."""
    batch = _batch(request, project, pk)
    run_action(
        request,
        lambda: s.batch_refresh(actor=request.user, batch=batch),
        success=lambda made: _("已补充通知 %(n)d 户。") % {"n": len(made)},
    )
    return redirect("aftersales:delivery_batch_detail", project.pk, batch.pk)


@see_page
def delivery_notices(request, project, pk):
    """入伙通知 as printable letters: one per owner, with the days, slots and what to
    bring (a consultant prints their own buyers')."""
    batch = _batch(request, project, pk)
    deliveries = list(
        s.deliveries_of(request.user, project).filter(batch=batch).order_by("unit__number", "pk")
    )
    only = request.GET.get("delivery")
    if only:
        deliveries = [d for d in deliveries if str(d.pk) == only]
        if not deliveries:
            raise Http404
    names = s.owners_of([d.deal_id for d in deliveries])
    letters = [(d, s.owner_names(d.deal, names)) for d in deliveries]
    return render(
        request,
        "aftersales/delivery_notices.html",
        {
            "project": project,
            "batch": batch,
            "letters": letters,
            "today": timezone.localdate(),
        },
    )


# --- one delivery ----------------------------------------------------------------------------


def _delivery(request, project, pk):
    return get_object_or_404(
        s.deliveries_of(request.user, project).select_related("deal__project", "project"), pk=pk
    )


def _delivery_page(request, project, delivery, *, status=200, **bound):
    can = s.delivery_abilities(request.user, delivery)
    batch = delivery.batch
    flags = delivery.flags if delivery.status == DeliveryStatus.DELIVERED else s.flags_of(delivery)
    book_form = inspect_form = defect_forms = handover_form = None
    if can["book"]:
        book_form = bound.get("book_form") or BookForm(
            batch=batch,
            prefix="book",
            initial={"day": delivery.appointment_on, "slot": delivery.slot},
        )
    if can["inspect"]:
        inspect_form = bound.get("inspect_form") or InspectForm(
            prefix="inspect", initial={"note": delivery.inspection_note}
        )
        defect_forms = bound.get("defect_forms") or DefectFormSet(prefix="defect")
    if can["handover"]:
        handover_form = bound.get("handover_form") or HandoverForm(
            prefix="handover", initial={"keys": 2}
        )
    counts = s.slot_counts(batch)
    days = [d for d in s.batch_days(batch) if d >= timezone.localdate()][:10]
    grid = [(day, [(slot, counts.get((day, slot), 0)) for slot in batch.slots]) for day in days]
    defects = Defect.objects.filter(delivery=delivery).select_related("repair")
    return render(
        request,
        "aftersales/delivery_detail.html",
        {
            "project": project,
            "delivery": delivery,
            "batch": batch,
            "deal": delivery.deal,
            "owners": s.owner_names(delivery.deal),
            "flags": flags,
            "color": s.DELIVERY_COLORS[delivery.status],
            "can": can,
            "book_form": book_form,
            "inspect_form": inspect_form,
            "defect_forms": defect_forms,
            "handover_form": handover_form,
            "grid": grid,
            "defects": defects,
            "contracted": delivery.deal.status == DealStatus.CONTRACTED,
            "stages": list(DeliveryStatus.choices),
        },
        status=status,
    )


@see_page
def delivery_detail(request, project, pk):
    """A delivery: the owner, the flags, the appointment, the inspection and its defects
    with their repair orders, the handover; the forms of what the user may do."""
    return _delivery_page(request, project, _delivery(request, project, pk))


@require_POST
@act_page
def delivery_book(request, project, pk):
    delivery = _delivery(request, project, pk)
    form = BookForm(request.POST, batch=delivery.batch, prefix="book")
    if form.is_valid():
        data = form.cleaned_data
        ok, _result = run_action(
            request,
            lambda: s.delivery_book(
                actor=request.user, delivery=delivery, day=data["day"], slot=data["slot"]
            ),
            success=_("预约已保存。"),
            form=form,
        )
        if ok:
            return redirect("aftersales:delivery_detail", project.pk, delivery.pk)
    return _delivery_page(
        request, project, _delivery(request, project, pk), status=400, book_form=form
    )


@require_POST
@act_page
def delivery_inspect(request, project, pk):
    delivery = _delivery(request, project, pk)
    form = InspectForm(request.POST, prefix="inspect")
    defect_forms = DefectFormSet(request.POST, request.FILES, prefix="defect")
    if form.is_valid() and defect_forms.is_valid():
        defects = [f.cleaned_data for f in defect_forms if f.cleaned_data]
        ok, _result = run_action(
            request,
            lambda: s.delivery_inspect(
                actor=request.user,
                delivery=delivery,
                note=form.cleaned_data["note"],
                defects=defects,
            ),
            success=_("验房记录已保存，问题已生成维修单。"),
            form=form,
        )
        if ok:
            return redirect("aftersales:delivery_detail", project.pk, delivery.pk)
    return _delivery_page(
        request,
        project,
        _delivery(request, project, pk),
        status=400,
        inspect_form=form,
        defect_forms=defect_forms,
    )


@require_POST
@act_page
def delivery_handover(request, project, pk):
    delivery = _delivery(request, project, pk)
    form = HandoverForm(request.POST, prefix="handover")
    if form.is_valid():
        data = form.cleaned_data
        ok, _result = run_action(
            request,
            lambda: s.delivery_handover(actor=request.user, delivery=delivery, **data),
            success=_("已交付，房间在销控表上转为「交付」。"),
            form=form,
        )
        if ok:
            return redirect("aftersales:delivery_detail", project.pk, delivery.pk)
    return _delivery_page(
        request, project, _delivery(request, project, pk), status=400, handover_form=form
    )


@see_page
def defect_photo(request, project, pk):
    """A defect's photo, served only to who sees its delivery."""
    defect = get_object_or_404(
        Defect.objects.filter(
            delivery__in=s.deliveries_of(request.user, project).values("pk")
        ).select_related("delivery__unit"),
        pk=pk,
    )
    if not defect.photo:
        raise Http404
    return serve_document(defect.photo, f"{defect.delivery.unit.number}-{defect.pk}")


# --- repairs ---------------------------------------------------------------------------------


class RepairList(ProjectListView):
    """维修单 (seed 001 七(2) 监督房屋维修工作): the project's repairs (a consultant: their
    own buyers'), filters by status, team, source and overdue, the overdue ones counted
    for supervision, and the xlsx for the office."""

    see = SEE
    filterset_class = s.RepairFilterSet
    template_name = "aftersales/repair_list.html"
    ordering = ("-created_at", "-pk")

    def get_queryset(self):
        return s.repairs_of(self.request.user, self.project)

    def get_context_data(self, **context):
        today = timezone.localdate()
        rows = [
            (
                r,
                s.REPAIR_COLORS[r.status],
                (today - r.due_on).days if s.is_overdue(r, today) else 0,
            )
            for r in context["page"]
        ]
        everything = s.repairs_of(self.request.user, self.project)
        return {
            **context,
            "rows": rows,
            "counts": s.status_counts(everything, RepairStatus),
            "overdue": s.overdue_repairs(self.request.user, self.project).count(),
            "can_manage": s.may_manage(self.request.user, self.project),
            "can_export": s.may_export(self.request.user, self.project),
        }

    export_report, export_function = "维修单", staticmethod(s.repairs_export)


@act_page
def repair_create(request, project):
    """登记维修单 (业主报修 or from a complaint)."""
    initial = {}
    if (unit := id_query(request, "unit")) is not None:
        initial["unit"] = unit
    form = RepairForm(request.POST or None, project=project, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            ok, repair = run_action(
                request,
                lambda: s.repair_create(actor=request.user, project=project, **data),
                success=lambda r: _("维修单 %(n)s 已登记。") % {"n": r.number},
                form=form,
            )
            if ok:
                return redirect("aftersales:repair_detail", project.pk, repair.pk)
        status = 400
    return render(
        request, "aftersales/repair_form.html", {"project": project, "form": form}, status=status
    )


def _repair(request, project, pk):
    return get_object_or_404(
        s.repairs_of(request.user, project).select_related(
            "project", "defect__delivery", "complaint", "created_by"
        ),
        pk=pk,
    )


def _repair_page(request, project, repair, *, status=200, **bound):
    can = s.repair_abilities(request.user, repair)
    assign_form = done_form = visit_form = None
    if can["assign"]:
        assign_form = bound.get("assign_form") or AssignForm(
            project=project,
            prefix="assign",
            initial={
                "assigned_to": repair.assigned_to_id,
                "team": repair.team,
                "due_on": repair.due_on,
            },
        )
    if can["done"]:
        done_form = bound.get("done_form") or DoneForm(prefix="done")
    if can["visit"]:
        visit_form = bound.get("visit_form") or VisitForm(prefix="visit")
    return render(
        request,
        "aftersales/repair_detail.html",
        {
            "project": project,
            "repair": repair,
            "color": s.REPAIR_COLORS[repair.status],
            "overdue": s.is_overdue(repair),
            "owners": s.owner_names(repair.deal) if repair.deal else "",
            "can": can,
            "assign_form": assign_form,
            "done_form": done_form,
            "visit_form": visit_form,
            "stages": list(RepairStatus.choices),
        },
        status=status,
    )


@see_page
def repair_detail(request, project, pk):
    return _repair_page(request, project, _repair(request, project, pk))


def _repair_action(request, project, pk, form_class, name, call, success, form_kwargs=None):
    repair = _repair(request, project, pk)
    form = form_class(request.POST, prefix=name, **(form_kwargs or {}))
    if form.is_valid():
        data = form.cleaned_data
        ok, _result = run_action(
            request,
            lambda: call(actor=request.user, repair=repair, **data),
            success=success,
            form=form,
        )
        if ok:
            return redirect("aftersales:repair_detail", project.pk, repair.pk)
    return _repair_page(
        request, project, _repair(request, project, pk), status=400, **{f"{name}_form": form}
    )


@require_POST
@act_page
def repair_assign(request, project, pk):
    return _repair_action(
        request,
        project,
        pk,
        AssignForm,
        "assign",
        s.repair_assign,
        _("已派工。"),
        {"project": project},
    )


@require_POST
@act_page
def repair_done(request, project, pk):
    return _repair_action(request, project, pk, DoneForm, "done", s.repair_done, _("已登记完工。"))


@require_POST
@act_page
def repair_visit(request, project, pk):
    return _repair_action(
        request, project, pk, VisitForm, "visit", s.repair_visit, _("回访已登记，维修单已关闭。")
    )
