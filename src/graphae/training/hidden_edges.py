r"""The normalised adjacency of the training graph with some of its edges hidden, per step.

Masked objectives (MaskGAE, the refined GAE's ``mask_input``) encode, at every step, the
graph without the edges they will reconstruct. Rebuilding ``Â`` from the visible edges
costs a sort of the edge list per step (about 0.2 s on ogbl-ddi, half of a refined GAE
epoch at width 128 on the CPU). :class:`HiddenEdgeAdjacency` builds ``Â`` of the whole
training graph once, with the position of each edge's entries, and a step only recounts:

.. math::
    c_{ij} = |\{\text{visible copies of } (i, j)\}| + [i = j], \qquad
    d_i = \sum_j c_{ij}, \qquad
    \hat A_{ij} = c_{ij}\, d_i^{-1/2} d_j^{-1/2} \ \text{(undirected)}, \quad
    \hat A_{ij} = c_{ij}\, d_i^{-1} \ \text{(directed)}

which is :func:`~graphae.nn.gcn_norm` of the visible edges (``O(nnz)`` element-wise work,
no sort). A hidden edge stays as an explicit zero in the sparsity pattern, so the products
``Â H`` equal those of the rebuilt matrix (a zero adds nothing); only code that reads the
pattern itself would see a difference, and the encoders only multiply. The zeros are still
multiplied, though: when more than :data:`RECOUNT_AT_MOST` of the edges are hidden (MaskGAE
hides half), the matrix of the visible edges is rebuilt instead, fewer entries for every
product of the step.
"""

from __future__ import annotations

import torch

from graphae.nn.functional import SparseOperator, gcn_norm

# Largest share of the edges hidden for which a step recounts Â rather than rebuilding it:
# recounting saves a sort of the edges (about 0.1 s per million on a CPU core) but keeps
# the hidden entries in every product of the encoder. The refined GAE hides under 1% per step.
RECOUNT_AT_MOST = 0.1


def visible_adjacency(edge_index: torch.Tensor, num_nodes: int, directed: bool) -> SparseOperator:
    """The normalised adjacency (:func:`~graphae.nn.gcn_norm`) of the given edges, as training uses it."""
    if directed:
        return SparseOperator(gcn_norm(edge_index, num_nodes, directed=True))
    return SparseOperator(gcn_norm(edge_index, num_nodes, add_reverse=True), symmetric=True)


class HiddenEdgeAdjacency:
    """``Â`` of the training edges, and of the same edges with some hidden (see the module).

    Args:
        edge_index: ``[2, E]`` training edges (each undirected edge once; no self loops).
        num_nodes: ``N``.
        directed: Out-degree normalisation, edges one way (else symmetric, both orientations).

    Example:
        >>> edges = torch.tensor([[0, 1, 2], [1, 2, 0]])
        >>> adj = HiddenEdgeAdjacency(edges, 3, directed=False)
        >>> h = torch.eye(3)
        >>> rebuilt = gcn_norm(edges[:, 1:], 3, add_reverse=True) @ h
        >>> torch.allclose(adj.hiding(torch.tensor([0])) @ h, rebuilt)
        True
    """

    def __init__(self, edge_index: torch.Tensor, num_nodes: int, directed: bool) -> None:
        a = gcn_norm(edge_index, num_nodes, directed=directed, add_reverse=not directed)
        self.full = SparseOperator(a, symmetric=not directed)
        crow, col = a.crow_indices().long(), a.col_indices().long()
        self.rows = torch.repeat_interleave(torch.arange(num_nodes, device=crow.device), crow.diff())
        self.cols = col
        keys = self.rows * num_nodes + col  # ascending: CSR rows in order, columns sorted in each
        src, dst = edge_index[0].long(), edge_index[1].long()
        self.forward_pos = torch.searchsorted(keys, src * num_nodes + dst)
        self.reverse_pos = None if directed else torch.searchsorted(keys, dst * num_nodes + src)
        loops = torch.arange(num_nodes, device=keys.device)
        counts = torch.zeros(keys.numel(), dtype=a.values().dtype, device=keys.device)
        counts.index_add_(
            0, torch.searchsorted(keys, loops * (num_nodes + 1)), torch.ones_like(loops, dtype=counts.dtype)
        )
        self.counts = self._recount(counts, None, 1.0)
        self.degree = torch.zeros(num_nodes, dtype=counts.dtype, device=counts.device)
        self.degree.index_add_(0, self.rows, self.counts)  # 1 + the (out-)degree, as gcn_norm counts it
        self.ends = edge_index[:1] if directed else edge_index  # whose degree an edge adds to
        self.num_nodes, self.directed, self.edge_index = num_nodes, directed, edge_index

    @classmethod
    def of(
        cls, built: HiddenEdgeAdjacency | None, edge_index: torch.Tensor, num_nodes: int, directed: bool
    ) -> HiddenEdgeAdjacency:
        """``built`` when it was made for these very edges (the same tensor), else a new one."""
        if built is not None and built.edge_index is edge_index and built.num_nodes == num_nodes:
            return built
        return cls(edge_index, num_nodes, directed)

    def _recount(self, counts: torch.Tensor, index: torch.Tensor | None, sign: float) -> torch.Tensor:
        """``counts`` with ``sign`` added at the entries of the edges ``index`` (``None``: all)."""
        for pos in (self.forward_pos, self.reverse_pos):
            if pos is None:
                continue
            at = pos if index is None else pos[index]
            counts.index_add_(0, at, torch.full(at.shape, sign, dtype=counts.dtype, device=counts.device))
        return counts

    def hiding(self, index: torch.Tensor) -> SparseOperator:
        """``Â`` of the training graph without the edges ``index`` (positions in ``edge_index``, or a
        ``[E]`` bool mask of the hidden ones)."""
        if index.dtype == torch.bool:
            index = index.nonzero().view(-1)
        num_edges = self.edge_index.shape[1]
        if index.numel() > RECOUNT_AT_MOST * num_edges:
            keep = torch.ones(num_edges, dtype=torch.bool, device=index.device)
            keep[index] = False
            return visible_adjacency(self.edge_index[:, keep], self.num_nodes, self.directed)
        counts = self._recount(self.counts.clone(), index, -1.0)
        ends = self.ends[:, index].reshape(-1)
        degree = self.degree.index_add(
            0, ends, torch.full(ends.shape, -1.0, dtype=counts.dtype, device=ends.device)
        )
        if self.directed:
            return self.full.with_values(counts * degree.reciprocal()[self.rows])
        inv_sqrt = degree.rsqrt()
        # symmetric: the counts are, and inv_sqrt[i] * inv_sqrt[j] is the same float either way
        return self.full.with_values(counts * (inv_sqrt[self.rows] * inv_sqrt[self.cols]), symmetric=True)
