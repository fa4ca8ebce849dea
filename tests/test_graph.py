import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

from graphae.graph import Graph, clean_adjacency

# A 4-node toy: the undirected edges 0-1, 1-2, 0-3, given with a reversed copy,
# a duplicate and a self loop that construction must drop.
MESSY_EDGES = [[1, 0], [0, 1], [1, 1], [2, 1], [1, 2], [3, 0]]
# Canonical order sorts by i * 4 + j: (0, 1) -> 1, (0, 3) -> 3, (1, 2) -> 6.
CANONICAL = np.array([[0, 0, 1], [1, 3, 2]])
DENSE = np.array(
    [
        [0, 1, 0, 1],
        [1, 0, 1, 0],
        [0, 1, 0, 0],
        [1, 0, 0, 0],
    ],
    dtype=np.float32,
)


@pytest.fixture
def toy() -> Graph:
    return Graph.from_edges(MESSY_EDGES, name="toy")


def _assert_clean(adj: sp.csr_matrix) -> None:
    assert sp.issparse(adj) and adj.format == "csr"
    assert adj.dtype == np.float32
    assert adj.has_sorted_indices
    assert not adj.diagonal().any()
    assert np.all(adj.data == 1)
    assert (adj != adj.T).nnz == 0


# Construction ---------------------------------------------------------------
@pytest.mark.parametrize(
    "build",
    [
        lambda: Graph.from_edges(MESSY_EDGES),
        lambda: Graph.from_edges(np.array(MESSY_EDGES)),
        lambda: Graph.from_edge_index(np.array(MESSY_EDGES).T),  # [2, E]
        lambda: Graph.from_edges(np.array(MESSY_EDGES, dtype=np.int32)),
    ],
    ids=["list", "E-by-2", "edge_index", "int32"],
)
def test_from_edges_cleans_direction_duplicates_and_self_loops(build) -> None:
    graph = build()
    _assert_clean(graph.adj)
    np.testing.assert_array_equal(graph.adj.toarray(), DENSE)
    assert graph.num_nodes == 4
    assert graph.num_edges == 3


def test_two_by_two_edges_are_read_as_two_pairs() -> None:
    # [[0, 1], [2, 3]] fits both layouts; rows are pairs, as for any [E, 2] array.
    graph = Graph.from_edges(np.array([[0, 1], [2, 3]]))
    np.testing.assert_array_equal(graph.edges(), [[0, 2], [1, 3]])


def test_from_edges_num_nodes_adds_isolated_nodes() -> None:
    graph = Graph.from_edges([[0, 1]], num_nodes=5)
    assert graph.num_nodes == 5
    assert graph.num_edges == 1
    assert graph.adj.shape == (5, 5)


def test_from_edges_accepts_an_empty_int_array() -> None:
    graph = Graph.from_edges(np.empty((0, 2), dtype=np.int64), num_nodes=3)
    assert graph.num_nodes == 3
    assert graph.num_edges == 0
    assert graph.edges().shape == (2, 0)
    assert graph.edges().dtype == np.int64
    assert Graph.from_edges(np.empty((0, 2), dtype=np.int64)).num_nodes == 0


def test_from_edges_accepts_an_empty_list() -> None:
    graph = Graph.from_edges([], num_nodes=3)
    assert graph.num_nodes == 3
    assert graph.num_edges == 0


def test_from_edges_passes_fields_to_the_constructor() -> None:
    x = np.arange(8, dtype=np.float32).reshape(4, 2)
    y = np.array([0, 1, 1, -1])
    ids = np.array(["a", "b", "c", "d"])
    graph = Graph.from_edges(MESSY_EDGES, x=x, y=y, name="toy", node_ids=ids)
    assert graph.x is x
    assert graph.y is y
    assert graph.name == "toy"
    assert graph.node_ids is ids


def test_from_adjacency_cleans_a_dense_weighted_directed_matrix() -> None:
    raw = np.array([[5.0, 2.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.5, 0.0]])
    graph = Graph.from_adjacency(raw)
    _assert_clean(graph.adj)
    np.testing.assert_array_equal(graph.adj.toarray(), [[0, 1, 0], [1, 0, 1], [0, 1, 0]])


def test_clean_adjacency_returns_a_copy_and_leaves_its_input_alone() -> None:
    raw = sp.csr_matrix(np.array([[1.0, 3.0], [0.0, 0.0]]))
    before = raw.toarray().copy()
    clean = clean_adjacency(raw)
    _assert_clean(clean)
    np.testing.assert_array_equal(clean.toarray(), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(raw.toarray(), before)


def test_clean_adjacency_rejects_a_non_square_matrix() -> None:
    with pytest.raises(ValueError, match=r"adjacency must be a square matrix. Got shape \(2, 3\)"):
        clean_adjacency(np.ones((2, 3)))


def _random_edge_index(rng: np.random.Generator, n: int, e: int) -> np.ndarray:
    """``e`` pairs of ``n`` nodes, padded with self loops, duplicates and reversed pairs."""
    pairs = rng.integers(0, n, (2, e))
    extra = pairs[:, rng.integers(0, e, e // 2)] if e else pairs
    loops = np.repeat(rng.integers(0, n, (1, 2)), 2, axis=0)
    out = np.concatenate([pairs, extra, extra[::-1], loops], axis=1)
    return out[:, rng.permutation(out.shape[1])]


@pytest.mark.parametrize("directed", [False, True], ids=["undirected", "directed"])
@pytest.mark.parametrize("seed", range(20))
def test_from_edge_index_is_clean_adjacency_of_the_pairs(seed: int, directed: bool) -> None:
    # The pair-key construction must give the matrix of the scipy route, entry for entry.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30))
    edge_index = _random_edge_index(rng, n, int(rng.integers(0, 3 * n)))
    ones = np.ones(edge_index.shape[1], dtype=np.float32)
    expected = clean_adjacency(sp.coo_matrix((ones, tuple(edge_index)), shape=(n, n)), directed=directed)
    adj = Graph.from_edge_index(edge_index, n, directed=directed).adj
    if not directed:
        _assert_clean(adj)
    for part in ("indptr", "indices", "data"):
        got, want = getattr(adj, part), getattr(expected, part)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_from_edge_index_without_int64_keys_takes_the_scipy_route(monkeypatch) -> None:
    # Past 3e9 nodes a pair key overflows int64: the matrix is then cleaned by scipy.
    monkeypatch.setattr("graphae.graph.keys_fit", lambda n: False)
    graph = Graph.from_edge_index(np.array(MESSY_EDGES).T)
    _assert_clean(graph.adj)
    np.testing.assert_array_equal(graph.adj.toarray(), DENSE)


def test_from_edge_index_with_only_self_loops_has_no_edges() -> None:
    graph = Graph.from_edge_index(np.array([[0, 2], [0, 2]]))
    assert graph.num_nodes == 3
    assert graph.num_edges == 0


# Views ----------------------------------------------------------------------
def test_counts(toy: Graph) -> None:
    assert toy.num_nodes == 4
    assert toy.num_edges == 3
    assert toy.num_features is None


@pytest.mark.parametrize(
    "x",
    [np.zeros((4, 7), dtype=np.float32), sp.csr_matrix((4, 7), dtype=np.float32)],
    ids=["dense", "csr"],
)
def test_num_features(toy: Graph, x) -> None:
    assert toy.replace(x=x).num_features == 7


def test_edges_are_canonical(toy: Graph) -> None:
    edges = toy.edges()
    assert edges.dtype == np.int64
    np.testing.assert_array_equal(edges, CANONICAL)
    assert np.all(edges[0] < edges[1])
    keys = edges[0] * toy.num_nodes + edges[1]
    assert np.all(np.diff(keys) > 0)


def test_replace_returns_a_new_graph_and_leaves_the_original(toy: Graph) -> None:
    y = np.array([0, 1, 0, 1])
    new = toy.replace(name="other", y=y)
    assert new is not toy
    assert new.name == "other"
    assert new.y is y
    assert toy.name == "toy"
    assert toy.y is None
    np.testing.assert_array_equal(new.adj.toarray(), toy.adj.toarray())


def test_replace_validates(toy: Graph) -> None:
    with pytest.raises(ValueError, match=r"Graph.y must have shape \[4\]"):
        toy.replace(y=np.zeros(3, dtype=np.int64))
    assert toy.y is None


def test_graph_is_frozen(toy: Graph) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        toy.name = "changed"  # type: ignore[misc]


def test_repr(toy: Graph) -> None:
    assert repr(toy) == "Graph(name='toy', num_nodes=4, num_edges=3, features=none)"
    with_x = toy.replace(x=np.zeros((4, 2), dtype=np.float32))
    assert repr(with_x) == "Graph(name='toy', num_nodes=4, num_edges=3, features=2)"


# Validation -----------------------------------------------------------------
@pytest.mark.parametrize(
    "adj",
    [DENSE, sp.csc_matrix(DENSE), sp.coo_matrix(DENSE)],
    ids=["ndarray", "csc", "coo"],
)
def test_adjacency_must_be_csr(adj) -> None:
    with pytest.raises(TypeError, match="Graph.adj must be a scipy.sparse CSR matrix.*from_adjacency"):
        Graph(adj=adj)


@pytest.mark.parametrize(
    ("dense", "match"),
    [
        (np.ones((2, 3), dtype=np.float32), r"Graph.adj must be square. Got shape \(2, 3\)"),
        (np.eye(2, dtype=np.float32), "Graph.adj must have no self loops"),
        (np.array([[0, 2], [2, 0]], dtype=np.float32), "Graph.adj must be binary"),
        (np.array([[0, 1], [0, 0]], dtype=np.float32), "Graph.adj must be symmetric"),
    ],
    ids=["non-square", "self-loop", "non-binary", "asymmetric"],
)
def test_adjacency_errors(dense: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Graph(adj=sp.csr_matrix(dense))


@pytest.mark.parametrize(
    "x",
    [
        np.zeros((4, 2)),  # float64
        np.zeros((4, 2), dtype=np.int64),
        np.zeros(4, dtype=np.float32),  # 1-D
        [[0.0, 0.0]] * 4,  # not an array
    ],
    ids=["float64", "int64", "1-D", "list"],
)
def test_dense_features_must_be_2d_float32(toy: Graph, x) -> None:
    with pytest.raises(TypeError, match="Graph.x must be a 2-D float32 numpy array"):
        Graph(adj=toy.adj, x=x)


@pytest.mark.parametrize(
    "x",
    [sp.csr_matrix((4, 2), dtype=np.float64), sp.csc_matrix((4, 2), dtype=np.float32)],
    ids=["csr-float64", "csc"],
)
def test_sparse_features_must_be_float32_csr(toy: Graph, x) -> None:
    with pytest.raises(TypeError, match="Graph.x must be float32 CSR when sparse"):
        Graph(adj=toy.adj, x=x)


@pytest.mark.parametrize(
    "x",
    [np.zeros((3, 2), dtype=np.float32), sp.csr_matrix((5, 2), dtype=np.float32)],
    ids=["dense", "csr"],
)
def test_features_need_one_row_per_node(toy: Graph, x) -> None:
    with pytest.raises(ValueError, match=r"Graph.x must have one row per node \(4\)"):
        Graph(adj=toy.adj, x=x)


@pytest.mark.parametrize(
    "y",
    [np.zeros(3, dtype=np.int64), np.zeros((4, 1), dtype=np.int64)],
    ids=["short", "2-D"],
)
def test_labels_need_shape_n(toy: Graph, y: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"Graph.y must have shape \[4\]. Got"):
        Graph(adj=toy.adj, y=y)


def test_labels_given_as_a_list_are_checked(toy: Graph) -> None:
    with pytest.raises((TypeError, ValueError), match="Graph.y"):
        Graph(adj=toy.adj, y=[0, 1, 2])


@pytest.mark.parametrize("ids", [np.array(["a", "b"]), ["a", "b", "c", "d", "e"]], ids=["array", "list"])
def test_node_ids_need_one_entry_per_node(toy: Graph, ids) -> None:
    with pytest.raises(ValueError, match=r"Graph.node_ids must have 4 entries. Got"):
        Graph(adj=toy.adj, node_ids=ids)


@pytest.mark.parametrize(
    ("edges", "num_nodes", "match"),
    [
        ([[0, -1], [1, 2]], None, r"edges must hold node indices in \[0, 3\). Got values in \[-1, 2\]"),
        ([[0, 1], [1, 2]], 2, r"edges must hold node indices in \[0, 2\). Got values in \[0, 2\]"),
        (np.zeros((3, 3), dtype=np.int64), None, r"edges must have shape \[E, 2\] \(one row per edge\)"),
        (np.array([0, 1, 2]), None, r"edges must have shape \[E, 2\]"),
        (
            np.zeros((2, 3), dtype=np.int64),
            None,
            r"Got \(2, 3\). For a \[2, E\] edge_index use Graph.from_edge_index",
        ),
    ],
    ids=["negative", "out-of-range", "E-by-3", "1-D", "2-by-E"],
)
def test_from_edges_value_errors(edges, num_nodes, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Graph.from_edges(edges, num_nodes=num_nodes)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Graph.from_edges(np.array([[0.0, 1.0], [1.0, 2.0]])),
        lambda: Graph.from_edge_index(np.array([[0.0, 1.0, 2.0], [1.0, 2.0, 0.0]])),
    ],
    ids=["E-by-2", "edge_index"],
)
def test_from_edges_rejects_float_edges(build) -> None:
    with pytest.raises(TypeError, match="edges must hold integer node indices. Got dtype float64"):
        build()


# Directed graphs -----------------------------------------------------------------
def test_directed_graph_keeps_direction_and_counts_each_edge() -> None:
    # 0 -> 1, 1 -> 0 (a mutual pair), 1 -> 2; a duplicate and a self loop are dropped.
    graph = Graph.from_edges([[0, 1], [1, 0], [1, 2], [1, 2], [2, 2]], directed=True)
    assert graph.directed and graph.num_edges == 3
    np.testing.assert_array_equal(graph.adj.toarray(), [[0, 1, 0], [1, 0, 1], [0, 0, 0]])
    # Ordered keys i * N + j: (0, 1) -> 1, (1, 0) -> 3, (1, 2) -> 5.
    np.testing.assert_array_equal(graph.edge_keys(), [1, 3, 5])
    np.testing.assert_array_equal(graph.edges(), [[0, 1, 1], [1, 0, 2]])
    assert "directed=True" in repr(graph)


def test_directed_graph_survives_replace_and_can_be_made_undirected() -> None:
    graph = Graph.from_edges([[0, 1], [1, 2]], directed=True)
    assert graph.replace(name="x").directed
    undirected = graph.to_undirected()
    assert not undirected.directed and undirected.num_edges == 2
    _assert_clean(undirected.adj)
    assert undirected.to_undirected() is undirected


def test_undirected_graph_rejects_an_asymmetric_matrix_but_a_directed_one_accepts_it() -> None:
    asym = sp.csr_matrix(np.array([[0, 1], [0, 0]], dtype=np.float32))
    with pytest.raises(ValueError, match="must be symmetric for an undirected graph"):
        Graph(adj=asym)
    assert Graph(adj=asym, directed=True).num_edges == 1


def test_two_by_two_edge_index_is_read_as_columns() -> None:
    graph = Graph.from_edge_index(np.array([[0, 2], [1, 3]]))
    np.testing.assert_array_equal(graph.edges(), [[0, 2], [1, 3]])


def test_adjacency_of_keys_is_the_sorted_union_with_the_mirrors():
    # The undirected adjacency is built by scipy's transpose and merge, no longer by a sort of
    # the keys and their mirrors: the CSR arrays must be the same as that sort gives.
    from graphae.graph import _adjacency_of_keys
    from graphae.pairs import distinct_pair_keys

    rng = np.random.default_rng(0)
    for n, e in ((1, 0), (50, 300), (2000, 30000)):
        keys = distinct_pair_keys(rng.integers(0, n, (2, e)), n, directed=False)
        both = np.sort(np.concatenate([keys, (keys % n) * n + keys // n]))
        adj = _adjacency_of_keys(keys, n, directed=False)
        assert isinstance(adj, sp.csr_matrix) and adj.has_canonical_format
        assert adj.indices.dtype == np.int32 and adj.data.dtype == np.float32
        np.testing.assert_array_equal(adj.indptr, np.searchsorted(both, np.arange(n + 1) * n))
        np.testing.assert_array_equal(adj.indices, both % n)
        np.testing.assert_array_equal(adj.data, np.ones(len(both), dtype=np.float32))
