"""The nightly loyalty step: tiers from the rolling 12-month spend (downgrades happen only
here), and points for every order whose earning was missed (a receiver that failed, a
member enrolled while orders were being imported)."""

from django.db import transaction
from django.utils.translation import gettext_lazy

from customers.pipeline import StepResult, count_text
from loyalty import services
from loyalty.models import TIER_RANK, TierChange

SUMMARY_FIELDS = [
    ("tiers_up", gettext_lazy("members moved up a tier"), count_text),
    ("tiers_down", gettext_lazy("members moved down a tier"), count_text),
    ("orders_caught_up", gettext_lazy("orders earned by catch-up"), count_text),
    ("points_caught_up", gettext_lazy("points earned by catch-up"), count_text),
]


def loyalty_step(run):
    """Computes the tier moves and what is owed; both are written when the run is published:
    a member whose tier an order changed meanwhile keeps it, and an order earned meanwhile by
    its signal is not earned twice."""
    changes = services.tier_changes(as_of=run.as_of)
    pending = services.pending_awards()
    up = sum(1 for change in changes if TIER_RANK[change["to"]] > TIER_RANK[change["from"]])

    @transaction.atomic
    def publish():
        services.tier_changes_apply(changes, cause=TierChange.Cause.NIGHTLY)
        services.points_award()

    return StepResult(
        rows=len(changes) + len(pending),
        summary={
            "tiers_up": up,
            "tiers_down": len(changes) - up,
            "orders_caught_up": len(pending),
            "points_caught_up": sum(entry.points for entry in pending),
        },
        publish=publish,
    )
