"""The complaints and surveys API (issue 14): ``/api/v1/complaints/``,
``/api/v1/complaint-categories/``, ``/api/v1/surveys/``, ``/api/v1/survey-templates/``.

* ``GET /complaints/`` (filters ``project``, ``status``, ``category``, ``department``,
  ``severity``, ``channel``, ``building``, ``month``, ``overdue``, ``escalated``, ``q``)
  and ``GET /complaints/{id}/``: the complaints the caller may see (a consultant: their
  own buyers'; another's is a 404), with the overdue flags as of today.
* ``POST /complaints/`` logs one; ``POST /complaints/{id}/assign/``, ``…/answer/``,
  ``…/resolve/``, ``…/visit/`` are the actions; ``GET /complaints/analysis/?project=``.
* ``/complaint-categories/``: list, create, ``PATCH`` (``aftersales.configure``).
* ``/surveys/``: list, create (with the deals invited), detail with the results.
* ``/survey-templates/``: list, create (with its questions), detail, ``PATCH``, and
  ``POST …/{id}/questions/`` to add one.

Every write goes through ``aftersales.complaints``; refusals have the one error shape."""

import django_filters
from django.db import transaction
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from loupan.aftersales import complaints as c
from loupan.aftersales.models import (
    Complaint,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintStatus,
    Department,
    QuestionKind,
    Severity,
    Survey,
    SurveyTemplate,
)
from loupan.core.api import named_choices, project_by_id
from loupan.core.errors import DomainError, ErrorCode
from loupan.core.viewsets import RestrictedViewSet
from loupan.inventory.models import Project

urlpatterns: list = []


_choices = named_choices


StatusField = _choices("ComplaintStatus", ComplaintStatus.choices)
ChannelField = _choices("ComplaintChannel", ComplaintChannel.choices)
SeverityField = _choices("ComplaintSeverity", Severity.choices)
DepartmentField = _choices("AftersalesDepartment", Department.choices)
ProposalToField = _choices(
    "ComplaintProposalTo", [(d.value, d.label) for d in c.PROPOSAL_TO], blank=True
)
QuestionKindField = _choices("SurveyQuestionKind", QuestionKind.choices)


def _project(request, raw) -> Project:
    return project_by_id(request.user, raw)


# --- complaints: output ---------------------------------------------------------------------


class ComplaintFlagsSerializer(serializers.Serializer):
    first_overdue = serializers.BooleanField(label=gettext_lazy("首次答复超时"))
    first_late = serializers.BooleanField(label=gettext_lazy("首次答复逾期完成"))
    final_overdue = serializers.BooleanField(label=gettext_lazy("最终答复超时"))
    final_late = serializers.BooleanField(label=gettext_lazy("最终答复逾期完成"))
    escalated = serializers.BooleanField(label=gettext_lazy("已升级"))


class ComplaintSerializer(serializers.ModelSerializer):
    """A complaint as the list shows it (the phone masked unless the caller may reveal
    customers' phones)."""

    category_name = serializers.CharField(source="category.name", read_only=True)
    unit_number = serializers.CharField(source="unit.number", read_only=True, default="")
    contact = serializers.SerializerMethodField(label=gettext_lazy("联系电话"))
    flags = serializers.SerializerMethodField(label=gettext_lazy("时限提示"))
    status = StatusField(choices=ComplaintStatus.choices, read_only=True)
    channel = ChannelField(choices=ComplaintChannel.choices, read_only=True)
    severity = SeverityField(choices=Severity.choices, read_only=True)
    department = DepartmentField(choices=Department.choices, read_only=True)
    proposal_to = ProposalToField(
        choices=[(d.value, d.label) for d in c.PROPOSAL_TO], read_only=True
    )

    class Meta:
        model = Complaint
        fields = [
            "id",
            "project",
            "number",
            "channel",
            "category",
            "category_name",
            "severity",
            "deal",
            "unit",
            "unit_number",
            "complainant",
            "contact",
            "description",
            "department",
            "assigned_to",
            "status",
            "received_at",
            "first_due",
            "final_due",
            "first_answered_at",
            "first_answer",
            "resolved_at",
            "resolution",
            "escalated_at",
            "visited_at",
            "visit_note",
            "satisfaction",
            "proposal",
            "proposal_to",
            "flags",
        ]
        read_only_fields = fields

    def get_contact(self, obj) -> str:
        request = self.context.get("request")
        return c.contact_for(request.user, obj) if request else ""

    @extend_schema_field(ComplaintFlagsSerializer)
    def get_flags(self, obj):
        return c.flags(obj, self.context.get("today"))


class ComplaintDetailSerializer(ComplaintSerializer):
    can = serializers.SerializerMethodField(label=gettext_lazy("可执行操作"))

    class Meta(ComplaintSerializer.Meta):
        fields = [*ComplaintSerializer.Meta.fields, "can"]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "properties": {k: {"type": "boolean"} for k in c.TRANSITIONS},
        }
    )
    def get_can(self, obj):
        request = self.context.get("request")
        return c.abilities(request.user, obj) if request else {}


# --- complaints: input ----------------------------------------------------------------------


class ComplaintLogSerializer(serializers.Serializer):
    """投诉受理: the project, channel, category, the owner's deal or a unit, the content."""

    project = serializers.IntegerField(label=gettext_lazy("项目"))
    channel = ChannelField(label=gettext_lazy("渠道"), choices=ComplaintChannel.choices)
    category = serializers.IntegerField(label=gettext_lazy("类别"))
    severity = SeverityField(
        label=gettext_lazy("严重程度"), choices=Severity.choices, required=False, default="low"
    )
    deal = serializers.IntegerField(
        label=gettext_lazy("交易"), required=False, allow_null=True, default=None
    )
    unit = serializers.IntegerField(
        label=gettext_lazy("房间"), required=False, allow_null=True, default=None
    )
    complainant = serializers.CharField(
        label=gettext_lazy("投诉人"), required=False, allow_blank=True, default="", max_length=50
    )
    contact = serializers.CharField(
        label=gettext_lazy("联系电话"), required=False, allow_blank=True, default="", max_length=30
    )
    description = serializers.CharField(label=gettext_lazy("投诉内容"), max_length=2000)
    department = DepartmentField(
        label=gettext_lazy("责任部门"),
        choices=Department.choices,
        required=False,
        allow_null=True,
        default=None,
        help_text=gettext_lazy("不填则为类别的默认部门"),
    )
    received_at = serializers.DateTimeField(
        label=gettext_lazy("受理时间"), required=False, allow_null=True, default=None
    )


class ComplaintAssignSerializer(serializers.Serializer):
    department = DepartmentField(label=gettext_lazy("责任部门"), choices=Department.choices)
    assigned_to = serializers.IntegerField(
        label=gettext_lazy("处理人"), required=False, allow_null=True, default=None
    )


class ComplaintAnswerSerializer(serializers.Serializer):
    text = serializers.CharField(label=gettext_lazy("首次答复"), max_length=2000)


class ComplaintResolveSerializer(serializers.Serializer):
    resolution = serializers.CharField(label=gettext_lazy("处理结果"), max_length=2000)
    proposal = serializers.CharField(
        label=gettext_lazy("改进建议"), required=False, allow_blank=True, default=""
    )
    proposal_to = ProposalToField(
        label=gettext_lazy("建议送达"),
        choices=[(d.value, d.label) for d in c.PROPOSAL_TO],
        required=False,
        allow_blank=True,
        default="",
    )


class ComplaintVisitSerializer(serializers.Serializer):
    note = serializers.CharField(label=gettext_lazy("回访记录"), max_length=300)
    satisfaction = serializers.IntegerField(label=gettext_lazy("满意度"), help_text="1–5")


class AnalysisRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    closed = serializers.IntegerField()
    overdue = serializers.IntegerField()
    overdue_share = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True)
    avg_first_days = serializers.DecimalField(max_digits=6, decimal_places=1, allow_null=True)
    avg_final_days = serializers.DecimalField(max_digits=6, decimal_places=1, allow_null=True)
    avg_satisfaction = serializers.DecimalField(max_digits=4, decimal_places=2, allow_null=True)
    visited = serializers.IntegerField()


class AnalysisSerializer(serializers.Serializer):
    """投诉分析: by category, building and month."""

    start = serializers.CharField(help_text="YYYY-MM")
    end = serializers.CharField(help_text="YYYY-MM")
    total = AnalysisRowSerializer()
    by_category = AnalysisRowSerializer(many=True)
    by_building = AnalysisRowSerializer(many=True)
    by_month = AnalysisRowSerializer(many=True)


class ComplaintApiFilterSet(c.ComplaintFilterSet):
    """The complaints page's filters plus the project (by id)."""

    project = django_filters.NumberFilter(label=gettext_lazy("项目"), field_name="project_id")

    class Meta(c.ComplaintFilterSet.Meta):
        fields = [*c.ComplaintFilterSet.Meta.fields, "project"]


class ComplaintViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """Complaints 投诉 the caller may see (``aftersales.view``: the project's; a
    consultant with ``aftersales.view_own``: their own buyers', read-only)."""

    queryset = Complaint.objects.select_related("category", "unit", "deal", "assigned_to").order_by(
        "-received_at", "-pk"
    )
    serializer_class = ComplaintSerializer
    filterset_class = ComplaintApiFilterSet
    http_method_names = ["get", "post", "head", "options"]

    def get_serializer_class(self):
        return ComplaintSerializer if self.action == "list" else ComplaintDetailSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    def _input(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _answer(self, complaint, code=status.HTTP_200_OK):
        fresh = self.get_queryset().get(pk=complaint.pk)
        return Response(
            ComplaintDetailSerializer(fresh, context=self.get_serializer_context()).data,
            status=code,
        )

    def _complaint(self) -> Complaint:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    @extend_schema(request=ComplaintLogSerializer, responses={201: ComplaintDetailSerializer})
    def create(self, request, *args, **kwargs):
        """投诉受理: log a complaint; its deadlines follow the category's working days."""
        data = self._input(ComplaintLogSerializer)
        project = _project(request, data.pop("project"))
        complaint = c.complaint_log(actor=request.user, project=project, **data)
        return self._answer(complaint, status.HTTP_201_CREATED)

    @extend_schema(request=ComplaintAssignSerializer, responses=ComplaintDetailSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """Assign to the responsible department and a colleague."""
        complaint = self._complaint()
        data = self._input(ComplaintAssignSerializer)
        return self._answer(c.complaint_assign(actor=request.user, complaint=complaint, **data))

    @extend_schema(request=ComplaintAnswerSerializer, responses=ComplaintDetailSerializer)
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        """The first answer (an open complaint turns 处理中)."""
        complaint = self._complaint()
        data = self._input(ComplaintAnswerSerializer)
        return self._answer(c.complaint_answer(actor=request.user, complaint=complaint, **data))

    @extend_schema(request=ComplaintResolveSerializer, responses=ComplaintDetailSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """The final answer with the result, and the improvement proposal."""
        complaint = self._complaint()
        data = self._input(ComplaintResolveSerializer)
        return self._answer(c.complaint_resolve(actor=request.user, complaint=complaint, **data))

    @extend_schema(request=ComplaintVisitSerializer, responses=ComplaintDetailSerializer)
    @action(detail=True, methods=["post"])
    def visit(self, request, pk=None):
        """The return visit with the owner's satisfaction (1–5) closes it."""
        complaint = self._complaint()
        data = self._input(ComplaintVisitSerializer)
        return self._answer(c.complaint_visit(actor=request.user, complaint=complaint, **data))

    @extend_schema(
        parameters=[
            OpenApiParameter("project", OpenApiTypes.INT, required=True, description="项目"),
            OpenApiParameter("start", OpenApiTypes.STR, description="起始月份 YYYY-MM"),
            OpenApiParameter("end", OpenApiTypes.STR, description="截止月份 YYYY-MM"),
        ],
        responses=AnalysisSerializer,
        filters=False,
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def analysis(self, request):
        """投诉分析 by category, building and month (``aftersales.view``)."""
        project = _project(request, request.query_params.get("project"))
        if not c.may_export(request.user, project):
            raise DomainError(ErrorCode.PERMISSION_DENIED, _("您没有查看投诉分析的权限"))
        result = c.analysis(
            request.user,
            project,
            start=request.query_params.get("start") or None,
            end=request.query_params.get("end") or None,
        )
        return Response(AnalysisSerializer(result).data)


# --- categories -----------------------------------------------------------------------------


class ComplaintCategorySerializer(serializers.ModelSerializer):
    department = DepartmentField(choices=Department.choices, label=gettext_lazy("默认责任部门"))

    class Meta:
        model = ComplaintCategory
        fields = [
            "id",
            "project",
            "name",
            "department",
            "first_answer_days",
            "final_answer_days",
            "sort_order",
        ]
        read_only_fields = ["id"]
        # uniqueness is the service's (its refusal has the one error shape)
        validators: list = []


class CategoryFilterSet(django_filters.FilterSet):
    project = django_filters.NumberFilter(label=gettext_lazy("项目"), field_name="project_id")

    class Meta:
        model = ComplaintCategory
        fields = ["project"]


class ComplaintCategoryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """投诉类别 with their deadlines in working days; writes need
    ``aftersales.configure``."""

    queryset = ComplaintCategory.objects.order_by("project", "sort_order", "pk")
    serializer_class = ComplaintCategorySerializer
    filterset_class = CategoryFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        project = _project(request, data.pop("project").pk)
        category = c.category_save(actor=request.user, project=project, **data)
        return Response(self.get_serializer(category).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        category = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        serializer = self.get_serializer(category, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        current = {
            "name": category.name,
            "department": category.department,
            "first_answer_days": category.first_answer_days,
            "final_answer_days": category.final_answer_days,
            "sort_order": category.sort_order,
        }
        given = {k: v for k, v in serializer.validated_data.items() if k in current}
        category = c.category_save(
            actor=request.user,
            project=category.project,
            category=category,
            **{**current, **given},
        )
        return Response(self.get_serializer(category).data)


# --- survey templates -----------------------------------------------------------------------


class SurveyQuestionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    text = serializers.CharField(label=gettext_lazy("题目"), max_length=200)
    kind = QuestionKindField(
        label=gettext_lazy("题型"), choices=QuestionKind.choices, required=False, default="scale"
    )
    scale_max = serializers.IntegerField(
        label=gettext_lazy("满分"), required=False, default=5, help_text="2–10"
    )
    sort_order = serializers.IntegerField(
        label=gettext_lazy("顺序"), required=False, allow_null=True, default=None
    )


class SurveyTemplateSerializer(serializers.ModelSerializer):
    questions = SurveyQuestionSerializer(many=True, required=False)

    class Meta:
        model = SurveyTemplate
        fields = ["id", "project", "name", "intro", "is_active", "questions"]
        read_only_fields = ["id"]


class TemplateFilterSet(django_filters.FilterSet):
    project = django_filters.NumberFilter(label=gettext_lazy("项目"), field_name="project_id")

    class Meta:
        model = SurveyTemplate
        fields = ["project", "is_active"]


class SurveyTemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """问卷 with their questions; writes need ``aftersales.configure``."""

    queryset = SurveyTemplate.objects.prefetch_related("questions").order_by("project", "pk")
    serializer_class = SurveyTemplateSerializer
    filterset_class = TemplateFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    def create(self, request, *args, **kwargs):
        """A questionnaire with its questions, in one transaction."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        project = _project(request, data.pop("project").pk)
        questions = data.pop("questions", [])
        with transaction.atomic():
            template = c.template_save(actor=request.user, project=project, **data)
            for q in questions:
                c.question_save(actor=request.user, template=template, **q)
        return Response(
            self.get_serializer(self.get_queryset().get(pk=template.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    def partial_update(self, request, *args, **kwargs):
        """Name, intro, active (the questions through ``…/questions/``)."""
        template = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        serializer = self.get_serializer(template, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        template = c.template_save(
            actor=request.user,
            project=template.project,
            template=template,
            name=data.get("name", template.name),
            intro=data.get("intro", template.intro),
            is_active=data.get("is_active", template.is_active),
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=template.pk)).data)

    @extend_schema(request=SurveyQuestionSerializer, responses={201: SurveyTemplateSerializer})
    @action(detail=True, methods=["post"])
    def questions(self, request, pk=None):
        """Add a question."""
        template = get_object_or_404(self.get_queryset(), pk=pk)
        serializer = SurveyQuestionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        c.question_save(actor=request.user, template=template, **serializer.validated_data)
        return Response(
            self.get_serializer(self.get_queryset().get(pk=template.pk)).data,
            status=status.HTTP_201_CREATED,
        )


# --- surveys --------------------------------------------------------------------------------


class DistributionSerializer(serializers.Serializer):
    score = serializers.IntegerField()
    count = serializers.IntegerField()
    share = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True)


class TextAnswerSerializer(serializers.Serializer):
    text = serializers.CharField()
    unit = serializers.CharField()


class QuestionResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    kind = QuestionKindField(choices=QuestionKind.choices)
    scale_max = serializers.IntegerField(allow_null=True)
    count = serializers.IntegerField()
    average = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    index = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True)
    distribution = DistributionSerializer(many=True)
    texts = TextAnswerSerializer(many=True)


class SurveyResultsSerializer(serializers.Serializer):
    invited = serializers.IntegerField()
    answered = serializers.IntegerField()
    response_rate = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True)
    index = serializers.DecimalField(
        max_digits=5, decimal_places=1, allow_null=True, help_text="满意度指数（0–100）"
    )
    satisfied_share = serializers.DecimalField(
        max_digits=5, decimal_places=1, allow_null=True, help_text="满意率（%）"
    )
    questions = QuestionResultSerializer(many=True)


class SurveySerializer(serializers.ModelSerializer):
    invited = serializers.IntegerField(read_only=True)
    answered = serializers.IntegerField(read_only=True)

    class Meta:
        model = Survey
        fields = [
            "id",
            "project",
            "template",
            "title",
            "period_start",
            "period_end",
            "expires_at",
            "created_at",
            "invited",
            "answered",
        ]
        read_only_fields = fields


class SurveyDetailSerializer(SurveySerializer):
    results = serializers.SerializerMethodField()

    class Meta(SurveySerializer.Meta):
        fields = [*SurveySerializer.Meta.fields, "results"]
        read_only_fields = fields

    @extend_schema_field(SurveyResultsSerializer)
    def get_results(self, obj):
        return SurveyResultsSerializer(c.survey_results(obj)).data


class SurveyCreateSerializer(serializers.Serializer):
    project = serializers.IntegerField(label=gettext_lazy("项目"))
    template = serializers.IntegerField(label=gettext_lazy("问卷"))
    title = serializers.CharField(label=gettext_lazy("调查名称"), max_length=60)
    period_start = serializers.DateField(label=gettext_lazy("调查期间自"))
    period_end = serializers.DateField(label=gettext_lazy("调查期间至"))
    expires_at = serializers.DateTimeField(label=gettext_lazy("链接有效期至"))
    deals = serializers.ListField(
        child=serializers.IntegerField(), label=gettext_lazy("调查对象（交易）"), allow_empty=True
    )


class SurveyFilterSet(django_filters.FilterSet):
    project = django_filters.NumberFilter(label=gettext_lazy("项目"), field_name="project_id")

    class Meta:
        model = Survey
        fields = ["project"]


class SurveyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """满意度调查 (``aftersales.view``), the detail with its results."""

    queryset = Survey.objects.order_by("-created_at", "-pk")
    serializer_class = SurveySerializer
    filterset_class = SurveyFilterSet
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .annotate(
                invited=Count("invitations", distinct=True),
                answered=Count(
                    "invitations",
                    filter=Q(invitations__answered_at__isnull=False),
                    distinct=True,
                ),
            )
        )

    def get_serializer_class(self):
        return SurveySerializer if self.action == "list" else SurveyDetailSerializer

    @extend_schema(request=SurveyCreateSerializer, responses={201: SurveyDetailSerializer})
    def create(self, request, *args, **kwargs):
        """Start a survey round with one invitation per deal."""
        serializer = SurveyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        project = _project(request, data.pop("project"))
        survey = c.survey_create(actor=request.user, project=project, **data)
        return Response(
            SurveyDetailSerializer(self.get_queryset().get(pk=survey.pk)).data,
            status=status.HTTP_201_CREATED,
        )


def register(router) -> None:
    """Register this part's viewsets on the API router."""
    router.register("complaints", ComplaintViewSet, basename="complaint")
    router.register("complaint-categories", ComplaintCategoryViewSet, basename="complaintcategory")
    router.register("surveys", SurveyViewSet, basename="survey")
    router.register("survey-templates", SurveyTemplateViewSet, basename="surveytemplate")
