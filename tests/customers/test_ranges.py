"""Sensible ranges: the database refuses values out of range, and the site's forms and
the admin say what is wrong in words instead of storing them or answering 500."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import DataError, IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from customers import pgtypes, ranges
from customers.models import (
    Complaint,
    CreditRules,
    Document,
    GradePolicy,
    Interaction,
    Invoice,
    Order,
    Payment,
)
from lifecycle.models import LifecycleSettings
from retention.models import RetentionSettings
from segmentation.models import SegmentationSettings
from tests.factories import (
    ComplaintFactory,
    CustomerFactory,
    InteractionFactory,
    InvoiceFactory,
    OrderFactory,
    PaymentFactory,
)

pytestmark = pytest.mark.django_db

DATE_ERROR = "Enter a date between 2000-01-01 and"


def latest_day():
    return ranges.latest_day(timezone.localdate())


class TestRanges:
    def test_latest_day_is_five_years_ahead_and_copes_with_leap_days(self):
        assert ranges.latest_day(dt.date(2026, 11, 28)) == dt.date(2031, 11, 28)
        assert ranges.latest_day(dt.date(2028, 2, 29)) == dt.date(2033, 2, 28)

    @pytest.mark.parametrize(
        ("value", "valid"),
        [
            (dt.date(1999, 12, 31), False),
            (dt.date(2000, 1, 1), True),
            (None, True),
            (dt.datetime(1, 1, 1, tzinfo=dt.UTC), False),
            (dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.UTC), False),
        ],
    )
    def test_business_dates_start_in_2000_and_end_five_years_ahead(self, value, valid):
        value = value or latest_day()
        validator = ranges.BusinessDateValidator()
        if valid:
            validator(value)
        else:
            with pytest.raises(ranges.ValidationError):
                validator(value)
        with pytest.raises(ranges.ValidationError):
            validator(latest_day() + dt.timedelta(days=1))
        ranges.BusinessDateValidator(far_ahead=True)(dt.date(2099, 12, 31))


def _refused_by_the_database(instance, **values):
    for name, value in values.items():
        setattr(instance, name, value)
    # PostgreSQL refuses an amount too large for numeric(14, 2) before the check.
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        instance.save()


@pytest.mark.parametrize(
    ("make", "values"),
    [
        (OrderFactory, {"amount": Decimal("-100")}),
        (OrderFactory, {"amount": Decimal("0")}),
        (OrderFactory, {"amount": Decimal("1000000000000")}),
        (OrderFactory, {"quantity": 0}),
        (OrderFactory, {"order_date": dt.date(1, 1, 1)}),
        (OrderFactory, {"order_date": dt.date(9999, 12, 31)}),
        (InvoiceFactory, {"amount": Decimal("-500")}),
        (InvoiceFactory, {"issue_date": dt.date(1999, 12, 1)}),
        (InvoiceFactory, {"due_date": dt.date(2100, 1, 1)}),
        (PaymentFactory, {"amount": Decimal("0")}),
        (PaymentFactory, {"paid_date": dt.date(1, 1, 1)}),
        (InteractionFactory, {"occurred_at": dt.datetime(1990, 1, 1, tzinfo=dt.UTC)}),
        (InteractionFactory, {"next_follow_up": dt.date(9999, 12, 31)}),
        (ComplaintFactory, {"satisfaction": 6}),
        (ComplaintFactory, {"received_at": dt.datetime(1970, 1, 1, tzinfo=dt.UTC)}),
        (CustomerFactory, {"outstanding_amount": Decimal("-1")}),
    ],
)
def test_the_database_refuses_values_out_of_range(make, values):
    _refused_by_the_database(make(), **values)


@pytest.mark.parametrize(
    ("model", "values"),
    [
        (GradePolicy, {"credit_limit": Decimal("-5")}),
        (GradePolicy, {"payment_terms_days": 400}),
        (CreditRules, {"window_days": 0}),
        (CreditRules, {"window_days": 1_000_000}),
        (CreditRules, {"c_late_count": 0}),
        (SegmentationSettings, {"window_days": 100_000}),
        (SegmentationSettings, {"snapshots_kept": 10_000}),
        (LifecycleSettings, {"lost_after_days": 0}),
        (LifecycleSettings, {"lost_after_intervals": 0.5}),
        (LifecycleSettings, {"mature_quarters": 9}),
        (RetentionSettings, {"snapshots_kept": 0}),
        (RetentionSettings, {"horizon_days": 400}),
        (RetentionSettings, {"horizon_days": 10}),
    ],
)
def test_the_database_refuses_settings_out_of_range(model, values):
    instance = model.objects.first() or model()
    _refused_by_the_database(instance, **values)


class TestSiteForms:
    def test_contact_log_entry_dated_year_one_is_refused_and_the_file_still_opens(
        self, cast, client_for
    ):
        client = client_for(cast.rep)
        customer = cast.rep_customer
        response = client.post(
            reverse("interaction-create", args=[customer.pk]),
            {"channel": "phone", "occurred_at": "0001-01-01T00:00", "summary": "回访"},
        )
        assert response.status_code == 200
        assert DATE_ERROR in str(response.context["form"].errors["occurred_at"])
        assert not Interaction.objects.exists()
        assert client.get(reverse("customer-detail", args=[customer.pk])).status_code == 200

    def test_follow_up_far_in_the_future_is_refused(self, cast, client_for):
        response = client_for(cast.rep).post(
            reverse("interaction-create", args=[cast.rep_customer.pk]),
            {
                "channel": "phone",
                "occurred_at": "2026-03-02T10:30",
                "summary": "回访",
                "next_follow_up": "9999-12-31",
            },
        )
        assert DATE_ERROR in str(response.context["form"].errors["next_follow_up"])
        assert not Interaction.objects.exists()

    def test_satisfaction_beyond_five_is_refused_in_words(self, cast, client_for):
        complaint = ComplaintFactory(customer=cast.rep_customer)
        response = client_for(cast.rep).post(
            reverse("complaint-update", args=[cast.rep_customer.pk, complaint.pk]),
            {"status": "resolved", "resolution": "已补发", "satisfaction": "6"},
        )
        assert response.status_code == 200
        assert "Satisfaction is rated from 1 to 5." in response.content.decode()
        complaint.refresh_from_db()
        assert complaint.status == Complaint.Status.OPEN

    def test_document_expiring_before_2000_is_refused(self, cast, client_for, private_media):
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile("licence.pdf", b"%PDF-1.4 test", "application/pdf")
        response = client_for(cast.rep).post(
            reverse("document-upload", args=[cast.rep_customer.pk]),
            {"doc_type": "business_licence", "file": upload, "expires_on": "1999-12-31"},
        )
        assert response.status_code == 200
        assert DATE_ERROR in str(response.context["form"].errors["expires_on"])
        assert not Document.objects.exists()


def _admin_add(client, model, data):
    return client.post(reverse(f"admin:customers_{model}_add"), data)


class TestAdmin:
    @pytest.mark.parametrize(
        ("values", "field", "message"),
        [
            ({"amount": "-100"}, "amount", "The amount must be greater than zero."),
            ({"amount": "0"}, "amount", "The amount must be greater than zero."),
            ({"quantity": "0"}, "quantity", "The quantity must be a whole number greater than"),
            ({"order_date": "0001-01-01"}, "order_date", DATE_ERROR),
            ({"order_date": "9999-12-31"}, "order_date", DATE_ERROR),
        ],
    )
    def test_order_out_of_range_is_refused_with_a_reason(
        self, cast, client_for, values, field, message
    ):
        data = {
            "customer": cast.rep_customer.pk,
            "external_ref": "O-ADMIN-1",
            "order_date": "2026-01-15",
            "amount": "100",
            "quantity": "1",
            **values,
        }
        response = _admin_add(client_for(cast.admin), "order", data)
        assert response.status_code == 200
        assert message in str(response.context["adminform"].form.errors[field])
        assert not Order.objects.exists()

    def test_negative_invoice_and_payment_are_refused(self, cast, client_for):
        client = client_for(cast.admin)
        response = _admin_add(
            client,
            "invoice",
            {
                "customer": cast.rep_customer.pk,
                "external_ref": "INV-ADMIN-1",
                "issue_date": "2026-01-01",
                "due_date": "2026-01-31",
                "amount": "-500",
                "payments-TOTAL_FORMS": "0",
                "payments-INITIAL_FORMS": "0",
            },
        )
        assert "The amount must be greater than zero." in response.content.decode()
        invoice = InvoiceFactory(customer=cast.rep_customer)
        response = _admin_add(
            client,
            "payment",
            {
                "invoice": invoice.pk,
                "customer": cast.rep_customer.pk,
                "external_ref": "PAY-ADMIN-1",
                "paid_date": "2026-01-20",
                "amount": "-1",
            },
        )
        assert "The amount must be greater than zero." in response.content.decode()
        assert (Invoice.objects.count(), Payment.objects.count()) == (1, 0)

    def test_negative_credit_limit_is_refused_and_never_shown(self, cast, client_for):
        policy = GradePolicy.objects.get(grade="D")
        response = client_for(cast.admin).post(
            reverse("admin:customers_gradepolicy_change", args=[policy.pk]),
            {"grade": "D", "credit_limit": "-5", "payment_terms_days": "0"},
        )
        assert response.status_code == 200
        assert "Enter zero or more." in response.content.decode()
        policy.refresh_from_db()
        assert policy.credit_limit == Decimal("0.00")

    def test_contact_log_entry_dated_year_one_is_refused_in_the_admin(self, cast, client_for):
        response = _admin_add(
            client_for(cast.admin),
            "interaction",
            {
                "customer": cast.rep_customer.pk,
                "channel": "phone",
                "staff": cast.rep.pk,
                "occurred_at_0": "0001-01-01",
                "occurred_at_1": "00:00",
                "summary": "回访",
            },
        )
        assert response.status_code == 200
        assert DATE_ERROR in response.content.decode()
        assert not Interaction.objects.exists()

    @pytest.mark.parametrize(
        ("url", "data", "message"),
        [
            (
                "admin:customers_creditrules_add",
                {
                    "window_days": "100000",
                    "grace_days": "15",
                    "c_late_count": "2",
                    "d_overdue_days": "90",
                    "d_silence_days": "60",
                    "default_grade": "B",
                },
                "Enter a number of days from 1 to 3650.",
            ),
            (
                "admin:segmentation_segmentationsettings_add",
                {
                    "window_days": "365",
                    "key_share": "0.8",
                    "ordinary_share": "0.95",
                    "snapshots_kept": "100000",
                },
                "Enter a whole number from 1 to 366.",
            ),
            (
                "admin:lifecycle_lifecyclesettings_add",
                {
                    "new_days": "180",
                    "repeat_orders": "2",
                    "mature_days": "730",
                    "mature_quarters": "6",
                    "mature_spend_share": "0.8",
                    "lost_after_intervals": "2",
                    "lost_after_days": "0",
                    "snapshots_kept": "7",
                },
                "Enter a number of days from 1 to 3650.",
            ),
        ],
    )
    def test_settings_out_of_range_are_refused_with_a_reason(
        self, cast, client_for, url, data, message
    ):
        CreditRules.objects.all().delete()
        SegmentationSettings.objects.all().delete()
        response = client_for(cast.admin).post(reverse(url), data)
        assert response.status_code == 200
        assert message in response.content.decode()


def test_messages_are_translated(cast, client_for, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    response = client_for(cast.rep).post(
        reverse("interaction-create", args=[cast.rep_customer.pk]),
        {"channel": "phone", "occurred_at": "0001-01-01T00:00", "summary": "回访"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    errors = str(response.context["form"].errors["occurred_at"])
    assert "2000-01-01" in errors and "Enter a date" not in errors


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ("2026-01-15 08:00:00+00:00", dt.datetime(2026, 1, 15, 8, tzinfo=dt.UTC)),
        ("0001-12-31 16:00:00+00 BC", pgtypes.EARLIEST),
        ("10000-01-01 00:00:00+00", pgtypes.LATEST),
        ("9999-12-31 23:59:59+00:00", pgtypes.LATEST),
        (None, None),
    ],
)
def test_moments_beyond_pythons_years_are_read_as_the_nearest_day_a_page_can_show(stored, read):
    parse = pgtypes._reader(lambda value, cursor: dt.datetime.fromisoformat(value), aware=True)
    assert parse(stored, None) == read
