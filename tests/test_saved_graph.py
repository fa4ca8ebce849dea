"""A saved run keeps the graph it was fitted on; recommend still knows every edge (issue 20 defect 5)."""

import itertools
import json

import numpy as np
import pytest
from scipy.special import expit

import graphae
from graphae.cli import main
from graphae.data import make_communities
from graphae.errors import InputError
from graphae.evaluation import EvaluationSplit
from graphae.experiment import make_estimator
from graphae.graph import Graph

FAST = ["--device", "cpu", "--quiet", "--seed", "0"]


@pytest.fixture(scope="module")
def edges(tmp_path_factory):
    """Six 6-cliques joined in a ring: an edge list file of 96 edges."""
    pairs = []
    for c in range(6):
        pairs += itertools.combinations(range(6 * c, 6 * c + 6), 2)
        pairs.append((6 * c, (6 * c + 9) % 36))
    path = tmp_path_factory.mktemp("graph") / "edges.csv"
    path.write_text("".join(f"{a},{b}\n" for a, b in pairs))
    return path, len(pairs)


def _train(tmp_path, edges, model, *args):
    out = tmp_path / model
    assert main(["train", *FAST, *args, "--edges", str(edges[0]), "--model", model, "--out", str(out)]) == 0
    return out


def test_a_saved_autoencoder_keeps_its_training_graph(tmp_path, edges):
    out = _train(tmp_path, edges, "gae", "--epochs", "3")
    model = graphae.load(out)
    assert model.graph_.num_edges < edges[1]  # the training edges, not the held-out ones
    # Re-embedding the graph it holds gives the embedding it was fitted to.
    np.testing.assert_allclose(model.transform(model.graph_), model.embedding_, rtol=1e-5, atol=1e-6)
    assert model.known_adjacency().nnz == 2 * edges[1]  # recommend leaves out every edge of the file
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["num_edges"] == edges[1]


def test_a_saved_heuristic_scores_the_test_pairs_as_in_its_run(tmp_path, edges):
    out = _train(tmp_path, edges, "adamic_adar")
    model = graphae.load(out)
    split = EvaluationSplit.load(out / "split.npz", model.graph_.num_nodes)
    with np.load(out / "test_scores.npz") as scores:
        pos, neg = scores["pos_scores"], scores["neg_scores"]
    np.testing.assert_array_equal(expit(model.pair_logits(split.test_pos).astype(np.float64)), pos)
    np.testing.assert_array_equal(expit(model.pair_logits(split.test_neg).astype(np.float64)), neg)
    assert model.graph_.num_edges < edges[1] and (model.graph_.adj != model.adjacency_).nnz == 0


def test_known_edges_are_kept_by_save_and_dropped_by_a_refit(tmp_path):
    full = make_communities(num_nodes=60, num_communities=2, random_state=0)
    edges = full.edges()
    keep = np.random.default_rng(0).random(edges.shape[1]) < 0.8
    train = Graph.from_edge_index(edges[:, keep], full.num_nodes, x=full.x)
    est = make_estimator("gae", epochs=2, device="cpu", random_state=0).fit(train).set_known_edges(full)
    est.save(tmp_path / "m")
    again = graphae.load(tmp_path / "m")
    assert (again.graph_.adj != train.adj).nnz == 0
    assert (again.known_adjacency() != full.adj).nnz == 0
    est.fit(train)
    assert est.known_adjacency() is est.graph_.adj  # a new fit knows only its own graph


def test_set_known_edges_refuses_other_nodes():
    g = make_communities(num_nodes=40, num_communities=2, random_state=0)
    est = make_estimator("common_neighbors").fit(g)
    with pytest.raises(InputError, match="set_known_edges needs a graph on the 40 fitted nodes"):
        est.set_known_edges(make_communities(num_nodes=30, num_communities=2, random_state=0))
