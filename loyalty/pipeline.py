"""The nightly loyalty step: earn for every order whose points were missed (a receiver
that failed, a member enrolled while orders were being imported)."""

from django.utils.translation import gettext_lazy

from customers.pipeline import StepResult, count_text
from loyalty import services

SUMMARY_FIELDS = [
    ("orders_caught_up", gettext_lazy("orders earned by catch-up"), count_text),
    ("points_caught_up", gettext_lazy("points earned by catch-up"), count_text),
]


def loyalty_step(run):
    """Counts what is owed; the points are written when the run is published, for whatever
    is still owed then (an order earned meanwhile by its signal is not earned twice)."""
    pending = services.pending_awards()
    return StepResult(
        rows=len(pending),
        summary={
            "orders_caught_up": len(pending),
            "points_caught_up": sum(entry.points for entry in pending),
        },
        publish=services.points_award,
    )
