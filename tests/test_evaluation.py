"""Scores beyond balanced AUC in a run, in the run folder, and in `graphae evaluate`."""

import json

import numpy as np
import pytest

from cli_helpers import user_error
from graphae import GAE
from graphae.cli import main
from graphae.data import make_communities
from graphae.data.files import read_labelled_pairs
from graphae.data.text import GraphFileError
from graphae.errors import InputError
from graphae.evaluation import METRICS, NODE_METRICS, EvaluationSplit, evaluate, evaluate_pairs
from graphae.experiment import run_link_prediction

FAST = ["--epochs", "20", "--device", "cpu", "--threads", "1", "--quiet"]


@pytest.fixture(scope="module")
def graph():
    return make_communities(num_nodes=300, num_communities=3, num_features=60, random_state=1)


@pytest.fixture(scope="module")
def result(graph):
    return run_link_prediction(graph, GAE(epochs=40, loss="sampled", device="cpu"), seed=2)


def test_a_run_reports_every_metric(result):
    scores = result.scores
    assert set(scores) == set(METRICS)
    assert scores["test_auc"] == result.test_auc and scores["test_ap"] == result.test_ap
    assert all(0.0 <= v <= 1.0 for v in scores.values() if v is not None)
    hits = [scores[f"test_hits_at_{k}"] for k in (10, 20, 50)]
    assert hits == sorted(hits)
    # recomputed by hand from the model's scores: rank = 1 + own negatives above (ties half)
    ev, est = result.evaluation, result.estimator
    pos = est.pair_logits(ev.test_pos).astype(np.float64)
    own = est.pair_logits(np.stack([np.repeat(ev.test_pos[0], 100), ev.ranking_neg.ravel()]))
    own = own.astype(np.float64).reshape(-1, 100)
    rank = 1 + (own > pos[:, None]).sum(1) + 0.5 * (own == pos[:, None]).sum(1)
    assert scores["test_hits_at_20"] == pytest.approx(np.mean(rank <= 20))
    assert scores["test_mrr"] == pytest.approx(np.mean(1 / rank))
    # Untrained (epochs=1, lr=1e-12, same split and seed): AUC 0.703, MRR 0.139; trained:
    # AUC 0.826, MRR 0.189.
    assert scores["test_auc"] > 0.76 and scores["test_mrr"] > 0.16
    # Planted communities: chance is 1/3. An untrained GCN's embedding already clusters (0.977)
    # and classifies (0.974) them: this checks that the node metrics are wired, not learning.
    assert scores["cluster_acc"] > 0.9 and scores["probe_accuracy"] > 0.9


def test_hits_at_k_that_cannot_fail_are_left_out(graph, result):
    # 100 own negatives: a positive misses the top 100 only below all of them, so
    # Hits@100 was 1.0 in every run, even at AUC 0.34. Left out (None); the others stay.
    scores = result.scores
    assert scores["test_hits_at_100"] is None
    assert all(scores[f"test_hits_at_{k}"] is not None for k in (10, 20, 50))
    assert all(scores[f"test_hits_at_{k}_shared"] is not None for k in (10, 20, 50, 100))
    few = EvaluationSplit.from_split(graph, result.split, seed=2, num_negatives=20)
    fewer = evaluate(result.estimator, few)
    assert [fewer[f"test_hits_at_{k}"] is None for k in (10, 20, 50, 100)] == [False, True, True, True]
    # shared negatives: the same rule, for evaluate_pairs too
    pairs = np.hstack([result.evaluation.test_pos[:, :30], result.evaluation.test_neg[:, :15]])
    out = evaluate_pairs(result.estimator, pairs, np.r_[np.ones(30), np.zeros(15)])
    assert out["hits_at_10"] is not None and out["hits_at_20"] is None and out["hits_at_100"] is None


def test_ranking_negatives_are_fixed_by_the_seed_and_never_edges(graph, result):
    ev = result.evaluation
    assert ev.ranking_neg.shape == (ev.test_pos.shape[1], 100)
    sources = np.repeat(ev.test_pos[0], 100)
    assert not np.asarray(graph.adj[sources, ev.ranking_neg.ravel()]).any()
    again = EvaluationSplit.from_split(graph, result.split, seed=2)
    assert np.array_equal(again.ranking_neg, ev.ranking_neg)
    assert not np.array_equal(
        EvaluationSplit.from_split(graph, result.split, seed=3).ranking_neg, ev.ranking_neg
    )


def test_without_labels_the_node_metrics_are_none(graph):
    bare = graph.replace(y=None)
    scores = run_link_prediction(bare, GAE(epochs=3, device="cpu"), seed=0, ranking_negatives=0).scores
    assert all(scores[name] is None for name in NODE_METRICS)
    assert scores["test_mrr"] is None and scores["test_mrr_shared"] is not None


def test_bad_ranking_negatives_is_named(graph):
    with pytest.raises(InputError, match="'ranking_negatives' parameter must be an int >= 0. Got -1"):
        run_link_prediction(graph, GAE(epochs=1), ranking_negatives=-1)


def test_split_file_round_trip_gives_the_same_scores(result, tmp_path):
    path = tmp_path / "split.npz"
    result.evaluation.save(path)
    loaded = EvaluationSplit.load(path, 300)
    assert evaluate(result.estimator, loaded, random_state=2) == result.scores


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"test_pos": np.zeros((2, 3), int)}, "missing"),
        (
            {
                "test_pos": np.zeros((2, 3)),
                "test_neg": np.zeros((2, 3), int),
                "ranking_neg": np.zeros((3, 1), int),
            },
            "not node indices",
        ),
        (
            {
                "test_pos": np.full((2, 3), 999),
                "test_neg": np.zeros((2, 3), int),
                "ranking_neg": np.zeros((3, 1), int),
            },
            "not node indices",
        ),
        (
            {
                "test_pos": np.zeros((2, 3), int),
                "test_neg": np.zeros((2, 3), int),
                "ranking_neg": np.zeros((4, 1), int),
            },
            "one row per test edge",
        ),
    ],
)
def test_a_damaged_split_file_is_refused(tmp_path, arrays, message):
    path = tmp_path / "split.npz"
    np.savez(path, **arrays)
    with pytest.raises(InputError, match=message):
        EvaluationSplit.load(path, 300)
    path.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a readable graphae split file"):
        EvaluationSplit.load(path, 300)


def test_evaluate_pairs_matches_the_test_split(result):
    ev = result.evaluation
    pairs = np.concatenate([ev.test_pos, ev.test_neg], axis=1)
    labels = np.r_[np.ones(ev.test_pos.shape[1]), np.zeros(ev.test_neg.shape[1])]
    scores = evaluate_pairs(result.estimator, pairs, labels)
    assert scores["auc"] == result.test_auc and scores["ap"] == result.test_ap
    assert scores["hits_at_50"] == result.scores["test_hits_at_50_shared"]
    assert scores["mrr"] == result.scores["test_mrr_shared"]
    with pytest.raises(InputError, match="at least one pair labelled 1 and one labelled 0"):
        evaluate_pairs(result.estimator, pairs, np.ones(len(labels)))


def test_read_labelled_pairs(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("source,target,label\na,b,1\nb,c,0\n")
    assert read_labelled_pairs(path) == [("a", "b", 1, 2), ("b", "c", 0, 3)]
    path.write_text("a,b,1\nb,c,2\n")
    with pytest.raises(GraphFileError, match=r"pairs.csv:2: .*label 0 or 1"):
        read_labelled_pairs(path)
    path.write_text("a,b\n")
    with pytest.raises(GraphFileError, match="label 0 or 1"):
        read_labelled_pairs(path)


# The command line ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, graph):
    out = tmp_path_factory.mktemp("eval") / "run"
    edges = out.parent / "edges.csv"
    rows = np.argwhere(np.triu(graph.adj.toarray()))
    edges.write_text("".join(f"n{a},n{b}\n" for a, b in rows))
    assert main(["train", "--edges", str(edges), *FAST, "--runs", "2", "--out", str(out)]) == 0
    return out


def test_metrics_json_carries_every_score(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for name in METRICS:
        if name in NODE_METRICS or name == "test_hits_at_100":
            assert metrics[name] is None  # an edge list without labels; 100 own negatives
        else:
            assert len(metrics[name]["values"]) == 2
            assert metrics[name]["mean"] == pytest.approx(np.mean(metrics[name]["values"]))
    assert (run_dir / "split.npz").is_file()


def test_evaluate_scores_the_run_again(run_dir, capsys, tmp_path):
    capsys.readouterr()
    out = tmp_path / "scores.json"
    assert main(["evaluate", "--model", str(run_dir), "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for name in ("test_auc", "test_ap", "test_hits_at_20", "test_mrr", "test_mrr_shared"):
        assert printed[name] == metrics[name]["values"][0]


def test_evaluate_labelled_pairs(run_dir, capsys, tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("source,target,label\nn0,n1,1\nn0,n2,0\nn3,n4,0\n")
    capsys.readouterr()
    assert main(["evaluate", "--model", str(run_dir), "--pairs", str(pairs)]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["num_pairs"] == 3 and scores["num_positive"] == 1 and 0 <= scores["auc"] <= 1


def test_evaluate_user_errors(run_dir, capsys, tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("n0,n1,1\nn0,nope,0\n")
    assert "pairs.csv:2: unknown node id 'nope'" in user_error(
        capsys, ["evaluate", "--model", str(run_dir), "--pairs", str(pairs)]
    )
    pairs.write_text("n0,n1,1\n")
    assert "labelled 0" in user_error(capsys, ["evaluate", "--model", str(run_dir), "--pairs", str(pairs)])
    model = tmp_path / "model"
    GAE(epochs=1, device="cpu").fit(make_communities(num_nodes=40, num_communities=2)).save(model)
    assert "split.npz not found" in user_error(capsys, ["evaluate", "--model", str(model)])


def test_train_prints_the_headline_scores(graph, capsys, tmp_path):
    edges = tmp_path / "edges.csv"
    edges.write_text("".join(f"{a},{b}\n" for a, b in np.argwhere(np.triu(graph.adj.toarray()))))
    capsys.readouterr()
    assert main(["train", "--edges", str(edges), *FAST]) == 0
    summary = capsys.readouterr().out.strip()
    assert summary.startswith("test AUC ") and " Hits@50 " in summary and " MRR " in summary
