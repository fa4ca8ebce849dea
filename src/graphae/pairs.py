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
    src, dst = pairs[0], pairs[1]
    if isinstance(pairs, np.ndarray):
        src, dst = src.astype(np.int64), dst.astype(np.int64)
        if not directed:
            src, dst = np.minimum(src, dst), np.maximum(src, dst)
    else:  # a torch tensor: kept on its device
        src, dst = src.long(), dst.long()
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
