"""OGB's protocol: Hits@K and MRR as OGB's Evaluator computes them, and runs on an official split."""

import numpy as np
import pytest

from graphae.data import load_ogbl
from graphae.evaluation import official_score_of
from graphae.experiment import make_estimator, official_keys, run_link_prediction
from graphae.metrics_ogb import MetricPairs, hits_at_k, mrr, official_score
from graphae.pairs import pair_keys
from ogb_helpers import write_ogbl


def _evaluator(name: str):
    ogb = pytest.importorskip("ogb.linkproppred")
    return ogb.Evaluator(name)


def _ogb_mrr(pos: np.ndarray, neg: np.ndarray) -> float:
    """OGB's MRR, through its torch branch (its numpy branch calls ``sum(dim=1)`` on an array)."""
    import torch

    result = _evaluator("ogbl-citation2").eval(
        {"y_pred_pos": torch.as_tensor(pos), "y_pred_neg": torch.as_tensor(neg).reshape(len(pos), -1)}
    )
    return float(result["mrr_list"].mean())


@pytest.mark.parametrize(("name", "k"), [("ogbl-ddi", 20), ("ogbl-collab", 50), ("ogbl-ppa", 100)])
@pytest.mark.parametrize("ties", [False, True])
def test_hits_at_k_equals_ogbs_evaluator(name, k, ties):
    evaluator = _evaluator(name)
    rng = np.random.default_rng(k + ties)
    for num_neg in (k - 1, k, 3 * k, 1000):  # fewer negatives than K: 1.0, as OGB says
        pos, neg = rng.normal(size=500), rng.normal(size=num_neg)
        if ties:  # coarse scores: positives level with the K-th negative must not count
            pos, neg = np.round(pos, 1), np.round(neg, 1)
            pos[:50] = np.sort(neg)[-k] if num_neg >= k else 0.0
        want = evaluator.eval({"y_pred_pos": pos, "y_pred_neg": neg})[f"hits@{k}"]
        assert hits_at_k(pos, neg, k) == want
        assert official_score(f"hits@{k}", pos, neg) == want


@pytest.mark.parametrize("ties", [False, True])
def test_mrr_equals_ogbs_evaluator(ties):
    rng = np.random.default_rng(7)
    pos, neg = rng.normal(size=300), rng.normal(size=(300, 1000))
    if ties:
        pos, neg = np.round(pos, 1), np.round(neg, 1)
        neg[:20, :5] = pos[:20, None]  # optimistic and pessimistic ranks differ
    want = _ogb_mrr(pos, neg)
    assert mrr(pos, neg) == pytest.approx(want, rel=1e-6)  # OGB's 1/rank is float32
    assert official_score("mrr", pos, neg.ravel()) == pytest.approx(want, rel=1e-6)


def test_hand_computed_values():
    # K = 2: the 2nd best negative is 0.5; 0.5 itself does not count.
    assert hits_at_k(np.array([0.9, 0.5, 0.6, 0.1]), np.array([0.2, 0.5, 0.7]), 2) == 0.5
    # ranks: 1 (above both), 2.5 (tied with one, below one: (1 + 2) / 2 + 1)
    assert mrr(np.array([1.0, 0.5]), np.array([[0.0, 0.2], [0.5, 0.9]])) == pytest.approx((1 + 1 / 2.5) / 2)


@pytest.mark.parametrize("name", ["ogbl-ddi", "ogbl-citation2"])
def test_a_run_trains_on_the_official_edges_and_scores_like_ogb(tmp_path, name):
    graph = load_ogbl(name, write_ogbl(tmp_path, name).parent)
    split = graph.official_split
    result = run_link_prediction(graph, make_estimator("gae", epochs=5), seed=0)
    est = result.estimator
    # Never re-split: the model saw every training edge and nothing else.
    assert result.split is split
    assert np.array_equal(
        est.graph_.edge_keys(), np.unique(pair_keys(split.train, graph.num_nodes, graph.directed))
    )
    evaluator = _evaluator(name)
    valid_key, test_key = official_keys(split.metric)
    for stage, key in (("valid", valid_key), ("test", test_key)):
        pos = est.pair_logits(getattr(split, f"{stage}_pos")).astype(np.float64)
        neg = est.pair_logits(getattr(split, f"{stage}_neg")).astype(np.float64)
        if split.metric == "mrr":
            assert result.scores[key] == pytest.approx(_ogb_mrr(pos, neg), rel=1e-6)
        else:
            assert result.scores[key] == evaluator.eval({"y_pred_pos": pos, "y_pred_neg": neg})["hits@20"]
    assert result.num_parameters == sum(p.numel() for p in est.module_.parameters()) > 0


def test_select_best_uses_the_official_validation_metric(tmp_path):
    graph = load_ogbl("ogbl-ddi", write_ogbl(tmp_path, "ogbl-ddi").parent)
    result = run_link_prediction(graph, make_estimator("gae", epochs=30, select_best=True), seed=1)
    history = result.history
    best_hits = max(history, key=lambda r: r["val_hits@20"])["epoch"]
    best_auc = max(history, key=lambda r: r["val_auc"])["epoch"]
    assert best_hits != best_auc  # this seed tells them apart
    assert result.estimator.best_epoch_ == best_hits
    # The final validation figure is that of the selected parameters.
    valid = official_score_of(
        result.estimator, graph.official_split.valid_pos, graph.official_split.valid_neg, "hits@20"
    )
    assert result.scores["valid_hits@20"] == valid == result.history[best_hits - 1]["val_hits@20"]


def test_heuristics_record_the_official_validation_metric(tmp_path):
    graph = load_ogbl("ogbl-collab", write_ogbl(tmp_path, "ogbl-collab").parent)
    result = run_link_prediction(graph, make_estimator("adamic_adar"), seed=0)
    assert result.history[0]["val_hits@50"] == result.scores["valid_hits@50"]
    assert result.num_parameters == 0


def test_metric_pairs_are_val_pairs():
    pos, neg = np.zeros((2, 3), dtype=np.int64), np.ones((2, 4), dtype=np.int64)
    pairs = MetricPairs(pos, neg, "hits@20")
    first, second = pairs
    assert first is pos and second is neg and pairs.metric == "hits@20"
    with pytest.raises(ValueError, match=r"Unknown metric 'auc@3': expected 'hits@K' or 'mrr'\."):
        MetricPairs(pos, neg, "auc@3")
