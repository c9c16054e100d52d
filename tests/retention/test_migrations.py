"""The learned-churn migrations keep the scores already stored and fill the calendar."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from retention.models import ChurnScore, Festival

BEFORE = [("retention", "0004_lost_rule_in_lifecycle")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_stored_reasons_survive_as_text_and_the_festivals_are_filled():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        apps = _migrate(BEFORE)
        user = apps.get_model("auth", "User").objects.create(username="old-rep")
        customer = apps.get_model("customers", "Customer").objects.create(
            external_ref="OLD-1", name="老客户", owner_id=user.pk
        )
        run = apps.get_model("customers", "PipelineRun").objects.create(as_of=dt.date(2026, 1, 1))
        apps.get_model("retention", "ChurnScore").objects.create(
            run_id=run.pk,
            customer_id=customer.pk,
            risk=0.7,
            band="high",
            value=Decimal("100.00"),
            value_at_risk=Decimal("70.00"),
            reasons=[{"code": "single_order", "params": {"days": 40}}],
        )
    finally:
        _migrate(leaves)
    score = ChurnScore.objects.get()
    assert score.reasons == [{"code": "single_order", "params": {"days": 40}}]
    assert score.expected_value == Decimal("0.00")
    assert Festival.objects.count() == 48
    assert Festival.objects.filter(kind="mid_autumn", date=dt.date(2026, 9, 25)).exists()
