"""The host-side graph type shared by loaders, splits and training."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import InitVar, dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from graphae.errors import InputError, InputTypeError
from graphae.finite import OVERFLOW_HINT, non_finite_entry
from graphae.indices import check_node_count
from graphae.pairs import distinct_pair_keys, keys_fit, pairs_of
from graphae.split_official import OfficialSplit
from graphae.weights import check_adjacency_weights

Features = np.ndarray | sp.csr_matrix | None


@dataclass(frozen=True, eq=False)
class Graph:
    """An unweighted graph, undirected or directed, with optional node features and labels.

    Construct it through :meth:`from_edges`, :meth:`from_edge_index` or
    :meth:`from_adjacency`, which clean the input; the plain constructor only validates.

    Attributes:
        adj: Binary ``scipy.sparse.csr_matrix`` ``[N, N]`` with sorted indices and no
            self loops; symmetric unless ``directed``. ``adj[i, j] = 1`` is an edge
            ``i -> j`` of a directed graph.
        x: Node features, dense ``float32`` ``[N, F]`` or CSR ``float32`` ``[N, F]``,
            or ``None`` for a featureless graph (identity features, never built).
        y: Optional integer labels ``[N]`` (``-1`` marks an unlabelled node).
        name: A short name used in logs and result files.
        node_ids: Optional user node ids, one per row, in row order.
        directed: Whether edges have a direction.
        label_split: Optional node-classification split ``(train, test)``: two disjoint
            1-D integer arrays of node indices in ``[0, N)``, for example Planetoid's
            standard split (:func:`~graphae.data.load_planetoid`). ``None`` when the data
            set defines none. It travels with the graph through :meth:`replace` and the
            training graph of a link split.
        official_split: The data set's own link split (OGB's), or ``None``: a
            :class:`~graphae.split_official.OfficialSplit`; such a graph is never re-split.
    """

    adj: sp.csr_matrix
    x: Features = None
    y: np.ndarray | None = None
    name: str = "graph"
    node_ids: np.ndarray | None = field(default=None)
    directed: bool = False
    label_split: tuple[np.ndarray, np.ndarray] | None = None
    official_split: OfficialSplit | None = None
    # True only from _from_edge_keys, whose adjacency is binary, loop-free and symmetric by
    # construction: its checks (a transpose of the whole matrix) are skipped.
    _clean_adj: InitVar[bool] = False

    def __post_init__(self, _clean_adj: bool) -> None:
        _validate(self, check_adj=not _clean_adj)

    # Constructors ---------------------------------------------------------
    @classmethod
    def from_edges(
        cls,
        edges: np.ndarray | Sequence[Sequence[int]],
        num_nodes: int | None = None,
        *,
        directed: bool = False,
        **kwargs: Any,
    ) -> Graph:
        """Build a graph from integer node pairs, one pair per row.

        Duplicates and self loops are dropped; so is direction unless ``directed``.

        Args:
            edges: Integer array of shape ``[E, 2]``: row ``k`` is the edge
                ``edges[k, 0] -> edges[k, 1]``. (A ``[2, E]`` ``edge_index`` goes
                through :meth:`from_edge_index`.)
            num_nodes: Number of nodes; defaults to ``max(edges) + 1``.
            directed: Keep the direction of each pair.
            **kwargs: ``x``, ``y``, ``name``, ``node_ids`` and ``label_split`` for the
                constructor.

        Returns:
            A new :class:`Graph`.

        Raises:
            InputError: If ``edges`` is not ``[E, 2]``, or holds ids outside
                ``[0, num_nodes)``.
            InputTypeError: If ``edges`` does not hold integers.
        """
        arr = np.asarray(edges)
        if arr.size == 0:
            arr = arr.reshape(0, 2).astype(np.int64)
        if arr.ndim != 2 or arr.shape[1] != 2:
            hint = (
                " For a [2, E] edge_index use Graph.from_edge_index."
                if arr.ndim == 2 and arr.shape[0] == 2
                else ""
            )
            raise InputError(f"edges must have shape [E, 2] (one row per edge). Got {arr.shape}.{hint}")
        return cls.from_edge_index(arr.T, num_nodes, directed=directed, **kwargs)

    @classmethod
    def from_edge_index(
        cls,
        edge_index: np.ndarray,
        num_nodes: int | None = None,
        *,
        directed: bool = False,
        **kwargs: Any,
    ) -> Graph:
        """Build a graph from a ``[2, E]`` integer array (sources, then targets).

        As :meth:`from_edges`, with pairs as columns (PyTorch Geometric's ``edge_index``).

        Raises:
            InputError: If ``edge_index`` is not ``[2, E]`` or holds ids outside ``[0, num_nodes)``.
            InputTypeError: If it does not hold integers.
        """
        arr = np.asarray(edge_index)
        if arr.size == 0:
            arr = arr.reshape(2, 0).astype(np.int64)
        if arr.ndim != 2 or arr.shape[0] != 2:
            raise InputError(f"edge_index must have shape [2, E]. Got {arr.shape}.")
        if not np.issubdtype(arr.dtype, np.integer):
            raise InputTypeError(f"edges must hold integer node indices. Got dtype {arr.dtype}.")
        arr = arr.astype(np.int64, copy=False)
        num_nodes = check_node_count(int(arr.max(initial=-1)) + 1 if num_nodes is None else num_nodes)
        if arr.size and (arr.min() < 0 or arr.max() >= num_nodes):
            raise InputError(
                f"edges must hold node indices in [0, {num_nodes}). Got values in [{arr.min()}, {arr.max()}]."
            )
        if not keys_fit(num_nodes):
            adj = sp.coo_matrix(
                (np.ones(arr.shape[1], dtype=np.float32), (arr[0], arr[1])), shape=(num_nodes, num_nodes)
            )
            return cls.from_adjacency(adj, directed=directed, **kwargs)
        return cls._from_edge_keys(
            distinct_pair_keys(arr, num_nodes, directed), num_nodes, directed=directed, **kwargs
        )

    @classmethod
    def _from_edge_keys(
        cls, keys: np.ndarray, num_nodes: int, *, directed: bool = False, **kwargs: Any
    ) -> Graph:
        """Build a graph from its edge keys, as :func:`~graphae.pairs.distinct_pair_keys` gives them.

        Internal, for callers that hold the keys already (:meth:`from_edge_index`, the
        edge-list reader). The keys are trusted, not checked: the adjacency is built by
        one sort and needs no symmetry check, a transpose of the whole matrix.

        Args:
            keys: ``[E]`` int64 keys, sorted, distinct, none of a self loop; unordered
                keys (``i < j``) unless ``directed``.
            num_nodes: Number of nodes ``N``.
            directed: Whether the keys are ordered pairs.
            **kwargs: As :meth:`from_edges`.

        Returns:
            A new :class:`Graph`, the same as :meth:`from_edge_index` gives for these pairs.
        """
        adj = _adjacency_of_keys(keys, num_nodes, directed)
        return cls(adj=adj, directed=directed, _clean_adj=True, **kwargs)

    @classmethod
    def from_adjacency(cls, adj: Any, *, directed: bool = False, **kwargs: Any) -> Graph:
        """Build a graph from any square scipy sparse matrix or dense array.

        The matrix is binarised and stripped of self loops, and symmetrised unless ``directed``.

        Raises:
            InputError: If ``adj`` is not square.
        """
        return cls(adj=clean_adjacency(adj, directed=directed), directed=directed, **kwargs)

    # Views ----------------------------------------------------------------
    @property
    def num_nodes(self) -> int:
        return self.adj.shape[0]

    @property
    def num_edges(self) -> int:
        """Number of edges: directed edges, or undirected edges counted once."""
        return self.adj.nnz if self.directed else self.adj.nnz // 2

    @property
    def num_features(self) -> int | None:
        """Feature width, or ``None`` for a featureless graph."""
        return None if self.x is None else self.x.shape[1]

    def edge_keys(self) -> np.ndarray:
        """Sorted keys of the edges (see :mod:`graphae.pairs`), each edge once, ``[E]`` int64."""
        # Straight from the CSR arrays: no COO copy, no [2, E] stack (a third of a split's time).
        n, adj = self.num_nodes, self.adj
        rows = np.repeat(np.arange(n, dtype=adj.indices.dtype), np.diff(adj.indptr))
        cols = adj.indices
        if not self.directed:
            upper = cols > rows  # i < j: each undirected edge once
            rows, cols = rows[upper], cols[upper]
        keys = rows.astype(np.int64)
        keys *= n
        keys += cols
        if not adj.has_sorted_indices:
            keys.sort()
        return keys

    def edges(self) -> np.ndarray:
        """Edges once each (``i < j`` when undirected), sorted by key ``i * N + j``.

        Shapes:
            Returns ``[2, num_edges]`` int64.
        """
        return pairs_of(self.edge_keys(), self.num_nodes)

    def replace(self, **changes: Any) -> Graph:
        """Return a new graph with some fields replaced."""
        fields = {
            "adj": self.adj,
            "x": self.x,
            "y": self.y,
            "name": self.name,
            "node_ids": self.node_ids,
            "directed": self.directed,
            "label_split": self.label_split,
            "official_split": self.official_split,
        }
        fields.update(changes)
        return Graph(**fields)

    def normalize_features(self) -> Graph:
        """This graph with each feature row divided by its sum of absolute values (L1).

        PyTorch Geometric's ``NormalizeFeatures``. All-zero rows stay zero; a featureless
        graph is returned as is.
        """
        if self.x is None:
            return self
        sums = np.asarray(abs(self.x).sum(axis=1), dtype=np.float64).ravel()
        scale = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0).astype(np.float32)
        if sp.issparse(self.x):
            x = sp.csr_matrix(sp.diags(scale) @ self.x, dtype=np.float32)
        else:
            x = self.x * scale[:, None]
        return self.replace(x=x)

    def to_undirected(self) -> Graph:
        """This graph with every edge joining its nodes both ways (itself when undirected)."""
        return self if not self.directed else self.replace(adj=clean_adjacency(self.adj), directed=False)

    def __repr__(self) -> str:
        feats = "none" if self.x is None else f"{self.num_features}"
        direction = ", directed=True" if self.directed else ""
        return (
            f"Graph(name={self.name!r}, num_nodes={self.num_nodes}, "
            f"num_edges={self.num_edges}, features={feats}{direction})"
        )


def clean_adjacency(adj: Any, directed: bool = False) -> sp.csr_matrix:
    """Binary, loop-free CSR copy of a square matrix, symmetrised unless ``directed``.

    Raises:
        InputError: If ``adj`` is not square, or has an entry neither 0 nor a weight > 0.
    """
    mat = sp.csr_matrix(adj)
    if mat.ndim != 2 or mat.shape[0] != mat.shape[1]:
        raise InputError(f"adjacency must be a square matrix. Got shape {mat.shape}.")
    check_adjacency_weights(mat)
    mat = (mat != 0).astype(np.float32)
    if not directed:
        mat = (mat + mat.T) != 0
    mat = sp.csr_matrix(mat, dtype=np.float32)
    mat.setdiag(0)
    mat.eliminate_zeros()
    mat.sort_indices()
    return sp.csr_matrix(mat, dtype=np.float32)


def _adjacency_of_keys(keys: np.ndarray, num_nodes: int, directed: bool) -> sp.csr_matrix:
    """The CSR adjacency that :func:`clean_adjacency` makes of these edges, without a sort.

    Row-major order is key order, so the keys are the CSR of the edges ``i -> j`` as they
    stand; an undirected graph adds its transpose (the mirrors ``j -> i``), which scipy
    builds and merges in linear time.
    """
    n = num_nodes
    total = len(keys) if directed else 2 * len(keys)
    # scipy's index type for this size (int32 up to 2**31 - 1), made once rather than converted.
    index = np.int32 if max(n, total) <= np.iinfo(np.int32).max else np.int64
    indptr = np.searchsorted(keys, np.arange(n + 1, dtype=np.int64) * n).astype(index)
    indices = np.empty(len(keys), dtype=index)
    if n:
        np.remainder(keys, n, out=indices, casting="unsafe")
    adj = sp.csr_matrix((np.ones(len(keys), dtype=np.float32), indices, indptr), shape=(n, n))
    adj.has_canonical_format = True
    if not directed:
        adj = adj + adj.T.tocsr()  # disjoint entries (i < j above, i > j below): every value stays 1
        adj.has_canonical_format = True
    return adj


def _validate(g: Graph, check_adj: bool = True) -> None:
    adj = g.adj
    if not sp.issparse(adj) or adj.format != "csr":
        raise InputTypeError(
            f"Graph.adj must be a scipy.sparse CSR matrix. Got {type(adj).__name__}; "
            "use Graph.from_adjacency to convert."
        )
    n, m = adj.shape
    if n != m:
        raise InputError(f"Graph.adj must be square. Got shape {adj.shape}.")
    if not isinstance(g.directed, bool):
        raise InputTypeError(f"Graph.directed must be a bool. Got {g.directed!r}.")
    if check_adj:
        _validate_adjacency(adj, g.directed)
    if g.x is not None:
        if sp.issparse(g.x):
            if g.x.format != "csr" or g.x.dtype != np.float32:
                raise InputTypeError("Graph.x must be float32 CSR when sparse.")
        elif not isinstance(g.x, np.ndarray) or g.x.dtype != np.float32 or g.x.ndim != 2:
            raise InputTypeError("Graph.x must be a 2-D float32 numpy array, a float32 CSR matrix or None.")
        if g.x.shape[0] != n:
            raise InputError(f"Graph.x must have one row per node ({n}). Got {g.x.shape[0]} rows.")
        if g.x.shape[1] == 0:
            raise InputError(
                f"Graph.x has no feature columns (shape {g.x.shape}); pass x=None for identity features."
            )
        bad = non_finite_entry(g.x)
        if bad is not None:
            row, col, value = bad
            raise InputError(
                f"Graph.x (the node features) must be finite. Got x[{row}, {col}] = {value}"
                f"{OVERFLOW_HINT if np.isinf(value) else ''}; one NaN or inf makes every embedding NaN."
            )
    if g.y is not None and not isinstance(g.y, np.ndarray):
        raise InputTypeError(f"Graph.y must be a numpy array or None. Got {type(g.y).__name__}.")
    if g.y is not None and (g.y.ndim != 1 or len(g.y) != n):
        raise InputError(f"Graph.y must have shape [{n}]. Got {g.y.shape}.")
    if g.node_ids is not None and len(g.node_ids) != n:
        raise InputError(f"Graph.node_ids must have {n} entries. Got {len(g.node_ids)}.")
    if g.node_ids is not None and g.node_ids.dtype == np.uint64 and n and g.node_ids.max() >= 2**63:
        raise InputError(
            f"Graph.node_ids: the id {g.node_ids.max()} is above {2**63 - 1}, the largest integer id a saved "
            "model reads back (a signed 64-bit integer); use string ids (node_ids.astype(str))."
        )
    if g.label_split is not None:
        _validate_label_split(g.label_split, n)
    if g.official_split is not None:
        if not isinstance(g.official_split, OfficialSplit):
            raise InputTypeError(
                f"Graph.official_split must be an OfficialSplit or None. Got {g.official_split!r}."
            )
        g.official_split.check_nodes(n)


def _validate_adjacency(adj: sp.csr_matrix, directed: bool) -> None:
    if adj.diagonal().any():
        raise InputError("Graph.adj must have no self loops; use Graph.from_adjacency.")
    if adj.nnz and (adj.data != 1).any():
        raise InputError("Graph.adj must be binary; use Graph.from_adjacency.")
    if not directed and (adj != adj.T).nnz:
        raise InputError("Graph.adj must be symmetric for an undirected graph; use Graph.from_adjacency.")


def _validate_label_split(split: Any, n: int) -> None:
    if not isinstance(split, tuple) or len(split) != 2:
        got = f"a tuple of length {len(split)}" if isinstance(split, tuple) else type(split).__name__
        raise InputTypeError(
            f"Graph.label_split must be a tuple (train, test) of node index arrays, or None. Got {got}."
        )
    for i, index in enumerate(split):
        what = f"Graph.label_split[{i}] (the {('train', 'test')[i]} nodes)"
        if not isinstance(index, np.ndarray) or not np.issubdtype(index.dtype, np.integer):
            raise InputTypeError(
                f"{what} must be a numpy array of integer node indices. "
                f"Got {type(index).__name__} of dtype {getattr(index, 'dtype', None)}."
            )
        if index.ndim != 1:
            raise InputError(f"{what} must be 1-D. Got shape {index.shape}.")
        if index.size and (index.min() < 0 or index.max() >= n):
            raise InputError(
                f"{what} must hold node indices in [0, {n}). Got values in [{index.min()}, {index.max()}]."
            )
    shared = np.intersect1d(split[0], split[1])
    if shared.size:
        raise InputError(
            f"Graph.label_split must have disjoint train and test nodes. Got {shared.size} node(s) in both "
            f"(e.g. node {shared[0]})."
        )
