"""Reads of churn scores, follow-up plans and episodes for pages, exports and the
dashboard: always from the current run, always within the customers the viewer
may see."""

import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    Max,
    OuterRef,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from customers.access import can_see_all_customers, is_manager
from customers.models import Order, PipelineRun, Team
from customers.selectors import DUE_SOON_DAYS, of_visible_customers, visible_customers
from lifecycle.models import Stage, StageChange
from lifecycle.selectors import win_backs
from retention.filters import ChurnFilter, LostFilter
from retention.models import Band, ChurnEpisode, ChurnScore, FollowUpPlan

START_PAGE_ROWS = 10
START_PAGE_PLANS = 5
PANEL_PLANS = 10
PANEL_EPISODES = 5
DASHBOARD_MONTHS = 12


def churn_scores(user, run):
    """The run's scores of the customers `user` may see; none without a run."""
    return ChurnScore.objects.of_run(run).visible_to(user)


def can_still_be_kept(scores):
    """The scores of customers not in the lifecycle's termination stage: the lost ones are
    the lost-customers list's, never the risk list's."""
    return scores.exclude(customer__lifecycle_stage__stage=Stage.TERMINATION)


def churn_list(user, params, run):
    """The managers' risk list of customers who can still be kept, filtered by `params`, as
    a bound FilterSet; sorted by value at risk, largest first."""
    queryset = (
        can_still_be_kept(churn_scores(user, run))
        .select_related("customer__owner", "customer__team")
        .order_by("-value_at_risk", "id")
    )
    return ChurnFilter(params, queryset=queryset, user=user)


def at_risk_customers(user, run, *, limit=START_PAGE_ROWS):
    """The high-risk customers `user` may see with the most value at risk: for the start page."""
    return list(
        can_still_be_kept(churn_scores(user, run))
        .filter(band=Band.HIGH, value_at_risk__gt=0)
        .select_related("customer")
        .order_by("-value_at_risk", "id")[:limit]
    )


# --- follow-up plans ------------------------------------------------------------


def plans_for(user):
    """Plans `user` may see and record outcomes on: those assigned to them; for a
    manager also those of their teams' customers; for an admin all. Always on
    customers the user may see."""
    if can_see_all_customers(user):
        return FollowUpPlan.objects.all()
    plans = of_visible_customers(FollowUpPlan.objects.all(), user)
    return plans.filter(Q(assignee=user) | Q(customer__team__in=user.managed_teams.values("pk")))


def plan_list(user, *, status="open", mine=False, due="", assignee=None, today=None):
    """The plans page: by status, one's own only (`mine`), those of one `assignee`, and
    by due date: "overdue" (before today) or "soon" (within DUE_SOON_DAYS from today)."""
    today = today or timezone.localdate()
    plans = plans_for(user).select_related("customer", "assignee").order_by("due_date", "id")
    if status in FollowUpPlan.Status.values:
        plans = plans.filter(status=status)
    if mine:
        plans = plans.filter(assignee=user)
    if assignee is not None:
        plans = plans.filter(assignee_id=assignee)
    if due == "overdue":
        plans = plans.filter(due_date__lt=today)
    elif due == "soon":
        plans = plans.filter(
            due_date__gte=today, due_date__lte=today + dt.timedelta(days=DUE_SOON_DAYS)
        )
    return plans


def start_plans(user, *, today=None, limit=START_PAGE_PLANS):
    """The start page's follow-up plans: the open plans `user` answers for (their own;
    a manager's also their teams') that are overdue or due within DUE_SOON_DAYS, counted
    per assignee, and the first few of each kind. Three queries."""
    today = today or timezone.localdate()
    soon_until = today + dt.timedelta(days=DUE_SOON_DAYS)
    plans = plans_for(user).filter(status=FollowUpPlan.Status.OPEN, due_date__lte=soon_until)
    per_assignee = [
        {
            "assignee": get_user_model()(
                pk=row["assignee"],
                username=row["assignee__username"],
                first_name=row["assignee__first_name"],
                last_name=row["assignee__last_name"],
            ),
            "overdue": row["overdue"],
            "soon": row["soon"],
        }
        for row in plans.values(
            "assignee", "assignee__username", "assignee__first_name", "assignee__last_name"
        )
        .annotate(
            overdue=Count("pk", filter=Q(due_date__lt=today)),
            soon=Count("pk", filter=Q(due_date__gte=today)),
        )
        .order_by("-overdue", "-soon", "assignee__username")
    ]
    listed = plans.select_related("customer", "assignee").order_by("due_date", "id")
    return {
        "overdue": sum(row["overdue"] for row in per_assignee),
        "soon": sum(row["soon"] for row in per_assignee),
        "overdue_plans": list(listed.filter(due_date__lt=today)[:limit]),
        "soon_plans": list(listed.filter(due_date__gte=today)[:limit]),
        "per_assignee": per_assignee,
        "days": DUE_SOON_DAYS,
        "today": today,
        "user_is_manager": is_manager(user),
    }


def at_risk_start_block(user):
    """The start page's "my at-risk customers": a rep's own, a manager's teams'."""
    run = PipelineRun.objects.current()
    return {
        "scores": at_risk_customers(user, run),
        "run": run,
        "user_is_manager": is_manager(user),
    }


def overdue_plans(user, *, today=None, limit=5):
    """Open plans past their due date that `user` answers for (their own; a manager's
    teams'): how many, and the oldest few."""
    today = today or timezone.localdate()
    overdue = plans_for(user).filter(status=FollowUpPlan.Status.OPEN, due_date__lt=today)
    return {
        "count": overdue.count(),
        "plans": list(
            overdue.select_related("customer", "assignee").order_by("due_date", "id")[:limit]
        ),
        "today": today,
    }


# --- the customer file ------------------------------------------------------------


def _can_update_plan(user):
    """Whether `user` may record a plan's outcome, as an annotation (see plans_for)."""
    if can_see_all_customers(user):
        return Value(True, output_field=BooleanField())
    managed = Team.managers.through.objects.filter(
        team_id=OuterRef("customer__team_id"), user_id=user.pk
    )
    return ExpressionWrapper(Q(assignee=user) | Q(Exists(managed)), output_field=BooleanField())


def churn_panel(customer, user):
    """The customer's churn risk with reasons, plans and episodes: three queries."""
    score = ChurnScore.objects.current().filter(customer=customer).select_related("run").first()
    plans = (
        customer.follow_up_plans.select_related("assignee", "completed_by")
        .annotate(can_update=_can_update_plan(user))
        .order_by("-created_at", "-id")
    )
    return {
        "score": score,
        "plans": list(plans[:PANEL_PLANS]),
        "episodes": list(customer.churn_episodes.select_related("plan")[:PANEL_EPISODES]),
        "today": timezone.localdate(),
    }


# --- the dashboard ----------------------------------------------------------------


def churn_section(user):
    """Customers and value at risk per band, and the top of the list: two queries."""
    run = PipelineRun.objects.current()
    scores = churn_scores(user, run)
    totals = {
        band: {"customers": customers, "value_at_risk": value or Decimal(0)}
        for band, customers, value in scores.values_list("band")
        .annotate(customers=Count("pk"), value=Sum("value_at_risk"))
        .values_list("band", "customers", "value")
        .order_by()
    }
    bands = [
        {"band": band, "label": label, **totals.get(band, {"customers": 0, "value_at_risk": 0})}
        for band, label in Band.choices
    ]
    top = list(
        scores.filter(band=Band.HIGH)
        .select_related("customer")
        .order_by("-value_at_risk", "id")[:START_PAGE_ROWS]
    )
    return {"run": run, "bands": bands, "top": top}


def _by_month(queryset, field, since):
    rows = (
        queryset.filter(**{f"{field}__gte": since})
        .annotate(month=TruncMonth(field))
        .values_list("month")
        .annotate(count=Count("pk"))
        .values_list("month", "count")
        .order_by()
    )
    return {_month_start(month): count for month, count in rows}


def _month_start(value):
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        value = value.date()
    return value.replace(day=1)


def months_back(today, count):
    """The first days of the last `count` months, oldest first, ending with today's month."""
    year, month = today.year, today.month
    months = []
    for _ in range(count):
        months.append(dt.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def retention_section(user, *, today=None):
    """Per month, over the customers `user` may see: customers flagged, plans made and
    done, customers retained, won back and lost, and re-orders after a plan. Seven queries."""
    today = today or timezone.localdate()
    run = PipelineRun.objects.current()
    months = months_back(today, DASHBOARD_MONTHS)
    since = months[0]
    since_moment = timezone.make_aware(dt.datetime.combine(since, dt.time()))
    episodes = of_visible_customers(ChurnEpisode.objects.all(), user)
    plans = of_visible_customers(FollowUpPlan.objects.all(), user)
    ended = episodes.exclude(outcome=ChurnEpisode.Outcome.OPEN)
    # Lost once the date passed without an order; a data date, not today, when runs lag.
    lost_by = run.as_of if run is not None else today
    columns = {
        "flagged": _by_month(episodes, "flagged_on", since),
        "plans_made": _by_month(plans, "created_at", since_moment),
        "plans_done": _by_month(
            plans.filter(status=FollowUpPlan.Status.DONE), "completed_at", since_moment
        ),
        "retained": _by_month(
            ended.filter(outcome=ChurnEpisode.Outcome.RETAINED), "ended_on", since
        ),
        # The lifecycle's count: one per return from termination to development.
        "won_back": _by_month(of_visible_customers(win_backs(), user), "on", since),
        "lost": _by_month(
            episodes.exclude(outcome=ChurnEpisode.Outcome.RETAINED).filter(lost_from__lte=lost_by),
            "lost_from",
            since,
        ),
        "after_plan": _by_month(ended.filter(plan__isnull=False), "ended_on", since),
    }
    rows = [
        {"month": month, **{key: counts.get(month, 0) for key, counts in columns.items()}}
        for month in months
    ]
    totals = {key: sum(row[key] for row in rows) for key in columns}
    return {"run": run, "rows": rows[::-1], "totals": totals}


# --- lost customers (流失客户) ------------------------------------------------------


def lost_list(user, params):
    """The lost customers (the lifecycle's termination stage) `user` may see, as win-back
    prospects, as a bound FilterSet: most recently lost first."""
    queryset = (
        visible_customers(user)
        .filter(lifecycle_stage__stage=Stage.TERMINATION)
        .select_related("owner", "team", "lifecycle_stage")
        .order_by("-lifecycle_stage__since", "-pk")
    )
    return LostFilter(params, queryset=queryset, user=user)


def lost_details(customers):
    """Sets on each of `customers` (a page of the lost list) the value tier they had as they
    were lost, why, their spend and their last order. Two queries."""
    ids = [customer.pk for customer in customers]
    changes = {}
    for change in StageChange.objects.filter(
        customer_id__in=ids, new_stage=Stage.TERMINATION
    ).order_by("customer_id", "on", "id"):
        changes[change.customer_id] = change  # the latest wins
    orders = {
        row["customer_id"]: row
        for row in Order.objects.filter(customer_id__in=ids, status=Order.Status.RECORDED)
        .values("customer_id")
        .annotate(spend=Sum("amount"), last_order=Max("order_date"))
    }
    for customer in customers:
        change = changes.get(customer.pk)
        customer.former_tier = change.value_tier if change is not None else ""
        customer.lost_source = change.source if change is not None else ""
        customer.lost_reason = change.reason if change is not None else ""
        customer.spend = orders.get(customer.pk, {}).get("spend")
        customer.last_order = orders.get(customer.pk, {}).get("last_order")
    return customers
