"""Price-list pages 价格方案 (issue Inventory): list, new draft from a rule, the draft with
its items and distribution, manual prices, scaling to a target average, the approval
buttons, and adjustments 调价. Thin: every write is a service of ``pricelists``; a
DomainError is shown next to the field it names. Every page starts from the restricted
queryset, and floor prices (底价) appear only for viewers holding ``unit.view_floor_price``."""

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from loupan.accounts import access
from loupan.approvals import services as approvals
from loupan.core.errors import DomainError
from loupan.core.masking import can_see_floor_price, strip_floor_price
from loupan.core.pages import project_page, run_action
from loupan.core.views import form_error, paginate, query_without_page, refused

from . import price_rules, pricelists
from .models import (
    Building,
    Layout,
    Orientation,
    PriceList,
    PriceListKind,
    PriceListStatus,
    PricingBasis,
    Unit,
    UnitStatus,
)

ROUND_STEP_CHOICES = [
    ("1", gettext_lazy("1 元")),
    ("10", gettext_lazy("10 元")),
    ("100", gettext_lazy("100 元")),
]
ROUND_ON_CHOICES = [("total", gettext_lazy("总价取整")), ("unit_price", gettext_lazy("单价取整"))]
FLOOR_MODE_CHOICES = [
    ("none", gettext_lazy("无楼层差")),
    ("step", gettext_lazy("按层递增（自基准楼层起每层）")),
    ("table", gettext_lazy("楼层差表")),
]
ADJUST_MODE_CHOICES = [
    ("percent", gettext_lazy("按比例（%）")),
    ("amount", gettext_lazy("按金额（元/㎡）")),
]
ITEMS_PER_PAGE = 100


# --- helpers ------------------------------------------------------------------------------


def _price_list(request, project, pk):
    """A price list of the project the user may see (a forbidden one is a 404)."""
    qs = PriceList.objects.restrict(request.user, "view").select_related(
        "project", "created_by", "decided_by"
    )
    return get_object_or_404(qs, project=project, pk=pk)


def _pairs(text: str, field_name: str) -> dict:
    """``key: value`` per line (also ``key=value`` and full-width colons) as a dict."""
    out = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip().replace("：", ":").replace("=", ":")
        if not line:
            continue
        if ":" not in line:
            raise forms.ValidationError(
                _("第 %(n)s 行应写成“名称: 值”") % {"n": number}, code="format"
            )
        key, value = (part.strip() for part in line.split(":", 1))
        if not key or not value:
            raise forms.ValidationError(_("第 %(n)s 行缺少名称或值") % {"n": number}, code="format")
        out[key] = value
    return out


def _textarea(rows=3, placeholder=""):
    return forms.Textarea(attrs={"rows": rows, "placeholder": placeholder})


# --- forms --------------------------------------------------------------------------------


class RuleForm(forms.Form):
    """The generation rule of a new draft (price_rules.Rule), base prices per building and
    layout of the project as one field each."""

    name = forms.CharField(label=gettext_lazy("方案名称"), max_length=100)
    pricing_basis = forms.ChoiceField(label=gettext_lazy("计价方式"), choices=PricingBasis.choices)
    buildings = forms.MultipleChoiceField(
        label=gettext_lazy("适用楼栋"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("不选即为全部楼栋"),
    )
    floor_mode = forms.ChoiceField(
        label=gettext_lazy("楼层差"), choices=FLOOR_MODE_CHOICES, initial="step"
    )
    floor_base = forms.IntegerField(label=gettext_lazy("基准楼层"), initial=1)
    floor_step = forms.CharField(
        label=gettext_lazy("每层差价"),
        required=False,
        help_text=gettext_lazy("元/㎡，如 30；或百分比，如 0.5%"),
    )
    floor_table = forms.CharField(
        label=gettext_lazy("楼层差表"),
        required=False,
        widget=_textarea(3, "5: 120\n6: 1%"),
        help_text=gettext_lazy("每行“楼层: 差价”，未列出的楼层为 0"),
    )
    floor_exceptions = forms.CharField(
        label=gettext_lazy("特殊楼层"),
        required=False,
        widget=_textarea(3, "1: -300\n2: -150\n顶层: -200"),
        help_text=gettext_lazy("每行“楼层: 差价”，顶层写“顶层”；优先于按层递增"),
    )
    view_premiums = forms.CharField(
        label=gettext_lazy("景观加价"),
        required=False,
        widget=_textarea(2, "湖景: 2%\n园景: 100"),
        help_text=gettext_lazy("每行“景观: 加价”（元/㎡ 或 %）"),
    )
    rounding_step = forms.ChoiceField(
        label=gettext_lazy("取整单位"), choices=ROUND_STEP_CHOICES, initial="100"
    )
    rounding_on = forms.ChoiceField(
        label=gettext_lazy("取整对象"), choices=ROUND_ON_CHOICES, initial="total"
    )
    floor_price_discount = forms.DecimalField(
        label=gettext_lazy("底价折让（%）"),
        required=False,
        min_value=Decimal("0"),
        max_digits=5,
        decimal_places=2,
        help_text=gettext_lazy("底价 = 总价 ×（1 − 折让%）；不填则保留现有底价"),
    )
    target_average = forms.DecimalField(
        label=gettext_lazy("目标均价（元/㎡）"),
        required=False,
        max_digits=14,
        decimal_places=2,
        help_text=gettext_lazy("填写后整体缩放到该均价（±1 元）"),
    )
    note = forms.CharField(label=gettext_lazy("说明"), required=False, widget=_textarea(2))

    def __init__(self, *args, project, show_floor: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        self.buildings_list = list(
            Building.objects.filter(project=project).order_by("sort_order", "name")
        )
        self.layouts_list = list(Layout.objects.filter(project=project).order_by("name"))
        self.fields["buildings"].choices = [(str(b.pk), b.name) for b in self.buildings_list]
        self.fields["pricing_basis"].initial = project.default_pricing_basis
        for building in self.buildings_list:
            self.fields[f"building_{building.pk}"] = forms.DecimalField(
                label=building.name,
                required=False,
                max_digits=14,
                decimal_places=2,
                min_value=Decimal("0.01"),
            )
        for layout in self.layouts_list:
            self.fields[f"layout_{layout.pk}"] = forms.DecimalField(
                label=layout.name,
                required=False,
                max_digits=14,
                decimal_places=2,
                min_value=Decimal("0.01"),
            )
        for code, name in Orientation.choices:
            self.fields[f"orientation_{code}"] = forms.CharField(
                label=name,
                required=False,
                max_length=20,
                widget=forms.TextInput(attrs={"placeholder": "0"}),
            )
        if not show_floor:
            del self.fields["floor_price_discount"]

    def building_fields(self):
        return [self[f"building_{b.pk}"] for b in self.buildings_list]

    def layout_fields(self):
        return [self[f"layout_{layout.pk}"] for layout in self.layouts_list]

    def orientation_fields(self):
        return [self[f"orientation_{code}"] for code, _name in Orientation.choices]

    def clean_floor_table(self):
        return _pairs(self.cleaned_data.get("floor_table"), "floor_table")

    def clean_floor_exceptions(self):
        return _pairs(self.cleaned_data.get("floor_exceptions"), "floor_exceptions")

    def clean_view_premiums(self):
        return _pairs(self.cleaned_data.get("view_premiums"), "view_premiums")

    def rule(self) -> dict:
        data = self.cleaned_data
        rule = {
            "building_prices": {
                str(b.pk): str(data[f"building_{b.pk}"])
                for b in self.buildings_list
                if data.get(f"building_{b.pk}") is not None
            },
            "layout_prices": {
                str(layout.pk): str(data[f"layout_{layout.pk}"])
                for layout in self.layouts_list
                if data.get(f"layout_{layout.pk}") is not None
            },
            "floor": {
                "mode": data["floor_mode"],
                "base": data.get("floor_base") or 1,
                "step": data.get("floor_step") or "",
                "table": data.get("floor_table") or {},
                "exceptions": data.get("floor_exceptions") or {},
            },
            "orientation_premiums": {
                code: data[f"orientation_{code}"]
                for code, _name in Orientation.choices
                if data.get(f"orientation_{code}")
            },
            "view_premiums": data.get("view_premiums") or {},
            "rounding": {"step": data["rounding_step"], "on": data["rounding_on"]},
        }
        if data.get("floor_price_discount") is not None:
            rule["floor_price"] = {"discount_pct": str(data["floor_price_discount"])}
        return rule


class OverrideForm(forms.Form):
    unit_number = forms.CharField(label=gettext_lazy("房间编号"), max_length=50)
    kind = forms.ChoiceField(
        label=gettext_lazy("按"),
        choices=[
            ("total", gettext_lazy("总价（元）")),
            ("unit_price", gettext_lazy("单价（元/㎡）")),
        ],
    )
    value = forms.DecimalField(
        label=gettext_lazy("价格"), required=False, max_digits=14, decimal_places=2
    )
    clear = forms.BooleanField(label=gettext_lazy("恢复规则价"), required=False)

    def clean(self):
        data = super().clean()
        if not data.get("clear") and data.get("value") is None:
            self.add_error("value", _("请填写价格"))
        return data


class ScaleForm(forms.Form):
    target_average = forms.DecimalField(
        label=gettext_lazy("目标均价"), max_digits=14, decimal_places=2
    )
    building = forms.ChoiceField(label=gettext_lazy("范围"), required=False)

    def __init__(self, *args, buildings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].choices = [("", _("全部房间"))] + [
            (str(b.pk), b.name) for b in buildings
        ]


class DecisionForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("审批意见"), required=False, max_length=200)


class ApplyForm(forms.Form):
    scheduled_at = forms.DateTimeField(
        label=gettext_lazy("定时执行"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )


class AdjustFilterForm(forms.Form):
    building = forms.ChoiceField(label=gettext_lazy("楼栋"), required=False)
    layout = forms.ChoiceField(label=gettext_lazy("户型"), required=False)
    floor_from = forms.IntegerField(label=gettext_lazy("起始楼层"), required=False)
    floor_to = forms.IntegerField(label=gettext_lazy("截止楼层"), required=False)
    status = forms.ChoiceField(label=gettext_lazy("状态"), required=False)

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].choices = [("", _("全部"))] + [
            (str(b.pk), b.name)
            for b in Building.objects.filter(project=project).order_by("sort_order", "name")
        ]
        self.fields["layout"].choices = [("", _("全部"))] + [
            (str(layout.pk), layout.name)
            for layout in Layout.objects.filter(project=project).order_by("name")
        ]
        self.fields["status"].choices = [("", _("全部"))] + list(UnitStatus.choices)


class AdjustForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("调价名称"), max_length=100)
    mode = forms.ChoiceField(label=gettext_lazy("调价方式"), choices=ADJUST_MODE_CHOICES)
    value = forms.DecimalField(
        label=gettext_lazy("幅度"),
        max_digits=14,
        decimal_places=2,
        help_text=gettext_lazy("上调为正，下调为负；按金额时为元/㎡（按套计价的房间为元/套）"),
    )
    rounding_step = forms.ChoiceField(
        label=gettext_lazy("取整单位"), choices=ROUND_STEP_CHOICES, initial="100"
    )
    rounding_on = forms.ChoiceField(label=gettext_lazy("取整对象"), choices=ROUND_ON_CHOICES)
    note = forms.CharField(label=gettext_lazy("说明"), required=False, widget=_textarea(2))


# --- pages --------------------------------------------------------------------------------


@project_page(act="pricelist.view")
def pricelist_list(request, project):
    """The project's price lists and adjustments, newest version first."""
    qs = (
        PriceList.objects.restrict(request.user, "view")
        .filter(project=project)
        .select_related("created_by", "decided_by")
        .annotate(item_count=Count("items"))
        .order_by("-version")
    )
    status = request.GET.get("status")
    if status in PriceListStatus.values:
        qs = qs.filter(status=status)
    return render(
        request,
        "inventory/pricelist_list.html",
        {
            "project": project,
            "page": paginate(request, qs),
            "query": query_without_page(request),
            "statuses": PriceListStatus.choices,
            "status": status,
            "can_change": access.has_perm(request.user, "pricelist.change", project),
        },
    )


@project_page(act="pricelist.change")
def pricelist_create(request, project):
    """New draft from a generation rule."""
    show_floor = can_see_floor_price(request.user, project)
    form = RuleForm(request.POST or None, project=project, show_floor=show_floor)
    if request.method == "POST" and form.is_valid():
        ok, pl = run_action(
            request,
            lambda: pricelists.pricelist_generate(
                actor=request.user,
                project=project,
                name=form.cleaned_data["name"],
                rule=form.rule(),
                pricing_basis=form.cleaned_data["pricing_basis"],
                building_ids=[int(b) for b in form.cleaned_data["buildings"]] or None,
                target_average=form.cleaned_data.get("target_average"),
                note=form.cleaned_data.get("note") or "",
            ),
            success=lambda pl: _("已生成价格方案草稿 V%(v)s。") % {"v": pl.version},
            form=form,
        )
        if ok:
            return redirect(pl)
    return render(
        request,
        "inventory/pricelist_form.html",
        {"project": project, "form": form, "show_floor": show_floor},
    )


def _detail_context(request, pl, **forms_):
    user = request.user
    project = pl.project
    show_floor = can_see_floor_price(user, project)
    all_items = list(pricelists.pricelist_items(pl))
    building = request.GET.get("building") or ""
    shown = [i for i in all_items if not building or str(i.unit.building_id) == building]
    page = paginate(request, shown, ITEMS_PER_PAGE)
    rows = []
    for item in page.object_list:
        unit = item.unit
        row = {
            "number": unit.number,
            "unit_url": unit.get_absolute_url(),
            "building": unit.building.name,
            "layout": unit.layout.name if unit.layout_id else "",
            "floor": unit.floor,
            "status": unit.get_status_display(),
            "status_code": unit.status,
            "locked": unit.status in pricelists.LOCKED_PRICE_STATUSES,
            "area": unit.gross_area,
            "old_list_price": item.old_list_price,
            "unit_price": item.unit_price,
            "list_price": item.list_price,
            "change_pct": pricelists.item_change_pct(item),
            "change_up": item.old_list_price is not None and item.list_price > item.old_list_price,
            "manual": item.manual,
            "skipped": item.skipped,
            "skip_reason": item.skip_reason,
        }
        if show_floor:
            row["floor_price"] = item.floor_price
        rows.append(row)
    is_own = pl.created_by_id == user.pk
    waiting = pricelists.pending_request(pl) if pl.status == PriceListStatus.SUBMITTED else None
    # the approval engine's answer: the manager within the threshold, the director any
    # list, never the drafter; a manager may still see why a list waits for the director
    decision = approvals.can_decide(user, waiting) if waiting else (False, "")
    rejection = approvals.can_decide(user, waiting, approve=False) if waiting else (False, "")
    can_change = access.has_perm(user, "pricelist.change", project)
    can_apply = any(access.has_perm(user, code, project) for code in pricelists.APPLY_PERMS)
    draft = pl.status == PriceListStatus.DRAFT
    parameters = strip_floor_price(user, project, pl.parameters or {})
    rule = dict(parameters.get("rule") or {})
    return {
        "project": project,
        "object": pl,
        "rows": rows,
        "page": page,
        "query": query_without_page(request),
        "building": building,
        "buildings": sorted(
            {
                (i.unit.building.sort_order, i.unit.building_id, i.unit.building.name)
                for i in all_items
            }
        ),
        "stats": (stats := pricelists.pricelist_distribution(pl, all_items)),
        "stats_overall": [stats["overall"]],
        "show_floor": show_floor,
        "rule": rule,
        "rule_text": _rule_text(
            rule,
            {i.unit.building_id: i.unit.building.name for i in all_items},
            {i.unit.layout_id: i.unit.layout.name for i in all_items if i.unit.layout_id},
        ),
        "adjustment": parameters.get("adjustment"),
        "scales": parameters.get("scale") or [],
        "apply_result": parameters.get("apply_result"),
        "apply_error": parameters.get("apply_error"),
        "locked_count": sum(
            1
            for i in all_items
            if i.unit.status in pricelists.LOCKED_PRICE_STATUSES and not i.skipped
        ),
        "skipped_count": sum(1 for i in all_items if i.skipped),
        "manager_limit": pricelists.manager_max_change_pct(),
        "is_own": is_own,
        "can_edit": can_change and draft,
        "can_submit": can_change and draft,
        "can_reopen": can_change and pl.status == PriceListStatus.REJECTED,
        "can_decide": rejection[0],
        "can_approve": decision[0],
        "decision_refusal": decision[1] if rejection[0] and not decision[0] else "",
        "approval_request": waiting,
        "can_apply": can_apply and pl.status == PriceListStatus.APPROVED,
        "override_form": forms_.get("override_form") or OverrideForm(prefix="ov"),
        "scale_form": forms_.get("scale_form")
        or ScaleForm(
            prefix="sc",
            buildings=Building.objects.filter(project=project).order_by("sort_order", "name"),
        ),
        "decision_form": forms_.get("decision_form") or DecisionForm(prefix="dc"),
        "apply_form": forms_.get("apply_form") or ApplyForm(prefix="ap"),
    }


def _rule_text(rule: dict, buildings: dict, layouts: dict) -> list[tuple[str, str]]:
    """The rule in words for the draft page."""
    if not rule:
        return []
    lines = []
    bp = rule.get("building_prices") or {}
    if bp:
        lines.append(
            (_("楼栋基准价"), "、".join(f"{buildings.get(int(k), k)} {v}" for k, v in bp.items()))
        )
    lp = rule.get("layout_prices") or {}
    if lp:
        lines.append(
            (_("户型基准价"), "、".join(f"{layouts.get(int(k), k)} {v}" for k, v in lp.items()))
        )
    floor = rule.get("floor") or {}
    if floor.get("mode") == "step":
        lines.append(
            (
                _("楼层差"),
                _("自 %(base)s 层起每层 %(step)s")
                % {"base": floor.get("base"), "step": floor.get("step")},
            )
        )
    elif floor.get("mode") == "table":
        floor_word = _("层")
        lines.append(
            (
                _("楼层差表"),
                "、".join(f"{k}{floor_word} {v}" for k, v in (floor.get("table") or {}).items()),
            )
        )
    if floor.get("exceptions"):
        top, floor_suffix = _("顶层"), _("层")
        lines.append(
            (
                _("特殊楼层"),
                "、".join(
                    f"{top if k == price_rules.TOP else k + floor_suffix} {v}"
                    for k, v in floor["exceptions"].items()
                ),
            )
        )
    names = dict(Orientation.choices)
    if rule.get("orientation_premiums"):
        lines.append(
            (
                _("朝向加价"),
                "、".join(
                    f"{names.get(k, k)} {v}" for k, v in rule["orientation_premiums"].items()
                ),
            )
        )
    if rule.get("view_premiums"):
        lines.append(
            (_("景观加价"), "、".join(f"{k} {v}" for k, v in rule["view_premiums"].items()))
        )
    rounding = rule.get("rounding") or {}
    lines.append(
        (
            _("取整"),
            _("%(on)s到 %(step)s 元")
            % {
                "on": _("总价") if rounding.get("on") == "total" else _("单价"),
                "step": rounding.get("step"),
            },
        )
    )
    if "floor_price" in rule:
        lines.append((_("底价折让"), f"{rule['floor_price'].get('discount_pct')}%"))
    return lines


@project_page("pricelist.view")
def pricelist_detail(request, project, pk):
    """A price list: its rule, the distribution, the items and the buttons its state and
    the viewer's permissions allow."""
    pl = _price_list(request, project, pk)
    return render(request, "inventory/pricelist_detail.html", _detail_context(request, pl))


def _rerender(request, pl, status=400, **forms_):
    return render(
        request,
        "inventory/pricelist_detail.html",
        _detail_context(request, pl, **forms_),
        status=status,
    )


@require_POST
@project_page("pricelist.view")
def pricelist_override(request, project, pk):
    pl = _price_list(request, project, pk)
    form = OverrideForm(request.POST, prefix="ov")
    if form.is_valid():
        unit = Unit.objects.filter(
            project=pl.project, number=form.cleaned_data["unit_number"].strip()
        ).first()
        if unit is None:
            form.add_error("unit_number", _("本项目没有该房间"))
        else:
            value = form.cleaned_data.get("value")
            kind = form.cleaned_data["kind"]

            def override():
                try:
                    return pricelists.pricelist_set_override(
                        actor=request.user,
                        price_list=pl,
                        unit_id=unit.pk,
                        unit_price=value if kind == "unit_price" else None,
                        total=value if kind == "total" else None,
                        clear=form.cleaned_data["clear"],
                    )
                except DomainError as exc:  # the service's fields are the form's
                    if "unit" in exc.fields:
                        exc.fields["unit_number"] = exc.fields.pop("unit")
                    if kind in exc.fields:
                        exc.fields["value"] = exc.fields.pop(kind)
                    raise

            ok, _result = run_action(
                request,
                override,
                success=_("房间 %(n)s 的价格已更新。") % {"n": unit.number},
                form=form,
            )
            if ok:
                return redirect(pl)
    return _rerender(request, pl, override_form=form)


@require_POST
@project_page("pricelist.view")
def pricelist_scale(request, project, pk):
    pl = _price_list(request, project, pk)
    form = ScaleForm(
        request.POST,
        prefix="sc",
        buildings=Building.objects.filter(project=pl.project).order_by("sort_order", "name"),
    )
    if form.is_valid():
        unit_ids = None
        if form.cleaned_data.get("building"):
            unit_ids = list(
                pl.items.filter(
                    unit__building_id=form.cleaned_data["building"], skipped=False
                ).values_list("unit_id", flat=True)
            )
        ok, _result = run_action(
            request,
            lambda: pricelists.pricelist_scale_to_average(
                actor=request.user,
                price_list=pl,
                target=form.cleaned_data["target_average"],
                unit_ids=unit_ids,
            ),
            success=lambda result: (
                _("已调整 %(n)s 个房间，均价为 %(avg)s。")
                % {"n": result["scaled"], "avg": result["reached"]}
            ),
            form=form,
        )
        if ok:
            return redirect(pl)
    return _rerender(request, pl, scale_form=form)


ACTIONS = ("submit", "approve", "reject", "reopen", "apply", "unschedule")


@require_POST
@project_page("pricelist.view")
def pricelist_action(request, project, pk, action):
    """The transitions: submit, approve, reject (with a note), reopen, apply (now or at a
    time), unschedule."""
    if action not in ACTIONS:
        raise Http404
    pl = _price_list(request, project, pk)
    decision_form = DecisionForm(
        request.POST if action in ("approve", "reject") else None, prefix="dc"
    )
    apply_form = ApplyForm(request.POST if action == "apply" else None, prefix="ap")
    form = decision_form if action in ("approve", "reject") else apply_form
    if action in ("approve", "reject", "apply") and not form.is_valid():
        return _rerender(request, pl, decision_form=decision_form, apply_form=apply_form)
    user = request.user
    try:
        if action == "submit":
            pricelists.pricelist_submit(actor=user, price_list=pl)
            message = _("已提交审批。")
        elif action == "approve":
            pricelists.pricelist_approve(actor=user, price_list=pl, note=form.cleaned_data["note"])
            message = _("已批准。")
        elif action == "reject":
            pricelists.pricelist_reject(actor=user, price_list=pl, note=form.cleaned_data["note"])
            message = _("已驳回。")
        elif action == "reopen":
            pricelists.pricelist_reopen(actor=user, price_list=pl)
            message = _("已退回草稿，可修改后重新提交。")
        elif action == "unschedule":
            pricelists.pricelist_unschedule(actor=user, price_list=pl)
            message = _("已取消定时执行。")
        else:
            at = form.cleaned_data.get("scheduled_at")
            result = pricelists.pricelist_apply(actor=user, price_list=pl, at=at)
            if "scheduled_at" in result:
                message = _("已设定于 %(at)s 执行。") % {
                    "at": timezone.localtime(result["scheduled_at"]).strftime("%Y-%m-%d %H:%M")
                }
            else:
                message = _("已执行：更新 %(n)s 个房间，跳过 %(s)s 个。") % {
                    "n": result["applied"],
                    "s": len(result["skipped"]),
                }
    except DomainError as exc:
        # as run_action, but a refusal about the form's fields re-renders the page
        refused(exc)
        if action in ("approve", "reject", "apply") and set(exc.fields) & set(form.fields):
            form_error(form, exc)
            return _rerender(request, pl, decision_form=decision_form, apply_form=apply_form)
        messages.error(request, exc.message)
        return redirect(pl)
    messages.success(request, message)
    return redirect(pl)


@project_page(act="pricelist.change")
def pricelist_adjust(request, project):
    """调价: pick units by building / layout / floors / status (or tick them), then raise
    or lower them by a percent or an amount; it becomes a draft on the approval path."""
    filter_form = AdjustFilterForm(request.GET or None, project=project)
    filters = {}
    if filter_form.is_valid():
        data = filter_form.cleaned_data
        filters = {
            "building_ids": [int(data["building"])] if data.get("building") else None,
            "layout_ids": [int(data["layout"])] if data.get("layout") else None,
            "floor_from": data.get("floor_from"),
            "floor_to": data.get("floor_to"),
            "statuses": [data["status"]] if data.get("status") else None,
        }
    elif not request.GET:
        filters = {"statuses": [UnitStatus.AVAILABLE]}
        filter_form = AdjustFilterForm(initial={"status": UnitStatus.AVAILABLE}, project=project)
    units = pricelists.units_matching(project=project, **filters)
    form = AdjustForm(request.POST or None)
    selected = set()
    if request.method == "POST":
        try:
            selected = {int(v) for v in request.POST.getlist("units") if v}
        except ValueError as exc:
            raise Http404 from exc
        if form.is_valid():
            unit_ids = sorted(selected) or list(units.values_list("pk", flat=True))
            data = form.cleaned_data
            ok, pl = run_action(
                request,
                lambda: pricelists.adjustment_create(
                    actor=request.user,
                    project=project,
                    name=data["name"],
                    unit_ids=unit_ids,
                    mode=data["mode"],
                    value=data["value"],
                    rounding_step=data["rounding_step"],
                    rounding_on=data["rounding_on"],
                    note=data.get("note") or "",
                ),
                success=lambda pl: (
                    _("已生成调价草稿 V%(v)s（跳过 %(s)s 个已预留/成交或未定价的房间）。")
                    % {"v": pl.version, "s": pl.items.filter(skipped=True).count()}
                ),
                form=form,
            )
            if ok:
                return redirect(pl)
    page = paginate(request, units, 200)
    return render(
        request,
        "inventory/pricelist_adjust.html",
        {
            "project": project,
            "filter_form": filter_form,
            "form": form,
            "page": page,
            "query": query_without_page(request),
            "count": page.paginator.count,
            "selected": selected,
            "locked": pricelists.LOCKED_PRICE_STATUSES,
        },
        status=400 if request.method == "POST" else 200,
    )


__all__ = [
    "PriceListKind",
    "pricelist_action",
    "pricelist_adjust",
    "pricelist_create",
    "pricelist_detail",
    "pricelist_list",
    "pricelist_override",
    "pricelist_scale",
]
