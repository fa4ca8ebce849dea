"""A planted-partition graph of any size, generated in O(E) memory: the scale benchmark's input."""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

from graphae.errors import InputError
from graphae.graph import Graph
from graphae.pairs import num_pairs

# Edges drawn (and feature rows made) per chunk: bounds the temporaries to a few
# hundred MiB whatever the graph's size. Part of the seeded stream: changing it
# changes the graphs.
_CHUNK = 1 << 22


def make_planted_partition(
    num_nodes: int,
    num_edges: int,
    *,
    num_blocks: int = 100,
    p_in: float = 0.8,
    num_features: int = 64,
    random_state: int | np.random.Generator | None = None,
) -> Graph:
    r"""Sample a planted-partition graph with Gaussian block features, in ``O(E)`` memory.

    Node ``i`` belongs to block ``i mod K`` (``K = num_blocks``), so blocks have equal
    sizes up to one node and are spread over the node ids. Each of ``num_edges`` draws
    picks a source ``s`` uniformly among the ``N`` nodes and, with probability ``p_in``,
    a target uniformly in the block of ``s``, else uniformly among all nodes. Draws
    are undirected; self loops and repeated pairs are dropped, so the graph has *at
    most* ``num_edges`` edges: slightly fewer, by about ``(E p_in)^2 K / N^2`` repeats
    and ``E p_in K / N`` loops (100k nodes, 1M draws: 992,812 edges). The expected
    fraction of edges inside a block is ``p_in + (1 - p_in) / K``.

    Features: block ``k`` has a centroid :math:`c_k \sim N(0, I_F)`; node ``i`` gets
    :math:`x_i = c_{y_i} + \varepsilon_i`, :math:`\varepsilon_i \sim N(0, I_F)`
    (unit noise). Labels are the blocks.

    Everything is vectorised numpy in chunks of a few million draws; the symmetric
    CSR adjacency is built directly from the sorted pair keys (no COO matrix, no
    per-edge Python): beyond the features (``4 F`` bytes per node) the peak is about 35
    bytes per draw (1M nodes, 10M draws: 0.9 GiB peak RSS with Python and torch loaded),
    and 100M draws take minutes.

    Args:
        num_nodes: Number of nodes ``N``, at least 2.
        num_edges: Number of edge draws ``E``, in ``[1, N (N - 1) / 2]``.
        num_blocks: Number of blocks ``K``, in ``[1, N]``.
        p_in: Probability in ``[0, 1]`` that a draw stays inside its source's block.
        num_features: Feature width ``F``, at least 1.
        random_state: Seed or ``numpy.random.Generator``; a generator is consumed,
            global random state is never touched.

    Returns:
        An undirected :class:`~graphae.graph.Graph` named
        ``"planted-<N>-<E>"`` with dense ``float32`` features ``x`` ``[N, F]`` and
        labels ``y`` (int64 blocks, ``[N]``).

    Raises:
        InputError: If an argument is of the wrong type or out of range.

    Example:
        >>> g = make_planted_partition(1000, 5000, num_blocks=10, random_state=0)
        >>> g.num_nodes, g.num_edges <= 5000, g.x.shape, int(g.y.max())
        (1000, True, (1000, 64), 9)
    """
    _check_params(num_nodes, num_edges, num_blocks, p_in, num_features, random_state)
    rng = np.random.default_rng(random_state)
    keys = _sample_keys(num_nodes, num_edges, num_blocks, float(p_in), rng)
    up_ind, up_ptr = _upper_triangle(keys, num_nodes)
    del keys
    adj = _symmetric_csr(up_ind, up_ptr, num_nodes)
    del up_ind, up_ptr
    y = np.arange(num_nodes, dtype=np.int64) % num_blocks
    x = _block_features(y, num_blocks, num_features, rng)
    return Graph(adj=adj, x=x, y=y, name=f"planted-{num_nodes}-{num_edges}")


def _sample_keys(
    num_nodes: int, num_edges: int, num_blocks: int, p_in: float, rng: np.random.Generator
) -> np.ndarray:
    """Sorted distinct keys ``i * N + j`` (``i < j``) of the drawn edges, int64."""
    keys = np.empty(num_edges, dtype=np.int64)
    # Block b holds the nodes b, b + K, b + 2K, ...: ceil((N - b) / K) of them.
    block_size = (num_nodes - np.arange(num_blocks) + num_blocks - 1) // num_blocks
    for start in range(0, num_edges, _CHUNK):
        size = min(_CHUNK, num_edges - start)
        src = rng.integers(0, num_nodes, size=size)
        inside = rng.random(size) < p_in
        dst = rng.integers(0, num_nodes, size=size)
        block = src[inside] % num_blocks
        dst[inside] = block + num_blocks * rng.integers(0, block_size[block])
        lo = np.minimum(src, dst)
        hi = np.maximum(src, dst, out=dst)
        hi -= lo
        # Self loops (hi == lo) get the sentinel -1, dropped after the sort.
        key = np.multiply(lo, num_nodes, out=src)
        key += lo
        key += hi
        key[hi == 0] = -1
        keys[start : start + size] = key
    keys.sort()
    keep = np.empty(len(keys), dtype=bool)
    keep[0] = keys[0] >= 0
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    keep[1:] &= keys[1:] >= 0
    return keys[keep]


def _upper_triangle(keys: np.ndarray, num_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR ``(indices, indptr)`` of the upper triangle given by sorted undirected keys."""
    n = num_nodes
    index = np.int32 if max(n, 2 * len(keys)) < np.iinfo(np.int32).max else np.int64
    indptr = np.zeros(n + 1, dtype=index)
    indices = np.empty(len(keys), dtype=index)
    counts = np.zeros(n, dtype=np.int64)
    for start in range(0, len(keys), _CHUNK):
        part = keys[start : start + _CHUNK]
        counts += np.bincount(part // n, minlength=n)
        indices[start : start + len(part)] = part % n
    np.cumsum(counts, out=indptr[1:])
    return indices, indptr


def _symmetric_csr(up_ind: np.ndarray, up_ptr: np.ndarray, num_nodes: int) -> sp.csr_matrix:
    """The symmetric binary adjacency of an upper triangle, without a COO detour.

    Row ``r`` holds its columns below ``r`` (the transpose of the upper triangle, made by
    scipy's ``O(E + N)`` counting sort) then those above ``r``, so rows are
    concatenated, never merged. Peak: about 24 bytes per edge.

    Returns:
        ``[N, N]`` float32 CSR with sorted indices and ``2 E`` stored ones.
    """
    n, index = num_nodes, up_ind.dtype
    upper = sp.csr_matrix((np.ones(len(up_ind), dtype=np.float32), up_ind, up_ptr), shape=(n, n))
    lower = upper.T.tocsr()
    del upper  # frees its data; up_ind and up_ptr stay
    lo_ind, lo_ptr = lower.indices.astype(index, copy=False), lower.indptr.astype(index, copy=False)
    del lower
    indptr = lo_ptr + up_ptr
    indices = np.empty(int(indptr[-1]), dtype=index)
    _place_rows(indices, indptr[:-1], lo_ind, lo_ptr)
    del lo_ind
    _place_rows(indices, indptr[:-1] + np.diff(lo_ptr), up_ind, up_ptr)
    adj = sp.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr), shape=(n, n))
    adj.has_sorted_indices = True
    return adj


def _place_rows(out: np.ndarray, row_start: np.ndarray, indices: np.ndarray, indptr: np.ndarray) -> None:
    """Copy row ``r`` of the CSR ``(indices, indptr)`` to ``out[row_start[r]:]``, chunk by chunk."""
    n = len(indptr) - 1
    first = 0
    while first < n:
        # The rows whose entries fit in one chunk (at least one row).
        last = int(np.searchsorted(indptr, indptr[first] + _CHUNK, side="right")) - 1
        last = min(max(last, first + 1), n)
        lo, hi = int(indptr[first]), int(indptr[last])
        shift = np.repeat(row_start[first:last] - indptr[first:last], np.diff(indptr[first : last + 1]))
        out[np.arange(lo, hi, dtype=shift.dtype) + shift] = indices[lo:hi]
        first = last


def _block_features(
    y: np.ndarray, num_blocks: int, num_features: int, rng: np.random.Generator
) -> np.ndarray:
    """``x_i = c_{y_i} + noise``: a N(0, I) centroid per block plus unit Gaussian noise, float32."""
    centroids = rng.standard_normal((num_blocks, num_features), dtype=np.float32)
    x = np.empty((len(y), num_features), dtype=np.float32)
    rows = max(1, _CHUNK // num_features)
    for start in range(0, len(y), rows):
        part = x[start : start + rows]
        rng.standard_normal(part.shape, dtype=np.float32, out=part)
        part += centroids[y[start : start + rows]]
    return x


def _check_params(
    num_nodes: object,
    num_edges: object,
    num_blocks: object,
    p_in: object,
    num_features: object,
    random_state: object,
) -> None:
    _check_int("num_nodes", num_nodes, 2, None)
    _check_int("num_edges", num_edges, 1, num_pairs(int(num_nodes), directed=False))
    _check_int("num_blocks", num_blocks, 1, num_nodes)
    real = isinstance(p_in, numbers.Real) and not isinstance(p_in, bool)
    if not (real and 0.0 <= p_in <= 1.0):
        raise InputError(
            f"The 'p_in' parameter of make_planted_partition must be a float in [0, 1]. Got {p_in!r}."
        )
    _check_int("num_features", num_features, 1, None)
    ok_seed = random_state is None or isinstance(random_state, np.random.Generator)
    if not ok_seed and not (_is_int(random_state) and random_state >= 0):
        raise InputError(
            "The 'random_state' parameter of make_planted_partition must be an int >= 0, "
            f"a numpy.random.Generator or None. Got {random_state!r}."
        )


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_int(name: str, value: object, low: int, high: int | None) -> None:
    if _is_int(value) and low <= value and (high is None or value <= high):
        return
    expected = f">= {low}" if high is None else f"in [{low}, {high}]"
    raise InputError(
        f"The '{name}' parameter of make_planted_partition must be an int {expected}. Got {value!r}."
    )
