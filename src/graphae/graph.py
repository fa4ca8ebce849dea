"""The host-side graph type shared by loaders, splits and training."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

Features = np.ndarray | sp.csr_matrix | None


@dataclass(frozen=True, eq=False)
class Graph:
    """An undirected, unweighted graph with optional node features and labels.

    Construct it through :meth:`from_edges` or :meth:`from_adjacency`, which clean
    the input; the plain constructor only validates.

    Attributes:
        adj: Symmetric binary ``scipy.sparse.csr_matrix`` of shape ``[N, N]`` with
            sorted indices and no self loops.
        x: Node features, dense ``float32`` ``[N, F]`` or CSR ``float32`` ``[N, F]``,
            or ``None`` for a featureless graph (identity features, never built).
        y: Optional integer labels ``[N]`` (``-1`` marks an unlabelled node).
        name: A short name used in logs and result files.
        node_ids: Optional user node ids, one per row, in row order.
    """

    adj: sp.csr_matrix
    x: Features = None
    y: np.ndarray | None = None
    name: str = "graph"
    node_ids: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        _validate(self)

    # Constructors ---------------------------------------------------------
    @classmethod
    def from_edges(
        cls,
        edges: np.ndarray | Sequence[Sequence[int]],
        num_nodes: int | None = None,
        **kwargs: Any,
    ) -> Graph:
        """Build a graph from integer node pairs.

        Direction, duplicates and self loops are dropped.

        Args:
            edges: Integer array of shape ``[E, 2]`` or ``[2, E]``.
            num_nodes: Number of nodes; defaults to ``max(edges) + 1``.
            **kwargs: ``x``, ``y``, ``name`` and ``node_ids`` for the constructor.

        Returns:
            A new :class:`Graph`.

        Raises:
            ValueError: If ``edges`` has the wrong shape, negative ids, or ids
                outside ``[0, num_nodes)``.
        """
        arr = np.asarray(edges)
        if arr.size == 0:
            arr = arr.reshape(0, 2).astype(np.int64)
        if arr.ndim != 2 or 2 not in arr.shape:
            raise ValueError(f"edges must have shape [E, 2] or [2, E]. Got {arr.shape}.")
        if arr.shape[1] != 2:
            arr = arr.T
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"edges must hold integer node indices. Got dtype {arr.dtype}.")
        arr = arr.astype(np.int64, copy=False)
        if num_nodes is None:
            num_nodes = int(arr.max()) + 1 if len(arr) else 0
        if len(arr) and (arr.min() < 0 or arr.max() >= num_nodes):
            raise ValueError(
                f"edges must hold node indices in [0, {num_nodes}). Got values in [{arr.min()}, {arr.max()}]."
            )
        adj = sp.coo_matrix(
            (np.ones(len(arr), dtype=np.float32), (arr[:, 0], arr[:, 1])),
            shape=(num_nodes, num_nodes),
        )
        return cls.from_adjacency(adj, **kwargs)

    @classmethod
    def from_adjacency(cls, adj: Any, **kwargs: Any) -> Graph:
        """Build a graph from any square scipy sparse matrix or dense array.

        The matrix is symmetrised, binarised and stripped of self loops.

        Raises:
            ValueError: If ``adj`` is not square.
        """
        return cls(adj=clean_adjacency(adj), **kwargs)

    # Views ----------------------------------------------------------------
    @property
    def num_nodes(self) -> int:
        return self.adj.shape[0]

    @property
    def num_edges(self) -> int:
        """Number of undirected edges."""
        return self.adj.nnz // 2

    @property
    def num_features(self) -> int | None:
        """Feature width, or ``None`` for a featureless graph."""
        return None if self.x is None else self.x.shape[1]

    def edges(self) -> np.ndarray:
        """Undirected edges once each, ``i < j``, sorted by ``i * N + j``.

        Shapes:
            Returns ``[2, num_edges]`` int64.
        """
        upper = sp.triu(self.adj, k=1, format="coo")
        keys = upper.row.astype(np.int64) * self.num_nodes + upper.col
        keys.sort()
        return np.stack([keys // self.num_nodes, keys % self.num_nodes])

    def replace(self, **changes: Any) -> Graph:
        """Return a new graph with some fields replaced."""
        fields = {
            "adj": self.adj,
            "x": self.x,
            "y": self.y,
            "name": self.name,
            "node_ids": self.node_ids,
        }
        fields.update(changes)
        return Graph(**fields)

    def __repr__(self) -> str:
        feats = "none" if self.x is None else f"{self.num_features}"
        return (
            f"Graph(name={self.name!r}, num_nodes={self.num_nodes}, "
            f"num_edges={self.num_edges}, features={feats})"
        )


def clean_adjacency(adj: Any) -> sp.csr_matrix:
    """Symmetric, binary, loop-free CSR copy of a square matrix.

    Raises:
        ValueError: If ``adj`` is not a square 2-D matrix.
    """
    mat = sp.csr_matrix(adj)
    if mat.ndim != 2 or mat.shape[0] != mat.shape[1]:
        raise ValueError(f"adjacency must be a square matrix. Got shape {mat.shape}.")
    mat = (mat != 0).astype(np.float32)
    mat = ((mat + mat.T) != 0).astype(np.float32).tocsr()
    mat.setdiag(0)
    mat.eliminate_zeros()
    mat.sort_indices()
    return sp.csr_matrix(mat, dtype=np.float32)


def _validate(g: Graph) -> None:
    adj = g.adj
    if not sp.issparse(adj) or adj.format != "csr":
        raise TypeError(
            f"Graph.adj must be a scipy.sparse CSR matrix. Got {type(adj).__name__}; "
            "use Graph.from_adjacency to convert."
        )
    n, m = adj.shape
    if n != m:
        raise ValueError(f"Graph.adj must be square. Got shape {adj.shape}.")
    if adj.diagonal().any():
        raise ValueError("Graph.adj must have no self loops; use Graph.from_adjacency.")
    if adj.nnz and (adj.data != 1).any():
        raise ValueError("Graph.adj must be binary; use Graph.from_adjacency.")
    if (adj != adj.T).nnz:
        raise ValueError("Graph.adj must be symmetric; use Graph.from_adjacency.")
    if g.x is not None:
        if sp.issparse(g.x):
            if g.x.format != "csr" or g.x.dtype != np.float32:
                raise TypeError("Graph.x must be float32 CSR when sparse.")
        elif not isinstance(g.x, np.ndarray) or g.x.dtype != np.float32 or g.x.ndim != 2:
            raise TypeError("Graph.x must be a 2-D float32 numpy array, a float32 CSR matrix or None.")
        if g.x.shape[0] != n:
            raise ValueError(f"Graph.x must have one row per node ({n}). Got {g.x.shape[0]} rows.")
    if g.y is not None and not isinstance(g.y, np.ndarray):
        raise TypeError(f"Graph.y must be a numpy array or None. Got {type(g.y).__name__}.")
    if g.y is not None and (g.y.ndim != 1 or len(g.y) != n):
        raise ValueError(f"Graph.y must have shape [{n}]. Got {g.y.shape}.")
    if g.node_ids is not None and len(g.node_ids) != n:
        raise ValueError(f"Graph.node_ids must have {n} entries. Got {len(g.node_ids)}.")
