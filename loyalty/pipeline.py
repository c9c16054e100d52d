"""The nightly loyalty step: tiers from the rolling 12-month spend (downgrades happen only
here), expiry of the points earned too long ago and still unspent, and points for every
order whose earning was missed (a receiver that failed, a
member enrolled while orders were being imported)."""

from django.db import transaction
from django.utils.translation import gettext_lazy

from customers.models import PipelineRun
from customers.pipeline import StepResult, count_text
from loyalty import services
from loyalty.models import TIER_RANK, TierChange

SUMMARY_FIELDS = [
    ("tiers_up", gettext_lazy("members moved up a tier"), count_text),
    ("tiers_down", gettext_lazy("members moved down a tier"), count_text),
    ("members_expired", gettext_lazy("members whose points expired"), count_text),
    ("points_expired", gettext_lazy("points expired"), count_text),
    ("orders_caught_up", gettext_lazy("orders earned by catch-up"), count_text),
    ("points_caught_up", gettext_lazy("points earned by catch-up"), count_text),
    ("expired_through", gettext_lazy("points earned up to this day expired"), str),
]


def loyalty_step(run):
    """Computes the tier moves, the expiring points and what is owed; all are written when the
    run is published: a member whose tier an order changed meanwhile keeps it, expiry takes
    only what is still unspent then (the summary says what was due when the step ran), and
    an order earned meanwhile by its signal is not earned twice."""
    changes = services.tier_changes(as_of=run.as_of)
    # The published night before this one expired everything earned up to its day: only
    # what was earned since can be due now.
    expired_through = services.expired_through_day(PipelineRun.objects.current())
    expiring = services.expiry_due(as_of=run.as_of, expired_through=expired_through)
    through = max(filter(None, (expired_through, services.expiry_day(run.as_of))))
    # Earned after the tier moves are published, at the tiers they give.
    pending = services.pending_awards(
        tiers={change["membership_id"]: change["to"] for change in changes}
    )
    up = sum(1 for change in changes if TIER_RANK[change["to"]] > TIER_RANK[change["from"]])

    @transaction.atomic
    def publish():
        services.tier_changes_apply(changes, cause=TierChange.Cause.NIGHTLY)
        services.points_expire(membership_ids=list(expiring), as_of=run.as_of)
        # The orders found owed when the step ran (checked again under the members' locks:
        # one earned meanwhile by its signal is not earned twice); any missed after that
        # is the next night's.
        services.points_award(order_ids=[entry.order_id for entry in pending])
        services.queue_drain()
        services.spend_bonuses_review()
        services.spend_bonuses_award()

    return StepResult(
        rows=len(changes) + len(expiring) + len(pending),
        summary={
            "tiers_up": up,
            "tiers_down": len(changes) - up,
            "members_expired": len(expiring),
            "points_expired": sum(expiring.values()),
            "orders_caught_up": len(pending),
            "points_caught_up": sum(entry.points for entry in pending),
            "expired_through": through.isoformat(),
        },
        publish=publish,
    )
