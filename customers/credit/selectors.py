"""What pages read of credit grades: the file's panel and the dashboard's distribution,
always over the customers the viewer may see."""

from django.db.models import BooleanField, Count, ExpressionWrapper, F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from customers.models import (
    NO_CREDIT_HISTORY,
    Customer,
    Grade,
    GradeChange,
    GradePolicy,
    PipelineRun,
    no_credit_history_q,
)
from customers.selectors import _invoices_with_paid


def credit_panel(customer, user):
    """The grade in force with its policy, what the rule says, warnings and the history."""
    policies = {policy.grade: policy for policy in GradePolicy.objects.all()}
    policy = policies.get(customer.credit_grade)
    changes = list(customer.grade_changes.select_related("changed_by")[:10])
    warnings = []
    if policy is not None and customer.outstanding_amount > policy.credit_limit:
        warnings.append(
            _("Outstanding ¥%(outstanding)s exceeds the credit limit of ¥%(limit)s.")
            % {
                "outstanding": f"{customer.outstanding_amount:,.2f}",
                "limit": f"{policy.credit_limit:,.2f}",
            }
        )
    if customer.credit_grade == Grade.D:
        since = next((c.changed_at for c in changes if c.new_grade == Grade.D), None)
        new_unpaid = _unpaid_invoices_issued_since(customer, since)
        if new_unpaid:
            warnings.append(
                ngettext(
                    "%(count)s unpaid invoice issued to a D customer since the grade became D.",
                    "%(count)s unpaid invoices issued to a D customer since the grade became D.",
                    new_unpaid,
                )
                % {"count": new_unpaid}
            )
    return {
        "policy": policy,
        "changes": changes,
        "warnings": warnings,
        "rule_differs": bool(customer.suggested_grade)
        and customer.suggested_grade != customer.credit_grade,
        # A locked grade given to a customer the rule finds no invoice for.
        "assessed_without_history": customer.grade_locked
        and bool(customer.credit_grade)
        and not customer.has_credit_history,
    }


def _unpaid_invoices_issued_since(customer, since):
    invoices = _invoices_with_paid(customer)
    if since is not None:
        invoices = invoices.filter(issue_date__gte=timezone.localdate(since))
    return invoices.filter(amount__gt=F("paid")).count()


def grade_distribution(user):
    """The dashboard section's context computed now over the customers `user` may see."""
    from customers import summaries

    run = PipelineRun.objects.current()
    figures = summaries.live_figures(build_grade_distribution, user, run)
    return show_grade_distribution(figures, user, run)


# The number of worsened grades the section lists.
WORSENED_ROWS = 50


def _worsened(changes):
    """The grade changes of a run that worsened, with the order of the section's list."""
    return (
        changes.filter(new_no_history=False)
        .annotate(new_rank=Grade.rank_of("new_grade"), old_rank=Grade.rank_of("old_grade"))
        .filter(new_rank__gt=F("old_rank"))
    )


# Worst first, then by name; the id breaks ties between namesakes.
WORSENED_ORDER = ("-new_rank", "customer__name", "pk")


def _without_history(customers):
    return customers.annotate(
        without=ExpressionWrapper(no_credit_history_q(), output_field=BooleanField())
    )


def build_grade_distribution(scope, run):
    """Customers per credit grade in `scope`, those without credit history apart, and the
    grade changes of `run` that worsened (ids, in display order): two queries."""
    counts = sorted(
        [grade, bool(without), count]
        for grade, without, count in _without_history(scope.customers)
        .values_list("credit_grade", "without")
        .annotate(count=Count("id"))
        .values_list("credit_grade", "without", "count")
        .order_by()
    )
    worsened = []
    if run is not None:
        worsened = list(
            _worsened(scope.of(GradeChange.objects.filter(run=run)))
            .order_by(*WORSENED_ORDER)
            .values_list("pk", flat=True)[:WORSENED_ROWS]
        )
    return {"counts": counts, "worsened": worsened}


def _count_grade(cells, grade, without, count):
    key = (grade, bool(without))
    cells[key] = cells.get(key, 0) + count
    return cells


def build_all_grade_distributions(scopes, run):
    """build_grade_distribution of every scope of the run (customers.summaries.RunScopes):
    four queries."""
    rows = scopes.pairs(
        _without_history(Customer.objects.all()),
        "credit_grade",
        "without",
        field="",
        count=Count("id"),
    )
    counts = scopes.add_up(rows, dict, _count_grade)
    worsened = {key: [] for key in counts}
    if run is not None:
        worsened = scopes.first_rows(
            _worsened(GradeChange.objects.filter(run=run)), WORSENED_ORDER, WORSENED_ROWS, ["pk"]
        )
    return {
        key: {
            "counts": [[grade, without, n] for (grade, without), n in sorted(cells.items())],
            "worsened": [pk for (pk,) in worsened[key]],
        }
        for key, cells in counts.items()
    }


def show_grade_distribution(figures, user, run):
    """Customers per credit grade among those the user may see, those without credit
    history apart (with the grades they are treated as), and who worsened in the last run:
    one query (the worsened changes), none if none worsened."""
    counts = {(grade, without): count for grade, without, count in figures["counts"]}
    total = sum(counts.values())

    def row(grade, label, count):
        share = count / total if total else 0
        return {"grade": grade, "label": label, "count": count, "share": share}

    rows = [row(grade, label, counts.get((grade, False), 0)) for grade, label in Grade.choices]
    treated_as = [(grade, counts[grade, True]) for grade in Grade.values if (grade, True) in counts]
    without = sum(count for _grade, count in treated_as)
    worsened = []
    if figures["worsened"]:
        changes = GradeChange.objects.select_related("customer").in_bulk(figures["worsened"])
        worsened = [changes[pk] for pk in figures["worsened"] if pk in changes]
    return {
        "grades": rows,
        "without_history": row(NO_CREDIT_HISTORY, _("No credit history"), without),
        "treated_as": treated_as,
        "ungraded": counts.get(("", False), 0),
        "total": total,
        "worsened": worsened,
        "run": run,
    }
