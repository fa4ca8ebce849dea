"""Node pairs as integer keys: the one place where pair keys are made.

A pair ``(i, j)`` of a graph with ``N`` nodes has the key ``i * N + j``:

- **undirected** graphs key the unordered pair, ``min(i, j) * N + max(i, j)``, so
  ``(i, j)`` and ``(j, i)`` share one key;
- **directed** graphs key the ordered pair as given, so ``(i, j)`` and ``(j, i)`` differ.

Splits, samplers and graphs derive coordinates from keys (:func:`pairs_of`), never
keep parallel arrays that could drift. The functions accept numpy arrays or torch
tensors and return the same kind.

Example:
    >>> import numpy as np
    >>> pair_keys(np.array([[2, 0], [1, 3]]), num_nodes=4, directed=False)
    array([ 6,  3])
    >>> pairs_of(np.array([6, 3]), num_nodes=4)
    array([[1, 0],
           [2, 3]])
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

Array = TypeVar("Array")


def pair_keys(pairs: Array, num_nodes: int, directed: bool) -> Array:
    """Keys of node pairs.

    Args:
        pairs: ``[2, k]`` integer pairs (row 0: sources, row 1: targets).
        num_nodes: ``N``.
        directed: Key ordered pairs (``True``) or unordered ones (``False``).

    Returns:
        ``[k]`` int64 keys, numpy or torch like ``pairs``.
    """
    if isinstance(pairs, np.ndarray):
        src, dst = pairs[0].astype(np.int64, copy=False), pairs[1].astype(np.int64, copy=False)
        # In place on one new array: a graph's worth of keys is allocated once, not three times.
        if directed:
            keys = src * num_nodes
            keys += dst
        else:
            keys = np.minimum(src, dst)
            keys *= num_nodes
            keys += np.maximum(src, dst)
        return keys
    src, dst = pairs[0].long(), pairs[1].long()  # a torch tensor: kept on its device
    if not directed:
        src, dst = src.minimum(dst), src.maximum(dst)
    return src * num_nodes + dst


def pairs_of(keys: Array, num_nodes: int) -> Array:
    """Coordinates ``[2, k]`` of pair keys (``i < j`` for undirected keys)."""
    if isinstance(keys, np.ndarray) or not hasattr(keys, "div"):
        keys = np.asarray(keys, dtype=np.int64)
        return np.stack([keys // num_nodes, keys % num_nodes])
    import torch

    return torch.stack([keys.div(num_nodes, rounding_mode="floor"), keys.remainder(num_nodes)])


def num_pairs(num_nodes: int, directed: bool) -> int:
    """Number of pairs of distinct nodes: ``N (N - 1)`` ordered or ``N (N - 1) / 2`` unordered."""
    ordered = num_nodes * (num_nodes - 1)
    return ordered if directed else ordered // 2


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` by a sort and a comparison of neighbours.

    numpy 2.3+ computes a plain ``np.unique`` with a hash table: about 1 s per million
    int64 keys, 100 times a sort (which is near free on keys that are already sorted,
    as a graph's edge keys are).
    """
    return _drop_repeats(np.sort(values))


def _drop_repeats(ordered: np.ndarray) -> np.ndarray:
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def distinct_pair_keys(pairs: np.ndarray, num_nodes: int, directed: bool) -> np.ndarray:
    """Sorted keys of the pairs of distinct nodes, each once: self loops and duplicates dropped.

    Args:
        pairs: ``[2, k]`` integer numpy pairs in ``[0, num_nodes)``.
        num_nodes: ``N``, with ``N * N`` below ``2**63`` (see :func:`keys_fit`).
        directed: Key ordered pairs (``True``) or unordered ones (``False``).

    Returns:
        ``[m]`` sorted int64 keys, ``m <= k``.
    """
    keys = pair_keys(pairs, num_nodes, directed)
    loops = pairs[0] == pairs[1]
    if loops.any():
        keys = keys[~loops]
    keys.sort()  # a new array: sorted in place, saving a copy of E keys
    return _drop_repeats(keys)


def unordered_keys_and_ordered_count(pairs: np.ndarray, num_nodes: int) -> tuple[np.ndarray, int]:
    """:func:`distinct_pair_keys` of unordered pairs, and the number of distinct ordered ones.

    Both from one sort: each pair's unordered key carries its direction (``i > j``) as
    an extra low bit, so a pair listed both ways is two keys that differ in that bit
    only. Needs ``2 * N * N`` below ``2**63``; past that, two sorts.

    Returns:
        ``(sorted unordered keys, count of distinct ordered pairs)``; the count is the
        number of keys plus the number of pairs listed both ways.
    """
    if 2 * int(num_nodes) ** 2 > np.iinfo(np.int64).max:  # Python ints: a numpy N would wrap
        ordered = len(distinct_pair_keys(pairs, num_nodes, directed=True))
        return distinct_pair_keys(pairs, num_nodes, directed=False), ordered
    keys = pair_keys(pairs, num_nodes, directed=False)
    keys <<= 1
    keys += pairs[0] > pairs[1]
    loops = pairs[0] == pairs[1]
    if loops.any():
        keys = keys[~loops]
    keys.sort()
    keys = _drop_repeats(keys)
    ordered = len(keys)
    keys >>= 1
    return _drop_repeats(keys), ordered


def keys_fit(num_nodes: int) -> bool:
    """Whether every pair of ``num_nodes`` nodes has an int64 key (``N * N < 2**63``)."""
    return int(num_nodes) ** 2 <= np.iinfo(np.int64).max  # Python ints: a numpy N would wrap
