import pytest

from retention import evaluation


@pytest.mark.parametrize(
    ("scores", "labels", "expected"),
    [
        # Churners above every stayer, and below every stayer.
        ([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], 1.0),
        ([0.8, 0.9, 0.1, 0.2], [0, 0, 1, 1], 0.0),
        # Pairs (churner, stayer): (0.35, 0.1) right, (0.35, 0.4) wrong, (0.8, ·) right twice.
        ([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.75),
        # Everybody tied: each pair counts one half.
        ([5, 5, 5, 5], [0, 1, 0, 1], 0.5),
        # (3, 1) right, (3, 3) tie, (2, 1) right, (2, 3) wrong: (1 + 0.5 + 1 + 0) / 4.
        ([1, 3, 3, 2], [0, 0, 1, 1], 0.625),
    ],
)
def test_auc_on_hand_computed_examples(scores, labels, expected):
    assert evaluation.roc_auc(scores, labels) == pytest.approx(expected)


@pytest.mark.parametrize("labels", [[0, 0, 0], [1, 1, 1], []])
def test_auc_without_both_classes_is_undefined(labels):
    assert evaluation.roc_auc(list(range(len(labels))), labels) is None


def test_top_decile_lift_is_the_churn_rate_of_the_top_tenth_over_the_base_rate():
    scores = list(range(20))
    # The two highest scores (the top 10 %) both churned; 5 of 20 churned overall.
    labels = [0] * 15 + [1, 1, 1] + [1, 1]
    assert evaluation.top_decile_lift(scores, labels) == pytest.approx(1.0 / 0.25)


def test_customers_tied_at_the_decile_cut_count_by_their_share():
    # Ten customers, one place in the top tenth, all tied: the place holds the average.
    labels = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    assert evaluation.top_fraction_rate([7] * 10, labels, 0.1) == pytest.approx(0.2)
    assert evaluation.top_decile_lift([7] * 10, labels) == pytest.approx(1.0)
    # Two tied at the top for one place: half of one churner.
    assert evaluation.top_fraction_rate(
        [9, 9, 1, 1, 1, 1, 1, 1, 1, 1], labels, 0.1
    ) == pytest.approx(0.5)


def test_lift_without_churners_is_undefined():
    assert evaluation.top_decile_lift([1, 2, 3], [0, 0, 0]) is None


def test_churned_are_the_scored_customers_who_did_not_buy_afterwards():
    assert evaluation.churn_labels([10, 11, 12, 13], {11, 13, 99}).tolist() == [1, 0, 1, 0]
    assert evaluation.churn_labels([10, 11], set()).tolist() == [1, 1]
