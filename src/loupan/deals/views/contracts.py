"""The contract's documents on pages (``contracts.py``): the project's templates (upload
a version, activate one, download one; the placeholders documented), and on the deal:
the contract printed as .docx, the submission to finance's review 计财部审核, and the
supplementary agreements 补充协议 (add, download)."""

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loupan.core.pages import project_page, run_action
from loupan.core.uploads import CONTENT_TYPES, serve_document

from .. import contracts, rules
from ..forms import SupplementForm, TemplateForm
from ..models import ContractTemplate, Supplement
from .common import SEE, deal_of, deal_page

DOCX = CONTENT_TYPES["docx"]
templates_page = project_page(*SEE, act="deal.contract")


def docx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=DOCX)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-store"
    return response


def _templates_page(request, project, form=None, status=200):
    return render(
        request,
        "deals/contract_templates.html",
        {
            "project": project,
            "templates": ContractTemplate.objects.filter(project=project)
            .select_related("uploaded_by")
            .order_by("kind", "-version"),
            "form": form or TemplateForm(initial={"activate": True}),
            "placeholders": contracts.PLACEHOLDERS,
            "example": "{{ total_upper }}",
            "loop_example": "{%p for b in buyers %}{{ b.name }}{%p endfor %}",
        },
        status=status,
    )


@templates_page
def contract_templates(request, project):
    """合同模板: the versions, the upload form and the placeholders a template may use."""
    if request.method != "POST":
        return _templates_page(request, project)
    form = TemplateForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        ok, _template = run_action(
            request,
            lambda: contracts.template_upload(
                actor=request.user,
                project=project,
                kind=data["kind"],
                name=data["name"],
                upload=data["file"],
                activate=data["activate"],
            ),
            success=lambda t: (
                _("已上传%(name)s（第 %(v)s 版）。") % {"name": t.name, "v": t.version}
            ),
            form=form,
        )
        if ok:
            return redirect("deals:contract_templates", project.pk)
    return _templates_page(request, project, form=form, status=400)


@templates_page
def contract_template_file(request, project, pk):
    template = get_object_or_404(ContractTemplate.objects.filter(project=project), pk=pk)
    return serve_document(template.file, f"{template.kind}-v{template.version}")


@require_POST
@templates_page
def contract_template_activate(request, project, pk):
    template = get_object_or_404(ContractTemplate.objects.filter(project=project), pk=pk)
    run_action(
        request,
        lambda: contracts.template_activate(actor=request.user, template=template),
        success=_("已启用该版本。"),
    )
    return redirect("deals:contract_templates", project.pk)


@require_POST
@deal_page
def deal_contract_print(request, project, pk):
    """The contract as .docx, filled from the active template (an audited export)."""
    deal = deal_of(request, project, pk)
    ok, result = run_action(
        request, lambda: contracts.contract_print(actor=request.user, deal=deal)
    )
    if not ok:
        return redirect(deal)
    content, filename = result
    return docx_response(content, filename)


@require_POST
@deal_page
def deal_review(request, project, pk):
    """Submit the drafted contract to finance (计财部审核)."""
    deal = deal_of(request, project, pk)
    run_action(
        request,
        lambda: contracts.contract_submit_review(
            actor=request.user, deal=deal, note=request.POST.get("note", "")
        ),
        success=_("已提交计财部审核。"),
    )
    return redirect(deal)


@require_POST
@deal_page
def deal_supplement_add(request, project, pk):
    from .deal import _detail

    deal = deal_of(request, project, pk)
    current = [s for s in contracts.supplements_of(deal) if not hasattr(s, "replaced_by")]
    form = SupplementForm(request.POST, request.FILES, current=current, prefix="sup")
    if form.is_valid():
        data = form.cleaned_data
        replaces = next((s for s in current if s.pk == data["replaces"]), None)
        ok, _supplement = run_action(
            request,
            lambda: contracts.supplement_add(
                actor=request.user,
                deal=deal,
                title=data["title"],
                upload=data["file"],
                text=data["text"],
                replaces=replaces,
                note=data["note"],
            ),
            success=lambda s: _("已登记补充协议 %(n)s。") % {"n": s.number},
            form=form,
        )
        if ok:
            return redirect(deal)
    return _detail(request, project, deal, status=400, supplement_form=form)


@deal_page
def supplement_file(request, project, pk):
    supplement = get_object_or_404(
        Supplement.objects.restrict(request.user, "view").filter(project=project), pk=pk
    )
    deal = deal_of(request, project, supplement.deal_id)
    if not rules.can_see_documents(request.user, deal):
        raise PermissionDenied(_("您没有查看该交易合同文件的权限"))
    if not supplement.file:
        raise Http404
    return serve_document(supplement.file, supplement.number)
