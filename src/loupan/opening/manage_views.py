"""The office's pages that run an opening event (``opening.manage``): create it from
buildings (their units open for sale, floors optional), open registrations, register
buyers (认筹, with the selection code shown once), confirm their 购房资格, close the
list, draw with the public value entered in front of everyone, cut the batches, start
and finish the selection, and issue a new code to a buyer whose identity was checked.

Views parse and call one service each through ``core.pages.run_action``; a refusal shows
as a message (or next to the field), a missing permission is a 403."""

import datetime

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from loupan.accounts import access
from loupan.core.forms import DateInput
from loupan.core.pages import project_page, run_action
from loupan.customers import selectors as customer_selectors
from loupan.customers.models import Customer
from loupan.inventory.models import Building, Unit

from . import selectors, services
from .models import Entry, Pick, PickBecomes

SEE = ("opening.view",)
MANAGE = "opening.manage"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"


class EventForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("活动名称"), max_length=100)
    buildings = forms.ModelMultipleChoiceField(label=gettext_lazy("楼栋"), queryset=None)
    floor_from = forms.IntegerField(label=gettext_lazy("起始楼层"), required=False)
    floor_to = forms.IntegerField(label=gettext_lazy("截止楼层"), required=False)
    registration_closes_at = forms.DateTimeField(
        label=gettext_lazy("认筹截止时间"), widget=DateTimeInput
    )
    selection_on = forms.DateField(label=gettext_lazy("选房日期"), widget=DateInput)
    max_units = forms.IntegerField(label=gettext_lazy("每户限选套数"), initial=1, min_value=1)
    requires_qualification = forms.BooleanField(
        label=gettext_lazy("须确认购房资格"), required=False, initial=True
    )
    sincerity_amount = forms.DecimalField(
        label=gettext_lazy("诚意金（元）"), max_digits=14, decimal_places=2, initial=0
    )
    pick_becomes = forms.ChoiceField(
        label=gettext_lazy("选房后生成"),
        choices=PickBecomes.choices,
        initial=PickBecomes.RESERVATION,
        required=False,
    )
    deposit_amount = forms.DecimalField(
        label=gettext_lazy("认购定金（元）"),
        max_digits=14,
        decimal_places=2,
        initial=0,
        required=False,
        help_text=gettext_lazy("选房后生成认购时必填；诚意金转为定金的一部分"),
    )
    operator = forms.ModelChoiceField(label=gettext_lazy("现场负责人"), queryset=None)
    public_source = forms.CharField(
        label=gettext_lazy("公开随机值来源"),
        max_length=300,
        initial=gettext_lazy("公证员在售楼大厅当众摇出的六位数字"),
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["buildings"].queryset = Building.objects.filter(project=project).order_by(
            "sort_order", "name"
        )
        self.fields["operator"].queryset = access.members_with(project, "customer.assign")


@project_page(*SEE, act=MANAGE)
def event_create(request, project):
    form = EventForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        units = Unit.objects.open_for_sale().filter(
            project=project, building__in=data["buildings"], attached_to__isnull=True
        )
        if data["floor_from"] is not None:
            units = units.filter(floor__gte=data["floor_from"])
        if data["floor_to"] is not None:
            units = units.filter(floor__lte=data["floor_to"])
        ok, event = run_action(
            request,
            lambda: services.event_create(
                actor=request.user,
                project=project,
                name=data["name"],
                units=list(units.values_list("pk", flat=True)),
                registration_closes_at=data["registration_closes_at"],
                selection_on=data["selection_on"],
                operator=data["operator"],
                public_source=data["public_source"],
                max_units=data["max_units"],
                requires_qualification=data["requires_qualification"],
                pick_becomes=data["pick_becomes"] or PickBecomes.RESERVATION,
                sincerity_amount=data["sincerity_amount"],
                deposit_amount=data["deposit_amount"] or 0,
            ),
            success=_("开盘活动已创建"),
            form=form,
        )
        if ok:
            return redirect(event.get_absolute_url())
    return render(request, "opening/event_form.html", {"project": project, "form": form})


def _event(request, project, pk):
    return get_object_or_404(selectors.events_for(request.user, project), pk=pk)


def _back(event):
    return redirect(event.get_absolute_url())


@require_POST
@project_page(*SEE, act=MANAGE)
def event_step(request, project, pk, step):
    """One step of the event's day: open, close, start, finish (POST)."""
    event = _event(request, project, pk)
    calls = {
        "open": (services.event_open, _("认筹已开始，种子承诺已公布")),
        "close": (services.event_close, _("认筹已截止，名单已冻结并公布摘要")),
        "start": (services.selection_start, _("选房已开始")),
        "finish": (services.event_finish, _("开盘活动已结束")),
    }
    if step not in calls:
        return _back(event)
    call, success = calls[step]
    run_action(request, lambda: call(actor=request.user, event=event), success=success)
    return _back(event)


@require_POST
@project_page(*SEE, act=MANAGE)
def event_draw(request, project, pk):
    event = _event(request, project, pk)
    run_action(
        request,
        lambda: services.event_draw(
            actor=request.user, event=event, public_value=request.POST.get("public_value", "")
        ),
        success=_("摇号完成，结果与公示文件已公布"),
    )
    return _back(event)


@require_POST
@project_page(*SEE, act=MANAGE)
def entry_register(request, project, pk):
    """认筹 for a customer found by phone tail, name or initials; the code is shown once."""
    event = _event(request, project, pk)
    customer = Customer.objects.filter(
        project=project,
        pk=request.POST.get("customer")
        if str(request.POST.get("customer", "")).isdigit()
        else None,
    ).first()
    if customer is None:
        messages.error(request, _("请选择客户"))
        return _back(event)
    ok, result = run_action(
        request,
        lambda: services.entry_register(
            actor=request.user,
            event=event,
            customer=customer,
            first_home=request.POST.get("first_home") == "on",
            payment_method=request.POST.get("payment_method", ""),
        ),
    )
    if ok:
        entry, code = result
        messages.success(
            request,
            _("认筹号 %(n)s，选房码 %(c)s（只显示这一次，请打印在认筹单上交给客户）")
            % {"n": entry.number, "c": code},
        )
    return _back(event)


@require_POST
@project_page(*SEE, act=(MANAGE, "payment.record"))
def entry_action(request, project, pk, entry, step):
    """Confirm a buyer's 购房资格, withdraw an entry, or issue a new selection code."""
    event = _event(request, project, pk)
    found = get_object_or_404(Entry, pk=entry, event=event)
    if step == "qualify":
        run_action(
            request,
            lambda: services.entry_qualify(actor=request.user, entry=found),
            success=_("已确认购房资格"),
        )
    elif step == "withdraw":
        run_action(
            request,
            lambda: services.entry_withdraw(actor=request.user, entry=found),
            success=_("已退筹"),
        )
    elif step in ("pay", "refund"):
        call = services.entry_pay if step == "pay" else services.entry_refund
        run_action(
            request,
            lambda: call(
                actor=request.user,
                entry=found,
                method=request.POST.get("method", ""),
                bank_reference=request.POST.get("bank_reference", ""),
            ),
            success=_("诚意金已收") if step == "pay" else _("诚意金已全额退还"),
        )
    elif step == "code":
        run_action(
            request,
            lambda: services.entry_code_reset(actor=request.user, entry=found),
            success=lambda code: (
                _("认筹号 %(n)s 的新选房码：%(c)s（只显示这一次）") % {"n": found.number, "c": code}
            ),
        )
    return _back(event)


@require_POST
@project_page(*SEE, act=MANAGE)
def event_batches(request, project, pk):
    """Cut the drawn order into batches of ``size`` entrants, ``minutes`` each, from
    ``starts_at``."""
    event = _event(request, project, pk)
    try:
        size = int(request.POST.get("size", ""))
        minutes = int(request.POST.get("minutes", ""))
        starts_at = timezone.make_aware(
            datetime.datetime.fromisoformat(request.POST.get("starts_at", ""))
        )
        if size < 1 or minutes < 1:
            raise ValueError
    except (TypeError, ValueError):
        messages.error(request, _("请填写每批人数、每批分钟数和开始时间"))
        return _back(event)
    total = event.entries.filter(position__isnull=False).count()
    batches, first, at = [], 1, starts_at
    while first <= total:
        last = min(total, first + size - 1)
        batches.append((first, last, at, at + datetime.timedelta(minutes=minutes)))
        first, at = last + 1, at + datetime.timedelta(minutes=minutes)
    run_action(
        request,
        lambda: services.batches_set(actor=request.user, event=event, batches=batches),
        success=_("已设置 %(n)s 个选房批次") % {"n": len(batches)},
    )
    return _back(event)


def candidates(project, text: str):
    """Customers to register, found as the customer list finds them."""
    if not (text or "").strip():
        return Customer.objects.none()
    return customer_selectors.search(
        Customer.objects.filter(project=project, anonymized_at__isnull=True), text
    ).order_by("name")[:20]


@require_POST
@project_page(*SEE, act="payment.record")
def pick_deposit(request, project, pk, pick):
    """Finance turns the buyer's sincerity deposit into the pick's deal deposit."""
    event = _event(request, project, pk)
    found = get_object_or_404(
        Pick.objects.select_related("entry__customer", "deal"), pk=pick, event=event
    )
    run_action(
        request,
        lambda: services.pick_to_deposit(actor=request.user, pick=found),
        success=_("诚意金已转为定金"),
    )
    return _back(event)
