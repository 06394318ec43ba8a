"""The contract's documents in the API (``deals/contracts.py``):

* ``/api/v1/contract-templates/``: the project's template versions (list, detail, POST
  multipart ``kind``, ``name``, ``file``, ``activate``), ``{id}/activate/`` and
  ``{id}/file/`` (the .docx); ``placeholders/`` lists what a template may use;
* ``/api/v1/supplements/``: the supplementary agreements the caller may see
  (``?deal=``), ``{id}/file/``;
* on a deal (``DealViewSet``, registered from here): ``contract-document/`` (POST: the
  contract as .docx, an audited export), ``review/`` (POST: submit to 计财部审核; the
  request is decided through ``/api/v1/approvals/{id}/approve|reject/``) and
  ``supplements/`` (GET list, POST multipart add).
"""

import django_filters
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from loupan.accounts import access
from loupan.core.api import named_choices
from loupan.core.errors import DomainError, ErrorCode, invalid
from loupan.core.uploads import serve_document
from loupan.core.viewsets import ReadOnlyRestrictedViewSet
from loupan.deals import contracts, rules
from loupan.deals.models import ContractTemplate, Supplement, TemplateKind
from loupan.deals.views.contracts import docx_response
from loupan.inventory.models import Project

# --- serializers ------------------------------------------------------------------------

TemplateKindField = named_choices("ContractTemplateKind", TemplateKind.choices)


class ContractTemplateSerializer(serializers.ModelSerializer):
    kind = TemplateKindField(choices=TemplateKind.choices, read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    uploaded_by_name = serializers.CharField(source="uploaded_by.real_name", read_only=True)

    class Meta:
        model = ContractTemplate
        fields = [
            "id",
            "project",
            "kind",
            "kind_display",
            "version",
            "name",
            "placeholders",
            "is_active",
            "uploaded_by",
            "uploaded_by_name",
            "uploaded_at",
        ]
        read_only_fields = fields


class TemplateUploadSerializer(serializers.Serializer):
    project = serializers.IntegerField(label=_("项目"))
    kind = TemplateKindField(label=_("模板类型"), choices=TemplateKind.choices)
    name = serializers.CharField(label=_("模板名称"), max_length=100)
    file = serializers.FileField(label=_("模板文件"))
    activate = serializers.BooleanField(label=_("上传后启用"), default=True)


class PlaceholderSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    kinds = serializers.ListField(child=serializers.CharField())


class SupplementSerializer(serializers.ModelSerializer):
    source_display = serializers.CharField(source="get_source_display", read_only=True)
    replaced_by = serializers.SerializerMethodField()
    current = serializers.SerializerMethodField()

    class Meta:
        model = Supplement
        fields = [
            "id",
            "project",
            "deal",
            "seq",
            "number",
            "title",
            "source",
            "source_display",
            "template",
            "replaces",
            "replaced_by",
            "current",
            "note",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields

    def get_replaced_by(self, obj) -> int | None:
        found = getattr(obj, "replaced_by", None) if hasattr(obj, "replaced_by") else None
        return found.pk if found else None

    def get_current(self, obj) -> bool:
        return not hasattr(obj, "replaced_by")


class SupplementAddSerializer(serializers.Serializer):
    title = serializers.CharField(label=_("协议名称"), max_length=100)
    file = serializers.FileField(label=_("协议文件"), required=False)
    text = serializers.CharField(
        label=_("条款内容"), max_length=5000, required=False, allow_blank=True, default=""
    )
    replaces = serializers.IntegerField(label=_("替代的协议"), required=False, allow_null=True)
    note = serializers.CharField(
        label=_("说明"), max_length=300, required=False, allow_blank=True, default=""
    )


class ReviewSubmitSerializer(serializers.Serializer):
    note = serializers.CharField(
        label=_("说明"), max_length=300, required=False, allow_blank=True, default=""
    )


# --- viewsets ---------------------------------------------------------------------------


class ContractTemplateFilterSet(django_filters.FilterSet):
    project = django_filters.NumberFilter(label=gettext_lazy("项目"), field_name="project_id")
    kind = django_filters.ChoiceFilter(label=gettext_lazy("模板类型"), choices=TemplateKind.choices)
    is_active = django_filters.BooleanFilter(label=gettext_lazy("启用"))

    class Meta:
        model = ContractTemplate
        fields = ["project", "kind", "is_active"]


class ContractTemplateViewSet(ReadOnlyRestrictedViewSet):
    """合同模板: the versions of the projects the caller sees; the contract desk
    (``deal.contract``) uploads and activates."""

    queryset = ContractTemplate.objects.select_related("uploaded_by").order_by(
        "project_id", "kind", "-version"
    )
    serializer_class = ContractTemplateSerializer
    filterset_class = ContractTemplateFilterSet
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        request={"multipart/form-data": TemplateUploadSerializer},
        responses={201: ContractTemplateSerializer},
    )
    def create(self, request, *args, **kwargs):
        """Upload a new version (.docx): refused naming the unknown placeholders."""
        serializer = TemplateUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project = Project.objects.restrict(request.user, "view").filter(pk=data["project"]).first()
        if project is None:
            raise invalid("project", _("项目不存在"))
        template = contracts.template_upload(
            actor=request.user,
            project=project,
            kind=data["kind"],
            name=data["name"],
            upload=data["file"],
            activate=data["activate"],
        )
        return Response(ContractTemplateSerializer(template).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ContractTemplateSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        template = self.get_object()
        template = contracts.template_activate(actor=request.user, template=template)
        return Response(ContractTemplateSerializer(template).data)

    @extend_schema(
        request=None,
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"])
    def file(self, request, pk=None):
        """The template's .docx (the contract desk only)."""
        template = self.get_object()
        access.require_perm(request.user, "deal.contract", template.project_id)
        return serve_document(template.file, f"{template.kind}-v{template.version}")

    @extend_schema(responses=PlaceholderSerializer(many=True))
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def placeholders(self, request):
        """The placeholders a template may use, with their meaning."""
        rows = [
            {"name": p.name, "label": str(p.label), "kinds": [str(k) for k in p.kinds]}
            for p in contracts.PLACEHOLDERS
        ]
        return Response(PlaceholderSerializer(rows, many=True).data)


class SupplementFilterSet(django_filters.FilterSet):
    project = django_filters.NumberFilter(label=gettext_lazy("项目"), field_name="project_id")
    deal = django_filters.NumberFilter(label=gettext_lazy("交易"), field_name="deal_id")

    class Meta:
        model = Supplement
        fields = ["project", "deal"]


class SupplementViewSet(ReadOnlyRestrictedViewSet):
    """补充协议 of the deals the caller sees (a consultant: their own deals')."""

    queryset = Supplement.objects.select_related("replaced_by").order_by("deal_id", "seq")
    serializer_class = SupplementSerializer
    filterset_class = SupplementFilterSet

    @extend_schema(request=None, responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def file(self, request, pk=None):
        supplement = self.get_object()
        if not rules.can_see_documents(request.user, supplement.deal):
            raise DomainError(ErrorCode.PERMISSION_DENIED, _("您没有查看该交易合同文件的权限"))
        return serve_document(supplement.file, supplement.number)


# --- on the deal ------------------------------------------------------------------------


class DealDocumentsMixin:
    """The deal's contract document, review and supplements (mixed into DealViewSet)."""

    @extend_schema(
        request=None,
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        description="合同 Word 文件（按启用的合同模板填入交易信息；导出记入审计日志）。",
    )
    @action(detail=True, methods=["post"], url_path="contract-document")
    def contract_document(self, request, pk=None):
        deal = self._deal()
        content, filename = contracts.contract_print(actor=request.user, deal=deal)
        return docx_response(content, filename)

    @extend_schema(
        request=ReviewSubmitSerializer,
        responses={202: inline_serializer("ReviewSubmitted", {"id": serializers.IntegerField()})},
        description="提交计财部审核；审核人在 /api/v1/approvals/{id}/approve|reject/ 决定。",
    )
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        deal = self._deal()
        note = self._input(ReviewSubmitSerializer)["note"]
        req = contracts.contract_submit_review(actor=request.user, deal=deal, note=note)
        return self._request_answer(req)

    @extend_schema(methods=["GET"], request=None, responses=SupplementSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": SupplementAddSerializer},
        responses={201: SupplementSerializer},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        parser_classes=[MultiPartParser, FormParser, JSONParser],
        filterset_class=None,
        pagination_class=None,
    )
    def supplements(self, request, pk=None):
        deal = self._deal()
        if request.method == "GET":
            return Response(SupplementSerializer(contracts.supplements_of(deal), many=True).data)
        serializer = SupplementAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        replaces = None
        if data.get("replaces") is not None:
            replaces = Supplement.objects.filter(deal=deal, pk=data["replaces"]).first()
            if replaces is None:
                raise invalid("replaces", _("要替代的补充协议不属于该交易"))
        supplement = contracts.supplement_add(
            actor=request.user,
            deal=deal,
            title=data["title"],
            upload=data.get("file"),
            text=data["text"],
            replaces=replaces,
            note=data["note"],
        )
        return Response(SupplementSerializer(supplement).data, status=status.HTTP_201_CREATED)


def register(router):
    router.register("contract-templates", ContractTemplateViewSet, basename="contracttemplate")
    router.register("supplements", SupplementViewSet, basename="supplement")
