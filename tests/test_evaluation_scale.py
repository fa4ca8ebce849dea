"""Evaluation that scales (issue 22): ranking a sample of test edges, k-means and the probe on
samples of nodes, the phases of a run; below the sizes, the full computation as before."""

import json

import numpy as np
import pytest
from sklearn.cluster import KMeans

import graphae.evaluation as evaluation
import graphae.metrics_nodes as metrics_nodes
from graphae import GAE
from graphae.cli import main
from graphae.data import make_communities
from graphae.errors import InputError
from graphae.evaluation import EvaluationSplit, evaluate, ranking_sample_of
from graphae.experiment import run_link_prediction
from graphae.metrics import ranking_metrics
from graphae.metrics_nodes import kmeans_labels, probe_split
from graphae.split import split_edges

FAST = ["--epochs", "2", "--device", "cpu", "--threads", "1", "--quiet"]


class Scorer:
    """A fitted model stand-in: fixed logits of node pairs, a fixed embedding."""

    def __init__(self, n: int) -> None:
        self.embedding_ = np.random.default_rng(5).normal(size=(n, 8)).astype(np.float32)

    def pair_logits(self, pairs: np.ndarray) -> np.ndarray:
        return np.sin(pairs[0] * 0.37 + pairs[1] * 0.11).astype(np.float32)


@pytest.fixture(scope="module")
def graph():
    return make_communities(num_nodes=600, num_communities=4, num_features=30, random_state=1)


@pytest.fixture(scope="module")
def split(graph):
    return split_edges(graph, random_state=2)


def _logits(pairs):
    return Scorer(1).pair_logits(pairs).astype(np.float64)


def test_below_the_sample_size_every_test_edge_is_ranked_as_before(graph, split):
    ev = EvaluationSplit.from_split(graph, split, seed=2)
    assert ev.ranking_index is None and ev.ranking_neg.shape == (split.test_pos.shape[1], 100)
    assert ev.describe()["ranking"] == {
        "test_edges": 240,
        "ranked_test_edges": 240,
        "negatives_per_edge": 100,
        "sampled": False,
    }
    scores = evaluate(Scorer(graph.num_nodes), ev, random_state=2)
    pos = _logits(ev.test_pos)
    own = _logits(np.stack([np.repeat(ev.test_pos[0], 100), ev.ranking_neg.ravel()])).reshape(-1, 100)
    full = ranking_metrics(pos, own, _logits(ev.test_neg))
    assert scores["test_mrr"] == full["mrr"] and scores["test_mrr_shared"] == full["mrr_shared"]
    assert scores["test_hits_at_20"] == full["hits_at_20"]
    z = Scorer(graph.num_nodes).embedding_.astype(np.float64)
    assert np.array_equal(kmeans_labels(z, 4, 2), KMeans(4, n_init=10, random_state=2).fit_predict(z))


def test_a_sample_of_test_edges_is_ranked_against_its_own_negatives(graph, split):
    ev = EvaluationSplit.from_split(graph, split, seed=2, ranking_sample=50)
    index = ev.ranking_index
    assert len(index) == 50 and np.all(np.diff(index) > 0) and index.max() < ev.test_pos.shape[1]
    assert ev.ranking_neg.shape == (50, 100) and ev.test_pos.shape[1] == 240  # every edge, for AUC
    assert ev.describe()["ranking"]["ranked_test_edges"] == 50 and ev.describe()["ranking"]["sampled"]
    again = EvaluationSplit.from_split(graph, split, seed=2, ranking_sample=50)
    assert np.array_equal(again.ranking_index, index) and np.array_equal(again.ranking_neg, ev.ranking_neg)
    other = EvaluationSplit.from_split(graph, split, seed=3, ranking_sample=50)
    assert not np.array_equal(other.ranking_index, index)
    # negatives of the sampled edges are non-edges of their sources
    assert not graph.adj[np.repeat(ev.test_pos[0, index], 100), ev.ranking_neg.ravel()].any()

    scores = evaluate(Scorer(graph.num_nodes), ev, random_state=2)
    pos = _logits(ev.test_pos)
    sampled = ev.test_pos[:, index]
    own = _logits(np.stack([np.repeat(sampled[0], 100), ev.ranking_neg.ravel()])).reshape(-1, 100)
    want = ranking_metrics(pos[index], own, None)
    assert scores["test_mrr"] == want["mrr"] and scores["test_hits_at_50"] == want["hits_at_50"]
    shared = ranking_metrics(pos, None, _logits(ev.test_neg))  # every test edge, sampled or not
    assert scores["test_mrr_shared"] == shared["mrr_shared"]


def test_the_default_samples_above_the_named_size(graph, split, monkeypatch):
    monkeypatch.setattr(evaluation, "RANKING_SAMPLE_SIZE", 30)
    assert EvaluationSplit.from_split(graph, split, seed=2).ranking_neg.shape == (30, 100)
    assert EvaluationSplit.from_split(graph, split, seed=2, ranking_sample=0).ranking_index is None
    assert ranking_sample_of(30, None, 0) is None and len(ranking_sample_of(31, None, 0)) == 30


def test_a_sampled_split_file_round_trips_and_a_bad_index_is_refused(graph, split, tmp_path):
    ev = EvaluationSplit.from_split(graph, split, seed=2, ranking_sample=40)
    ev.save(tmp_path / "split.npz")
    back = EvaluationSplit.load(tmp_path / "split.npz", graph.num_nodes)
    assert np.array_equal(back.ranking_index, ev.ranking_index)
    est = Scorer(graph.num_nodes)
    assert evaluate(est, back, random_state=0) == evaluate(est, ev, random_state=0)
    arrays = dict(np.load(tmp_path / "split.npz"))
    arrays["ranking_index"] = arrays["ranking_index"] + 1000
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(InputError, match="ranking_index must hold indices of test edges"):
        EvaluationSplit.load(tmp_path / "bad.npz", graph.num_nodes)


def test_bad_ranking_sample_is_named(graph):
    with pytest.raises(InputError, match="'ranking_sample' parameter must be None or an int >= 0"):
        run_link_prediction(graph, GAE(epochs=1), ranking_sample=-1)


def test_kmeans_above_the_node_sample_size_fits_a_sample_and_assigns_every_node(monkeypatch):
    monkeypatch.setattr(metrics_nodes, "NODE_SAMPLE_SIZE", 200)
    z = np.random.default_rng(0).normal(size=(500, 4))
    rows = metrics_nodes.kmeans_sample(500, 3, 7)
    assert len(rows) == 200 and np.array_equal(rows, metrics_nodes.kmeans_sample(500, 3, 7))
    want = KMeans(3, n_init=3, random_state=7).fit(z[rows]).predict(z)
    assert np.array_equal(kmeans_labels(z, 3, 7), want)
    assert metrics_nodes.node_sampling(np.zeros(500, dtype=np.int64), None)["clustering"]["fit_nodes"] == 200


def test_the_probe_trains_and_scores_on_bounded_samples(monkeypatch):
    y = np.repeat(np.arange(5), [1000, 1000, 1000, 1000, 20])
    full_train, full_test = probe_split(y, None, random_state=1)
    monkeypatch.setattr(metrics_nodes, "PROBE_TRAIN_SIZE", 100)
    monkeypatch.setattr(metrics_nodes, "NODE_SAMPLE_SIZE", 1000)
    train, test = probe_split(y, None, random_state=1)
    assert set(train) <= set(full_train) and set(test) <= set(full_test)
    assert 100 <= len(train) <= 105 and set(y[train]) == set(range(5))  # every class trains
    assert len(test) == 1000 and np.all(np.diff(test) > 0)
    again = probe_split(y, None, random_state=1)
    assert np.array_equal(again[0], train) and np.array_equal(again[1], test)
    assert not np.array_equal(probe_split(y, None, random_state=2)[0], train)
    info = metrics_nodes.node_sampling(y, train, test)["probe"]
    assert info == {
        "train_nodes": len(train),
        "max_train_nodes": 100,
        "test_nodes": 1000,
        "max_test_nodes": 1000,
    }
    # the data set's own split is bounded alike
    own_train, own_test = probe_split(y, (full_train, full_test), random_state=1)
    assert len(own_train) <= 105 and len(own_test) == 1000


def test_train_records_the_samples_and_the_phases(tmp_path, capsys):
    g = make_communities(num_nodes=300, num_communities=3, num_features=20, random_state=1)
    path = tmp_path / "edges.csv"
    path.write_text("".join(f"{a},{b}\n" for a, b in np.argwhere(np.triu(g.adj.toarray()))))
    out = tmp_path / "run"
    argv = ["train", "--edges", str(path), *FAST, "--ranking-sample", "25", "--out", str(out)]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["evaluation"]["ranking"]["ranked_test_edges"] == 25
    assert "clustering" not in metrics["evaluation"]  # no labels
    assert [p["phase"] for p in metrics["phases"]] == [
        "read",
        "split",
        "ranking negatives",
        "training",
        "evaluation",
    ]
    assert all(p["seconds"] >= 0 and p["peak_rss_gib"] > 0 for p in metrics["phases"])
    assert 0 <= metrics["phases"][3]["steps_seconds"] <= metrics["phases"][3]["seconds"]
    capsys.readouterr()
    assert main(["evaluate", "--model", str(out)]) == 0  # the sampled split file is read back
    assert json.loads(capsys.readouterr().out)["test_mrr"] == metrics["test_mrr"]["mean"]


def test_train_announces_its_phases_on_a_large_graph(tmp_path, capsys, monkeypatch):
    import graphae.cli.runs

    monkeypatch.setattr(graphae.cli.runs, "LOUD_EDGES", 100)  # as if the graph had 1M edges
    g = make_communities(num_nodes=200, num_communities=2, num_features=10, random_state=1)
    path = tmp_path / "edges.csv"
    path.write_text("".join(f"{a},{b}\n" for a, b in np.argwhere(np.triu(g.adj.toarray()))))
    argv = ["train", "--edges", str(path), "--epochs", "2", "--device", "cpu", "--threads", "1"]
    assert main([*argv, "--out", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    assert f"run 1/1  splitting {g.num_edges:,} edges ...\n" in err
    for phase in ("split", "ranking negatives", "training", "evaluation"):
        assert f"run 1/1  {phase}: " in err
    assert "run 1/1  scoring " in err and " s, peak RSS " in err
    assert f"wrote {tmp_path / 'run'} (" in err
    assert main([*argv, "--quiet"]) == 0
    assert capsys.readouterr().err == ""
