import numpy as np
import pytest
import scipy.sparse as sp

from graphae.data.synthetic import make_communities
from graphae.errors import InputError, InputTypeError
from graphae.graph import Graph
from graphae.sampling import sample_ranking_negatives
from graphae.split import split_edges


def _check_non_edges(adj: sp.csr_matrix, src: np.ndarray, targets: np.ndarray) -> None:
    dense = adj.toarray() != 0
    assert not (targets == src[:, None]).any(), "a negative is the source itself"
    assert not dense[src[:, None], targets].any(), "a negative is an edge"


def test_negatives_are_non_edges_with_the_right_shape():
    graph = make_communities(num_nodes=120, random_state=0)
    split = split_edges(graph, random_state=0)
    out = sample_ranking_negatives(graph.adj, split.test_pos, 50, random_state=1)
    assert out.shape == (split.test_pos.shape[1], 50)
    assert out.dtype == np.int64
    _check_non_edges(graph.adj, split.test_pos[0], out)
    # Undirected: (s, t') is no edge either way.
    _check_non_edges(graph.adj.T.tocsr(), split.test_pos[0], out)


def test_seed_fixes_the_draws():
    graph = make_communities(num_nodes=80, random_state=0)
    pos = graph.edges()[:, :30]
    first = sample_ranking_negatives(graph.adj, pos, 20, random_state=7)
    np.testing.assert_array_equal(first, sample_ranking_negatives(graph.adj, pos, 20, random_state=7))
    rng = np.random.default_rng(7)
    np.testing.assert_array_equal(first, sample_ranking_negatives(graph.adj, pos, 20, random_state=rng))
    assert not np.array_equal(first, sample_ranking_negatives(graph.adj, pos, 20, random_state=8))


def test_directed_graph_allows_the_reverse_of_an_edge():
    # 0 -> 1 and 2 -> 0: node 0's only non-neighbour is 2, since only 0 -> 2 counts.
    graph = Graph.from_edges([[0, 1], [2, 0]], num_nodes=3, directed=True)
    out = sample_ranking_negatives(graph.adj, np.array([[0], [1]]), 5, random_state=0)
    np.testing.assert_array_equal(out, [[2, 2, 2, 2, 2]])


def test_undirected_source_joined_to_all_is_named():
    graph = Graph.from_edges([[0, 1], [2, 0], [3, 0], [2, 3]], num_nodes=4)
    pos = np.array([[3, 0], [2, 1]])
    with pytest.raises(InputError, match=r"source node 0: it is joined to every other node"):
        sample_ranking_negatives(graph.adj, pos, 5, random_state=0)


def test_draws_are_uniform_over_non_neighbours_with_replacement():
    # Node 0 of 6 is joined to 1 and 4: its non-neighbours are 2, 3 and 5.
    graph = Graph.from_edges([[0, 1], [0, 4], [2, 3]], num_nodes=6)
    out = sample_ranking_negatives(graph.adj, np.array([[0], [1]]), 30000, random_state=0)
    counts = np.bincount(out[0], minlength=6)
    assert counts[[0, 1, 4]].tolist() == [0, 0, 0]
    np.testing.assert_allclose(counts[[2, 3, 5]] / 30000, 1 / 3, atol=0.01)


def test_hub_with_one_non_neighbour_and_explicit_zeros():
    n = 50
    dense = np.ones((n, n))
    np.fill_diagonal(dense, 0)
    dense[7, 31] = dense[31, 7] = 0
    adj = sp.csr_matrix(dense)
    adj.data[adj.indptr[5]] = 0  # adj[5, 0] is now a stored zero, which is no edge
    out = sample_ranking_negatives(adj, np.array([[7, 5], [3, 6]]), 10, random_state=0)
    assert (out[0] == 31).all()
    # Node 5 lost its edge to node 0 (a stored zero): 0 is its only non-neighbour.
    assert (out[1] == 0).all()


def test_no_positives():
    adj = Graph.from_edges([[0, 1]], num_nodes=3).adj
    out = sample_ranking_negatives(adj, np.empty((2, 0), dtype=np.int64), 4, random_state=0)
    assert out.shape == (0, 4)


@pytest.mark.parametrize(
    ("pos", "k", "match"),
    [
        (
            np.array([[0, 1]]),
            3,
            r"'pos' parameter of sample_ranking_negatives must have shape \[2, P\].*Got \(1, 2\)",
        ),
        (
            np.array([[0, 1], [1, 2], [2, 0]]),
            3,
            r"'pos' parameter of sample_ranking_negatives must have shape \[2, P\].*Got \(3, 2\)",
        ),
        (
            np.array([[0], [4]]),
            3,
            r"'pos' parameter of sample_ranking_negatives must hold node indices in \[0, 4\). Got values in \[0, 4\]",
        ),
        (
            np.array([[0], [1]]),
            0,
            r"'num_negatives' parameter of sample_ranking_negatives must be an int >= 1. Got 0",
        ),
        (np.array([[0], [1]]), 2.0, r"'num_negatives'.*Got 2.0"),
    ],
)
def test_bad_input_is_named(pos, k, match):
    adj = Graph.from_edges([[0, 1]], num_nodes=4).adj
    with pytest.raises(InputError, match=match):
        sample_ranking_negatives(adj, pos, k, random_state=0)


def test_bad_types_are_named():
    adj = Graph.from_edges([[0, 1]], num_nodes=4).adj
    with pytest.raises(InputTypeError, match=r"'adj' parameter.*square scipy sparse matrix. Got ndarray"):
        sample_ranking_negatives(adj.toarray(), np.array([[0], [1]]), 3)
    with pytest.raises(
        InputTypeError,
        match=r"'pos' parameter of sample_ranking_negatives must hold integer node indices. Got dtype float64",
    ):
        sample_ranking_negatives(adj, np.array([[0.0], [1.0]]), 3)
    with pytest.raises(InputTypeError, match="random_state must be an int"):
        sample_ranking_negatives(adj, np.array([[0], [1]]), 3, random_state="seed")


def test_draws_read_only_the_sources_rows_and_are_as_before():
    # Only the rows of the sources are read now (a sample of test edges on a big graph was
    # ranked from the keys of every edge: 8 bytes x 2E, several copies). The draws stay the
    # ones of graphae before the change (digest of these cases, computed then).
    import hashlib

    rng = np.random.default_rng(0)
    digest = hashlib.sha256()
    for n, e, directed in ((50, 300, False), (50, 300, True), (2000, 20000, False), (7, 12, True)):
        g = Graph.from_edge_index(rng.integers(0, n, (2, e)), n, directed=directed)
        pos = g.edges()[:, ::3]
        digest.update(sample_ranking_negatives(g.adj, pos, 17, random_state=1).tobytes())
        digest.update(sample_ranking_negatives(g.adj.tocoo(), pos[::-1], 5, random_state=2).tobytes())
    assert digest.hexdigest()[:16] == "7128da2ed1b5ee24"
