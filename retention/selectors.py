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

from customers import summaries
from customers.access import can_see_all_customers, is_manager
from customers.models import Order, PipelineRun, Team
from customers.selectors import DUE_SOON_DAYS, of_visible_customers, visible_customers
from customers.summaries import as_stored
from lifecycle.models import Stage, StageChange
from retention import accuracy
from retention.filters import ChurnFilter, LostFilter
from retention.models import Band, ChurnEpisode, ChurnRunSummary, ChurnScore, FollowUpPlan

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
    """The start page's "my at-risk customers": a rep's own, a manager's teams'; computed
    now."""
    run = PipelineRun.objects.current()
    return show_at_risk(summaries.live_figures(build_at_risk, user, run), user, run)


def build_at_risk(scope, run):
    """The high-risk customers of `scope` with the most value at risk: [score id, value at
    risk] by value at risk, largest first. One query."""
    if run is None:
        return []
    return [
        [pk, value]
        for pk, value in can_still_be_kept(scope.of(ChurnScore.objects.filter(run=run)))
        .filter(band=Band.HIGH, value_at_risk__gt=0)
        .order_by("-value_at_risk", "id")
        .values_list("pk", "value_at_risk")[:START_PAGE_ROWS]
    ]


# The lists of the highest value at risk: largest first, ties by id.
AT_RISK_ORDER = ("-value_at_risk", "id")


def build_all_at_risk(scopes, run):
    """build_at_risk of every scope of the run (customers.summaries.RunScopes): three
    queries, none if the churn section read them."""
    if run is None:
        return {key: [] for key in scopes.scope_keys()}
    # The high-risk list's first rows as the churn section has them, those with a value at
    # risk: all of them come before those without.
    return {
        key: [list(row) for row in rows if row[1] > 0]
        for key, rows in _high_risk_tops(scopes, run).items()
    }


def _high_risk_tops(scopes, run):
    """{scope key: [(score id, value at risk)]}: the first START_PAGE_ROWS high-risk scores
    of customers who can still be kept, by value at risk; read once for both sections."""

    def read():
        return scopes.first_rows(
            can_still_be_kept(ChurnScore.objects.filter(run=run, band=Band.HIGH)),
            AT_RISK_ORDER,
            START_PAGE_ROWS,
            ["pk", "value_at_risk"],
        )

    return scopes.shared(("high_risk_tops", run.pk), read)


def _top_scores(ranked, limit=START_PAGE_ROWS):
    """The churn scores of [score id, value at risk] pairs of disjoint scopes, the most
    value at risk first (ties by id, like the lists), at most `limit`."""
    return sorted(ranked, key=lambda pair: (-Decimal(str(pair[1])), pair[0]))[:limit]


def combine_at_risk(parts):
    return _top_scores([pair for part in parts for pair in part])


def _scores_of(ranked):
    """The ChurnScore rows (customer joined) of [score id, ...] pairs, in their order: one
    query, none for an empty list."""
    if not ranked:
        return []
    ids = [pair[0] for pair in ranked]
    scores = ChurnScore.objects.select_related("customer").in_bulk(ids)
    return [scores[pk] for pk in ids if pk in scores]


def show_at_risk(figures, user, run):
    return {
        "scores": _scores_of(figures),
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


def churn_accuracy(run):
    """How well the run's score separated churners in its backtest, as [(sentence,
    is_warning)] in the reader's language; [] without a run or its summary (one query)."""
    if run is None:
        return []
    summary = ChurnRunSummary.objects.filter(run=run).first()
    if summary is None:
        return []
    return accuracy.accuracy_texts(accuracy.figures(summary, run.as_of))


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
    """The dashboard's churn section computed now over the customers `user` may see."""
    run = PipelineRun.objects.current()
    return show_churn(summaries.live_figures(build_churn, user, run), user, run)


def build_churn(scope, run):
    """Customers and value at risk per band in `scope`, and the top of the high-risk list
    ([score id, value at risk]), of the customers who can still be kept (as the risk list):
    two queries."""
    if run is None:
        return {"bands": {}, "top": []}
    scores = can_still_be_kept(scope.of(ChurnScore.objects.filter(run=run)))
    bands = {
        band: [customers, _money(value)]
        for band, customers, value in scores.values_list("band")
        .annotate(customers=Count("pk"), value=Sum("value_at_risk"))
        .values_list("band", "customers", "value")
        .order_by()
    }
    top = [
        [pk, value]
        for pk, value in scores.filter(band=Band.HIGH)
        .order_by("-value_at_risk", "id")
        .values_list("pk", "value_at_risk")[:START_PAGE_ROWS]
    ]
    return {"bands": bands, "top": top}


def build_all_churn(scopes, run):
    """build_churn of every scope of the run (customers.summaries.RunScopes): four
    queries, one if the at-risk section read the top rows."""
    if run is None:
        return {key: {"bands": {}, "top": []} for key in scopes.scope_keys()}
    scores = can_still_be_kept(ChurnScore.objects.filter(run=run))
    rows = scopes.pairs(scores, "band", customers=Count("pk"), value=Sum("value_at_risk"))
    bands = scopes.add_up(rows, dict, _add_band)
    top = _high_risk_tops(scopes, run)
    return {
        key: {
            "bands": {band: [n, _money(value)] for band, (n, value) in bands[key].items()},
            "top": [list(row) for row in top[key]],
        }
        for key in bands
    }


def _add_band(bands, band, customers, value):
    total = bands.setdefault(band, [0, Decimal(0)])
    total[0] += customers
    total[1] += _decimal(value)
    return bands


def _decimal(value):
    """A sum read back: a Decimal, a float sum on SQLite, None over no rows."""
    return Decimal(0) if value is None else Decimal(str(value))


def _money(value):
    """A sum of amounts in whole cents (SQLite's sums carry more places); a zero as 0."""
    return _decimal(value).quantize(Decimal("0.01")) or Decimal(0)


def combine_churn(parts):
    bands = {}
    for part in parts:
        for band, (customers, value) in part["bands"].items():
            total = bands.setdefault(band, [0, Decimal(0)])
            total[0] += customers
            total[1] += Decimal(str(value))
    return {
        "bands": bands,
        "top": _top_scores([pair for part in parts for pair in part["top"]]),
    }


def show_churn(figures, user, run):
    """Customers and value at risk per band, and the top of the list: one query (the
    top's scores), none without."""
    totals = {
        band: {"customers": customers, "value_at_risk": Decimal(str(value))}
        for band, (customers, value) in figures["bands"].items()
    }
    bands = [
        {"band": band, "label": label, **totals.get(band, {"customers": 0, "value_at_risk": 0})}
        for band, label in Band.choices
    ]
    return {"run": run, "bands": bands, "top": _scores_of(figures["top"])}


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
    """The dashboard's retention section computed now over the customers `user` may see."""
    run = PipelineRun.objects.current()
    figures = as_stored(build_retention(summaries.viewer_scope(user), run, today=today))
    return show_retention(figures, user, run, today=today)


# Episode columns: opened and ended by the runs, so counted when a run is published.
EPISODE_COLUMNS = ("flagged", "retained", "won_back", "lost", "after_plan")
# Plan columns: plans are made and done all day long, so counted on each view.
PLAN_COLUMNS = ("plans_made", "plans_done")


def _episode_columns(episodes, run, today):
    """(column, the episodes it counts, the date it counts them by) of the retention
    section: the first day of the dashboard's window too."""
    since = months_back(today, DASHBOARD_MONTHS)[0]
    ended = episodes.exclude(outcome=ChurnEpisode.Outcome.OPEN)
    # Lost once the date passed without an order; a data date, not today, when runs lag.
    lost_by = run.as_of if run is not None else today
    columns = [
        ("flagged", episodes, "flagged_on"),
        ("retained", ended.filter(outcome=ChurnEpisode.Outcome.RETAINED), "ended_on"),
        ("won_back", ended.filter(outcome=ChurnEpisode.Outcome.WON_BACK), "ended_on"),
        (
            "lost",
            episodes.exclude(outcome=ChurnEpisode.Outcome.RETAINED).filter(lost_from__lte=lost_by),
            "lost_from",
        ),
        ("after_plan", ended.filter(plan__isnull=False), "ended_on"),
    ]
    return since, columns


def build_retention(scope, run, *, today=None):
    """The episode columns per month of the customers in `scope`, from the first month of
    the dashboard's window: five queries."""
    today = today or timezone.localdate()
    since, columns = _episode_columns(scope.of(ChurnEpisode.objects.all()), run, today)
    return {
        "since": since,
        "columns": {
            key: {
                month.isoformat(): count
                for month, count in _by_month(episodes, field, since).items()
            }
            for key, episodes, field in columns
        },
    }


def build_all_retention(scopes, run, *, today=None):
    """build_retention of every scope of the run (customers.summaries.RunScopes): five
    queries."""
    today = today or timezone.localdate()
    since, columns = _episode_columns(ChurnEpisode.objects.all(), run, today)
    figures = {key: {"since": since, "columns": {}} for key in scopes.scope_keys()}
    for key, episodes, field in columns:
        rows = scopes.pairs(
            episodes.filter(**{f"{field}__gte": since}).annotate(month=TruncMonth(field)),
            "month",
            count=Count("pk"),
        )
        counts = scopes.add_up(rows, dict, _count_month)
        for scope, months in counts.items():
            figures[scope]["columns"][key] = months
    return figures


def _count_month(counts, month, count):
    month = _month_start(month).isoformat()
    counts[month] = counts.get(month, 0) + count
    return counts


def combine_retention(parts):
    since = max(part["since"] for part in parts)
    columns = {key: {} for key in EPISODE_COLUMNS}
    for part in parts:
        for key, counts in part["columns"].items():
            for month, count in counts.items():
                if month >= since:
                    columns[key][month] = columns[key].get(month, 0) + count
    return {"since": since, "columns": columns}


def show_retention(figures, user, run, *, today=None):
    """Per month, over the customers `user` may see: customers flagged, plans made and
    done, customers retained, won back and lost, and re-orders after a plan. The episode
    columns from `figures`, the plans' counted now: two queries (five more when the
    figures start after the window, once the month turned before the next run)."""
    today = today or timezone.localdate()
    months = months_back(today, DASHBOARD_MONTHS)
    if figures["since"] > months[0].isoformat():
        figures = as_stored(build_retention(summaries.viewer_scope(user), run, today=today))
    since_moment = timezone.make_aware(dt.datetime.combine(months[0], dt.time()))
    plans = of_visible_customers(FollowUpPlan.objects.all(), user)
    columns = {key: _by_month_keys(figures["columns"][key]) for key in EPISODE_COLUMNS}
    columns["plans_made"] = _by_month(plans, "created_at", since_moment)
    columns["plans_done"] = _by_month(
        plans.filter(status=FollowUpPlan.Status.DONE), "completed_at", since_moment
    )
    order = ("flagged", "plans_made", "plans_done", "retained", "won_back", "lost", "after_plan")
    rows = [
        {"month": month, **{key: columns[key].get(month, 0) for key in order}} for month in months
    ]
    totals = {key: sum(row[key] for row in rows) for key in order}
    return {"run": run, "rows": rows[::-1], "totals": totals}


def _by_month_keys(counts):
    return {dt.date.fromisoformat(month): count for month, count in counts.items()}


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


BAND_BADGES = {
    Band.HIGH: "text-bg-danger",
    Band.MEDIUM: "text-bg-warning",
    Band.LOW: "text-bg-success",
}


def network_column(customer_ids):
    """{customer id: (risk band and score in words, badge class)} from the current run: one
    query. Customers not scored (lost ones) have none."""
    rows = ChurnScore.objects.current().filter(customer_id__in=customer_ids)
    return {
        pk: (f"{Band(band).label} {risk:.0%}", BAND_BADGES[band])
        for pk, band, risk in rows.values_list("customer_id", "band", "risk")
    }
