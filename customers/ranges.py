"""The sensible range of every date, amount, quantity, day count and share the CRM
records, in one place: the database's check constraints and the validators of
forms, the admin and imports are built from what is defined here.

- Business dates (orders, invoices, payments, the contact log, complaints,
  follow-ups, documents): from 2000-01-01. The database holds them up to
  2099-12-31; what people type or import is held to at most YEARS_AHEAD years
  after today (a check constraint cannot move with the calendar). Rules of
  meaning stay where they are said: an interaction is not logged in the future,
  a due date is not before its issue date.
- Moments (date and time): the same days, with a day's slack at each end in the
  database for time zones.
- Amounts of orders, invoices and payments: more than 0, at most
  999,999,999,999.99 (numeric(14, 2)); credit limits and balances: 0 or more.
- Quantities: 1 to 2,147,483,647.
- Day counts: 0 or more when 0 means something (grace, cash on delivery), else
  1 or more; at most ten years (a longer window reads nothing more and only
  risks dates out of range).
- Counts in a rule: 1 to 100; snapshots kept: 1 to 366 (a year of nights).
- Shares: 0 to 1 (in the settings' own constraints); satisfaction: 1 to 5.
"""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2099, 12, 31)
YEARS_AHEAD = 5
FIRST_MOMENT = dt.datetime(1999, 12, 31, tzinfo=dt.UTC)
LAST_MOMENT = dt.datetime(2100, 1, 2, tzinfo=dt.UTC)

MAX_AMOUNT = Decimal("999999999999.99")
SMALLEST_AMOUNT = Decimal("0.01")
MAX_QUANTITY = 2_147_483_647
MAX_DAYS = 3650
MAX_TERMS_DAYS = 365
# Counts of events in a rule (late payments) and of kept snapshots (a year of nights).
MAX_COUNT = 100
MAX_SNAPSHOTS = 366

DATE_MESSAGE = _("Enter a date between %(first)s and %(last)s.")
DAYS_MESSAGE = _("Enter a number of days from %(least)s to %(most)s.")
COUNT_MESSAGE = _("Enter a whole number from 1 to %(most)s.")


def _interpolate(template, params):
    return str(template) % params


# Messages with their numbers filled in when shown, so that each reader gets their language.
interpolate_lazy = lazy(_interpolate, str)


def latest_day(today=None) -> dt.date:
    """The last date people may enter: YEARS_AHEAD years after today."""
    today = today or timezone.localdate()
    try:
        return today.replace(year=today.year + YEARS_AHEAD)
    except ValueError:  # 29 February
        return today.replace(year=today.year + YEARS_AHEAD, day=28)


def date_error(last):
    """The message for a date out of range, naming both bounds."""
    return interpolate_lazy(
        DATE_MESSAGE, {"first": FIRST_DAY.isoformat(), "last": last.isoformat()}
    )


@deconstructible
class BusinessDateValidator:
    """A date (or the local date of a moment) from FIRST_DAY to YEARS_AHEAD years after
    today; with `far_ahead`, up to LAST_DAY (documents valid for decades)."""

    def __init__(self, *, far_ahead=False):
        self.far_ahead = far_ahead

    def __call__(self, value):
        if isinstance(value, dt.datetime):
            value = _local_date(value)
        last = LAST_DAY if self.far_ahead else latest_day()
        if not FIRST_DAY <= value <= last:
            raise ValidationError(date_error(last), code="date_range")

    def __eq__(self, other):
        return isinstance(other, BusinessDateValidator) and self.far_ahead == other.far_ahead


def _local_date(moment):
    if timezone.is_naive(moment):
        return moment.date()
    try:
        return timezone.localdate(moment)
    except OverflowError:  # within a day of year 1 or 9999: out of range either way
        return moment.date()


def business_date_validators(*, far_ahead=False):
    return [BusinessDateValidator(far_ahead=far_ahead)]


def amount_validators():
    """An amount of goods or money changing hands: more than zero, within numeric(14, 2)."""
    return [
        MinValueValidator(SMALLEST_AMOUNT, _("The amount must be greater than zero.")),
        MaxValueValidator(MAX_AMOUNT, _("The amount is too large.")),
    ]


def limit_validators():
    """A limit or balance: zero or more, within numeric(14, 2)."""
    return [
        MinValueValidator(0, _("Enter zero or more.")),
        MaxValueValidator(MAX_AMOUNT, _("The amount is too large.")),
    ]


def quantity_validators():
    return [
        MinValueValidator(1, _("The quantity must be a whole number greater than zero.")),
        MaxValueValidator(MAX_QUANTITY, _("The quantity is too large.")),
    ]


def days_validators(*, least, most=MAX_DAYS):
    """A count of days from `least` (0 or 1) to `most`."""
    message = interpolate_lazy(DAYS_MESSAGE, {"least": least, "most": most})
    return [MinValueValidator(least, message), MaxValueValidator(most, message)]


def count_validators(*, most=MAX_COUNT):
    message = interpolate_lazy(COUNT_MESSAGE, {"most": most})
    return [MinValueValidator(1, message), MaxValueValidator(most, message)]


def satisfaction_validators():
    message = _("Satisfaction is rated from 1 to 5.")
    return [MinValueValidator(1, message), MaxValueValidator(5, message)]


# Conditions of the database's check constraints. A NULL passes, as in SQL.


def between(field, low, high) -> Q:
    return Q(**{f"{field}__gte": low, f"{field}__lte": high})


def check(condition, *, name, message) -> models.CheckConstraint:
    return models.CheckConstraint(condition=condition, name=name, violation_error_message=message)


def date_check(model, field) -> models.CheckConstraint:
    """`field` between FIRST_DAY and LAST_DAY."""
    return check(
        between(field, FIRST_DAY, LAST_DAY),
        name=f"{model}_{field}_range",
        message=date_error(LAST_DAY),
    )


def moment_check(model, field) -> models.CheckConstraint:
    """`field`, a date and time, within the business dates (with slack for time zones)."""
    return check(
        Q(**{f"{field}__gte": FIRST_MOMENT, f"{field}__lt": LAST_MOMENT}),
        name=f"{model}_{field}_range",
        message=date_error(LAST_DAY),
    )


def amount_check(model, field="amount") -> models.CheckConstraint:
    return check(
        Q(**{f"{field}__gt": 0, f"{field}__lte": MAX_AMOUNT}),
        name=f"{model}_{field}_range",
        message=_("The amount must be greater than zero and at most 999,999,999,999.99."),
    )


def limit_check(model, field) -> models.CheckConstraint:
    return check(
        between(field, 0, MAX_AMOUNT),
        name=f"{model}_{field}_range",
        message=_("The amount must be zero or more and at most 999,999,999,999.99."),
    )


def days_check(model, field, *, least, most=MAX_DAYS) -> models.CheckConstraint:
    return check(
        between(field, least, most),
        name=f"{model}_{field}_range",
        message=interpolate_lazy(DAYS_MESSAGE, {"least": least, "most": most}),
    )


def count_check(model, field, *, most=MAX_COUNT) -> models.CheckConstraint:
    return check(
        between(field, 1, most),
        name=f"{model}_{field}_range",
        message=interpolate_lazy(COUNT_MESSAGE, {"most": most}),
    )
