"""Negative sampling: node pairs that are not edges, keyed by :mod:`graphae.pairs`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from graphae.errors import InputError, InputTypeError, describe
from graphae.pairs import num_pairs, pair_keys, sorted_unique

RandomState = int | np.random.Generator | None


def as_generator(random_state: RandomState) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a seed, a generator or ``None``.

    Raises:
        InputTypeError: If ``random_state`` is neither.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return np.random.default_rng(random_state)
    raise InputTypeError(
        f"random_state must be an int, a numpy.random.Generator or None. Got {type(random_state).__name__}."
    )


def sample_non_edges(
    edge_keys: np.ndarray,
    num_nodes: int,
    count: int,
    rng: np.random.Generator,
    directed: bool = False,
) -> np.ndarray:
    """Distinct node pairs that are not edges, uniformly at random.

    Args:
        edge_keys: Keys of the edges to avoid (see :mod:`graphae.pairs`).
        num_nodes: Number of nodes ``N``.
        count: Number of pairs wanted.
        rng: Source of randomness.
        directed: Draw ordered pairs ``i -> j`` (else unordered pairs ``i < j``).

    Returns:
        ``count`` distinct keys, in random order.

    Raises:
        InputError: If the graph has fewer than ``count`` non-edges.
    """
    strictly_sorted = len(edge_keys) < 2 or bool(np.all(edge_keys[1:] > edge_keys[:-1]))
    forbidden = edge_keys if strictly_sorted else sorted_unique(edge_keys)  # a graph's are, already
    available = num_pairs(num_nodes, directed) - len(forbidden)
    if count > available:
        raise InputError(
            f"Cannot sample {count} non-edges: the graph has only {available} node pairs that are not edges."
        )
    chosen = np.empty(0, dtype=np.int64)
    while len(chosen) < count:
        want = count - len(chosen)
        size = int(want * 1.2) + 16
        i = rng.integers(0, num_nodes, size=size)
        j = rng.integers(0, num_nodes, size=size)
        keep = i != j
        keys = pair_keys(np.stack([i[keep], j[keep]]), num_nodes, directed)
        keys = keys[~_isin_sorted(keys, forbidden)]
        keys = keys[~_isin_sorted(keys, np.sort(chosen))]
        # Keep the first occurrence of each key, in draw order, so the result is uniform.
        _, first = np.unique(keys, return_index=True)
        keys = keys[np.sort(first)]
        chosen = np.concatenate([chosen, keys[:want]])
    return chosen


def sample_ranking_negatives(
    adj: sp.csr_matrix,
    pos: np.ndarray,
    num_negatives: int = 100,
    *,
    random_state: RandomState = None,
) -> np.ndarray:
    """Corrupted targets of each positive pair, for ranking metrics (OGB ogbl-citation2 style).

    For each positive ``(s, t)`` draws ``num_negatives`` targets ``t'`` uniformly among
    the nodes with ``t' != s`` and ``adj[s, t'] == 0``. The draws of one positive are
    independent, so they may repeat (sampling with replacement). On a directed graph only
    the edge ``s -> t'`` is excluded (``t' -> s`` may be an edge); the symmetric adjacency
    of an undirected graph excludes both.

    Each draw is exact, with no rejection: a uniform rank ``r`` among the non-neighbours
    of ``s`` is turned into the node ``t'`` by a binary search in the sorted pair keys
    (:mod:`graphae.pairs`, ordered) of the edges plus self pairs, so sources of any
    degree cost the same.

    Args:
        adj: Adjacency ``[N, N]`` of the *full* graph (scipy sparse; nonzero = edge).
        pos: ``[2, P]`` positive pairs (row 0: sources ``s``, row 1: targets ``t``).
        num_negatives: Negatives per positive ``K``, an int ``>= 1``.
        random_state: Seed or ``numpy.random.Generator``.

    Returns:
        ``[P, K]`` int64 targets ``t'``: the negative pairs are ``(pos[0, p], out[p, k])``.

    Raises:
        InputError: If ``pos`` is not ``[2, P]`` node indices of ``adj``, ``num_negatives``
            is not an int ``>= 1``, or a source is joined to every other node.
        InputTypeError: If ``adj`` is not a square scipy sparse matrix.

    Example:
        >>> adj = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]]))
        >>> sample_ranking_negatives(adj, np.array([[0], [1]]), 3, random_state=0)
        array([[2, 2, 2]])
    """
    if not sp.issparse(adj) or adj.ndim != 2 or adj.shape[0] != adj.shape[1]:
        raise InputTypeError(
            "The 'adj' parameter of sample_ranking_negatives must be a square scipy sparse matrix. "
            f"Got {type(adj).__name__} of shape {getattr(adj, 'shape', None)}."
        )
    n = adj.shape[0]
    src = _check_sources(pos, n)
    if (
        isinstance(num_negatives, bool)
        or not isinstance(num_negatives, (int, np.integer))
        or num_negatives < 1
    ):
        raise InputError(
            "The 'num_negatives' parameter of sample_ranking_negatives must be an int >= 1. "
            f"Got {describe(num_negatives)}."
        )
    rng = as_generator(random_state)
    # Only the rows of the sources are read (a sample of test edges on a big graph touches a
    # sliver of it): local row r stands for node sources[r], and keys are r * N + column.
    sources = np.unique(src)
    rows_of = sp.csr_matrix(adj)[sources].tocoo()
    nonzero = rows_of.data != 0
    edges = rows_of.row[nonzero].astype(np.int64) * n + rows_of.col[nonzero]
    del rows_of, nonzero
    self_pairs = np.arange(len(sources), dtype=np.int64) * n + sources
    forbidden = sorted_unique(np.concatenate([edges, self_pairs]))  # sorted, >= 1 per row
    del edges, self_pairs
    rows, cols = np.divmod(forbidden, n)
    start = np.searchsorted(rows, np.arange(len(sources)))
    # Forbidden entry j of row s hides the node cols[j]; cols[j] - j non-neighbours lie
    # below it. The r-th non-neighbour (from 0) is r plus the number of forbidden nodes
    # with at most r non-neighbours below them. Keyed by row, these counts stay sorted.
    below = rows * n + cols - (np.arange(len(forbidden)) - start[rows])
    del rows, cols, forbidden
    available = n - np.diff(np.append(start, len(below)))
    local = np.searchsorted(sources, src)
    if len(src) and (available[local] == 0).any():
        node = int(src[available[local] == 0][0])
        raise InputError(
            f"Cannot sample ranking negatives for source node {node}: it is joined to every other node, "
            "so it has no non-neighbour."
        )
    ranks = rng.integers(0, available[local][:, None], size=(len(src), int(num_negatives)))
    hidden = np.searchsorted(below, local[:, None] * n + ranks, side="right") - start[local][:, None]
    return (ranks + hidden).astype(np.int64)


def _check_sources(pos: Any, n: int) -> np.ndarray:
    arr = np.asarray(pos)
    if arr.size == 0:
        arr = arr.reshape(2, 0).astype(np.int64)
    if arr.ndim != 2 or arr.shape[0] != 2:
        raise InputError(
            f"The 'pos' parameter of sample_ranking_negatives must have shape [2, P] (sources, targets). Got {arr.shape}."
        )
    if not np.issubdtype(arr.dtype, np.integer):
        raise InputTypeError(
            f"The 'pos' parameter of sample_ranking_negatives must hold integer node indices. Got dtype {arr.dtype}."
        )
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise InputError(
            f"The 'pos' parameter of sample_ranking_negatives must hold node indices in [0, {n}). Got values in [{arr.min()}, {arr.max()}]."
        )
    return arr[0].astype(np.int64)


def _isin_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    if len(sorted_keys) == 0:
        return np.zeros(len(values), dtype=bool)
    # Looked up in sorted order: consecutive binary searches then share their path through
    # the keys (a cache-friendly walk; random order misses the cache at every step on a
    # graph's worth of keys).
    order = np.argsort(values)
    ordered = values[order]
    pos = np.searchsorted(sorted_keys, ordered)
    pos[pos == len(sorted_keys)] = 0
    found = np.empty(len(values), dtype=bool)
    found[order] = sorted_keys[pos] == ordered
    return found


# Up to this many bits (64 MiB), edge membership is a bitmap lookup instead of a binary search.
_BITMAP_BITS = 1 << 29
# Above it, a hashed bitmap of about this many bits per edge screens the draws first: with
# one hash, a non-edge passes with probability about 1/16, and only those reach the search.
_FILTER_BITS_PER_EDGE = 16
# Fibonacci hashing: the key times 2^64 / golden ratio (as a signed int64), top bits kept.
_HASH_MULTIPLIER = -7046029254386353131  # 0x9E3779B97F4A7C15


def _pack_bits(hits: torch.Tensor) -> torch.Tensor:
    """A bool tensor (length a multiple of 8) as a uint8 bitmap, bit ``i & 7`` of byte ``i >> 3``."""
    weights = torch.tensor([1, 2, 4, 8, 16, 32, 64, 128], dtype=torch.uint8, device=hits.device)
    return (hits.view(-1, 8).to(torch.uint8) * weights).sum(1, dtype=torch.uint8)


def _test_bits(bitmap: torch.Tensor, slots: torch.Tensor) -> torch.Tensor:
    return (bitmap[slots >> 3] >> (slots & 7).to(torch.uint8)) & 1 == 1


class NegativeSampler:
    """Draws node pairs that are not edges, on the device of the edges.

    Pairs ``i != j`` are drawn uniformly; pairs that hit an edge are dropped and
    redrawn, so the result has exactly ``count`` non-edges (not necessarily distinct,
    as in PyTorch Geometric's ``negative_sampling``). Membership is tested with a
    bitmap of the pair keys when ``N^2`` bits fit in 64 MiB. Otherwise a hashed bitmap
    of about 16 bits per edge (``2^b`` bits, slot = the top ``b`` bits of ``key *
    0x9E3779B97F4A7C15``) screens the draws: a pair whose slot is clear is no edge, and
    only the others (about 1 in 16 of the non-edges) go through the binary search of
    the sorted edge keys. Both tests give the same answers as the search alone.

    Args:
        edge_index: ``[2, E]`` edges to avoid (any orientation when undirected).
        num_nodes: Number of nodes ``N``.
        directed: Whether ``(i, j)`` and ``(j, i)`` are different pairs.
    """

    def __init__(self, edge_index: torch.Tensor, num_nodes: int, directed: bool = False) -> None:
        self.num_nodes = num_nodes
        self.directed = directed
        self.keys = torch.unique(pair_keys(edge_index, num_nodes, directed))
        # Self pairs (key i * (N + 1)) are never drawn, so they do not count against the non-edges.
        self.non_edges = num_pairs(num_nodes, directed) - int((self.keys % (num_nodes + 1) != 0).sum())
        self.bitmap: torch.Tensor | None = None
        self.filter: torch.Tensor | None = None
        self.filter_shift = 0
        if num_nodes * num_nodes <= _BITMAP_BITS:
            bits = torch.zeros(
                (num_nodes * num_nodes + 7) // 8 * 8, dtype=torch.bool, device=self.keys.device
            )
            bits[self.keys] = True
            self.bitmap = _pack_bits(bits)
        elif len(self.keys):
            log_bits = max(6, math.ceil(math.log2(_FILTER_BITS_PER_EDGE * len(self.keys))))
            self.filter_shift = 64 - log_bits
            hits = torch.zeros(1 << log_bits, dtype=torch.bool, device=self.keys.device)
            hits[self._slots(self.keys)] = True
            self.filter = _pack_bits(hits)

    def _slots(self, keys: torch.Tensor) -> torch.Tensor:
        """Filter slots of pair keys, in ``[0, 2^b)`` (int64 products wrap modulo 2^64)."""
        # The arithmetic shift copies the sign bit; the mask keeps the top b bits alone.
        return ((keys * _HASH_MULTIPLIER) >> self.filter_shift) & ((1 << (64 - self.filter_shift)) - 1)

    def is_edge(self, keys: torch.Tensor) -> torch.Tensor:
        """Whether each pair key is an edge."""
        if self.bitmap is not None:
            return _test_bits(self.bitmap, keys)
        if len(self.keys) == 0:
            return torch.zeros_like(keys, dtype=torch.bool)
        if self.filter is None:
            return self._search(keys)
        found = _test_bits(self.filter, self._slots(keys))
        maybe = found.nonzero().squeeze(1)
        found[maybe] = self._search(keys[maybe])
        return found

    def _search(self, keys: torch.Tensor) -> torch.Tensor:
        pos = torch.searchsorted(self.keys, keys).clamp_(max=len(self.keys) - 1)
        return self.keys[pos] == keys

    def sample(self, count: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Return ``[2, count]`` int64 non-edge pairs.

        Raises:
            InputError: If ``count > 0`` and every node pair is an edge (a complete graph).
        """
        n, device = self.num_nodes, self.keys.device
        if count > 0 and self.non_edges <= 0:
            raise InputError(
                f"Cannot sample negative pairs: all {num_pairs(n, self.directed)} node pairs of the "
                f"{n}-node training graph are edges. Negative sampling (loss='sampled', MaskGAE) needs "
                "pairs that are not edges; use loss='full' or a graph that is not complete."
            )
        out: list[torch.Tensor] = []
        have = 0
        while have < count:
            size = int((count - have) * 1.1) + 16
            pairs = torch.randint(0, n, (2, size), generator=generator, device=device)
            bad = (pairs[0] == pairs[1]) | self.is_edge(pair_keys(pairs, n, self.directed))
            pairs = pairs[:, ~bad][:, : count - have]
            out.append(pairs)
            have += pairs.shape[1]
        return torch.cat(out, dim=1)
