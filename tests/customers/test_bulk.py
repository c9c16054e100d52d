"""Set-wise writes: a write guarded by the values read earlier loses to a change made since."""

from decimal import Decimal

import pandas as pd
import pytest

from customers.bulk import update_unchanged_rows
from customers.models import Customer
from tests.factories import CustomerFactory


def balances(customer):
    customer.refresh_from_db()
    return customer.outstanding_amount, customer.overdue_amount


@pytest.mark.django_db
def test_rows_are_written_only_where_the_live_values_are_still_those_read():
    as_read, changed_since, overdue_changed = (
        CustomerFactory(),
        CustomerFactory(),
        CustomerFactory(),
    )
    Customer.objects.filter(pk=changed_since.pk).update(outstanding_amount=Decimal("80.10"))
    Customer.objects.filter(pk=overdue_changed.pk).update(overdue_amount=Decimal("0.01"))
    frame = pd.DataFrame(
        {
            "id": [as_read.pk, changed_since.pk, overdue_changed.pk, 999_999],
            "outstanding_amount": [1234.56, 500.0, 700.0, 1.0],
            "overdue_amount": [1234.56, 500.0, 700.0, 1.0],
            "read_outstanding": [0.0, 0.0, 0.0, 0.0],
            "read_overdue": [0.0, 0.0, 0.0, 0.0],
        }
    )

    written = update_unchanged_rows(
        Customer._meta.db_table,
        frame,
        read={"outstanding_amount": "read_outstanding", "overdue_amount": "read_overdue"},
    )

    assert written == [as_read.pk]
    assert balances(as_read) == (Decimal("1234.56"), Decimal("1234.56"))
    assert balances(changed_since) == (Decimal("80.10"), Decimal("0.00"))
    assert balances(overdue_changed) == (Decimal("0.00"), Decimal("0.01"))


@pytest.mark.django_db
def test_guarded_write_compares_text_and_flags_and_writes_nothing_for_no_rows():
    customer = CustomerFactory(credit_grade="B", grade_locked=False)
    read = {"credit_grade": "read_grade", "grade_locked": "read_locked"}
    frame = pd.DataFrame(
        {"id": [customer.pk], "credit_grade": ["C"], "read_grade": ["B"], "read_locked": [False]}
    )

    assert update_unchanged_rows(Customer._meta.db_table, frame.iloc[0:0], read=read) == []
    assert update_unchanged_rows(Customer._meta.db_table, frame, read=read) == [customer.pk]
    # Read again as B: the live C written above differs, so nothing is written.
    assert update_unchanged_rows(Customer._meta.db_table, frame, read=read) == []
    customer.refresh_from_db()
    assert customer.credit_grade == "C"
