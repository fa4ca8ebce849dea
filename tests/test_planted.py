import numpy as np
import pytest

from graphae.data import make_planted_partition
from graphae.errors import InputError
from graphae.graph import Graph


def _same(a: Graph, b: Graph) -> bool:
    return (a.adj != b.adj).nnz == 0 and np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)


def test_same_seed_gives_same_graph() -> None:
    assert _same(
        make_planted_partition(500, 3000, random_state=4), make_planted_partition(500, 3000, random_state=4)
    )


def test_different_seeds_differ_and_generators_are_consumed() -> None:
    a, b = (
        make_planted_partition(500, 3000, random_state=0),
        make_planted_partition(500, 3000, random_state=1),
    )
    assert (a.adj != b.adj).nnz > 0 and not np.array_equal(a.x, b.x)
    rng = np.random.default_rng(0)
    assert not _same(
        make_planted_partition(500, 3000, random_state=rng),
        make_planted_partition(500, 3000, random_state=rng),
    )


def test_global_random_state_untouched() -> None:
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    make_planted_partition(200, 500, random_state=None)
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002


@pytest.mark.parametrize(
    ("num_nodes", "num_edges", "num_blocks", "num_features"),
    [(1000, 4000, 100, 64), (257, 1000, 10, 3), (2, 1, 1, 1)],
)
def test_shapes_dtypes_and_blocks(num_nodes: int, num_edges: int, num_blocks: int, num_features: int) -> None:
    g = make_planted_partition(
        num_nodes, num_edges, num_blocks=num_blocks, num_features=num_features, random_state=0
    )
    assert g.num_nodes == num_nodes and not g.directed
    assert g.name == f"planted-{num_nodes}-{num_edges}"
    assert isinstance(g.x, np.ndarray) and g.x.dtype == np.float32 and g.x.shape == (num_nodes, num_features)
    assert g.y.dtype == np.int64 and np.array_equal(g.y, np.arange(num_nodes) % num_blocks)
    sizes = np.bincount(g.y, minlength=num_blocks)
    assert sizes.max() - sizes.min() <= 1


def test_adjacency_is_binary_symmetric_loop_free_and_canonical() -> None:
    g = make_planted_partition(3000, 20000, num_blocks=30, random_state=0)
    adj = g.adj
    assert adj.format == "csr" and adj.dtype == np.float32 and np.all(adj.data == 1)
    assert (adj != adj.T).nnz == 0 and not adj.diagonal().any()
    # Sorted, duplicate-free rows: what a COO -> CSR conversion would give.
    assert adj.has_canonical_format
    canonical = adj.copy()
    canonical.sum_duplicates()
    assert np.array_equal(canonical.indices, adj.indices) and np.array_equal(canonical.indptr, adj.indptr)
    # Duplicates and loops are dropped, never added: at most num_edges edges.
    assert 0.95 * 20000 < g.num_edges <= 20000


def test_edges_match_the_draws_of_the_same_seed() -> None:
    """The edge set is exactly the draws' pairs with loops and repeats removed (recomputed here)."""
    n, e, k, p_in = 400, 2500, 8, 0.7
    g = make_planted_partition(n, e, num_blocks=k, p_in=p_in, random_state=3)
    rng = np.random.default_rng(3)
    src = rng.integers(0, n, size=e)
    inside = rng.random(e) < p_in
    dst = rng.integers(0, n, size=e)
    sizes = (n - np.arange(k) + k - 1) // k
    dst[inside] = src[inside] % k + k * rng.integers(0, sizes[src[inside] % k])
    pairs = {(min(s, t), max(s, t)) for s, t in zip(src.tolist(), dst.tolist(), strict=True) if s != t}
    assert set(map(tuple, g.edges().T.tolist())) == pairs


@pytest.mark.parametrize(("p_in", "num_blocks"), [(0.8, 100), (0.5, 10), (0.0, 4), (1.0, 20)])
def test_in_block_fraction(p_in: float, num_blocks: int) -> None:
    # Sparse enough (E much below the in-block pairs) that repeats barely bias the fraction.
    g = make_planted_partition(40000, 40000, num_blocks=num_blocks, p_in=p_in, random_state=0)
    i, j = g.edges()
    observed = np.mean(g.y[i] == g.y[j])
    assert observed == pytest.approx(p_in + (1 - p_in) / num_blocks, abs=0.015)


def test_features_are_block_centroids_plus_unit_noise() -> None:
    g = make_planted_partition(20000, 100, num_blocks=4, num_features=16, random_state=0)
    centroids = np.stack([g.x[g.y == b].mean(0) for b in range(4)])
    noise = g.x - centroids[g.y]
    assert noise.std() == pytest.approx(1.0, abs=0.02)
    # Centroids are N(0, I) draws: distinct, of unit scale.
    assert 0.3 < centroids.std() < 2.0
    assert np.linalg.norm(centroids[0] - centroids[1]) > 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_nodes": 1}, r"'num_nodes' parameter of make_planted_partition must be an int >= 2\. Got 1\."),
        ({"num_nodes": 10.0}, r"'num_nodes' .* Got 10\.0\."),
        ({"num_edges": 0}, r"'num_edges' .* an int in \[1, 4950\]\. Got 0\."),
        ({"num_edges": 4951}, r"'num_edges' .* Got 4951\."),
        ({"num_blocks": 0}, r"'num_blocks' .* an int in \[1, 100\]\. Got 0\."),
        ({"num_blocks": 101}, r"'num_blocks' .* Got 101\."),
        ({"p_in": 1.5}, r"'p_in' .* a float in \[0, 1\]\. Got 1\.5\."),
        ({"p_in": True}, r"'p_in' .* Got True\."),
        ({"num_features": 0}, r"'num_features' .* an int >= 1\. Got 0\."),
        ({"random_state": -1}, r"'random_state' .* an int >= 0, a numpy.random.Generator or None\. Got -1\."),
        ({"random_state": "a"}, r"'random_state' .* Got 'a'\."),
    ],
)
def test_argument_errors(kwargs: dict, match: str) -> None:
    args = {"num_nodes": 100, "num_edges": 200, **kwargs}
    with pytest.raises(InputError, match=match):
        make_planted_partition(args.pop("num_nodes"), args.pop("num_edges"), **args)
