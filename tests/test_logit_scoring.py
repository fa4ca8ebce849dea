"""Validation and test pairs are scored by one function, on logits (issue 20 defect 4)."""

import numpy as np
import pytest
import torch

from graphae import GAE
from graphae.data import make_communities
from graphae.evaluation import EvaluationSplit, evaluate, evaluate_pairs
from graphae.experiment import run_link_prediction
from graphae.metrics import auc_ap
from graphae.metrics_ogb import validation_scores
from graphae.models.heuristics import AdamicAdar
from graphae.training import score_pairs


class _Logits:
    """An estimator whose logits are given per pair (column index of the pairs)."""

    def __init__(self, logits):
        self.logits = np.asarray(logits, dtype=np.float32)

    def pair_logits(self, pairs):
        return self.logits[pairs[1]]


def _split(pos_targets, neg_targets):
    empty = np.empty((len(pos_targets), 0), dtype=np.int64)
    pos = np.stack([np.zeros(len(pos_targets), dtype=np.int64), pos_targets])
    neg = np.stack([np.zeros(len(neg_targets), dtype=np.int64), neg_targets])
    return EvaluationSplit(pos, neg, empty)


def test_test_auc_tells_apart_logits_where_the_sigmoid_is_one():
    # Positives 40 and 50, negatives 39 and 45: 3 of the 4 pairs are ordered right.
    # float64 sigmoids of all four are exactly 1.0, which would give 0.5.
    est = _Logits([40.0, 50.0, 39.0, 45.0])
    split = _split(np.array([0, 1]), np.array([2, 3]))
    scores = evaluate(est, split)
    assert scores["test_auc"] == 0.75
    assert scores["test_ap"] == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert evaluate_pairs(est, np.array([[0, 0, 0, 0], [0, 1, 2, 3]]), np.array([1, 1, 0, 0]))["auc"] == 0.75
    record, key = validation_scores(est.logits[:2], est.logits[2:], None)
    assert (record[key], record["val_ap"]) == (scores["test_auc"], scores["test_ap"])


def test_a_fitted_model_scores_test_pairs_as_validation_does():
    graph = make_communities(num_nodes=200, num_communities=2, random_state=0)
    result = run_link_prediction(graph, GAE(epochs=5, random_state=0), seed=0)
    est = result.estimator
    est.embedding_ = est.embedding_ * 20  # logits in the hundreds: sigmoids saturate
    pos, neg = result.split.test_pos, result.split.test_neg
    assert est.pair_logits(pos).max() > 40
    split = EvaluationSplit(pos, neg, np.empty((pos.shape[1], 0), dtype=np.int64))
    scores = evaluate(est, split)
    val = score_pairs(est.module_.decoder, torch.from_numpy(est.embedding_), pos, neg)
    assert (scores["test_auc"], scores["test_ap"]) == val


def test_a_heuristic_validates_on_the_logits_the_test_uses():
    graph = make_communities(num_nodes=120, num_communities=3, random_state=0)
    rng = np.random.default_rng(0)
    pos = np.stack(graph.adj.nonzero())[:, :40]
    neg = rng.integers(0, graph.num_nodes, size=(2, 80))
    est = AdamicAdar().fit(graph, val_pairs=(pos, neg))
    assert np.isneginf(est.pair_logits(neg)).any()  # pairs with no common neighbour score 0
    split = EvaluationSplit(pos, neg, np.empty((pos.shape[1], 0), dtype=np.int64))
    scores = evaluate(est, split)
    assert (est.history_[0]["val_auc"], est.history_[0]["val_ap"]) == (scores["test_auc"], scores["test_ap"])


def test_auc_ap_take_minus_infinity_as_the_lowest_score():
    pos, neg = np.array([3.0, -np.inf, 1.0]), np.array([-np.inf, 2.0, -np.inf, 1.0])
    finite = auc_ap(np.where(np.isinf(pos), -1e9, pos), np.where(np.isinf(neg), -1e9, neg))
    assert auc_ap(pos, neg) == finite
    with pytest.raises(ValueError, match="NaN"):
        auc_ap(np.array([np.nan, np.inf]), np.array([0.0]))
