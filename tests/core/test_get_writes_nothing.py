"""A GET writes nothing: every page and API URL of the URL conf, fetched as each office
role that works in the main demo project, runs no INSERT, UPDATE or DELETE.

The URLs come from the resolver, so a new page is covered as soon as it is routed.
Parameters are filled from the demo office: the project ids with the main project, an
object id with the first object of that kind in the main project (the consultant's own
where the object has an owner), an action name with a real one (those views answer POST
only, so the GET must be refused without effect). A route whose kind of object the demo
does not have is left out (listed in ``test_routes_are_filled``). Refused GETs (403, 404,
405) count too: a refusal must not write either.

Only writes to ``django_session`` and the ``axes_*`` tables are allowed: Django's session
middleware saves the session when a view touches it, and django-axes keeps its own
access records. Neither is business data. (An import's preview writes not even the
session, after its jobs have ended too: tests/core/test_import_jobs.py.)
(The idle timeout's stamp is not one of them: a GET refreshes it in a cookie,
tests/accounts/test_sessions.py.)

No exception for exports: an export writes its audit entry (ENGINEERING.md: exports are
audited), so it is a POST (the list's filters and ``format=xlsx`` in the query string);
list pages are also fetched with ``?format=xlsx`` to show that a GET of it only draws
the page.
"""

import re
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from loupan.accounts.models import Membership, Role, User
from loupan.aftersales.models import (
    Certificate,
    Complaint,
    ComplaintCategory,
    Defect,
    Delivery,
    DeliveryBatch,
    MeasuredArea,
    RepairOrder,
    Settlement,
    Survey,
    SurveyQuestion,
    SurveyTemplate,
)
from loupan.approvals.models import ApprovalRequest
from loupan.audit.models import AuditEntry
from loupan.core.pages import ProjectListView
from loupan.customers.models import (
    CallRecord,
    Customer,
    CustomerExport,
    Handover,
    IntendedUnit,
    OwnershipClaim,
    Reception,
    RosterEntry,
)
from loupan.deals.models import ContractTemplate, Deal, DealChange, DiscountType, Supplement
from loupan.inventory.models import (
    Building,
    Layout,
    Phase,
    PresalePermit,
    PriceList,
    ReleasePlan,
    Unit,
)
from loupan.opening.models import Entry, OpeningEvent, Pick
from loupan.payments.models import (
    CollectionRecord,
    CommissionEntry,
    CommissionStatement,
    DayClose,
    Deferral,
    FeeRate,
    LedgerEntry,
    Mortgage,
    Receipt,
    ReceiptBook,
    ScheduleItem,
)
from loupan.reports.engine import REPORTS
from loupan.reports.models import ChannelSpend, Target
from loupan.signoffs.models import SignOff
from tests.testing import BACKEND, api_client

# The roles that work in the main project every day (demo usernames), and the auditor,
# the one who may export the audit trail.
ROLES = ["manager", "consultant", "salesadmin", "finance", "planner", "director", "auditor"]

# Not fetched: logging out ends the session the walk runs in.
SKIP = {"accounts:logout"}
# The same for everyone and slow to build (the OpenAPI schema): fetched as the first role.
ONCE = {"api-schema", "api-docs", "api-redoc"}

_WRITE = re.compile(
    r"^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)"
    r'\s+"?(?P<table>\w+)"?',
    re.I,
)


def allowed_write(table: str) -> bool:
    """Session bookkeeping and django-axes' records (see the module docstring)."""
    return table == "django_session" or table.startswith("axes_")


_AUDIT_INSERT = re.compile(r'^\s*INSERT\s+INTO\s+"?audit_auditentry"?', re.I)


def business_writes(queries) -> list[str]:
    writes = []
    for query in queries:
        match = _WRITE.match(query["sql"])
        if match and not allowed_write(match.group("table")):
            writes.append(query["sql"][:200])
    return writes


def is_download(response) -> bool:
    return response.get("Content-Disposition", "").startswith("attachment")


# --- the URLs ---------------------------------------------------------------------------


def _routes():
    """``(name, kwarg names, route text)`` for every URL pattern, namespaced names."""

    def walk(patterns, prefix, namespace):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = namespace
                if p.namespace:
                    ns = f"{namespace}{p.namespace}:"
                yield from walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern) and p.name:
                route = prefix + str(p.pattern)
                yield f"{namespace}{p.name}", set(p.pattern.regex.groupindex), route, p.callback

    return list(walk(get_resolver().url_patterns, "", ""))


def _has_xlsx(name, callback) -> bool:
    """A list page that also answers ``?format=xlsx`` (the shared list view's export)."""
    view_class = getattr(callback, "view_class", None)
    return name == "deals:deal_changes" or (
        view_class is not None and issubclass(view_class, ProjectListView)
    )


def _objects(demo) -> dict:
    """One object of each kind that the URLs name, from the main demo project."""
    main = demo["main"]
    consultant = demo["users"]["consultant"]

    def first(model, **lookup):
        return model._base_manager.filter(**lookup).order_by("pk").first()

    customer = first(Customer, project=main, owner=consultant) or first(Customer, project=main)
    deal = first(Deal, project=main, consultant=consultant) or first(Deal, project=main)
    return {
        "projects": main,
        "companies": demo["company"],
        "presale-permits": first(PresalePermit, project=main),
        "permits": first(PresalePermit, project=main),
        "users": consultant,
        "memberships": first(Membership, project=main, user=consultant),
        "roles": Role.objects.get(code="consultant"),
        "audit-entries": first(AuditEntry, project_id=main.pk),
        "phases": first(Phase, project=main),
        "layouts": first(Layout, project=main),
        "buildings": first(Building, project=main),
        "units": first(Unit, project=main),
        "intended-units": first(IntendedUnit, customer__project=main),
        "release-plans": first(ReleasePlan, project=main),
        "pricelists": first(PriceList, project=main),
        "price-lists": first(PriceList, project=main),
        "customers": customer,
        "problem-customers": customer,
        "claims": first(OwnershipClaim, customer__project=main),
        "roster": first(RosterEntry, project=main),
        "receptions": first(Reception, project=main),
        "calls": first(CallRecord, project=main),
        "handover": first(Handover, project=main),
        "handovers": first(Handover, project=main),
        "approval-requests": first(ApprovalRequest, project_id=main.pk),
        "approvals": first(ApprovalRequest, project_id=main.pk),
        "deals": deal,
        "deal-changes": first(DealChange, project=main),
        "discount-types": first(DiscountType, project=main),
        "receipts": first(Receipt, project=main),
        "ledger-entries": first(LedgerEntry, project=main),
        "collection": first(ScheduleItem, project=main),
        "collection-records": first(CollectionRecord, project=main),
        "deferrals": first(Deferral, project=main),
        "day-closes": first(DayClose, project=main),
        "receipt-books": first(ReceiptBook, project=main),
        "payments": None,
        "payment-approvals": first(ApprovalRequest, project_id=main.pk, kind="reversal"),
        "payment-details": deal,
        "payment-schedules": deal,
        "owners": deal,
        "batches": first(DeliveryBatch, project=main),
        "delivery-batches": first(DeliveryBatch, project=main),
        "deliveries": first(Delivery, project=main),
        "defects": first(Defect, delivery__project=main),
        "repairs": first(RepairOrder, project=main),
        "settlements": first(Settlement, project=main),
        "certificates": first(Certificate, project=main),
        "complaints": first(Complaint, project=main),
        "categories": first(ComplaintCategory, project=main),
        "complaint-categories": first(ComplaintCategory, project=main),
        "surveys": first(Survey, project=main),
        "templates": first(SurveyTemplate, project=main),
        "survey-templates": first(SurveyTemplate, project=main),
        "measured-areas": first(MeasuredArea, unit__project=main),
        "books": first(ReceiptBook, project=main),
        "fee-rates": first(FeeRate, project=main),
        "mortgages": first(Mortgage, project=main),
        "commission-statements": first(CommissionStatement, project=main),
        "commission-entries": first(CommissionEntry, project=main),
        "statements": first(CommissionStatement, project=main),
        "commissions": first(CommissionStatement, project=main),
        "report-targets": first(Target, project=main),
        "opening": first(OpeningEvent, project=main),
        "opening-events": first(OpeningEvent, project=main),
        "entries": first(Entry, event__project=main),
        "picks": first(Pick, event__project=main),
        "channel-spends": first(ChannelSpend, project=main),
        "customer-exports": first(CustomerExport, project=main),
        "exports": first(CustomerExport, project=main),
        "signoffs": first(SignOff, project=main),
        "contract-templates": first(ContractTemplate, project=main),
        "supplements": first(Supplement, project=main),
    }


def _fill(name, kwargs, route, demo, objects):
    """The URL of ``name`` with its parameters filled, or None when the demo has no
    object for it."""
    if "format" in kwargs:
        return None  # the ``.json`` twin of an API route
    values = {}
    for kwarg in kwargs:
        if kwarg in ("project_pk", "project_id", "project"):
            values[kwarg] = demo["main"].pk
        elif kwarg == "question_pk":
            question = SurveyQuestion._base_manager.filter(template__project=demo["main"])
            values[kwarg] = question.order_by("pk").first().pk
        elif kwarg == "deal_pk":
            values[kwarg] = objects["deals"].pk
        elif kwarg == "day":
            values[kwarg] = timezone.localdate().isoformat()
        elif kwarg == "code":
            values[kwarg] = "consultant"  # a role
        elif kwarg == "report":
            values[kwarg] = "daily"  # every other report is added in _urls
        elif kwarg == "token":
            values[kwarg] = uuid.uuid4()  # an import that does not exist
        elif kwarg == "action":
            values[kwarg] = "submit" if "pricelist" in name else "hold"
        elif kwarg == "step":
            values[kwarg] = "open"  # an event's step: POST only
        elif kwarg in ("pk", "unit_pk", "permit_pk", "customer_id", "deal", "entry", "pick"):
            # The collection right before the id: ``…/customers/<int:pk>/…``.
            before = re.search(rf"([\w-]+)/(?:<int:{kwarg}>|\(\?P<{kwarg}>)", route)
            collection = before.group(1)
            assert collection in objects, f"no demo object for {collection!r} in {route}"
            if objects[collection] is None:
                return None
            values[kwarg] = objects[collection].pk
        else:
            raise AssertionError(f"unknown URL parameter {kwarg!r} in {route}")
    return reverse(name, kwargs=values)


def _urls(demo):
    """``(urls, left_out)``: the URLs to fetch (each once) and the routes left out."""
    objects = _objects(demo)
    urls, left_out = {}, []
    for name, kwargs, route, callback in _routes():
        if name in SKIP:
            continue
        url = _fill(name, kwargs, route, demo, objects)
        if url is None:
            if "format" not in kwargs:
                left_out.append(route)
            continue
        urls.setdefault(url, name)
        if _has_xlsx(name, callback):
            urls.setdefault(f"{url}?format=xlsx", name)
    main = demo["main"].pk
    # Every report of the catalogue, on its page, on paper and in the API.
    for code in REPORTS:
        urls.setdefault(f"/projects/{main}/reports/{code}/", "report")
        urls.setdefault(f"/projects/{main}/reports/{code}/?print=1&period=year", "report")
        urls.setdefault(f"/api/v1/reports/{code}/?project={main}&period=year", "report-detail")
    # The board's live feed as htmx asks for it, with changes to draw.
    urls[f"/projects/{main}/board/changes/?since=2000-01-01T00:00:00%2B08:00"] = "board_changes"
    return urls, left_out


# --- the tests --------------------------------------------------------------------------


def test_routes_are_filled(demo):
    """The walk reaches the routes that matter; only kinds the demo lacks are left out."""
    urls, left_out = _urls(demo)
    names = set(urls.values())
    for name in [
        "home",
        "inventory:board",
        "inventory:board_changes",
        "inventory:unit_list",
        "inventory:unit_detail",
        "customers:customer_list",
        "customers:customer_detail",
        "deals:deal_list",
        "deals:deal_detail",
        "approvals:inbox",
        "approvals:decide",
        "audit:audit_list",
        "accounts:user_list",
        "deal-list",
        "customer-list",
        "approval-list",
        "sales-control",
    ]:
        assert name in names, name
    # Kinds the demo office has none of in the main project.
    allowed = (
        "roster",
        "calls",
        "handover",
        "handovers",
        "receptions",
        "release-plans",
        # no demo step writes sign-offs or export requests yet
        "signoffs",
        "customer-exports",
        "exports",
    )
    unexpected = [r for r in left_out if not any(f"{c}/" in r for c in allowed)]
    assert unexpected == []
    # The list pages' exports are fetched too.
    assert f"/projects/{demo['main'].pk}/deals/?format=xlsx" in urls
    assert f"/projects/{demo['main'].pk}/customers/?format=xlsx" in urls


@pytest.mark.parametrize("role", ROLES)
def test_get_writes_nothing(demo, role):
    urls, _left_out = _urls(demo)
    user = User.objects.get(username=role)
    web = Client()
    web.force_login(user, backend=BACKEND)
    api = api_client(user)
    offenders, errors = [], []
    for url, name in sorted(urls.items()):
        if name in ONCE and role != ROLES[0]:
            continue
        client = api if url.startswith("/api/v1/") else web
        headers = {"HTTP_HX_REQUEST": "true"} if name == "board_changes" else {}
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, **headers)
        if response.status_code >= 500:
            errors.append(f"{url} → {response.status_code}")
        writes = business_writes(ctx.captured_queries)
        for sql in writes:
            offenders.append(f"GET {url} ({name}): {sql}")
    assert offenders == [], f"{role}: a GET wrote\n" + "\n".join(offenders)
    assert errors == [], f"{role}: server errors\n" + "\n".join(errors)


def test_write_detector():
    """The SQL the detector must catch, and what it must let through."""
    queries = [
        {"sql": 'INSERT INTO "audit_auditentry" ("a") VALUES (1)'},
        {"sql": 'UPDATE "inventory_unit" SET "status" = \'held\''},
        {"sql": 'DELETE FROM "deals_dealunit" WHERE 1'},
        {"sql": 'INSERT OR IGNORE INTO "x" VALUES (1)'},
        {"sql": 'UPDATE "django_session" SET "session_data" = \'…\''},
        {"sql": 'INSERT INTO "axes_accessattempt" ("a") VALUES (1)'},
        {"sql": 'SELECT "id" FROM "inventory_unit" WHERE "status" = \'held\''},
        {"sql": 'SELECT 1 FROM "x" WHERE "note" LIKE \'%UPDATE%\''},
    ]
    assert [w.split('"')[1] for w in business_writes(queries)] == [
        "audit_auditentry",
        "inventory_unit",
        "deals_dealunit",
        "x",
    ]


def test_exports_are_posts_that_record_their_audit_entry(demo):
    """An export is a POST that adds the audit entry of the export, and nothing else;
    the same URL by GET draws no file and writes nothing."""
    main = demo["main"].pk
    client = Client()
    client.force_login(User.objects.get(username="manager"), backend=BACKEND)
    for url in [f"/projects/{main}/deals/?format=xlsx", f"/projects/{main}/units/import/export/"]:
        before = AuditEntry.objects.count()
        with CaptureQueriesContext(connection) as ctx:
            got = client.get(url)
        assert not is_download(got) and business_writes(ctx.captured_queries) == [], url
        with CaptureQueriesContext(connection) as ctx:
            response = client.post(url)
        assert response.status_code == 200, url
        assert is_download(response), url
        writes = business_writes(ctx.captured_queries)
        assert writes and all(_AUDIT_INSERT.match(sql) for sql in writes), writes
        assert AuditEntry.objects.count() == before + 1, url
