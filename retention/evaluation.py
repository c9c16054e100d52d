"""How good a churn score is, on a time split: ROC AUC and top-decile lift.

Pure numpy: scores and 0/1 labels in, figures out. Ties are handled exactly
(average ranks for the AUC; an even share of the tied block for the lift), so
a coarse score such as recency in whole days is not flattered by luck.
"""

import math

import numpy as np
from scipy.stats import rankdata


def churn_labels(customer_ids, buyers_after):
    """1 for each customer who bought nothing in the horizon (not in `buyers_after`), else 0."""
    return (~np.isin(np.asarray(customer_ids), np.asarray(list(buyers_after)))).astype(int)


def roc_auc(scores, labels):
    """P(a random churner scores above a random stayer), ties counting one half
    (Mann–Whitney U over average ranks); None when either class is empty."""
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels).astype(bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        return None
    ranks = rankdata(scores, method="average")
    u = ranks[labels].sum() - positives * (positives + 1) / 2
    return float(u / (positives * negatives))


def top_fraction_rate(scores, labels, fraction=0.1):
    """Churn rate among the `fraction` of customers scored highest; customers tied
    at the cut count by their share of the places left."""
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels, dtype=float)
    if len(scores) == 0:
        return None
    places = max(1, math.ceil(len(scores) * fraction))
    cut = np.sort(scores)[::-1][places - 1]
    above, tied = scores > cut, scores == cut
    left = places - int(above.sum())
    return float((labels[above].sum() + left * labels[tied].mean()) / places)


def top_decile_lift(scores, labels):
    """Churn rate in the top 10 % by score over the base rate; None without churners."""
    labels = np.asarray(labels, dtype=float)
    if len(labels) == 0 or labels.sum() == 0:
        return None
    return top_fraction_rate(scores, labels, 0.1) / float(labels.mean())
