import numpy as np
import pytest

from graphae.data import make_communities
from graphae.graph import Graph
from graphae.pairs import pair_keys
from graphae.sampling import NegativeSampler, sample_non_edges
from graphae.split import split_edges


@pytest.fixture(scope="module")
def graph():
    return make_communities(num_nodes=300, num_communities=4, random_state=1)


def edge_keys(g: Graph) -> set[int]:
    e = g.edges()
    return set((e[0] * g.num_nodes + e[1]).tolist())


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_split_properties(graph, seed):
    s = split_edges(graph, random_state=seed)
    n, total = graph.num_nodes, graph.num_edges
    full = edge_keys(graph)
    train = edge_keys(s.train)
    val_pos, test_pos = set(s.val_pos_keys.tolist()), set(s.test_pos_keys.tolist())
    val_neg, test_neg = set(s.val_neg_keys.tolist()), set(s.test_neg_keys.tolist())
    # Sizes follow the reference: floor(E/10) test, floor(E/20) validation.
    assert len(test_pos) == len(s.test_pos_keys) == total // 10
    assert len(val_pos) == len(s.val_pos_keys) == total // 20
    assert len(test_neg) == len(s.test_neg_keys) == len(test_pos)
    assert len(val_neg) == len(s.val_neg_keys) == len(val_pos)
    # Positives partition the edges; the training graph holds only training edges.
    assert train | val_pos | test_pos == full
    assert not (train & val_pos or train & test_pos or val_pos & test_pos)
    # Negatives are non-edges of the full graph, disjoint, without self loops.
    assert not (val_neg & full or test_neg & full or val_neg & test_neg)
    for pairs in (s.val_neg, s.test_neg, s.val_pos, s.test_pos):
        assert (pairs[0] < pairs[1]).all() and pairs.max() < n
    # The training graph keeps nodes, features and labels.
    assert s.train.num_nodes == n and s.train.x is graph.x and s.train.y is graph.y


def test_same_seed_same_split_and_different_seed_differs(graph):
    a, b, c = (split_edges(graph, random_state=s) for s in (3, 3, 4))
    for name in ("val_pos_keys", "val_neg_keys", "test_pos_keys", "test_neg_keys"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert (a.train.adj != b.train.adj).nnz == 0
    assert not np.array_equal(a.test_pos_keys, c.test_pos_keys)


def test_split_rejects_tiny_graphs_and_bad_ratios():
    tiny = Graph.from_edges(np.array([[0, 1], [1, 2], [2, 3]]))
    with pytest.raises(ValueError, match="too few edges to split"):
        split_edges(tiny, random_state=0)
    g = make_communities(num_nodes=100, num_communities=2, random_state=0)
    with pytest.raises(ValueError, match="'test_ratio' parameter"):
        split_edges(g, test_ratio=0)
    with pytest.raises(ValueError, match="'val_ratio' parameter"):
        split_edges(g, val_ratio=0.5, test_ratio=0.6)


def test_sample_non_edges_exhausts_a_small_complement():
    # A triangle plus an isolated node: exactly 3 non-edges.
    g = Graph.from_edges(np.array([[0, 1], [1, 2], [0, 2]]), num_nodes=4)
    e = g.edges()
    keys = sample_non_edges(e[0] * 4 + e[1], 4, 3, np.random.default_rng(0))
    assert sorted(keys.tolist()) == [3, 7, 11]
    with pytest.raises(ValueError, match="Cannot sample 4 non-edges"):
        sample_non_edges(e[0] * 4 + e[1], 4, 4, np.random.default_rng(0))


def test_negative_sampler_avoids_edges():
    import torch

    g = make_communities(num_nodes=50, num_communities=2, avg_degree=10, random_state=0)
    edges = torch.from_numpy(g.edges())
    sampler = NegativeSampler(edges, g.num_nodes)
    neg = sampler.sample(5000, torch.Generator().manual_seed(0))
    assert neg.shape == (2, 5000)
    assert (neg[0] != neg[1]).all()
    keys = set(pair_keys(neg.numpy(), g.num_nodes, directed=False).tolist())
    assert not keys & edge_keys(g)
    again = sampler.sample(5000, torch.Generator().manual_seed(0))
    assert torch.equal(neg, again)


def test_training_graph_keeps_its_edges_when_two_remain():
    # Regression: two training edges as a [2, 2] array were once read as rows (0-2, 1-3).
    # A 4-cycle plus a chord and an isolated node: 5 edges, 1 for test and 2 for validation.
    g = Graph.from_edges(np.array([[0, 1], [1, 2], [2, 3], [3, 0], [0, 2]]), num_nodes=5)
    for seed in range(10):
        s = split_edges(g, val_ratio=0.4, test_ratio=0.2, random_state=seed)
        assert s.train.num_edges == 2
        train = set(pair_keys(s.train.edges(), 5, directed=False).tolist())
        held_out = set(s.val_pos_keys.tolist()) | set(s.test_pos_keys.tolist())
        assert train | held_out == set(g.edge_keys().tolist())


@pytest.fixture(scope="module")
def directed_graph():
    rng = np.random.default_rng(0)
    edges = rng.integers(0, 200, size=(1500, 2))
    return Graph.from_edges(edges, num_nodes=200, directed=True)


def test_directed_split_holds_out_directed_edges_and_ordered_non_edges(directed_graph):
    g = directed_graph
    s = split_edges(g, random_state=0)
    assert s.directed and s.train.directed
    full = set(g.edge_keys().tolist())
    train = set(s.train.edge_keys().tolist())
    val_pos, test_pos = set(s.val_pos_keys.tolist()), set(s.test_pos_keys.tolist())
    val_neg, test_neg = set(s.val_neg_keys.tolist()), set(s.test_neg_keys.tolist())
    assert len(test_pos) == g.num_edges // 10 and len(val_pos) == g.num_edges // 20
    assert train | val_pos | test_pos == full
    assert not (train & val_pos or train & test_pos or val_pos & test_pos)
    assert not (val_neg & full or test_neg & full or val_neg & test_neg)
    assert len(test_neg) == len(test_pos) and len(val_neg) == len(val_pos)
    for pairs in (s.val_neg, s.test_neg):
        assert (pairs[0] != pairs[1]).all()
    # Ordered pairs: negatives run both ways (i > j as well as i < j).
    neg = np.concatenate([s.val_neg, s.test_neg], axis=1)
    assert (neg[0] > neg[1]).any() and (neg[0] < neg[1]).any()


def test_directed_sampler_counts_a_reversed_edge_as_a_non_edge():
    import torch

    # 0 -> 1 only: (1, 0) is a non-edge of the directed graph, an edge of the undirected one.
    edges = torch.tensor([[0], [1]])
    directed = NegativeSampler(edges, 2, directed=True)
    neg = directed.sample(50, torch.Generator().manual_seed(0))
    assert (neg[0] == 1).all() and (neg[1] == 0).all()
    undirected = NegativeSampler(edges, 3, directed=False)
    neg = undirected.sample(50, torch.Generator().manual_seed(0))
    assert not ({(0, 1), (1, 0)} & set(zip(neg[0].tolist(), neg[1].tolist(), strict=True)))


def test_sample_non_edges_directed_exhausts_the_ordered_complement():
    # 0 -> 1 among 3 nodes: 6 ordered pairs, 5 of them non-edges.
    keys = sample_non_edges(np.array([1]), 3, 5, np.random.default_rng(0), directed=True)
    assert sorted(keys.tolist()) == [2, 3, 5, 6, 7]


def _split_digest(split) -> str:
    import hashlib

    h = hashlib.sha256()
    adj = split.train.adj
    for a in (split.val_pos_keys, split.val_neg_keys, split.test_pos_keys, split.test_neg_keys):
        h.update(np.ascontiguousarray(a).tobytes())
    for a in (adj.indptr, adj.indices):
        h.update(np.ascontiguousarray(a.astype(np.int64)).tobytes())
    return h.hexdigest()[:16]


def test_split_is_the_same_as_before_the_faster_split():
    # Digests of splits made by graphae 0.x before split_edges skipped its [2, E] round trips:
    # Table 1 depends on the split, so the faster path must give the same pairs and graph.
    g = make_communities(num_nodes=300, avg_degree=6.0, num_features=20, random_state=0)
    assert _split_digest(split_edges(g, random_state=3)) == "49980ca02737f543"
    e = np.random.default_rng(0).integers(0, 300, (2, 2000))
    d = Graph.from_edge_index(e, 300, directed=True)
    assert _split_digest(split_edges(d, random_state=4)) == "68a245e9aa70fe53"


def test_edge_keys_of_unsorted_csr_indices():
    import scipy.sparse as sp

    adj = sp.csr_matrix(
        (np.ones(4, dtype=np.float32), np.array([2, 1, 2, 0]), np.array([0, 2, 3, 4])), shape=(3, 3)
    )
    assert not adj.has_sorted_indices
    g = Graph(adj=adj, directed=True)
    np.testing.assert_array_equal(g.edge_keys(), [1, 2, 5, 6])
