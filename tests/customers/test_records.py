"""One write path for goods and money: services, the admin and imports keep balances
right and send the core's signals once, after commit, with the ids."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import transaction
from django.urls import reverse

from customers import records, signals
from customers.models import Customer, Invoice, Order, Payment
from tests.customers.test_imports import csv_file, run
from tests.factories import CustomerFactory, InvoiceFactory, OrderFactory, PaymentFactory

pytestmark = pytest.mark.django_db

SIGNALS = [
    "orders_recorded",
    "orders_changed",
    "orders_cancelled",
    "orders_deleted",
    "invoices_recorded",
    "invoices_changed",
    "invoices_deleted",
    "payments_recorded",
    "payments_changed",
    "payments_deleted",
]
PAST_DUE = {"issue_date": dt.date(2026, 1, 1), "due_date": dt.date(2026, 1, 31)}


@pytest.fixture
def sent():
    """Every core signal received: (name, sender, kwargs) in order."""
    received = []
    receivers = []
    for name in SIGNALS:

        def receiver(sender, signal_name=name, **kwargs):
            kwargs.pop("signal")
            received.append((signal_name, sender, kwargs))

        getattr(signals, name).connect(receiver, weak=False)
        receivers.append((name, receiver))
    yield received
    for name, receiver in receivers:
        getattr(signals, name).disconnect(receiver)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run the block's on-commit callbacks as a commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def balances(customer):
    customer.refresh_from_db()
    return customer.outstanding_amount, customer.overdue_amount


class TestOrderServices:
    def test_recorded_order_is_announced_once_after_commit(self, sent, cast, committed):
        with committed() as callbacks:
            order = records.order_record(
                order=Order(
                    customer=cast.rep_customer,
                    order_date=dt.date(2026, 3, 1),
                    amount=Decimal("880.00"),
                    quantity=4,
                )
            )
            assert sent == []
        assert len(callbacks) == 1
        assert sent == [
            (
                "orders_recorded",
                Order,
                {"order_ids": [order.pk], "customer_ids": [cast.rep_customer.pk]},
            )
        ]
        assert order.external_ref.startswith("O-") and order.status == "recorded"

    def test_a_rolled_back_write_announces_nothing(self, sent, cast, committed):
        with committed(), transaction.atomic():
            records.order_record(order=OrderFactory.build(customer=cast.rep_customer))
            transaction.set_rollback(True)
        assert sent == [] and not Order.objects.exists()

    def test_changed_order_names_the_customers_before_and_after(self, sent, cast, committed):
        order = OrderFactory(customer=cast.rep_customer)
        order.customer = cast.teammate_customer
        order.amount = Decimal("1.50")
        with committed():
            records.order_change(order=order)
        customers = sorted([cast.rep_customer.pk, cast.teammate_customer.pk])
        assert sent == [
            ("orders_changed", Order, {"order_ids": [order.pk], "customer_ids": customers})
        ]

    def test_cancelled_orders_keep_who_when_why_and_are_announced_once(self, sent, cast, committed):
        first, second = OrderFactory.create_batch(2, customer=cast.rep_customer)
        with committed():
            cancelled = records.orders_cancel(
                orders=Order.objects.all(), reason="客户退货", by=cast.manager
            )
        with committed():
            again = records.orders_cancel(orders=Order.objects.all(), reason="再次", by=cast.admin)
        assert cancelled == sorted([first.pk, second.pk]) and again == []
        first.refresh_from_db()
        assert (first.status, first.cancelled_by, first.cancel_reason) == (
            "cancelled",
            cast.manager,
            "客户退货",
        )
        assert first.cancelled_at is not None
        assert sent == [
            (
                "orders_cancelled",
                Order,
                {"order_ids": cancelled, "customer_ids": [cast.rep_customer.pk]},
            )
        ]

    def test_a_cancelled_order_is_not_changed(self, cast):
        order = records.order_cancel(
            order=OrderFactory(customer=cast.rep_customer), reason="录错", by=cast.rep
        )
        order.amount = Decimal("5.00")
        with pytest.raises(ValueError):
            records.order_change(order=order)

    def test_deleted_orders_are_announced_with_their_ids(self, sent, cast, committed):
        orders = OrderFactory.create_batch(3, customer=cast.rep_customer)
        with committed():
            assert records.orders_delete(orders=Order.objects.filter(pk__lt=orders[2].pk)) == 2
        assert sent == [
            (
                "orders_deleted",
                Order,
                {
                    "order_ids": [orders[0].pk, orders[1].pk],
                    "customer_ids": [cast.rep_customer.pk],
                },
            )
        ]
        assert list(Order.objects.values_list("pk", flat=True)) == [orders[2].pk]


class TestMoneyServices:
    def test_recorded_invoice_refreshes_the_balances_and_is_announced(self, sent, cast, committed):
        customer = cast.rep_customer
        with committed():
            invoice = records.invoice_record(
                invoice=InvoiceFactory.build(customer=customer, amount=Decimal("700"), **PAST_DUE)
            )
        assert balances(customer) == (Decimal("700.00"), Decimal("700.00"))
        assert sent == [
            (
                "invoices_recorded",
                Invoice,
                {"invoice_ids": [invoice.pk], "customer_ids": [customer.pk]},
            )
        ]

    def test_payment_is_the_invoices_customers_and_settles_the_balance(self, sent, cast, committed):
        customer = cast.rep_customer
        invoice = records.invoice_record(
            invoice=InvoiceFactory.build(customer=customer, amount=Decimal("700"), **PAST_DUE)
        )
        with committed():
            payment = records.payment_record(
                payment=Payment(
                    invoice=invoice,
                    customer=cast.outsider_customer,  # ignored: the invoice's customer pays
                    paid_date=dt.date(2026, 2, 3),
                    amount=Decimal("300"),
                )
            )
        assert payment.customer == customer and payment.external_ref.startswith("P-")
        assert balances(customer) == (Decimal("400.00"), Decimal("400.00"))
        assert sent == [
            (
                "payments_recorded",
                Payment,
                {"payment_ids": [payment.pk], "customer_ids": [customer.pk]},
            )
        ]
        payment.amount = Decimal("700")
        with committed():
            records.payment_change(payment=payment)
        assert balances(customer) == (Decimal("0.00"), Decimal("0.00"))
        with committed():
            records.payment_delete(payment=payment)
        assert balances(customer) == (Decimal("700.00"), Decimal("700.00"))
        assert [name for name, _sender, _kwargs in sent] == [
            "payments_recorded",
            "payments_changed",
            "payments_deleted",
        ]

    def test_invoice_moved_to_another_customer_takes_its_payments_and_balances(
        self, sent, cast, committed
    ):
        before, after = cast.rep_customer, cast.teammate_customer
        invoice = InvoiceFactory(customer=before, amount=Decimal("1000"), **PAST_DUE)
        payment = PaymentFactory(invoice=invoice, amount=Decimal("250"))
        records.balances_refresh(customer_ids=[before.pk])
        invoice.customer = after
        with committed():
            records.invoice_change(invoice=invoice)
        payment.refresh_from_db()
        assert payment.customer == after
        assert balances(before) == (Decimal("0.00"), Decimal("0.00"))
        assert balances(after) == (Decimal("750.00"), Decimal("750.00"))
        assert sent == [
            (
                "invoices_changed",
                Invoice,
                {"invoice_ids": [invoice.pk], "customer_ids": sorted([before.pk, after.pk])},
            )
        ]

    def test_deleting_an_invoice_announces_its_payments_then_it(self, sent, cast, committed):
        customer = cast.rep_customer
        invoice = InvoiceFactory(customer=customer, amount=Decimal("1000"), **PAST_DUE)
        payment = PaymentFactory(invoice=invoice, amount=Decimal("250"))
        records.balances_refresh(customer_ids=[customer.pk])
        with committed():
            records.invoice_delete(invoice=invoice)
        assert balances(customer) == (Decimal("0.00"), Decimal("0.00"))
        assert sent == [
            (
                "payments_deleted",
                Payment,
                {"payment_ids": [payment.pk], "customer_ids": [customer.pk]},
            ),
            (
                "invoices_deleted",
                Invoice,
                {"invoice_ids": [invoice.pk], "customer_ids": [customer.pk]},
            ),
        ]


def _admin_post(client, name, args=(), data=None):
    return client.post(reverse(f"admin:customers_{name}", args=args), data or {})


def _action(client, model, action, objects, **data):
    return _admin_post(
        client,
        f"{model}_changelist",
        data={
            "action": action,
            admin.helpers.ACTION_CHECKBOX_NAME: [obj.pk for obj in objects],
            **data,
        },
    )


class TestAdminOrders:
    def test_added_order_is_announced_once_after_commit(self, sent, cast, client_for, committed):
        with committed():
            response = _admin_post(
                client_for(cast.admin),
                "order_add",
                data={
                    "customer": cast.rep_customer.pk,
                    "external_ref": "O-ADMIN-1",
                    "order_date": "2026-03-01",
                    "amount": "1200.00",
                    "quantity": "3",
                    "category": "饮料",
                },
            )
        assert response.status_code == 302
        order = Order.objects.get(external_ref="O-ADMIN-1")
        assert sent == [
            (
                "orders_recorded",
                Order,
                {"order_ids": [order.pk], "customer_ids": [cast.rep_customer.pk]},
            )
        ]

    def test_changed_and_deleted_orders_are_announced(self, sent, cast, client_for, committed):
        client = client_for(cast.admin)
        order = OrderFactory(customer=cast.rep_customer, external_ref="O-1")
        with committed():
            response = _admin_post(
                client,
                "order_change",
                args=[order.pk],
                data={
                    "customer": cast.rep_customer.pk,
                    "external_ref": "O-1",
                    "order_date": "2026-03-01",
                    "amount": "99.00",
                    "quantity": "1",
                },
            )
        assert response.status_code == 302
        with committed():
            _admin_post(client, "order_delete", args=[order.pk], data={"post": "yes"})
        ids = {"order_ids": [order.pk], "customer_ids": [cast.rep_customer.pk]}
        assert sent == [("orders_changed", Order, ids), ("orders_deleted", Order, ids)]
        assert not Order.objects.exists()

    def test_bulk_delete_is_one_announcement_with_every_id(self, sent, cast, client_for, committed):
        orders = OrderFactory.create_batch(3, customer=cast.rep_customer)
        with committed():
            _action(client_for(cast.admin), "order", "delete_selected", orders, post="yes")
        assert sent == [
            (
                "orders_deleted",
                Order,
                {
                    "order_ids": sorted(order.pk for order in orders),
                    "customer_ids": [cast.rep_customer.pk],
                },
            )
        ]

    def test_cancel_action_asks_for_a_reason_then_cancels_once(
        self, sent, cast, client_for, committed
    ):
        client = client_for(cast.admin)
        orders = OrderFactory.create_batch(2, customer=cast.rep_customer)
        page = _action(client, "order", "cancel_orders", orders)
        assert page.status_code == 200 and "Reason for the cancellation" in page.content.decode()
        refused = _action(client, "order", "cancel_orders", orders, apply="1", reason="")
        assert "This field is required" in refused.content.decode()
        assert not Order.objects.filter(status="cancelled").exists()
        with committed():
            _action(client, "order", "cancel_orders", orders, apply="1", reason="重复录入")
        assert set(Order.objects.values_list("status", "cancel_reason", "cancelled_by")) == {
            ("cancelled", "重复录入", cast.admin.pk)
        }
        assert [(name, kwargs["order_ids"]) for name, _sender, kwargs in sent] == [
            ("orders_cancelled", sorted(order.pk for order in orders))
        ]

    def test_a_cancelled_order_is_shown_but_not_edited(self, cast, client_for):
        client = client_for(cast.admin)
        order = records.order_cancel(
            order=OrderFactory(customer=cast.rep_customer, amount=Decimal("10.00")),
            reason="录错",
            by=cast.admin,
        )
        page = client.get(reverse("admin:customers_order_change", args=[order.pk]))
        assert page.status_code == 200 and "录错" in page.content.decode()
        response = _admin_post(
            client,
            "order_change",
            args=[order.pk],
            data={
                "customer": cast.rep_customer.pk,
                "external_ref": order.external_ref,
                "order_date": "2026-03-01",
                "amount": "99.00",
                "quantity": "1",
            },
        )
        assert response.status_code == 403
        order.refresh_from_db()
        assert order.amount == Decimal("10.00")


class TestAdminMoney:
    def test_invoice_added_with_payments_refreshes_and_announces_both(
        self, sent, cast, client_for, committed
    ):
        customer = cast.rep_customer
        with committed():
            response = _admin_post(
                client_for(cast.admin),
                "invoice_add",
                data={
                    "customer": customer.pk,
                    "external_ref": "INV-A",
                    "issue_date": "2026-01-01",
                    "due_date": "2026-01-31",
                    "amount": "1000.00",
                    "payments-TOTAL_FORMS": "1",
                    "payments-INITIAL_FORMS": "0",
                    "payments-0-external_ref": "PAY-A",
                    "payments-0-paid_date": "2026-01-20",
                    "payments-0-amount": "400.00",
                },
            )
        assert response.status_code == 302
        invoice, payment = Invoice.objects.get(), Payment.objects.get()
        assert payment.customer == customer
        assert balances(customer) == (Decimal("600.00"), Decimal("600.00"))
        assert sent == [
            (
                "invoices_recorded",
                Invoice,
                {"invoice_ids": [invoice.pk], "customer_ids": [customer.pk]},
            ),
            (
                "payments_recorded",
                Payment,
                {"payment_ids": [payment.pk], "customer_ids": [customer.pk]},
            ),
        ]

    def test_payments_changed_and_deleted_on_the_invoices_page_go_through_the_services(
        self, sent, cast, client_for, committed
    ):
        customer = cast.rep_customer
        invoice = InvoiceFactory(customer=customer, amount=Decimal("1000"), **PAST_DUE)
        kept, dropped = PaymentFactory.create_batch(2, invoice=invoice, amount=Decimal("100"))
        records.balances_refresh(customer_ids=[customer.pk])
        rows = {
            "customer": customer.pk,
            "external_ref": invoice.external_ref,
            "issue_date": "2026-01-01",
            "due_date": "2026-01-31",
            "amount": "1000.00",
            "payments-TOTAL_FORMS": "2",
            "payments-INITIAL_FORMS": "2",
        }
        for index, payment in enumerate([kept, dropped]):
            rows |= {
                f"payments-{index}-id": payment.pk,
                f"payments-{index}-invoice": invoice.pk,
                f"payments-{index}-external_ref": payment.external_ref,
                f"payments-{index}-paid_date": "2026-01-20",
                f"payments-{index}-amount": "100.00",
            }
        rows |= {"payments-0-amount": "600.00", "payments-1-DELETE": "on"}
        with committed():
            response = _admin_post(
                client_for(cast.admin), "invoice_change", args=[invoice.pk], data=rows
            )
        assert response.status_code == 302
        assert list(Payment.objects.values_list("pk", "amount")) == [(kept.pk, Decimal("600.00"))]
        assert balances(customer) == (Decimal("400.00"), Decimal("400.00"))
        assert [(name, kwargs) for name, _sender, kwargs in sent if name != "invoices_changed"] == [
            ("payments_deleted", {"payment_ids": [dropped.pk], "customer_ids": [customer.pk]}),
            ("payments_changed", {"payment_ids": [kept.pk], "customer_ids": [customer.pk]}),
        ]

    def test_payment_added_and_deleted_in_the_admin_moves_the_balance(
        self, sent, cast, client_for, committed
    ):
        customer = cast.rep_customer
        invoice = records.invoice_record(
            invoice=InvoiceFactory.build(customer=customer, amount=Decimal("500"), **PAST_DUE)
        )
        client = client_for(cast.admin)
        with committed():
            response = _admin_post(
                client,
                "payment_add",
                data={
                    "invoice": invoice.pk,
                    "external_ref": "PAY-B",
                    "paid_date": "2026-02-01",
                    "amount": "500.00",
                },
            )
        assert response.status_code == 302
        payment = Payment.objects.get()
        assert payment.customer == customer
        assert balances(customer) == (Decimal("0.00"), Decimal("0.00"))
        with committed():
            _action(client, "payment", "delete_selected", [payment], post="yes")
        assert balances(customer) == (Decimal("500.00"), Decimal("500.00"))
        ids = {"payment_ids": [payment.pk], "customer_ids": [customer.pk]}
        assert sent == [("payments_recorded", Payment, ids), ("payments_deleted", Payment, ids)]

    def test_invoice_deleted_in_the_admin_clears_the_balance(
        self, sent, cast, client_for, committed
    ):
        customer = cast.rep_customer
        invoice = records.invoice_record(
            invoice=InvoiceFactory.build(customer=customer, amount=Decimal("500"), **PAST_DUE)
        )
        with committed():
            _admin_post(
                client_for(cast.admin), "invoice_delete", args=[invoice.pk], data={"post": "yes"}
            )
        assert balances(customer) == (Decimal("0.00"), Decimal("0.00"))
        assert [name for name, _sender, _kwargs in sent] == ["invoices_deleted"]


class TestImports:
    def test_imported_invoices_and_payments_are_announced_and_refresh_balances(
        self, tmp_path, sent, committed
    ):
        customer = CustomerFactory(external_ref="C1")
        invoices = csv_file(
            tmp_path,
            """
            customer_ref,invoice_ref,issue_date,due_date,amount
            C1,INV-1,2026-01-01,2026-01-31,1000
            C1,INV-2,2026-01-05,2026-02-05,500
            """,
            "invoices.csv",
        )
        payments = csv_file(
            tmp_path,
            "customer_ref,invoice_ref,paid_date,amount\nC1,INV-1,2026-01-20,1000\n",
            "payments.csv",
        )
        with committed():
            run("import_invoices", invoices)
        assert balances(customer) == (Decimal("1500.00"), Decimal("1500.00"))
        with committed():
            run("import_payments", payments)
        assert balances(customer) == (Decimal("500.00"), Decimal("500.00"))
        assert sent == [
            (
                "invoices_recorded",
                Invoice,
                {
                    "invoice_ids": sorted(Invoice.objects.values_list("pk", flat=True)),
                    "customer_ids": [customer.pk],
                },
            ),
            (
                "payments_recorded",
                Payment,
                {
                    "payment_ids": [Payment.objects.get().pk],
                    "customer_ids": [customer.pk],
                },
            ),
        ]

    def test_imported_orders_are_announced_with_their_customers(self, tmp_path, sent, committed):
        first, second = CustomerFactory(external_ref="C1"), CustomerFactory(external_ref="C2")
        path = csv_file(
            tmp_path,
            "customer_ref,order_date,amount,quantity\nC1,2026-01-15,10,1\nC2,2026-01-16,20,2\n",
        )
        with committed():
            run("import_orders", path)
        assert sent == [
            (
                "orders_recorded",
                Order,
                {
                    "order_ids": sorted(Order.objects.values_list("pk", flat=True)),
                    "customer_ids": sorted([first.pk, second.pk]),
                },
            )
        ]
        assert set(Order.objects.values_list("status", flat=True)) == {"recorded"}


def test_customer_file_strikes_cancelled_orders_and_leaves_them_out_of_the_totals(cast, client_for):
    customer = cast.rep_customer
    OrderFactory(customer=customer, amount=Decimal("100.00"), order_date=dt.date(2026, 1, 5))
    records.order_cancel(
        order=OrderFactory(
            customer=customer,
            external_ref="O-CANCELLED",
            amount=Decimal("9000.00"),
            order_date=dt.date(2026, 2, 1),
        ),
        reason="录错",
        by=cast.rep,
    )
    page = client_for(cast.rep).get(reverse("customer-detail", args=[customer.pk]))
    content = page.content.decode()
    totals = next(
        panel["context"]["order_totals"]
        for panel in page.context["panels"]
        if panel["panel"].key == "orders"
    )
    assert (totals["count"], totals["total"], totals["last"], totals["cancelled"]) == (
        1,
        Decimal("100.00"),
        dt.date(2026, 1, 5),
        1,
    )
    assert '<tr class="text-muted order-cancelled">' in content
    assert "<del>O-CANCELLED</del>" in content
    assert Customer.objects.get(pk=customer.pk).outstanding_amount == 0
