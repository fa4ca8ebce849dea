import numpy as np
import pytest
import torch

from graphae.pairs import (
    distinct_pair_keys,
    keys_fit,
    num_pairs,
    pair_keys,
    pairs_of,
    unordered_keys_and_ordered_count,
)


@pytest.mark.parametrize("kind", [np.asarray, torch.as_tensor], ids=["numpy", "torch"])
def test_undirected_keys_ignore_order_and_directed_keys_keep_it(kind) -> None:
    pairs = kind(np.array([[3, 0, 2], [1, 4, 7]]))
    undirected = pair_keys(pairs, 10, directed=False)
    directed = pair_keys(pairs, 10, directed=True)
    assert type(undirected) is type(pairs)
    np.testing.assert_array_equal(np.asarray(undirected), [13, 4, 27])
    np.testing.assert_array_equal(np.asarray(directed), [31, 4, 27])
    np.testing.assert_array_equal(np.asarray(pairs_of(directed, 10)), np.asarray(pairs))
    np.testing.assert_array_equal(np.asarray(pairs_of(undirected, 10)), [[1, 0, 2], [3, 4, 7]])


def test_num_pairs() -> None:
    assert num_pairs(4, directed=False) == 6
    assert num_pairs(4, directed=True) == 12


@pytest.mark.parametrize(
    ("directed", "expected"),
    [(False, [1, 5]), (True, [1, 3, 5, 7])],
    ids=["undirected", "directed"],
)
def test_distinct_pair_keys_drops_self_loops_and_duplicates(directed: bool, expected: list[int]) -> None:
    # 3 nodes: 0-1 twice, 1-0, a loop 2-2, 1-2 and 2-1.
    pairs = np.array([[0, 0, 1, 2, 1, 2], [1, 1, 0, 2, 2, 1]])
    keys = distinct_pair_keys(pairs, 3, directed)
    np.testing.assert_array_equal(keys, expected)
    assert keys.dtype == np.int64


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("directed", [False, True], ids=["undirected", "directed"])
def test_distinct_pair_keys_is_np_unique_of_the_keys_of_distinct_nodes(seed: int, directed: bool) -> None:
    rng = np.random.default_rng(seed)
    pairs = rng.integers(0, 6, (2, int(rng.integers(0, 40))))
    off = pairs[:, pairs[0] != pairs[1]]
    np.testing.assert_array_equal(
        distinct_pair_keys(pairs, 6, directed), np.unique(pair_keys(off, 6, directed))
    )


@pytest.mark.parametrize("num_nodes", [7, 2_500_000_000], ids=["direction-bit", "two-sorts"])
@pytest.mark.parametrize("seed", range(10))
def test_unordered_keys_and_ordered_count_is_two_distinct_pair_keys(seed: int, num_nodes: int) -> None:
    # Past 2 N^2 >= 2**63 (N = 2.5e9) the direction bit has no room: two sorts instead.
    rng = np.random.default_rng(seed)
    pairs = rng.integers(0, 7, (2, int(rng.integers(0, 40))))
    pairs = np.concatenate([pairs, pairs[::-1, : int(rng.integers(0, 10))]], axis=1)
    keys, ordered = unordered_keys_and_ordered_count(pairs, num_nodes)
    np.testing.assert_array_equal(keys, distinct_pair_keys(pairs, num_nodes, directed=False))
    assert ordered == len(distinct_pair_keys(pairs, num_nodes, directed=True))


def test_keys_fit_int64() -> None:
    assert keys_fit(3_037_000_499)
    assert not keys_fit(3_037_000_500)
    assert not keys_fit(np.int64(4_000_000_000))  # N * N would wrap in int64
