"""Dashboard figures computed once per run and scope, when the run is published.

Sections registered with `build=` (customers.dashboards) compute their figures over
the customers of a scope. When a run is published, `build_run_summaries` computes
them for three kinds of scope and stores one SectionSummary row per scope:

- the company (every customer): what admins see;
- each team: a manager's view is their teams' rows;
- each owner: the customers the user owns outside the teams they manage (all of a
  rep's customers; for a manager, their own customers in other teams, usually none).

Figures about the past (a trend over earlier runs, the points of closed months) are
reporting snapshots: a build takes them from the previous build's rows (`Earlier`), as
they were counted for the customers each scope had then, and computes only what the new
run adds. A reassigned customer moves with their owner from the new run on; the history
of a scope stays as it was reported.

The scopes follow the one access rule (Customer.objects.visible_to): a rep sees the
customers they own, a manager also their teams' customers, so a viewer's customers are
exactly the disjoint union of their teams' rows and their owner row. A viewer whose
rows are missing (a team or user new since the run) or whose teams changed since the
run gets the section's figures built on the spot over the customers they may see; a
viewer with several non-empty rows gets them added up by the section's `combine`, or
built on the spot where the figures do not add up (a Pareto curve).
"""

import json
import logging
import threading
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from customers import dashboards
from customers.access import can_see_all_customers, managed_team_ids
from customers.models import Customer, PipelineRun, SectionSummary, Team
from customers.threads import connection_threads

logger = logging.getLogger(__name__)

Scope_ = SectionSummary.Scope


@dataclass
class Scope:
    """The customers a section's figures are about; `everyone` when no filter is needed."""

    kind: str
    id: int
    customers: QuerySet
    everyone: bool = False
    # Of an owner scope: the teams the owner manages, whose customers it leaves out.
    teams: list[int] = field(default_factory=list)
    # Per-scope memo for sections that share a read (the RFM cells of two sections).
    memo: dict[str, Any] = field(default_factory=dict)

    def of(self, queryset, field="customer"):
        """Rows of `queryset` (with a `field` to the customer) about the customers in scope."""
        if self.everyone:
            # The same rule, without a semi-join over every customer.
            return queryset
        return queryset.filter(**{f"{field}__in": self.customers})


def company_scope():
    return Scope(Scope_.COMPANY, 0, Customer.objects.all(), everyone=True)


def team_scope(team_id):
    return Scope(Scope_.TEAM, team_id, Customer.objects.filter(team_id=team_id))


def owner_scope(user_id, teams=()):
    customers = Customer.objects.filter(owner_id=user_id)
    if teams:
        customers = customers.exclude(team_id__in=list(teams))
    return Scope(Scope_.OWNER, user_id, customers, teams=list(teams))


def viewer_scope(user):
    """The customers `user` may see, as one scope: the live computation. Its memo lives on
    the user object, for the rest of the request."""
    memo = user.__dict__.setdefault("_section_memo", {})
    return Scope(
        "viewer",
        user.pk,
        Customer.objects.visible_to(user),
        everyone=can_see_all_customers(user),
        memo=memo,
    )


def as_stored(figures):
    """`figures` as they read back from the table (Decimals and dates as strings), so that
    figures built on the spot and stored ones are shown by the same code."""
    return json.loads(json.dumps(figures, cls=DjangoJSONEncoder))


def live_figures(build, user, run):
    """A section's figures (from its `build`) computed now over the customers `user` may
    see."""
    return as_stored(build(viewer_scope(user), run))


# Building, when a run is published.


@dataclass(frozen=True)
class Earlier:
    """One section's figures of every scope as the build of an earlier published run
    stored them (see the module's text): `run` is that run, None without one; a scope
    missing from `figures` had no row then (no customers)."""

    run: PipelineRun | None = None
    figures: dict = field(default_factory=dict)

    def of(self, key):
        """The stored figures of scope `key`, or None."""
        return self.figures.get(key)

    def of_company(self):
        """The company's stored figures (every run and month the build counted), or None."""
        return self.figures.get((Scope_.COMPANY, 0))


class SectionScopes:
    """RunScopes as one section's `build_all` sees them: with `earlier`, the section's
    figures of the previous build."""

    def __init__(self, scopes, earlier):
        self._scopes, self.earlier = scopes, earlier

    def __getattr__(self, name):
        return getattr(self._scopes, name)


class RunScopes:
    """Every scope of a run at once, for the sections' `build_all`: the company, every
    team, and every user who owns customers or manages a team (with the teams they manage).

    A customer belongs to the company, to its team's scope, and to its owner's scope unless
    the owner manages its team. Builders compute the figures of all scopes in a few
    grouped queries: additive figures grouped by the customer's (team, owner) pair and
    added up per scope (`add_up`), lists of the first rows per scope with a window over
    each kind of scope (`first_rows`), so that a build reads each row a few times,
    whatever the number of scopes."""

    def __init__(self):
        managed = {}
        for team_id, user_id in Team.managers.through.objects.values_list("team_id", "user_id"):
            managed.setdefault(user_id, set()).add(team_id)
        self.teams = list(Team.objects.order_by("pk").values_list("pk", flat=True))
        # Customers per (team, owner) pair.
        pairs = list(self.pairs(Customer.objects.all(), field="", count=Count("pk")))
        owners = set(managed) | {owner_id for _team, owner_id, _n in pairs if owner_id is not None}
        # Owner id → the teams they manage, whose customers their scope leaves out.
        self.managed = {user_id: sorted(managed.get(user_id, ())) for user_id in sorted(owners)}
        self._of = {}
        # What builders of several sections share (the RFM cells of two sections): see
        # `shared`.
        self.memo = {}
        self._locks, self._guard = {}, threading.Lock()
        # Seconds each section's build took, for the log.
        self.seconds = {}
        # A section's figures of the previous build: see SectionScopes.
        self.earlier = Earlier()
        self.sizes = self.add_up(pairs, int, lambda total, count: total + count)

    def shared(self, key, compute):
        """`compute()`, once for every section that asks under `key`: sections built at once
        in threads wait for the first one's answer rather than compute it again."""
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self.memo:
                self.memo[key] = compute()
            return self.memo[key]

    def scope_keys(self):
        """(scope kind, scope id) of every scope, the company first."""
        return [
            (Scope_.COMPANY, 0),
            *((Scope_.TEAM, team_id) for team_id in self.teams),
            *((Scope_.OWNER, user_id) for user_id in self.managed),
        ]

    def scope(self, key):
        """The Scope of `key`, for a section without `build_all`."""
        kind, scope_id = key
        if kind == Scope_.COMPANY:
            return company_scope()
        if kind == Scope_.TEAM:
            return team_scope(scope_id)
        return owner_scope(scope_id, self.managed[scope_id])

    def of(self, team_id, owner_id):
        """The keys of the scopes a customer of `team_id` owned by `owner_id` belongs to."""
        pair = (team_id, owner_id)
        keys = self._of.get(pair)
        if keys is None:
            keys = [(Scope_.COMPANY, 0)]
            if team_id is not None:
                keys.append((Scope_.TEAM, team_id))
            if owner_id is not None and team_id not in self.managed.get(owner_id, ()):
                keys.append((Scope_.OWNER, owner_id))
            self._of[pair] = keys
        return keys

    def add_up(self, rows, start, add):
        """{scope key: figures} from `rows` of (team id, owner id, *values): each scope's
        figures start as `start()` and take `add(figures, *values)` of each row of its
        customers (add returns the new figures)."""
        figures = {key: start() for key in self.scope_keys()}
        for team_id, owner_id, *values in rows:
            for key in self.of(team_id, owner_id):
                if key in figures:
                    figures[key] = add(figures[key], *values)
        return figures

    @staticmethod
    def pairs(queryset, *fields, field="customer", **aggregates):
        """Rows (team id, owner id, *fields, *aggregates) of `queryset` grouped by its
        customers' (team, owner) pair and `fields`: for `add_up`. `field` leads to the
        customer; empty on customers themselves."""
        prefix = f"{field}__" if field else ""
        group = [f"{prefix}team_id", f"{prefix}owner_id", *fields]
        return (
            queryset.values(*group)
            .annotate(**aggregates)
            .values_list(*group, *aggregates)
            .order_by()
        )

    def partitions(self, queryset, field="customer"):
        """(scope kind, the expression naming the scope, `queryset` narrowed to the rows in
        a scope of that kind) for teams and owners: an owner's rows leave out the customers
        of the teams they manage."""
        prefix = f"{field}__" if field else ""
        managed = Team.managers.through.objects.filter(
            team_id=OuterRef(f"{prefix}team_id"), user_id=OuterRef(f"{prefix}owner_id")
        )
        return [
            (
                Scope_.TEAM,
                F(f"{prefix}team_id"),
                queryset.filter(**{f"{prefix}team_id__isnull": False}),
            ),
            (
                Scope_.OWNER,
                F(f"{prefix}owner_id"),
                queryset.filter(~Exists(managed), **{f"{prefix}owner_id__isnull": False}),
            ),
        ]

    def first_rows(self, queryset, order_by, limit, values, field="customer"):
        """{scope key: [tuples of `values`]}: the first `limit` rows of `queryset` in
        `order_by` order (strings, as for order_by) among each scope's customers. Three
        queries: the company's, and a window numbering the rows of each team and of each
        owner."""
        rows = {key: [] for key in self.scope_keys()}
        rows[Scope_.COMPANY, 0] = [
            tuple(row) for row in queryset.order_by(*order_by).values_list(*values)[:limit]
        ]
        for kind, scope_id, narrowed in self.partitions(queryset, field):
            ranked = (
                narrowed.annotate(
                    _scope=scope_id,
                    _rank=Window(RowNumber(), partition_by=[scope_id], order_by=list(order_by)),
                )
                .filter(_rank__lte=limit)
                .values_list("_scope", "_rank", *values)
            )
            for scope, _rank, *row in sorted(ranked, key=lambda row: (row[0], row[1])):
                if (kind, scope) in rows:
                    rows[kind, scope].append(tuple(row))
        return rows


def build_run_summaries(run):
    """Compute and store the summarised sections' figures of `run` for every scope, in one
    transaction; the rows of older runs go. Returns the number of rows written."""
    sections = dashboards.summarised_sections()
    if run.status != PipelineRun.Status.SUCCEEDED or not sections:
        return 0
    started = perf_counter()
    scopes = RunScopes()
    keys = scopes.scope_keys()
    figures = {key: {} for key in keys}
    earlier = earlier_figures(run)
    for storage_key, built in _built_sections(sections, scopes, run, earlier).items():
        for key in keys:
            figures[key][storage_key] = built[key]
    rows = [
        SectionSummary(
            run=run,
            scope=kind,
            scope_id=scope_id,
            teams=scopes.managed[scope_id] if kind == Scope_.OWNER else [],
            customers=scopes.sizes[kind, scope_id],
            figures=figures[kind, scope_id],
        )
        for kind, scope_id in keys
    ]
    with transaction.atomic():
        SectionSummary.objects.filter(run=run).delete()
        SectionSummary.objects.bulk_create(rows, batch_size=200)
        SectionSummary.objects.exclude(run=run).delete()
    logger.info(
        "Dashboard summaries of run %s: %s scopes in %.1f s (%s)",
        run.pk,
        len(rows),
        perf_counter() - started,
        ", ".join(
            f"{key} {seconds:.1f} s"
            for key, seconds in sorted(scopes.seconds.items(), key=lambda item: -item[1])
        ),
    )
    return len(rows)


# Sections built at once after a run on PostgreSQL, each on its own connection: most of a
# build is the database's work, and the machine has more than one core.
BUILD_THREADS = 2


def earlier_figures(run):
    """{storage key: Earlier} from the stored rows of the latest published run before
    `run` that has them (one query); empty without."""
    rows = list(
        SectionSummary.objects.exclude(run=run)
        .filter(run__status=PipelineRun.Status.SUCCEEDED, run__as_of__lte=run.as_of)
        .order_by("-run__as_of", "-run_id")
        .select_related("run")
    )
    if not rows:
        return {}
    latest = rows[0].run
    earlier = {}
    for row in rows:
        if row.run_id != latest.pk:
            continue
        for storage_key, figures in row.figures.items():
            earlier.setdefault(storage_key, Earlier(latest, {})).figures[
                (row.scope, row.scope_id)
            ] = figures
    return earlier


def _built_sections(sections, scopes, run, earlier=None):
    """{storage key: {scope key: stored figures}} of every section. On PostgreSQL, outside
    a transaction (after the run, not inside a test's), BUILD_THREADS sections at a time."""
    # A section the previous build did not store is computed anew.
    views = {
        key: SectionScopes(scopes, (earlier or {}).get(key, Earlier()))
        for key, _section in sections
    }
    if connection.vendor != "postgresql" or connection.in_atomic_block or BUILD_THREADS < 2:
        return {key: _built(section, views[key], run) for key, section in sections}
    with connection_threads(BUILD_THREADS) as pool:
        pending = {
            key: pool.submit(_built_apart, section, views[key], run) for key, section in sections
        }
        return {key: future.result() for key, future in pending.items()}


def _built(section, scopes, run):
    """The section's stored figures of every scope: at once where it can, else scope by
    scope."""
    started = perf_counter()
    built = section.build_all(scopes, run) if section.build_all is not None else {}
    stored = {
        key: as_stored(built[key] if key in built else section.build(scopes.scope(key), run))
        for key in scopes.scope_keys()
    }
    scopes.seconds[section.key] = perf_counter() - started
    return stored


def _built_apart(section, scopes, run):
    """_built in a thread of the pool (its connection kept for the pool's next builds)."""
    with connection.cursor() as cursor:
        # The builds keep the cores busy: parallel workers would only add overhead.
        cursor.execute("SET max_parallel_workers_per_gather = 0")
    return _built(section, scopes, run)


def publish_hook(run):
    """Called by the frame once `run` is published; a failure leaves the pages computing
    the figures live, it never fails the run."""
    try:
        build_run_summaries(run)
    except Exception:
        logger.exception("Dashboard summaries of run %s not built; pages compute live", run.pk)


# Reading, on every page view.


def viewer_figures(user, run, sections):
    """{storage key: figures} of `sections` ((key, section) pairs) for `user`, from the
    stored rows of `run`: one query. A section missing from the answer is to be built
    live."""
    if run is None or not user.is_authenticated:
        return {}
    if can_see_all_customers(user):
        wanted, teams = [(Scope_.COMPANY, 0)], []
    else:
        teams = sorted(managed_team_ids(user))
        wanted = [*((Scope_.TEAM, team_id) for team_id in teams), (Scope_.OWNER, user.pk)]
    match = Q()
    for kind, scope_id in wanted:
        match |= Q(scope=kind, scope_id=scope_id)
    rows = {
        (row.scope, row.scope_id): row
        for row in SectionSummary.objects.filter(match, run=run).only(
            "scope", "scope_id", "teams", "customers", "figures"
        )
    }
    if len(rows) != len(wanted):
        return {}
    owner = rows.get((Scope_.OWNER, user.pk))
    if owner is not None and sorted(owner.teams) != teams:
        # The user's teams changed since the run: the owner row leaves out other customers.
        return {}
    parts = [rows[key] for key in wanted if rows[key].customers] or [rows[wanted[0]]]
    if len(parts) == 1:
        return parts[0].figures
    combined = {}
    for key, section in sections:
        if section.combine is not None and all(key in part.figures for part in parts):
            combined[key] = as_stored(section.combine([part.figures[key] for part in parts]))
    return combined
