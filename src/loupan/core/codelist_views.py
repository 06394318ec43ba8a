"""代码表 page: every code list of the project (认知途径, 职业, 跟进方式, 退房原因 …) with
its entries; those holding ``codelist.manage`` add, rename, reorder, retire and bring
back entries (``core.codelists``). One URL: GET shows, POST runs one action named by
``action`` (add, change, retire, restore) on the list ``kind`` and the entry ``code``;
``company=1``: on the company's entries (shown on every project of the company, kept by
who holds ``codelist.manage`` on all of them)."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import codelists
from .pages import project_page, require, run_action
from .ports import access

ACTIONS = ("add", "change", "retire", "restore")


class EntryForm(forms.Form):
    label = forms.CharField(label=gettext_lazy("名称"), max_length=50, required=False)
    sort_order = forms.IntegerField(
        label=gettext_lazy("排序"), min_value=0, max_value=32767, required=False
    )
    code = forms.CharField(
        label=gettext_lazy("代码"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("留空自动生成")}),
    )


def _page(request, project, *, status=200, bound=None):
    """The lists with a form per entry and an add form per list; ``bound``: (kind, code,
    form) of the refused action, shown with its reasons."""
    can = access.has_perm(request.user, codelists.PERM, project)
    can_company = can and codelists.may_manage_company(request.user, project)
    lists = []
    for spec in codelists.kinds():
        rows = []
        for entry in codelists.entries(spec.code, project):
            form = None
            if can and (can_company or not entry.company):
                if bound and bound[0] == spec.code and bound[1] == entry.code:
                    form = bound[2]
                else:
                    form = EntryForm(
                        initial={"label": entry.label, "sort_order": entry.sort_order},
                        auto_id=f"{spec.code}-{entry.code}-%s",
                    )
            rows.append((entry, form))
        add = None
        if can:
            add = (
                bound[2]
                if bound and bound[0] == spec.code and bound[1] == ""
                else EntryForm(auto_id=f"{spec.code}-new-%s")
            )
        lists.append(
            {
                "kind": spec,
                "rows": rows,
                "add": add,
                "model": spec.store is not None,
                "company": can_company and spec.store is None,
            }
        )
    return render(
        request,
        "core/code_lists.html",
        {"project": project, "lists": lists, "can_manage": can, "can_company": can_company},
        status=status,
    )


@project_page("project.view")
def code_lists(request, project):
    if request.method != "POST":
        return _page(request, project)
    require(request.user, project, codelists.PERM)
    action = request.POST.get("action", "")
    kind = request.POST.get("kind", "")
    code = request.POST.get("entry", "") if action != "add" else ""
    form = EntryForm(request.POST, auto_id=f"{kind}-{code or 'new'}-%s")
    if action not in ACTIONS or kind not in {k.code for k in codelists.kinds()}:
        messages.error(request, _("未知的操作") if kind else _("请选择代码表"))
        return _page(request, project, status=400)
    if not form.is_valid():
        return _page(request, project, status=400, bound=(kind, code, form))
    data = form.cleaned_data
    company = request.POST.get("company") == "1"
    calls = {
        "add": lambda: codelists.entry_add(
            actor=request.user,
            project=project,
            kind=kind,
            label=data["label"],
            code=data["code"],
            sort_order=data["sort_order"],
            company=company,
        ),
        "change": lambda: codelists.entry_change(
            actor=request.user,
            project=project,
            kind=kind,
            code=code,
            label=data["label"],
            sort_order=data["sort_order"],
            company=company,
        ),
        "retire": lambda: codelists.entry_retire(
            actor=request.user, project=project, kind=kind, code=code, company=company
        ),
        "restore": lambda: codelists.entry_restore(
            actor=request.user, project=project, kind=kind, code=code, company=company
        ),
    }
    done = {
        "add": _("已添加。"),
        "change": _("已保存。"),
        "retire": _("已停用：之后不再提供该选项，原有记录保留并照常显示。"),
        "restore": _("已恢复启用。"),
    }
    ok, _entry = run_action(request, calls[action], success=done[action], form=form)
    if ok:
        return redirect(f"{request.path}#list-{kind}")
    return _page(request, project, status=400, bound=(kind, code, form))
