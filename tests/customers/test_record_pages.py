"""The whole history of a customer's orders, invoices and payments: paged by keyset,
filtered by dates (and status for orders), scoped like the file."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from customers import record_pages
from customers.models import Order
from tests.factories import InvoiceFactory, OrderFactory, PaymentFactory

pytestmark = pytest.mark.django_db

START = dt.date(2025, 1, 1)


def url(customer, kind, **params):
    from urllib.parse import urlencode

    base = reverse("customer-records", args=[customer.pk, kind])
    return f"{base}?{urlencode(params)}" if params else base


def orders_of(customer, count, *, per_day=3):
    """`count` orders, `per_day` on each day, so that pages split days (ties on the date)."""
    return [
        OrderFactory(customer=customer, order_date=START + dt.timedelta(days=n // per_day))
        for n in range(count)
    ]


def refs(page):
    return [row.external_ref for row in page.context["page"].rows]


def newest_first(orders):
    return [o.external_ref for o in sorted(orders, key=lambda o: (o.order_date, o.pk))[::-1]]


class TestPaging:
    def test_older_and_newer_walk_every_order_once_in_order(self, cast, client_for):
        customer = cast.rep_customer
        orders = orders_of(customer, 45)
        OrderFactory(customer=cast.teammate_customer)  # another customer's, never listed
        expected = newest_first(orders)
        client = client_for(cast.rep)

        first = client.get(url(customer, "orders"))
        assert refs(first) == expected[:20]
        assert first.context["page"].newer is None
        second = client.get(url(customer, "orders", older=first.context["page"].older))
        assert refs(second) == expected[20:40]
        third = client.get(url(customer, "orders", older=second.context["page"].older))
        assert refs(third) == expected[40:]
        assert third.context["page"].older is None
        assert 'rel="next"' not in third.content.decode()

        back = client.get(url(customer, "orders", newer=third.context["page"].newer))
        assert refs(back) == expected[20:40]
        top = client.get(url(customer, "orders", newer=back.context["page"].newer))
        assert refs(top) == expected[:20]
        assert top.context["page"].newer is None

    def test_the_cursor_is_the_date_and_id_of_the_last_row(self, cast, client_for):
        orders = orders_of(cast.rep_customer, 21)
        page = client_for(cast.rep).get(url(cast.rep_customer, "orders"))
        last = sorted(orders, key=lambda o: (o.order_date, o.pk))[1]
        assert page.context["page"].older == f"{last.order_date:%Y-%m-%d}.{last.pk}"
        assert f"older={page.context['page'].older}" in page.content.decode()

    @pytest.mark.parametrize(
        "cursor",
        [
            "junk",
            "2026-13-01.5",
            "2026-01-01.x",
            "2026-01-01.-3",
            "2026-01-01.99999999999999999999",
            "20260101.5",
        ],
    )
    def test_a_bad_cursor_shows_the_latest_with_a_message(self, cast, client_for, cursor):
        orders = orders_of(cast.rep_customer, 3)
        page = client_for(cast.rep).get(url(cast.rep_customer, "orders", older=cursor))
        assert page.status_code == 200
        assert refs(page) == newest_first(orders)
        assert "That page link is not valid" in page.content.decode()

    def test_a_newer_cursor_past_the_newest_shows_the_newest(self, cast, client_for):
        orders = orders_of(cast.rep_customer, 3)
        page = client_for(cast.rep).get(url(cast.rep_customer, "orders", newer="2099-01-01.1"))
        assert refs(page) == newest_first(orders)


class TestFilters:
    def test_date_range_and_status(self, cast, client_for):
        customer = cast.rep_customer
        orders = orders_of(customer, 9, per_day=1)  # 2025-01-01 .. 2025-01-09
        cancelled = orders[4]
        cancelled.status = Order.Status.CANCELLED
        cancelled.cancelled_at = timezone.now()
        cancelled.cancel_reason = "客户取消"
        cancelled.save()
        client = client_for(cast.rep)

        ranged = client.get(url(customer, "orders", start="2025-01-03", end="2025-01-06"))
        assert refs(ranged) == newest_first(orders[2:6])
        recorded = client.get(
            url(customer, "orders", start="2025-01-03", end="2025-01-06", status="recorded")
        )
        assert refs(recorded) == newest_first([orders[2], orders[3], orders[5]])
        only_cancelled = client.get(url(customer, "orders", status="cancelled"))
        assert refs(only_cancelled) == [cancelled.external_ref]

    def test_filters_are_kept_across_pages(self, cast, client_for):
        customer = cast.rep_customer
        orders = orders_of(customer, 30, per_day=1)
        client = client_for(cast.rep)
        first = client.get(url(customer, "orders", start="2025-01-05"))
        older = first.context["page"].older
        assert f"start=2025-01-05&amp;older={older}" in first.content.decode()
        second = client.get(url(customer, "orders", start="2025-01-05", older=older))
        assert refs(second) == newest_first(orders[4:])[20:]

    @pytest.mark.parametrize(
        ("params", "message"),
        [
            ({"start": "2025-02-30"}, "Enter a valid date."),
            ({"end": "yesterday"}, "Enter a valid date."),
            ({"start": "2025-03-01", "end": "2025-01-01"}, "The start date is after the end date."),
            ({"status": "lost"}, "Select a valid choice."),
        ],
    )
    def test_bad_filters_are_explained_not_a_500(self, cast, client_for, params, message):
        orders_of(cast.rep_customer, 2)
        page = client_for(cast.rep).get(url(cast.rep_customer, "orders", **params))
        assert page.status_code == 200
        content = page.content.decode()
        assert 'id="filter-errors"' in content and message in content
        assert page.context["page"] is None


class TestKinds:
    def test_invoices_by_due_date_with_paid_and_overdue(self, cast, client_for):
        customer = cast.rep_customer
        late = InvoiceFactory(
            customer=customer, issue_date=START, due_date=dt.date(2025, 3, 1), external_ref="I-1"
        )
        PaymentFactory(invoice=late, amount=400)
        InvoiceFactory(
            customer=customer, issue_date=START, due_date=dt.date(2025, 4, 1), external_ref="I-2"
        )
        InvoiceFactory(
            customer=customer, issue_date=START, due_date=dt.date(2025, 5, 1), external_ref="I-3"
        )
        page = client_for(cast.rep).get(
            url(customer, "invoices", start="2025-03-01", end="2025-04-30")
        )
        assert refs(page) == ["I-2", "I-1"]
        assert page.context["page"].rows[1].outstanding == 600
        assert "overdue" in page.content.decode()

    def test_payments_with_their_invoice(self, cast, client_for):
        customer = cast.rep_customer
        PaymentFactory(
            invoice__customer=customer,
            invoice__external_ref="I-9",
            invoice__issue_date=START,
            invoice__due_date=START,
            paid_date=dt.date(2025, 2, 2),
        )
        page = client_for(cast.rep).get(url(customer, "payments"))
        assert len(page.context["page"].rows) == 1 and "I-9" in page.content.decode()

    def test_an_unknown_kind_is_404(self, cast, client_for):
        assert client_for(cast.rep).get(url(cast.rep_customer, "contacts")).status_code == 404

    def test_the_file_links_to_the_whole_lists(self, cast, client_for):
        customer = cast.rep_customer
        PaymentFactory(invoice__customer=customer)
        OrderFactory(customer=customer)
        content = (
            client_for(cast.rep)
            .get(reverse("customer-detail", args=[customer.pk]))
            .content.decode()
        )
        for kind in ("orders", "invoices", "payments"):
            assert url(customer, kind) in content


class TestScope:
    @pytest.mark.parametrize("kind", ["orders", "invoices", "payments"])
    def test_a_rep_cannot_open_another_teams_lists(self, cast, client_for, kind):
        OrderFactory(customer=cast.outsider_customer)
        PaymentFactory(invoice__customer=cast.outsider_customer)
        client = client_for(cast.rep)
        assert client.get(url(cast.outsider_customer, kind)).status_code == 404
        assert client.get(url(cast.rep_customer, kind)).status_code == 200

    def test_the_manager_and_admin_can(self, cast, client_for):
        assert client_for(cast.manager).get(url(cast.rep_customer, "orders")).status_code == 200
        assert client_for(cast.admin).get(url(cast.outsider_customer, "orders")).status_code == 200


class TestQueryCounts:
    @pytest.mark.parametrize("kind", ["orders", "invoices", "payments"])
    def test_fixed_whatever_the_page(self, cast, client_for, django_assert_num_queries, kind):
        customer = cast.rep_customer
        for n in range(45):
            day = START + dt.timedelta(days=n)
            OrderFactory(customer=customer, order_date=day)
            PaymentFactory(
                invoice__customer=customer,
                invoice__issue_date=START,
                invoice__due_date=day,
                paid_date=day,
            )
        client = client_for(cast.rep)
        client.get(url(customer, kind))  # warm the session
        # session, user, the user's permissions and group permissions, the teams the user
        # manages (for the scope), the customer, the rows: one query for any page
        with django_assert_num_queries(7):
            first = client.get(url(customer, kind))
        with django_assert_num_queries(7):
            client.get(url(customer, kind, older=first.context["page"].older, start="2025-01-02"))


def test_parse_cursor_round_trips():
    kind = record_pages.KINDS["orders"]
    order = Order(pk=42, order_date=dt.date(2026, 1, 5))
    assert record_pages.parse_cursor(record_pages.make_cursor(order, kind)) == (
        dt.date(2026, 1, 5),
        42,
    )


def test_the_page_reads_in_chinese(cast, client_for, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    orders_of(cast.rep_customer, 21)
    content = client_for(cast.rep).get(url(cast.rep_customer, "orders")).content.decode()
    assert "上海锦江酒店的订单" in content and "较早" in content and "起始日期" in content
