"""Shared helpers of the mortgage tests (no tests here; named test_mortgage* to stay in
the files this part owns): a fresh subscribed deal paid by a commercial
loan, a mortgage opened on it, and one moved to a given stage."""

import pytest

from loupan.core.errors import DomainError
from loupan.deals.models import Deal
from loupan.payments import mortgages as m
from loupan.payments.models import LedgerEntry, Mortgage
from tests.deals.helpers import project, subscribed, user

_phones = iter(range(13755550000, 13755559999))


def loan_deal(offset=0, contract=False) -> Deal:
    """A subscribed deal of ``consultant`` paid by a commercial loan, deposit confirmed."""
    return subscribed(offset=offset, phone=str(next(_phones)), contract=contract)


def opened(deal=None, actor="consultant", **kw) -> Mortgage:
    deal = deal or loan_deal()
    args = {
        "actor": user(actor),
        "deal": deal,
        "bank": "测试银行",
        "loan_type": "commercial",
        "commercial_amount": "500000",
        "years": 30,
        "commercial_rate": "3.5",
    }
    args.update(kw)
    return m.mortgage_open(**args)


def tick_all(mortgage, actor="consultant") -> Mortgage:
    for d in mortgage.documents:
        mortgage = m.mortgage_check_document(
            actor=user(actor), mortgage=mortgage, name=d["name"], done=True
        )
    return mortgage


def at_stage(stage, deal=None, full=False, **kw) -> Mortgage:
    """A mortgage moved by the consultant up to ``stage`` (collecting, submitted,
    approved, rejected); ``full``: the loan is the whole loan item of the schedule."""
    deal = deal or loan_deal()
    if full:
        kw["commercial_amount"] = m.loan_cap(deal)
    mortgage = opened(deal, **kw)
    if stage == "collecting":
        return mortgage
    mortgage = tick_all(mortgage)
    mortgage = m.mortgage_move(actor=user("consultant"), mortgage=mortgage, to_stage="submitted")
    if stage == "submitted":
        return mortgage
    if stage == "rejected":
        return m.mortgage_move(
            actor=user("consultant"),
            mortgage=mortgage,
            to_stage="rejected",
            rejection_next="other_bank",
        )
    return m.mortgage_move(actor=user("consultant"), mortgage=mortgage, to_stage="approved")


def refused(code, call, field=None) -> DomainError:
    """``call()`` raises the DomainError ``code`` (naming ``field``) and writes nothing."""
    mortgages, entries = Mortgage.objects.count(), LedgerEntry.objects.count()
    with pytest.raises(DomainError) as info:
        call()
    assert str(info.value.code) == code, (info.value.code, info.value.message)
    if field:
        assert info.value.fields.get(field), info.value.fields
    assert Mortgage.objects.count() == mortgages
    assert LedgerEntry.objects.count() == entries
    return info.value


__all__ = ["at_stage", "loan_deal", "opened", "project", "refused", "tick_all", "user"]
