"""The demo base, seeded and run through the nightly pipeline, shows every RFM segment
and value tier, and every kind of customer the lifecycle tells apart."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Max, Min

from customers.models import Customer, PipelineRun
from segmentation.models import RfmScore, Segment, ValueTier

TODAY = dt.date(2026, 3, 1)
# Small enough for a quick test, large enough for the rarer segments of a real base.
CUSTOMERS = 1000


def seed_and_run(seed):
    call_command(
        "seed_demo",
        *("--customers", CUSTOMERS, "--seed", seed, "--today", TODAY.isoformat()),
        stdout=StringIO(),
    )
    call_command("run_pipeline", "--as-of", TODAY.isoformat(), stdout=StringIO())
    return PipelineRun.objects.current()


def counts(run, field):
    rows = RfmScore.objects.filter(run=run).values_list(field).annotate(n=Count("pk"))
    return dict(rows.values_list(field, "n"))


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [42, 7])
def test_every_segment_and_value_tier_has_customers(seed):
    run = seed_and_run(seed)
    assert run is not None and run.as_of == TODAY
    segments = counts(run, "segment")
    assert {code: segments.get(code, 0) for code in Segment.values if not segments.get(code)} == {}
    tiers = counts(run, "value_tier")
    assert {code: tiers.get(code, 0) for code in ValueTier.values if not tiers.get(code)} == {}


@pytest.mark.django_db
def test_the_base_holds_customers_of_every_lifecycle_stage():
    seed_and_run(42)
    history = Customer.objects.annotate(
        first=Min("orders__order_date"), last=Max("orders__order_date")
    )
    days = dt.timedelta
    # Potential: known to us, no order yet.
    assert history.filter(first__isnull=True).exists()
    # Development: first orders lately.
    assert history.filter(first__gte=TODAY - days(90)).count() >= 10
    # Maturity: buying steadily for years.
    assert (
        history.filter(first__lte=TODAY - days(2 * 365), last__gte=TODAY - days(30)).count() >= 100
    )
    # Termination: stopped buying long ago.
    assert history.filter(last__lt=TODAY - days(365)).count() >= 50
