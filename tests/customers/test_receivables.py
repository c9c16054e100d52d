"""Outstanding and overdue amounts (回款) at the edges of due dates and payments."""

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from customers import pipeline
from customers.models import Customer, PipelineRun
from customers.pipeline import StepResult, pipeline_run
from customers.receivables import (
    balances_summary,
    changed_balances,
    receivables_refresh,
    receivables_step,
)
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory

D = dt.date
ISSUED, DUE = D(2026, 1, 1), D(2026, 1, 31)


def invoice(customer, amount="1000.00", issued=ISSUED, due=DUE, payments=()):
    """An invoice with payments given as (paid_date, amount) pairs."""
    created = InvoiceFactory(
        customer=customer, amount=Decimal(amount), issue_date=issued, due_date=due
    )
    for paid_date, paid in payments:
        PaymentFactory(invoice=created, paid_date=paid_date, amount=Decimal(paid))
    return created


def balances_as_of(customer, as_of):
    receivables_refresh(customer_ids=[customer.pk], as_of=as_of)
    customer.refresh_from_db()
    return customer.outstanding_amount, customer.overdue_amount


def stored(customer, outstanding, overdue):
    Customer.objects.filter(pk=customer.pk).update(
        outstanding_amount=Decimal(outstanding), overdue_amount=Decimal(overdue)
    )


# (case, invoices as kwargs of `invoice`, as_of, expected outstanding, expected overdue)
CASES = [
    ("paid in full on the due date", [{"payments": [(DUE, "1000")]}], D(2026, 2, 1), "0", "0"),
    ("unpaid on its due date is not yet overdue", [{}], DUE, "1000", "0"),
    ("unpaid the day after its due date", [{}], D(2026, 2, 1), "1000", "1000"),
    ("partly paid", [{"payments": [(D(2026, 1, 20), "400")]}], D(2026, 2, 1), "600", "600"),
    ("two partial payments", [{"payments": [(D(2026, 1, 5), "250.50"), (DUE, "249.50")]}],
     D(2026, 2, 1), "500", "500"),
    ("payment after the as-of date not counted", [{"payments": [(D(2026, 2, 5), "1000")]}],
     D(2026, 2, 1), "1000", "1000"),
    ("payment on the as-of date counted", [{"payments": [(D(2026, 2, 1), "1000")]}],
     D(2026, 2, 1), "0", "0"),
    ("invoice issued after the as-of date ignored",
     [{"issued": D(2026, 2, 10), "due": D(2026, 3, 10)}], D(2026, 2, 1), "0", "0"),
    ("invoice issued on the as-of date counted, not due",
     [{"issued": D(2026, 2, 1), "due": D(2026, 3, 1)}], D(2026, 2, 1), "1000", "0"),
    ("overpayment gives no negative balance and does not offset another invoice",
     [{"payments": [(D(2026, 1, 20), "1200")]}, {"amount": "500"}], D(2026, 2, 1), "500", "500"),
    ("one overdue and one not yet due", [{}, {"amount": "300", "due": D(2026, 2, 28)}],
     D(2026, 2, 1), "1300", "1000"),
    ("no invoice at all", [], D(2026, 2, 1), "0", "0"),
]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("invoices", "as_of", "outstanding", "overdue"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_outstanding_and_overdue_as_of_a_date(invoices, as_of, outstanding, overdue):
    customer = CustomerFactory()
    for kwargs in invoices:
        invoice(customer, **kwargs)

    assert balances_as_of(customer, as_of) == (Decimal(outstanding), Decimal(overdue))


@pytest.mark.django_db
def test_only_customers_whose_balances_changed_are_written():
    stale, settled = CustomerFactory(), CustomerFactory()
    invoice(stale)
    invoice(settled, amount="500")
    stored(settled, "500", "500")

    frame = changed_balances(D(2026, 2, 1))
    result = receivables_step(PipelineRun(as_of=D(2026, 2, 1)))

    assert list(frame["id"]) == [stale.pk]
    assert result.rows == 1
    assert result.publish() == 1


@pytest.mark.django_db
def test_step_writes_nothing_until_published():
    customer = CustomerFactory()
    invoice(customer)

    result = receivables_step(PipelineRun(as_of=D(2026, 2, 1)))
    customer.refresh_from_db()
    assert customer.overdue_amount == 0

    result.publish()
    customer.refresh_from_db()
    assert (customer.outstanding_amount, customer.overdue_amount) == (1000, 1000)


@pytest.mark.django_db
def test_step_summary_gives_counts_and_totals_after_the_run():
    newly_overdue, unchanged, paid_up = CustomerFactory(), CustomerFactory(), CustomerFactory()
    invoice(newly_overdue)  # stored 0 / 0, becomes 1000 / 1000
    invoice(unchanged, amount="500", due=D(2026, 3, 1))  # stored 500 / 0, stays
    stored(unchanged, "500", "0")
    invoice(
        paid_up, amount="200", payments=[(D(2026, 1, 10), "200")]
    )  # stored 200 / 200, becomes 0
    stored(paid_up, "200", "200")

    summary = receivables_step(PipelineRun(as_of=D(2026, 2, 1))).summary

    assert summary == {
        "customers_changed": 2,
        "customers_newly_overdue": 1,
        "customers_overdue": 1,
        "total_outstanding": "1500.00",  # 1000 + 500 + 0
        "total_overdue": "1000.00",  # 1000 + 0 + 0
    }


def test_summary_of_no_change_repeats_the_stored_totals():
    empty = pd.DataFrame(
        columns=[
            "id",
            "outstanding_amount",
            "overdue_amount",
            "previous_outstanding_amount",
            "previous_overdue_amount",
        ],
        dtype=float,
    )
    stored_totals = {
        "customers_overdue": 3,
        "outstanding_amount": Decimal("12.30"),
        "overdue_amount": Decimal("4.50"),
    }

    assert balances_summary(empty, stored_totals) == {
        "customers_changed": 0,
        "customers_newly_overdue": 0,
        "customers_overdue": 3,
        "total_outstanding": "12.30",
        "total_overdue": "4.50",
    }


@pytest.mark.django_db
def test_refresh_of_some_customers_leaves_the_others_untouched():
    refreshed, untouched = CustomerFactory(), CustomerFactory()
    invoice(refreshed)
    invoice(untouched)

    assert receivables_refresh(customer_ids=[refreshed.pk], as_of=D(2026, 2, 1)) == 1

    refreshed.refresh_from_db()
    untouched.refresh_from_db()
    assert (refreshed.outstanding_amount, refreshed.overdue_amount) == (1000, 1000)
    assert (untouched.outstanding_amount, untouched.overdue_amount) == (0, 0)


@pytest.mark.django_db
def test_refresh_of_no_customers_changes_nothing():
    customer = CustomerFactory()
    invoice(customer)

    assert receivables_refresh(customer_ids=[], as_of=D(2026, 2, 1)) == 0


@pytest.mark.django_db
def test_registered_receivables_step_publishes_balances_with_the_run():
    customer = CustomerFactory()
    invoice(customer, payments=[(D(2026, 1, 20), "250")])

    run = pipeline_run(as_of=D(2026, 2, 1))

    customer.refresh_from_db()
    assert run.status == PipelineRun.Status.SUCCEEDED
    assert {"name": "receivables", "rows": 1}.items() <= run.steps[0].items()
    assert (customer.outstanding_amount, customer.overdue_amount) == (750, 750)


@pytest.mark.django_db
def test_a_payment_recorded_while_the_run_computes_keeps_its_newer_balance(monkeypatch):
    # The step reads the balances early and writes them when the run publishes; a payment
    # recorded in between refreshes the customer's balance, and publishing must not write
    # the older one over it.
    as_of = D(2026, 2, 1)
    pays_meanwhile, untouched = CustomerFactory(), CustomerFactory()
    paid_invoice = invoice(pays_meanwhile)
    invoice(untouched)
    # Stored before the due date passed: outstanding, not yet overdue.
    stored(pays_meanwhile, "1000", "0")
    stored(untouched, "1000", "0")

    def payment_arrives(run):
        PaymentFactory(invoice=paid_invoice, paid_date=as_of, amount=Decimal("1000"))
        receivables_refresh(customer_ids=[pays_meanwhile.pk], as_of=as_of)
        return StepResult(rows=1)

    monkeypatch.setitem(
        pipeline._steps,
        "payment arrives",
        pipeline.Step("payment arrives", payment_arrives, after=("receivables",)),
    )

    run = pipeline_run(as_of=as_of)

    assert run.status == PipelineRun.Status.SUCCEEDED, run.error
    receivables = next(step for step in run.steps if step["name"] == "receivables")
    assert receivables["summary"]["customers_changed"] == 2  # both read as newly overdue
    assert balances_as_stored(pays_meanwhile) == (0, 0)
    assert balances_as_stored(untouched) == (1000, 1000)


def balances_as_stored(customer):
    customer.refresh_from_db()
    return customer.outstanding_amount, customer.overdue_amount
