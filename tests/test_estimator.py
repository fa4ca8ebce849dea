"""The contract every estimator meets, plus GAE/VGAE specifics."""

import numpy as np
import pytest
import torch

from graphae import GAE, VGAE, Graph, NotFittedError, clone, load
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


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_init_stores_params_and_round_trips(cls):
    est = cls(epochs=7, loss="sampled")
    params = est.get_params()
    assert params["epochs"] == 7 and params["loss"] == "sampled"
    assert cls(**params).get_params() == params
    assert est.set_params(lr=0.1) is est and est.lr == 0.1
    with pytest.raises(ValueError, match="Invalid parameter 'foo'"):
        est.set_params(foo=1)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_clone_is_unfitted_with_same_params(cls, graph):
    est = cls(**FAST).fit(graph)
    copy = clone(est)
    assert type(copy) is cls and copy.get_params() == est.get_params()
    assert not hasattr(copy, "embedding_")


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_sklearn_clone_works(cls):
    sklearn_base = pytest.importorskip("sklearn.base")
    est = cls(epochs=3)
    assert sklearn_base.clone(est).get_params() == est.get_params()


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("method", ["transform", "predict_proba", "recommend", "save"])
def test_not_fitted_error(cls, method, tmp_path):
    args = {"transform": (), "predict_proba": ([("a", "b")],), "recommend": ("a",), "save": (tmp_path,)}
    with pytest.raises(NotFittedError, match=f"This {cls.__name__} instance is not fitted yet"):
        getattr(cls(), method)(*args[method])


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize(
    ("param", "value", "expected"),
    [
        ("epochs", 0, "an int >= 1"),
        ("hidden_channels", 2.5, "an int >= 1"),
        ("lr", -1, "a float > 0"),
        ("loss", "hinge", r"one of \['exact', 'sampled'\]"),
        ("threads", 0, "None or an int >= 1"),
        ("random_state", "seed", "None or an int"),
    ],
)
def test_invalid_params_are_named(cls, graph, param, value, expected):
    est = cls(**{**FAST, param: value})
    with pytest.raises(
        ValueError, match=f"The '{param}' parameter of {cls.__name__} must be {expected}. Got"
    ):
        est.fit(graph)


def test_fit_returns_self_and_sets_learned_state(fitted, graph):
    assert fitted.embedding_.shape == (graph.num_nodes, 16)
    assert fitted.embedding_.dtype == np.float32
    assert len(fitted.history_) == 15
    assert fitted.transform() is fitted.embedding_
    assert list(fitted.node_ids_) == list(graph.node_ids)
    assert fitted.train_seconds_ > 0


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_fit_is_deterministic_and_fit_transform_matches(cls, graph):
    a = cls(**FAST).fit(graph).embedding_
    b = cls(**FAST).fit_transform(graph)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_transform_of_the_same_graph_matches_embedding(fitted, graph):
    np.testing.assert_allclose(fitted.transform(graph), fitted.embedding_, rtol=1e-5, atol=1e-6)


def test_predict_proba_by_id(fitted):
    z = fitted.embedding_
    expected = 1 / (1 + np.exp(-(z[0] @ z[5])))
    probs = fitted.predict_proba([("n0", "n5"), ("n5", "n0")])
    np.testing.assert_allclose(probs, [expected, expected], rtol=1e-5)
    assert ((probs > 0) & (probs < 1)).all()
    with pytest.raises(ValueError, match="Unknown node id 'zz'"):
        fitted.predict_proba([("n0", "zz")])
    with pytest.raises(ValueError, match=r"pairs must have shape \[k, 2\]"):
        fitted.predict_proba(["n0", "n1", "n2"])


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


def test_save_load_round_trip(fitted, tmp_path, graph):
    fitted.save(tmp_path / "m")
    again = load(tmp_path / "m")
    assert type(again) is type(fitted)
    assert again.get_params() == fitted.get_params()
    np.testing.assert_array_equal(again.embedding_, fitted.embedding_)
    assert list(again.node_ids_) == list(fitted.node_ids_)
    np.testing.assert_allclose(
        again.predict_proba([("n0", "n9")]), fitted.predict_proba([("n0", "n9")]), rtol=1e-6
    )
    assert again.recommend("n3", k=4) == fitted.recommend("n3", k=4)
    np.testing.assert_allclose(again.transform(graph), fitted.embedding_, rtol=1e-5, atol=1e-6)
    assert type(fitted).load(tmp_path / "m").get_params() == fitted.get_params()


def test_load_checks_files_and_type(tmp_path, fitted):
    with pytest.raises(FileNotFoundError, match="estimator.json not found"):
        load(tmp_path)
    fitted.save(tmp_path / "m")
    other = VGAE if isinstance(fitted, GAE) else GAE
    with pytest.raises(ValueError, match=f"not a {other.__name__}"):
        other.load(tmp_path / "m")


def test_integer_ids_round_trip(tmp_path):
    g = make_communities(num_nodes=60, num_communities=2, random_state=1)
    est = GAE(epochs=3, random_state=0).fit(g.replace(node_ids=np.arange(100, 160)))
    est.save(tmp_path / "m")
    again = load(tmp_path / "m")
    assert again.node_ids_.dtype.kind == "i"
    assert again.recommend(100, k=2) == est.recommend(100, k=2)


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
