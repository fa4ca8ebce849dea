import numpy as np
import pytest

from graphae.metrics import auc_ap, hits_at_k, mean_reciprocal_rank


def test_auc_ap_perfect_and_by_hand():
    assert auc_ap([3, 4], [1, 2]) == (1.0, 1.0)
    # One of four positive-negative pairs misordered: AUC 3/4.
    auc, ap = auc_ap([0.9, 0.4], [0.5, 0.1])
    assert auc == pytest.approx(0.75)
    assert ap == pytest.approx((1 + 2 / 3) / 2)


def test_scores_need_both_classes():
    with pytest.raises(ValueError, match="at least one positive and one negative"):
        auc_ap([], [1.0])


def test_hits_at_k_and_mrr():
    pos = np.array([5.0, 3.0, 1.0])
    neg = np.array([4.0, 2.0, 0.0])
    assert hits_at_k(pos, neg, k=1) == pytest.approx(1 / 3)
    assert hits_at_k(pos, neg, k=2) == pytest.approx(2 / 3)
    assert hits_at_k(pos, neg, k=10) == 1.0
    # Ranks among negatives: 1, 2, 3.
    assert mean_reciprocal_rank(pos, neg) == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    with pytest.raises(ValueError, match="'k' parameter of hits_at_k"):
        hits_at_k(pos, neg, k=0)
