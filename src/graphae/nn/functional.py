"""Graph operations on torch tensors: normalization and sparse products."""

from __future__ import annotations

import warnings
from typing import Any

import torch


def gcn_norm(
    edge_index: torch.Tensor,
    num_nodes: int,
    dtype: torch.dtype = torch.float32,
    *,
    directed: bool = False,
    add_reverse: bool = False,
) -> torch.Tensor:
    r"""Normalized adjacency with self loops, as a sparse CSR tensor.

    Undirected graphs use the symmetric normalization of Kipf & Welling; directed graphs
    the out-degree normalization of the gravity-inspired autoencoders (Salha et al.,
    2019, section 3.3.1), under which a node averages its out-neighbours and itself:

    .. math::
        \hat A = D^{-1/2} (A + I) D^{-1/2} \ \text{(undirected)}, \qquad
        \hat A = D_{out}^{-1} (A + I) \ \text{(directed)}, \qquad D_{ii} = 1 + \sum_j A_{ij}

    On the CPU the matrix is assembled by scipy's counting sort with 32-bit indices
    (about 12 bytes per entry at the peak, beside the result) rather than torch's
    coalescing sort of 64-bit COO indices; both give the same matrix, entry for entry.

    Args:
        edge_index: Edges ``i -> j``; for an undirected graph both directions listed
            (or each edge once, with ``add_reverse``); no self loops.
        num_nodes: Number of nodes ``N``.
        dtype: Value type of the result.
        directed: Use the out-degree normalization.
        add_reverse: ``edge_index`` lists each undirected edge once: add ``j -> i`` for
            each ``i -> j`` (without a ``[2, 2E]`` copy of the edges on the CPU).

    Returns:
        ``[N, N]`` sparse CSR tensor on the device of ``edge_index``.

    Shapes:
        edge_index: ``[2, P]``.
    """
    device = edge_index.device
    if device.type == "cpu" and max(num_nodes, 2 * edge_index.shape[1] + num_nodes) < 2**31:
        return _gcn_norm_cpu(edge_index, num_nodes, dtype, directed, add_reverse)
    if add_reverse:
        edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    loops = torch.arange(num_nodes, device=device)
    row = torch.cat([edge_index[0], loops])
    col = torch.cat([edge_index[1], loops])
    values = _entry_values(row, col, num_nodes, dtype, directed)
    with warnings.catch_warnings():
        # torch notes once per process that check_invariants=False skips its checks: the
        # indices here are built in range, and users would only see noise.
        warnings.filterwarnings("ignore", "Sparse invariant checks are implicitly disabled", UserWarning)
        coo = torch.sparse_coo_tensor(
            torch.stack([row, col]), values, (num_nodes, num_nodes), check_invariants=False
        )
    return to_csr(coo)


def _entry_values(
    row: torch.Tensor, col: torch.Tensor, num_nodes: int, dtype: torch.dtype, directed: bool
) -> torch.Tensor:
    """The normalized value of each entry ``(row, col)`` of ``A + I`` (the loops included in ``row``)."""
    deg = torch.bincount(row, minlength=num_nodes).to(dtype)
    if directed:
        return deg.reciprocal()[row]
    inv_sqrt = deg.rsqrt()
    return inv_sqrt[row] * inv_sqrt[col]


def _gcn_norm_cpu(
    edge_index: torch.Tensor, num_nodes: int, dtype: torch.dtype, directed: bool, add_reverse: bool
) -> torch.Tensor:
    """:func:`gcn_norm` on the CPU: int32 entries, scipy's O(nnz) COO to CSR."""
    import numpy as np
    import scipy.sparse as sp

    src = edge_index[0].numpy()
    dst = edge_index[1].numpy()
    loops = np.arange(num_nodes, dtype=np.int32)
    if add_reverse:
        row = np.concatenate([src, dst, loops], dtype=np.int32)
        col = np.concatenate([dst, src, loops], dtype=np.int32)
    else:
        row = np.concatenate([src, loops], dtype=np.int32)
        col = np.concatenate([dst, loops], dtype=np.int32)
    values = _entry_values(torch.from_numpy(row), torch.from_numpy(col), num_nodes, dtype, directed)
    # tocsr sums duplicate entries and sorts each row's columns, as coalescing does.
    csr = sp.coo_matrix((values.numpy(), (row, col)), shape=(num_nodes, num_nodes)).tocsr()
    del row, col, values
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta", UserWarning)
        warnings.filterwarnings("ignore", "Sparse invariant checks are implicitly disabled", UserWarning)
        return torch.sparse_csr_tensor(
            torch.from_numpy(csr.indptr.astype(np.int32, copy=False)),
            torch.from_numpy(csr.indices.astype(np.int32, copy=False)),
            torch.from_numpy(csr.data),
            (num_nodes, num_nodes),
            check_invariants=False,
        )


# Pairs scored per chunk by pair_logits: on the CPU [chunk, d] temporaries stay in cache
# (the chunk size barely matters from 2^13 to 2^17); on a GPU few, large chunks keep the
# kernel launches few while still bounding the memory.
_PAIR_CHUNK = {"cpu": 1 << 16}
_PAIR_CHUNK_GPU = 1 << 22


class _PairLogits(torch.autograd.Function):
    """``z_i . z_j`` chunk by chunk, saving only ``z`` and the pairs for backward.

    Autograd of the plain formula keeps both ``[k, d]`` gathers alive until backward (the
    largest tensors of a sampled-loss step); here backward gathers again, chunk by chunk.
    Values and gradients are bit for bit those of the plain formula on the CPU: the same
    products, added in the same order into one buffer per side. ``z`` comes in twice,
    once per side, so that autograd adds the two buffers into ``z``'s gradient as it
    added the plain formula's two gathers: the later one (targets) first.
    """

    @staticmethod
    def forward(
        ctx, z: torch.Tensor, z_again: torch.Tensor, src: torch.Tensor, dst: torch.Tensor
    ) -> torch.Tensor:  # type: ignore[override]
        chunk = _PAIR_CHUNK.get(z.device.type, _PAIR_CHUNK_GPU)
        out = torch.empty(len(src), dtype=z.dtype, device=z.device)
        for start in range(0, len(src), chunk):
            part = slice(start, start + chunk)
            torch.sum(z.index_select(0, src[part]) * z.index_select(0, dst[part]), -1, out=out[part])
        ctx.save_for_backward(z, src, dst)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None, None]:  # type: ignore[override]
        z, src, dst = ctx.saved_tensors
        chunk = _PAIR_CHUNK.get(z.device.type, _PAIR_CHUNK_GPU)
        grad_src, grad_dst = torch.zeros_like(z), torch.zeros_like(z)
        for start in range(0, len(src), chunk):
            part = slice(start, start + chunk)
            g = grad[part].unsqueeze(1)
            grad_src.index_add_(0, src[part], g * z.index_select(0, dst[part]))
            grad_dst.index_add_(0, dst[part], g * z.index_select(0, src[part]))
        return grad_dst, grad_src, None, None


def pair_logits(z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """Inner products ``z_i . z_j`` of node pairs.

    Computed in chunks of pairs, forward and backward, so that no ``[k, d]`` gather is
    kept for backward: a sampled-loss step on 1M nodes / 10M edges would otherwise hold
    two ``[17M, 16]`` tensors. Gathers use ``index_select`` and gradients ``index_add_``,
    deterministic on the CPU (unlike the scatter of advanced indexing ``z[idx]`` with
    several threads); results equal ``(z[pairs[0]] * z[pairs[1]]).sum(-1)``.

    Shapes:
        z: ``[N, d]``; pairs: ``[2, k]``; returns ``[k]``.
    """
    return _PairLogits.apply(z, z, pairs[0], pairs[1])


class _ConstantSpMM(torch.autograd.Function):
    """``A @ h`` for a constant sparse ``A``; backward is ``A^T @ grad``."""

    @staticmethod
    def forward(ctx, a: torch.Tensor, a_t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.a_t = a_t
        with torch.autocast(h.device.type, enabled=False):  # autocast would cast ``a`` to bfloat16
            return a @ h

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[None, None, torch.Tensor]:  # type: ignore[override]
        with torch.autocast(grad.device.type, enabled=False):
            return None, None, ctx.a_t @ grad


def spmm(a: torch.Tensor, h: torch.Tensor, a_t: torch.Tensor | None = None) -> torch.Tensor:
    """Multiply a constant sparse matrix by a dense one that may need gradients.

    Torch's own backward transposes (and re-sorts) ``a`` on every call; here the
    transpose is given once (``a_t``), or ``a`` itself when it is symmetric.

    Args:
        a: Sparse ``[M, K]`` matrix, constant.
        h: Dense ``[K, F]`` matrix.
        a_t: ``a`` transposed, as a sparse matrix; ``None`` means ``a`` is symmetric.

    A bfloat16 or float16 ``h`` (a dense product's output under autocast) is cast to the
    matrix's precision first: the sparse kernels (MKL, cuSPARSE's CSR product) take neither.

    Shapes:
        returns ``[M, F]``.
    """
    if h.dtype in (torch.bfloat16, torch.float16):
        h = h.to(getattr(a, "dtype", torch.float32))  # a RowBlocks holds float32 blocks
    return _ConstantSpMM.apply(a, a if a_t is None else a_t, h)


def to_csr(a: torch.Tensor) -> torch.Tensor:
    """A sparse tensor as coalesced CSR, without torch's "beta" notice.

    Indices are stored as int32 when they fit: the sparse kernels (MKL on the CPU,
    cuSPARSE) take 32-bit indices, and int64 ones would be converted on every product.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta", UserWarning)
        csr = a.to_sparse_coo().coalesce().to_sparse_csr()
        if max(csr.shape) < 2**31 and csr.values().numel() < 2**31:
            csr = torch.sparse_csr_tensor(
                csr.crow_indices().to(torch.int32),
                csr.col_indices().to(torch.int32),
                csr.values(),
                csr.shape,
                check_invariants=False,
            )
        return csr


def transpose_csr(a: torch.Tensor) -> torch.Tensor:
    """The transpose of a sparse matrix as a sparse CSR tensor."""
    return to_csr(a.t())


class SparseOperator:
    """A constant sparse matrix and its transpose, multiplied with ``@``.

    ``op @ h`` is ``a @ h`` with a backward pass that reuses the stored transpose;
    see :func:`spmm`. Build one per fit, not per forward.

    Args:
        a: Sparse ``[M, K]`` tensor (CSR is fastest on CPU).
        symmetric: Whether ``a`` equals its transpose (then none is stored).
    """

    def __init__(self, a: torch.Tensor, symmetric: bool = False) -> None:
        self.a = a
        self.a_t = a if symmetric else transpose_csr(a)
        self._t_order: torch.Tensor | None = None
        self._features: torch.Tensor | None = None
        self._propagated: torch.Tensor | None = None

    def share_features(self, x: torch.Tensor | None) -> None:
        """Let :meth:`propagated` keep ``A @ x`` for these constant dense features (``None``: forget).

        A first GCN layer ``A (X W)`` equals ``(A X) W``: with ``A X`` computed once per fit,
        each forward is a dense product and its backward needs no sparse product, two
        sparse products saved per epoch for ``N x F`` more floats. Training data calls
        this for its own adjacency and features (see :class:`~graphae.training.GraphTensors`).
        """
        if x is not None and (x.layout != torch.strided or x.requires_grad):
            raise ValueError("share_features takes a constant dense tensor.")
        self._features, self._propagated = x, None

    def propagated(self, x: Any) -> torch.Tensor | None:
        """``A @ x``, kept after the first call, when ``x`` is the shared features; else ``None``."""
        if x is None or x is not self._features:
            return None
        if self._propagated is None:
            with torch.no_grad():
                self._propagated = self.a @ x
        return self._propagated

    def with_values(self, values: torch.Tensor, symmetric: bool = False) -> SparseOperator:
        """The same sparsity pattern with other (constant) values, such as a dropout of these.

        The transpose is not re-sorted: the position of each stored value in the
        transpose is found once per operator and reused. ``symmetric=True`` says that the
        new matrix equals its transpose (the pattern and the values): none is made.

        Shapes:
            values: ``[nnz]``, in the order of ``a.values()`` (CSR order).
        """
        a = self.a
        if a.layout != torch.sparse_csr:
            raise TypeError(f"SparseOperator.with_values needs a CSR matrix. Got layout {a.layout}.")
        if symmetric:
            out = SparseOperator(
                torch.sparse_csr_tensor(
                    a.crow_indices(), a.col_indices(), values, a.shape, check_invariants=False
                ),
                symmetric=True,
            )
            out._t_order = self._t_order
            return out
        if self._t_order is None:
            order = torch.arange(a.values().numel(), dtype=torch.float64, device=a.device)
            marked = torch.sparse_csr_tensor(
                a.crow_indices(), a.col_indices(), order, a.shape, check_invariants=False
            )
            self._t_order = transpose_csr(marked).values().long()
        out = SparseOperator.__new__(SparseOperator)
        out.a = torch.sparse_csr_tensor(
            a.crow_indices(), a.col_indices(), values, a.shape, check_invariants=False
        )
        t = self.a_t
        out.a_t = torch.sparse_csr_tensor(
            t.crow_indices(), t.col_indices(), values[self._t_order], t.shape, check_invariants=False
        )
        out._t_order = self._t_order
        out._features, out._propagated = None, None  # other values: another matrix
        return out

    @property
    def shape(self) -> torch.Size:
        return self.a.shape

    def __matmul__(self, h: torch.Tensor) -> torch.Tensor:
        return spmm(self.a, h, self.a_t)

    def __repr__(self) -> str:
        return f"SparseOperator(shape={tuple(self.shape)}, nnz={self.a.values().numel()})"
