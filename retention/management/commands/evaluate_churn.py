"""Measure the churn score on a time split of the order history.

Every customer with an order before the cut-off is scored exactly as a nightly run
the day before it would score them (retention.scoring): with the horizon of the
retention settings, weights learned on a backtest inside the history before the
cut-off, orders, complaints, and the grades the credit rule gives from the payments
known then. Those who then order nothing within the evaluation's horizon are the
churners. Printed: the backtest the weights were learned on and its figures, the
base churn rate, and ROC AUC and top-decile lift of the score beside plain recency,
the BG/NBD P(alive) and the score with the default weights; the last two lines are
the score's, as `auc: X` and `top_decile_lift: Y`.
"""

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from retention import churn, evaluation, scoring
from retention.models import RetentionSettings
from retention.reading import (
    buyers_between,
    order_date_range,
    read_open_complaints,
    replay_grades,
    signals_for,
)

# Customers with an order within this many days before the cut-off: the ones a
# manager would still try to keep, where recency alone is a weaker guide.
ACTIVE_DAYS = 365


def parse_date(value, option):
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} must be a date as YYYY-MM-DD, not {value!r}.") from None


def split_dates(cutoff, horizon_days, first_order, last_order):
    """The day scored (the day before the cut-off) and the end of the horizon
    (exclusive); CommandError when the split does not fit the data."""
    if first_order is None:
        raise CommandError("There are no orders to evaluate on.")
    if cutoff <= first_order:
        raise CommandError(
            f"--cutoff {cutoff} is not after the first order ({first_order}): "
            "nobody has a history to score. Choose a date between "
            f"{first_order + dt.timedelta(days=1)} and {last_order}."
        )
    if cutoff > last_order:
        raise CommandError(
            f"--cutoff {cutoff} is after the last order ({last_order}): there is no future "
            f"to observe. Choose a date between {first_order + dt.timedelta(days=1)} "
            f"and {last_order}."
        )
    data_end = last_order + dt.timedelta(days=1)
    if horizon_days is None:
        return cutoff - dt.timedelta(days=1), data_end
    if horizon_days <= 0:
        raise CommandError(f"--horizon-days must be a positive number of days, not {horizon_days}.")
    end = cutoff + dt.timedelta(days=horizon_days)
    if end > data_end:
        raise CommandError(
            f"--horizon-days {horizon_days} reaches past the last order ({last_order}); "
            f"at most {(data_end - cutoff).days} days after --cutoff {cutoff}."
        )
    return cutoff - dt.timedelta(days=1), end


def figures(name, scores, labels):
    return {
        "score": name,
        "auc": evaluation.roc_auc(scores, labels),
        "lift": evaluation.top_decile_lift(scores, labels),
    }


def _number(value):
    return "n/a" if value is None else f"{value:.4f}"


class Command(BaseCommand):
    help = (
        "Score every customer as of a cut-off date from the orders before it, label as "
        "churned those who order nothing in the horizon after it, and print the base "
        "churn rate, ROC AUC and top-decile lift of the churn score, of plain recency and "
        "of the BG/NBD P(alive) alone."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cutoff", required=True, metavar="YYYY-MM-DD")
        parser.add_argument(
            "--horizon-days",
            type=int,
            help="Days after the cut-off in which an order means 'stayed' (default: to the "
            "end of the data).",
        )
        parser.add_argument(
            "--fit",
            action="store_true",
            help="Also fit the score's weights on this split and print them (to study the "
            "features; the score never uses weights fitted on the split it is judged on).",
        )

    def handle(self, *args, cutoff, horizon_days, fit, **options):
        cutoff = parse_date(cutoff, "--cutoff")
        first_order, last_order = order_date_range()
        as_of, end = split_dates(cutoff, horizon_days, first_order, last_order)
        # One transaction: the reads see one state of the data.
        horizon = RetentionSettings.current().horizon_days

        def read_signals(stats):
            return signals_for(stats, read_open_complaints(as_of), replay_grades(as_of))

        with transaction.atomic():
            scores = scoring.score_as_of(as_of, horizon, read_signals)
            buyers = buyers_between(cutoff, end)
        stats, scored = scores.stats, scores.scored
        default = churn.churn_risk(scored.inputs, churn.DEFAULT_WEIGHTS)
        labels = evaluation.churn_labels(stats["customer_id"], buyers)
        if labels.sum() == 0 or labels.sum() == len(labels):
            raise CommandError(
                "Everybody or nobody churned in this horizon, so the score cannot be "
                "judged; choose another cut-off or horizon."
            )
        recency = scored.purchases["recency"].to_numpy()
        results = [
            figures("recency", recency, labels),
            figures("bgnbd_p_alive", 1 - scored.p_alive(), labels),
            figures("default_weights", default, labels),
            figures("churn_score", scored.risk, labels),
        ]
        self.stdout.write(
            f"cutoff {cutoff}, scored as of {as_of}, horizon to {end - dt.timedelta(days=1)} "
            f"({(end - cutoff).days} days)"
        )
        self.stdout.write(f"BG/NBD fitted: {json.dumps(scored.params.as_dict())}")
        self._backtest(scores)
        self.stdout.write(f"customers scored: {len(labels)}, churned: {int(labels.sum())}")
        self.stdout.write(f"base churn rate: {labels.mean():.4f}")
        self._table("all customers who ordered before the cut-off", results)
        active = recency < ACTIVE_DAYS
        if 0 < labels[active].sum() < active.sum():
            self.stdout.write(
                f"base churn rate among the {int(active.sum())} who ordered in the last "
                f"{ACTIVE_DAYS} days: {labels[active].mean():.4f}"
            )
            self._table(
                f"ordered in the last {ACTIVE_DAYS} days",
                [
                    figures("recency", recency[active], labels[active]),
                    figures("bgnbd_p_alive", 1 - scored.p_alive()[active], labels[active]),
                    figures("default_weights", default[active], labels[active]),
                    figures("churn_score", scored.risk[active], labels[active]),
                ],
            )
        if fit:
            weights = churn.fit_weights(scored.inputs, labels)
            self.stdout.write(f"fitted weights: {json.dumps(weights)}")
        score = results[-1]
        self.stdout.write(f"auc: {_number(score['auc'])}")
        self.stdout.write(f"top_decile_lift: {_number(score['lift'])}")

    def _backtest(self, scores):
        learned = scores.learned
        if scores.backtest_on is None:
            self.stdout.write(f"backtest: none ({learned.fallback}); default weights")
        else:
            weights = "learned" if not learned.fallback else f"default ({learned.fallback})"
            self.stdout.write(
                f"backtest: as of {scores.backtest_on}, horizon {scores.horizon_days} days, "
                f"{learned.customers} customers, {learned.churned} churned "
                f"(base rate {_number(learned.base_rate)}); weights {weights}"
            )
            self.stdout.write(
                f"backtest on {learned.held_out} held-out customers: score auc "
                f"{_number(learned.auc)} lift {_number(learned.lift)}, recency auc "
                f"{_number(learned.recency_auc)} lift {_number(learned.recency_lift)}"
            )
        self.stdout.write(f"weights used: {json.dumps(learned.weights)}")

    def _table(self, title, rows):
        self.stdout.write(f"{title}:")
        self.stdout.write(f"  {'score':<16}{'auc':>8}{'lift':>8}")
        for row in rows:
            self.stdout.write(
                f"  {row['score']:<16}{_number(row['auc']):>8}{_number(row['lift']):>8}"
            )
