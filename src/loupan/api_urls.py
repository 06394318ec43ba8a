"""REST API v1 (token authentication, one error shape, OpenAPI at /api/schema/)."""

from django.urls import include, path

from loupan.accounts.api import views as accounts_api
from loupan.aftersales.api import complaints as complaints_api
from loupan.aftersales.api import delivery as delivery_api
from loupan.aftersales.api import settlement as settlement_api
from loupan.audit.api import views as audit_api
from loupan.core import api_codelists as codelists_api
from loupan.core.api import Router
from loupan.customers.api import exports as customer_exports_api
from loupan.customers.api import handover as handover_api
from loupan.customers.api import imports as customer_imports_api
from loupan.customers.api import intentions as intentions_api
from loupan.customers.api import reception as reception_api
from loupan.customers.api import views as customers_api
from loupan.deals.api import views as deals_api
from loupan.inventory.api import imports as imports_api
from loupan.inventory.api import pricelists as pricelists_api
from loupan.inventory.api import units as units_api
from loupan.inventory.api import views as inventory_api
from loupan.opening.api import views as opening_api
from loupan.payments.api import commissions as commissions_api
from loupan.payments.api import money as money_api
from loupan.payments.api import mortgages as mortgages_api
from loupan.payments.api import plans as plans_api
from loupan.payments.api import views as payments_api
from loupan.reports.api import office as reports_office_api
from loupan.reports.api import urls as reports_api
from loupan.signoffs import api as signoffs_api

router = Router()
# Routes are tried in order: opening day's comes first, as its phones and buyers poll and
# pick by the thousand within minutes (at the end, matching them cost 3 ms a request).
opening_api.register(router)
router.register("companies", inventory_api.CompanyViewSet, basename="company")
router.register("projects", inventory_api.ProjectViewSet, basename="project")
router.register("presale-permits", inventory_api.PresalePermitViewSet, basename="presalepermit")
router.register("users", accounts_api.UserViewSet, basename="user")
router.register("memberships", accounts_api.MembershipViewSet, basename="membership")
router.register("roles", accounts_api.RoleViewSet, basename="role")
router.register("audit-entries", audit_api.AuditEntryViewSet, basename="auditentry")
codelists_api.register(router)
units_api.register(router)
customers_api.register(router)
pricelists_api.register(router)
imports_api.register(router)
reception_api.register(router)
customer_imports_api.register(router)
customer_exports_api.register(router)
handover_api.register(router)
intentions_api.register(router)
deals_api.register(router)
money_api.register(router)
mortgages_api.register(router)
commissions_api.register(router)
plans_api.register(router)
delivery_api.register(router)
settlement_api.register(router)
complaints_api.register(router)
reports_office_api.register(router)
signoffs_api.register(router)

urlpatterns = [
    path(
        "projects/<int:pk>/sales-control/",
        units_api.SalesControlViewSet.as_view({"get": "retrieve"}),
        name="sales-control",
    ),
    path("auth/token/", accounts_api.TokenView.as_view(), name="api-token"),
    path("auth/password/", accounts_api.PasswordChangeView.as_view(), name="api-password"),
    path("auth/language/", accounts_api.LanguageView.as_view(), name="api-language"),
    path("me/", accounts_api.MeView.as_view(), name="api-me"),
    path(
        "calculators/mortgage/",
        payments_api.MortgageCalculatorView.as_view(),
        name="mortgage-calculator",
    ),
    *mortgages_api.urlpatterns,
    *commissions_api.urlpatterns,
    *plans_api.urlpatterns,
    *delivery_api.urlpatterns,
    *settlement_api.urlpatterns,
    *complaints_api.urlpatterns,
    *reports_api.urlpatterns,
    path("", include(router.urls)),
]
