"""A constant sparse matrix kept as CSR row blocks, so that a product with a dense matrix
allocates its output alone.

Torch's CPU product of a CSR tensor and a dense matrix allocates a temporary the size of
its output besides the output (a ``[679k, 32]`` product of a partitioned rank at 1M nodes
peaks at twice its 83 MiB); block by block, each written into its rows of one output, the
temporary is one block's. Row ``i`` of the product is computed as by the whole matrix.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import torch

BLOCK_ROWS = 1 << 16  # rows of a block on the CPU: a temporary of 65,536 rows (8 MiB at 32 columns)


class RowBlocks:
    """``a`` as CSR row blocks on ``device`` (one block off the CPU), multiplied with ``@``.

    Attributes:
        shape: ``a``'s shape.
        nnz: ``a``'s stored entries.
    """

    def __init__(self, a: sp.csr_matrix, device: torch.device, rows: int = BLOCK_ROWS) -> None:
        self.shape, self.nnz = a.shape, int(a.nnz)
        step = rows if device.type == "cpu" else max(1, a.shape[0])
        starts = range(0, max(1, a.shape[0]), step)
        self.blocks = [_torch_csr(a[s : s + step]).to(device) for s in starts]

    def __matmul__(self, h: torch.Tensor) -> torch.Tensor:
        """``a @ h``, ``[rows, C]`` (``h``: ``[columns, C]``)."""
        if len(self.blocks) == 1:
            return self.blocks[0] @ h
        out = h.new_empty((self.shape[0], *h.shape[1:]))
        start = 0
        for block in self.blocks:
            torch.mm(block, h, out=out[start : start + block.shape[0]])
            start += block.shape[0]
        return out


def _torch_csr(a: sp.csr_matrix) -> torch.Tensor:
    """A scipy CSR matrix as a torch sparse CSR tensor (int32 indices when they fit, as :func:`to_csr`)."""
    kind = np.int32 if max(a.shape) < 2**31 and a.nnz < 2**31 else np.int64
    with warnings.catch_warnings():  # built by scipy, so valid: torch's notices are noise
        warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta", UserWarning)
        warnings.filterwarnings("ignore", "Sparse invariant checks are implicitly disabled", UserWarning)
        return torch.sparse_csr_tensor(
            torch.from_numpy(a.indptr.astype(kind)),
            torch.from_numpy(a.indices.astype(kind)),
            torch.from_numpy(a.data),
            a.shape,
            check_invariants=False,
        )
