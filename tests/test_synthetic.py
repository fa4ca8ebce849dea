import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh
from sklearn.metrics import roc_auc_score

from graphae.data.synthetic import make_communities
from graphae.errors import InputError
from graphae.graph import Graph


@pytest.fixture(scope="module")
def default_graph() -> Graph:
    return make_communities()


def _same(a: Graph, b: Graph) -> bool:
    return (a.adj != b.adj).nnz == 0 and (a.x != b.x).nnz == 0 and np.array_equal(a.y, b.y)


@pytest.mark.parametrize("seed", [0, 7])
def test_same_seed_gives_same_graph(seed: int) -> None:
    kwargs = {"num_nodes": 300, "num_communities": 4, "random_state": seed}
    assert _same(make_communities(**kwargs), make_communities(**kwargs))


def test_same_seed_through_generator_gives_same_graph() -> None:
    a = make_communities(num_nodes=300, random_state=np.random.default_rng(3))
    b = make_communities(num_nodes=300, random_state=np.random.default_rng(3))
    assert _same(a, b)


def test_different_seeds_differ() -> None:
    a = make_communities(num_nodes=300, random_state=0)
    b = make_communities(num_nodes=300, random_state=1)
    assert (a.adj != b.adj).nnz > 0
    assert (a.x != b.x).nnz > 0


def test_generator_is_consumed() -> None:
    rng = np.random.default_rng(0)
    a = make_communities(num_nodes=300, random_state=rng)
    b = make_communities(num_nodes=300, random_state=rng)
    assert not _same(a, b)


def test_global_random_state_untouched() -> None:
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    make_communities(num_nodes=300, random_state=None)
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002


@pytest.mark.parametrize(
    ("num_nodes", "num_communities", "num_features"),
    [(2000, 8, 500), (301, 3, 40), (10, 5, 5)],
)
def test_shapes_and_dtypes(num_nodes: int, num_communities: int, num_features: int) -> None:
    g = make_communities(
        num_nodes=num_nodes,
        num_communities=num_communities,
        num_features=num_features,
        avg_degree=min(4.0, (num_nodes - 1) / 2),
        name="toy",
    )
    assert g.name == "toy"
    assert g.num_nodes == num_nodes
    assert sp.issparse(g.x) and g.x.format == "csr" and g.x.dtype == np.float32
    assert g.x.shape == (num_nodes, num_features)
    assert np.all(g.x.data == 1.0)
    assert g.y.dtype == np.int64 and g.y.shape == (num_nodes,)
    sizes = np.bincount(g.y)
    assert len(sizes) == num_communities and sizes.max() - sizes.min() <= 1


@pytest.mark.parametrize("degree_corrected", [True, False])
@pytest.mark.parametrize("avg_degree", [4.0, 8.0])
def test_adjacency_and_edge_count(degree_corrected: bool, avg_degree: float) -> None:
    g = make_communities(num_nodes=1000, avg_degree=avg_degree, degree_corrected=degree_corrected)
    adj = g.adj
    assert (adj != adj.T).nnz == 0
    assert not adj.diagonal().any()
    assert np.all(adj.data == 1.0)
    target = avg_degree * g.num_nodes / 2
    assert target <= g.num_edges <= 1.02 * target
    assert np.all(np.diff(adj.indptr) > 0), "no isolated nodes"


def test_degree_correction_gives_hubs() -> None:
    hubs = make_communities(num_nodes=1000, degree_corrected=True)
    flat = make_communities(num_nodes=1000, degree_corrected=False)
    assert np.diff(hubs.adj.indptr).max() > 2 * np.diff(flat.adj.indptr).max()


def _intra_fraction(g: Graph) -> float:
    i, j = g.edges()
    return float(np.mean(g.y[i] == g.y[j]))


def test_most_edges_are_inside_communities(default_graph: Graph) -> None:
    # r / (r + K - 1) = 30 / 37 for the defaults.
    assert _intra_fraction(default_graph) == pytest.approx(30 / 37, abs=0.03)


@pytest.mark.parametrize(("ratio", "expected"), [(1.0, 1 / 4), (9.0, 3 / 4)])
def test_in_out_ratio_sets_intra_fraction(ratio: float, expected: float) -> None:
    g = make_communities(num_nodes=1000, num_communities=4, in_out_ratio=ratio)
    assert _intra_fraction(g) == pytest.approx(expected, abs=0.03)


def test_features_predict_communities(default_graph: Graph) -> None:
    g = default_graph
    x = g.x.toarray()
    train = np.arange(g.num_nodes) % 2 == 0
    centroids = np.stack([x[train & (g.y == c)].mean(0) for c in range(8)])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    pred = (x[~train] @ centroids.T).argmax(1)
    assert np.mean(pred == g.y[~train]) > 0.8  # chance is 1/8


def test_feature_noise_one_removes_signal() -> None:
    g = make_communities(num_nodes=1000, feature_noise=1.0)
    x = g.x.toarray()
    same = (g.y[:, None] == g.y[None, :]) & ~np.eye(g.num_nodes, dtype=bool)
    other = g.y[:, None] != g.y[None, :]
    overlap = x @ x.T
    assert overlap[same].mean() == pytest.approx(overlap[other].mean(), rel=0.1)


def _spectral_auc(g: Graph, seed: int) -> float:
    """Held-out edges vs random pairs, scored by a rank-K spectral reconstruction."""
    rng = np.random.default_rng(seed)
    edges = g.edges()[:, rng.permutation(g.num_edges)]
    num_test = g.num_edges // 10
    test, train = edges[:, :num_test], edges[:, num_test:]
    adj = Graph.from_edge_index(train, g.num_nodes).adj.astype(np.float64)
    deg = np.asarray(adj.sum(1)).ravel()
    scale = sp.diags(1 / np.sqrt(np.maximum(deg, 1)))
    vals, vecs = eigsh(scale @ adj @ scale, k=8, which="LA", v0=np.ones(g.num_nodes))
    # Undo the normalisation so the score also carries degree information.
    emb = vecs * np.sqrt(np.maximum(vals, 0)) * np.sqrt(deg)[:, None]
    neg = rng.integers(0, g.num_nodes, size=(2, 2 * num_test))
    neg = neg[:, neg[0] != neg[1]][:, :num_test]
    scores = [np.sum(emb[p[0]] * emb[p[1]], axis=1) for p in (test, neg)]
    labels = np.r_[np.ones(num_test), np.zeros(neg.shape[1])]
    return roc_auc_score(labels, np.concatenate(scores))


@pytest.mark.parametrize("seed", [0, 1])
def test_default_graph_is_learnable(seed: int) -> None:
    g = make_communities(random_state=seed)
    assert _spectral_auc(g, seed) > 0.8


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_nodes": 0}, r"'num_nodes' .* must be an int >= 2\. Got 0\."),
        ({"num_nodes": 10.0}, r"'num_nodes' .* must be an int >= 2\. Got 10\.0\."),
        ({"num_nodes": True}, r"'num_nodes' .* Got True\."),
        ({"num_communities": 0}, r"'num_communities' .* int in \[1, 1000\]\. Got 0"),
        (
            {"num_nodes": 10, "num_communities": 6},
            r"'num_communities' .* int in \[1, 5\]\. Got 6",
        ),
        ({"avg_degree": 0}, r"'avg_degree' .* float in \(0, 999\.5\]\. Got 0\."),
        ({"avg_degree": float("nan")}, r"'avg_degree' .* Got nan\."),
        ({"in_out_ratio": 0.5}, r"'in_out_ratio' .* float >= 1\. Got 0\.5\."),
        ({"num_features": 4}, r"'num_features' .* int >= 8\. Got 4\."),
        ({"features_per_node": -1}, r"'features_per_node' .* float > 0\. Got -1\."),
        ({"feature_noise": 1.5}, r"'feature_noise' .* float in \[0, 1\]\. Got 1\.5"),
        ({"random_state": -1}, r"'random_state' .* int >= 0, .* Got -1\."),
        ({"random_state": "a"}, r"'random_state' .* Got 'a'\."),
    ],
)
def test_invalid_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        make_communities(**kwargs)
