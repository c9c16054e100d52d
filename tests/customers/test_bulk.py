"""Set-wise writes: a write guarded by the values read earlier loses to a change made since;
a rewrite of most of a table sets its indexes aside and builds them again."""

import datetime as dt
from decimal import Decimal

import pandas as pd
import psycopg2
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers import bulk
from customers.bulk import update_rows, update_unchanged_rows
from customers.models import CreditRules, Customer
from customers.pipeline import pipeline_run
from tests.factories import CustomerFactory

TABLE = Customer._meta.db_table
pg_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="indexes are set aside on PostgreSQL only"
)


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


def index_definitions():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1", [TABLE]
        )
        return cursor.fetchall()


def indexes_dropped(queries):
    return [query["sql"] for query in queries if query["sql"].startswith("DROP INDEX")]


@pytest.fixture
def every_rewrite_is_large(monkeypatch):
    # Whatever the table's statistics say it holds (another test may have analysed it).
    monkeypatch.setattr(bulk, "REWRITE_MIN_ROWS", 0)
    monkeypatch.setattr(bulk, "REWRITE_SHARE", 0)


@pg_only
@pytest.mark.django_db
def test_a_first_grading_sets_the_customer_indexes_aside_and_builds_them_again(
    every_rewrite_is_large,
):
    customers = CustomerFactory.create_batch(3)
    before = index_definitions()

    with CaptureQueriesContext(connection) as queries:
        run = pipeline_run(as_of=dt.date(2026, 6, 30))

    assert run.status == "succeeded", run.error
    default = CreditRules.current().default_grade
    assert [c.credit_grade for c in Customer.objects.filter(pk__in=[c.pk for c in customers])] == [
        default
    ] * 3
    secondary = [name for name, _definition in before if not name.endswith(("_pkey", "_key"))]
    assert len(indexes_dropped(queries)) >= len(secondary) > 10
    assert index_definitions() == before
    # The list's index on the grade serves again.
    assert Customer.objects.filter(credit_grade=default).order_by("name", "id").count() == 3


@pg_only
@pytest.mark.django_db
def test_a_failed_rewrite_leaves_the_indexes_as_they_were(every_rewrite_is_large):
    customer = CustomerFactory(credit_grade="B")
    before = index_definitions()

    with pytest.raises(psycopg2.DataError):
        update_rows(TABLE, pd.DataFrame({"id": [customer.pk], "credit_grade": ["not a grade"]}))

    assert index_definitions() == before
    customer.refresh_from_db()
    assert customer.credit_grade == "B"


@pg_only
@pytest.mark.django_db
def test_a_small_write_keeps_the_indexes():
    customer = CustomerFactory(credit_grade="B")

    with CaptureQueriesContext(connection) as queries:
        update_rows(TABLE, pd.DataFrame({"id": [customer.pk], "credit_grade": ["C"]}))

    assert indexes_dropped(queries) == []
    customer.refresh_from_db()
    assert customer.credit_grade == "C"


@pg_only
@pytest.mark.django_db(transaction=True)
def test_a_rewrite_does_not_wait_for_readers_it_keeps_the_indexes_instead(
    every_rewrite_is_large, monkeypatch
):
    monkeypatch.setattr(bulk, "REWRITE_LOCK_TIMEOUT", "200ms")
    customer = CustomerFactory(credit_grade="B")
    reader = psycopg2.connect(**connection.get_connection_params())
    try:
        # A page's read still open: it holds the table against the rewrite's lock.
        reader.cursor().execute(f"SELECT count(*) FROM {TABLE}")
        with CaptureQueriesContext(connection) as queries:
            update_rows(TABLE, pd.DataFrame({"id": [customer.pk], "credit_grade": ["C"]}))
    finally:
        reader.rollback()
        reader.close()

    assert indexes_dropped(queries) == []
    customer.refresh_from_db()
    assert customer.credit_grade == "C"


@pg_only
@pytest.mark.django_db(transaction=True)
def test_rows_copied_in_parts_are_all_written_the_other_parts_committed_on_their_own():
    from customers.snapshots import PurchaseFigure

    run = pipeline_run(as_of=dt.date(2026, 2, 1))
    customers = [CustomerFactory() for _ in range(5)]
    columns = {
        "run_id": pd.Series([str(run.pk)] * 5).to_numpy(dtype=object),
        "customer_id": pd.Series([str(c.pk) for c in customers]).to_numpy(dtype=object),
        "purchases": pd.Series([f"{n}.50" for n in range(5)]).to_numpy(dtype=object),
    }
    table = PurchaseFigure._meta.db_table
    PurchaseFigure.objects.filter(run=run).delete()

    with pytest.raises(RuntimeError), bulk.transaction.atomic():
        assert bulk.copy_text(table, columns, parts=3) == 5
        assert PurchaseFigure.objects.filter(run=run).count() == 5
        raise RuntimeError("the caller's transaction fails")

    # The first part went on this connection and was rolled back with it; the other two
    # were written on connections of their own and stay.
    kept = sorted(PurchaseFigure.objects.filter(run=run).values_list("customer_id", flat=True))
    assert kept == [c.pk for c in customers[1:]]
