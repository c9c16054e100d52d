import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from loyalty import services
from tests.factories import OrderFactory
from tests.loyalty.test_ledger import member

pytestmark = pytest.mark.django_db


def test_run_pipeline_json_reports_tier_changes_catch_up_and_expiry():
    membership = member()
    OrderFactory(customer=membership.customer, order_date=timezone.localdate(), amount=60000)
    out = StringIO()
    call_command("run_pipeline", "--as-of", timezone.localdate().isoformat(), "--json", stdout=out)
    report = json.loads(out.getvalue())
    (step,) = [step for step in report["steps"] if step["name"] == "loyalty"]
    assert step["summary"] == {
        "tiers_up": 1,
        "tiers_down": 0,
        "members_expired": 0,
        "points_expired": 0,
        "orders_caught_up": 1,
        "points_caught_up": 72000,  # at the silver tier's 1.2, reached that night
        # Points earned up to this day (24 months back) have expired.
        "expired_through": services.expiry_day(timezone.localdate()).isoformat(),
    }
    membership.refresh_from_db()
    assert (membership.tier, membership.balance) == ("silver", 72000)
