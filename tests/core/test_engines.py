"""Core's registries name no app and each app fills them: gapless numbers refuse to run
outside the writing transaction; run-due runs every app's jobs in their order; the demo
runs every app's step in order."""

import datetime
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from loupan.core import demo as demo_registry
from loupan.core import due, numbering
from loupan.core.models import DocumentCounter


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_numbers_are_gapless_and_only_inside_a_transaction():
    # outside the test's own transaction: the lock on the counter must not end at once
    project = SimpleNamespace(pk=424242, code="TST")
    with pytest.raises(RuntimeError):
        numbering.next_number(project, "contract")
    with transaction.atomic():
        first = numbering.next_number(project, "contract")
    try:
        with transaction.atomic():
            numbering.next_number(project, "contract")
            raise ValueError("the write fails")
    except ValueError:
        pass
    with transaction.atomic():
        second = numbering.next_number(project, "contract")
    assert first == "HT-TST-000001" and int(second[-6:]) == int(first[-6:]) + 1
    last = DocumentCounter.objects.get(scope=project.pk, kind="contract").last
    assert last == int(second[-6:])


def test_numbers_follow_one_another_under_their_kinds_prefix(db):
    """Inside the writing transaction (the test's own): ``<prefix>-<code>-000001``, then
    the next; a kind registered by an app carries its prefix, another its name."""
    project = SimpleNamespace(pk=434343, code="NUM")
    numbering.register("mutation_kind", "MK")
    assert numbering.next_number(project, "mutation_kind") == "MK-NUM-000001"
    assert numbering.next_number(project, "mutation_kind") == "MK-NUM-000002"
    assert numbering.next_number(project, "contract") == "HT-NUM-000001"
    assert numbering.next_number(project, "unnamed") == "UNNAMED-NUM-000001"
    other = SimpleNamespace(pk=434344, code="OTH")
    assert numbering.next_number(other, "mutation_kind") == "MK-OTH-000001"
    counter = DocumentCounter.objects.get(scope=project.pk, kind="mutation_kind")
    assert counter.last == 2


def test_next_number_refuses_to_run_outside_a_transaction():
    """No database touched: the refusal comes first (on PostgreSQL the lock would end at
    once and two writers could take one number)."""
    project = SimpleNamespace(pk=454545, code="OUT")
    with pytest.raises(
        RuntimeError, match=r"^next_number must run inside the writing transaction$"
    ):
        numbering.next_number(project, "contract")


def test_a_number_after_the_first_costs_one_statement(db, django_assert_num_queries):
    """The counter's row exists after the first number: the next is the one UPDATE …
    RETURNING on that project's and kind's row, no lookup first."""
    project = SimpleNamespace(pk=464646, code="ONE")
    numbering.register("mutation_kind", "MK")
    assert numbering.next_number(project, "mutation_kind") == "MK-ONE-000001"
    with django_assert_num_queries(1):
        assert numbering.next_number(project, "mutation_kind") == "MK-ONE-000002"
    with django_assert_num_queries(1):
        assert numbering.next_number(project, "mutation_kind") == "MK-ONE-000003"


def test_due_jobs_run_in_the_apps_order_and_report_in_chinese(demo, capsys):
    names = [job.name for job in due.jobs()]
    # expired reservations free their units before holds, plans and price lists run
    assert names.index("deals") < names.index("inventory") < names.index("customers")
    done = due.run_due(now=timezone.now() + datetime.timedelta(minutes=1))
    assert {"reservations_expired", "holds_expired", "plans", "price_lists", "pool"} <= set(done)
    call_command("run-due")
    out = capsys.readouterr().out
    assert "保留单到期" in out and "价格方案" in out and "转入公客池" in out


def test_demo_steps_are_registered_by_the_apps_in_order(demo):
    names = [step.name for step in demo_registry.steps()]
    assert names == [
        "inventory.office",
        "accounts",
        "inventory.units",
        "customers",
        "deals",
        "payments",
        "aftersales",
        "opening",
        "payments.commissions",
        "reports",
    ]
