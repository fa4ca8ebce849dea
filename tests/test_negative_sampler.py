"""NegativeSampler's membership tests (exact bitmap, hashed filter, binary search) agree; sorted_unique."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphae import GAE
from graphae.data import make_planted_partition
from graphae.errors import InputError
from graphae.graph import Graph
from graphae.models.maskgae import MaskGAE
from graphae.pairs import pair_keys
from graphae.sampling import NegativeSampler, sorted_unique

# N^2 above the exact bitmap's 2^29 bits: the hashed filter is used.
N = 30_000


@pytest.fixture(scope="module")
def edges() -> torch.Tensor:
    return torch.from_numpy(make_planted_partition(N, 60_000, num_blocks=30, random_state=0).edges())


def _search_only(sampler: NegativeSampler) -> NegativeSampler:
    sampler.filter = None
    return sampler


@pytest.mark.parametrize("directed", [False, True])
def test_the_filter_answers_as_the_binary_search(edges: torch.Tensor, directed: bool) -> None:
    sampler = NegativeSampler(edges, N, directed=directed)
    assert sampler.bitmap is None and sampler.filter is not None
    # At least 16 bits per edge.
    assert 8 * sampler.filter.numel() >= 16 * len(sampler.keys)
    random = torch.randint(0, N, (2, 200_000), generator=torch.Generator().manual_seed(0))
    keys = torch.cat([pair_keys(random, N, directed), sampler.keys, pair_keys(edges.flip(0), N, directed)])
    expected = torch.isin(keys, sampler.keys)
    assert torch.equal(sampler.is_edge(keys), expected)
    assert torch.equal(_search_only(sampler).is_edge(keys), expected)
    assert expected[:200_000].any()  # some random draws are edges (about 1 in 7,500): both answers are tested


def test_filter_slots_are_in_range_and_spread(edges: torch.Tensor) -> None:
    sampler = NegativeSampler(edges, N)
    slots = sampler._slots(sampler.keys)
    size = 8 * sampler.filter.numel()
    assert int(slots.min()) >= 0 and int(slots.max()) < size
    # Distinct keys land on distinct slots nearly always (a 1/16-full table).
    assert len(torch.unique(slots)) > 0.9 * len(sampler.keys)


@pytest.mark.parametrize("directed", [False, True])
def test_samples_are_unchanged_by_the_filter(edges: torch.Tensor, directed: bool) -> None:
    filtered = NegativeSampler(edges, N, directed=directed)
    plain = _search_only(NegativeSampler(edges, N, directed=directed))
    a = filtered.sample(100_000, torch.Generator().manual_seed(3))
    b = plain.sample(100_000, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    keys = pair_keys(a, N, directed)
    assert not torch.isin(keys, filtered.keys).any() and not (a[0] == a[1]).any()


def test_small_graphs_keep_the_exact_bitmap() -> None:
    edges = torch.tensor([[0, 1, 2], [1, 2, 3]])
    sampler = NegativeSampler(edges, 5)
    assert sampler.bitmap is not None and sampler.filter is None
    keys = pair_keys(torch.tensor([[0, 1, 0, 3], [1, 2, 2, 4]]), 5, False)
    assert sampler.is_edge(keys).tolist() == [True, True, False, False]


def test_a_large_graph_without_edges_has_no_filter() -> None:
    sampler = NegativeSampler(torch.zeros((2, 0), dtype=torch.int64), N)
    assert sampler.filter is None and sampler.bitmap is None
    assert sampler.sample(10, torch.Generator().manual_seed(0)).shape == (2, 10)


@pytest.mark.parametrize("values", [[], [5], [3, 1, 3, 2, 1], [7, 7, 7], list(range(10))])
def test_sorted_unique_is_np_unique(values: list[int]) -> None:
    arr = np.array(values, dtype=np.int64)
    out = sorted_unique(arr)
    assert out.dtype == np.int64 and np.array_equal(out, np.unique(arr))


def _complete(n: int, missing: int = 0) -> Graph:
    """The complete undirected graph on ``n`` nodes, less the first ``missing`` pairs ``(0, j)``."""
    dense = np.ones((n, n), dtype=np.float32) - np.eye(n, dtype=np.float32)
    dense[0, 1 : 1 + missing] = dense[1 : 1 + missing, 0] = 0
    return Graph(adj=sp.csr_matrix(dense))


@pytest.mark.parametrize("directed", [False, True])
def test_sampling_on_a_complete_graph_is_an_error_not_a_hang(directed: bool) -> None:
    n = 12
    edges = torch.from_numpy(np.array(np.nonzero(np.ones((n, n)))))  # every pair, self loops included
    sampler = NegativeSampler(edges, n, directed=directed)
    assert sampler.non_edges == 0
    with pytest.raises(InputError, match="Cannot sample negative pairs: all .* pairs of the 12-node"):
        sampler.sample(10, torch.Generator().manual_seed(0))


@pytest.mark.parametrize("make", [lambda: GAE(loss="sampled", epochs=2), lambda: MaskGAE(epochs=2)])
def test_fitting_a_complete_graph_with_negative_sampling_ends_with_a_clear_error(make) -> None:
    with pytest.raises(InputError, match="Cannot sample negative pairs: all 66 node pairs"):
        make().set_params(random_state=0).fit(_complete(12))


def test_a_near_complete_graph_samples_its_one_non_edge() -> None:
    graph = _complete(12, missing=1)
    sampler = NegativeSampler(torch.from_numpy(graph.edges()), 12)
    assert sampler.non_edges == 1
    pairs = sampler.sample(50, torch.Generator().manual_seed(0))
    assert pairs.sort(0).values.T.tolist() == [[0, 1]] * 50
    GAE(loss="sampled", epochs=2, random_state=0).fit(graph)
