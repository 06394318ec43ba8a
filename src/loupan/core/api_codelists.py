"""Code lists API: ``/api/v1/code-lists/`` (``core.codelists``).

* ``GET /code-lists/?project=…[&kind=…]``: the project's lists with every entry (retired
  ones too, ``active: false``; ``system: true`` for the codes rules depend on), for
  anyone on the project. Forms and serializers accept only the active codes.
* ``POST /code-lists/`` ``{project, kind, label[, code, sort_order]}``: add an entry;
  ``POST /code-lists/change/`` ``{project, kind, code[, label, sort_order]}``: rename
  or move; ``POST /code-lists/retire/`` and ``/restore/`` ``{project, kind, code}``
  (``codelist.manage``); with ``company: true`` on the company's entries, on the list of
  every project of ``project``'s company (``codelist.manage`` on all of them; the
  listing marks them ``company: true``). Refusals in the one error shape: ``code_unknown``,
  ``code_retired``, ``code_exists``, ``system_entry``, ``not_found``, ``invalid``.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from . import codelists
from .api import StrictInputMixin, project_param


class CodeEntrySerializer(serializers.Serializer):
    code = serializers.CharField(label=_("代码"))
    label = serializers.CharField(label=_("名称"))
    sort_order = serializers.IntegerField(label=_("排序"))
    system = serializers.BooleanField(label=_("系统项"))
    active = serializers.BooleanField(label=_("启用"))
    company = serializers.BooleanField(label=_("公司统一"))


class CodeListSerializer(serializers.Serializer):
    kind = serializers.CharField(label=_("代码表"))
    label = serializers.CharField(label=_("名称"))
    entries = CodeEntrySerializer(many=True)


class CodeEntryAddSerializer(StrictInputMixin, serializers.Serializer):
    project = serializers.IntegerField(label=_("项目"))
    kind = serializers.CharField(label=_("代码表"), max_length=30)
    label = serializers.CharField(label=_("名称"), max_length=50, allow_blank=True)
    code = serializers.CharField(
        label=_("代码"), max_length=20, required=False, allow_blank=True, default=""
    )
    sort_order = serializers.IntegerField(
        label=_("排序"), min_value=0, max_value=32767, required=False, allow_null=True
    )
    company = serializers.BooleanField(
        label=_("公司统一"),
        required=False,
        default=False,
        help_text=_("公司统一的选项（公司所有项目共用）"),
    )


class CodeEntryChangeSerializer(StrictInputMixin, serializers.Serializer):
    project = serializers.IntegerField(label=_("项目"))
    kind = serializers.CharField(label=_("代码表"), max_length=30)
    code = serializers.CharField(label=_("代码"), max_length=20)
    label = serializers.CharField(label=_("名称"), max_length=50, required=False)
    sort_order = serializers.IntegerField(
        label=_("排序"), min_value=0, max_value=32767, required=False, allow_null=True
    )
    company = serializers.BooleanField(
        label=_("公司统一"),
        required=False,
        default=False,
        help_text=_("公司统一的选项（公司所有项目共用）"),
    )


class CodeEntryRefSerializer(StrictInputMixin, serializers.Serializer):
    project = serializers.IntegerField(label=_("项目"))
    kind = serializers.CharField(label=_("代码表"), max_length=30)
    code = serializers.CharField(label=_("代码"), max_length=20)
    company = serializers.BooleanField(
        label=_("公司统一"),
        required=False,
        default=False,
        help_text=_("公司统一的选项（公司所有项目共用）"),
    )


def _entry_data(entry) -> dict:
    return {
        "code": entry.code,
        "label": entry.label,
        "sort_order": entry.sort_order,
        "system": entry.system,
        "active": entry.active,
        "company": entry.company,
    }


class CodeListViewSet(viewsets.ViewSet):
    """代码表: the office's lists of a project and their entries."""

    serializer_class = CodeListSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("project", OpenApiTypes.INT, required=True),
            OpenApiParameter("kind", OpenApiTypes.STR),
        ],
        responses=CodeListSerializer(many=True),
    )
    def list(self, request):
        project = project_param(request)
        kind = request.query_params.get("kind") or ""
        specs = [codelists.kind_of(kind)] if kind else codelists.kinds()
        data = [
            {
                "kind": spec.code,
                "label": str(spec.label),
                "entries": [_entry_data(e) for e in codelists.entries(spec.code, project)],
            }
            for spec in specs
        ]
        return Response(CodeListSerializer(data, many=True).data)

    def _input(self, request, serializer_class):
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["project"] = project_param(request)
        return data

    @extend_schema(request=CodeEntryAddSerializer, responses={201: CodeEntrySerializer})
    def create(self, request):
        data = self._input(request, CodeEntryAddSerializer)
        entry = codelists.entry_add(actor=request.user, **data)
        return Response(_entry_data(entry), status=status.HTTP_201_CREATED)

    @extend_schema(request=CodeEntryChangeSerializer, responses=CodeEntrySerializer)
    @action(detail=False, methods=["post"])
    def change(self, request):
        data = self._input(request, CodeEntryChangeSerializer)
        return Response(_entry_data(codelists.entry_change(actor=request.user, **data)))

    @extend_schema(request=CodeEntryRefSerializer, responses=CodeEntrySerializer)
    @action(detail=False, methods=["post"])
    def retire(self, request):
        data = self._input(request, CodeEntryRefSerializer)
        return Response(_entry_data(codelists.entry_retire(actor=request.user, **data)))

    @extend_schema(request=CodeEntryRefSerializer, responses=CodeEntrySerializer)
    @action(detail=False, methods=["post"])
    def restore(self, request):
        data = self._input(request, CodeEntryRefSerializer)
        return Response(_entry_data(codelists.entry_restore(actor=request.user, **data)))


def register(router) -> None:
    router.register("code-lists", CodeListViewSet, basename="codelist")
