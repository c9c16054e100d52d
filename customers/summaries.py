"""Dashboard figures computed once per run and scope, when the run is published.

Sections registered with `build=` (customers.dashboards) compute their figures over
the customers of a scope. When a run is published, `build_run_summaries` computes
them for three kinds of scope and stores one SectionSummary row per scope:

- the company (every customer): what admins see;
- each team: a manager's view is their teams' rows;
- each owner: the customers the user owns outside the teams they manage (all of a
  rep's customers; for a manager, their own customers in other teams, usually none).

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
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q, QuerySet

from customers import dashboards
from customers.access import can_see_all_customers, managed_team_ids
from customers.models import Customer, PipelineRun, SectionSummary, Team

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
    # How many customers, where known without a query.
    size: int | None = None
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


def run_scopes():
    """The company, every team, and every user who owns customers or manages a team (with
    the teams they manage). The teams' and owners' customers are read once and named by
    id, so that each scope's reads walk the snapshots' (run, customer) indexes instead of
    scanning a whole run per scope."""
    managed = {}
    for team_id, user_id in Team.managers.through.objects.values_list("team_id", "user_id"):
        managed.setdefault(user_id, set()).add(team_id)
    by_team, by_owner = {}, {}
    for pk, team_id, owner_id in Customer.objects.values_list("pk", "team_id", "owner_id"):
        by_team.setdefault(team_id, []).append(pk)
        if owner_id is not None:
            by_owner.setdefault(owner_id, []).append((pk, team_id))
    scopes = [company_scope()]
    for team_id in Team.objects.order_by("pk").values_list("pk", flat=True):
        scopes.append(_listed(Scope_.TEAM, team_id, by_team.get(team_id, [])))
    for user_id in sorted(set(by_owner) | set(managed)):
        teams = managed.get(user_id, set())
        owned = [pk for pk, team_id in by_owner.get(user_id, []) if team_id not in teams]
        scope = _listed(Scope_.OWNER, user_id, owned)
        scope.teams = sorted(teams)
        scopes.append(scope)
    return scopes


def _listed(kind, scope_id, ids):
    return Scope(kind, scope_id, Customer.objects.filter(pk__in=sorted(ids)), size=len(ids))


def build_run_summaries(run):
    """Compute and store the summarised sections' figures of `run` for every scope, in one
    transaction; the rows of older runs go. Returns the number of rows written."""
    sections = dashboards.summarised_sections()
    if run.status != PipelineRun.Status.SUCCEEDED or not sections:
        return 0
    started = perf_counter()
    rows = []
    for scope in run_scopes():
        rows.append(
            SectionSummary(
                run=run,
                scope=scope.kind,
                scope_id=scope.id,
                teams=scope.teams,
                customers=_size(scope),
                figures={key: as_stored(section.build(scope, run)) for key, section in sections},
            )
        )
    with transaction.atomic():
        SectionSummary.objects.filter(run=run).delete()
        SectionSummary.objects.bulk_create(rows, batch_size=200)
        SectionSummary.objects.exclude(run=run).delete()
    logger.info(
        "Dashboard summaries of run %s: %s scopes in %.1f s",
        run.pk,
        len(rows),
        perf_counter() - started,
    )
    return len(rows)


def _size(scope):
    return scope.size if scope.size is not None else scope.customers.order_by().count()


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
