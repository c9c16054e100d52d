"""How well churn scores rank churners on differently shaped order histories.

    .venv/bin/python bench/bench_churn_quality.py

For each generator of bench/churn_generators.py: every customer with an order
before the cut-off is scored as of the day before it, from the orders before it
only; those with no order in the horizon after it are the churners. Printed per
generator: ROC AUC and top-decile lift of
- score: the churn score as the nightly step computes it (weights learned on the
  backtest inside the history before the cut-off);
- today: the score with the fixed weights fitted once on the demo data;
- recency: days since the last order;
- bgnbd: BG/NBD expected purchases in the horizon alone (fewer, riskier);
- rfm: a sum of recency, frequency and monetary quintiles (lower, riskier).
Nothing here is tuned on the period evaluated. Asserts nothing.
"""

import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pandas as pd

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.build_dataset import setup_django  # noqa: E402
from bench.churn_generators import (  # noqa: E402
    GENERATORS,
    buyers_between,
    order_stats,
    shipped_festivals,
)


def quiet_signals(stats):
    return pd.DataFrame(
        {
            "customer_id": stats["customer_id"].to_numpy(),
            "open_complaints": 0,
            "complaint_since": "",
            "grade_now": "",
            "grade_before": "",
        },
        index=stats.index,
    )


def quintiles(values):
    """1–5 by quintile of rank (ties averaged)."""
    ranks = pd.Series(values).rank(method="average", pct=True).to_numpy()
    return np.ceil(ranks * 5).clip(1, 5)


def rfm_risk(stats):
    r = quintiles(-stats["recency"].to_numpy())
    f = quintiles(stats["orders"].to_numpy())
    m = quintiles(stats["spend_total"].to_numpy())
    return -(r + f + m)


def baselines(stats, horizon):
    from retention import bgnbd, churn

    scored = churn.score_customers(stats, quiet_signals(stats))
    p = scored.purchases
    expected = bgnbd.expected_purchases(scored.params, p["x"], p["t_x"], p["T"], horizon)
    return {
        "today": scored.risk,
        "recency": stats["recency"].to_numpy(),
        "bgnbd": -expected,
        "rfm": rfm_risk(stats),
    }


def measure(history):
    from retention import evaluation, scoring

    as_of = history.cutoff - dt.timedelta(days=1)
    seen = history.orders[history.orders["order_date"] < history.cutoff]
    run = scoring.score_as_of(
        as_of,
        history.horizon_days,
        scoring.quiet_signals,
        festivals=shipped_festivals(),
        read_stats=lambda day, season: order_stats(seen, day, season),
    )
    stats = run.stats
    end = history.cutoff + dt.timedelta(days=history.horizon_days)
    labels = evaluation.churn_labels(
        stats["customer_id"], buyers_between(history.orders, history.cutoff, end)
    )
    scores = {"score": run.scored.risk, **baselines(stats, history.horizon_days)}
    figures = {
        name: (evaluation.roc_auc(values, labels), evaluation.top_decile_lift(values, labels))
        for name, values in scores.items()
    }
    return len(labels), float(labels.mean()), figures, run


NAMES = ("score", "today", "recency", "bgnbd", "rfm")


def sample_study(sizes=(2_000, 10_000, 50_000, None)):
    """The weights fitted on samples of the backtest of a large consumer-retail base,
    measured on the same held-out customers: how small a sample ranks as well."""
    import time

    from bench.churn_generators import consumer_retail
    from retention import churn, scoring

    history = consumer_retail(seed=5, customers=300_000)
    as_of = history.cutoff - dt.timedelta(days=1)
    seen = history.orders[history.orders["order_date"] < history.cutoff]
    festivals = shipped_festivals()
    print("\nfit sample (consumer retail, 300,000 customers): held-out AUC, fit seconds")
    fit, spent = churn.fit_weights, []

    def timed_fit(*args, **kwargs):
        started = time.perf_counter()
        result = fit(*args, **kwargs)
        spent.append(time.perf_counter() - started)
        return result

    churn.fit_weights = timed_fit
    for size in sizes:
        churn.FIT_SAMPLE = size or 10**9
        spent.clear()
        learned, _on = scoring.learn_weights(
            order_stats(seen, as_of),
            as_of,
            history.horizon_days,
            festivals,
            lambda day, season: order_stats(seen, day, season),
        )
        seconds = sum(spent)
        fitted = min(size or learned.customers // 2, learned.customers // 2)
        print(
            f"  {fitted:>8} of {learned.customers} backtest customers: "
            f"auc {learned.auc:.4f}, lift {learned.lift:.3f} (fit {seconds:.2f} s)",
            flush=True,
        )


def main():
    setup_django("sqlite:///:memory:")
    if "--sample-study" in sys.argv:
        sample_study()
        return
    print(
        f"{'generator':<18}{'customers':>10}{'churn':>7}  "
        + "  ".join(f"{name + ' auc/lift':>17}" for name in NAMES)
    )
    for name, generate in GENERATORS.items():
        history = generate()
        size, rate, figures, run = measure(history)
        cells = "  ".join(f"{auc:8.4f}/{lift:7.4f}" for auc, lift in figures.values())
        print(f"{name:<18}{size:>10}{rate:>7.3f}  {cells}", flush=True)
        learned = run.learned
        print(
            f"    backtest {run.backtest_on}: {learned.customers} customers, "
            f"{learned.churned} churned, weights {learned.fallback or 'learned'}, held-out "
            f"auc {learned.auc:.4f} (recency {learned.recency_auc:.4f})",
            flush=True,
        )
        if "-v" in sys.argv:
            print(f"    weights: {learned.weights}")


if __name__ == "__main__":
    main()
