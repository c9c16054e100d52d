"""The import commands, end to end on small CSV and XLSX files."""

import csv
import datetime as dt
from decimal import Decimal
from io import StringIO
from textwrap import dedent

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from customers.models import Customer, Invoice, Order, Payment
from customers.signals import orders_recorded
from tests.factories import (
    CustomerFactory,
    InvoiceFactory,
    OrderFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def csv_file(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(dedent(text).lstrip(), encoding="utf-8")
    return path


def xlsx_file(tmp_path, rows, name="data.xlsx"):
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def run(command, path, *options):
    """Run an import command; returns (stdout, stderr)."""
    out, err = StringIO(), StringIO()
    call_command(command, str(path), *options, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(command, path, *options):
    """Run an import command that must fail; returns (message, stderr)."""
    err = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command(command, str(path), *options, stdout=StringIO(), stderr=err)
    return str(failure.value), err.getvalue()


def read_rejects(path):
    with open(path, encoding="utf-8-sig", newline="") as rejects:
        return list(csv.DictReader(rejects))


@pytest.fixture
def shop():
    return CustomerFactory(external_ref="C1", name="上海锦江酒店")


@pytest.fixture
def capture_orders_recorded():
    sent = []

    def receiver(sender, order_ids, **kwargs):
        sent.append(order_ids)

    orders_recorded.connect(receiver)
    yield sent
    orders_recorded.disconnect(receiver)


# Orders -------------------------------------------------------------------------------------


def test_orders_csv_is_imported_with_counts(tmp_path, shop):
    path = csv_file(
        tmp_path,
        """
        customer_ref,order_ref,order_date,amount,quantity,category
        C1,O-1,2026-01-15,1200.5,3,饮料
        C1,O-2,2026-02-01,99,1,
        """,
    )

    out, err = run("import_orders", path)

    assert "2 rows read: 2 new, 0 already recorded, 0 rows rejected" in out
    assert err == ""
    first = Order.objects.get(external_ref="O-1")
    assert (first.customer, first.order_date, first.amount, first.quantity, first.category) == (
        shop,
        dt.date(2026, 1, 15),
        Decimal("1200.50"),
        3,
        "饮料",
    )
    assert Order.objects.get(external_ref="O-2").category == ""


def test_csv_with_byte_order_mark_is_read(tmp_path, shop):
    path = tmp_path / "bom.csv"
    path.write_bytes(
        "customer_ref,order_date,amount,quantity\nC1,2026-01-15,10,1\n".encode("utf-8-sig")
    )

    run("import_orders", path)

    assert Order.objects.filter(customer=shop).count() == 1


def test_xlsx_orders_with_date_and_number_cells_are_imported(tmp_path, shop):
    path = xlsx_file(
        tmp_path,
        [
            ["Customer_Ref", "order_ref", "order_date", "amount", "quantity"],
            ["C1", "X-1", dt.datetime(2026, 3, 1), 250.75, 4],
            ["C1", "X-2", "2026-03-02", "10", 1.0],
        ],
    )

    run("import_orders", path)

    order = Order.objects.get(external_ref="X-1")
    assert (order.order_date, order.amount, order.quantity) == (
        dt.date(2026, 3, 1),
        Decimal("250.75"),
        4,
    )
    assert Order.objects.get(external_ref="X-2").quantity == 1


@pytest.mark.parametrize(
    ("cells", "column", "reason"),
    [
        ("C1,,1,1", "order_date", "This value is required."),
        ("C1,2026-02-30,1,1", "order_date", "“2026-02-30” is not a date"),
        ("C1,15/01/2026,1,1", "order_date", "write dates as YYYY-MM-DD"),
        ("C1,2026-01-15,1.234,1", "amount", "at most 2 decimal places"),
        ("C1,2026-01-15,-5,1", "amount", "cannot be negative"),
        ('C1,2026-01-15,"1,200.00",1', "amount", "“1,200.00” is not an amount"),
        ("C1,2026-01-15,1234567890123,1", "amount", "too large"),
        ("C1,2026-01-15,10,0", "quantity", "whole number greater than zero"),
        ("C1,2026-01-15,10,2.5", "quantity", "whole number greater than zero"),
        ("C1,2026-01-15,10,99999999999", "quantity", "too large"),
        ("NOPE,2026-01-15,10,1", "customer_ref", "No customer with reference “NOPE” exists."),
        ("C1,0001-01-01,10,1", "order_date", "“0001-01-01” is out of range"),
        ("C1,9999-12-31,10,1", "order_date", "enter a date between 2000-01-01 and"),
        ("C1,2026-01-15,0.00,1", "amount", "The amount must be greater than zero."),
    ],
)
def test_each_bad_order_cell_is_reported_with_line_and_column(
    tmp_path, shop, cells, column, reason
):
    path = csv_file(
        tmp_path,
        f"""
        customer_ref,order_date,amount,quantity
        C1,2026-01-15,10,1
        {cells}
        """,
    )

    message, err = run_failing("import_orders", path)

    assert f"line 3, {column}: " in err
    assert reason in err
    assert "line 2" not in err
    assert "Nothing was imported: 1 rows have errors" in message
    assert not Order.objects.exists()


def test_zero_amount_order_is_refused(tmp_path, shop):
    path = csv_file(tmp_path, "customer_ref,order_date,amount,quantity\nC1,2026-01-15,0,1\n")

    _message, err = run_failing("import_orders", path)

    assert "line 2, amount: The amount must be greater than zero." in err
    assert not Order.objects.exists()


def test_line_numbers_count_blank_lines_and_the_header(tmp_path, shop):
    path = csv_file(
        tmp_path,
        "customer_ref,order_date,amount,quantity\nC1,2026-01-15,10,1\n\n\nC1,2026-13-01,10,1\n",
    )

    _message, err = run_failing("import_orders", path)

    assert "line 5, order_date" in err


def test_file_with_one_bad_row_imports_nothing_and_writes_rejects(tmp_path, shop):
    path = csv_file(
        tmp_path,
        """
        customer_ref,order_ref,order_date,amount,quantity
        C1,O-1,2026-01-15,10,1
        C1,O-2,2026-01-16,abc,1
        C1,O-3,2026-01-17,10,1
        """,
        name="orders.csv",
    )

    run_failing("import_orders", path)

    assert not Order.objects.exists()
    rejects = read_rejects(tmp_path / "orders.csv.rejects.csv")
    assert [(row["order_ref"], row["line"], row["column"]) for row in rejects] == [
        ("O-2", "3", "amount")
    ]


def test_skip_invalid_imports_good_rows_and_writes_rejects_with_reasons(tmp_path, shop):
    path = csv_file(
        tmp_path,
        """
        customer_ref,order_ref,order_date,amount,quantity
        C1,O-1,2026-01-15,10,1
        C1,O-2,2026-01-32,-1,1
        GHOST,O-3,2026-01-17,10,1
        C1,O-4,2026-01-18,10,1
        """,
    )
    rejects_path = tmp_path / "rejected.csv"

    out, err = run("import_orders", path, "--skip-invalid", "--rejects", str(rejects_path))

    assert "4 rows read: 2 new, 0 already recorded, 2 rows rejected" in out
    assert set(Order.objects.values_list("external_ref", flat=True)) == {"O-1", "O-4"}
    rejects = read_rejects(rejects_path)
    assert [row["order_ref"] for row in rejects] == ["O-2", "O-3"]
    assert rejects[0]["customer_ref"] == "C1"
    assert rejects[0]["line"] == "3"
    assert rejects[0]["column"] == "order_date; amount"
    assert "is not a date" in rejects[0]["reason"]
    assert "cannot be negative" in rejects[0]["reason"]
    assert rejects[1]["column"] == "customer_ref"
    assert f"Every rejected row is in {rejects_path}" in err


def test_printed_errors_are_capped_but_rejects_file_has_them_all(tmp_path, shop):
    rows = "".join(f"C1,2026-01-{day:02d},x,1\n" for day in range(1, 29)) * 3
    path = csv_file(tmp_path, "customer_ref,order_date,amount,quantity\n" + rows)

    _message, err = run_failing("import_orders", path)

    assert err.count("is not an amount") == 50
    assert "… and 34 more." in err
    assert len(read_rejects(tmp_path / "data.csv.rejects.csv")) == 84


def test_missing_required_column_is_one_clear_file_error(tmp_path, shop):
    path = csv_file(tmp_path, "customer_ref,order_date,quantity\nC1,2026-01-15,1\n")

    message, err = run_failing("import_orders", path)

    assert "lacks the required columns amount" in message
    assert err == ""


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("orders.txt", b"customer_ref\n", "Only .csv and .xlsx files can be imported."),
        ("empty.csv", b"", "The file is empty."),
        ("header.csv", b"customer_ref,order_date,amount,quantity\n", "no rows to import"),
        ("gbk.csv", "customer_ref,name\nC9,上海\n".encode("gbk"), "not UTF-8"),
        ("broken.xlsx", b"not a zip file", "not a readable Excel"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)

    message, _err = run_failing("import_orders", path)

    assert reason in message


def test_reimporting_orders_with_refs_creates_no_duplicates(tmp_path, shop):
    path = csv_file(
        tmp_path,
        """
        customer_ref,order_ref,order_date,amount,quantity
        C1,O-1,2026-01-15,10,1
        C1,O-2,2026-01-16,20,2
        """,
    )
    run("import_orders", path)

    out, _err = run("import_orders", path)

    assert "2 rows read: 0 new, 2 already recorded" in out
    assert Order.objects.count() == 2


def test_reimporting_orders_without_refs_creates_no_duplicates(tmp_path, shop):
    path = csv_file(
        tmp_path,
        """
        customer_ref,order_date,amount,quantity
        C1,2026-01-15,10,1
        C1,2026-01-15,10,1
        C1,2026-01-16,10,1
        """,
    )
    run("import_orders", path)
    refs = set(Order.objects.values_list("external_ref", flat=True))

    out, _err = run("import_orders", path)

    assert "3 rows read: 0 new, 3 already recorded" in out
    assert Order.objects.count() == 3
    assert set(Order.objects.values_list("external_ref", flat=True)) == refs
    assert all(ref.startswith("auto-") and len(ref) == 29 for ref in refs)


def test_derived_order_refs_ignore_how_the_amount_is_written(tmp_path, shop):
    first = csv_file(tmp_path, "customer_ref,order_date,amount,quantity\nC1,2026-01-15,10,1\n")
    second = csv_file(
        tmp_path, "customer_ref,order_date,amount,quantity\nC1,2026-01-15,10.00,+1\n", "b.csv"
    )
    run("import_orders", first)

    out, _err = run("import_orders", second)

    assert "0 new, 1 already recorded" in out


def test_order_ref_repeated_with_other_data_is_rejected_but_identical_repeat_is_not(tmp_path, shop):
    path = csv_file(
        tmp_path,
        """
        customer_ref,order_ref,order_date,amount,quantity
        C1,O-1,2026-01-15,10,1
        C1,O-1,2026-01-15,10.00,1
        C1,O-1,2026-01-15,11,1
        """,
    )

    _message, err = run_failing("import_orders", path)

    assert "line 4, order_ref: The same order_ref is already on line 2 with different data." in err
    assert "line 3" not in err


def test_unknown_customer_is_created_with_create_missing_customers(tmp_path, shop):
    path = csv_file(
        tmp_path,
        """
        customer_ref,order_date,amount,quantity
        NEW-1,2026-01-15,10,1
        NEW-1,2026-01-16,10,1
        C1,2026-01-17,10,1
        """,
    )

    out, _err = run("import_orders", path, "--create-missing-customers")

    created = Customer.objects.get(external_ref="NEW-1")
    assert created.name == "NEW-1"
    assert created.orders.count() == 2
    assert shop.orders.count() == 1
    assert "1 customers created for unknown references" in out
    assert created.history.get().history_type == "+"


def test_create_missing_customers_skips_customers_of_rejected_rows(tmp_path, shop):
    path = csv_file(
        tmp_path,
        """
        customer_ref,order_date,amount,quantity
        NEW-1,2026-01-15,oops,1
        NEW-2,2026-01-16,10,1
        """,
    )

    run("import_orders", path, "--create-missing-customers", "--skip-invalid")

    assert set(Customer.objects.values_list("external_ref", flat=True)) == {"C1", "NEW-2"}


def test_orders_recorded_is_sent_with_the_new_order_ids_after_commit(
    tmp_path, shop, capture_orders_recorded, django_capture_on_commit_callbacks
):
    OrderFactory(customer=shop, external_ref="O-OLD")
    path = csv_file(
        tmp_path,
        """
        customer_ref,order_ref,order_date,amount,quantity
        C1,O-OLD,2026-01-15,1000,10
        C1,O-NEW,2026-01-16,20,2
        C1,,2026-01-17,30,3
        """,
    )

    with django_capture_on_commit_callbacks(execute=True):
        run("import_orders", path)

    new_ids = set(Order.objects.exclude(external_ref="O-OLD").values_list("id", flat=True))
    assert len(capture_orders_recorded) == 1
    assert set(capture_orders_recorded[0]) == new_ids


def test_reimport_announces_no_orders(
    tmp_path, shop, capture_orders_recorded, django_capture_on_commit_callbacks
):
    path = csv_file(tmp_path, "customer_ref,order_date,amount,quantity\nC1,2026-01-15,10,1\n")
    run("import_orders", path)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run("import_orders", path)

    assert callbacks == []
    assert capture_orders_recorded == []


def test_failed_import_announces_nothing(
    tmp_path, shop, capture_orders_recorded, django_capture_on_commit_callbacks
):
    path = csv_file(
        tmp_path, "customer_ref,order_date,amount,quantity\nC1,2026-01-15,10,1\nC1,x,1,1\n"
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run_failing("import_orders", path)

    assert callbacks == []


# Invoices and payments ---------------------------------------------------------------------


def test_invoices_are_imported_and_balances_refreshed(tmp_path, shop):
    # An invoice issued in the future is recorded but owes nothing yet.
    issued = dt.date.today() + dt.timedelta(days=365)
    due = issued + dt.timedelta(days=30)
    path = csv_file(
        tmp_path,
        f"""
        customer_ref,invoice_ref,issue_date,due_date,amount
        C1,INV-1,2020-01-01,2020-01-31,1000
        C1,INV-2,{issued},{due},500
        """,
    )

    run("import_invoices", path)

    shop.refresh_from_db()
    assert Invoice.objects.filter(customer=shop).count() == 2
    assert shop.outstanding_amount == Decimal("1000.00")
    assert shop.overdue_amount == Decimal("1000.00")


@pytest.mark.parametrize(
    ("cells", "column", "reason"),
    [
        ("C1,INV-2,2026-02-01,2026-01-31,10", "due_date", "The due date is before the issue date."),
        ("C1,INV-2,2026-01-01,2026-01-31,0", "amount", "The amount must be greater than zero."),
        ("C1,INV-2,2026-01-01,2026-01-31,-3", "amount", "The amount must be greater than zero."),
        ("C1,INV-OTHER,2026-01-01,2026-01-31,10", "invoice_ref", "belongs to customer “C2”"),
        ("C3,INV-2,2026-01-01,2026-01-31,10", "customer_ref", "No customer with reference “C3”"),
        ("C1,INV-1,2026-01-01,2026-01-31,99", "invoice_ref", "already on line 2"),
    ],
)
def test_each_bad_invoice_row_is_reported(tmp_path, shop, cells, column, reason):
    InvoiceFactory(customer=CustomerFactory(external_ref="C2"), external_ref="INV-OTHER")
    path = csv_file(
        tmp_path,
        f"""
        customer_ref,invoice_ref,issue_date,due_date,amount
        C1,INV-1,2026-01-01,2026-01-31,10
        {cells}
        """,
    )

    _message, err = run_failing("import_invoices", path)

    assert f"line 3, {column}: " in err
    assert reason in err
    assert not Invoice.objects.filter(customer=shop).exists()


def test_reimporting_invoices_skips_recorded_ones(tmp_path, shop):
    path = csv_file(
        tmp_path,
        "customer_ref,invoice_ref,issue_date,due_date,amount\nC1,INV-1,2026-01-01,2026-01-31,10\n",
    )
    run("import_invoices", path)

    out, _err = run("import_invoices", path)

    assert "0 new, 1 already recorded" in out
    assert Invoice.objects.count() == 1


@pytest.fixture
def open_invoice(shop):
    """An invoice of 1000 that fell due long ago: all of it outstanding and overdue."""
    invoice = InvoiceFactory(
        customer=shop,
        external_ref="INV-1",
        issue_date=dt.date(2020, 1, 1),
        due_date=dt.date(2020, 1, 31),
        amount=Decimal("1000.00"),
    )
    Customer.objects.filter(pk=shop.pk).update(
        outstanding_amount=Decimal("1000.00"), overdue_amount=Decimal("1000.00")
    )
    return invoice


def test_payments_are_recorded_and_refresh_outstanding_and_overdue(tmp_path, shop, open_invoice):
    path = csv_file(
        tmp_path,
        """
        customer_ref,invoice_ref,paid_date,amount
        C1,INV-1,2020-02-10,300
        C1,INV-1,2020-02-20,300
        """,
    )

    run("import_payments", path)

    shop.refresh_from_db()
    assert Payment.objects.filter(invoice=open_invoice, customer=shop).count() == 2
    assert shop.outstanding_amount == Decimal("400.00")
    assert shop.overdue_amount == Decimal("400.00")


def test_paying_the_rest_clears_the_overdue_amount(tmp_path, shop, open_invoice):
    path = csv_file(
        tmp_path, "customer_ref,invoice_ref,paid_date,amount\nC1,INV-1,2020-02-10,1000\n"
    )

    run("import_payments", path)

    shop.refresh_from_db()
    assert (shop.outstanding_amount, shop.overdue_amount) == (Decimal("0"), Decimal("0"))


def test_reimporting_payments_creates_no_duplicates_but_keeps_identical_lines(
    tmp_path, shop, open_invoice
):
    path = csv_file(
        tmp_path,
        """
        customer_ref,invoice_ref,paid_date,amount
        C1,INV-1,2020-02-10,100
        C1,INV-1,2020-02-10,100
        """,
    )
    run("import_payments", path)

    out, _err = run("import_payments", path)

    assert "2 rows read: 0 new, 2 already recorded" in out
    assert Payment.objects.count() == 2


@pytest.mark.parametrize(
    ("cells", "column", "reason"),
    [
        ("C1,INV-9,2020-02-10,10", "invoice_ref", "No invoice with reference “INV-9” exists"),
        ("C2,INV-1,2020-02-10,10", "customer_ref", "Invoice “INV-1” belongs to customer “C1”"),
        ("C1,INV-1,2020-02-10,0", "amount", "greater than zero"),
        ("C1,INV-1,10.02.2020,10", "paid_date", "is not a date"),
    ],
)
def test_each_bad_payment_row_is_reported(tmp_path, shop, open_invoice, cells, column, reason):
    CustomerFactory(external_ref="C2")
    path = csv_file(tmp_path, f"customer_ref,invoice_ref,paid_date,amount\n{cells}\n")

    _message, err = run_failing("import_payments", path)

    assert f"line 2, {column}: " in err
    assert reason in err
    assert not Payment.objects.exists()


# Customers ---------------------------------------------------------------------------------


def test_customers_are_created_with_every_field(tmp_path):
    owner = UserFactory(username="wang")
    team = TeamFactory(name="华东一组")
    path = csv_file(
        tmp_path,
        """
        customer_ref,name,kind,channel_role,terminal_type,region,address,phone,email,source,owner,team,tags,notes
        D1,上海总经销,company,general_distributor,,上海,浦东大道1号,021-1234,d1@example.com,referral,wang,华东一组,重点; VIP,
        T1,锦江酒店,company,terminal,hotel,上海,,13800000000,,,wang,,VIP|连锁,老客户
        """,
    )

    out, _err = run("import_customers", path)

    assert "2 rows read: 2 customers created, 0 updated" in out
    distributor = Customer.objects.get(external_ref="D1")
    assert distributor.channel_role == "general_distributor"
    assert (distributor.owner, distributor.team, distributor.email) == (
        owner,
        team,
        "d1@example.com",
    )
    assert set(distributor.tags.values_list("name", flat=True)) == {"重点", "VIP"}
    hotel = Customer.objects.get(external_ref="T1")
    assert (hotel.terminal_type, hotel.notes, hotel.team) == ("hotel", "老客户", None)
    assert set(hotel.tags.values_list("name", flat=True)) == {"VIP", "连锁"}
    assert hotel.history.get().history_type == "+"


def test_reimporting_customers_updates_given_fields_and_keeps_blank_ones(tmp_path):
    customer = CustomerFactory(external_ref="C1", name="旧名", region="北京", phone="010-1")
    path = csv_file(tmp_path, "customer_ref,name,region,phone\nC1,新名,上海,\n")

    out, _err = run("import_customers", path)
    run("import_customers", path)

    customer.refresh_from_db()
    assert "1 rows read: 0 customers created, 1 updated" in out
    assert (customer.name, customer.region, customer.phone) == ("新名", "上海", "010-1")
    assert Customer.objects.count() == 1
    assert customer.history.filter(history_type="~").count() == 2


def test_parent_may_be_defined_later_in_the_same_file(tmp_path):
    path = csv_file(
        tmp_path,
        """
        customer_ref,name,channel_role,parent_ref
        W1,批发部,wholesaler,D1
        T1,便利店,terminal,W1
        D1,总经销,general_distributor,
        """,
    )

    run("import_customers", path)

    terminal = Customer.objects.get(external_ref="T1")
    assert terminal.parent.external_ref == "W1"
    assert terminal.parent.parent.external_ref == "D1"


def test_parent_in_the_database_is_linked(tmp_path):
    distributor = CustomerFactory(external_ref="D1")
    path = csv_file(tmp_path, "customer_ref,name,parent_ref\nW1,批发部,D1\n")

    run("import_customers", path)

    assert Customer.objects.get(external_ref="W1").parent == distributor


@pytest.mark.parametrize(
    ("cells", "column", "reason"),
    [
        (
            "C2,客户,boss,,,,",
            "kind",
            "“boss” is not allowed here; use one of: individual, company.",
        ),
        (
            "C2,客户,,retailer,,,",
            "channel_role",
            "general_distributor, wholesaler, terminal, consumer",
        ),
        ("C2,客户,,,nobody,,", "owner", "No user has the username “nobody”."),
        ("C2,客户,,,,西南组,", "team", "No team is named “西南组”."),
        ("C2,客户,,,,,GHOST", "parent_ref", "No customer with reference “GHOST” exists"),
        ("C2,客户,,,,,C2", "parent_ref", "cannot be supplied by itself"),
        (",客户,,,,,", "customer_ref", "This value is required."),
        ("C2,,,,,,", "name", "This value is required."),
        ("C1,另一个名字,,,,,", "customer_ref", "already on line 2 with different data"),
    ],
)
def test_each_bad_customer_row_is_reported(tmp_path, cells, column, reason):
    path = csv_file(
        tmp_path,
        f"""
        customer_ref,name,kind,channel_role,owner,team,parent_ref
        C1,客户一,,,,,
        {cells}
        """,
    )

    _message, err = run_failing("import_customers", path)

    assert f"line 3, {column}: " in err
    assert reason in err
    assert not Customer.objects.exists()


def test_child_of_a_rejected_parent_is_rejected_too(tmp_path):
    path = csv_file(
        tmp_path,
        """
        customer_ref,name,kind,parent_ref
        T1,终端,company,W1
        W1,批发部,bad,D1
        D1,总经销,company,
        """,
    )

    _message, err = run("import_customers", path, "--skip-invalid")

    assert "line 2, parent_ref: The supplying customer “W1” has errors in this file." in err
    assert "line 3, kind" in err
    assert list(Customer.objects.values_list("external_ref", flat=True)) == ["D1"]


def test_timestamps_of_imported_customers_are_now(tmp_path):
    before = timezone.now()
    path = csv_file(tmp_path, "customer_ref,name\nC1,客户\n")

    run("import_customers", path)

    assert Customer.objects.get().created_at >= before


# Control characters and out-of-range values are line errors, never a database error.


def test_nul_byte_in_a_customer_name_is_a_line_error(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes("customer_ref,name\nC1,锦江\x00酒店\nC2,联华超市\n".encode())

    message, err = run_failing("import_customers", path)

    assert "line 2, name: Contains a control character (U+0000)" in err
    assert "Nothing was imported: 1 rows have errors" in message
    assert not Customer.objects.exists()

    run("import_customers", path, "--skip-invalid")
    assert list(Customer.objects.values_list("external_ref", flat=True)) == ["C2"]


@pytest.mark.parametrize(
    ("header", "cells", "column"),
    [
        (
            "customer_ref,order_ref,order_date,amount,quantity",
            "C1,O-\x1b1,2026-01-15,10,1",
            "order_ref",
        ),
        (
            "customer_ref,order_date,amount,quantity,category",
            "C1,2026-01-15,10,1,饮\x7f料",
            "category",
        ),
    ],
)
def test_control_characters_in_order_text_are_line_errors(tmp_path, shop, header, cells, column):
    path = tmp_path / "control.csv"
    path.write_bytes(f"{header}\n{cells}\n".encode())

    _message, err = run_failing("import_orders", path)

    assert f"line 2, {column}: Contains a control character" in err
    assert not Order.objects.exists()


def test_nul_byte_in_a_new_customer_reference_of_an_order_is_a_line_error(tmp_path, shop):
    path = tmp_path / "orders.csv"
    path.write_bytes(b"customer_ref,order_date,amount,quantity\nN\x00EW,2026-01-15,10,1\n")

    _message, err = run_failing("import_orders", path, "--create-missing-customers")

    assert "line 2, customer_ref: Contains a control character (U+0000)" in err
    assert Customer.objects.count() == 1 and not Order.objects.exists()


def test_notes_may_hold_line_breaks_and_tabs(tmp_path):
    path = csv_file(tmp_path, 'customer_ref,name,notes\nC1,锦江酒店,"第一行\n第二行\t备注"\n')

    run("import_customers", path)

    assert Customer.objects.get().notes == "第一行\n第二行\t备注"


@pytest.mark.parametrize(
    ("command", "header", "cells", "column"),
    [
        (
            "import_invoices",
            "customer_ref,invoice_ref,issue_date,due_date,amount",
            "C1,INV-9,1999-12-31,2026-01-31,10",
            "issue_date",
        ),
        (
            "import_invoices",
            "customer_ref,invoice_ref,issue_date,due_date,amount",
            "C1,INV-9,2026-01-01,9999-12-31,10",
            "due_date",
        ),
        (
            "import_payments",
            "customer_ref,invoice_ref,paid_date,amount",
            "C1,INV-1,0001-01-01,10",
            "paid_date",
        ),
        (
            "import_invoices",
            "customer_ref,invoice_ref,issue_date,due_date,amount",
            "C1,INV-\x009,2026-01-01,2026-01-31,10",
            "invoice_ref",
        ),
    ],
)
def test_invoice_and_payment_dates_out_of_range_are_line_errors(
    tmp_path, shop, command, header, cells, column
):
    InvoiceFactory(customer=shop, external_ref="INV-1")
    path = tmp_path / "rows.csv"
    path.write_bytes(f"{header}\n{cells}\n".encode())

    _message, err = run_failing(command, path)

    assert f"line 2, {column}: " in err
    assert (Invoice.objects.count(), Payment.objects.count()) == (1, 0)
