"""Link-prediction heuristics: scores against networkx and dense numpy, recommend, save/load, CLI."""

import json
import warnings
from itertools import product

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from cli_helpers import user_error
from graphae import load, register_model, unregister_model
from graphae.cli import main
from graphae.data import make_communities
from graphae.experiment import make_estimator, run_link_prediction
from graphae.graph import Graph
from graphae.models.heuristics import (
    AdamicAdar,
    CommonNeighbors,
    HeuristicLinkPredictor,
    PreferentialAttachment,
    ResourceAllocation,
)
from graphae.models.katz import Katz, spectral_radius

HEURISTICS = ["common_neighbors", "adamic_adar", "resource_allocation", "preferential_attachment", "katz"]
NX_INDEX = {
    "common_neighbors": lambda g, pairs: [len(list(nx.common_neighbors(g, u, v))) for u, v in pairs],
    "adamic_adar": lambda g, pairs: [p for _, _, p in nx.adamic_adar_index(g, pairs)],
    "resource_allocation": lambda g, pairs: [p for _, _, p in nx.resource_allocation_index(g, pairs)],
    "preferential_attachment": lambda g, pairs: [p for _, _, p in nx.preferential_attachment(g, pairs)],
}
# A directed graph: 0->1->2, 0->3->2, 2->0, 3->4, 4->2, 1->3, and 5 isolated.
DIRECTED_EDGES = [(0, 1), (1, 2), (0, 3), (3, 2), (2, 0), (3, 4), (4, 2), (1, 3)]


@pytest.fixture(scope="module")
def karate():
    return nx.karate_club_graph()


def _all_pairs(n):
    return np.array([(s, t) for s, t in product(range(n), repeat=2) if s != t]).T


def _dense_katz(adj, beta, length):
    a = adj.toarray().astype(np.float64)
    power, total = np.eye(len(a)), np.zeros_like(a)
    for _ in range(length):
        power = beta * power @ a
        total += power
    return total


# Scores ------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(NX_INDEX))
def test_undirected_scores_equal_networkx(name, karate):
    est = make_estimator(name).fit(karate)
    pairs = _all_pairs(karate.number_of_nodes())
    expected = NX_INDEX[name](karate, list(zip(pairs[0].tolist(), pairs[1].tolist(), strict=True)))
    np.testing.assert_allclose(est.pair_scores(pairs), expected, rtol=1e-12)
    np.testing.assert_allclose(est.decision_function(pairs.T), expected, rtol=1e-12)


def test_hand_computed_values_on_a_path_with_a_triangle():
    # 0-1, 1-2, 0-2 (a triangle) and 2-3: deg = [2, 2, 3, 1].
    g = Graph.from_edges([(0, 1), (1, 2), (0, 2), (2, 3)], 4)
    pairs = np.array([[0, 1, 0, 3], [1, 3, 3, 3]])
    assert CommonNeighbors().fit(g).pair_scores(pairs).tolist() == [1, 1, 1, 1]
    np.testing.assert_allclose(AdamicAdar().fit(g).pair_scores(pairs), 1 / np.log(3))
    np.testing.assert_allclose(ResourceAllocation().fit(g).pair_scores(pairs), 1 / 3)
    assert PreferentialAttachment().fit(g).pair_scores(pairs).tolist() == [4, 2, 2, 1]


def test_a_common_neighbour_of_degree_one_weighs_zero():
    # Only a pair (s, s) can share a neighbour of degree 1 (log 1 = 0 would divide by zero).
    g = Graph.from_edges([(0, 1), (1, 2), (2, 3)], 4)
    pairs = np.array([[3], [3]])  # 3's one neighbour, 2, has degree 2
    assert CommonNeighbors().fit(g).pair_scores(pairs)[0] == 1
    assert AdamicAdar().fit(g).pair_scores(pairs)[0] == 1 / np.log(2)
    g = Graph.from_edges([(0, 1)], 3)  # 0's one neighbour, 1, has degree 1
    assert AdamicAdar().fit(g).pair_scores(np.array([[0], [0]]))[0] == 0
    assert ResourceAllocation().fit(g).pair_scores(np.array([[0], [0]]))[0] == 0


def test_katz_equals_the_truncated_series_and_the_closed_form(karate):
    est = Katz(beta=0.02, max_length=4).fit(karate)
    adj = nx.to_scipy_sparse_array(karate, weight=None)
    pairs = _all_pairs(34)
    np.testing.assert_allclose(
        est.pair_scores(pairs), _dense_katz(adj, 0.02, 4)[pairs[0], pairs[1]], rtol=1e-12
    )
    # lambda_max(karate) = 6.73: beta * lambda = 0.13, so 40 terms leave ~1e-35.
    est.set_params(max_length=40)
    closed = np.linalg.inv(np.eye(34) - 0.02 * adj.toarray()) - np.eye(34)
    np.testing.assert_allclose(est.pair_scores(pairs), closed[pairs[0], pairs[1]], rtol=1e-10)


def test_katz_with_many_pairs_is_scored_in_blocks(karate, monkeypatch):
    import graphae.models.heuristics as heuristics

    est = Katz(beta=0.05, max_length=3).fit(karate)
    pairs = _all_pairs(34)
    whole = est.pair_scores(pairs)
    monkeypatch.setattr(heuristics, "_BLOCK", 34 * 3)  # three nodes per block
    np.testing.assert_array_equal(est.pair_scores(pairs), whole)
    # Fewer distinct sources than targets: walks start from the sources (same sums, other order).
    np.testing.assert_allclose(est.pair_scores(pairs[:, :40]), whole[:40], rtol=1e-14)


def test_directed_scores_follow_paths_from_source_to_target():
    g = Graph.from_edges(DIRECTED_EDGES, 6, directed=True)
    a = g.adj.toarray().astype(np.float64)
    deg = ((a + a.T) > 0).sum(1)  # neighbours in either direction
    pairs = _all_pairs(6)
    weights = {
        "common_neighbors": np.ones(6),
        "adamic_adar": np.where(deg > 1, 1 / np.log(np.maximum(deg, 2)), 0),
        "resource_allocation": np.where(deg > 1, 1 / np.maximum(deg, 1), 0),
    }
    for name, w in weights.items():
        expected = (a @ np.diag(w) @ a)[pairs[0], pairs[1]]
        np.testing.assert_allclose(make_estimator(name).fit(g).pair_scores(pairs), expected, rtol=1e-12)
    pa = make_estimator("preferential_attachment").fit(g).pair_scores(pairs)
    np.testing.assert_array_equal(pa, a.sum(1)[pairs[0]] * a.sum(0)[pairs[1]])
    katz = Katz(beta=0.1, max_length=6).fit(g).pair_scores(pairs)
    np.testing.assert_allclose(katz, _dense_katz(g.adj, 0.1, 6)[pairs[0], pairs[1]], rtol=1e-12)
    # By hand: 0 reaches 2 through 1 and through 3; nothing leads from 2 to 3 in two steps but 2->0->3.
    cn = CommonNeighbors().fit(g)
    assert cn.pair_scores(np.array([[0, 2, 2, 1], [2, 0, 3, 4]])).tolist() == [2, 0, 1, 1]


@pytest.mark.parametrize("name", HEURISTICS)
@pytest.mark.parametrize("directed", [False, True])
def test_rows_equal_the_pair_scores(name, directed):
    g = Graph.from_edges(DIRECTED_EDGES, 6, directed=directed)
    est = make_estimator(name).fit(g)
    pairs = np.array(list(product(range(6), repeat=2))).T
    rows = est._score_rows(np.array([4, 0, 2]))
    np.testing.assert_allclose(np.exp(rows), est.pair_scores(pairs).reshape(6, 6)[[4, 0, 2]], rtol=1e-12)


# Probabilities and recommendations ---------------------------------------------
@pytest.mark.parametrize("name", HEURISTICS)
def test_predict_proba_is_the_normalised_score(name, karate):
    est = make_estimator(name).fit(karate)
    pairs = _all_pairs(34).T
    score, proba = est.decision_function(pairs), est.predict_proba(pairs)
    assert np.all((proba >= 0) & (proba < 1))
    np.testing.assert_allclose(proba, score / (1 + score), rtol=1e-12)
    order = np.argsort(score, kind="stable")
    assert np.all(np.diff(proba[order]) >= 0)  # monotone in the score
    assert np.all(proba[score == 0] == 0)


@pytest.mark.parametrize("name", HEURISTICS)
@pytest.mark.parametrize("directed", [False, True])
def test_recommend_lists_neither_the_node_nor_its_neighbours(name, directed):
    g = make_communities(num_nodes=60, num_communities=3, random_state=1)
    if directed:
        g = Graph.from_adjacency(sp.triu(g.adj), directed=True)
    est = make_estimator(name).fit(g)
    lists = est.recommend(list(range(60)), k=5)
    for node, recs in enumerate(lists):
        neighbours = set(g.adj[node].indices.tolist())
        ids = [other for other, _ in recs]
        assert len(ids) == 5 and node not in ids and not neighbours & set(ids)
        probs = [p for _, p in recs]
        assert probs == sorted(probs, reverse=True)
        # The best of all candidates (rows and pairs sum in other orders: equal up to rounding).
        scores = est.decision_function([(node, t) for t in range(60)])
        candidates = [t for t in range(60) if t != node and t not in neighbours]
        best = sorted(scores[candidates], reverse=True)[:5]
        np.testing.assert_allclose(scores[ids], best, rtol=1e-12)
    with_edges = est.recommend(0, k=59, exclude_edges=False)
    assert len(with_edges) == 59 and 0 not in [other for other, _ in with_edges]


def test_recommend_keeps_zero_scores_as_probability_zero():
    g = Graph.from_edges([(0, 1), (1, 2)], 5)  # 3 and 4 share nothing with 0
    recs = CommonNeighbors().fit(g).recommend(0, k=3)
    assert recs == [(2, 0.5), (3, 0.0), (4, 0.0)]


# Fitting --------------------------------------------------------------------------
def test_fit_takes_the_autoencoders_call_and_records_validation(karate):
    pos, neg = np.array([[0, 1], [1, 2]]), np.array([[0, 5], [9, 33]])
    est = AdamicAdar(random_state=3)
    assert est.fit(karate, val_pairs=(pos, neg), callback=print, checkpoint=None, resume=False) is est
    assert est.history_ == [{"epoch": 0, "val_auc": 1.0, "val_ap": 1.0}]
    assert AdamicAdar().fit(karate).history_ == []
    assert est.train_seconds_ > 0
    assert list(est.node_ids_) == list(karate.nodes)


def test_fit_rejects_a_graph_without_edges():
    with pytest.raises(ValueError, match="Graph 'graph' has no edges to score pairs with"):
        CommonNeighbors().fit(Graph.from_edges(np.empty((0, 2), dtype=np.int64), 3))


def test_katz_warns_when_its_series_diverges():
    complete = nx.complete_graph(5)  # lambda_max = 4
    with pytest.warns(
        UserWarning, match=r"The 'beta' parameter of Katz is 0.3, .* about 4: the Katz series diverges"
    ):
        Katz(beta=0.3).fit(complete)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Katz(beta=0.2).fit(complete)


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        (nx.karate_club_graph(), None),
        (nx.star_graph(9), 3.0),  # bipartite: -3 is an eigenvalue too
        (nx.path_graph(6), None),
        (nx.DiGraph([(0, 1), (1, 2), (2, 0), (2, 3)]), 1.0),  # a directed 3-cycle and a tail
    ],
)
def test_spectral_radius(graph, expected):
    adj = sp.csr_matrix(nx.to_scipy_sparse_array(graph, weight=None), dtype=np.float64)
    if expected is None:
        expected = np.linalg.eigvalsh(adj.toarray()).max()
    assert spectral_radius(adj) == pytest.approx(expected, rel=1e-4)


def test_run_result_of_a_heuristic_has_no_embedding_and_a_gae_has_one():
    full = make_communities(num_nodes=80, num_communities=2, random_state=2)
    assert run_link_prediction(full, make_estimator("adamic_adar"), seed=0).embedding is None
    gae = run_link_prediction(full, make_estimator("gae", epochs=2), seed=0)
    assert gae.embedding.shape == (80, gae.estimator.out_channels)


# Saving, loading, the registry ------------------------------------------------------
@pytest.mark.parametrize("name", HEURISTICS)
def test_save_load_keeps_the_graph_it_scores_on(name, tmp_path):
    full = make_communities(num_nodes=80, num_communities=2, random_state=2)
    train = run_link_prediction(full, make_estimator(name), seed=0).split.train
    est = make_estimator(name).fit(train)
    est.set_known_edges(full)  # as `graphae train` does: recommend leaves out every known edge
    est.save(tmp_path / "m")
    names = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert names == ["adjacency.npz", "fitted_adjacency.npz", "history.json", "metadata.json", "node_ids.txt"]
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert meta["learned"] is False and meta["model"] == name
    again = load(tmp_path / "m")
    assert type(again) is type(est) and again.get_params() == est.get_params()
    pairs = _all_pairs(80)
    np.testing.assert_array_equal(again.pair_scores(pairs), est.pair_scores(pairs))
    assert (again.graph_.adj != train.adj).nnz == 0  # the graph fitted on
    assert (again.known_adjacency() != full.adj).nnz == 0
    assert again.recommend(list(range(10)), k=3) == est.recommend(list(range(10)), k=3)
    assert type(est).load(tmp_path / "m").get_params() == est.get_params()


def test_a_heuristic_saved_over_an_autoencoder_leaves_no_weights(tmp_path):
    g = make_communities(num_nodes=40, num_communities=2, random_state=0)
    make_estimator("gae", epochs=2, device="cpu").fit(g).save(tmp_path)
    CommonNeighbors().fit(g).save(tmp_path)
    assert not (tmp_path / "model.pt").exists() and not (tmp_path / "embeddings.npy").exists()
    make_estimator("gae", epochs=2, device="cpu").fit(g).save(tmp_path)
    assert not (tmp_path / "fitted_adjacency.npz").exists()
    assert load(tmp_path).learned


def test_a_missing_fitted_adjacency_is_named(tmp_path):
    CommonNeighbors().fit(nx.karate_club_graph()).save(tmp_path)
    (tmp_path / "fitted_adjacency.npz").unlink()
    with pytest.raises(FileNotFoundError, match="fitted_adjacency.npz not found: the model folder"):
        load(tmp_path)


class SharedNeighboursSquared(HeuristicLinkPredictor):
    """Squared common neighbours (a test heuristic)."""

    def _pair_scores(self, st, src, dst):
        return CommonNeighbors._pair_scores(self, st, src, dst) ** 2

    def _row_scores(self, st, index):
        return CommonNeighbors._row_scores(self, st, index) ** 2

    def _weights(self, st):
        return np.ones(len(st.degree))


def test_a_heuristic_of_ones_own_registers_and_runs(tmp_path):
    register_model("cn_squared", SharedNeighboursSquared)
    try:
        est = make_estimator("cn_squared", random_state=1).fit(nx.karate_club_graph())
        assert est.pair_scores(np.array([[0], [1]]))[0] == 7**2
        est.save(tmp_path / "m")
        assert type(load(tmp_path / "m")) is SharedNeighboursSquared
    finally:
        unregister_model("cn_squared")

    class NoSeed(HeuristicLinkPredictor):
        def __init__(self) -> None:
            pass

    with pytest.raises(ValueError, match=r"NoSeed must take the parameter 'random_state' \(every run seeds"):
        register_model("no_seed", NoSeed)


# The command line ------------------------------------------------------------------
@pytest.fixture(scope="module")
def heuristic_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "aa"
    assert main(["train", "--model", "adamic_adar", "--quiet", "--out", str(out)]) == 0
    return out


def test_train_runs_a_heuristic_like_any_model(heuristic_run):
    metrics = json.loads((heuristic_run / "metrics.json").read_text())
    assert metrics["model"] == "adamic_adar" and metrics["features"] is False
    assert metrics["device"] == "cpu"
    # The default synthetic graph is sparse (mean degree 8): many test pairs share no neighbour.
    assert metrics["test_auc"]["mean"] > 0.57
    assert not (heuristic_run / "model.pt").exists() and not (heuristic_run / "embeddings.npy").exists()
    est = load(heuristic_run)
    assert type(est) is AdamicAdar and est.random_state == 0
    history = json.loads((heuristic_run / "history.json").read_text())
    assert [set(rec) for rec in history] == [{"epoch", "val_auc", "val_ap"}]


def test_train_katz_beats_chance_by_far(tmp_path, capsys):
    assert main(["train", "--model", "katz", "--out", str(tmp_path / "k")]) == 0
    err = capsys.readouterr().err
    assert "katz, a heuristic" in err and "loss" not in err.splitlines()[0]
    assert json.loads((tmp_path / "k" / "metrics.json").read_text())["test_auc"]["mean"] > 0.7


def test_predict_and_recommend_read_a_heuristic_run(heuristic_run, tmp_path, capsys):
    (tmp_path / "pairs.txt").write_text("0 1\n0 5\n")
    capsys.readouterr()
    assert main(["predict", "--model", str(heuristic_run), "--pairs", str(tmp_path / "pairs.txt")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "source,target,probability" and len(lines) == 3
    assert main(["recommend", "--model", str(heuristic_run), "--node", "0", "-k", "3"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4


def test_embed_of_a_heuristic_run_is_a_user_error(heuristic_run, capsys):
    line = user_error(capsys, ["embed", "--model", str(heuristic_run)])
    assert "adamic_adar is a link-prediction heuristic and has no node embeddings" in line


def test_report_of_a_heuristic_run_is_refused_before_running(tmp_path, capsys):
    out = tmp_path / "r"
    argv = ["train", "--model", "katz", "--report", "--checkpoint-every", "2", "--out", str(out)]
    line = user_error(capsys, argv)
    assert "--report: katz is a heuristic without node embeddings to draw" in line
    assert not (out / "checkpoint").exists()
