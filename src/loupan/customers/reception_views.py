"""Pages for the front desk 前台接待, the duty roster 排班, call records 来电登记 and the
supervisor's morning check 晨检. Thin: every write is a service in ``reception``."""

import datetime

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loupan.accounts import access
from loupan.core.errors import DomainError
from loupan.core.identity import display_phone
from loupan.core.masking import mask_phone
from loupan.core.pages import project_page, require, run_action
from loupan.core.views import paginate
from loupan.signoffs import services as signoffs

from . import reception as svc
from .forms import CallForm
from .models import CallRecord, Customer, Post, RosterEntry
from .views import SEE

# The front desk and the roster are for those who take visitors or manage the rotation;
# anyone else of the project gets a 403 naming the first of them.
DESK = ("customer.add", "roster.manage")


def _date(request, default):
    value = request.GET.get("date") or request.POST.get("date")
    return parse_date(value) if value and parse_date(value) else default


def masked(phone: str) -> str:
    return mask_phone(display_phone(phone))


# --- front desk ---------------------------------------------------------------------------


@project_page(act=DESK)
def reception_desk(request, project):
    """前台接待: who receives the next visitor and the next call (and who is skipped as
    away), the buttons to take them, the search for a returning customer by phone tail,
    and the day's reception log."""
    today = timezone.localdate()
    queues = []
    for post in (Post.FLOOR, Post.PHONE):
        user, skipped = svc.next_in_turn(project, today, post)
        queues.append(
            {
                "post": post,
                "label": Post(post).label,
                "user": user,
                "skipped": skipped,
                "entries": list(svc.roster_entries(project, today, post)),
            }
        )
    tail = request.GET.get("tail", "").strip()
    candidates = list(svc.returning_candidates(project, tail)) if tail else []
    for c in candidates:
        c.masked_phone = masked(c.phone)
    log = list(svc.receptions_of_day(project, today))
    counts = svc.reception_counts(project, today)
    context = {
        "project": project,
        "today": today,
        "queues": queues,
        "tail": tail,
        "candidates": candidates,
        "log": log,
        "counts": [
            {"user": u, **counts[u.pk]} for u in svc.eligible_users(project) if u.pk in counts
        ],
        "can_take": access.has_perm(request.user, "customer.add", project),
        "can_manage": access.has_perm(request.user, "roster.manage", project),
    }
    return render(request, "customers/reception_desk.html", context)


@require_POST
@project_page(act="customer.add")
def reception_take(request, project):
    """Take the next visitor or call (by turn), or a returning customer (to the owner),
    or an old customer bringing a new one (老带新, one reception for the owner)."""
    post = request.POST.get("post", Post.FLOOR)
    kwargs = {"note": request.POST.get("note", "")[:200]}
    for name in ("returning_customer", "brought_by"):
        if request.POST.get(name):
            kwargs[name] = get_object_or_404(
                Customer.objects.filter(project=project, anonymized_at__isnull=True),
                pk=request.POST[name],
            )
    ok, reception = run_action(
        request,
        lambda: svc.reception_take(actor=request.user, project=project, post=post, **kwargs),
        success=_taken,
    )
    if ok and reception.call_id:
        return redirect("customers:call_edit", project.pk, reception.call_id)
    return redirect("customers:reception_desk", project.pk)


def _taken(reception) -> str:
    """Who received the visitor or call, and who was skipped as away."""
    if reception.by_turn:
        msg = _("由 %(name)s 接待（按轮次）") % {"name": reception.consultant.get_full_name()}
    else:
        msg = _("由 %(name)s 接待（归属顾问，不占轮次）") % {
            "name": reception.consultant.get_full_name()
        }
    if reception.skipped:
        msg += " · " + _("暂离跳过：%(names)s") % {
            "names": "、".join(s["name"] for s in reception.skipped)
        }
    return msg


# --- roster -------------------------------------------------------------------------------


@project_page(act=DESK)
def roster(request, project):
    """排班: the supervisor sets the order per post for a day (a number per consultant;
    blank = not on duty) and toggles away."""
    date = _date(request, timezone.localdate())
    can_manage = access.has_perm(request.user, "roster.manage", project)
    users = list(svc.eligible_users(project))
    errors = {}
    if request.method == "POST":
        require(request.user, project, "roster.manage")
        post = request.POST.get("post", "")
        order = []
        for user in users:
            raw = request.POST.get(f"order_{user.pk}", "").strip()
            if raw:
                try:
                    order.append((int(raw), user.pk))
                except ValueError:
                    errors[post] = _("顺序：请填写数字")
        if not errors:
            try:
                svc.roster_set(
                    actor=request.user,
                    project=project,
                    date=date,
                    post=post,
                    user_ids=[uid for _n, uid in sorted(order)],
                )
            except DomainError as exc:
                errors[post] = exc.message
            else:
                messages.success(request, _("排班已保存"))
                return redirect(f"{request.path}?date={date.isoformat()}")
    posts = []
    for post in (Post.FLOOR, Post.PHONE):
        entries = list(svc.roster_entries(project, date, post))
        position = {e.user_id: e.position for e in entries}
        posts.append(
            {
                "post": post,
                "label": Post(post).label,
                "entries": entries,
                "rows": [{"user": u, "position": position.get(u.pk, "")} for u in users],
                "error": errors.get(post),
            }
        )
    context = {
        "project": project,
        "date": date,
        "prev": date - datetime.timedelta(days=1),
        "next": date + datetime.timedelta(days=1),
        "posts": posts,
        "can_manage": can_manage,
        "editable": can_manage and date >= timezone.localdate(),
    }
    return render(request, "customers/roster.html", context, status=400 if errors else 200)


@require_POST
@project_page()
def roster_away(request, project, pk):
    require(request.user, project, *DESK)
    entry = get_object_or_404(RosterEntry.objects.filter(project=project), pk=pk)
    run_action(
        request,
        lambda: svc.roster_set_away(
            actor=request.user, entry=entry, away=request.POST.get("away") == "1"
        ),
    )
    nxt = request.POST.get("next", "")
    if nxt.startswith("/") and not nxt.startswith("//"):
        return redirect(nxt)
    return redirect(f"/projects/{project.pk}/roster/?date={entry.date.isoformat()}")


# --- call records -------------------------------------------------------------------------


@project_page(act=SEE)
def call_list(request, project):
    """来电记录: consultants see their own calls, supervisors all; research calls are
    flagged and listed apart (they count in no statistic)."""
    qs = svc.calls_visible(request.user, project)
    date = parse_date(request.GET.get("date", "") or "")
    if date:
        qs = qs.filter(called_at__date=date)
    page = paginate(request, qs.filter(is_research=False).order_by("-called_at", "-pk"))
    research = list(qs.filter(is_research=True).order_by("-called_at", "-pk")[:50])
    labels = _missing_labels()
    for call in list(page.object_list) + research:
        call.masked_phone = masked(call.phone)
        call.missing_labels = [labels[m] for m in svc.call_missing(call)]
    context = {
        "project": project,
        "page": page,
        "research": research,
        "date": date,
        "can_add": access.has_perm(request.user, "customer.add", project),
    }
    return render(request, "customers/call_list.html", context)


@project_page(act="customer.add")
def call_create(request, project):
    form = CallForm(
        request.POST or None,
        project=project,
        initial={"called_at": timezone.localtime().replace(second=0, microsecond=0)},
    )
    if request.method == "POST" and form.is_valid():
        ok, _result = run_action(
            request,
            lambda: svc.call_record_create(
                actor=request.user, project=project, data=form.cleaned_data
            ),
            success=lambda call: (
                _("来电已登记，接听顾问：%(name)s") % {"name": call.received_by.get_full_name()}
            ),
            form=form,
        )
        if ok:
            return redirect("customers:call_list", project.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "customers/call_form.html",
        {"project": project, "form": form, "title": _("来电登记")},
        status=status,
    )


def _call(request, project, pk):
    return get_object_or_404(svc.calls_visible(request.user, project), pk=pk)


@project_page()
def call_edit(request, project, pk):
    """Complete or correct a call (the receiving consultant while unconfirmed; the
    supervisor at the morning check, which confirms it)."""
    require(request.user, project, *SEE)
    call = _call(request, project, pk)
    if not svc._may_edit_call(request.user, call):
        require(request.user, project, "roster.manage")
    can_manage = access.has_perm(request.user, "roster.manage", project)
    initial = {name: getattr(call, name) for name in svc.CALL_FIELDS}
    initial["called_at"] = timezone.localtime(call.called_at)
    initial["phone"] = display_phone(call.phone)
    form = CallForm(request.POST or None, project=project, initial=initial, with_receiver=False)
    if request.method == "POST" and form.is_valid():
        ok, _result = run_action(
            request,
            lambda: svc.call_update(
                actor=request.user,
                call=call,
                data=form.cleaned_data,
                confirm=can_manage and request.POST.get("confirm") == "1",
            ),
            success=_("来电记录已保存"),
            form=form,
        )
        if ok:
            back = request.POST.get("next", "")
            if back.startswith("/") and not back.startswith("//"):
                return redirect(back)
            return redirect("customers:call_list", project.pk)
    context = {
        "project": project,
        "form": form,
        "call": call,
        "can_manage": can_manage,
        "next": request.GET.get("next", request.POST.get("next", "")),
        "title": _("来电记录"),
    }
    return render(request, "customers/call_form.html", context, status=400 if form.errors else 200)


@require_POST
@project_page(act="roster.manage")
def call_confirm(request, project, pk):
    call = get_object_or_404(CallRecord.objects.filter(project=project), pk=pk)
    svc.morning_confirm(actor=request.user, call=call)
    messages.success(request, _("已核查"))
    return redirect(
        f"/projects/{project.pk}/morning-check/?date="
        f"{timezone.localtime(call.called_at).date().isoformat()}"
    )


@require_POST
@project_page()
def call_link(request, project, pk):
    """Link a caller who later visited to their customer (found by the call's number or
    chosen by id)."""
    require(request.user, project, *DESK)
    call = _call(request, project, pk)
    customer = Customer.objects.filter(
        project=project, pk=request.POST.get("customer") or 0, anonymized_at__isnull=True
    ).first()
    run_action(
        request,
        lambda: svc.call_link_customer(actor=request.user, call=call, customer=customer),
        success=_("已关联客户"),
    )
    return redirect("customers:call_list", project.pk)


def _missing_labels():
    return {
        "phone": _("电话"),
        "name": _("姓名或称呼"),
        "question": _("咨询内容"),
        "competitor": _("同行单位"),
        "wanted_layout": _("意向户型"),
    }


# --- the morning check --------------------------------------------------------------------


@project_page(act="roster.manage")
def morning_check(request, project):
    """晨检 (seed 001, by 10:00): yesterday's calls and visits per consultant, to confirm
    or correct, with missing mandatory fields highlighted."""
    date = _date(request, timezone.localdate() - datetime.timedelta(days=1))
    days = svc.morning_check(project, date)
    labels = _missing_labels()
    for d in days:
        for call in d.calls + d.research_calls:
            call.masked_phone = masked(call.phone)
            call.missing_labels = [labels[m] for m in call.missing]
        for visit in d.visits:
            visit.masked_phone = masked(visit.customer.phone)
            visit.missing_labels = [labels[m] for m in visit.missing]
    context = {
        "project": project,
        "date": date,
        "prev": date - datetime.timedelta(days=1),
        "next": date + datetime.timedelta(days=1),
        "days": days,
        "signoff": signoffs.box(request.user, project, svc.MORNING_SIGNOFF, date),
    }
    return render(request, "customers/morning_check.html", context)
