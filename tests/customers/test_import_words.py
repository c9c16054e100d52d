"""Imports in the users' own words: Chinese headers, choice labels and typed date forms."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from customers.imports import headers
from customers.models import Customer, Invoice, Order, Payment
from tests.customers.test_imports import csv_file, run, run_failing, xlsx_file
from tests.factories import CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return CustomerFactory(external_ref="C1", name="上海锦江酒店")


def test_orders_with_chinese_headers_and_typed_dates_are_imported(tmp_path, shop):
    path = csv_file(
        tmp_path,
        """
        客户编号,下单日期,金额,数量,订单号,品类
        C1,2026/5/1,120.50,2,O-1,饮料
        C1,2026-6-5,80.00,1,O-2,
        C1,2026年7月3日,999.00,10,O-3,
        C1,20260704,1.00,1,O-4,
        C1,2026/11/21 0:00,2.00,1,O-5,
        """,
    )

    out, err = run("import_orders", path)

    assert "5 rows read: 5 new" in out, err
    dates = dict(Order.objects.values_list("external_ref", "order_date"))
    assert dates == {
        "O-1": dt.date(2026, 5, 1),
        "O-2": dt.date(2026, 6, 5),
        "O-3": dt.date(2026, 7, 3),
        "O-4": dt.date(2026, 7, 4),
        "O-5": dt.date(2026, 11, 21),
    }
    assert Order.objects.get(external_ref="O-1").category == "饮料"


def test_headers_are_compared_without_case_spaces_or_full_width(tmp_path, shop):
    path = csv_file(tmp_path, " 客户 编号 ,ORDER_DATE,金额,数量\nC1,2026-01-02,10,1\n")

    run("import_orders", path)

    assert Order.objects.get().amount == Decimal("10.00")


def test_impossible_typed_dates_are_line_errors_naming_the_file_header(tmp_path, shop):
    path = csv_file(
        tmp_path, "客户编号,下单日期,金额,数量\nC1,2026年2月30日,10,1\nC1,21/11/2026,10,1\n"
    )

    _message, err = run_failing("import_orders", path)

    assert "line 2, 下单日期: “2026年2月30日” is not a date" in err
    assert "line 3, 下单日期: “21/11/2026” is not a date" in err
    assert not Order.objects.exists()


def test_xlsx_with_chinese_headers_and_date_cells(tmp_path, shop):
    path = xlsx_file(
        tmp_path,
        [
            ["客户编号", "发票号", "开票日期", "到期日", "金额"],
            ["C1", "INV-1", dt.datetime(2026, 3, 1), "2026/4/1", 500],
        ],
    )

    run("import_invoices", path)

    invoice = Invoice.objects.get()
    assert (invoice.issue_date, invoice.due_date, invoice.amount) == (
        dt.date(2026, 3, 1),
        dt.date(2026, 4, 1),
        Decimal("500.00"),
    )


def test_payments_with_chinese_headers(tmp_path, shop):
    InvoiceFactory(
        customer=shop, external_ref="INV-1", amount=Decimal("100"), issue_date=dt.date(2026, 1, 1)
    )
    path = csv_file(tmp_path, "客户编号,发票号,付款日期,金额\nC1,INV-1,2026年2月1日,40\n")

    run("import_payments", path)

    assert Payment.objects.get().paid_date == dt.date(2026, 2, 1)


def test_customers_with_chinese_headers_and_choice_labels(tmp_path):
    path = csv_file(
        tmp_path,
        """
        客户编号,客户名称,类型,渠道角色,终端类型,供货方编号,来源
        D1,江南总经销,公司,总经销,,,转介绍
        W1,城东批发部,企业,批发商,,D1,Channel partner
        T1,锦绣大酒店,company,终端,酒店,W1,
        P1,张三,个人,最终消费者,,,
        """,
    )

    out, err = run("import_customers", path)

    assert "4 customers created" in out, err
    rows = {
        customer.external_ref: customer for customer in Customer.objects.select_related("parent")
    }
    assert (rows["D1"].kind, rows["D1"].channel_role, rows["D1"].source) == (
        "company",
        "general_distributor",
        "referral",
    )
    assert (rows["W1"].channel_role, rows["W1"].parent, rows["W1"].source) == (
        "wholesaler",
        rows["D1"],
        "partner",
    )
    assert (rows["T1"].terminal_type, rows["T1"].parent) == ("hotel", rows["W1"])
    assert (rows["P1"].kind, rows["P1"].channel_role) == ("individual", "consumer")


def test_unknown_choice_label_is_still_a_line_error(tmp_path):
    path = csv_file(tmp_path, "客户编号,客户名称,渠道角色\nC1,客户,零售商\n")

    _message, err = run_failing("import_customers", path)

    assert "line 2, 渠道角色: “零售商” is not allowed here" in err


@pytest.mark.parametrize(
    ("header_row", "header", "nearest"),
    [
        ("客户编号,下单日,金额,数量", "下单日", "下单日期 (order_date)"),
        ("客户编号,下单日期,amout,数量", "amout", "amount"),
        ("客户编码号,下单日期,金额,数量", "客户编码号", "客户编码 (customer_ref)"),
    ],
)
def test_unknown_header_is_refused_naming_the_nearest(tmp_path, shop, header_row, header, nearest):
    path = csv_file(tmp_path, f"{header_row}\nC1,2026-01-01,10,1\n")

    message, _err = run_failing("import_orders", path)

    assert f"“{header}” is not one this import knows; did you mean “{nearest}”?" in message
    assert not Order.objects.exists()


def test_header_far_from_any_column_lists_the_known_ones(tmp_path, shop):
    path = csv_file(tmp_path, "客户编号,下单日期,金额,数量,xyz\nC1,2026-01-01,10,1,a\n")

    message, _err = run_failing("import_orders", path)

    assert "“xyz” is not one this import knows" in message
    assert "customer_ref, order_date, amount, quantity, order_ref, category" in message
    assert not Order.objects.exists()


def test_two_headers_for_one_column_are_refused(tmp_path, shop):
    path = csv_file(tmp_path, "客户编号,customer_ref,下单日期,金额,数量\nC1,C1,2026-01-01,10,1\n")

    message, _err = run_failing("import_orders", path)

    assert "“客户编号” and “customer_ref” both mean customer_ref" in message


def test_unknown_header_is_refused_in_the_admin_preview(client, tmp_path, shop):
    from tests.factories import UserFactory

    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    path = csv_file(tmp_path, "客户编号,下单日,金额,数量\nC1,2026-01-01,10,1\n")

    with open(path, "rb") as upload:
        response = client.post("/admin/customers/order/import/", {"kind": "orders", "file": upload})

    assert response.status_code == 200
    assert "did you mean" in response.content.decode()
    assert not Order.objects.exists()


def test_choice_codes_include_both_languages_whatever_the_active_one():
    with translation.override("en"):
        codes = headers.choice_codes("channel_role")

    assert codes["总经销商"] == codes["generaldistributor"] == "general_distributor"
    assert codes["wholesaler"] == codes["批发商"] == "wholesaler"
