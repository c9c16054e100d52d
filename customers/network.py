"""The distribution network: who supplies whom (总经销 → 批发商 → 终端).

Each customer has at most one supplier (`Customer.parent`). The customers below
one, at every depth, are read with one recursive query (WITH RECURSIVE, on
PostgreSQL and SQLite alike; UNION rather than UNION ALL, so that even a loop in
old data ends). A supplier can never be the customer itself or one of the
customers below it: `creates_cycle` is the one check, used by the site's form
and the admin; imports check their whole file with `import_cycles`.
"""

import datetime as dt
from decimal import Decimal

import pandas as pd
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, PipelineRun, PurchaseFigure, no_credit_history_q

SUPPLIER_CYCLE = _("A customer cannot be supplied by itself or by one of its own buyers.")
# Direct customers listed on a supplier's file; the rest are one click away in the list.
SHOWN_DOWNSTREAM = 50
PURCHASE_DAYS = 365
MAX_DEPTH = 256
SUPPLYING_ROLES = (Customer.ChannelRole.GENERAL_DISTRIBUTOR, Customer.ChannelRole.WHOLESALER)


def _below_sql():
    table = connection.ops.quote_name(Customer._meta.db_table)
    children = f"SELECT c.id FROM {table} c JOIN below b ON c.parent_id = b.id"
    if connection.vendor == "postgresql":
        # The planner guesses the level far too large and hashes the whole table at each
        # step; a lateral subquery it may not flatten (OFFSET 0) probes the parent index.
        children = (
            f"SELECT c.id FROM below b CROSS JOIN LATERAL "
            f"(SELECT id FROM {table} WHERE parent_id = b.id OFFSET 0) c"
        )
    return (
        f"WITH RECURSIVE below(id) AS ("
        f"SELECT id FROM {table} WHERE parent_id = %s UNION {children}"
        f") SELECT id FROM below"
    )


def below_q(customer_id) -> Q:
    """Customers below `customer_id` at any depth (not the customer itself)."""
    return Q(pk__in=RawSQL(_below_sql(), [customer_id]))


def under_q(customer_id) -> Q:
    """The row's customer is below `customer_id` at any depth: its chain of suppliers,
    walked up from the row (a primary-key probe a level, a few levels deep), reaches
    `customer_id`. For filtering a few rows (suggestions), where walking the whole network
    below `customer_id` would cost more than the rows themselves."""
    table = connection.ops.quote_name(Customer._meta.db_table)
    sql = (
        f"EXISTS (WITH RECURSIVE up(id, depth) AS ("
        f"SELECT u.parent_id, 1 FROM {table} u WHERE u.id = {table}.id "
        f"UNION ALL SELECT u.parent_id, up.depth + 1 FROM {table} u JOIN up ON u.id = up.id "
        f"WHERE up.depth < {MAX_DEPTH}) SELECT 1 FROM up WHERE up.id = %s)"
    )
    return Q(RawSQL(sql, [customer_id], output_field=BooleanField()))


def creates_cycle(customer_id, supplier_id) -> bool:
    """Whether making `supplier_id` the supplier of `customer_id` would close a loop: it is
    the customer itself or one of the customers below it. One query."""
    if customer_id is None or supplier_id is None:
        return False
    if customer_id == supplier_id:
        return True
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM ({_below_sql()}) AS below_ids WHERE id = %s",
            [customer_id, supplier_id],
        )
        return cursor.fetchone() is not None


def purchases_since(today=None) -> dt.date:
    """The first day of the purchases counted on the network panel: the last 12 months."""
    return (today or timezone.localdate()) - dt.timedelta(days=PURCHASE_DAYS - 1)


def with_purchases(customers):
    """Join each customer's purchases over the 12 months up to the current run's date
    (customers.purchases: a stored figure, one probe of the (run, customer) index);
    `Sum(PURCHASES)` adds them up, `F(PURCHASES)` reads one (None without purchases)."""
    return customers.annotate(
        purchase_figure=FilteredRelation(
            "purchasefigure",
            condition=Q(purchasefigure__run_id=PipelineRun.objects.current_id()),
        )
    )


PURCHASES = "purchase_figure__purchases"


def downstream_panel(customer, user):
    """A distributor's or wholesaler's direct customers that `user` may see, by channel
    role, with their purchases over the last 12 months, and the totals of the whole
    sub-network below (every depth, still only what `user` may see: a customer the viewer
    may not see is neither counted nor summed). Purchases are the current run's figures.
    Four queries (the run's date, the shown rows, the sums by role, the network by grade);
    None (no panel) for a customer that supplies nobody by its role."""
    if customer.channel_role not in SUPPLYING_ROLES:
        return None
    visible = Customer.objects.visible_to(user)
    run = PipelineRun.objects.published().values_list("as_of", flat=True).first()
    direct = with_purchases(visible.filter(parent=customer))
    shown = list(
        direct.annotate(purchases=F(PURCHASES)).order_by("channel_role", "name", "id")[
            :SHOWN_DOWNSTREAM
        ]
    )
    by_role = {
        row["channel_role"]: row
        for row in direct.order_by()
        .values("channel_role")
        .annotate(count=Count("id"), purchases=Sum(PURCHASES))
    }
    # The walk's size is unknown to the planner (it guesses far too many), so each
    # customer's figure is a probe of the (run, customer) index, never a hash of the run.
    figure = PurchaseFigure.objects.filter(
        run_id=PipelineRun.objects.current_id(), customer=OuterRef("pk")
    ).values("purchases")[:1]
    grades = {
        row["shown_grade"]: row
        for row in visible.filter(below_q(customer.pk))
        .order_by()
        .annotate(shown_grade=_shown_grade(), figure=Subquery(figure))
        .values("shown_grade")
        .annotate(count=Count("id"), purchases=Sum("figure"))
    }
    totals = {
        "count": sum(row["count"] for row in grades.values()),
        "purchases": sum((row["purchases"] or 0 for row in grades.values()), Decimal(0)),
    }
    return {
        "groups": _groups(shown, by_role),
        "direct_count": sum(row["count"] for row in by_role.values()),
        "shown_count": len(shown),
        "network": totals,
        "grades": [(grade, grades[grade]["count"]) for grade in GRADE_ORDER if grade in grades],
        "since": purchases_since(run) if run else None,
        "as_of": run,
    }


GRADE_ORDER = ["A", "B", "C", "D", "none", ""]


def _shown_grade():
    """The grade as the file shows it: a letter, 'none' (no credit history), '' (ungraded)."""
    return Case(
        When(no_credit_history_q(), then=Value("none")),
        default="credit_grade",
        output_field=CharField(),
    )


def _groups(shown, by_role):
    groups = []
    for role in Customer.ChannelRole:
        if role not in by_role:
            continue
        rows = [child for child in shown if child.channel_role == role]
        groups.append(
            {
                "role": role.label,
                "count": by_role[role]["count"],
                "purchases": by_role[role]["purchases"],
                "customers": rows,
            }
        )
    return groups


# Imports -----------------------------------------------------------------------------------


def import_cycles(file_parents: pd.DataFrame, known_parents: pd.DataFrame) -> pd.Series:
    """The references of the file whose supplier, once the file is written, would lead back
    to themselves.

    `file_parents`: customer_ref and parent_ref of the file's rows that name a supplier;
    `known_parents`: customer_ref and parent_ref of the recorded customers that have one
    (the file's rows replace them). Walked set-wise: one step up for all rows at a time."""
    edges = pd.concat(
        [
            known_parents.loc[~known_parents["customer_ref"].isin(file_parents["customer_ref"])],
            file_parents,
        ],
        ignore_index=True,
    ).drop_duplicates("customer_ref", keep="last")
    up = pd.Series(edges["parent_ref"].to_numpy(), index=edges["customer_ref"].to_numpy())
    start = file_parents["customer_ref"].drop_duplicates().to_numpy()
    current = pd.Series(up.reindex(start).to_numpy(), index=start)
    looping = []
    # Each round climbs one level. Real chains are a few levels deep; a row still climbing
    # after MAX_DEPTH rounds leads into an older loop of which it is no part.
    for _round in range(min(len(up), MAX_DEPTH) + 1):
        back = current.notna() & (current.to_numpy() == current.index.to_numpy())
        looping.extend(current.index[back])
        current = current[current.notna() & ~back]
        if current.empty:
            break
        current = pd.Series(up.reindex(current.to_numpy()).to_numpy(), index=current.index)
    return pd.Series(sorted(looping), dtype=object)
