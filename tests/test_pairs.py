import numpy as np
import pytest
import torch

from graphae.pairs import num_pairs, pair_keys, pairs_of


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
