"""Changes of a customer's stage by hand, with their trail."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.access import can_see_all_customers, managed_team_ids
from customers.models import Customer, PipelineRun
from lifecycle.models import CustomerStage, Stage, StageChange


def can_change_stage(user, customer):
    """Admins change any customer's stage; managers those of the teams they lead."""
    if not user.is_authenticated:
        return False
    return can_see_all_customers(user) or customer.team_id in managed_team_ids(user)


def stage_date(today=None):
    """The date a change by hand is kept under: the current run's as-of date, so that it
    falls in line with the rule's changes; today before any run."""
    run = PipelineRun.objects.current()
    return run.as_of if run is not None else (today or timezone.localdate())


@transaction.atomic
def stage_set(*, customer, stage, reason, locked_until=None, by) -> StageChange:
    """Put `customer` in `stage` by hand, with a reason and an optional lock until a date
    (the nightly rule leaves the stage while the lock holds). Refuses, writing nothing, an
    unknown stage, an empty reason, a lock date in the past, a user who may not change
    this customer's stage, and a change that changes nothing."""
    if not can_change_stage(by, customer):
        raise PermissionDenied(
            _("Only admins and the managers of its team may change this customer's stage.")
        )
    reason = (reason or "").strip()
    errors = {}
    if stage not in Stage.values:
        errors["stage"] = _("Choose one of the five stages.")
    if not reason:
        errors["reason"] = _("Say why the stage changes.")
    if locked_until is not None and locked_until < timezone.localdate():
        errors["locked_until"] = _("A lock must end today or later.")
    if errors:
        raise ValidationError(errors)
    Customer.objects.select_for_update().filter(pk=customer.pk).values_list("pk").first()
    live = CustomerStage.objects.filter(customer=customer).first()
    if live is not None and live.stage == stage and live.locked_until == locked_until:
        raise ValidationError(_("The customer is already in this stage, locked as asked."))
    on = stage_date()
    change = StageChange.objects.create(
        customer=customer,
        on=on,
        old_stage=live.stage if live is not None else "",
        new_stage=stage,
        source=StageChange.Source.HAND,
        changed_by=by,
        reason=reason,
        locked_until=locked_until,
    )
    CustomerStage.objects.update_or_create(
        customer=customer,
        defaults={
            "stage": stage,
            "since": on if live is None or live.stage != stage else live.since,
            "locked_until": locked_until,
        },
    )
    return change
