"""The office's deal lists (seed 002 二.3–二.4): 全部交易, 未签约客户一览表, 契约签署一览表,
特殊优惠客户一览表, 业主登记一览表 with the buyer analysis, 客户换房、退房一览表 with the
销售退房情况表; each also as xlsx, which the export itself refuses (403) to those who do
not see every deal. The rows come from ``deals.reports``, shared with the API."""

from django.db.models import Exists, OuterRef, Prefetch
from django.shortcuts import render
from django.utils import timezone

from loupan.accounts import access
from loupan.approvals.models import ApprovalRequest, ApprovalStep
from loupan.approvals.selectors import labelled
from loupan.core.pages import (
    ProjectListView,
    filters_used,
    refuse_invalid,
    used_filters,
    wants_xlsx,
    xlsx_download,
)
from loupan.core.views import paginate, query_without_page

from .. import reports
from ..filters import DealFilterSet
from ..forms import ChangeFilterForm
from ..models import SUBSCRIPTION_STATUSES, ApprovalKind
from .common import SEE, deal_page, deals_of


def list_head(request, project, tab) -> dict:
    """What the lists' common head shows: the tabs, the reserve and export links."""
    return {
        "project": project,
        "tab": tab,
        "query": query_without_page(request),
        "can_reserve": access.has_perm(request.user, "deal.add", project),
        "can_export": reports.may_export(request.user, project),
    }


xlsx = xlsx_download  # a list as a file: the audited export refuses who may not take it

# The lists that leave under the manager's consent where the project asks it
# (``customers.exports.register_list``, in ``DealsConfig.ready``): code → list page.
EXPORTABLE: dict[str, type] = {}


class DealListView(ProjectListView):
    """A list of deals: the shared filter (a consultant's lists hold only their own
    deals, so they are not filtered by consultant), the head, the xlsx of ``report``
    (in ``export_ordering``, oldest first where the page shows the newest first)."""

    see = SEE
    filterset_class = DealFilterSet
    tab = ""
    report = ""
    export_ordering: tuple[str, ...] = ()

    def get_queryset(self):
        return deals_of(self.request, self.project).select_related("unit", "customer", "consultant")

    def get_filterset(self, queryset):
        filterset = self.filterset_class(
            self.request.GET or None, queryset=queryset, project=self.project
        )
        if not access.has_perm(self.request.user, "deal.view", self.project):
            del filterset.filters["consultant"]
        return filterset

    def get_context_data(self, **context):
        return {**list_head(self.request, self.project, self.tab), **context}

    def export_content(self, queryset) -> bytes:
        if self.export_ordering:
            queryset = queryset.order_by(*self.export_ordering)
        return reports.deals_export(
            actor=self.request.user,
            project=self.project,
            report=self.report,
            queryset=queryset,
            filters=used_filters(self.request),
        )

    def export(self, queryset):
        return xlsx(self.request, self.project, self.report, lambda: self.export_content(queryset))


class DealList(DealListView):
    """全部交易: every deal of the project (a consultant: their own), newest first."""

    template_name = "deals/deal_list.html"
    ordering = ("-reserved_at", "-pk")
    tab, report = "all", "全部交易"


class UnsignedList(DealListView):
    """未签约客户一览表 (seed 002 二.4(1)): subscriptions past their signing deadline,
    per consultant, with the days overdue (one page of up to 1,000)."""

    template_name = "deals/deal_unsigned.html"
    ordering = ("consultant__real_name", "consultant_id", "signing_deadline", "pk")
    per_page = 1000
    tab, report = "unsigned", "未签约客户一览表"

    def get_queryset(self):
        self.today = timezone.localdate()
        return (
            super()
            .get_queryset()
            .filter(status__in=SUBSCRIPTION_STATUSES, signing_deadline__lt=self.today)
            .prefetch_related(reports.BUYERS)
        )

    def get_context_data(self, **context):
        groups: list[tuple] = []
        for deal in context["page"]:
            if not groups or groups[-1][0] != deal.consultant:
                groups.append((deal.consultant, []))
            groups[-1][1].append((deal, (self.today - deal.signing_deadline).days))
        return super().get_context_data(groups=groups, today=self.today, **context)


class ContractLedger(DealListView):
    """契约签署一览表 (seed 002 二.4(2)), the contract ledger (台帐): every contract with
    its number, signing date, filing status and number, and its special clauses."""

    template_name = "deals/deal_ledger.html"
    ordering = ("-signed_on", "-pk")
    export_ordering = ("signed_on", "pk")
    tab, report = "ledger", "契约签署一览表"

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .exclude(contract_number="")
            .prefetch_related(reports.BUYERS, "clauses")
        )


class SpecialDiscounts(DealListView):
    """特殊优惠客户一览表 (seed 002 二.3(5)): every deal whose discount needed approval,
    with the list total, discount, total and who decided at each level."""

    template_name = "deals/deal_special.html"
    ordering = ("-subscribed_at", "-pk")
    export_ordering = ("subscribed_at", "pk")
    tab, report = "special", "特殊优惠客户一览表"

    def get_queryset(self):
        discount_requests = ApprovalRequest.objects.filter(kind=ApprovalKind.DISCOUNT)
        steps = Prefetch("steps", queryset=ApprovalStep.objects.select_related("actor"))
        return (
            super()
            .get_queryset()
            .filter(Exists(discount_requests.filter(deal=OuterRef("pk"))))
            .prefetch_related(
                Prefetch(
                    "approvals",
                    queryset=discount_requests.select_related("requested_by")
                    .prefetch_related(steps)
                    .order_by("requested_at", "pk"),
                    to_attr="discount_requests",
                )
            )
        )

    def get_context_data(self, **context):
        for deal in context["page"]:
            labelled(deal.discount_requests)
        return super().get_context_data(**context)


class OwnerList(DealListView):
    """业主登记一览表 (seed 002 二.3(1)–(2)): every subscribed or contracted unit with its
    buyers, and the buyer analysis by occupation, income, education, residence, channel
    and motive."""

    template_name = "deals/deal_owners.html"
    ordering = ("unit__building__name", "unit__number", "pk")
    tab, report = "owners", "业主登记一览表"

    def get_queryset(self):
        return reports.owners(deals_of(self.request, self.project))

    def get_context_data(self, **context):
        user, labels = self.request.user, reports.owner_labels()
        return super().get_context_data(
            lines=[
                line for deal in context["page"] for line in reports.owner_lines(user, deal, labels)
            ],
            analysis=reports.buyer_analysis(context["filter"].qs, self.project),
            **context,
        )

    def export_content(self, queryset) -> bytes:
        return reports.owners_export(
            actor=self.request.user,
            project=self.project,
            deals=queryset.prefetch_related(None),  # owners() prefetches the buyers
            filters=used_filters(self.request),
        )


CHANGES_REPORT = "客户换房、退房一览表"


def _changes(user, project, params):
    """The change list's form, rows and period for ``params`` (its query string)."""
    form = ChangeFilterForm(params or None)
    data = form.cleaned_data if form.is_valid() else {}
    kind, start, end = data.get("kind", ""), data.get("start"), data.get("end")
    return form, reports.changes_of(user, project, kind=kind, start=start, end=end), (start, end)


def changes_check(*, actor, project, params) -> None:
    """The change list's filters, checked when its export is requested."""
    refuse_invalid(ChangeFilterForm(params or None))


def changes_export(*, actor, project, params) -> bytes:
    """客户换房、退房一览表 as xlsx with ``params``' filters (the page's export, and an
    approved export request's download: ``customers.exports.register_list``)."""
    _form, qs, _period = _changes(actor, project, params)

    def rows():
        for row in reports.change_rows(qs.order_by("at", "pk")):
            yield [row[c.field] for c in reports.CHANGE_COLUMNS]

    return reports.export(
        actor=actor,
        project=project,
        report=CHANGES_REPORT,
        columns=reports.CHANGE_COLUMNS,
        rows=rows(),
        filters=filters_used(params),
    )


@deal_page
def deal_changes(request, project):
    """客户换房、退房一览表 and 销售退房情况表 (seed 002 二.3(3)–(4)): the changes of a
    period (exchanges and cancellations by default, renames on request) and the
    cancellations by reason."""
    form, qs, (start, end) = _changes(request.user, project, request.GET)
    if wants_xlsx(request):
        return xlsx(
            request,
            project,
            CHANGES_REPORT,
            lambda: changes_export(actor=request.user, project=project, params=request.GET),
        )
    page = paginate(request, qs.order_by("-at", "-pk"), 50)
    return render(
        request,
        "deals/deal_changes.html",
        {
            **list_head(request, project, "changes"),
            "form": form,
            "page": page,
            "rows": reports.change_rows(page),
            "summary": reports.cancel_summary(request.user, project, start=start, end=end),
            "can_reserve": False,
        },
    )


EXPORTABLE.update(
    {
        f"deals.{view.tab}": view
        for view in (DealList, UnsignedList, ContractLedger, SpecialDiscounts, OwnerList)
    }
)
