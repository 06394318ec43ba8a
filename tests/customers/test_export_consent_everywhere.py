"""One consent for every export of customers' personal data (seed 002 客户信息管理制度
5.1): where the project wants the manager's written consent, not only the 意向客户登记表
but the deal lists with the buyers, 成交客户档案 (and the weekly report that holds it) and
the after-sales lists naming the owners are refused without it
(``customers.exports.require_consent``, ``export_needs_approval``); lists that name
nobody still export, and with the setting off everything exports as before."""

import pytest

from loupan.aftersales import complaints
from loupan.aftersales.models import Complaint
from loupan.core.errors import DomainError
from loupan.customers import exports
from loupan.customers.errors import CustomerError
from loupan.deals import reports as deal_reports
from loupan.deals.models import Deal
from loupan.payments import money_views, mortgages
from loupan.payments.models import Mortgage
from loupan.reports import engine
from tests.deals.helpers import base, client_of, user

pytestmark = pytest.mark.django_db


def refused(call):
    with pytest.raises(DomainError) as exc:
        call()
    assert exc.value.code == CustomerError.EXPORT_NEEDS_APPROVAL


def test_every_customer_data_export_needs_the_consent(demo):
    project, manager = demo["main"], user("manager")
    exports.export_policy_set(actor=manager, project=project, needs_approval=True)
    deals = Deal.objects.filter(project=project)
    refused(
        lambda: deal_reports.deals_export(
            actor=manager, project=project, report="认购名单", queryset=deals, filters={}
        )
    )
    refused(
        lambda: deal_reports.owners_export(actor=manager, project=project, deals=deals, filters={})
    )
    refused(lambda: engine.export(actor=user("director"), project=project, code="buyers"))
    refused(lambda: engine.export(actor=user("director"), project=project, code="weekly"))
    refused(
        lambda: complaints.complaints_export(
            actor=user("service"), project=project, queryset=Complaint.objects.none(), filters={}
        )
    )
    refused(
        lambda: mortgages.mortgages_export(
            actor=user("finance"), project=project, queryset=Mortgage.objects.none(), filters={}
        )
    )
    refused(
        lambda: money_views._export_checked(
            user("finance"), project, "收据", "payments.receipt", [], iter(()), {}
        )
    )
    # a report that names nobody exports
    assert engine.export(actor=user("director"), project=project, code="funnel")
    # the page: back to the list with the reason, no file
    response = client_of("manager").post(f"{base()}deals/owners/?format=xlsx")
    assert "spreadsheetml" not in response.get("Content-Type", "")
    # the other project does not ask
    second = demo["second"]
    assert engine.export(actor=user("director"), project=second, code="buyers")
    # switched off: the lists export again
    exports.export_policy_set(actor=manager, project=project, needs_approval=False)
    response = client_of("manager").post(f"{base()}deals/owners/?format=xlsx")
    assert "spreadsheetml" in response["Content-Type"]
    assert engine.export(actor=user("director"), project=project, code="buyers")
