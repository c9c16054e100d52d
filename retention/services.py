"""Writes of follow-up plans (重点拜访/联系计划)."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from customers import contact_log
from customers.models import Interaction, PipelineRun
from retention.models import ChurnScore, FollowUpPlan


@transaction.atomic
def follow_up_plans_create(
    *,
    customers,
    assignee,
    due_date: dt.date,
    channel: str,
    note: str,
    by,
    run: PipelineRun | None,
) -> list[FollowUpPlan]:
    """One open plan per customer, assigned to `assignee` or, when None, to each
    customer's owner, carrying the customer's churn score of `run`. Customers who
    already have an open plan are skipped; returns the plans created."""
    customers = list(customers)
    ids = [customer.pk for customer in customers]
    busy = set(
        FollowUpPlan.objects.filter(customer_id__in=ids, status=FollowUpPlan.Status.OPEN)
        .select_for_update()
        .values_list("customer_id", flat=True)
    )
    scores = {}
    if run is not None:
        scores = {
            score.customer_id: score
            for score in ChurnScore.objects.filter(run=run, customer_id__in=ids)
        }
    plans = []
    for customer in customers:
        if customer.pk in busy:
            continue
        score = scores.get(customer.pk)
        plans.append(
            FollowUpPlan(
                customer=customer,
                assignee=assignee or customer.owner,
                created_by=by,
                due_date=due_date,
                channel=channel,
                note=note.strip(),
                run=run if score is not None else None,
                risk=score.risk if score is not None else None,
                value_at_risk=score.value_at_risk if score is not None else None,
            )
        )
    return FollowUpPlan.objects.bulk_create(plans)


@transaction.atomic
def follow_up_plan_complete(
    *, plan: FollowUpPlan, status: str, outcome_code: str, outcome: str, by
) -> FollowUpPlan:
    """Close an open plan as done (with its outcome) or cancelled. A plan carried out is
    a contact with the customer, so it also goes into the contact log."""
    plan = FollowUpPlan.objects.select_for_update().select_related("customer").get(pk=plan.pk)
    if plan.status != FollowUpPlan.Status.OPEN:
        raise ValueError(f"Plan {plan.pk} is {plan.status}, not open")
    if status not in (FollowUpPlan.Status.DONE, FollowUpPlan.Status.CANCELLED):
        raise ValueError(f"A plan is closed as done or cancelled, not {status!r}")
    plan.status = status
    plan.outcome_code = outcome_code if status == FollowUpPlan.Status.DONE else ""
    plan.outcome = outcome.strip()
    plan.completed_at = timezone.now()
    plan.completed_by = by
    plan.save(update_fields=["status", "outcome_code", "outcome", "completed_at", "completed_by"])
    if status == FollowUpPlan.Status.DONE:
        contact_log.interaction_save(
            Interaction(
                customer=plan.customer,
                channel=plan.channel,
                staff=by,
                occurred_at=plan.completed_at,
                summary=plan.outcome or plan.note or plan.get_outcome_code_display(),
                outcome=plan.get_outcome_code_display(),
            )
        )
    return plan
