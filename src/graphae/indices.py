"""Node counts and node-index pairs given in Python, checked before anything is sized by them.

Readers of files number nodes themselves; Python callers pass indices (an
``edge_index``, ``num_nodes``, ``fit(val_pairs=...)``), where one wrong value (an id
used as an index, ``10**12``) would size an allocation of terabytes or fail inside
torch in the middle of training. These checks run first and name the argument.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from graphae.errors import InputError, InputTypeError
from graphae.split_official import MetricPairs

__all__ = ["check_index_pairs", "check_node_count"]

_GIB = 2**30
# Bytes per node that any graph of N nodes costs at least: its CSR row pointers (int64).
_BYTES_PER_NODE = 8


def _ram() -> int | None:
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def check_node_count(num_nodes: Any, what: str = "num_nodes") -> int:
    """``num_nodes`` as an ``int``, refused when a graph of that size cannot fit in memory.

    A graph of ``N`` nodes holds at least ``8 * N`` bytes (the adjacency's row
    pointers) before any edge or embedding; beyond the machine's memory the count is
    taken for what it almost always is: an id used as a node index.

    Args:
        num_nodes: The node count, given or inferred as ``max(index) + 1``.
        what: How the count came about, for the message.

    Raises:
        InputTypeError: If it is not an integer.
        InputError: If it is negative or cannot fit in memory.
    """
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int | np.integer):
        raise InputTypeError(f"num_nodes must be an int. Got {num_nodes!r}.")
    n = int(num_nodes)
    if n < 0:
        raise InputError(f"num_nodes must be >= 0. Got {n}.")
    ram = _ram()
    if ram is not None and _BYTES_PER_NODE * n > ram:
        raise InputError(
            f"{what} is {n}: a graph of {n} nodes needs at least {_BYTES_PER_NODE * n / _GIB:.1f} GiB "
            f"({_BYTES_PER_NODE} bytes per node), and this machine has {ram / _GIB:.1f} GiB. Node indices "
            "must be 0 .. N-1: number arbitrary ids first (np.unique(ids, return_inverse=True)), or load "
            "the edge list with graphae.data.load_graph, which does."
        )
    return n


def check_index_pairs(pairs: Any, num_nodes: int, name: str = "val_pairs") -> tuple[np.ndarray, np.ndarray]:
    """``(pos, neg)`` node-index pairs, each ``[2, k]`` with ``k >= 1``, as int64 arrays.

    :class:`~graphae.split_official.MetricPairs` come back as such, with their metric.

    Args:
        pairs: The pairs given (numpy arrays, torch tensors or nested sequences).
        num_nodes: ``N``: every index must lie in ``[0, N)``.
        name: The argument, for messages.

    Raises:
        InputTypeError: If it is not a pair ``(pos, neg)`` or holds non-integers (floats, bools).
        InputError: On another shape or an index outside ``[0, N)``.
    """
    if not isinstance(pairs, tuple | list) or len(pairs) != 2:
        raise InputTypeError(
            f"{name} must be a tuple (pos, neg) of [2, k] node-index arrays. Got {type(pairs).__name__}."
        )
    out = []
    for k, part in enumerate(pairs):
        what = f"{name}[{k}] (the {('positive', 'negative')[k]} pairs)"
        if hasattr(part, "detach"):  # a torch tensor
            part = part.detach().cpu().numpy()
        arr = np.asarray(part)
        if not np.issubdtype(arr.dtype, np.integer):
            raise InputTypeError(f"{what} must hold integer node indices. Got dtype {arr.dtype}.")
        if arr.ndim != 2 or arr.shape[0] != 2 or arr.shape[1] == 0:
            raise InputError(f"{what} must have shape [2, k] with k >= 1. Got {list(arr.shape)}.")
        low, high = int(arr.min()), int(arr.max())
        if low < 0 or high >= num_nodes:
            raise InputError(
                f"{what} must hold node indices in [0, {num_nodes}) of the graph. Got values in [{low}, {high}]."
            )
        out.append(arr.astype(np.int64, copy=False))
    if isinstance(pairs, MetricPairs):  # a benchmark's validation pairs keep the metric they select on
        return MetricPairs(out[0], out[1], pairs.metric)
    return out[0], out[1]
