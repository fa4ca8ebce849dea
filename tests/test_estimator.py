"""GAE and VGAE specifics; the contract every model meets is in test_contract.py."""

import json
import warnings

import numpy as np
import pytest
import torch

from graphae import GAE, VGAE, Graph, load
from graphae.data import make_communities

ESTIMATORS = [GAE, VGAE]
FAST = {"epochs": 15, "random_state": 0, "device": "cpu"}


@pytest.fixture(scope="module")
def graph():
    g = make_communities(num_nodes=150, num_communities=3, random_state=0)
    ids = np.array([f"n{i}" for i in range(g.num_nodes)], dtype=object)
    return g.replace(node_ids=ids)


@pytest.fixture(scope="module", params=ESTIMATORS, ids=lambda c: c.__name__)
def fitted(request, graph):
    return request.param(**FAST).fit(graph)


def test_fit_returns_the_estimator_itself(graph):
    est = GAE(**FAST)
    assert est.fit(graph) is est


def test_predict_proba_is_the_sigmoid_of_the_inner_product(fitted):
    z = fitted.embedding_.astype(np.float64)
    expected = 1 / (1 + np.exp(-(z[0] @ z[5])))
    probs = fitted.predict_proba([("n0", "n5"), ("n5", "n0")])
    np.testing.assert_allclose(probs, [expected, expected], rtol=1e-5)
    assert ((probs > 0) & (probs < 1)).all()
    with pytest.raises(ValueError, match="Unknown node id 'zz'"):
        fitted.predict_proba([("n0", "zz")])
    with pytest.raises(ValueError, match=r"pairs must have shape \[k, 2\]"):
        fitted.predict_proba(["n0", "n1", "n2"])
    with pytest.raises(ValueError, match=r"pairs must have shape \[k, 2\]"):
        fitted.predict_proba([("n0", "n1", "n2"), ("n0", "n1", "n2")])


def test_probabilities_of_huge_logits_do_not_overflow(graph):
    est = GAE(**FAST).fit(graph)
    est.embedding_ = est.embedding_ * 1e3  # logits far beyond float32 exp's range
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        probs = est.predict_proba([("n0", "n1"), ("n0", "n100")])
        recs = est.recommend("n0", k=3)
    assert np.isfinite(probs).all() and all(np.isfinite(p) for _, p in recs)


def test_recommend_excludes_self_and_neighbours(fitted, graph):
    recs = fitted.recommend("n3", k=5)
    assert len(recs) == 5
    ids = [node for node, _ in recs]
    row = graph.adj[3].indices
    assert "n3" not in ids
    assert not set(ids) & {f"n{j}" for j in row}
    probs = [p for _, p in recs]
    assert probs == sorted(probs, reverse=True)
    # The best candidate really is the highest-scoring non-neighbour.
    z = fitted.embedding_
    scores = z @ z[3]
    scores[3] = -np.inf
    scores[row] = -np.inf
    assert ids[0] == f"n{int(np.argmax(scores))}"
    many = fitted.recommend(["n1", "n2"], k=3)
    assert len(many) == 2 and all(len(r) == 3 for r in many)
    with pytest.raises(ValueError, match="'k' parameter of recommend must be an int >= 1"):
        fitted.recommend("n1", k=0)


def test_recommend_caps_k_at_the_candidates():
    g = Graph.from_edges(np.array([[0, 1], [1, 2], [2, 3], [3, 0], [0, 2]]))
    est = GAE(epochs=2, random_state=0).fit(g)
    assert [n for n, _ in est.recommend(0, k=10)] == []
    assert [n for n, _ in est.recommend(1, k=10)] == [3]


def test_refit_on_another_graph_forgets_the_old_ids(graph):
    est = GAE(**FAST).fit(graph)
    assert est.predict_proba([("n0", "n1")]).shape == (1,)
    other = make_communities(num_nodes=40, num_communities=2, random_state=3)
    est.fit(other.replace(node_ids=np.array([f"m{i}" for i in range(40)], dtype=object)))
    assert est.predict_proba([("m0", "m1")]).shape == (1,)
    with pytest.raises(ValueError, match="Unknown node id 'n0'"):
        est.predict_proba([("n0", "m1")])


def test_recommend_on_a_directed_graph_lists_new_out_neighbours():
    g = Graph.from_edges(np.array([[0, 1], [1, 2], [2, 3], [3, 4], [4, 0], [0, 2]]), directed=True)
    est = GAE(epochs=3, random_state=0, loss="sampled").fit(g)
    assert est.graph_.directed
    # 0 -> 1 and 0 -> 2 exist; 4 -> 0 does not make 4 an out-neighbour of 0.
    assert sorted(n for n, _ in est.recommend(0, k=10)) == [3, 4]


def test_load_checks_the_type(tmp_path, fitted):
    fitted.save(tmp_path / "m")
    other = VGAE if isinstance(fitted, GAE) else GAE
    with pytest.raises(ValueError, match=f"holds a {type(fitted).__name__}, not a {other.__name__}"):
        other.load(tmp_path / "m")
    assert type(fitted).load(tmp_path / "m").get_params() == fitted.get_params()


def test_load_of_a_folder_without_a_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="metadata.json not found"):
        load(tmp_path)


def test_integer_ids_round_trip(tmp_path):
    g = make_communities(num_nodes=60, num_communities=2, random_state=1)
    est = GAE(epochs=3, random_state=0).fit(g.replace(node_ids=np.arange(100, 160)))
    est.save(tmp_path / "m")
    again = load(tmp_path / "m")
    assert again.node_ids_.dtype.kind == "i"
    assert again.recommend(100, k=2) == est.recommend(100, k=2)


def test_metadata_records_model_params_graph_and_direction(tmp_path, fitted):
    fitted.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert meta["model"] == fitted.model_name
    assert meta["params"] == fitted.get_params()
    assert meta["graph"]["directed"] is False
    assert meta["graph"]["num_nodes"] == 150 and meta["graph"]["node_id_type"] == "str"
    assert meta["graphae_version"]


def test_fit_leaves_threads_and_global_rng_alone(graph):
    before = torch.get_num_threads()
    torch.manual_seed(0)
    expected = torch.rand(2)
    torch.manual_seed(0)
    GAE(epochs=2, threads=1, random_state=0).fit(graph)
    assert torch.get_num_threads() == before
    assert torch.equal(torch.rand(2), expected)


def test_graph_without_edges_is_rejected():
    with pytest.raises(ValueError, match="has no edges to learn from"):
        GAE(epochs=2).fit(Graph.from_edges(np.empty((0, 2), dtype=np.int64), num_nodes=3))


def test_repr_shows_changed_params():
    assert repr(VGAE(epochs=5)) == "VGAE(epochs=5)"
    assert repr(GAE()) == "GAE()"


def test_normalize_features_divides_rows_by_their_l1_norm(graph):
    normalized = graph.normalize_features()
    sums = np.asarray(abs(normalized.x).sum(axis=1)).ravel()
    raw = np.asarray(abs(graph.x).sum(axis=1)).ravel()
    np.testing.assert_allclose(sums[raw > 0], 1.0, rtol=1e-5)
    assert (sums[raw == 0] == 0).all()
    est = GAE(**FAST, normalize_features=True).fit(graph)
    # The fitted encoder sees normalised features, in fit and in transform alike.
    np.testing.assert_allclose(est.transform(graph), est.embedding_, rtol=1e-5, atol=1e-6)
    assert not np.allclose(est.embedding_, GAE(**FAST).fit(graph).embedding_)
